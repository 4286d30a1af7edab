"""The hashed ops of the ``hashhls`` domain: ``HashedLinear`` and ``HashedConv2d`` (docs/design.md "ONNX format"),
lowered to hashhls's own ``HashedDense`` / ``HashedConv2D`` hls4ml layers (``templates/nnet_hashed.h``).

Their arithmetic is a dense layer's / convolution's over the virtual weights
``sign(f) * w[bucket(f)]``; :func:`hash_config` is the one place that reads a
node's hash parameters: seed, K, and the spec version with its banks
(``hash_version``, ``banks``; absent = version 1, docs/hash-spec.md). A
version-2 layer runs the banked kernel with P = ``banks`` lanes, so its reuse
factor is fixed by its banks (:func:`hashhls.codegen.lanes.banked_reuse_factor`).
"""

from __future__ import annotations

import numpy as np

from ...frontend.hashing import DEFAULT_HASH_VERSION, HASH_VERSIONS, HashConfig
from ..geometry import window_of
from ..kinds import LayerKind
from ..lanes import banked_reuse_factor
from ..onnx_io import HASHHLS_DOMAIN, attr_int
from .accumulate import AccumulatingOp
from .base import HlsLayer, NodeContext
from .conv import padded
from .dense import bias_of, flat_input
from .pooling import window_layer


def hash_config(ctx: NodeContext, virtual_shape: tuple[int, ...], weight: np.ndarray) -> HashConfig:
    """The hash of a hashed node: its ``seed``, ``hash_version`` (default 1) and ``banks`` (default 1)
    attributes, the virtual shape and K = len(W). Refuses, naming the node, an unknown version and banks the
    spec does not allow (K < P, P > fan-in, banks without version 2)."""
    seed = attr_int(ctx.node, "seed")
    if seed is None:
        raise ctx.fail("needs an int attribute 'seed'")
    version = attr_int(ctx.node, "hash_version", DEFAULT_HASH_VERSION)
    if version not in HASH_VERSIONS:
        raise ctx.fail(f"uses hash version {version}; this hashhls implements "
                       f"{', '.join(map(str, HASH_VERSIONS))} (docs/hash-spec.md)")
    banks = attr_int(ctx.node, "banks", 1)
    if weight.ndim != 1:
        raise ctx.fail(f"weight must be the 1-D array of K bucket weights, got shape {list(weight.shape)}")
    try:
        return HashConfig(tuple(virtual_shape), seed, int(weight.size), version, banks)
    except ValueError as e:
        raise ctx.fail(str(e)) from None


class _HashedOp(AccumulatingOp):
    """What both hashed entries share: the hash in the manifest and hls4ml's layer, reuse factor from banks."""

    def fixed_reuse_factor(self, spec) -> int | None:
        """Version 2: the banked kernel runs P lanes over the fan-in (version 1 follows --reuse-factor)."""
        h = spec.hash
        return banked_reuse_factor(h.fan_in, h.banks) if h.version == 2 else None

    def manifest_attrs(self, spec) -> dict:
        attrs = super().manifest_attrs(spec)
        if spec.hash.version != 1:  # version-1 manifests stay as they were
            attrs.update(hash_version=spec.hash.version, banks=spec.hash.banks)
        return attrs

    def torch_hash_args(self, spec) -> dict:
        return {"buckets": spec.hash.buckets, "seed": spec.hash.seed, "hash_version": spec.hash.version,
                "banks": spec.hash.banks}


def _required_int(ctx: NodeContext, name: str) -> int:
    value = attr_int(ctx.node, name)
    if value is None or value < 1:
        raise ctx.fail(f"needs a positive int attribute {name!r}")
    return value


def _hashed_layer(spec, p) -> dict:
    w, b = p.weight.quantize(spec.weight), p.bias.quantize(spec.bias)
    return {'seed': int(spec.hash.seed), 'hash_version': int(spec.hash.version), 'n_banks': int(spec.hash.banks),
            'n_buckets': int(w.size), 'weight_data': w.reshape(-1), 'bias_data': b.reshape(-1)}


def _hls_config(p, reuse_factor: int) -> dict:
    return {"Precision": p.as_strings(), "ReuseFactor": int(reuse_factor)}


class HashedLinear(_HashedOp):
    domain = HASHHLS_DOMAIN
    op_type = "HashedLinear"
    kind = LayerKind.HASHED_DENSE
    doc = "K stored weights, bucket and sign hashed on chip; hash v1, or v2 with P banks (the banked kernel, P lanes)"

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

        m = Module(spec.n_in, spec.n_out, **self.torch_hash_args(spec))
        with torch.no_grad():
            m.weight.copy_(torch.from_numpy(spec.weight.astype("float32")))
            m.bias.copy_(torch.from_numpy(spec.bias.astype("float32")))
        return m

    def hls_layer(self, spec, p, reuse_factor):
        layer = {'class_name': 'HashedDense', 'n_in': spec.n_in, 'n_out': spec.n_out, **_hashed_layer(spec, p)}
        return HlsLayer(layer, _hls_config(p, reuse_factor))


class HashedConv2d(_HashedOp):
    domain = HASHHLS_DOMAIN
    op_type = "HashedConv2d"
    kind = LayerKind.HASHED_CONV2D
    spatial = True
    doc = "2-D, strides, pads; K stored weights, hashed on chip; hash v1, or v2 with P banks (banked kernel)"

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
        m = Module(win.in_c, win.out_c, (win.kh, win.kw), (win.sh, win.sw), **self.torch_hash_args(spec))
        with torch.no_grad():
            m.weight.copy_(torch.from_numpy(spec.weight.astype("float32")))
            m.bias.copy_(torch.from_numpy(spec.bias.astype("float32")))
        return padded(m, win)

    def hls_layer(self, spec, p, reuse_factor):
        layer = {**window_layer(spec.window), 'class_name': 'HashedConv2D', **_hashed_layer(spec, p)}
        return HlsLayer(layer, _hls_config(p, reuse_factor))
