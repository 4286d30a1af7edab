"""Convolutions: ``Conv`` (2-D, NCHW, constant weights), lowered to hls4ml's stock channels-last ``Conv2D``."""

from __future__ import annotations

from ..geometry import window_of
from ..kinds import LayerKind
from .accumulate import AccumulatingOp
from .base import HlsLayer, NodeContext
from .dense import bias_of
from .pooling import window_layer


def padded(conv, win):
    """A torch module applying ``conv`` (padding 0) after ONNX's (possibly asymmetric) zero padding."""
    from torch import nn

    if (win.pad_t, win.pad_l) == (win.pad_b, win.pad_r):
        conv.padding = (win.pad_t, win.pad_l)
        return conv
    return nn.Sequential(nn.ZeroPad2d((win.pad_l, win.pad_r, win.pad_t, win.pad_b)), conv)


class Conv(AccumulatingOp):
    op_type = "Conv"
    kind = LayerKind.CONV2D
    spatial = True
    doc = "2-D, strides, explicit pads, constant weights"

    def analyse(self, ctx: NodeContext):
        w = ctx.const(1, "weight")
        out_c = int(w.shape[0]) if w.ndim == 4 else 0
        win = window_of(ctx.node, ctx.activation(0), out_c)
        if list(w.shape) != [win.out_c, win.in_c, win.kh, win.kw]:
            raise ctx.fail(f"weight shape {list(w.shape)} does not match input channels {win.in_c} and kernel "
                           f"{win.kh}x{win.kw} (wrong input shape?)")
        b = bias_of(ctx, 2, win.out_c)
        return ctx.spec(self.kind, win.out_shape, weight=w, bias=b, window=win)

    def torch_module(self, spec):
        import torch
        from torch import nn

        win = spec.window
        m = nn.Conv2d(win.in_c, win.out_c, (win.kh, win.kw), (win.sh, win.sw))
        with torch.no_grad():
            m.weight.copy_(torch.from_numpy(spec.weight.astype("float32")))
            m.bias.copy_(torch.from_numpy(spec.bias.astype("float32")))
        return padded(m, win)

    def hls_layer(self, spec, p, reuse_factor):
        w, b = self.quantised(spec, p)  # (out, in, kh, kw), torch/ONNX layout
        layer = {**window_layer(spec.window), 'class_name': 'Conv2D',
                 'weight_data': w.transpose(2, 3, 1, 0),  # hls4ml's (kh, kw, in, out)
                 'bias_data': b.reshape(-1)}
        return HlsLayer(layer, {"Precision": p.as_strings(), "ReuseFactor": int(reuse_factor)})

    def reuse_factor(self, spec, given):
        """hls4ml's stock conv kernels require reuse factor <= C*kh*kw."""
        return min(int(given), spec.fan_in)
