"""`hashhls export`: Export a checkpoint to ONNX (hashed custom-domain ops, or --dense)."""

from __future__ import annotations

import argparse

from ..errors import HashhlsError

NAME = "export"
HELP = "Export a checkpoint to ONNX (hashed custom-domain ops, or --dense)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    pass


def run(args: argparse.Namespace) -> int:
    raise HashhlsError("'hashhls export' is not implemented yet")
