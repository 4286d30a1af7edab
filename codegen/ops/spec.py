"""LayerSpec: one ingested node as every later stage sees it (read and validated once by its op entry)."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np

from ...frontend.hashing import HashConfig, materialise
from ..geometry import Window2D
from ..kinds import LayerKind


@dataclass(frozen=True, eq=False)
class LayerSpec:
    """What precision planning, the emulator, the hls4ml view, the manifest and the torch loader need of one node.

    Shapes are per sample (no batch dimension) in ONNX's layout (NCHW feature maps).
    """

    name: str
    kind: LayerKind
    inputs: tuple[str, ...]  #: activation tensors read (weights are in ``weight``/``bias``)
    output: str
    in_shape: tuple[int, ...]  #: shape of ``inputs[0]``
    out_shape: tuple[int, ...]
    weight: np.ndarray | None = None  #: stored weights, float64 (K for hashed, (out, in[, kh, kw]) for dense)
    bias: np.ndarray | None = None
    hash: HashConfig | None = None
    window: Window2D | None = None  #: conv and pooling geometry
    params: Any = field(default_factory=lambda: MappingProxyType({}))  #: kind-specific numbers (alpha, perm, ...)

    @property
    def n_in(self) -> int:
        """Flattened input size (features, or C*H*W)."""
        return int(np.prod(self.in_shape, dtype=np.int64))

    @property
    def n_out(self) -> int:
        return int(np.prod(self.out_shape, dtype=np.int64))

    @property
    def weighted(self) -> bool:
        """An accumulating layer (dense or convolution, hashed or not): weight, bias and accumulator types."""
        from .registry import op_for_kind

        return op_for_kind(self.kind).weighted

    @property
    def fan_in(self) -> int:
        """Products summed into one output (sizes the exact accumulator)."""
        return self.window.fan_in if self.window is not None and self.weighted else self.n_in

    @property
    def virtual_weights(self) -> int:
        """N*M: the size of the (virtual) weight tensor."""
        if not self.weighted:
            return 0
        return self.window.out_c * self.window.fan_in if self.window is not None else self.n_in * self.n_out

    @property
    def stored_weights(self) -> int:
        """K for hashed layers, N*M for dense ones."""
        return self.hash.buckets if self.hash is not None else self.virtual_weights

    def virtual_weight(self) -> np.ndarray:
        """The dense float64 weight tensor the hardware computes with: (out, in) or (out, in, kh, kw)."""
        w = np.asarray(self.weight, dtype=np.float64)
        return materialise(w, self.hash) if self.hash is not None else w
