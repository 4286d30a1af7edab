"""`hashhls gi`: Apply gradient inhibition to a trained checkpoint."""

from __future__ import annotations

import argparse

from ..errors import HashhlsError

NAME = "gi"
HELP = "Apply gradient inhibition to a trained checkpoint"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    pass


def run(args: argparse.Namespace) -> int:
    raise HashhlsError("'hashhls gi' is not implemented yet")
