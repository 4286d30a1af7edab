"""Shape ops: ``Flatten`` (an alias of the same values in C++), the layout ``Transpose`` of channels-last
exporters, and the entries of ops ingest rewrites away (``Reshape`` that flattens, ``Identity``, ...)."""

from __future__ import annotations

import numpy as np

from ..kinds import LayerKind
from ..onnx_io import attr_int, attr_ints
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


#: The two transposes channels-last (Keras-style) exporters put around convolutions: NHWC -> NCHW and back.
TO_NCHW, TO_NHWC = (0, 3, 1, 2), (0, 2, 3, 1)


class TransposeEmu(EmuLayer):
    def run(self, xs):
        return np.transpose(xs[0], (0, *(p for p in self.spec.params["perm"][1:])))


class Transpose(OpDef):
    op_type = "Transpose"
    kind = LayerKind.TRANSPOSE
    doc = "between NHWC and NCHW feature maps (channels-last exporters); free in the channels-last C++"

    def analyse(self, ctx: NodeContext):
        shape = ctx.activation(0)
        perm = tuple(attr_ints(ctx.node, "perm", list(range(len(shape), -1, -1))))
        if len(shape) != 3 or perm not in (TO_NCHW, TO_NHWC):
            raise ctx.fail(f"perm {list(perm)} on shape [batch, {', '.join(map(str, shape))}] is unsupported: only "
                           "NHWC <-> NCHW of a feature map ([0, 3, 1, 2] or [0, 2, 3, 1])")
        return ctx.spec(self.kind, [shape[p - 1] for p in perm[1:]], params={"perm": perm})

    def channels_last(self, spec) -> bool:
        return True  # it only exists between channels-last and channels-first feature maps

    def float_forward(self, spec, xs):
        return np.transpose(xs[0], spec.params["perm"])

    def torch_module(self, spec):
        from torch import nn

        perm = spec.params["perm"]

        class Permute(nn.Module):
            def forward(self, x):
                return x.permute(*perm)

        return Permute()

    def emulator(self, spec, precision, in_types, attrs):
        return TransposeEmu(spec, in_types, in_types[0])

    def manifest_attrs(self, spec):
        return {"perm": list(spec.params["perm"])}

    def hls_layer(self, spec, p, reuse_factor):  # never called: the view aliases it (see hls.handlers)
        raise NotImplementedError


class RewrittenOp(OpDef):
    """An op ingest rewrites into others (or removes); it never reaches the later stages."""

    def __init__(self, op_type: str, rewritten_by: str, doc: str):
        self.op_type, self.rewritten_by, self.doc = op_type, rewritten_by, doc
