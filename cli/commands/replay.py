"""`hashhls replay`: replay adversarial examples through every implementation of a build."""

from __future__ import annotations

import argparse

NAME = "replay"
HELP = ("Replay clean and adversarial inputs through float, ONNX Runtime, emulator and csim; "
        "write report.md, report.json and plots")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("build_dir", metavar="BUILD_DIR", help="output directory of 'hashhls build'")
    parser.add_argument("adv", metavar="ADV.npz", nargs="+",
                        help="adversarial files from 'hashhls attack' (several: one transfer-matrix row each)")
    parser.add_argument("-o", "--output", required=True, metavar="DIR", help="report directory (created)")
    parser.add_argument("--dense-parent", metavar="CKPT", help="checkpoint of the dense parent model (extra column)")
    parser.add_argument("--force", action="store_true", help="replace an existing report directory")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")


def run(args: argparse.Namespace) -> int:
    from ...codegen.manifest import BuildManifest
    from ...adversarial.replay import AdvSet, build_targets, replay
    from ...adversarial.report import markdown_table, write_report
    from ...core.atomic import atomic_dir

    manifest = BuildManifest.read(args.build_dir)
    advs = [AdvSet.load(p, input_shape=manifest.input_shape) for p in args.adv]
    targets = build_targets(args.build_dir, dense_parent=args.dense_parent)
    results = [replay(a, targets, progress=not args.no_progress) for a in advs]
    with atomic_dir(args.output, force=args.force) as tmp:
        write_report(tmp, advs, results, args.build_dir)
    for r in results:
        print(f"crafted on {r.crafted_on}:")
        print(markdown_table(r))
    print(f"report: {args.output}/report.md")
    return 0
