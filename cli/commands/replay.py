"""`hashhls replay`: replay adversarial examples through every implementation of a build."""

from __future__ import annotations

import argparse
from pathlib import Path

from ...core.terminal import safe

from ..options import add_allow_modified_weights

NAME = "replay"
HELP = ("Replay clean and adversarial inputs through float, ONNX Runtime, emulator and csim; "
        "write report.md, report.json and plots")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("build_dir", metavar="BUILD_DIR", help="output directory of 'hashhls build'")
    parser.add_argument("adv", metavar="ADV.npz", nargs="+",
                        help="adversarial files from 'hashhls attack' (each budget of each file is one row)")
    parser.add_argument("-o", "--output", required=True, metavar="DIR", help="report directory (created)")
    parser.add_argument("--allow-other-model", action="store_true",
                        help="replay files crafted on another model than the build's, as a transfer experiment "
                             "(labelled 'transfer from <model>'); without it they are refused")
    parser.add_argument("--dense-parent", metavar="CKPT", help="checkpoint of the dense parent model (extra column)")
    add_allow_modified_weights(parser)
    parser.add_argument("--force", action="store_true", help="replace an existing report directory")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")


def run(args: argparse.Namespace) -> int:
    import hashhls
    from ...adversarial.advfile import AdvSet
    from ...adversarial.replay import read_build
    from ...core.atomic import check_output_dir

    from ...core.inputs import check_build_dir, check_checkpoint, check_npz

    check_build_dir(args.build_dir)
    for p in args.adv:
        check_npz(p)
    if args.dense_parent is not None:
        check_checkpoint(args.dense_parent, "--dense-parent is the dense model's checkpoint")
    check_output_dir(args.output, args.force, what="report")
    manifest = read_build(args.build_dir)
    advs = [AdvSet.load(p, input_shape=manifest.input_shape) for p in args.adv]
    report = hashhls.replay(args.build_dir, advs, out=args.output, allow_other_model=args.allow_other_model,
                            dense_parent=args.dense_parent, force=args.force, progress=not args.no_progress,
                            allow_modified_weights=args.allow_modified_weights)
    print(safe(report.table(), newlines=True))
    print(f"report: {safe(Path(args.output) / 'report.md')}")
    return 0
