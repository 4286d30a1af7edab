"""The hashhls weight hash, as specified in ``docs/hash-spec.md``.

This is the Python implementation of the spec; the ONNX function body
(:mod:`hashhls.frontend.onnx_export`) and the C++ kernel
(``templates/nnet_hashed.h``) are the other two. All three are tested against
the committed vectors in ``docs/hash-test-vectors.json``.

Everything here is exact uint32/uint64 arithmetic in numpy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: murmur3 fmix32 multipliers.
FMIX_C1 = 0x85EBCA6B
FMIX_C2 = 0xC2B2AE35
#: Mixed with the user seed before it is turned into the per-layer key.
SEED_SALT = 0x9E3779B9
#: Largest number of virtual weights one layer may have (flat index fits 32 bits).
MAX_VIRTUAL = 2**32

_M32 = np.uint64(0xFFFFFFFF)


def fmix32(x: np.ndarray | int) -> np.ndarray:
    """murmur3's 32-bit finaliser: a bijection on uint32 with full avalanche."""
    h = np.asarray(x, dtype=np.uint64) & _M32
    h ^= h >> np.uint64(16)
    h = (h * np.uint64(FMIX_C1)) & _M32
    h ^= h >> np.uint64(13)
    h = (h * np.uint64(FMIX_C2)) & _M32
    h ^= h >> np.uint64(16)
    return h.astype(np.uint32)


def layer_key(seed: int) -> int:
    """Per-layer 32-bit key derived from the user seed (a constant in hardware)."""
    if not 0 <= int(seed) < 2**32:
        raise ValueError(f"hash seed must be in [0, 2^32), got {seed}")
    return int(fmix32(np.uint64(int(seed) ^ SEED_SALT)))


def check_buckets(buckets: int, n_virtual: int) -> None:
    """Raise ValueError unless 1 <= buckets <= n_virtual <= 2^32."""
    if not 1 <= n_virtual <= MAX_VIRTUAL:
        raise ValueError(f"a hashed layer needs 1..2^32 virtual weights, got {n_virtual}")
    if not 1 <= buckets <= n_virtual:
        raise ValueError(f"buckets K must be in [1, {n_virtual}] (N*M), got {buckets}")


def hash_flat(flat_index: np.ndarray, seed: int, buckets: int) -> tuple[np.ndarray, np.ndarray]:
    """Bucket and sign of virtual weights given their flat (C-order) indices.

    Args:
        flat_index: non-negative integers < 2^32 (any integer dtype).
        seed: the layer's seed, 0 <= seed < 2^32.
        buckets: K, the number of stored weights, 1 <= K < 2^32.

    Returns:
        ``(bucket, sign)``: int64 array in [0, K) and int8 array in {-1, +1}.
    """
    if not 1 <= int(buckets) < 2**32:
        raise ValueError(f"buckets K must be in [1, 2^32), got {buckets}")
    f = np.asarray(flat_index)
    if f.size and (f.min() < 0 or f.max() >= 2**32):
        raise ValueError("flat indices must lie in [0, 2^32)")
    h = fmix32(f.astype(np.uint64) ^ np.uint64(layer_key(seed)))
    # Multiply-high range reduction on the top 31 bits: no divider, any K,
    # and the product (< 2^63) fits a signed 64-bit integer as well.
    bucket = ((h.astype(np.uint64) >> np.uint64(1)) * np.uint64(buckets)) >> np.uint64(31)
    sign = (1 - 2 * (h & np.uint32(1)).astype(np.int8)).astype(np.int8)
    return bucket.astype(np.int64), sign


@dataclass(frozen=True)
class HashConfig:
    """Everything that determines a layer's hash: its virtual shape, seed and K."""

    shape: tuple[int, ...]
    seed: int
    buckets: int

    def __post_init__(self) -> None:
        object.__setattr__(self, "shape", tuple(int(s) for s in self.shape))
        if any(s < 1 for s in self.shape):
            raise ValueError(f"virtual weight shape must be positive, got {self.shape}")
        layer_key(self.seed)
        check_buckets(int(self.buckets), self.n_virtual)

    @property
    def n_virtual(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    def tables(self) -> tuple[np.ndarray, np.ndarray]:
        """Bucket and sign of every virtual weight, shaped like the virtual tensor."""
        bucket, sign = hash_flat(np.arange(self.n_virtual, dtype=np.uint64), self.seed, self.buckets)
        return bucket.reshape(self.shape), sign.reshape(self.shape)


def buckets_for(n_virtual: int, buckets: int | None = None, compression: float | None = None) -> int:
    """K from either an explicit bucket count or a compression factor (K = ceil(N*M / c))."""
    if (buckets is None) == (compression is None):
        raise ValueError("give exactly one of buckets=K or compression=c")
    if compression is not None:
        if not compression >= 1:
            raise ValueError(f"compression must be >= 1, got {compression}")
        buckets = max(1, int(np.ceil(n_virtual / float(compression))))
    check_buckets(int(buckets), n_virtual)
    return int(buckets)


def materialise(weights: np.ndarray, config: HashConfig) -> np.ndarray:
    """The dense virtual tensor V[f] = sign(f) * w[bucket(f)] (numpy, for tools and tests)."""
    w = np.asarray(weights)
    if w.shape != (config.buckets,):
        raise ValueError(f"expected {config.buckets} bucket weights, got shape {w.shape}")
    bucket, sign = config.tables()
    return (w[bucket] * sign).astype(w.dtype)
