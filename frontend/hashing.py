"""The hashhls weight hash, as specified in ``docs/hash-spec.md`` (versions 1 and 2).

This is the Python implementation of the spec; the ONNX function bodies
(:mod:`hashhls.frontend.onnx_functions`) and the C++ kernel
(``templates/nnet_hashed.h``) are the other two. All three are tested against
the committed vectors in ``docs/hash-test-vectors.json`` (version 1) and
``docs/hash-test-vectors-v2.json`` (version 2).

* Version 1: murmur3 ``fmix32`` of the flat index, multiply-high range
  reduction into all K buckets. 8 DSP48E1 per address on a 7-series FPGA.
* Version 2 (blocked): the K buckets are split into P banks laid out as an HLS
  ``block factor=P`` partition; input ``i`` of every output hashes only into
  bank ``i mod P`` (the kernel's lane for ``i``), through a 4-round add-xor-shift
  mixer over the few bits the layer's index needs. 1 DSP48E1 (or none) per address.

Everything here is exact uint32/uint64 arithmetic in numpy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

#: murmur3 fmix32 multipliers.
FMIX_C1 = 0x85EBCA6B
FMIX_C2 = 0xC2B2AE35
#: Mixed with the user seed before it is turned into the per-layer key; also the v2 round-key step.
SEED_SALT = 0x9E3779B9
#: Largest number of virtual weights one layer may have (flat index fits 32 bits).
MAX_VIRTUAL = 2**32
#: Hash versions this hashhls implements (docs/hash-spec.md). A layer without a version is version 1.
HASH_VERSIONS = (1, 2)
DEFAULT_HASH_VERSION = 1
#: Version 2: largest layer (the mixer width W = bitlen(n-1) + 2 stays <= 32 bits).
MAX_VIRTUAL_V2 = 2**30
#: Version 2: smallest mixer width, so that tiny layers still mix.
V2_MIN_WIDTH = 8
#: Version 2: per round j, the (left-shift-add, right-xorshift) amounts in sixteenths of the width W.
V2_SHIFTS = ((7, 6), (9, 3), (4, 5), (7, 9))

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


def check_version(version) -> int:
    """The hash version as an int; ValueError naming the versions this hashhls knows otherwise."""
    if isinstance(version, bool) or not isinstance(version, (int, np.integer)) or int(version) not in HASH_VERSIONS:
        raise ValueError(f"unknown hash version {version!r} (this hashhls implements "
                         f"{', '.join(map(str, HASH_VERSIONS))}; docs/hash-spec.md)")
    return int(version)


def check_banks(banks: int, buckets: int, fan_in: int, n_virtual: int) -> None:
    """Version 2: raise ValueError unless 1 <= P <= min(K, fan-in) and the layer fits the 32-bit mixer."""
    if n_virtual > MAX_VIRTUAL_V2:
        raise ValueError(f"hash version 2 supports layers of up to 2^30 virtual weights, got {n_virtual}")
    if isinstance(banks, bool) or not isinstance(banks, (int, np.integer)) or banks < 1:
        raise ValueError(f"hash banks P must be a positive integer, got {banks!r}")
    if banks > buckets:
        raise ValueError(f"{banks} hash banks need at least {banks} buckets, but K = {buckets} (K < P)")
    if banks > fan_in:
        raise ValueError(f"{banks} hash banks (kernel lanes) exceed the layer's {fan_in} inputs per output: "
                         f"lanes {fan_in + 1}..{banks} would have no input (use P <= {fan_in})")


def hash_flat(flat_index: np.ndarray, seed: int, buckets: int) -> tuple[np.ndarray, np.ndarray]:
    """Version 1: bucket and sign of virtual weights given their flat (C-order) indices.

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


# -- version 2 (blocked) ---------------------------------------------------------------------------------


def v2_width(n_virtual: int) -> int:
    """W: the mixer's width for a layer of ``n_virtual`` weights, ``max(8, bitlen(n - 1) + 2)``."""
    return max(V2_MIN_WIDTH, (int(n_virtual) - 1).bit_length() + 2)


def v2_shifts(width: int) -> tuple[tuple[int, int], ...]:
    """Per round, ``(a, b)``: ``x += x << a`` then ``x ^= x >> b`` (each clamped to [1, W-1])."""
    def clamp(s: int) -> int:
        return min(width - 1, max(1, (width * s + 8) // 16))
    return tuple((clamp(a), clamp(b)) for a, b in V2_SHIFTS)


def v2_round_keys(seed: int, width: int) -> tuple[int, ...]:
    """The 4 round keys ``fmix32((key + j * 0x9E3779B9) mod 2^32) mod 2^W`` (constants in hardware)."""
    key = layer_key(seed)
    mask = (1 << width) - 1
    return tuple(int(fmix32(np.uint64((key + j * SEED_SALT) & 0xFFFFFFFF))) & mask for j in range(len(V2_SHIFTS)))


def v2_mix(x: np.ndarray, width: int, keys: tuple[int, ...]) -> np.ndarray:
    """The v2 mixer on W-bit values: per round ``x ^= k; x = x + (x << a) mod 2^W; x ^= x >> b``.

    Every step is a bijection on W bits; the additions' carries make it non-linear over GF(2).
    """
    mask = np.uint64((1 << width) - 1)
    x = np.asarray(x, dtype=np.uint64) & mask
    for k, (a, b) in zip(keys, v2_shifts(width)):
        x = x ^ np.uint64(k)
        x = (x + (x << np.uint64(a))) & mask
        x = x ^ (x >> np.uint64(b))
    return x


def bank_layout(buckets: int, banks: int) -> tuple[int, int]:
    """``(B, last)``: banks 0..P-2 hold B = floor(K/P) buckets each, bank P-1 the remaining K - (P-1)*B.

    This is how HLS's ``ARRAY_PARTITION block factor=P`` splits a K-word array (UG1399, "array_partition":
    AB[13] with factor 4 gives three arrays of 3 elements and one of 4), so bank l is exactly partition l.
    """
    b = int(buckets) // int(banks)
    return b, int(buckets) - (int(banks) - 1) * b


def hash_flat_v2(flat_index: np.ndarray, shape: tuple[int, ...], seed: int, buckets: int,
                 banks: int) -> tuple[np.ndarray, np.ndarray]:
    """Version 2: bucket and sign of virtual weights given their flat (C-order) indices.

    Args:
        flat_index: integers in [0, n), n = prod(shape).
        shape: the virtual weight shape; the fan-in M is ``prod(shape[1:])``.
        seed: the layer's seed, 0 <= seed < 2^32.
        buckets: K, 1 <= P <= K <= n.
        banks: P, 1 <= P <= M.

    Returns:
        ``(bucket, sign)``: int64 array in [0, K) (bucket of index f lies in bank ``(f mod M) mod P``)
        and int8 array in {-1, +1}.
    """
    n = math.prod(int(s) for s in shape)
    fan_in = n // int(shape[0])
    check_buckets(int(buckets), n)
    check_banks(int(banks), int(buckets), fan_in, n)
    f = np.asarray(flat_index).astype(np.int64)
    if f.size and (f.min() < 0 or f.max() >= n):
        raise ValueError(f"flat indices must lie in [0, {n})")
    width = v2_width(n)
    h = v2_mix(f.astype(np.uint64), width, v2_round_keys(seed, width))
    bank = (f % fan_in) % int(banks)
    b, last = bank_layout(buckets, banks)
    size = np.where(bank == int(banks) - 1, last, b).astype(np.uint64)
    local = ((h >> np.uint64(1)) * size) >> np.uint64(width - 1)
    bucket = bank * b + local.astype(np.int64)
    sign = (1 - 2 * (h & np.uint64(1)).astype(np.int8)).astype(np.int8)
    return bucket.astype(np.int64), sign


# -- the layer's hash ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HashConfig:
    """Everything that determines a layer's hash: its virtual shape, seed, K, and the spec version.

    Attributes:
        shape: the virtual weight tensor in torch layout, ``(out, in)`` or ``(out, in, kh, kw)``.
        seed: the layer's seed.
        buckets: K.
        version: 1 or 2 (docs/hash-spec.md).
        banks: P, version 2 only (1 for version 1): the kernel's lanes, each reading its own bank.
    """

    shape: tuple[int, ...]
    seed: int
    buckets: int
    version: int = DEFAULT_HASH_VERSION
    banks: int = 1

    def __post_init__(self) -> None:
        object.__setattr__(self, "shape", tuple(int(s) for s in self.shape))
        if not self.shape or any(s < 1 for s in self.shape):
            raise ValueError(f"virtual weight shape must be positive, got {self.shape}")
        layer_key(self.seed)
        check_buckets(int(self.buckets), self.n_virtual)
        object.__setattr__(self, "version", check_version(self.version))
        if self.version == 1:
            if self.banks != 1:
                raise ValueError(f"hash version 1 has no banks (got banks={self.banks}); banks need version 2")
        else:
            check_banks(self.banks, int(self.buckets), self.fan_in, self.n_virtual)
        object.__setattr__(self, "banks", int(self.banks))

    @property
    def n_virtual(self) -> int:
        return math.prod(self.shape)

    @property
    def fan_in(self) -> int:
        """M: the products summed into one output (``in`` or ``in*kh*kw``)."""
        return self.n_virtual // self.shape[0]

    def hash(self, flat_index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Bucket and sign of the given flat indices, by this layer's spec version."""
        if self.version == 1:
            return hash_flat(flat_index, self.seed, self.buckets)
        return hash_flat_v2(flat_index, self.shape, self.seed, self.buckets, self.banks)

    def tables(self) -> tuple[np.ndarray, np.ndarray]:
        """Bucket and sign of every virtual weight, shaped like the virtual tensor."""
        bucket, sign = self.hash(np.arange(self.n_virtual, dtype=np.uint64))
        return bucket.reshape(self.shape), sign.reshape(self.shape)

    def to_state(self) -> dict:
        """The plain-data form kept in checkpoints (v1 layers keep the v1 keys only: old files stay valid)."""
        state = {"shape": list(self.shape), "seed": self.seed, "buckets": self.buckets}
        if self.version != 1:
            state.update(version=self.version, banks=self.banks)
        return state

    @classmethod
    def from_state(cls, state: dict) -> HashConfig:
        """Inverse of :meth:`to_state`; a state without ``version`` is version 1."""
        return cls(tuple(state["shape"]), int(state["seed"]), int(state["buckets"]),
                   state.get("version", DEFAULT_HASH_VERSION), state.get("banks", 1))


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
