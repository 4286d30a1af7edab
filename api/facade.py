"""The Python facade: build, attack, replay in a notebook, with the command line's semantics and errors.

Every function raises :class:`hashhls.core.errors.HashhlsError` subclasses with one-line messages, as the CLI
does (the CLI commands call these functions). Example (the README's session)::

    import hashhls
    b = hashhls.build("lenet5.pt", board="pynq-z2", precision="auto")
    adv = hashhls.attack("lenet5.pt", "pgd", eps=[0.05, 0.1], on="fixed", build=b, n=200)
    report = hashhls.replay(b, [adv], out="report/")
    print(report.table())
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path

import numpy as np

from .adversarial.advfile import AdvSet
from .adversarial.report import Report
from .core.defaults import DEFAULT_PRECISION
from .core.errors import UsageError

ModelLike = str | Path | None


class Build:
    """A ``hashhls build`` directory.

    Attributes:
        dir: the build directory.
        manifest: its :class:`hashhls.codegen.manifest.BuildManifest` (board, per-layer precision, model identity).
    """

    def __init__(self, build_dir: str | Path) -> None:
        from .adversarial.replay import read_build

        self.dir = Path(build_dir)
        self.manifest = read_build(self.dir)

    @property
    def summary(self) -> str:
        """``summary.md``: per-layer sizes, precision, estimates, and the precision check."""
        return (self.dir / "summary.md").read_text()

    @cached_property
    def emulator(self):
        """The bit-exact numpy emulator (:class:`hashhls.codegen.emulator.Emulator`)."""
        from .codegen.emulator import Emulator

        return Emulator.from_build(self.dir)

    @cached_property
    def csim(self):
        """The compiled C simulation (:class:`hashhls.codegen.csim.CsimModel`)."""
        from .codegen.csim import load_build

        return load_build(self.dir)

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Outputs of the C simulation for a batch ``[N, *input_shape]`` (float64, exactly the emulator's)."""
        return self.csim.predict(x)

    def twin(self):
        """The fixed-point twin of this build (a differentiable torch module, bit-exact with csim)."""
        from .adversarial.twin import FixedPointTwin

        return FixedPointTwin.from_build(self.dir)

    def __fspath__(self) -> str:
        return str(self.dir)

    def __repr__(self) -> str:
        m = self.manifest
        model = m.model.short if m.model is not None else m.source
        return f"Build({str(self.dir)!r}, model={model!r}, board={m.board!r}, reuse_factor={m.reuse_factor})"


def build(model: ModelLike = None, board: str = "pynq-z2", output: str | Path | None = None, *,
          precision: str = DEFAULT_PRECISION, layer_precision: Sequence[str] = (),
          reuse_factor: int | None = None, io_type: str = "io_parallel", strict: bool = False, csim: bool = True,
          force: bool = False, strip_softmax: bool = False, progress: bool = False) -> Build:
    """Build ``model`` (checkpoint, ONNX file, or None for the bundled default) for ``board``.

    Args:
        output: the build directory (default: a new temporary directory).
        precision: a type, or ``"auto"`` to profile on the bundled MNIST.
        layer_precision: ``NAME[.TENSOR]=TYPE`` overrides.
        strict: a precision-guard warning is a :class:`PrecisionError` (nothing written).
        csim: compile the C simulation.
        force: replace an existing ``output``.
        strip_softmax: remove a ``Softmax`` at the output (the predicted class is unchanged).

    Returns:
        the :class:`Build`; its summary ends with the precision check.
    """
    from .codegen.project import BuildConfig, IOType
    from .codegen.project import build as run_build
    from .core.atomic import check_output_dir

    if output is None:
        output = Path(tempfile.mkdtemp(prefix="hashhls-build-")) / "build"
    output = check_output_dir(output, force, what="output")
    try:
        io = IOType(io_type)
    except ValueError:
        raise UsageError(f"io_type must be io_parallel or io_stream, got {io_type!r}") from None
    run_build(BuildConfig(output_dir=Path(output), model=None if model is None else Path(model), board=board,
                          precision=precision, layer_precision=list(layer_precision), reuse_factor=reuse_factor,
                          io_type=io, force=force, compile_csim=csim, progress=progress, strict=strict,
                          strip_softmax=strip_softmax))
    return Build(output)


def open_build(build_dir: str | Path) -> Build:
    """An existing build directory (InvalidFileError if it is not one)."""
    return Build(build_dir)


def _build_dir(build: Build | str | Path | None) -> Path | None:
    return None if build is None else (build.dir if isinstance(build, Build) else Path(build))


def attack(model: ModelLike | Build = None, name: str = "fgsm", eps: float | Sequence[float] = 0.1, *,
           on: str = "hashed", build: Build | str | Path | None = None, n: int = 1000,
           x: np.ndarray | None = None, y: np.ndarray | None = None, target_mode: str = "untargeted",
           seed: int = 0, data: str | Path | None = None, progress: bool = False, **hparams) -> AdvSet:
    """Craft adversarial examples; the returned set records its provenance and its success where it was crafted.

    Args:
        model: a hashhls checkpoint, None (the build's model, else the bundled one), or a :class:`Build`.
        name: fgsm, bim, pgd, cw, deepfool, jsma, square or autoattack.
        eps: one L-inf budget or several (ignored by the budget-free cw, deepfool, jsma).
        on: ``hashed`` (float model), ``dense`` (its materialisation), ``fixed`` (the twin of ``build``, or an
            in-memory default-precision twin without one) or ``csim`` (query-only attacks on ``build``'s csim).
        n: the first ``n`` MNIST test images, unless ``x, y`` are given.
        target_mode: ``untargeted``, ``random`` or ``least-likely`` (targets stored; success = reaching them).
        hparams: the attack's own keyword arguments (``steps``, ``kappa``, ``max_queries`` ...).

    Returns:
        an :class:`AdvSet`; ``adv.success`` holds (rate, eligible) per budget on the model it was crafted on,
        ``adv.save(path)`` writes it.
    """
    from .adversarial.craft import attack as run_attack
    from .adversarial.craft import success_on

    if isinstance(model, Build):
        model, build = None, build or model
    adv, crafted = run_attack(model, name, eps, on=on, build_dir=_build_dir(build), n=n, x=x, y=y, data=data,
                              target_mode=target_mode, seed=seed, progress=progress, **hparams)
    adv.success = success_on(crafted, adv)
    return adv


def _load_sets(advsets) -> list[AdvSet]:
    if isinstance(advsets, (AdvSet, str, Path)):
        advsets = [advsets]
    return [a if isinstance(a, AdvSet) else AdvSet.load(a) for a in advsets]


def replay(build: Build | str | Path, advsets: AdvSet | str | Path | Sequence[AdvSet | str | Path],
           out: str | Path | None = None, *, allow_other_model: bool = False, dense_parent: str | Path | None = None,
           force: bool = False, progress: bool = False, allow_modified_weights: bool = False) -> Report:
    """Replay adversarial sets (or files) through every implementation of ``build``.

    The build's files are checked against the sha256 its manifest recorded; ``allow_modified_weights`` accepts
    weight files edited on purpose.

    Sets crafted on another model than the build's are refused (InvalidFileError) unless
    ``allow_other_model``: then they are a transfer experiment, labelled ``transfer from <model>``.
    With ``out``, the report directory is written (refused if it exists, unless ``force``).
    """
    from .adversarial.replay import replay_build
    from .core.atomic import check_output_dir

    if out is not None:
        check_output_dir(out, force, what="report")
    sets = _load_sets(advsets)
    if not sets:
        raise UsageError("replay needs at least one adversarial set")
    info, results = replay_build(_build_dir(build), sets, allow_other_model=allow_other_model,
                                 dense_parent=dense_parent, progress=progress,
                                 allow_modified_weights=allow_modified_weights)
    report = Report(info, sets, results)
    if out is not None:
        report.write(out, force=force)
    return report


def transfer(build: Build | str | Path, model: ModelLike = None, *, dense_parent: str | Path | None = None,
             attack: str = "pgd", eps: float = 0.1, n: int = 200, queries: int = 300, out: str | Path | None = None,
             force: bool = False, progress: bool = False) -> Report:
    """The transfer matrix of ``build``: rows (a) dense parent, (b) hashed float, (c) its twin, (d) Square on csim."""
    from .adversarial.transfer import transfer as run_transfer
    from .core.atomic import check_output_dir

    if out is not None:
        check_output_dir(out, force, what="report")
    report = run_transfer(_build_dir(build), model, dense_parent=dense_parent, attack_name=attack, eps=eps, n=n,
                          queries=queries, progress=progress)
    if out is not None:
        report.write(out, force=force)
    return report


__all__ = ["Build", "attack", "build", "open_build", "replay", "transfer"]
