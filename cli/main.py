"""The ``hashhls`` command line: one subcommand per module in :mod:`hashhls.cli.commands`."""

from __future__ import annotations

import argparse
import logging
import os
import sys

from ..core.version import __version__
from .commands import COMMANDS
from ..core.errors import HashhlsError
from ..core.terminal import safe


class _SafeFormatter(logging.Formatter):
    """Log lines with control characters escaped (a path or a node name can hold escape sequences)."""

    def format(self, record: logging.LogRecord) -> str:
        return safe(super().format(record), newlines=True)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hashhls",
        description="Hash-compressed neural networks from training to FPGA HLS C++, with adversarial replay.",
    )
    parser.add_argument("--version", action="version", version=f"hashhls {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in COMMANDS:
        p = sub.add_parser(module.NAME, help=module.HELP, description=module.HELP)
        module.add_arguments(p)
        p.set_defaults(_run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    # Before torch (and its OpenMP runtime) is imported: idle threads sleep instead of spinning, which on a
    # shared machine made training 10-50x slower. A value the user set wins.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = logging.StreamHandler()
    handler.setFormatter(_SafeFormatter("%(message)s"))
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, handlers=[handler])
    try:
        return int(args._run(args) or 0)
    except HashhlsError as e:
        # one line, whatever the message holds: names from the user's files are escaped, never sent raw
        print(f"hashhls: error: {safe(e)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("hashhls: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
