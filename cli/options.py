"""Options every command that writes or computes shares: one overwrite policy, one thread setting.

* ``-o/--output`` plus ``--force``: an existing output is refused unless ``--force``, and ``--force`` never
  replaces a file with a directory or the reverse (:func:`hashhls.core.atomic.check_output_file` /
  ``check_output_dir``), checked before any work.
* ``--threads N``: torch's intra-op threads. The CLI sets ``OMP_WAIT_POLICY=PASSIVE`` unless the user set it
  (``hashhls.cli.main``), so waiting threads sleep instead of spinning on a shared machine.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def add_output(parser: argparse.ArgumentParser, metavar: str, help: str, required: bool = True) -> None:
    parser.add_argument("-o", "--output", required=required, type=Path, metavar=metavar, help=help)
    parser.add_argument("--force", action="store_true", help="replace an existing output")


def output_file(args: argparse.Namespace, suffixes: tuple[str, ...] = ()) -> Path:
    """The checked ``-o`` file (UsageError before any work if it may not be written)."""
    from ..core.atomic import check_output_file
    from ..core.errors import UsageError

    out = check_output_file(args.output, force=args.force)
    if suffixes and out.suffix.lower() not in suffixes:
        raise UsageError(f"output {out} must end in {' or '.join(suffixes)}")
    return out


def add_threads(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--threads", type=int, metavar="N",
                        help="torch threads (default: torch's, one per core); 1 is fastest on a busy machine")


def apply_threads(args: argparse.Namespace) -> None:
    from ..core.errors import UsageError

    if args.threads is None:
        return
    if args.threads < 1:
        raise UsageError(f"--threads must be >= 1, got {args.threads}")
    import torch

    torch.set_num_threads(int(args.threads))


def add_allow_modified_weights(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--allow-modified-weights", action="store_true",
                        help="simulate a build whose weight files (hls/firmware/weights/) differ from the sha256 "
                             "its manifest recorded, for experiments that edit them on purpose (their format is "
                             "still checked); without it an edited or corrupted file is an error")
