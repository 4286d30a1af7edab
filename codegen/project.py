"""The build flow: model -> ingest -> hls4ml project (+ manifest, summary, compiled csim).

FINN-style: a typed :class:`BuildConfig` and named steps run in order on a
:class:`BuildState`. Everything is written into a temporary directory beside
the output and moved into place only when the build is complete.
"""

from __future__ import annotations

import enum
import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import onnx

from ..core.atomic import atomic_dir
from ..core.errors import HashhlsError
from . import ingest as ingest_mod
from .boards import Board, load_board
from .fixed import DEFAULT_PRECISION, FixedType
from .guard import GuardReport, check_precision, guard_markdown, guard_record
from .identity import identity_of_onnx
from .lanes import DEFAULT_REUSE_FACTOR, reuse_factors
from .manifest import BuildManifest, LayerInfo, record_files
from .graph import graph_input, layer_specs
from .graph import input_shape as graph_input_shape
from .hls.handlers import input_layout
from .names import cpp_identifier
from .ops.registry import op_for_kind
from .ops.spec import LayerSpec
from .precision import AUTO, PrecisionPlan, parse_type, plan_precision, profile_table
from .sources import ModelSource, load_model_source
from .summary import BuildSummary, build_summary

log = logging.getLogger(__name__)

PROJECT_NAME = "myproject"


class IOType(str, enum.Enum):
    PARALLEL = "io_parallel"
    STREAM = "io_stream"


class Step(str, enum.Enum):
    LOAD = "load"
    INGEST = "ingest"
    PRECISION = "precision"
    CONVERT = "convert"
    WRITE_HLS = "write_hls"
    WRITE_TESTBENCH = "write_testbench"
    WRITE_BUILD = "write_build"
    COMPILE_CSIM = "compile_csim"
    VERIFY = "verify"
    GUARD = "precision_guard"


@dataclass
class BuildConfig:
    """Everything ``hashhls build`` needs; the CLI fills it from its arguments."""

    output_dir: Path
    model: Path | None = None  #: .onnx, .pt checkpoint, or None for the bundled default
    board: str = "pynq-z2"
    precision: str = DEFAULT_PRECISION.cpp()  #: a type, or "auto"
    layer_precision: list[str] = field(default_factory=list)  #: NAME=TYPE / NAME.TENSOR=TYPE
    reuse_factor: int | None = None  #: None: DEFAULT_REUSE_FACTOR, and hash-v2 layers their own (codegen.lanes)
    io_type: IOType = IOType.PARALLEL
    force: bool = False
    compile_csim: bool = True
    progress: bool = True
    #: a precision-guard warning (fixed vs float argmax agreement below 99%, or a saturating layer) is an error
    strict: bool = False

    def __post_init__(self) -> None:
        self.output_dir = Path(self.output_dir)
        try:
            self.io_type = IOType(self.io_type)
        except ValueError:
            raise HashhlsError(f"io_type must be one of {', '.join(t.value for t in IOType)}, got {self.io_type!r}") \
                from None
    strip_softmax: bool = False  #: remove a Softmax at the output (the predicted class is unchanged)

    def validate(self) -> None:
        if self.reuse_factor is not None and not 1 <= int(self.reuse_factor) <= 1_000_000:
            raise HashhlsError(f"--reuse-factor must be a positive integer, got {self.reuse_factor}")
        if self.precision != AUTO:
            parse_type(self.precision)
        from .precision import parse_overrides

        parse_overrides(self.layer_precision)


@dataclass
class BuildState:
    """What the steps hand each other."""

    config: BuildConfig
    board: Board
    work_dir: Path
    source: ModelSource | None = None
    model: onnx.ModelProto | None = None
    specs: list[LayerSpec] = field(default_factory=list)
    reuse: dict[str, int] = field(default_factory=dict)  #: weighted layer -> reuse factor (codegen.lanes)
    plan: PrecisionPlan | None = None
    hls_model: object = None
    manifest: BuildManifest | None = None
    guard: GuardReport | None = None
    summary: BuildSummary | None = None
    calibration: tuple | None = None  #: (inputs, description, emulator outputs) for the testbench and checks
    timings: dict[str, float] = field(default_factory=dict)


def step_load(s: BuildState) -> None:
    s.source = load_model_source(s.config.model)


def step_ingest(s: BuildState) -> None:
    """The named ingest transformations (:mod:`hashhls.codegen.ingest`), then every node validated by its op
    table entry, for this build's I/O type too: anything unsupported is refused here, before any C++."""
    s.model = ingest_mod.ingest(s.source.model, strip_softmax=s.config.strip_softmax)
    s.specs = layer_specs(s.model)
    for sp in s.specs:
        op_for_kind(sp.kind).check_build(sp, s.config.io_type.value)
    s.reuse = reuse_factors(s.specs, s.config.reuse_factor)


def step_precision(s: BuildState) -> None:
    from .precision import parse_overrides

    default: FixedType | str = AUTO if s.config.precision == AUTO else parse_type(s.config.precision)
    s.plan = plan_precision(s.specs, input_shape(s.model), default, parse_overrides(s.config.layer_precision))
    if s.plan.profile:
        log.info("--precision auto (calibration: bundled MNIST):\n%s", profile_table(s.plan))


def step_guard(s: BuildState) -> None:
    """Fixed (emulator) vs float on the calibration images: agreement and saturation per layer (codegen.guard)."""
    s.guard = check_precision(emulation_manifest(s), s.model, s.specs, strict=s.config.strict)


def step_convert(s: BuildState) -> None:
    """The hls4ml model: the ingested graph as hls4ml's view (each layer from its op table entry)."""
    import hls4ml

    from .hls import register
    from .hls.handlers import Hls4mlView
    from .hls.writer import quiet

    register()
    view = Hls4mlView(s.model, s.specs, s.plan, _model_reuse(s.config), s.reuse)
    layer_cfg = dict(view.config)
    layer_cfg[view.input_name] = {"Precision": {"result": s.plan.input.cpp()}}
    hls_config = {
        "Model": {"Precision": DEFAULT_PRECISION.cpp(), "ReuseFactor": _model_reuse(s.config),
                  "Strategy": "Resource"},
        "LayerName": layer_cfg,
    }
    kwargs = dict(output_dir=str(s.work_dir / "hls"), project_name=PROJECT_NAME, backend=s.board.backend,
                  part=s.board.part, clock_period=s.board.clock_period_ns, io_type=s.config.io_type.value,
                  hls_config=hls_config)
    if s.board.hls4ml_board:
        kwargs["board"] = s.board.hls4ml_board
    try:
        with quiet(), view.active():
            s.hls_model = hls4ml.converters.convert_from_onnx_model(view.model, **kwargs)
    except HashhlsError:
        raise
    except Exception as e:  # hls4ml raises bare Exception for unsupported models
        raise HashhlsError(f"hls4ml could not convert the model: {e}") from e


def step_write_hls(s: BuildState) -> None:
    from .hls.writer import normalise_project, quiet

    with quiet():
        s.hls_model.write()
    normalise_project(s.work_dir / "hls", s.hls_model, stamp=s.source.sha256[:8])


def step_write_testbench(s: BuildState) -> None:
    """Calibration inputs and the emulator's bit-exact outputs into ``hls/tb_data``; hashhls's testbench."""
    from .emulator import Emulator
    from .handoff import TB_SAMPLES, calibration_batch, write_testbench

    manifest = make_manifest(s)  # provisional (the project hash changes below); what the emulator needs
    x, what = calibration_batch(manifest.input_shape)
    y = Emulator.from_model(manifest, s.model).predict(x)
    s.calibration = (x, what, y)
    write_testbench(s.work_dir / "hls", manifest, x[:TB_SAMPLES], y[:TB_SAMPLES])


def step_write_build(s: BuildState) -> None:
    onnx.save_model(s.model, str(s.work_dir / "model.onnx"))
    s.manifest = make_manifest(s)
    s.manifest.write(s.work_dir)
    s.summary = build_summary(s.manifest, s.board, s.specs)
    text = s.summary.markdown()
    if s.guard is not None:
        text += "\n" + guard_markdown(s.guard)
    (s.work_dir / "summary.md").write_text(text)
    s.manifest.files = record_files(s.work_dir)  # what the csim of the VERIFY step checks; re-recorded there
    s.manifest.write(s.work_dir)


def step_compile_csim(s: BuildState) -> None:
    if s.config.compile_csim:
        from .csim import compile_build

        compile_build(s.work_dir)


def step_verify(s: BuildState) -> None:
    """csim vs emulator on the calibration inputs (when csim was compiled); the build's README.md."""
    from .handoff import README_NAME, TB_SAMPLES, Verification, build_readme, verify_csim

    x, what, y = s.calibration
    matches = verify_csim(s.work_dir, x, y) if s.config.compile_csim else None
    guard = guard_record(s.guard) if s.guard is not None else None
    verification = Verification(len(x), what, matches, min(TB_SAMPLES, len(x)), guard)
    if matches is not None and not verification.csim_ok:
        log.warning("the C simulation differs from the emulator on %d of %d calibration inputs", len(x) - matches,
                    len(x))
    s.manifest.verification = verification.to_dict()
    (s.work_dir / README_NAME).write_text(build_readme(s.manifest, s.board, verification,
                                                       "\n".join(s.summary.headline())))
    s.manifest.files = record_files(s.work_dir)  # last: the sha256 of every file written (csim verifies them)
    s.manifest.write(s.work_dir)


BUILD_STEPS: tuple[tuple[Step, Callable[[BuildState], None]], ...] = (
    (Step.LOAD, step_load),
    (Step.INGEST, step_ingest),
    (Step.PRECISION, step_precision),
    (Step.GUARD, step_guard),
    (Step.CONVERT, step_convert),
    (Step.WRITE_HLS, step_write_hls),
    (Step.WRITE_TESTBENCH, step_write_testbench),
    (Step.WRITE_BUILD, step_write_build),
    (Step.COMPILE_CSIM, step_compile_csim),
    (Step.VERIFY, step_verify),
)


def build(config: BuildConfig) -> BuildManifest:
    """Run every build step into a temporary directory and move it to ``config.output_dir``."""
    config.validate()
    board = load_board(config.board)
    if config.model is not None and not Path(config.model).is_file():
        raise HashhlsError(f"model file not found: {config.model}")
    with atomic_dir(config.output_dir, force=config.force) as tmp:
        from tqdm import tqdm
        from tqdm.contrib.logging import logging_redirect_tqdm

        state = BuildState(config, board, Path(tmp))
        bar = tqdm(BUILD_STEPS, desc="hashhls build", unit="step", disable=not config.progress, leave=False)
        with logging_redirect_tqdm():  # log lines are printed above the bar, never through it
            for step, fn in bar:
                bar.set_postfix_str(step.value)
                t0 = time.perf_counter()
                log.debug("build step %s", step.value)
                fn(state)
                state.timings[step.value] = time.perf_counter() - t0
    log.info("wrote %s", config.output_dir)
    return state.manifest


# -- helpers ------------------------------------------------------------------

def _model_reuse(config: BuildConfig) -> int:
    return DEFAULT_REUSE_FACTOR if config.reuse_factor is None else int(config.reuse_factor)


def input_name(model: onnx.ModelProto) -> str:
    return graph_input(model).name


def input_shape(model: onnx.ModelProto) -> list[int]:
    return list(graph_input_shape(model))


def project_hash(hls_dir: Path) -> str:
    """sha256 over the written hls/ tree: relative paths (sorted) and file bytes."""
    h = hashlib.sha256()
    for p in sorted(q for q in hls_dir.rglob("*") if q.is_file()):
        rel = p.relative_to(hls_dir).as_posix()
        h.update(rel.encode() + b"\0" + hashlib.sha256(p.read_bytes()).digest())
    return h.hexdigest()


def emulation_manifest(s: BuildState) -> BuildManifest:
    """The manifest of what the steps up to PRECISION decided, before hls4ml: enough for the emulator and twin.

    :func:`make_manifest` adds what only the written project knows (reuse factors, project hash).
    """
    layers = []
    for sp in s.specs:
        p = s.plan.layers[sp.name]
        info = LayerInfo(name=sp.name, kind=sp.kind, onnx_node=sp.name, n_in=sp.n_in, n_out=sp.n_out,
                         precision=p.as_strings(), virtual_weights=sp.virtual_weights,
                         stored_weights=sp.stored_weights)
        if sp.hash is not None:
            info.seed, info.buckets = sp.hash.seed, sp.hash.buckets
        info.attrs.update(op_for_kind(sp.kind).manifest_attrs(sp))
        layers.append(info)
    shape = input_shape(s.model)
    return BuildManifest(
        board=s.board.name, backend=s.board.backend, io_type=s.config.io_type.value,
        reuse_factor=_model_reuse(s.config), input_shape=shape, n_outputs=s.specs[-1].n_out,
        input_layout=input_layout(s.model, s.specs),
        input_precision=s.plan.input.cpp(), output_precision=s.plan.output.cpp(), layers=layers,
        source=s.source.label, source_sha256=s.source.sha256, project_name=PROJECT_NAME,
        model=identity_of_onnx(s.source.model, s.source.sha256, s.source.label),
    )


def make_manifest(s: BuildState) -> BuildManifest:
    m = emulation_manifest(s)
    rf = {layer.name: layer.get_attr("reuse_factor") for layer in s.hls_model.get_layers()}
    weighted = {sp.name for sp in s.specs if sp.weighted}
    for info in m.layers:
        if rf.get(cpp_identifier(info.name)) is not None and info.name in weighted:
            info.attrs["reuse_factor"] = int(rf[cpp_identifier(info.name)])
    m.project_hash = project_hash(s.work_dir / "hls")
    return m


def plan_in_memory(model: Path | onnx.ModelProto | None, precision: str = DEFAULT_PRECISION.cpp(),
                   layer_precision: list[str] | None = None, io_type: IOType = IOType.PARALLEL
                   ) -> tuple[BuildManifest, onnx.ModelProto]:
    """What ``hashhls build`` would compute, without hls4ml or files: ``(manifest, ingested model)``.

    Runs the LOAD, INGEST and PRECISION steps (an ONNX proto is taken as loaded); the manifest has no project
    hash and no reuse factors. The emulator and the fixed-point twin take it as they take a build's.
    """
    config = BuildConfig(output_dir=Path("<memory>"), model=None, board="none", precision=precision,
                         layer_precision=list(layer_precision or []), io_type=io_type, progress=False,
                         compile_csim=False)
    config.validate()
    s = BuildState(config, load_board("none"), Path("<memory>"))
    if isinstance(model, onnx.ModelProto):
        from .sources import ModelSource

        s.source = ModelSource(model, "in-memory", hashlib.sha256(model.SerializeToString()).hexdigest())
    else:
        s.config.model = model
        step_load(s)
    step_ingest(s)
    step_precision(s)
    return emulation_manifest(s), s.model
