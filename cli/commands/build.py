"""`hashhls build`: Lower a model to an hls4ml HLS project for a board, with a compiled C simulation."""

from __future__ import annotations

import argparse

from ...core.terminal import safe
from pathlib import Path

NAME = "build"
HELP = "Lower a model to an hls4ml HLS project for a board, with a compiled C simulation"

from ...core.defaults import DEFAULT_PRECISION


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", nargs="?", type=Path, metavar="MODEL",
                        help="hashhls ONNX file (hashhls export), plain ONNX MLP or CNN, or hashhls checkpoint .pt; "
                             "default: the bundled MNIST model")
    parser.add_argument("--board", default="pynq-z2",
                        help="target board: a file in hashhls/boards/ (pynq-z2, zcu104) or 'none' for a plain "
                             "Vivado HLS project (default: pynq-z2)")
    parser.add_argument("-o", "--output", type=Path, metavar="DIR",
                        help="build directory (default: ./hashhls-build-<model stem>, or ./hashhls-build-default "
                             "without MODEL)")
    parser.add_argument("--precision", default=DEFAULT_PRECISION, metavar="P",
                        help=f"default type of inputs, weights, biases and results, or 'auto' to profile on the "
                             f"bundled MNIST and pick integer bits (default: {DEFAULT_PRECISION}; modes omitted "
                             "mean AP_RND_CONV,AP_SAT)")
    parser.add_argument("--layer-precision", action="append", default=[], metavar="NAME[.TENSOR]=TYPE",
                        help="per-layer override (TENSOR: weight, bias or result; NAME 'input' for the input); "
                             "repeatable")
    parser.add_argument("--reuse-factor", type=int, default=None, metavar="R",
                        help="reuse factor: a stock Dense uses each multiplier R times; a hash-v1 layer runs "
                             "ceil(n_in/R) multiply lanes per output (default: 64). A hash-v2 layer runs one lane "
                             "per bank (fixed at training), i.e. R = ceil(n_in/banks): a different R is refused")
    parser.add_argument("--io-type", default="io_parallel", choices=["io_parallel", "io_stream"],
                        help="hls4ml I/O type: io_parallel (arrays) or io_stream (FIFOs between layers, one pixel "
                             "per beat for feature maps; for large feature maps) (default: io_parallel)")
    parser.add_argument("--strip-softmax", action="store_true",
                        help="remove a Softmax at the output (the predicted class, the argmax, is unchanged); "
                             "without it a Softmax is refused")
    parser.add_argument("--no-csim", action="store_true", help="do not compile the C simulation")
    parser.add_argument("--strict", action="store_true",
                        help="make the precision guard's warning an error: fail (writing nothing) when fixed vs float "
                             "argmax agreement on the calibration images is below 99%% or a layer saturates")
    parser.add_argument("--force", action="store_true", help="replace an existing build directory")


def default_output(model: Path | None) -> Path:
    stem = model.stem if model is not None else "default"
    return Path(f"hashhls-build-{stem}")


def run(args: argparse.Namespace) -> int:
    import sys

    from ...core.atomic import check_output_dir
    from ...core.inputs import check_model_file

    if args.model is not None:
        check_model_file(args.model)
    out = check_output_dir(args.output or default_output(args.model), args.force, what="output")

    import hashhls

    b = hashhls.build(args.model, board=args.board, output=out, precision=args.precision,
                      layer_precision=list(args.layer_precision), reuse_factor=args.reuse_factor,
                      io_type=args.io_type, strict=args.strict, csim=not args.no_csim, force=args.force,
                      strip_softmax=args.strip_softmax,
                      progress=sys.stderr.isatty())
    from ...codegen.summary import load_summary

    print(load_summary(b.dir).terminal(), end="")
    print(safe(f"per-layer detail: {b.dir / 'summary.md'}; what to run next (Vivado, PYNQ): {b.dir / 'README.md'}"))
    return 0
