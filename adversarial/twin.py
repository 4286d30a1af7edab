"""The fixed-point twin: a differentiable torch model whose forward pass IS the build's arithmetic.

One source of truth for the fixed-point arithmetic: each twin layer's forward runs the emulator layer's exact
integer computation (:class:`hashhls.codegen.emulator.EmuLayer`, integer codes, the per-layer weight / result /
accumulator types of the build's manifest), so the twin is bit-exact with the emulator and therefore with csim,
at any precision (default, ``--precision auto``, per-layer overrides) and hash version. Its backward pass is a
straight-through estimator per layer (Bengio et al. 2013, arXiv:1308.3432): the gradient of the layer's float
op (:data:`FLOAT_FORWARD`, the dequantised weights) at the layer's quantised input, ignoring rounding and
saturation. Gradient attacks therefore differentiate the very model that the hardware computes.

    >>> twin = FixedPointTwin.from_build("build/")            # doctest: +SKIP
    >>> x_adv = make_attack("pgd", twin, eps=0.1)(x, y)        # doctest: +SKIP

Without a build, :meth:`FixedPointTwin.from_module` makes the same twin in memory, by the steps ``hashhls build``
runs before hls4ml (export, ingest, precision plan) at the given precision (default ``ap_fixed<16,6>``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..codegen.emulator import EmuLayer, Emulator
from ..codegen.fixed import DEFAULT_PRECISION, FixedType
from ..core.errors import UnsupportedModelError

# -- the float op of each layer kind (the backward pass) ----------------------------------------------------


def _weights(layer: EmuLayer) -> tuple[torch.Tensor, torch.Tensor]:
    """Dequantised weight ``(n_out, fan_in)`` and bias of a weighted layer, float64."""
    w = torch.from_numpy(layer.weight.astype(np.float64) * 2.0 ** -layer.weight_frac)
    b = torch.from_numpy(layer.bias.astype(np.float64) * 2.0 ** -layer.accum.frac)
    return w, b


def _dense(layer: EmuLayer, x: torch.Tensor) -> torch.Tensor:
    w, b = _weights(layer)
    return x @ w.T + b


def _conv(layer: EmuLayer, x: torch.Tensor) -> torch.Tensor:
    win = layer.window
    w, b = _weights(layer)
    x = F.pad(x.view(-1, *win.in_shape), (win.pad_l, win.pad_r, win.pad_t, win.pad_b))
    y = F.conv2d(x, w.view(win.out_c, win.in_c, win.kh, win.kw), b, (win.sh, win.sw))
    return y.reshape(len(y), -1)


def _maxpool(layer: EmuLayer, x: torch.Tensor) -> torch.Tensor:
    win = layer.window
    y = F.max_pool2d(x.view(-1, *win.in_shape), (win.kh, win.kw), (win.sh, win.sw))
    return y.reshape(len(y), -1)


#: Per layer kind: a differentiable float forward ``(layer, x [N, n_in] float64) -> [N, n_out]``, on the
#: NCHW-flattened features the emulator uses. Only its gradient is used; the values come from the emulator.
FLOAT_FORWARD: dict[str, Callable[[EmuLayer, torch.Tensor], torch.Tensor]] = {
    "flatten": lambda layer, x: x,
    "relu": lambda layer, x: F.relu(x),
    "maxpool2d": _maxpool,
    "dense": _dense,
    "hashed_dense": _dense,
    "conv2d": _conv,
    "hashed_conv2d": _conv,
}


def _straight_through(float_value: torch.Tensor, codes: np.ndarray, t: FixedType) -> torch.Tensor:
    """The exact fixed-point value in the forward pass, ``float_value``'s gradient in the backward pass."""
    fixed = torch.from_numpy(codes.astype(np.float64) * t.lsb)
    return float_value + (fixed - float_value).detach()


class FixedPointTwin(nn.Module):
    """A build's exact fixed-point arithmetic as a torch module (see the module docstring).

    Args:
        emulator: the bit-exact emulator of a build (:meth:`Emulator.from_build`), or of an in-memory plan.
        build_id: the build's project hash (recorded as provenance); None for an in-memory twin.

    The forward pass returns float64 logits, bit-identical to ``emulator.predict``.
    """

    def __init__(self, emulator: Emulator | nn.Module, build_id: str | None = None, *,
                 precision: FixedType | str = DEFAULT_PRECISION) -> None:
        super().__init__()
        self._pending = None
        if isinstance(emulator, nn.Module):  # FixedPointTwin(torch_model[, precision]): built at the first call
            self._pending = (emulator, precision)
            emulator = None
        for kind in () if emulator is None else {layer.kind for layer in emulator.layers}:
            if kind not in FLOAT_FORWARD:
                raise UnsupportedModelError(f"the fixed-point twin has no float op for layer kind {kind!r}")
        self.emulator = emulator
        self.build_id = build_id

    @classmethod
    def from_build(cls, build_dir: str | Path) -> FixedPointTwin:
        """The twin of a ``hashhls build`` directory: its manifest's types and its ``model.onnx``."""
        emu = Emulator.from_build(build_dir)
        return cls(emu, emu.manifest.project_hash)

    @classmethod
    def from_module(cls, model: nn.Module, input_shape: Sequence[int],
                    precision: FixedType | str = DEFAULT_PRECISION,
                    layer_precision: Sequence[str] = ()) -> FixedPointTwin:
        """An in-memory twin of a torch model (zoo ``nn.Sequential``), planned as ``hashhls build`` would."""
        from ..codegen.project import plan_in_memory
        from ..frontend.onnx_export import export_onnx

        proto = export_onnx(model, None, input_shape=list(input_shape))
        p = precision.cpp() if isinstance(precision, FixedType) else str(precision)
        manifest, ingested = plan_in_memory(proto, precision=p, layer_precision=list(layer_precision))
        return cls(Emulator.from_model(manifest, ingested), None)

    @property
    def manifest(self):
        return None if self.emulator is None else self.emulator.manifest

    def precision(self) -> dict[str, dict[str, str]]:
        """Each layer's types, as the twin computes them."""
        return {layer.name: dict(layer.precision) for layer in self.manifest.layers}

    def _ready(self, x: torch.Tensor) -> Emulator:
        if self.emulator is None:
            model, precision = self._pending
            built = FixedPointTwin.from_module(model, tuple(x.shape[1:]), precision)
            self.emulator, self._pending = built.emulator, None
        return self.emulator

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        emu = self._ready(x)
        n = x.shape[0]
        h = x.reshape(n, -1).double()
        emu.check_input(x.detach().cpu().numpy())
        codes = emu.input_type.to_codes(h.detach().cpu().numpy())
        track = torch.is_grad_enabled() and h.requires_grad
        h = _straight_through(h, codes, emu.input_type) if track else None
        for layer in emu.layers:
            codes = layer.run(codes)
            if track:
                h = _straight_through(FLOAT_FORWARD[layer.kind](layer, h), codes, layer.out_type)
        if not track:
            return torch.from_numpy(codes.astype(np.float64) * emu.output_type.lsb)
        return h

    def extra_repr(self) -> str:
        if self.emulator is None:
            return "pending (built at the first call)"
        return ", ".join(f"{layer.name}:{layer.kind}->{layer.out_type}" for layer in self.emulator.layers)
