"""``Add`` of two computed tensors of one shape (residual connections), as hls4ml's ``Merge`` (add): the exact
sum, one conversion to the result type."""

from __future__ import annotations

from ..kinds import LayerKind
from ..layer_precision import LayerPrecision
from .base import EmuLayer, HlsLayer, NodeContext, OpDef


class AddEmu(EmuLayer):
    def run(self, xs):
        (a, b), (ta, tb) = xs, self.in_types
        frac = max(ta.frac, tb.frac)
        return self.out_type.requantize_codes((a << (frac - ta.frac)) + (b << (frac - tb.frac)), frac)


class Add(OpDef):
    op_type = "Add"
    kind = LayerKind.ADD
    doc = "two computed tensors of one shape (residual); a constant bias after MatMul folds into Gemm"

    def analyse(self, ctx: NodeContext):
        if len(ctx.node.input) != 2:
            raise ctx.fail("needs two inputs")
        a, b = ctx.activation(0), ctx.activation(1)
        if a != b:
            raise ctx.fail(f"adds shapes {list(a)} and {list(b)}; only equal shapes (no broadcasting)")
        return ctx.spec(self.kind, a, n_inputs=2)

    def channels_last(self, spec) -> bool:
        return False  # elementwise: follows its inputs' layout

    def plan(self, spec, in_types, ctx):
        return LayerPrecision(None, None, ctx.choose(spec.name, "result", ctx.activations.get(spec.name)), None)

    def float_forward(self, spec, xs):
        return xs[0] + xs[1]

    def torch_module(self, spec):
        from torch import nn

        class Sum(nn.Module):
            def forward(self, a, b):
                return a + b

        return Sum()

    def emulator(self, spec, precision, in_types, attrs):
        return AddEmu(spec, in_types, precision["result"])

    def hls_layer(self, spec, p, reuse_factor):
        return HlsLayer({'class_name': 'Merge', 'op': 'add'}, {"Precision": p.as_strings()})
