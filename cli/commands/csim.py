"""`hashhls csim`: Run inputs through a build's compiled C simulation."""

from __future__ import annotations

import argparse

from ...core.terminal import safe
from pathlib import Path

from ...core.errors import InvalidFileError
from ..options import add_allow_modified_weights, add_output, output_file

NAME = "csim"
HELP = "Run inputs through a build's compiled C simulation"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("build_dir", type=Path, metavar="BUILD_DIR", help="a directory written by 'hashhls build'")
    parser.add_argument("--input", "-i", type=Path, required=True, metavar="X.npy",
                        help="float32 inputs shaped (N, *model input shape), e.g. (N, 1, 28, 28)")
    add_output(parser, "Y.npy", "where to write the float64 (N, n_outputs) dequantised outputs")
    parser.add_argument("--emulator", action="store_true",
                        help="run the bit-exact numpy emulator instead of the C simulation")
    parser.add_argument("--force-compile", action="store_true", help="recompile the C simulation")
    add_allow_modified_weights(parser)


def _load_inputs(path: Path, input_shape: list[int]):
    """The .npy batch, its header checked against the build before any data is read (no 10^12-row surprises)."""
    import numpy as np

    if not path.is_file():
        raise InvalidFileError(f"input file not found: {path}")
    try:
        x = np.load(path, allow_pickle=False, mmap_mode="r")
    except (ValueError, OSError, EOFError) as e:
        first = str(e).split(". ")[0]
        raise InvalidFileError(f"cannot read {path} as a numeric .npy array: {first}") from e
    if not isinstance(x, np.ndarray):
        raise InvalidFileError(f"{path} is an .npz archive, expected a single .npy array")
    if x.dtype.kind != "f" or x.ndim != len(input_shape) + 1 or list(x.shape[1:]) != list(input_shape):
        raise InvalidFileError(f"{path} holds {x.dtype} {tuple(x.shape)}; the build expects float (N, "
                               f"{', '.join(map(str, input_shape))})")
    expected = int(np.prod(x.shape, dtype=np.int64)) * x.dtype.itemsize
    if path.stat().st_size < expected:
        raise InvalidFileError(f"{path} is truncated: its header claims {x.shape[0]:,} samples")
    return np.array(x)  # a plain in-memory copy of the validated memory map


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from ...core.atomic import atomic_file
    from ...codegen.manifest import BuildManifest

    from ...core.inputs import check_build_dir, check_npy

    check_build_dir(args.build_dir)
    check_npy(args.input)
    out = output_file(args, (".npy",))
    manifest = BuildManifest.read(args.build_dir)  # a clear error before anything is loaded or compiled
    x = _load_inputs(args.input, manifest.input_shape)
    if args.emulator:
        from ...codegen.emulator import Emulator
        from ...codegen.manifest import verify_files

        verify_files(args.build_dir, manifest, allow_modified_weights=args.allow_modified_weights)
        y = Emulator.from_build(args.build_dir).predict(x)
    else:
        from ...codegen.csim import load_build

        y = load_build(args.build_dir, force=args.force_compile,
                       allow_modified_weights=args.allow_modified_weights).predict(x)
    with atomic_file(out) as tmp:
        with open(tmp, "wb") as f:
            np.save(f, y)
    print(f"wrote {safe(args.output)}: {y.shape[0]} x {y.shape[1]} outputs")
    return 0
