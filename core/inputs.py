"""Input-file checks: a one-line error naming the file and what was expected, before any work.

The output side is :mod:`hashhls.core.atomic` (``check_output_file`` / ``check_output_dir``).
"""

from __future__ import annotations

import os
from pathlib import Path

from .errors import InvalidFileError, UsageError

#: What a file's suffix says it is (for the message when it is not what a command wants).
KINDS = {".onnx": "an ONNX file", ".npy": "a NumPy array (.npy)", ".npz": "a NumPy archive (.npz)",
         ".pt": "a checkpoint", ".pth": "a checkpoint", ".json": "a JSON file", ".toml": "a TOML file"}
#: The file that marks a build directory (codegen.manifest.MANIFEST_NAME; kept here so that no codegen import
#: is needed to check an argument).
BUILD_MARKER = "hashhls-build.json"
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


def describe(path: Path) -> str:
    """What ``path`` is, for a message saying it is not what was expected."""
    if path.is_dir():
        if (path / BUILD_MARKER).is_file():
            return "a build directory"
        return "a replay report directory" if (path / "report.json").is_file() else "a directory"
    if not os.path.lexists(path):
        return "missing"
    if not path.is_file():
        return "not a regular file"
    return KINDS.get(path.suffix.lower(), f"a {path.suffix or 'suffix-less'} file")


def check_input_file(path: str | os.PathLike, suffixes: tuple[str, ...], expected: str, what: str = "") -> Path:
    """``path`` must be an existing regular file whose suffix is one of ``suffixes`` (``expected`` names the
    kind in the message, e.g. "an adversarial file (.npz from 'hashhls attack')")."""
    path = Path(path)
    label = f"{what} " if what else ""
    if path.is_dir() or (path.exists() and not path.is_file()):
        raise InvalidFileError(f"{label}{path} is {describe(path)}, expected {expected}")
    if suffixes and path.suffix.lower() not in suffixes:
        if path.exists():
            raise InvalidFileError(f"{label}{path} is {describe(path)}, expected {expected}")
        raise InvalidFileError(f"{label}{path} not found (and its name says it is not {expected})")
    if not path.is_file():
        raise InvalidFileError(f"{label}{path} not found (expected {expected})")
    return path


def check_model_file(path: str | os.PathLike) -> Path:
    """A model a command builds from: an ONNX file or a hashhls checkpoint."""
    return check_input_file(path, (".onnx", *CHECKPOINT), "an ONNX file (.onnx) or a hashhls checkpoint (.pt)",
                            "model")


def check_npz(path: str | os.PathLike) -> Path:
    return check_input_file(path, (".npz",), "an adversarial file (.npz from 'hashhls attack')")


def check_npy(path: str | os.PathLike, what: str = "input") -> Path:
    return check_input_file(path, (".npy",), "a NumPy array file (.npy)", what)


def check_build_dir(path: str | os.PathLike) -> Path:
    """``path`` must be a build directory (its manifest is validated when it is read)."""
    path = Path(path)
    if path.is_dir() and (path / BUILD_MARKER).is_file():
        return path
    if not os.path.lexists(path):
        raise InvalidFileError(f"build directory not found: {path}")
    if path.is_dir() and describe(path) == "a directory":
        raise InvalidFileError(f"{path} is not a hashhls build directory (no {BUILD_MARKER}): expected a build "
                               "directory from 'hashhls build'")
    raise InvalidFileError(f"{path} is {describe(path)}, expected a build directory (from 'hashhls build', "
                           f"holding {BUILD_MARKER})")


def check_data_dir(path: str | os.PathLike | None) -> Path | None:
    """A dataset directory given with ``--data`` (None: the bundled one)."""
    if path is None:
        return None
    path = Path(path)
    if os.path.lexists(path) and not path.is_dir():  # a missing one: the dataset loader names what it looked for
        raise InvalidFileError(f"--data {path} is {describe(path)}, expected a dataset directory")
    return path


def check_positive(**values: int | None) -> None:
    """Count options (``-n``, ``--steps`` ...) must be >= 1 when given: a one-line error before any work."""
    for name, v in values.items():
        if v is not None and v < 1:
            raise UsageError(f"--{name.replace('_', '-')} must be >= 1, got {v}" if len(name) > 1 else
                             f"-{name} must be >= 1, got {v}")
