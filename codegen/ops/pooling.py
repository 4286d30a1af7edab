"""Pooling: ``MaxPool`` (exact: the max of quantised values is one of them)."""

from __future__ import annotations

from ..geometry import maxpool2d, window_of
from ..kinds import LayerKind
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


class MaxPoolEmu(EmuLayer):
    def run(self, xs):
        x = xs[0]
        y = maxpool2d(x, self.spec.window)
        return self.out_type.requantize_codes(y, self.in_type.frac).reshape(len(x), *self.spec.out_shape)


class MaxPool(OpDef):
    op_type = "MaxPool"
    kind = LayerKind.MAXPOOL2D
    spatial = True
    doc = "2-D, no padding"

    def analyse(self, ctx: NodeContext):
        node = ctx.node
        if attr_int(node, "ceil_mode", 0):
            raise ctx.fail("attribute 'ceil_mode'=1 is unsupported")
        if attr_int(node, "storage_order", 0):
            raise ctx.fail("attribute 'storage_order'=1 is unsupported")
        if len(node.output) > 1 and node.output[1]:
            raise ctx.fail("the Indices output is unsupported")
        win = window_of(node, ctx.activation(0), pooling=True)
        if any((win.pad_t, win.pad_l, win.pad_b, win.pad_r)):
            raise ctx.fail(f"attribute 'pads'={[win.pad_t, win.pad_l, win.pad_b, win.pad_r]} is unsupported for "
                           "MaxPool (only 0)")
        return ctx.spec(self.kind, win.out_shape, window=win)

    def float_forward(self, spec, xs):
        return maxpool2d(xs[0], spec.window).reshape(len(xs[0]), *spec.out_shape)

    def torch_module(self, spec):
        from torch import nn

        w = spec.window
        return nn.MaxPool2d((w.kh, w.kw), (w.sh, w.sw))

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
        return HlsLayer(layer, {"Precision": p.as_strings()})
