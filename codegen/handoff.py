"""The hand-off to Vivado: testbench data that checks something, the testbench, and the build's README.

hls4ml writes a testbench (``hls/myproject_test.cpp``) that reads
``tb_data/tb_input_features.dat`` and ``tb_data/tb_output_predictions.dat`` but
leaves ``tb_data/`` empty, so Vivado's C simulation and C/RTL co-simulation run
on zeros and compare nothing. A hashhls build instead:

1. takes a few calibration images (:func:`calibration_batch`),
2. writes them to ``tb_input_features.dat`` in the order the top function reads
   them (channels-last for convolutional models, see the manifest's
   ``input_layout``) and the emulator's bit-exact outputs for them to
   ``tb_output_predictions.dat`` (:func:`write_testbench_data`),
3. replaces the testbench with ``templates/testbench.cpp.j2``, which compares
   every output with the expected value exactly and returns 1 on a mismatch,
   so ``csim_design`` and ``cosim_design`` fail when the hardware computes
   something else (:func:`write_testbench`),
4. checks the compiled C simulation against the emulator on the calibration
   batch (:func:`verify_csim`) and writes ``BUILD/README.md``
   (:func:`build_readme`): what each folder holds, the Vivado commands, the
   PYNQ driver call for this model's input layout, and what was verified here.

Numbers are written so that they parse back exactly: ``repr`` of a float is the
shortest decimal that ``strtod`` reads back as the same double, and every
float32 input and fixed-point output is exactly a double.
"""

from __future__ import annotations

import enum
import shlex
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..core.errors import HashhlsError
from .manifest import BuildManifest

#: Samples in tb_data (Vivado's C/RTL co-simulation runs each through RTL: keep it small).
TB_SAMPLES = 10
#: Calibration images the build's own csim-vs-emulator check runs.
VERIFY_SAMPLES = 1000
TB_DIR = "tb_data"
TB_INPUTS = "tb_input_features.dat"
TB_OUTPUTS = "tb_output_predictions.dat"
TESTBENCH_TEMPLATE = "testbench.cpp.j2"
README_TEMPLATE = "build_readme.md.j2"
README_NAME = "README.md"
#: seed of the random inputs used when a model does not take MNIST-shaped inputs
RANDOM_INPUT_SEED = 0


class TopKind(str, enum.Enum):
    """How the testbench calls the top function."""

    AXI = "axi"  #: VivadoAccelerator: ``project_axi(input_axi_t in[N_IN], output_axi_t out[N_OUT])``
    PARALLEL = "parallel"  #: ``project(input_t x[N], result_t y[M])``
    STREAM = "stream"  #: ``project(hls::stream<input_t> &x, hls::stream<result_t> &y)``


@dataclass(frozen=True)
class Verification:
    """What the build checked on this machine (reported in README.md and the summary)."""

    samples: int  #: calibration inputs run through csim and the emulator
    inputs: str  #: where they came from
    csim_matches: int | None  #: samples whose csim outputs equal the emulator's bit for bit; None: not compiled
    tb_samples: int  #: samples written to tb_data
    guard: dict | None = None  #: the precision guard's record (codegen.guard.guard_record)

    @property
    def csim_ok(self) -> bool:
        return self.csim_matches == self.samples

    def to_dict(self) -> dict:
        return {"samples": self.samples, "inputs": self.inputs, "csim_matches": self.csim_matches,
                "tb_samples": self.tb_samples, "precision_guard": self.guard}

    def lines(self) -> list[str]:
        """What was checked, one line each (the summary's headline and the build README quote them)."""
        from .guard import guard_line

        out = []
        if self.csim_matches is not None:
            out.append(f"csim == emulator on {self.csim_matches:,} of {self.samples:,} calibration inputs"
                       + ("." if self.csim_ok else ": THEY DIFFER, do not trust this build."))
        if self.guard:
            out.append(guard_line(self.guard))
        return out

    @classmethod
    def from_dict(cls, d: dict) -> Verification | None:
        if not d:
            return None
        return cls(int(d["samples"]), str(d["inputs"]), d.get("csim_matches"), int(d["tb_samples"]),
                   d.get("precision_guard"))


def calibration_batch(input_shape: list[int] | tuple[int, ...], n: int = VERIFY_SAMPLES) -> tuple[np.ndarray, str]:
    """``n`` inputs shaped like the model's: the bundled MNIST training images, or seeded uniform noise.

    Returns:
        ``(x, description)`` with x float32 ``(n, *input_shape)`` in [0, 1].
    """
    shape = tuple(int(d) for d in input_shape)
    if int(np.prod(shape)) == 784:
        from ..frontend.datasets import load_mnist

        x, _ = load_mnist(split="train", limit=n)
        return np.ascontiguousarray(x.reshape(len(x), *shape), dtype=np.float32), \
            f"the first {len(x)} bundled MNIST training images"
    rng = np.random.default_rng(RANDOM_INPUT_SEED)
    return rng.random((n, *shape), dtype=np.float32), f"{n} uniform random inputs in [0, 1) (seed {RANDOM_INPUT_SEED})"


def top_layout(x: np.ndarray, manifest: BuildManifest) -> np.ndarray:
    """A batch flattened in the order the C++ top function reads one sample (NHWC for feature maps)."""
    x = np.asarray(x, dtype=np.float32)
    if manifest.input_layout == "NHWC":
        x = x.transpose(0, 2, 3, 1)
    return np.ascontiguousarray(x.reshape(len(x), -1))


def _lines(rows: np.ndarray) -> str:
    return "".join(" ".join(repr(float(v)) for v in row) + "\n" for row in rows)


def top_kind(manifest: BuildManifest) -> TopKind:
    if manifest.backend == "VivadoAccelerator":
        return TopKind.AXI
    return TopKind.STREAM if manifest.io_type == "io_stream" else TopKind.PARALLEL


def write_testbench_data(hls_dir: Path, manifest: BuildManifest, x: np.ndarray, expected: np.ndarray) -> None:
    """``tb_data/tb_input_features.dat`` (top-function layout) and ``tb_output_predictions.dat``."""
    expected = np.asarray(expected, dtype=np.float64)
    if expected.shape != (len(x), int(manifest.n_outputs)):
        raise HashhlsError(f"testbench data: expected outputs of shape {(len(x), manifest.n_outputs)}, "
                           f"got {expected.shape}")
    tb = hls_dir / TB_DIR
    tb.mkdir(exist_ok=True)
    (tb / TB_INPUTS).write_text(_lines(top_layout(x, manifest)))
    (tb / TB_OUTPUTS).write_text(_lines(expected))


def render_testbench(manifest: BuildManifest, hls_dir: Path, n_samples: int) -> str:
    """The testbench C++ for this build's top function (see ``templates/testbench.cpp.j2``)."""
    from .hls.templates import render

    kind = top_kind(manifest)
    project = manifest.project_name
    n_in = int(np.prod(manifest.input_shape, dtype=np.int64))
    context = dict(kind=kind.value, n_in=n_in, n_out=int(manifest.n_outputs), n_samples=n_samples,
                   layout=manifest.input_layout, input_t="", result_t="")
    if kind is TopKind.AXI:
        context.update(header=f"{project}_axi.h", top=f"{project}_axi")
    else:
        from .csim import read_signature

        sig = read_signature(hls_dir / "firmware", project)
        context.update(header=f"{project}.h", top=sig.top, input_t=sig.input_t, result_t=sig.result_t)
    return render(TESTBENCH_TEMPLATE, **context)


def write_testbench(hls_dir: Path, manifest: BuildManifest, x: np.ndarray, expected: np.ndarray) -> None:
    """Fill ``tb_data/`` and replace hls4ml's testbench with one that compares exactly."""
    write_testbench_data(hls_dir, manifest, x, expected)
    (hls_dir / f"{manifest.project_name}_test.cpp").write_text(render_testbench(manifest, hls_dir, len(x)))


def verify_csim(build_dir: Path, x: np.ndarray, expected: np.ndarray) -> int:
    """Run ``x`` through the build's compiled csim; how many samples equal ``expected`` bit for bit."""
    from .csim import load_build

    y = load_build(build_dir).predict(x)
    return int(np.all(y == np.asarray(expected), axis=1).sum())


def pynq_reshape(manifest: BuildManifest) -> str:
    """The numpy expression that turns an NCHW / (N, *input_shape) batch ``x`` into the driver's layout."""
    if manifest.input_layout == "NHWC":
        return "x.transpose(0, 2, 3, 1).reshape(len(x), -1)"
    return "x.reshape(len(x), -1)"


def build_readme(manifest: BuildManifest, board, verification: Verification | None, summary_head: str = "") -> str:
    """``BUILD/README.md``: the folders, the Vivado commands, the PYNQ call, and what was verified here."""
    from ..core.version import __version__
    from .guard import guard_line
    from .hls.templates import render
    from .vivado import VivadoStep, bitstream_command, hls_command

    n_in = int(np.prod(manifest.input_shape, dtype=np.int64))
    return render(
        README_TEMPLATE,
        m=manifest,
        board=board,
        version=__version__,
        accelerator=manifest.backend == "VivadoAccelerator",
        n_in=n_in,
        input_shape=" x ".join(str(d) for d in manifest.input_shape),
        reshape=pynq_reshape(manifest),
        hls_synth_export=shlex.join(hls_command((VivadoStep.CSIM, VivadoStep.SYNTH, VivadoStep.EXPORT))),
        hls_cosim=shlex.join(hls_command((VivadoStep.COSIM,))),
        bitstream=shlex.join(bitstream_command()),
        tb_dir=TB_DIR, tb_inputs=TB_INPUTS, tb_outputs=TB_OUTPUTS,
        v=verification,
        guard_line=guard_line(verification.guard) if verification is not None and verification.guard else "",
        summary_head=summary_head.strip(),
    )
