"""Activations: ``Relu`` (exact on quantised values)."""

from __future__ import annotations

import numpy as np

from ..kinds import LayerKind
from .base import EmuLayer, HlsLayer, NodeContext, OpDef


class ReluEmu(EmuLayer):
    """``max(x, 0)`` converted to the result type."""

    def run(self, xs):
        return self.out_type.requantize_codes(np.maximum(xs[0], 0), self.in_type.frac)


class Relu(OpDef):
    op_type = "Relu"
    kind = LayerKind.RELU
    doc = "exact"

    def analyse(self, ctx: NodeContext):
        return ctx.spec(self.kind, ctx.activation(0))

    def float_forward(self, spec, xs):
        return np.maximum(xs[0], 0.0)

    def torch_module(self, spec):
        from torch import nn

        return nn.ReLU()

    def emulator(self, spec, precision, in_types, attrs):
        return ReluEmu(spec, in_types, precision["result"])

    def hls_layer(self, spec, p, reuse_factor):
        return HlsLayer({"class_name": "Activation", "activation": "ReLU"}, {"Precision": p.as_strings()})
