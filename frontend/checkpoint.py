"""Checkpoints: a tagged dict of plain data, written atomically, read with ``weights_only=True``.

Format (``docs/design.md``)::

    {"format": "hashhls-checkpoint", "version": 1,
     "config": ModelConfig.to_json(), "metrics": <JSON str>, "state_dict": {...}}

Only tensors, strings, numbers, lists and dicts are stored, so torch's
``weights_only`` unpickler loads it and refuses anything else (a pickle that
would run code is rejected before any of it runs).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from ..core.atomic import atomic_file
from ..core.errors import HashhlsError, InvalidFileError, UnsupportedModelError
from .hashing import HASH_VERSIONS
from .zoo import ModelConfig, build_model

FORMAT = "hashhls-checkpoint"
VERSION = 1


def save_checkpoint(path: str | os.PathLike, model, cfg: ModelConfig, metrics: dict | None = None) -> Path:
    """Write ``model``'s state and ``cfg`` to ``path`` atomically.

    Args:
        path: output file (its directory must exist).
        model: a model built by ``build_model(cfg)`` (possibly trained).
        cfg: its config.
        metrics: JSON-serialisable training record (accuracy, epochs, ...).

    Returns:
        ``path`` as a Path.
    """
    import torch

    try:
        metrics_json = json.dumps(metrics or {}, sort_keys=True)
    except (TypeError, ValueError) as e:
        raise HashhlsError(f"checkpoint metrics are not JSON-serialisable: {e}") from None
    state = {k: (v.detach().cpu().clone() if isinstance(v, torch.Tensor) else v)
             for k, v in model.state_dict().items()}
    payload = {"format": FORMAT, "version": VERSION, "config": cfg.to_json(), "metrics": metrics_json,
               "state_dict": state}
    path = Path(path)
    with atomic_file(path) as tmp:
        torch.save(payload, tmp)
    return path


def read_checkpoint(path: str | os.PathLike) -> dict:
    """Load and validate the raw checkpoint dict (``weights_only=True``)."""
    import pickle

    import torch

    path = Path(path)
    if path.is_dir():
        raise InvalidFileError(f"{path} is a directory, expected a hashhls checkpoint (.pt)")
    if not path.is_file():
        raise InvalidFileError(f"checkpoint not found: {path}")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        # torch's message is several paragraphs; keep the line naming the refused global.
        first = next((ln.strip() for ln in str(e).splitlines() if "GLOBAL" in ln), "")
        if first:
            raise InvalidFileError(f"checkpoint {path} contains objects other than tensors and plain data and was "
                               f"refused (weights_only load): {first}") from None
        # Skip torch's advice to retry with weights_only=False: never do that with an untrusted file.
        msg = next((ln.strip() for ln in str(e).splitlines()
                    if ln.strip() and not ln.startswith(("Weights only load failed", "Please file", "Check the"))),
                   "unreadable pickle")
        raise InvalidFileError(f"checkpoint {path} is corrupted or not a torch file: {msg}") from None
    except Exception as e:  # noqa: BLE001 - a damaged pickle can fail in many ways (KeyError, IndexError, ...)
        msg = str(e).splitlines()[0].split(". ")[0] if str(e).strip() else type(e).__name__
        raise InvalidFileError(f"checkpoint {path} is corrupted or not a torch file: {msg}") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise InvalidFileError(f"{path} is not a hashhls checkpoint (format tag {FORMAT!r} missing)")
    if payload.get("version") != VERSION:
        raise InvalidFileError(f"checkpoint {path} has version {payload.get('version')!r:.40}, this hashhls reads "
                               f"{VERSION}")
    for key, kind in (("config", str), ("state_dict", dict)):
        if not isinstance(payload.get(key), kind):
            raise InvalidFileError(f"checkpoint {path} has no valid {key!r} entry")
    return payload


def load_checkpoint(path: str | os.PathLike):
    """Rebuild the model saved by :func:`save_checkpoint`.

    Returns:
        ``(model, cfg)`` with the model in eval mode.

    Raises:
        HashhlsError: missing/corrupted file, wrong format tag, a pickle with
            arbitrary objects, or a state that does not match the config.
    """
    payload = read_checkpoint(path)
    _check_hash_versions(path, payload["state_dict"])
    cfg = ModelConfig.from_json(payload["config"])
    model = build_model(cfg)
    try:
        model.load_state_dict(payload["state_dict"], strict=True)
    except (RuntimeError, ValueError, KeyError, TypeError) as e:
        msg = " ".join(str(e).split())
        raise InvalidFileError(f"checkpoint {path} does not match its config {cfg.name}: {msg[:300]}") from None
    model.eval()
    return model, cfg


def _check_hash_versions(path, state: dict) -> None:
    """Refuse a hashed layer whose state names a hash version this hashhls does not implement."""
    for key, value in state.items():
        if key.endswith("_extra_state") and isinstance(value, dict) and "version" in value:
            if value["version"] not in HASH_VERSIONS or isinstance(value["version"], bool):
                layer = key[: -len("._extra_state")] or key
                raise UnsupportedModelError(f"checkpoint {path}: layer {layer!r} uses hash version "
                                            f"{value['version']!r}, this hashhls implements "
                                            f"{', '.join(map(str, HASH_VERSIONS))} (docs/hash-spec.md)")


def checkpoint_metrics(path: str | os.PathLike) -> dict:
    """The metrics dict stored in a checkpoint (empty if none)."""
    try:
        return json.loads(read_checkpoint(path).get("metrics") or "{}")
    except json.JSONDecodeError:
        return {}
