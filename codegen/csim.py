"""The C simulation harness: a build's hls4ml firmware compiled with g++ into a batch executable.

:func:`compile_build` renders ``templates/csim_bridge.cpp.j2`` (one entry point
that loops over a whole batch in C++) and compiles it with the project's
firmware into ``BUILD_DIR/csim/csim_bridge``, only when a content hash of the
sources changed. :func:`load_build` returns a :class:`CsimModel` whose
``predict`` has the emulator's contract (float inputs shaped like the model
input, float64 dequantised outputs).

Isolation: the simulation runs in child processes (one per core), never in
the caller, so a crash or an ``exit()`` inside the firmware (hls4ml's weight
loader exits when a file is missing) becomes a :class:`HashhlsError`.
Relocatable: hls4ml's loader reads ``WEIGHTS_DIR`` = ``weights`` relative to
the working directory, so the executable runs with ``cwd`` = the firmware
directory and the build directory can be moved.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import shutil
import signal
import subprocess
import tempfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from ..core.atomic import atomic_file
from ..core.digest import file_sha256
from ..core.errors import CsimError, HashhlsError, InvalidFileError
from .emulator import as_input_batch
from .fixed import FixedType
from .manifest import BuildManifest, verify_files

log = logging.getLogger(__name__)

CXX = "g++"
CXXFLAGS = ("-std=c++11", "-O2", "-Wno-unknown-pragmas", "-Wno-unused-label")
EXE_NAME = "csim_bridge"
BRIDGE_NAME = "csim_bridge.cpp"
STAMP_NAME = "csim_bridge.sha256"
#: Batches smaller than this run in one process (a second process costs a weight load).
SPLIT_MIN = 64
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_PROTO = re.compile(
    r"void\s+(?P<top>\w+)\s*\(\s*(?P<in_t>\w+)\s+\w+\s*\[(?P<in_n>[\d\s*]+)\]\s*,"
    r"\s*(?P<out_t>\w+)\s+\w+\s*\[(?P<out_n>[\d\s*]+)\]\s*\)\s*;"
)
#: io_stream: ``void project(hls::stream<input_t> &x, hls::stream<result_t> &y);`` (sizes from the manifest)
_STREAM_PROTO = re.compile(
    r"void\s+(?P<top>\w+)\s*\(\s*hls::stream<\s*(?P<in_t>\w+)\s*>\s*&\s*\w+\s*,"
    r"\s*hls::stream<\s*(?P<out_t>\w+)\s*>\s*&\s*\w+\s*\)\s*;"
)


@dataclass(frozen=True)
class TopSignature:
    """The top function's prototype, read from the project's header."""

    top: str
    input_t: str
    n_in: int  #: inputs per sample (0 for io_stream: taken from the manifest)
    result_t: str
    n_out: int
    stream: bool = False  #: io_stream: hls::stream arguments of packed beats


def _product(text: str) -> int:
    n = 1
    for part in text.split("*"):
        n *= int(part.strip())
    return n


def read_signature(firmware: Path, project: str) -> TopSignature:
    """Parse ``void project(input_t x[N], result_t y[M]);`` from ``firmware/project.h``."""
    header = firmware / f"{project}.h"
    if not header.is_file():
        raise HashhlsError(f"build has no C++ project header {header}")
    text = header.read_text(errors="replace")
    m, ms = _PROTO.search(text), _STREAM_PROTO.search(text)
    if m and m["top"] == project:
        sig = TopSignature(m["top"], m["in_t"], _product(m["in_n"]), m["out_t"], _product(m["out_n"]))
    elif ms and ms["top"] == project:
        sig = TopSignature(ms["top"], ms["in_t"], 0, ms["out_t"], 0, stream=True)
    else:
        raise HashhlsError(f"cannot find the top function {project}(input, output) in {header}")
    for ident in (sig.top, sig.input_t, sig.result_t):
        if not _IDENT.match(ident):  # reaches C++ source: identifiers only
            raise HashhlsError(f"unexpected identifier {ident!r} in {header}")
    return sig


def _paths(build_dir: Path, manifest: BuildManifest) -> tuple[Path, Path]:
    for rel in (manifest.hls_dir, manifest.csim_dir, manifest.project_name):
        if not _IDENT.match(str(rel)):
            raise HashhlsError(f"build manifest: unexpected name {rel!r}")
    return build_dir / manifest.hls_dir / "firmware", build_dir / manifest.csim_dir


def _check_manifest(manifest: BuildManifest, sig: TopSignature) -> TopSignature:
    n_in = int(np.prod(manifest.input_shape, dtype=np.int64))
    if sig.stream:  # the stream element types carry the packing; the sizes are the manifest's
        sig = TopSignature(sig.top, sig.input_t, n_in, sig.result_t, int(manifest.n_outputs), stream=True)
    if (sig.n_in, sig.n_out) != (n_in, manifest.n_outputs):
        raise HashhlsError(f"the C++ top function takes {sig.n_in} inputs and {sig.n_out} outputs but the manifest "
                           f"says {n_in} and {manifest.n_outputs}")
    out = FixedType.parse(manifest.output_precision)
    if out.width > 53:
        raise HashhlsError(f"output type {out} is wider than a double's 53-bit significand")
    return sig


def render_bridge(sig: TopSignature, project: str) -> str:
    """The batch bridge's C++ source for a top function."""
    import jinja2

    text = resources.files("hashhls.templates").joinpath("csim_bridge.cpp.j2").read_text()
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True, autoescape=False,
                             trim_blocks=True, lstrip_blocks=True)
    return env.from_string(text).render(project=project, top=sig.top, input_t=sig.input_t, result_t=sig.result_t,
                                        n_in=sig.n_in, n_out=sig.n_out, stream=sig.stream)


def _compiler_version() -> str:
    try:
        res = subprocess.run([CXX, "--version"], capture_output=True, text=True, check=False)
    except FileNotFoundError as e:
        raise HashhlsError(f"the C simulation needs {CXX}, which is not installed (or not on PATH)") from e
    return res.stdout.splitlines()[0] if res.stdout else CXX


def source_hash(firmware: Path, bridge: str, flags: tuple[str, ...] = CXXFLAGS) -> str:
    """sha256 over the bridge, the compiler and flags, and every firmware source (weights .txt excluded:
    they are read at run time)."""
    h = hashlib.sha256()
    h.update(bridge.encode() + b"\0" + _compiler_version().encode() + b"\0" + " ".join(flags).encode() + b"\0")
    for p in sorted(q for q in firmware.rglob("*") if q.is_file()):
        rel = p.relative_to(firmware).as_posix()
        if rel.startswith("weights/") and p.suffix == ".txt":
            continue
        h.update(rel.encode() + b"\0" + hashlib.sha256(p.read_bytes()).digest())
    return h.hexdigest()


def _first_error(stderr: str) -> str:
    lines = [ln.strip() for ln in stderr.splitlines() if ln.strip()]
    for ln in lines:
        if "error" in ln.lower():
            return ln
    return lines[0] if lines else "no output"


def compile_build(build_dir: str | Path, force: bool = False, defines: tuple[str, ...] = ()) -> Path:
    """Compile the build's batch C simulation into ``BUILD_DIR/csim/`` (cached by content hash).

    Args:
        build_dir: a hashhls build directory (it may still be the build's temporary directory).
        force: recompile even when the sources did not change.
        defines: preprocessor macros to define, e.g. ``("HASHHLS_CSIM_APFIXED",)`` to simulate the hashed
            kernels' synthesis (ap_fixed) path instead of the fast integer one.

    Returns:
        Path of the executable.

    Raises:
        HashhlsError: not a build, unexpected project layout, or g++ failed (its first error line).
    """
    build_dir = Path(build_dir).resolve()
    manifest = BuildManifest.read(build_dir)
    firmware, csim_dir = _paths(build_dir, manifest)
    sig = _check_manifest(manifest, read_signature(firmware, manifest.project_name))
    bridge = render_bridge(sig, manifest.project_name)
    for d in defines:
        if not _IDENT.match(d):
            raise HashhlsError(f"not a C macro name: {d!r}")
    flags = (*CXXFLAGS, *(f"-D{d}" for d in defines))
    digest = source_hash(firmware, bridge, flags)
    exe, stamp = csim_dir / EXE_NAME, csim_dir / STAMP_NAME
    if not force and _up_to_date(exe, stamp, digest):
        log.debug("csim up to date: %s", exe)
        return exe
    csim_dir.mkdir(exist_ok=True)
    with atomic_file(csim_dir / BRIDGE_NAME) as tmp:
        tmp.write_text(bridge)
    top_cpp = firmware / f"{manifest.project_name}.cpp"
    # build_dir may still be the build's temporary directory: name only what the user will see.
    log.info("compiling the C simulation (%s)", f"{manifest.csim_dir}/{EXE_NAME}")
    with atomic_file(exe) as tmp_exe:
        cmd = [CXX, *flags, "-I", str(firmware / "ap_types"), "-I", str(firmware),
               BRIDGE_NAME, str(top_cpp), "-o", str(tmp_exe)]
        try:
            res = subprocess.run(cmd, cwd=csim_dir, capture_output=True, text=True, check=False)
        except FileNotFoundError as e:
            raise HashhlsError(f"the C simulation needs {CXX}, which is not installed (or not on PATH)") from e
        if res.returncode != 0:
            raise HashhlsError(f"g++ failed to compile the C simulation of {build_dir}: {_first_error(res.stderr)}")
    os.chmod(exe, 0o755)  # atomic_file gives plain-file permissions
    with atomic_file(stamp) as tmp:  # the sources' digest, then the executable's own sha256
        tmp.write_text(f"{digest}\n{file_sha256(exe)}\n")
    return exe


def _up_to_date(exe: Path, stamp: Path, digest: str) -> bool:
    """Whether ``exe`` is the executable compiled from sources with ``digest``: a stamp written by this hashhls
    (sources' digest and the executable's sha256) that matches, and an executable regular file. Anything else
    (an edited, truncated or garbage executable, one that lost its execute bit, an old stamp) is recompiled."""
    if exe.is_symlink() or not exe.is_file() or not stamp.is_file() or stamp.is_symlink():
        return False
    try:
        lines = stamp.read_text().split()
    except (OSError, UnicodeDecodeError):
        return False
    if len(lines) != 2 or lines[0] != digest:
        return False
    if lines[1] != file_sha256(exe) or not os.access(exe, os.X_OK):
        log.info("the C simulation executable %s does not match its stamp: recompiling", exe.name)
        return False
    return True


#: ``nnet::load_weights_from_txt<T, N>(w, "w2.txt");`` in the top function: the files csim reads at run time.
_LOAD_CALL = re.compile(r"load_weights_from_txt<\s*(\w+)\s*,\s*(\d+)\s*>\s*\(\s*\w+\s*,\s*\"([^\"]*)\"\s*\)")
_TYPEDEF = re.compile(r"typedef\s+(ap_(?:u?fixed|u?int)\s*<[^;]*>)\s+(\w+)\s*;")
#: Characters a weight value may take in its file (a decimal number; the loader's ``>>`` stops at anything else).
_MAX_CHARS_PER_VALUE = 64


def _cpp_type(text: str) -> FixedType | None:
    """A FixedType for ``ap_fixed<W,I[,Q,O[,N]]>`` / ``ap_int<W>`` (None for what it cannot represent)."""
    t = re.sub(r"\s+", "", text)
    t = re.sub(r"^(ap_u?fixed<\d+,-?\d+,\w+,\w+),\d+>$", r"\1>", t)
    m = re.match(r"^ap_int<(\d+)>$", t)
    if m:
        t = f"ap_fixed<{m[1]},{m[1]}>"
    try:
        return FixedType.parse(t)
    except (HashhlsError, ValueError):
        return None


def weight_files(firmware: Path, project: str) -> list[tuple[str, int, FixedType | None]]:
    """Every weights file the top function loads at run time: (file name, value count, its C++ type if known)."""
    top = firmware / f"{project}.cpp"
    if not top.is_file():
        raise InvalidFileError(f"build has no C++ top function source {top}")
    types = {}
    for header in ("defines.h", "parameters.h"):
        if (firmware / header).is_file():
            for m in _TYPEDEF.finditer((firmware / header).read_text(errors="replace")):
                types[m[2]] = m[1]
    out = []
    for m in _LOAD_CALL.finditer(top.read_text(errors="replace")):
        name = m[3]
        if not re.fullmatch(r"[A-Za-z0-9_]+\.txt", name):
            raise InvalidFileError(f"{top} loads an unexpected weights file name {name!r}")
        out.append((name, int(m[2]), _cpp_type(types[m[1]]) if m[1] in types else None))
    return out


def check_weight_files(firmware: Path, project: str) -> None:
    """Check every weights file csim will load holds exactly the values its loader expects, before it runs.

    hls4ml's ``load_weights_from_txt<T, N>`` writes every comma-separated value of the file's first line into an
    ``N``-element array without a bound check (10x too many values write past it) and reads an empty file, a
    directory or a non-number as zeros. Refused here with one line naming the file: not a regular file, empty,
    a count other than ``N``, a value that is not a finite decimal, or one outside the range of the C++ type.
    """
    weights = firmware / "weights"
    for name, count, ctype in weight_files(firmware, project):
        path = weights / name
        rel = f"weights/{name}"
        if path.is_symlink() or not path.is_file():
            what = "is a directory" if path.is_dir() else "is missing" if not os.path.lexists(path) else \
                "is not a regular file"
            raise InvalidFileError(f"weights file {rel} of {firmware.parent.parent} {what}")
        size = path.stat().st_size
        if size > count * _MAX_CHARS_PER_VALUE + 4096:
            raise InvalidFileError(f"weights file {rel} is {size:,} bytes, far more than {count:,} values")
        try:
            line = path.read_text(encoding="ascii").split("\n", 1)[0]
        except UnicodeDecodeError:
            raise InvalidFileError(f"weights file {rel} is not text (expected {count:,} comma-separated numbers)"
                                   ) from None
        tokens = line.split(",")
        if tokens and tokens[-1].strip() == "":  # the loader's getline does not count a trailing comma
            tokens = tokens[:-1]
        if len(tokens) != count:
            raise InvalidFileError(f"weights file {rel} holds {len(tokens):,} values, the C simulation loads "
                                   f"{count:,}")
        try:
            values = np.array([float(t) for t in tokens], dtype=np.float64)
        except ValueError:
            bad = next(t for t in tokens if not _is_float(t))
            raise InvalidFileError(f"weights file {rel}: {bad.strip()[:20]!r} is not a number") from None
        if not np.all(np.isfinite(values)):
            raise InvalidFileError(f"weights file {rel} holds NaN or infinite values")
        if ctype is not None and values.size:
            lo, hi = ctype.code_min * ctype.lsb, ctype.code_max * ctype.lsb
            if values.min() < lo or values.max() > hi:
                raise InvalidFileError(f"weights file {rel} holds values outside [{lo:g}, {hi:g}], the range of "
                                       f"its type {ctype}")


def _is_float(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _describe_exit(code: int) -> str:
    if code < 0:
        try:
            return f"was killed by signal {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with status {code}"


class CsimModel:
    """A compiled C simulation, run in isolated child processes.

    Example:
        >>> model = load_build("hashhls-build-default")  # doctest: +SKIP
        >>> y = model.predict(x)  # float64 [N, n_out], bit-identical to the Emulator
    """

    def __init__(self, build_dir: Path, manifest: BuildManifest, exe: Path, firmware: Path, workers: int = 2,
                 timeout: float | None = None):
        self.build_dir = build_dir
        self.manifest = manifest
        self.exe = exe
        self.firmware = firmware
        self.workers = max(1, int(workers))
        self.timeout = timeout
        self.input_shape = tuple(int(d) for d in manifest.input_shape)
        self.n_outputs = int(manifest.n_outputs)
        self.output_type = FixedType.parse(manifest.output_precision)

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Run a batch (float, shaped ``(N, *input_shape)``) and return float64 ``(N, n_out)`` outputs."""
        x = as_input_batch(x, self.input_shape)
        if self.manifest.input_layout == "NHWC":  # the firmware reads channels-last feature maps
            x = np.ascontiguousarray(x.transpose(0, 2, 3, 1))
        n = len(x)
        if n == 0:
            return np.zeros((0, self.n_outputs))
        parts = min(self.workers, max(1, n // SPLIT_MIN))
        bounds = np.linspace(0, n, parts + 1).astype(int)
        with tempfile.TemporaryDirectory(prefix="hashhls-csim-") as tmp:
            inp = Path(tmp) / "input.f32"
            x.tofile(inp)
            procs = []
            try:
                for k in range(parts):
                    out = Path(tmp) / f"output{k}.f64"
                    cmd = [str(self.exe), str(inp), str(n), str(bounds[k]), str(bounds[k + 1]), str(out)]
                    procs.append((subprocess.Popen(cmd, cwd=self.firmware, stdout=subprocess.DEVNULL,
                                                   stderr=subprocess.PIPE, text=True), out, bounds[k + 1] - bounds[k]))
                results = []
                for proc, out, count in procs:
                    try:
                        _, err = proc.communicate(timeout=self.timeout)
                    except subprocess.TimeoutExpired as e:
                        raise CsimError(f"the C simulation of {self.build_dir} timed out after "
                                           f"{self.timeout} s") from e
                    if proc.returncode != 0:
                        last = err.strip().splitlines()[-1] if err.strip() else "no message"
                        raise CsimError(f"the C simulation of {self.build_dir} {_describe_exit(proc.returncode)}"
                                           f": {last}")
                    if "ERROR" in err:  # hls4ml's weight loader reports short weight files without failing
                        raise CsimError(f"the C simulation of {self.build_dir} reported: "
                                           f"{_first_error(err.replace('ERROR', 'error'))}")
                    y = np.fromfile(out, dtype=np.float64)
                    if y.size != count * self.n_outputs:
                        raise CsimError(f"the C simulation of {self.build_dir} wrote {y.size} values, expected "
                                           f"{count * self.n_outputs}")
                    results.append(y.reshape(count, self.n_outputs))
            finally:
                for proc, _, _ in procs:
                    if proc.poll() is None:
                        proc.kill()
                        proc.wait()
        return np.concatenate(results)

    def predict_codes(self, x: np.ndarray) -> np.ndarray:
        """Integer codes (int64) of the output type."""
        return np.rint(self.predict(x) / self.output_type.lsb).astype(np.int64)


def load_build(build_dir: str | Path, workers: int | None = None, timeout: float | None = None,
               force: bool = False, defines: tuple[str, ...] = (), allow_modified_weights: bool = False
               ) -> CsimModel:
    """Compile (if needed) and load a build's C simulation.

    Args:
        build_dir: a hashhls build directory.
        workers: processes a large batch is split across (default: up to 2, one per core).
        timeout: seconds a batch may take before it is killed (default: no limit).
        force: recompile even when the sources did not change.
        defines: C macros for the compile (see :func:`compile_build`).
        allow_modified_weights: accept weight files that differ from the sha256 the build recorded (experiments
            that edit them on purpose, e.g. bit flips); without it an edited or corrupted file is an
            InvalidFileError naming it. Every weights file's format is checked either way.
    """
    build_dir = Path(build_dir).resolve()
    manifest = BuildManifest.read(build_dir)
    verify_files(build_dir, manifest, allow_modified_weights=allow_modified_weights)
    firmware, _ = _paths(build_dir, manifest)
    check_weight_files(firmware, manifest.project_name)
    exe = compile_build(build_dir, force=force, defines=defines)
    if workers is None:
        workers = min(2, os.cpu_count() or 1)
    return CsimModel(build_dir, manifest, exe, firmware, workers=workers, timeout=timeout)


def has_compiler() -> bool:
    """Whether g++ is available (the hw_tests need it)."""
    return shutil.which(CXX) is not None
