"""`hashhls transfer`: the transfer matrix for one build, in one command (:mod:`hashhls.adversarial.transfer`)."""

from __future__ import annotations

import argparse
from pathlib import Path

from ...core.terminal import safe

from ..options import add_threads, apply_threads

NAME = "transfer"
HELP = ("Craft on the dense float parent, the hashed float model, the build's fixed-point twin and its csim "
        "(black-box), replay each everywhere: the transfer matrix")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("build_dir", metavar="BUILD_DIR", help="output directory of 'hashhls build' for the model")
    parser.add_argument("--model", metavar="MODEL.pt",
                        help="the checkpoint that was built (default: the build's own model.onnx)")
    parser.add_argument("--dense-parent", metavar="CKPT",
                        help="a dense (compression 1) checkpoint of the same architecture to craft on; default: the "
                             "bundled dense parent for a build of the bundled model, else the hashed model's dense "
                             "materialisation")
    parser.add_argument("--attack", default="pgd", help="gradient attack for rows (a)-(c) (default pgd)")
    parser.add_argument("--eps", type=float, default=0.1, help="L-inf budget (default 0.1)")
    parser.add_argument("-n", type=int, default=200, help="first N MNIST test images (default 200)")
    parser.add_argument("--queries", type=int, default=300, help="Square attack query budget on csim (default 300)")
    add_threads(parser)
    parser.add_argument("-o", "--output", required=True, metavar="DIR", help="report directory (created)")
    parser.add_argument("--force", action="store_true", help="replace an existing report directory")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")


def run(args: argparse.Namespace) -> int:
    import hashhls
    from ...core.atomic import check_output_dir

    from ...core.inputs import check_build_dir, check_checkpoint, check_positive

    check_build_dir(args.build_dir)
    for opt, p in (("--model", args.model), ("--dense-parent", args.dense_parent)):
        if p is not None:
            check_checkpoint(p, f"{opt} takes a checkpoint")
    check_positive(n=args.n, queries=args.queries)
    check_output_dir(args.output, args.force, what="report")
    apply_threads(args)
    report = hashhls.transfer(args.build_dir, args.model, dense_parent=args.dense_parent, attack=args.attack,
                              eps=args.eps, n=args.n, queries=args.queries, out=args.output, force=args.force,
                              progress=not args.no_progress)
    print(safe(report.table(), newlines=True))
    print(f"report: {safe(Path(args.output) / 'report.md')}")
    return 0
