"""`hashhls vivado`: run Vivado HLS (C simulation, synthesis, IP export) and Vivado (bitstream) on a build."""

from __future__ import annotations

import argparse

from ...core.terminal import safe
from pathlib import Path

NAME = "vivado"
HELP = "Run Vivado HLS (csim, synthesis, co-simulation, IP export) and Vivado (bitstream) on a build directory"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("build_dir", type=Path, metavar="BUILD_DIR", help="a directory written by 'hashhls build'")
    parser.add_argument("--steps", default="csim,synth,export,bitstream", metavar="S1,S2",
                        help="comma-separated, run in pipeline order: csim (the testbench against tb_data), synth, "
                             "cosim (C/RTL co-simulation), export (IP), bitstream (block design + implementation; "
                             "board builds only) (default: csim,synth,export,bitstream)")
    parser.add_argument("--dry-run", action="store_true", help="print the commands and where they run; run nothing")


def run(args: argparse.Namespace) -> int:
    from ...codegen.vivado import missing_tools, parse_steps, plan
    from ...codegen.vivado import run as run_steps

    from ...core.inputs import check_build_dir

    check_build_dir(args.build_dir)
    invocations = plan(args.build_dir, parse_steps(args.steps))
    if args.dry_run:
        missing = set(missing_tools(invocations))
        for inv in invocations:
            note = "  # not on PATH" if inv.tool in missing else ""
            print(f"{', '.join(s.value for s in inv.steps)}: {inv.shell_line()}{note}")
        return 0
    run_steps(invocations)
    print(safe(f"hashhls vivado: done; logs in {args.build_dir / 'vivado'}"))
    return 0
