"""The fixed-point twin: a differentiable torch model whose forward pass IS the build's arithmetic.

One source of truth for the fixed-point arithmetic: the forward pass runs the emulator's layers exactly
(:meth:`hashhls.codegen.emulator.Emulator.trace_codes`: integer codes through the build's graph, the per-layer
weight / result / accumulator types of its manifest), so the twin is bit-exact with the emulator and therefore
with csim, at any precision (default, ``--precision auto``, per-layer overrides) and hash version. One source of
truth for the float op too: the backward pass is a straight-through estimator per layer (Bengio et al. 2013,
arXiv:1308.3432), the gradient of the layer's differentiable float op (its op table entry's ``torch_module``
hook, :mod:`hashhls.codegen.ops`, holding the weights and biases quantised to the layer's types) at the layer's
quantised inputs, ignoring rounding and saturation. Every layer kind the op table supports is therefore
supported by the twin, and gradient attacks differentiate the very model that the hardware computes.

    >>> twin = FixedPointTwin.from_build("build/")            # doctest: +SKIP
    >>> x_adv = make_attack("pgd", twin, eps=0.1)(x, y)        # doctest: +SKIP

Without a build, :meth:`FixedPointTwin.from_module` makes the same twin in memory, by the steps ``hashhls build``
runs before hls4ml (export, ingest, precision plan) at the given precision (default ``ap_fixed<16,6>``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..codegen.emulator import Emulator
from ..codegen.fixed import DEFAULT_PRECISION, FixedType
from ..codegen.manifest import LayerInfo
from ..codegen.ops.base import EmuLayer
from ..codegen.ops.registry import op_for_kind
from ..core.errors import UnsupportedModelError


def float_module(layer: EmuLayer, info: LayerInfo) -> nn.Module:
    """The layer's differentiable float op (its op table entry's ``torch_module``), float64, frozen, on the
    weights and biases the hardware holds (quantised to the manifest's types as the emulator quantises them)."""
    spec = layer.spec
    quantised = {}
    for tensor in ("weight", "bias"):
        values = getattr(spec, tensor)
        if values is not None and tensor in info.precision:
            t = FixedType.parse(info.precision[tensor])
            quantised[tensor] = t.quantize(np.asarray(values, dtype=np.float32).astype(np.float64))
    try:
        module = op_for_kind(spec.kind).torch_module(dataclasses.replace(spec, **quantised))
    except NotImplementedError:
        raise UnsupportedModelError(f"the fixed-point twin has no float op for layer kind {spec.kind!r} (its op "
                                    "table entry has no torch_module)") from None
    return module.double().eval().requires_grad_(False)


def _straight_through(float_value: torch.Tensor, codes: np.ndarray, t: FixedType) -> torch.Tensor:
    """The exact fixed-point value in the forward pass, ``float_value``'s gradient in the backward pass."""
    fixed = torch.from_numpy(codes.astype(np.float64) * t.lsb).reshape(float_value.shape)
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
        self.emulator = None
        self._float_ops: list[nn.Module] = []  # a plain list: frozen, not parameters of the twin
        if emulator is not None:
            self._set_emulator(emulator)
        self.build_id = build_id

    def _set_emulator(self, emulator: Emulator) -> None:
        infos = {info.name: info for info in emulator.manifest.layers}
        self._float_ops = [float_module(layer, infos[layer.name]) for layer in emulator.layers]
        self.emulator = emulator

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
            self._set_emulator(built.emulator)
            self._pending = None
        return self.emulator

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        emu = self._ready(x)
        n = x.shape[0]
        codes = emu.input_type.to_codes(emu.check_input(x.detach().cpu().numpy()).astype(np.float64))
        track = torch.is_grad_enabled() and x.requires_grad
        if not track:
            return torch.from_numpy(emu.run_codes(codes).astype(np.float64) * emu.output_type.lsb)
        # the float graph beside the integer one: each tensor is the exact fixed-point value, carrying the
        # float op's gradient
        h = {emu.input_name: _straight_through(x.double().reshape(n, *emu.input_shape), codes, emu.input_type)}
        out = h[emu.input_name]
        for (layer, _inputs, codes_out), op in zip(emu.trace_codes(codes), self._float_ops):
            out = _straight_through(op(*(h[t] for t in layer.inputs)), codes_out, layer.out_type)
            h[layer.output] = out
        return out.reshape(n, -1)

    def extra_repr(self) -> str:
        if self.emulator is None:
            return "pending (built at the first call)"
        return ", ".join(f"{layer.name}:{layer.kind}->{layer.out_type}" for layer in self.emulator.layers)
