"""The hashed ops of the ``hashhls`` domain: ``HashedLinear`` and ``HashedConv2d`` (docs/design.md "ONNX format"),
lowered to hashhls's own ``HashedDense`` / ``HashedConv2D`` hls4ml layers (``templates/nnet_hashed.h``).

Their arithmetic is a dense layer's / convolution's over the virtual weights
``sign(f) * w[bucket(f)]``; :func:`hash_config` is the one place that reads a
node's hash parameters.
"""

from __future__ import annotations

import numpy as np

from ...frontend.hashing import HashConfig
from ..geometry import window_of
from ..kinds import LayerKind
from ..onnx_io import HASHHLS_DOMAIN, attr_int
from .accumulate import AccumulatingOp
from .base import HlsLayer, NodeContext
from .conv import padded
from .dense import bias_of, flat_input
from .pooling import window_layer


def hash_config(ctx: NodeContext, virtual_shape: tuple[int, ...], weight: np.ndarray) -> HashConfig:
    """The hash of a hashed node: its seed attribute, the virtual shape and K = len(W)."""
    seed = attr_int(ctx.node, "seed")
    if seed is None:
        raise ctx.fail("needs an int attribute 'seed'")
    if weight.ndim != 1:
        raise ctx.fail(f"weight must be the 1-D array of K bucket weights, got shape {list(weight.shape)}")
    try:
        return HashConfig(tuple(virtual_shape), seed, int(weight.size))
    except ValueError as e:
        raise ctx.fail(str(e)) from None


def _required_int(ctx: NodeContext, name: str) -> int:
    value = attr_int(ctx.node, name)
    if value is None or value < 1:
        raise ctx.fail(f"needs a positive int attribute {name!r}")
    return value


def _hashed_layer(spec, p) -> dict:
    w, b = p.weight.quantize(spec.weight), p.bias.quantize(spec.bias)
    return {'seed': int(spec.hash.seed), 'n_buckets': int(w.size), 'weight_data': w.reshape(-1),
            'bias_data': b.reshape(-1)}


class HashedLinear(AccumulatingOp):
    domain = HASHHLS_DOMAIN
    op_type = "HashedLinear"
    kind = LayerKind.HASHED_DENSE
    doc = "K stored weights, bucket and sign hashed on chip"

    def analyse(self, ctx: NodeContext):
        n_in, n_out = _required_int(ctx, "in_features"), _required_int(ctx, "out_features")
        size = flat_input(ctx)
        if n_in != size:
            raise ctx.fail(f"expects {n_in} inputs but receives {size} (wrong input shape?)")
        if len(ctx.node.input) != 3:
            raise ctx.fail("needs inputs (X, W, B)")
        w = ctx.const(1, "weight")
        cfg = hash_config(ctx, (n_out, n_in), w)
        b = bias_of(ctx, 2, n_out)
        return ctx.spec(self.kind, [n_out], weight=w, bias=b, hash=cfg)

    def torch_module(self, spec):
        import torch

        from ...frontend.layers import HashedLinear as Module

        m = Module(spec.n_in, spec.n_out, buckets=spec.hash.buckets, seed=spec.hash.seed)
        with torch.no_grad():
            m.weight.copy_(torch.from_numpy(spec.weight.astype("float32")))
            m.bias.copy_(torch.from_numpy(spec.bias.astype("float32")))
        return m

    def hls_layer(self, spec, p, reuse_factor):
        layer = {'class_name': 'HashedDense', 'n_in': spec.n_in, 'n_out': spec.n_out, **_hashed_layer(spec, p)}
        return HlsLayer(layer, {"Precision": p.as_strings()})


class HashedConv2d(AccumulatingOp):
    domain = HASHHLS_DOMAIN
    op_type = "HashedConv2d"
    kind = LayerKind.HASHED_CONV2D
    spatial = True
    doc = "2-D, strides, pads; K stored weights, hashed on chip"

    def analyse(self, ctx: NodeContext):
        n_in, n_out = _required_int(ctx, "in_channels"), _required_int(ctx, "out_channels")
        win = window_of(ctx.node, ctx.activation(0), n_out)
        if n_in != win.in_c:
            raise ctx.fail(f"expects {n_in} input channels but receives {win.in_c} (wrong input shape?)")
        w = ctx.const(1, "weight")
        cfg = hash_config(ctx, (win.out_c, win.in_c, win.kh, win.kw), w)
        b = bias_of(ctx, 2, win.out_c)
        return ctx.spec(self.kind, win.out_shape, weight=w, bias=b, hash=cfg, window=win)

    def torch_module(self, spec):
        import torch

        from ...frontend.layers import HashedConv2d as Module

        win = spec.window
        m = Module(win.in_c, win.out_c, (win.kh, win.kw), (win.sh, win.sw), buckets=spec.hash.buckets,
                   seed=spec.hash.seed)
        with torch.no_grad():
            m.weight.copy_(torch.from_numpy(spec.weight.astype("float32")))
            m.bias.copy_(torch.from_numpy(spec.bias.astype("float32")))
        return padded(m, win)

    def hls_layer(self, spec, p, reuse_factor):
        layer = {**window_layer(spec.window), 'class_name': 'HashedConv2D', **_hashed_layer(spec, p)}
        return HlsLayer(layer, {"Precision": p.as_strings()})
