"""Shape ops: ``Flatten`` (an alias of the same values in C++)."""

from __future__ import annotations

import numpy as np

from ..kinds import LayerKind
from ..onnx_io import attr_int
from .base import EmuLayer, HlsLayer, NodeContext, OpDef


class AliasEmu(EmuLayer):
    """The same codes, reshaped: hls4ml aliases the array."""

    def run(self, xs):
        return xs[0].reshape(len(xs[0]), *self.spec.out_shape)


class Flatten(OpDef):
    op_type = "Flatten"
    kind = LayerKind.FLATTEN
    doc = "axis=1"

    def analyse(self, ctx: NodeContext):
        shape = ctx.activation(0)
        axis = attr_int(ctx.node, "axis", 1)
        if axis != 1:
            raise ctx.fail(f"attribute 'axis'={axis} is unsupported (only axis=1)")
        return ctx.spec(self.kind, [int(np.prod(shape, dtype=np.int64))])

    def float_forward(self, spec, xs):
        return xs[0].reshape(len(xs[0]), -1)

    def torch_module(self, spec):
        from torch import nn

        return nn.Flatten()

    def emulator(self, spec, precision, in_types, attrs):
        return AliasEmu(spec, in_types, in_types[0])

    def hls_layer(self, spec, p, reuse_factor):
        return HlsLayer({"class_name": "Reshape", "target_shape": [-1]}, {"Precision": p.as_strings()})
