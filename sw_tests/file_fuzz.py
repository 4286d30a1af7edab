"""A seeded mutator of the files users hand to hashhls, for the zero-traceback bad-file test
(sw_tests/test_fuzz_files.py; ``python sw_tests/file_fuzz.py --cases N`` runs more).

Bases are the project's own files: the bundled checkpoint, a ``.npy`` batch, an adversarial ``.npz`` from
``hashhls attack``, the bundled MNIST IDX files, and the files of a build directory (manifest, weight files,
C++ sources, model.onnx, the csim executable). Mutations are byte level (truncation, byte flips, garbage, empty,
a directory in the file's place) and structural (the checkpoint's payload, the npy header, the npz fields, the
IDX header, the manifest's JSON fields, the weight files' values). Each case runs the command that reads the file
(``hashhls.cli.main`` in-process) and must be a clean refusal (exit 2, one printable line ``hashhls: error: ...``,
no output left behind) or a successful run.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import json
import os
import shutil
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

KINDS = ("checkpoint", "npy", "npz", "idx", "manifest", "weights", "build_file")
#: kinds whose successful cases recompile the C simulation (g++, ~20 s each): the slow test only
SLOW_KINDS = ("csim_exe",)

# -- byte-level mutations (any file) ---------------------------------------------------------------------


def _truncate(data: bytes, rng) -> bytes:
    return data[:int(rng.integers(0, max(1, len(data))))]


def _flip(data: bytes, rng) -> bytes:
    b = bytearray(data)
    for _ in range(int(rng.integers(1, 17))):
        if b:
            b[int(rng.integers(0, len(b)))] = int(rng.integers(0, 256))
    return bytes(b)


def _garbage(data: bytes, rng) -> bytes:
    return rng.integers(0, 256, int(rng.integers(1, 4096)), dtype=np.uint8).tobytes()


def _append(data: bytes, rng) -> bytes:
    return data + rng.integers(0, 256, int(rng.integers(1, 512)), dtype=np.uint8).tobytes()


BYTE_MUTATIONS: dict[str, Callable[[bytes, object], bytes]] = {
    "truncate": _truncate, "flip_bytes": _flip, "garbage": _garbage, "append": _append,
    "empty": lambda data, rng: b"",
}
DIRECTORY = "directory"  #: the file replaced by a directory of that name

# -- structural mutations --------------------------------------------------------------------------------

ODD_VALUES = [None, [], {}, [1, 2], "x", "", -1, 0, 2**63, 1e308, float("nan"), True, {"a": 1}, "\x1b[31mred"]


def _odd(rng):
    return ODD_VALUES[int(rng.integers(0, len(ODD_VALUES)))]


def _edit_json(d, rng, depth: int = 0):
    """Replace, delete or add one field somewhere in a JSON value (objects and lists)."""
    if isinstance(d, dict) and d:
        key = list(d)[int(rng.integers(0, len(d)))]
        r = rng.random()
        if r < 0.2:
            del d[key]
        elif r < 0.35 and depth < 4 and isinstance(d[key], (dict, list)) and d[key]:
            _edit_json(d[key], rng, depth + 1)
        elif r < 0.45:
            d["unexpected_" + str(int(rng.integers(0, 100)))] = _odd(rng)
        else:
            d[key] = _odd(rng)
    elif isinstance(d, list) and d:
        i = int(rng.integers(0, len(d)))
        if depth < 4 and isinstance(d[i], (dict, list)) and rng.random() < 0.7:
            _edit_json(d[i], rng, depth + 1)
        elif rng.random() < 0.5:
            del d[i]
        else:
            d[i] = _odd(rng)
    return d


def checkpoint_structural(data: bytes, rng) -> bytes:
    import torch

    payload = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    r = rng.random()
    if r < 0.35:  # the config JSON: a list, a field missing or of the wrong type
        cfg = json.loads(payload["config"])
        payload["config"] = json.dumps(_edit_json(cfg, rng) if rng.random() < 0.7 else
                                       [cfg] if rng.random() < 0.5 else _odd(rng))
    elif r < 0.45:
        payload["config"] = _odd(rng)
    elif r < 0.75:  # the state dict: a tensor missing, reshaped, of another dtype, not a tensor, NaN
        sd = payload["state_dict"]
        key = list(sd)[int(rng.integers(0, len(sd)))]
        t = sd[key]
        choice = int(rng.integers(0, 6))
        if choice == 0:
            del sd[key]
        elif choice == 1:
            sd[key] = t.reshape(-1)[: max(1, t.numel() // 2)].clone()
        elif choice == 2:
            sd[key] = t.to(torch.int64) if t.is_floating_point() else t.float()
        elif choice == 3:
            sd[key] = _odd(rng)
        elif choice == 4 and t.is_floating_point():
            sd[key] = torch.full_like(t, float("nan"))
        else:
            sd[key + ".extra"] = torch.zeros(3)
    else:
        key = ["format", "version", "metrics", "state_dict"][int(rng.integers(0, 4))]
        payload[key] = _odd(rng)
    buf = io.BytesIO()
    torch.save(payload, buf)
    return buf.getvalue()


def npy_structural(data: bytes, rng) -> bytes:
    x = np.load(io.BytesIO(data), allow_pickle=False)
    choice = int(rng.integers(0, 9))
    if choice <= 2:  # a header whose shape disagrees with the payload, up to 10^12 rows
        header = np.lib.format.header_data_from_array_1_0(x)
        rows = [0, 10**12, 2**40, x.shape[0] + 1, 3][int(rng.integers(0, 5))]
        header["shape"] = (rows, *x.shape[1:]) if rng.random() < 0.7 else (rows,)
        buf = io.BytesIO()
        np.lib.format.write_array_header_1_0(buf, header)
        return buf.getvalue() + x.tobytes()[: int(rng.integers(0, x.nbytes + 1))]
    buf = io.BytesIO()
    if choice == 3:
        y = x.astype([np.int32, np.float16, np.complex64, np.uint8, bool][int(rng.integers(0, 5))])
    elif choice == 4:
        y = x.reshape(len(x), -1)
    elif choice == 5:
        y = x[:0]
    elif choice == 6:
        y = x.copy()
        y.flat[int(rng.integers(0, y.size))] = [np.nan, np.inf, -np.inf, 1e30][int(rng.integers(0, 4))]
    elif choice == 7:
        y = np.asfortranarray(x.transpose(0, 1, 3, 2))
    else:
        y = np.array([{"a": 1}, None], dtype=object)
        np.save(buf, y, allow_pickle=True)
        return buf.getvalue()
    np.save(buf, y)
    return buf.getvalue()


def npz_structural(data: bytes, rng) -> bytes:
    with np.load(io.BytesIO(data), allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    key = list(arrays)[int(rng.integers(0, len(arrays)))]
    a = arrays[key]
    choice = int(rng.integers(0, 10))
    pickle = False
    if choice == 0:
        del arrays[key]
    elif choice == 1:
        arrays[key] = a.reshape(-1) if a.ndim else np.array([a, a])
    elif choice == 2:
        arrays[key] = a[:0] if a.ndim else np.array([])
    elif choice == 3 and a.dtype.kind in "fiub":
        arrays[key] = a.astype([np.float64, np.int8, np.float32, np.complex64, "U3"][int(rng.integers(0, 5))])
    elif choice == 4 and a.dtype.kind == "f":
        b = a.copy()
        b.flat[int(rng.integers(0, max(1, b.size)))] = [np.nan, np.inf, -5.0, 1e30][int(rng.integers(0, 4))]
        arrays[key] = b
    elif choice == 5:
        arrays[key] = np.array(_odd(rng), dtype=object)
        pickle = True
    elif choice == 6 and a.dtype.kind in "iu":
        b = a.copy()
        b.flat[int(rng.integers(0, max(1, b.size)))] = [-1, 10, 2**40][int(rng.integers(0, 3))]
        arrays[key] = b
    elif choice == 7 and "provenance" in arrays:
        text = str(arrays["provenance"])
        arrays["provenance"] = np.array(json.dumps(_edit_json(json.loads(text), rng)) if rng.random() < 0.7
                                        else text[: int(rng.integers(0, len(text) + 1))])
    elif choice == 8:
        arrays[key] = np.array(["\x1b[2Jcleared", "x"])[: 1 + int(rng.integers(0, 2))].squeeze()
    else:
        arrays["x_adv"] = np.concatenate([arrays["x_adv"]] * 2, axis=-1) if arrays.get("x_adv") is not None \
            and arrays["x_adv"].ndim else arrays.get("x_adv", np.zeros(1))
    buf = io.BytesIO()
    if pickle:
        np.savez(buf, **arrays)  # object arrays are pickled: the reader must refuse them, never unpickle
    else:
        np.savez_compressed(buf, **arrays)
    return buf.getvalue()


def idx_structural(data: bytes, rng) -> bytes:
    raw = gzip.decompress(data)
    magic, = struct.unpack(">I", raw[:4])
    ndim = magic & 0xFF
    dims = list(struct.unpack(f">{ndim}I", raw[4:4 + 4 * ndim]))
    payload = raw[4 + 4 * ndim:]
    choice = int(rng.integers(0, 7))
    if choice == 0:
        dims[int(rng.integers(0, ndim))] = [0, 2**32 - 1, 2**31, 10**9, 1][int(rng.integers(0, 5))]
    elif choice == 1:
        other = 0x00000803 if ndim == 1 else 0x00000801
        magic = [0x00000802, other, 0x0000080D, 0x00000B03, 0][int(rng.integers(0, 5))]
    elif choice == 2:
        payload = payload[: int(rng.integers(0, len(payload)))]
    elif choice == 3 and ndim == 1:
        b = bytearray(payload)
        b[int(rng.integers(0, len(b)))] = int(rng.integers(10, 256))
        payload = bytes(b)
    elif choice == 4:
        magic = (magic & ~0xFF) | int(rng.integers(0, 256))
    header = struct.pack(">I", magic) + b"".join(struct.pack(">I", d) for d in dims[: magic & 0xFF or 0])
    header += b"".join(struct.pack(">I", 1) for _ in range(max(0, (magic & 0xFF) - len(dims))))
    out = header + payload
    if choice == 5:
        return out  # not gzip-compressed (the reader detects gzip by its magic bytes)
    if choice == 6:
        return gzip.compress(out)[: -int(rng.integers(1, 64))]  # a truncated gzip stream (bad CRC / EOF)
    return gzip.compress(out, compresslevel=1)


def manifest_structural(data: bytes, rng) -> bytes:
    d = json.loads(data)
    for _ in range(int(rng.integers(1, 3))):
        _edit_json(d, rng)
    if rng.random() < 0.1:
        d = [d]
    return json.dumps(d, allow_nan=True).encode()


def weights_structural(data: bytes, rng) -> bytes:
    values = data.decode().strip().split(",")
    choice = int(rng.integers(0, 9))
    if choice == 0:
        values = values * int(rng.integers(2, 11))
    elif choice == 1:
        values = values[: int(rng.integers(0, len(values)))]
    elif choice == 2:
        values[int(rng.integers(0, len(values)))] = ["1e300", "-1e300", "nan", "inf", "1e5"][int(rng.integers(0, 5))]
    elif choice == 3:
        junk = ["zero", "", "0x10", "1,5", "--1", "\x1b[31m"]
        values[int(rng.integers(0, len(values)))] = junk[int(rng.integers(0, len(junk)))]
    elif choice == 4:
        return ("\n" + ",".join(values)).encode()  # the first line, which the loader reads, is empty
    elif choice == 5:
        return (",".join(values) + ",").encode()  # a trailing comma: the loader's count is unchanged
    elif choice == 6:
        return " , ".join(values).encode()
    elif choice == 7:  # values within the type: an experiment's edit, accepted with --allow-modified-weights
        i = int(rng.integers(0, len(values)))
        values[i] = "0"
    else:
        values[int(rng.integers(0, len(values)))] = "0.123456789"  # not a code of the type: still loaded
    return ",".join(values).encode()


STRUCTURAL = {"checkpoint": checkpoint_structural, "npy": npy_structural, "npz": npz_structural,
              "idx": idx_structural, "manifest": manifest_structural, "weights": weights_structural}

# -- cases ------------------------------------------------------------------------------------------------


@dataclass
class Bases:
    """The good files the mutants are made of."""

    checkpoint: Path
    build: Path  #: a build with its csim compiled (board none)
    x: Path  #: a good .npy batch for the build
    adv: Path  #: a good adversarial .npz for the build
    mnist: Path  #: a directory with the MNIST test IDX files


@dataclass
class Case:
    kind: str
    mutation: str
    seed: int
    variant: str = ""  #: a flag the command runs with ("--allow-modified-weights", "--emulator")

    @property
    def label(self) -> str:
        return f"{self.kind}:{self.mutation}{':' + self.variant if self.variant else ''}#{self.seed}"


def cases(n: int, seed: int = 0, kinds: tuple[str, ...] = KINDS) -> Iterator[Case]:
    """``n`` seeded cases spread over ``kinds``: a third byte-level (or a directory), the rest structural."""
    rng = np.random.default_rng(seed)
    for i in range(n):
        kind = kinds[i % len(kinds)]
        if kind in ("build_file", "csim_exe") or rng.random() < 0.35:
            names = [*BYTE_MUTATIONS, DIRECTORY]
            mutation = names[int(rng.integers(0, len(names)))]
        else:
            mutation = "structural"
        variant = ""
        if kind == "weights":
            variant = "--allow-modified-weights" if rng.random() < 0.8 else ""
        elif kind == "manifest":
            variant = "--emulator" if rng.random() < 0.3 else ""
        yield Case(kind, mutation, int(rng.integers(0, 2**31)), variant)


def _mutate(case: Case, path: Path, rng) -> None:
    data = path.read_bytes()
    if case.mutation == DIRECTORY:
        path.unlink()
        path.mkdir()
        (path / "inside").write_text("x")
        return
    fn = BYTE_MUTATIONS.get(case.mutation) or STRUCTURAL[case.kind]
    try:
        mutated = fn(data, rng)
    except Exception:  # noqa: BLE001 - a structural edit that does not apply to this draw: flip bytes instead
        mutated = _flip(data, rng)
    path.write_bytes(mutated)


def _build_targets(build: Path) -> list[str]:
    """Files of a build a ``build_file`` case may damage (relative), not the csim executable (recompiling it
    takes g++ ~20 s: the slow run covers it)."""
    out = []
    for p in sorted(build.rglob("*")):
        rel = p.relative_to(build).as_posix()
        if p.is_file() and not rel.startswith(("csim/", "hls/firmware/ap_types/", "hls/firmware/nnet_utils/")):
            out.append(rel)
    return out


def prepare(case: Case, bases: Bases, work: Path) -> tuple[list[str], Path]:
    """Write the case's mutated input under ``work``; the hashhls argv that reads it and its output path."""
    rng = np.random.default_rng(case.seed)
    out_dir = work / "out"
    out_dir.mkdir()
    if case.kind == "checkpoint":
        p = work / "model.pt"
        shutil.copyfile(bases.checkpoint, p)
        _mutate(case, p, rng)
        return ["export", str(p), "-o", str(out_dir / "m.onnx")], out_dir
    if case.kind == "npy":
        p = work / "x.npy"
        shutil.copyfile(bases.x, p)
        _mutate(case, p, rng)
        return ["csim", str(bases.build), "-i", str(p), "-o", str(out_dir / "y.npy")], out_dir
    if case.kind == "npz":
        p = work / "adv.npz"
        shutil.copyfile(bases.adv, p)
        _mutate(case, p, rng)
        return ["replay", str(bases.build), str(p), "-o", str(out_dir / "report"), "--no-progress"], out_dir
    if case.kind == "idx":
        d = work / "mnist"
        shutil.copytree(bases.mnist, d)
        files = sorted(d.iterdir())
        _mutate(case, files[int(rng.integers(0, len(files)))], rng)
        return ["gi", str(bases.checkpoint), "--mode", "scale", "--eps", "15", "--data", str(d),
                "-o", str(out_dir / "g.pt")], out_dir
    build = work / "build"
    shutil.copytree(bases.build, build, symlinks=True)
    if case.kind == "manifest":
        target = build / "hashhls-build.json"
    elif case.kind == "csim_exe":
        names = sorted(p.relative_to(build).as_posix() for p in (build / "csim").iterdir() if p.is_file())
        target = build / names[int(rng.integers(0, len(names)))]
    elif case.kind == "weights":
        ws = sorted((build / "hls" / "firmware" / "weights").glob("*.txt"))
        target = ws[int(rng.integers(0, len(ws)))]
    else:
        names = _build_targets(build)
        target = build / names[int(rng.integers(0, len(names)))]
    _mutate(case, target, rng)
    argv = ["csim", str(build), "-i", str(bases.x), "-o", str(out_dir / "y.npy")]
    return argv + ([case.variant] if case.variant else []), out_dir


@dataclass
class Outcome:
    status: str  #: "refused", "ran" or "failure"
    detail: str = ""


def _printable(line: str) -> bool:
    return all(c.isprintable() for c in line)


def run_case(case: Case, bases: Bases, work: Path) -> Outcome:
    """Run one case; a failure is a traceback, a multi-line or unprintable error, or output left behind."""
    from hashhls.cli.main import main

    argv, out_dir = prepare(case, bases, work)
    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            code = main(argv)
    except SystemExit as e:  # argparse
        code = e.code
    except BaseException as e:  # noqa: BLE001 - any other exception is the traceback the test hunts
        return Outcome("failure", f"{type(e).__name__}: {str(e)[:200]}")
    text = err.getvalue()
    if code == 0:
        return Outcome("ran")
    lines = [ln for ln in text.splitlines() if ln.startswith("hashhls: error: ")]
    left = sorted(p.name for p in out_dir.iterdir())
    if code != 2:
        return Outcome("failure", f"exit {code}: {text[-300:]}")
    if len(lines) != 1 or "Traceback" in text:
        return Outcome("failure", f"not one error line: {text[-300:]}")
    if not _printable(lines[0]):
        return Outcome("failure", f"unprintable error line: {lines[0]!r}")
    if left:
        return Outcome("failure", f"output left behind: {left}")
    return Outcome("refused", lines[0])


def make_bases(root: Path) -> Bases:
    """The good files (a csim build of the bundled model, its inputs, an adversarial file) under ``root``."""
    from hashhls.cli.main import main
    from hashhls.codegen.project import BuildConfig, build
    from hashhls.frontend.datasets import bundled_mnist_dir, load_dataset
    from hashhls.frontend.zoo import default_checkpoint

    b = root / "build"
    build(BuildConfig(output_dir=b, board="none", compile_csim=True, progress=False))
    x = root / "x.npy"
    np.save(x, load_dataset("mnist", None, "test")[0][:4])
    adv = root / "adv.npz"
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(["attack", "-n", "6", "--no-progress", "--threads", "1", "-o", str(adv)]) == 0
    mnist = root / "mnist"
    mnist.mkdir()
    for name in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        shutil.copyfile(bundled_mnist_dir() / name, mnist / name)
    return Bases(Path(default_checkpoint()), b, x, adv, mnist)


def main_cli() -> int:
    import argparse
    import collections
    import tempfile

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=300)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--slow", action="store_true", help="also the csim executable's files (recompiles)")
    args = ap.parse_args()
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    with tempfile.TemporaryDirectory(prefix="hashhls-file-fuzz-") as tmp:
        bases = make_bases(Path(tmp) / "bases")
        counts, failures = collections.Counter(), []
        kinds = KINDS + (SLOW_KINDS if args.slow else ())
        for i, case in enumerate(cases(args.cases, args.seed, kinds)):
            work = Path(tmp) / f"case{i}"
            work.mkdir()
            o = run_case(case, bases, work)
            counts[(case.kind, o.status)] += 1
            if o.status == "failure":
                failures.append((case.label, o.detail))
            shutil.rmtree(work, ignore_errors=True)
        for k in kinds:
            print(f"{k:12s} refused {counts[(k, 'refused')]:4d}  ran {counts[(k, 'ran')]:4d}  "
                  f"failure {counts[(k, 'failure')]:3d}")
        for label, detail in failures:
            print(f"FAILURE {label}: {detail}")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main_cli())
