"""`hashhls csim`: Run inputs through a build's compiled C simulation."""

from __future__ import annotations

import argparse

from ..errors import HashhlsError

NAME = "csim"
HELP = "Run inputs through a build's compiled C simulation"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    pass


def run(args: argparse.Namespace) -> int:
    raise HashhlsError("'hashhls csim' is not implemented yet")
