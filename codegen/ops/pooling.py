"""Pooling: ``MaxPool`` (exact: the max of quantised values is one of them; padding never wins), ``AveragePool``
and ``GlobalAveragePool`` (hls4ml's arithmetic: an exact sum in the accumulator type, ``/= count`` truncating
toward zero at the accumulator's fraction bits, one conversion to the result type; ``count`` is the window's
input pixels, or its full size with ``count_include_pad=1``)."""

from __future__ import annotations

import math

import numpy as np

from ...core.errors import UnsupportedModelError
from ..fixed import FixedType, Overflow, Rounding
from ..geometry import Window2D, maxpool2d, pool_counts, pool_patches, window_of
from ..kinds import LayerKind
from ..layer_precision import LayerPrecision
from ..onnx_io import attr_int
from ..layer_precision import LayerPrecision
from .base import EmuLayer, HlsLayer, NodeContext, OpDef


def window_layer(win) -> dict:
    """The channels-last geometry keys hls4ml's 2-D window layers expect."""
    return {
        'data_format': 'channels_last',
        'in_height': win.in_h, 'in_width': win.in_w, 'n_chan': win.in_c,
        'out_height': win.out_h, 'out_width': win.out_w, 'n_filt': win.out_c,
        'filt_height': win.kh, 'filt_width': win.kw, 'stride_height': win.sh, 'stride_width': win.sw,
        'pad_top': win.pad_t, 'pad_bottom': win.pad_b, 'pad_left': win.pad_l, 'pad_right': win.pad_r,
    }


def _pool_window(ctx: NodeContext) -> Window2D:
    node = ctx.node
    if attr_int(node, "ceil_mode", 0):
        raise ctx.fail("attribute 'ceil_mode'=1 is unsupported")
    if attr_int(node, "storage_order", 0):
        raise ctx.fail("attribute 'storage_order'=1 is unsupported")
    if len(node.output) > 1 and node.output[1]:
        raise ctx.fail("the Indices output is unsupported")
    return window_of(node, ctx.activation(0), pooling=True)


class _PoolingOp(OpDef):
    spatial = True

    def check_build(self, spec, io_type: str) -> None:
        w = spec.window
        if io_type == "io_stream" and (any((w.pad_t, w.pad_l, w.pad_b, w.pad_r)) or (w.kh, w.kw) != (w.sh, w.sw)):
            raise UnsupportedModelError(f"{self.op_type} node {spec.name!r}: hls4ml's io_stream pooling needs "
                                        "stride = kernel and no padding; build with --io-type io_parallel")

    def hls_config(self, p: LayerPrecision) -> dict:
        return {"Precision": p.as_strings()}


class MaxPoolEmu(EmuLayer):
    def run(self, xs):
        x = xs[0]
        y = maxpool2d(x, self.spec.window, pad_value=self.in_type.code_min)  # hls4ml pads with the most negative
        return self.out_type.requantize_codes(y, self.in_type.frac).reshape(len(x), *self.spec.out_shape)


class _TorchMaxPool:
    @staticmethod
    def make(win: Window2D):
        from torch import nn
        from torch.nn import functional as F

        class MaxPool(nn.Module):
            def forward(self, x):
                x = F.pad(x, (win.pad_l, win.pad_r, win.pad_t, win.pad_b), value=float("-inf"))
                return F.max_pool2d(x, (win.kh, win.kw), (win.sh, win.sw))

        return MaxPool()


class MaxPool(_PoolingOp):
    op_type = "MaxPool"
    kind = LayerKind.MAXPOOL2D
    doc = "2-D, strides, pads"

    def analyse(self, ctx: NodeContext):
        win = _pool_window(ctx)
        return ctx.spec(self.kind, win.out_shape, window=win)

    def float_forward(self, spec, xs):
        return maxpool2d(xs[0], spec.window).reshape(len(xs[0]), *spec.out_shape)

    def torch_module(self, spec):
        return _TorchMaxPool.make(spec.window)

    def plan(self, spec, in_types, ctx):
        # hls4ml's pool_op returns the max in the layer's accum_t, which defaults to the model's type: with a
        # wider input type (--precision auto, per-layer types) that rounded the max. The input type holds it
        # exactly, as docs/design.md "Fixed point" says max pooling is.
        p = super().plan(spec, in_types, ctx)
        return LayerPrecision(None, None, p.result, in_types[0])

    def emulator(self, spec, precision, in_types, attrs):
        return MaxPoolEmu(spec, in_types, precision["result"])

    def hls_layer(self, spec, p, reuse_factor):
        win = spec.window
        layer = window_layer(win)
        layer.update(class_name='MaxPooling2D', pool_height=win.kh, pool_width=win.kw, n_filt=win.in_c)
        return HlsLayer(layer, self.hls_config(p))


def _avg_accum(in_type: FixedType, n: int) -> FixedType:
    """Holds the sum of ``n`` values of ``in_type`` exactly, at its fraction bits (hls4ml divides in this type)."""
    integer = in_type.integer + math.ceil(math.log2(max(n, 1))) + 1
    return FixedType(integer + in_type.frac, integer, Rounding.TRN, Overflow.WRAP)


class AvgPoolEmu(EmuLayer):
    def __init__(self, spec, in_types, out_type, accum: FixedType):
        super().__init__(spec, in_types, out_type)
        if accum.frac != self.in_type.frac:
            raise UnsupportedModelError(f"layer {spec.name!r}: an average-pooling accumulator with other fraction "
                                        "bits than its input is not modelled")
        self.accum = accum
        win = spec.window
        self.count = (np.full(win.out_h * win.out_w, win.kh * win.kw) if spec.params.get("count_include_pad")
                      else pool_counts(win))

    def run(self, xs):
        x = xs[0]
        s = self.accum.overflow_codes(pool_patches(x, self.spec.window).sum(axis=-1))  # exact: [N, C, P]
        q = np.sign(s) * (np.abs(s) // self.count)  # ap_fixed's division truncates toward zero
        return self.out_type.requantize_codes(q, self.accum.frac).reshape(len(x), *self.spec.out_shape)


class AveragePool(_PoolingOp):
    op_type = "AveragePool"
    kind = LayerKind.AVGPOOL2D
    doc = "2-D, strides, pads, count_include_pad 0 or 1"

    def analyse(self, ctx: NodeContext):
        win = _pool_window(ctx)
        include = attr_int(ctx.node, "count_include_pad", 0)
        return ctx.spec(self.kind, win.out_shape, window=win, params={"count_include_pad": int(bool(include))})

    def _count(self, spec):
        w = spec.window
        return np.full(w.out_h * w.out_w, w.kh * w.kw) if spec.params.get("count_include_pad") else pool_counts(w)

    def float_forward(self, spec, xs):
        s = pool_patches(xs[0], spec.window).sum(axis=-1) / self._count(spec)
        return s.reshape(len(xs[0]), *spec.out_shape)

    def plan(self, spec, in_types, ctx):
        res = ctx.override(spec.name, "result") or in_types[0]
        return LayerPrecision(None, None, res, _avg_accum(in_types[0], spec.window.kh * spec.window.kw))

    def torch_module(self, spec):
        import torch
        from torch import nn
        from torch.nn import functional as F

        win, count = spec.window, torch.from_numpy(self._count(spec).astype("float32"))

        class AvgPool(nn.Module):
            def forward(self, x):
                x = F.pad(x, (win.pad_l, win.pad_r, win.pad_t, win.pad_b))
                s = F.avg_pool2d(x, (win.kh, win.kw), (win.sh, win.sw)) * (win.kh * win.kw)
                return s / count.to(x.dtype).view(win.out_h, win.out_w)

        return AvgPool()

    def emulator(self, spec, precision, in_types, attrs):
        return AvgPoolEmu(spec, in_types, precision["result"], precision["accum"])

    def hls_layer(self, spec, p, reuse_factor):
        win = spec.window
        layer = window_layer(win)
        layer.update(class_name='AveragePooling2D', pool_height=win.kh, pool_width=win.kw, n_filt=win.in_c,
                     count_pad=bool(spec.params.get("count_include_pad")))
        return HlsLayer(layer, self.hls_config(p))


class GlobalAveragePool(_PoolingOp):
    op_type = "GlobalAveragePool"
    kind = LayerKind.GLOBAL_AVGPOOL2D
    doc = "2-D"

    def analyse(self, ctx: NodeContext):
        shape = ctx.activation(0)
        if len(shape) != 3:
            raise ctx.fail(f"needs an NCHW feature map, got input shape {list(shape)}")
        c, h, w = shape
        win = Window2D(c, h, w, c, h, w, h, w)
        return ctx.spec(self.kind, (c, 1, 1), window=win)

    def check_build(self, spec, io_type):
        return None

    def float_forward(self, spec, xs):
        return xs[0].mean(axis=(2, 3), keepdims=True)

    def plan(self, spec, in_types, ctx):
        res = ctx.override(spec.name, "result") or in_types[0]
        return LayerPrecision(None, None, res, _avg_accum(in_types[0], spec.window.in_h * spec.window.in_w))

    def torch_module(self, spec):
        from torch import nn

        return nn.AdaptiveAvgPool2d(1)

    def emulator(self, spec, precision, in_types, attrs):
        return AvgPoolEmu(spec, in_types, precision["result"], precision["accum"])

    def hls_layer(self, spec, p, reuse_factor):
        win = spec.window
        layer = {'class_name': 'GlobalAveragePooling2D', 'data_format': 'channels_last', 'in_height': win.in_h,
                 'in_width': win.in_w, 'n_filt': win.in_c}
        return HlsLayer(layer, self.hls_config(p))
