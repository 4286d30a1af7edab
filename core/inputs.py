"""Input-file checks: a one-line error naming the file and what was expected, before any work.

The output side is :mod:`hashhls.core.atomic` (``check_output_file`` / ``check_output_dir``).
"""

from __future__ import annotations

import os
from pathlib import Path

from .errors import InvalidFileError

#: What a file's suffix says it is (for the message when it is not what a command wants).
KINDS = {".onnx": "an ONNX file", ".npy": "a NumPy array (.npy)", ".npz": "a NumPy archive (.npz)",
         ".pt": "a checkpoint", ".pth": "a checkpoint", ".json": "a JSON file"}
CHECKPOINT = (".pt", ".pth")


def check_checkpoint(path: str | os.PathLike, hint: str = "") -> Path:
    """``path`` must be an existing hashhls checkpoint (``.pt`` / ``.pth``); ``hint`` is added to the message."""
    path = Path(path)
    suffix = path.suffix.lower()
    extra = f"; {hint}" if hint else ""
    if path.is_dir():
        kind = "a build directory" if (path / "hashhls-build.json").exists() else "a directory"
        raise InvalidFileError(f"{path} is {kind}, expected a hashhls checkpoint (.pt){extra}")
    if suffix not in CHECKPOINT:
        kind = KINDS.get(suffix, f"a {suffix or 'suffix-less'} file")
        raise InvalidFileError(f"{path} is {kind}, expected a hashhls checkpoint (.pt){extra}")
    if not path.is_file():
        raise InvalidFileError(f"checkpoint not found: {path}")
    return path
