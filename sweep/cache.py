"""The content-addressed stage cache: ``RESULTS/cache/<stage>/<key>/`` with a completion record.

A stage's key is the sha256 of the canonical JSON of its config, its upstream stages' keys and the hashhls
version (:func:`stage_key`). A stage is computed in a temporary directory beside its entry and moved into
place in one rename, after its completion record (``complete.json``: key, config, timings and the sha256 of
every output file) was written inside it. An entry counts as finished only if that record exists and every
file it lists still has its hash (:func:`verify`); anything else (a half-written directory from a crash, a
corrupted or edited file) is moved aside and recomputed, never trusted.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

from ..core.digest import file_sha256
from ..core.version import __version__

RECORD = "complete.json"
CACHE_DIR = "cache"


def canonical_json(obj) -> str:
    """Sorted keys, no spaces, no NaN: the same bytes for the same config on every machine."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=False)


def stage_key(kind: str, config: dict, deps: list[str]) -> str:
    """sha256 over the stage kind, its config, its upstream keys (in order) and the hashhls version."""
    payload = canonical_json({"stage": kind, "config": config, "deps": deps, "hashhls": __version__})
    return hashlib.sha256(payload.encode()).hexdigest()



def tree_hashes(root: Path) -> dict[str, str]:
    """sha256 of every regular file under ``root`` (the record excluded), keyed by its relative path."""
    out = {}
    for p in sorted(root.rglob("*")):
        if p.is_file() and not p.is_symlink() and p.name != RECORD:
            out[p.relative_to(root).as_posix()] = file_sha256(p)
    return out


def entry_dir(results: Path, kind: str, key: str) -> Path:
    return Path(results) / CACHE_DIR / kind / key


def read_record(entry: Path) -> dict | None:
    try:
        return json.loads((entry / RECORD).read_text())
    except (OSError, ValueError):
        return None


def verify(entry: Path, key: str) -> dict | None:
    """The completion record if ``entry`` is complete and every output file has its recorded hash, else None."""
    rec = read_record(entry)
    if rec is None or rec.get("key") != key or not isinstance(rec.get("files"), dict):
        return None
    try:
        if tree_hashes(entry) != rec["files"]:
            return None
    except OSError:
        return None
    return rec


def discard(entry: Path) -> None:
    """Move a stale or corrupted entry aside (kept under ``.corrupt-*`` for a post-mortem) so it is recomputed."""
    if entry.exists():
        aside = entry.parent / f".corrupt-{entry.name}-{time.time_ns()}"
        os.replace(entry, aside)


class StageWriter:
    """A temporary directory for one stage's outputs, committed to its cache entry in one rename."""

    def __init__(self, results: Path, kind: str, key: str) -> None:
        self.entry = entry_dir(results, kind, key)
        self.entry.parent.mkdir(parents=True, exist_ok=True)
        self.key = key
        self.tmp = Path(tempfile.mkdtemp(prefix=f".{key[:16]}.", suffix=".part", dir=self.entry.parent))

    def commit(self, record: dict) -> dict:
        record = {**record, "key": self.key, "files": tree_hashes(self.tmp)}
        (self.tmp / RECORD).write_text(json.dumps(record, indent=1, sort_keys=True, allow_nan=False))
        os.chmod(self.tmp, 0o755)
        try:
            os.replace(self.tmp, self.entry)
        except OSError:
            # Another worker (or a concurrent sweep) committed the same key first: keep the verified one.
            if verify(self.entry, self.key) is None:
                discard(self.entry)
                os.replace(self.tmp, self.entry)
        return record

    def abort(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)
