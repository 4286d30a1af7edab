"""`hashhls attack`: Craft adversarial examples against a model."""

from __future__ import annotations

import argparse

from ..errors import HashhlsError

NAME = "attack"
HELP = "Craft adversarial examples against a model"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    pass


def run(args: argparse.Namespace) -> int:
    raise HashhlsError("'hashhls attack' is not implemented yet")
