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
from ..frontend.hashing import layer_key
from . import ingest as ingest_mod
from .boards import Board, load_board
from .fixed import DEFAULT_PRECISION, FixedType
from .lanes import DEFAULT_REUSE_FACTOR, reuse_factors
from .manifest import BuildManifest, LayerInfo
from .precision import AUTO, LayerSpec, PrecisionPlan, layer_specs, parse_type, plan_precision, profile_table
from .sources import ModelSource, load_model_source
from .summary import summary_markdown

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
    WRITE_BUILD = "write_build"
    COMPILE_CSIM = "compile_csim"


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
    timings: dict[str, float] = field(default_factory=dict)


def step_load(s: BuildState) -> None:
    s.source = load_model_source(s.config.model)


def step_ingest(s: BuildState) -> None:
    s.model = ingest_mod.ingest(s.source.model)
    s.specs = layer_specs(s.model)
    if not any(sp.weighted for sp in s.specs):
        raise HashhlsError("the model has no Gemm, Conv, HashedLinear or HashedConv2d layer to build")
    s.reuse = reuse_factors(s.specs, s.config.reuse_factor)
    out = s.model.graph.output[0]
    if len(out.type.tensor_type.shape.dim) != 2:
        # The C++ holds feature maps channels-last; a flat output has one order everywhere.
        raise HashhlsError(f"the model output {out.name!r} must be flat [batch, n]: add a Flatten after the last "
                           "feature map")


def step_precision(s: BuildState) -> None:
    from .precision import parse_overrides

    default: FixedType | str = AUTO if s.config.precision == AUTO else parse_type(s.config.precision)
    s.plan = plan_precision(s.specs, input_shape(s.model), default, parse_overrides(s.config.layer_precision))
    if s.plan.profile:
        log.info("--precision auto (calibration: bundled MNIST):\n%s", profile_table(s.plan))


def step_convert(s: BuildState) -> None:
    import hls4ml

    from .hls import register
    from .hls.handlers import hls4ml_view
    from .hls.writer import quiet

    register()
    layer_cfg = {name: {"Precision": p.as_strings()} for name, p in s.plan.layers.items()}
    for sp in s.specs:  # stock convs (capped at C*kh*kw) and hash-v2 layers (their banks) have their own
        if sp.kind == "conv2d" or (sp.hash is not None and sp.hash.version == 2):
            layer_cfg[sp.name]["ReuseFactor"] = s.reuse[sp.name]
    layer_cfg[input_name(s.model)] = {"Precision": {"result": s.plan.input.cpp()}}
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
        with quiet():
            quantisers = {name: (p.weight.quantize, p.bias.quantize) for name, p in s.plan.layers.items()
                          if p.weight is not None}
            s.hls_model = hls4ml.converters.convert_from_onnx_model(hls4ml_view(s.model, quantisers), **kwargs)
    except HashhlsError:
        raise
    except Exception as e:  # hls4ml raises bare Exception for unsupported models
        raise HashhlsError(f"hls4ml could not convert the model: {e}") from e


def step_write_hls(s: BuildState) -> None:
    from .hls.writer import normalise_project, quiet

    with quiet():
        s.hls_model.write()
    normalise_project(s.work_dir / "hls", s.hls_model, stamp=s.source.sha256[:8])


def step_write_build(s: BuildState) -> None:
    onnx.save_model(s.model, str(s.work_dir / "model.onnx"))
    s.manifest = make_manifest(s)
    s.manifest.write(s.work_dir)
    (s.work_dir / "summary.md").write_text(summary_markdown(s.manifest, s.board, s.specs, s.plan, s.reuse))


def step_compile_csim(s: BuildState) -> None:
    if not s.config.compile_csim:
        return
    import importlib
    import importlib.util

    if importlib.util.find_spec(f"{__package__}.csim") is None:
        log.warning("csim harness not available: skipping the C simulation compile")
        return
    csim = importlib.import_module(f"{__package__}.csim")
    compile_build = getattr(csim, "compile_build", None)
    if compile_build is None:
        log.warning("csim harness has no compile_build(): skipping the C simulation compile")
        return
    compile_build(s.work_dir)


BUILD_STEPS: tuple[tuple[Step, Callable[[BuildState], None]], ...] = (
    (Step.LOAD, step_load),
    (Step.INGEST, step_ingest),
    (Step.PRECISION, step_precision),
    (Step.CONVERT, step_convert),
    (Step.WRITE_HLS, step_write_hls),
    (Step.WRITE_BUILD, step_write_build),
    (Step.COMPILE_CSIM, step_compile_csim),
)


def build(config: BuildConfig) -> BuildManifest:
    """Run every build step into a temporary directory and move it to ``config.output_dir``."""
    config.validate()
    board = load_board(config.board)
    if config.model is not None and not Path(config.model).is_file():
        raise HashhlsError(f"model file not found: {config.model}")
    with atomic_dir(config.output_dir, force=config.force) as tmp:
        from tqdm import tqdm

        state = BuildState(config, board, Path(tmp))
        bar = tqdm(BUILD_STEPS, desc="hashhls build", unit="step", disable=not config.progress, leave=False)
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
    inits = {t.name for t in model.graph.initializer}
    return next(i.name for i in model.graph.input if i.name not in inits)


def input_shape(model: onnx.ModelProto) -> list[int]:
    inits = {t.name for t in model.graph.initializer}
    x = next(i for i in model.graph.input if i.name not in inits)
    return [d.dim_value for d in x.type.tensor_type.shape.dim][1:]


def project_hash(hls_dir: Path) -> str:
    """sha256 over the written hls/ tree: relative paths (sorted) and file bytes."""
    h = hashlib.sha256()
    for p in sorted(q for q in hls_dir.rglob("*") if q.is_file()):
        rel = p.relative_to(hls_dir).as_posix()
        h.update(rel.encode() + b"\0" + hashlib.sha256(p.read_bytes()).digest())
    return h.hexdigest()


def make_manifest(s: BuildState) -> BuildManifest:
    layers = []
    rf = {layer.name: layer.get_attr("reuse_factor") for layer in s.hls_model.get_layers()}
    for sp in s.specs:
        p = s.plan.layers[sp.name]
        info = LayerInfo(name=sp.name, kind=sp.kind, onnx_node=sp.name, n_in=sp.n_in, n_out=sp.n_out,
                         precision=p.as_strings(), virtual_weights=sp.virtual_weights,
                         stored_weights=sp.stored_weights)
        if sp.hash is not None:
            info.seed, info.buckets = sp.hash.seed, sp.hash.buckets
            info.attrs["hash_key"] = layer_key(sp.hash.seed)
            if sp.hash.version != 1:
                info.attrs.update(hash_version=sp.hash.version, banks=sp.hash.banks)
        if sp.window is not None:
            info.attrs["window"] = sp.window.to_dict()
        if rf.get(sp.name) is not None and sp.weighted:
            info.attrs["reuse_factor"] = int(rf[sp.name])
        layers.append(info)
    shape = input_shape(s.model)
    return BuildManifest(
        board=s.board.name, backend=s.board.backend, io_type=s.config.io_type.value,
        reuse_factor=_model_reuse(s.config), input_shape=shape, n_outputs=s.specs[-1].n_out,
        input_layout="NHWC" if any(sp.window for sp in s.specs) else "flat",
        input_precision=s.plan.input.cpp(), output_precision=s.plan.output.cpp(), layers=layers,
        source=s.source.label, source_sha256=s.source.sha256, project_hash=project_hash(s.work_dir / "hls"),
        project_name=PROJECT_NAME,
    )
