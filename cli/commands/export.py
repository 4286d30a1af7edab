"""`hashhls export`: checkpoint -> ONNX (hashhls:: custom ops, or --dense)."""

from __future__ import annotations

import argparse

from ..options import add_output, output_file

NAME = "export"
HELP = "Export a checkpoint to ONNX (hashhls:: custom-domain ops that stock onnxruntime runs, or --dense)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", metavar="MODEL.pt", help="a hashhls checkpoint (from 'hashhls train' or 'gi')")
    add_output(parser, "OUT.onnx", "ONNX file to write")
    parser.add_argument("--dense", action="store_true",
                        help="plain Gemm/Conv with materialised weights, for tools that do not know the domain")


def run(args: argparse.Namespace) -> int:
    from ...core.inputs import check_checkpoint

    check_checkpoint(args.model, "export reads a checkpoint from 'hashhls train' or 'gi'")
    out = output_file(args, (".onnx",))
    from ...frontend.onnx_export import export_checkpoint

    proto = export_checkpoint(args.model, out, dense=args.dense)
    size = len(proto.SerializeToString())
    line = f"wrote {args.output}: {size:,} bytes ({'dense' if args.dense else 'hashed'})"
    if not args.dense:
        dense = len(export_checkpoint(args.model, None, dense=True).SerializeToString())
        line += f"; the dense export would be {dense:,} bytes ({size / dense:.3f}x)"
    print(line)
    return 0
