"""`hashhls csim`: Run inputs through a build's compiled C simulation."""

from __future__ import annotations

import argparse
from pathlib import Path

from ...core.errors import HashhlsError

NAME = "csim"
HELP = "Run inputs through a build's compiled C simulation"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("build_dir", type=Path, metavar="BUILD_DIR", help="a directory written by 'hashhls build'")
    parser.add_argument("--input", "-i", type=Path, required=True, metavar="X.npy",
                        help="float32 inputs shaped (N, *model input shape), e.g. (N, 1, 28, 28)")
    parser.add_argument("--output", "-o", type=Path, required=True, metavar="Y.npy",
                        help="where to write the float64 (N, n_outputs) dequantised outputs")
    parser.add_argument("--emulator", action="store_true",
                        help="run the bit-exact numpy emulator instead of the C simulation")
    parser.add_argument("--force-compile", action="store_true", help="recompile the C simulation")


def _load_inputs(path: Path):
    import numpy as np

    if not path.is_file():
        raise HashhlsError(f"input file not found: {path}")
    try:
        return np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as e:
        first = str(e).split(". ")[0]
        raise HashhlsError(f"cannot read {path} as a numeric .npy array: {first}") from e


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from ...core.atomic import atomic_file
    from ...codegen.manifest import BuildManifest

    BuildManifest.read(args.build_dir)  # a clear error before anything is loaded or compiled
    if args.output.suffix != ".npy":
        raise HashhlsError(f"output must be a .npy file: {args.output}")
    x = _load_inputs(args.input)
    if args.emulator:
        from ...codegen.emulator import Emulator

        y = Emulator.from_build(args.build_dir).predict(x)
    else:
        from ...codegen.csim import load_build

        y = load_build(args.build_dir, force=args.force_compile).predict(x)
    with atomic_file(args.output) as tmp:
        with open(tmp, "wb") as f:
            np.save(f, y)
    print(f"wrote {args.output}: {y.shape[0]} x {y.shape[1]} outputs")
    return 0
