"""``BatchNormalization`` (inference) standing alone, as hls4ml's ``BatchNormalization`` layer: ``y = x * s + b``
with ``s = gamma / sqrt(var + eps)``, ``b = beta - mean * s`` quantised to their types, the product and sum exact,
one conversion to the result type. (Ingest folds a batch norm into a preceding stock Conv/Gemm instead.)"""

from __future__ import annotations

import numpy as np

from ..kinds import LayerKind
from ..layer_precision import LayerPrecision, check_fits
from ..onnx_io import attr_float, attr_int
from .base import EmuLayer, HlsLayer, NodeContext, OpDef


def batchnorm_affine(ctx: NodeContext) -> tuple[np.ndarray, np.ndarray]:
    """Validate an inference BatchNormalization node and return its per-channel ``(scale, bias)`` (float64)."""
    node = ctx.node
    if attr_int(node, "training_mode", 0) or (ctx.opset < 7 and attr_int(node, "is_test", 0) == 0):
        raise ctx.fail("only inference-mode batch norm is supported")
    if ctx.opset < 9 and attr_int(node, "spatial", 1) != 1:
        raise ctx.fail("attribute 'spatial'=0 is unsupported")
    if any(o for o in node.output[1:]):
        raise ctx.fail("only inference-mode batch norm (one output) is supported")
    if len(node.input) != 5:
        raise ctx.fail("needs inputs (X, scale, B, mean, var)")
    gamma, beta, mean, var = (ctx.const(i, what) for i, what in enumerate(("scale", "bias", "mean", "variance"), 1))
    eps = attr_float(node, "epsilon", 1e-5)
    if not all(a.ndim == 1 and a.shape == gamma.shape for a in (beta, mean, var)) or np.any(var + eps <= 0):
        raise ctx.fail("scale, bias, mean and variance must be 1-D of one length, variance + epsilon > 0")
    s = gamma / np.sqrt(var + eps)
    return s, beta - mean * s


class BatchNormEmu(EmuLayer):
    def __init__(self, spec, precision, in_types):
        super().__init__(spec, in_types, precision["result"])
        st, bt = precision["weight"], precision["bias"]
        self.frac = max(self.in_type.frac + st.frac, bt.frac)
        shape = (-1,) + (1,) * (len(spec.in_shape) - 1)
        self.scale = st.to_codes(spec.weight).reshape(shape)
        self.shift_x = self.frac - self.in_type.frac - st.frac
        self.bias = (bt.to_codes(spec.bias) << (self.frac - bt.frac)).reshape(shape)

    def run(self, xs):
        acc = ((xs[0] * self.scale) << self.shift_x) + self.bias  # exact, as ap_fixed's product and sum
        return self.out_type.requantize_codes(acc, self.frac)


class BatchNormalization(OpDef):
    op_type = "BatchNormalization"
    kind = LayerKind.BATCHNORM
    doc = "inference; folded into a preceding Conv/Gemm, else hls4ml's BatchNormalization"

    def analyse(self, ctx: NodeContext):
        shape = ctx.activation(0)
        s, b = batchnorm_affine(ctx)
        if len(shape) not in (1, 3) or shape[0] != s.size:
            raise ctx.fail(f"{s.size} channels for input shape {list(shape)} (needs [C] or [C, H, W])")
        return ctx.spec(self.kind, shape, weight=s, bias=b)

    def channels_last(self, spec) -> bool:
        return len(spec.in_shape) == 3

    def plan(self, spec, in_types, ctx):
        s = ctx.choose(spec.name, "weight", spec.weight)
        b = ctx.choose(spec.name, "bias", spec.bias)
        res = ctx.choose(spec.name, "result", ctx.activations.get(spec.name))
        check_fits(spec.name, "weight", spec.weight, s)
        check_fits(spec.name, "bias", spec.bias, b)
        return LayerPrecision(s, b, res, None)

    def float_forward(self, spec, xs):
        shape = (-1,) + (1,) * (len(spec.in_shape) - 1)
        return xs[0] * spec.weight.reshape(shape) + spec.bias.reshape(shape)

    def torch_module(self, spec):
        import torch
        from torch import nn

        shape = (-1,) + (1,) * (len(spec.in_shape) - 1)

        class Affine(nn.Module):
            def __init__(self):
                super().__init__()
                self.register_buffer("scale", torch.from_numpy(spec.weight.astype("float32")).view(shape))
                self.register_buffer("shift", torch.from_numpy(spec.bias.astype("float32")).view(shape))

            def forward(self, x):
                return x * self.scale + self.shift

        return Affine()

    def emulator(self, spec, precision, in_types, attrs):
        return BatchNormEmu(spec, precision, in_types)

    def hls_layer(self, spec, p, reuse_factor):
        layer = {'class_name': 'BatchNormalization', 'data_format': 'channels_last', 'n_in': spec.n_in,
                 'n_filt': spec.in_shape[0] if len(spec.in_shape) == 3 else -1,
                 'scale_data': p.weight.quantize(spec.weight), 'bias_data': p.bias.quantize(spec.bias)}
        return HlsLayer(layer, {"Precision": {"scale": p.weight.cpp(), "bias": p.bias.cpp(),
                                              "result": p.result.cpp()}})
