"""`hashhls build`: Lower a model to an hls4ml HLS project for a board, with a compiled C simulation."""

from __future__ import annotations

import argparse

from ..errors import HashhlsError

NAME = "build"
HELP = "Lower a model to an hls4ml HLS project for a board, with a compiled C simulation"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    pass


def run(args: argparse.Namespace) -> int:
    raise HashhlsError("'hashhls build' is not implemented yet")
