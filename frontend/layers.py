"""Hash-compressed layers (Chen et al., "Compressing Neural Networks with the
Hashing Trick", ICML 2015).

A layer with a virtual weight tensor V of N*M entries stores only K real
weights ``w``; entry f of V (flat, C-order over the torch weight layout
``(out, in)`` or ``(out, in, kh, kw)``) is ``sign(f) * w[bucket(f)]`` with
``bucket`` and ``sign`` from :mod:`hashhls.frontend.hashing`.

Gradients: ``virtual_weight`` is a gather followed by a sign multiply, so
autograd's scatter-add gives each bucket the signed sum of the gradients of
all the virtual positions that share it, exactly as in HashedNets.

The index tables are non-persistent buffers, rebuilt from the hash config
(kept in the state_dict's extra state) whenever the layer is built or loaded.

``hash_version=2`` selects the blocked hash of docs/hash-spec.md: ``banks=P``
(fixed at training) splits the K buckets into P banks, and input ``i`` of each
output only uses bank ``i mod P``, the bank that the hardware kernel's lane for
``i`` reads. The forward pass is the same gather; only the tables differ.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .hashing import DEFAULT_HASH_VERSION, HashConfig, buckets_for


class _HashedMixin(nn.Module):
    """Shared storage, hashing and state handling of the hashed layers."""

    def _init_hashed(self, shape: tuple[int, ...], buckets: int | None, compression: float | None, seed: int,
                     bias: bool, fan_in: int, out_channels: int, hash_version: int, banks: int | None) -> None:
        n_virtual = math.prod(shape)
        k = buckets_for(n_virtual, buckets, compression)
        self.hash = HashConfig(shape, int(seed), k, hash_version, 1 if banks is None else banks)
        self.weight = nn.Parameter(torch.empty(k))
        self.bias = nn.Parameter(torch.empty(out_channels)) if bias else None
        self._build_tables()
        # Same distribution as the dense layer's default init, so a hashed
        # net trains with the dense net's hyper-parameters.
        bound = 1.0 / math.sqrt(fan_in)
        with torch.no_grad():
            self.weight.uniform_(-bound, bound)
            if self.bias is not None:
                self.bias.uniform_(-bound, bound)

    def _build_tables(self) -> None:
        bucket, sign = self.hash.tables()
        self.register_buffer("_bucket", torch.from_numpy(bucket.reshape(-1)), persistent=False)
        self.register_buffer("_sign", torch.from_numpy(sign.reshape(-1).astype("float32")), persistent=False)

    @property
    def buckets(self) -> int:
        return self.hash.buckets

    @property
    def seed(self) -> int:
        return self.hash.seed

    @property
    def hash_version(self) -> int:
        return self.hash.version

    @property
    def banks(self) -> int:
        return self.hash.banks

    @property
    def compression(self) -> float:
        return self.hash.n_virtual / self.hash.buckets

    def virtual_weight(self) -> torch.Tensor:
        """The dense weight tensor the hardware computes with (differentiable)."""
        # index_select, not weight[bucket]: its backward is index_add_, several
        # times faster on CPU than the accumulating index_put_ of advanced indexing.
        v = torch.index_select(self.weight, 0, self._bucket) * self._sign.to(self.weight.dtype)
        return v.view(self.hash.shape)

    # The state_dict carries the hash config (not the index tables) so that a
    # checkpoint is self-describing and the tables are rebuilt on load.
    # A v1 layer's state has the v1 keys only, so v1 checkpoints read and write as before.
    def get_extra_state(self) -> dict:
        return self.hash.to_state()

    def set_extra_state(self, state: dict) -> None:
        cfg = HashConfig.from_state(state)
        if (cfg.shape, cfg.buckets, cfg.version, cfg.banks) != (self.hash.shape, self.hash.buckets,
                                                                 self.hash.version, self.hash.banks):
            raise ValueError(f"checkpoint hash config {state} does not match layer {self.get_extra_state()}")
        if cfg != self.hash:
            self.hash = cfg
            self._build_tables()


class HashedLinear(_HashedMixin):
    """Linear layer whose ``out_features x in_features`` weight is hashed into K buckets.

    Args:
        in_features: size of each input sample.
        out_features: size of each output sample.
        buckets: K, the number of real weights (1 <= K <= in*out).
        compression: alternatively, c >= 1 with K = ceil(in*out / c).
        seed: per-layer hash seed, 0 <= seed < 2^32.
        bias: learn an (unhashed) additive bias.
        hash_version: 1 or 2 (docs/hash-spec.md).
        banks: P for version 2, 1 <= P <= min(K, in_features): the hardware's lanes.

    Example:
        >>> layer = HashedLinear(784, 300, compression=8, seed=1, hash_version=2, banks=32)
        >>> layer.weight.numel(), layer.banks
        (29400, 32)
    """

    def __init__(self, in_features: int, out_features: int, buckets: int | None = None,
                 compression: float | None = None, seed: int = 0, bias: bool = True,
                 hash_version: int = DEFAULT_HASH_VERSION, banks: int | None = None) -> None:
        super().__init__()
        self.in_features, self.out_features = int(in_features), int(out_features)
        self._init_hashed((self.out_features, self.in_features), buckets, compression, seed, bias,
                          fan_in=self.in_features, out_channels=self.out_features, hash_version=hash_version,
                          banks=banks)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.virtual_weight(), self.bias)

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, buckets={self.buckets}, "
                f"seed={self.seed}, bias={self.bias is not None}{_hash_repr(self.hash)}")


def _hash_repr(cfg: HashConfig) -> str:
    return "" if cfg.version == 1 else f", hash_version={cfg.version}, banks={cfg.banks}"


def _pair(v: int | tuple[int, int]) -> tuple[int, int]:
    return (int(v), int(v)) if isinstance(v, int) else (int(v[0]), int(v[1]))


class HashedConv2d(_HashedMixin):
    """2-D convolution whose ``(out, in, kh, kw)`` kernel is hashed into K buckets.

    Args:
        in_channels, out_channels, kernel_size, stride, padding: as ``nn.Conv2d``
            (no dilation, no groups).
        buckets: K, the number of real weights (1 <= K <= out*in*kh*kw).
        compression: alternatively, c >= 1 with K = ceil(out*in*kh*kw / c).
        seed: per-layer hash seed, 0 <= seed < 2^32.
        bias: learn an (unhashed) additive bias.
        hash_version: 1 or 2 (docs/hash-spec.md).
        banks: P for version 2, 1 <= P <= min(K, in_channels*kh*kw): lane l of the kernel handles the
            taps t = (c*kh + y)*kw + x with t mod P = l.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int | tuple[int, int],
                 stride: int | tuple[int, int] = 1, padding: int | tuple[int, int] = 0,
                 buckets: int | None = None, compression: float | None = None, seed: int = 0,
                 bias: bool = True, hash_version: int = DEFAULT_HASH_VERSION, banks: int | None = None) -> None:
        super().__init__()
        self.in_channels, self.out_channels = int(in_channels), int(out_channels)
        self.kernel_size, self.stride, self.padding = _pair(kernel_size), _pair(stride), _pair(padding)
        shape = (self.out_channels, self.in_channels, *self.kernel_size)
        self._init_hashed(shape, buckets, compression, seed, bias,
                          fan_in=self.in_channels * self.kernel_size[0] * self.kernel_size[1],
                          out_channels=self.out_channels, hash_version=hash_version, banks=banks)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.virtual_weight(), self.bias, self.stride, self.padding)

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}, "
                f"padding={self.padding}, buckets={self.buckets}, seed={self.seed}, bias={self.bias is not None}"
                f"{_hash_repr(self.hash)}")


HASHED_LAYERS = (HashedLinear, HashedConv2d)
