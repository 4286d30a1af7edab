"""Write outputs so that a failure never leaves a half-written file or directory."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from .errors import HashhlsError, UsageError


@contextlib.contextmanager
def atomic_file(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; move it into place only on success."""
    path = Path(path)
    if path.is_dir():  # never a file in place of a directory
        raise UsageError(f"output {path} is a directory, expected a file name")
    if path.parent and not path.parent.exists():
        raise HashhlsError(f"output directory does not exist: {path.parent}")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp)
    try:
        yield tmp
        # mkstemp creates the file owner-only; give it the permissions a plain open() would.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_dir(path: str | os.PathLike, force: bool = False) -> Iterator[Path]:
    """Yield a temporary directory beside ``path``; replace ``path`` with it only on success.

    Refuses an existing ``path`` unless ``force``.
    """
    path = Path(path).resolve()
    if path.exists() and not path.is_dir():  # even with --force: never a directory in place of a file
        raise UsageError(f"output {path} is a file, expected a directory (--force replaces a directory only)")
    if path.exists() and not force:
        raise HashhlsError(f"output directory exists: {path} (use --force to replace it)")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent))
    try:
        yield tmp
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o777 & ~umask)
        if path.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".old", dir=path.parent))
            os.replace(path, old / "x")
            os.replace(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def check_output_file(path: str | os.PathLike, force: bool = False, what: str = "output") -> Path:
    """Fail before any work unless ``path`` may be written as a file.

    Its directory must exist, it must not be a directory, and it must not exist
    unless ``force`` (the project's one overwrite policy: nothing is replaced
    without ``--force``, and ``--force`` never replaces a directory with a file).
    """
    path = Path(path)
    if path.is_dir() or str(path).endswith(os.sep):
        raise UsageError(f"{what} {path} is a directory, expected a file name")
    if not path.parent.is_dir():
        raise UsageError(f"{what} directory does not exist: {path.parent}")
    if path.exists() and not force:
        raise UsageError(f"{what} file exists: {path} (use --force to replace it)")
    return path


def check_output_dir(path: str | os.PathLike, force: bool = False, what: str = "output") -> Path:
    """Fail before any work unless ``path`` may be written as a directory (see :func:`check_output_file`)."""
    path = Path(path)
    if os.path.lexists(path) and not path.is_dir():
        raise UsageError(f"{what} {path} is a file, expected a directory (--force replaces a directory only)")
    check_creatable(path, what)
    if path.exists() and not force:
        raise UsageError(f"{what} directory exists: {path} (use --force to replace it)")
    return path


def check_creatable(path: str | os.PathLike, what: str = "output") -> None:
    """A missing directory ``path`` can be created: its nearest existing ancestor is a directory."""
    path = Path(path)
    existing = next((p for p in Path(os.path.abspath(path)).parents if os.path.lexists(p)), None)
    if not os.path.lexists(path) and existing is not None and not existing.is_dir():
        raise UsageError(f"{what} {path}: {existing} is a file, so the directory cannot be created")
