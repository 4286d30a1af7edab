"""`hashhls replay`: Replay clean and adversarial inputs through float, ONNX Runtime, emulator and csim; write a report."""

from __future__ import annotations

import argparse

from ..errors import HashhlsError

NAME = "replay"
HELP = "Replay clean and adversarial inputs through float, ONNX Runtime, emulator and csim; write a report"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    pass


def run(args: argparse.Namespace) -> int:
    raise HashhlsError("'hashhls replay' is not implemented yet")
