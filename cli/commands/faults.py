"""`hashhls faults`: bit flips in builds' weight stores (random or the progressive bit search attack)."""

from __future__ import annotations

import argparse
from pathlib import Path

from ...core.terminal import safe

NAME = "faults"
HELP = ("Flip bits in the stored weight words of one or more builds (random, or the bit-flip attack BFA); "
        "accuracy vs flips on the emulator and on csim, the flips chosen, a checksum detector")


# Copies of hashhls.adversarial.fault_report.DEFAULT_BATCH / DEFAULT_TARGET and adversarial.faults.DEFAULT_GROUP /
# FAULT_ATTACKS, kept here so that --help does not import torch (sw_tests/test_cli_startup.py checks they agree).
DEFAULT_BATCH = 128
DEFAULT_TARGET = 0.11
DEFAULT_GROUP = 16
FAULT_ATTACKS = ("bfa", "random")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("builds", metavar="BUILD_DIR", nargs="+",
                        help="'hashhls build' directories (several: compared in one report, e.g. 1/8, 1/64, dense)")
    parser.add_argument("--attack", default="bfa",
                        help=f"{' or '.join(FAULT_ATTACKS)}: the progressive bit search (Rakin et al., ICCV 2019) "
                             "or bits drawn uniformly from all stored bits (default bfa)")
    parser.add_argument("--flips", type=int, default=20, help="bits to flip (default 20)")
    parser.add_argument("-n", type=int, default=1000, help="evaluate on the first N MNIST test images (default 1000)")
    parser.add_argument("--batch", type=int, default=DEFAULT_BATCH,
                        help=f"BFA's attack batch: the first B bundled MNIST training images (default {DEFAULT_BATCH})")
    parser.add_argument("--top-k", type=int, default=1,
                        help="BFA: candidate bits per layer whose exact loss is measured each iteration (default 1)")
    parser.add_argument("--seed", type=int, default=0, help="random flips' seed (default 0)")
    parser.add_argument("--group", type=int, default=DEFAULT_GROUP,
                        help=f"checksum detector: stored words per checksum group (default {DEFAULT_GROUP})")
    parser.add_argument("--target", type=float, default=DEFAULT_TARGET,
                        help=f"report the flips needed to bring accuracy to or below this (default {DEFAULT_TARGET})")
    parser.add_argument("--no-csim", action="store_true", help="emulator only (skip the csim of the flipped copies)")
    parser.add_argument("-o", "--output", required=True, metavar="DIR", help="report directory (created)")
    parser.add_argument("--force", action="store_true", help="replace an existing report directory")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")


def run(args: argparse.Namespace) -> int:
    from ...adversarial.fault_report import run_faults
    from ...core.atomic import check_output_dir
    from ...core.errors import UsageError

    from ...core.inputs import check_build_dir

    for b in args.builds:
        check_build_dir(b)
    check_output_dir(args.output, args.force, what="report")
    for name, v in (("-n", args.n), ("--batch", args.batch), ("--group", args.group)):
        if v < 1:
            raise UsageError(f"{name} must be at least 1, got {v}")
    if not 0 <= args.target <= 1:
        raise UsageError(f"--target is an accuracy in [0, 1], got {args.target}")
    study = run_faults(args.builds, attack=args.attack, flips=args.flips, n=args.n, batch=args.batch,
                       seed=args.seed, top_k=args.top_k, csim=not args.no_csim, group=args.group,
                       target=args.target, progress=not args.no_progress)
    study.write(args.output, force=args.force)
    print(safe(study.table(), newlines=True))
    print(f"report: {safe(Path(args.output) / 'report.md')}")
    return 0
