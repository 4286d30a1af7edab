"""`hashhls train`: Train a zoo model (hashed or dense) on MNIST or CIFAR-10."""

from __future__ import annotations

import argparse

from ..errors import HashhlsError

NAME = "train"
HELP = "Train a zoo model (hashed or dense) on MNIST or CIFAR-10"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    pass


def run(args: argparse.Namespace) -> int:
    raise HashhlsError("'hashhls train' is not implemented yet")
