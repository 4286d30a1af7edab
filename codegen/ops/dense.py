"""Dense layers: ``Gemm`` (as normalised by ingest: ``Y = X @ W^T + B``, W ``(out, in)``), lowered to hls4ml's
stock ``Dense``."""

from __future__ import annotations

from ..kinds import LayerKind
from ..onnx_io import attr_float, attr_int
from .accumulate import AccumulatingOp
from .base import HlsLayer, NodeContext


def flat_input(ctx: NodeContext) -> int:
    """The size of a [batch, features] input; anything else is refused."""
    shape = ctx.activation(0)
    if len(shape) != 1:
        raise ctx.fail(f"needs a flat [batch, features] input, got [batch, {', '.join(map(str, shape))}]; "
                       "add a Flatten before it")
    return shape[0]


def bias_of(ctx: NodeContext, i: int, n: int):
    """Bias input ``i`` of ``n`` values (a missing bias is zeros)."""
    import numpy as np

    if not ctx.has_input(i):
        return np.zeros(n)
    b = ctx.const(i, "bias")
    if list(b.shape) != [n]:
        raise ctx.fail(f"bias shape {list(b.shape)} != [{n}]")
    return b


class Gemm(AccumulatingOp):
    op_type = "Gemm"
    kind = LayerKind.DENSE
    doc = "any transA / transB / alpha / beta, constant weights"

    def analyse(self, ctx: NodeContext):
        node = ctx.node
        n_in = flat_input(ctx)
        canonical = (attr_int(node, "transA", 0) == 0 and attr_int(node, "transB", 0) == 1
                     and attr_float(node, "alpha", 1.0) == 1.0 and attr_float(node, "beta", 1.0) == 1.0)
        if not canonical:  # ingest's NormaliseGemm brings every Gemm to this form first
            raise ctx.fail("must be normalised (transA=0, transB=1, alpha=beta=1) before it is lowered")
        w = ctx.const(1, "weight")
        if w.ndim != 2 or w.shape[1] != n_in:
            raise ctx.fail(f"weight shape {list(w.shape)} does not match input size {n_in} (wrong input shape?)")
        b = bias_of(ctx, 2, w.shape[0])
        return ctx.spec(self.kind, [w.shape[0]], weight=w, bias=b)

    def torch_module(self, spec):
        import torch
        from torch import nn

        m = nn.Linear(spec.n_in, spec.n_out)
        with torch.no_grad():
            m.weight.copy_(torch.from_numpy(spec.weight.astype("float32")))
            m.bias.copy_(torch.from_numpy(spec.bias.astype("float32")))
        return m

    def hls_layer(self, spec, p, reuse_factor):
        w, b = self.quantised(spec, p)  # w (out, in), torch layout
        layer = {'class_name': 'Dense', 'n_in': int(w.shape[1]), 'n_out': int(w.shape[0]),
                 'weight_data': w.T,  # hls4ml's dense kernels index w[i * n_out + o]
                 'bias_data': b.reshape(-1)}
        return HlsLayer(layer, {"Precision": p.as_strings()})
