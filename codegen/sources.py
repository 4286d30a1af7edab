"""Where a build's model comes from: an ONNX file, a hashhls checkpoint, or the bundled default."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path

import onnx

from ..core.errors import HashhlsError
from .onnx_io import load_onnx, printable

log = logging.getLogger(__name__)

CHECKPOINT_SUFFIXES = (".pt", ".pth")


@dataclass
class ModelSource:
    model: onnx.ModelProto
    label: str  #: file name, or "bundled:<name>"
    sha256: str  #: of the file the user gave (or of the exported model)


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def load_model_source(path: Path | None) -> ModelSource:
    """Load ``path`` (.onnx or checkpoint), or the bundled default model when ``path`` is None."""
    if path is None:
        from ..frontend import zoo

        try:
            ckpt = zoo.default_checkpoint()
        except HashhlsError as e:
            log.warning("%s; building an untrained default model instead", e)
            model = _fresh_default()
            return ModelSource(model, "bundled:untrained-mnist-mlp-c8", _sha(model.SerializeToString()))
        src = _from_checkpoint(ckpt)
        src.label = f"bundled:{ckpt.name}"
        return src
    path = Path(path)
    if path.suffix.lower() in CHECKPOINT_SUFFIXES:
        return _from_checkpoint(path)
    model = load_onnx(path)
    return ModelSource(model, printable(path.name), _sha(path.read_bytes()))  # the label reaches the terminal


def _from_checkpoint(path: Path) -> ModelSource:
    from ..frontend.onnx_export import export_checkpoint

    if not path.is_file():
        raise HashhlsError(f"checkpoint not found: {path}")
    digest = _sha(path.read_bytes())
    return ModelSource(export_checkpoint(path, None), printable(path.name), digest)


def _fresh_default() -> onnx.ModelProto:
    """An untrained default zoo model (only when the bundled checkpoint is missing)."""
    import torch

    from ..frontend.onnx_export import export_onnx
    from ..frontend.zoo import ModelConfig, build_model

    torch.manual_seed(0)
    cfg = ModelConfig("mnist-mlp", compression=8.0, seed=0)
    return export_onnx(build_model(cfg).eval(), None, input_shape=cfg.input_shape, config_json=cfg.to_json())
