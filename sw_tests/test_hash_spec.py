"""The Python hash against the spec's committed vectors, plus its quality properties."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from hashhls.frontend.hashing import (HashConfig, bank_layout, buckets_for, fmix32, hash_flat, layer_key, v2_mix,
                                      v2_round_keys, v2_shifts, v2_width)


def test_fmix32_matches_vectors(hash_vectors):
    for x, expected in hash_vectors["fmix32"]:
        assert int(fmix32(x)) == expected


def test_bucket_and_sign_match_vectors(hash_vectors):
    assert len(hash_vectors["cases"]) >= 10
    for case in hash_vectors["cases"]:
        assert layer_key(case["seed"]) == case["key"]
        bucket, sign = hash_flat(np.array(case["index"], dtype=np.uint64), case["seed"], case["buckets"])
        np.testing.assert_array_equal(bucket, case["bucket"], err_msg=str(case["shape"]))
        np.testing.assert_array_equal(sign, case["sign"], err_msg=str(case["shape"]))


def test_vectors_cover_the_edge_cases(hash_vectors):
    ks = [(c["buckets"], int(np.prod(c["shape"]))) for c in hash_vectors["cases"]]
    assert any(k == 1 for k, _ in ks)
    assert any(k == n for k, n in ks)
    assert any(k & (k - 1) for k, _ in ks)  # a non-power-of-two K
    assert any(len(c["shape"]) == 4 for c in hash_vectors["cases"])


def test_tables_are_in_range_and_use_both_signs():
    bucket, sign = HashConfig((300, 784), seed=3, buckets=1000).tables()
    assert bucket.min() >= 0 and bucket.max() == 999
    assert set(np.unique(sign)) == {-1, 1}


@pytest.mark.parametrize("seed,k", [(0, 29400), (1, 3675), (7, 1000), (11, 300)])
def test_no_two_rows_or_columns_share_a_bucket_multiset(seed, k):
    # The failure mode of a linear (XOR/H3) hash: rows that are permutations of each other.
    bucket, _ = HashConfig((300, 784), seed=seed, buckets=k).tables()
    rows = {tuple(np.sort(r)) for r in bucket}
    cols = {tuple(np.sort(c)) for c in bucket.T}
    assert len(rows) == 300
    assert len(cols) == 784


def test_an_xor_hash_would_fail_the_row_test():
    # Guards the test above: a linear hash really does produce shared row multisets.
    rng = np.random.default_rng(0)
    k = 1024
    g_row, g_col = rng.integers(0, k, 300), rng.integers(0, k, 784)
    bucket = g_row[:, None] ^ g_col[None, :]
    assert len({tuple(np.sort(r)) for r in bucket}) < 300


@pytest.mark.parametrize("shape,seed,k", [((300, 784), 1, 29400), ((100, 300), 2, 1000), ((16, 6, 5, 5), 9, 97),
                                          ((1000, 1000), 5, 4096)])
def test_bucket_occupancy_passes_chi_square(shape, seed, k):
    bucket, sign = HashConfig(shape, seed=seed, buckets=k).tables()
    counts = np.bincount(bucket.ravel(), minlength=k)
    _, p = stats.chisquare(counts)
    assert p > 0.01, f"bucket occupancy not uniform (p={p:.2e})"
    # Signs are balanced: a binomial test at the same level.
    plus = int((sign > 0).sum())
    assert stats.binomtest(plus, sign.size).pvalue > 0.01


def test_k_equal_one_and_k_equal_n():
    b1, _ = HashConfig((4, 5), seed=0, buckets=1).tables()
    assert (b1 == 0).all()
    bn, _ = HashConfig((4, 5), seed=0, buckets=20).tables()
    assert bn.max() < 20


@pytest.mark.parametrize("k", [0, -1, 21])
def test_bad_bucket_counts_are_rejected(k):
    with pytest.raises(ValueError, match="buckets"):
        HashConfig((4, 5), seed=0, buckets=k)


def test_buckets_from_compression():
    assert buckets_for(235200, compression=8) == 29400
    assert buckets_for(10, compression=3) == 4
    with pytest.raises(ValueError, match="compression"):
        buckets_for(10, compression=0.5)
    with pytest.raises(ValueError, match="exactly one"):
        buckets_for(10, buckets=2, compression=2)


def test_seed_out_of_range_is_rejected():
    with pytest.raises(ValueError, match="seed"):
        layer_key(2**32)


# -- version 2 (blocked) ---------------------------------------------------------------------------------

V2_LAYERS = [((300, 784), 1, 29400, 32), ((300, 784), 2, 3675, 16), ((300, 784), 4, 29400, 1),
             ((100, 300), 2, 3750, 8), ((10, 100), 2, 125, 2), ((16, 6, 5, 5), 9, 300, 5),
             ((120, 400), 2, 6000, 20), ((1000, 1000), 5, 4096, 64), ((300, 784), 7, 29401, 49)]


def test_v2_mixer_and_round_keys_match_vectors(hash_vectors_v2):
    for w, seed, x, expected in hash_vectors_v2["mix"]:
        assert int(v2_mix(np.uint64(x), w, v2_round_keys(seed, w))) == expected
    for case in hash_vectors_v2["cases"]:
        n = int(np.prod(case["shape"]))
        assert v2_width(n) == case["width"]
        assert list(v2_round_keys(case["seed"], case["width"])) == case["round_keys"]
        assert [list(s) for s in v2_shifts(case["width"])] == case["shifts"]
        assert bank_layout(case["buckets"], case["banks"])[0] == case["bank_size"]


def test_v2_bucket_and_sign_match_vectors(hash_vectors_v2):
    assert hash_vectors_v2["version"] == 2 and len(hash_vectors_v2["cases"]) >= 12
    for case in hash_vectors_v2["cases"]:
        cfg = HashConfig(case["shape"], case["seed"], case["buckets"], version=2, banks=case["banks"])
        bucket, sign = cfg.hash(np.array(case["index"], dtype=np.uint64))
        msg = f"{case['shape']} seed {case['seed']} K {case['buckets']} P {case['banks']}"
        np.testing.assert_array_equal(bucket, case["bucket"], err_msg=msg)
        np.testing.assert_array_equal(sign, case["sign"], err_msg=msg)


def test_v2_vectors_cover_the_edge_cases(hash_vectors_v2):
    cases = hash_vectors_v2["cases"]
    n = [int(np.prod(c["shape"])) for c in cases]
    fan_in = [m // c["shape"][0] for m, c in zip(n, cases)]
    assert any(c["banks"] == 1 for c in cases)
    assert any(c["buckets"] == c["banks"] > 1 for c in cases)  # K = P
    assert any(c["buckets"] == m and c["banks"] > 1 for c, m in zip(cases, n))  # K = N*M
    assert any(c["banks"] == m for c, m in zip(cases, fan_in))  # P = fan-in
    assert any(m % c["banks"] and c["buckets"] % c["banks"] for c, m in zip(cases, fan_in))
    assert any(len(c["shape"]) == 4 for c in cases)
    assert {8, 32} <= {c["width"] for c in cases}


@pytest.mark.parametrize("shape,seed,k,p", V2_LAYERS)
def test_v2_every_bucket_lies_in_its_lanes_bank(shape, seed, k, p):
    cfg = HashConfig(shape, seed, k, version=2, banks=p)
    bucket, _ = cfg.tables()
    bucket = bucket.reshape(shape[0], -1)
    lane = np.arange(cfg.fan_in) % p  # input i is processed by lane i mod P
    b, last = bank_layout(k, p)
    lo = lane * b
    hi = np.where(lane == p - 1, k, lo + b)
    assert ((bucket >= lo) & (bucket < hi)).all()
    assert len(np.unique(bucket)) > 0.99 * k  # the banks together use (nearly) every bucket
    assert last >= b >= 1 and (p - 1) * b + last == k


@pytest.mark.parametrize("shape,seed,k,p", V2_LAYERS)
def test_v2_bucket_occupancy_is_uniform_within_every_bank(shape, seed, k, p):
    cfg = HashConfig(shape, seed, k, version=2, banks=p)
    bucket, sign = cfg.tables()
    lane = np.broadcast_to(np.arange(cfg.fan_in) % p, (shape[0], cfg.fan_in)).reshape(-1)
    b, last = bank_layout(k, p)
    pvalues = []
    for bank in range(p):
        size = last if bank == p - 1 else b
        counts = np.bincount(bucket.reshape(-1)[lane == bank] - bank * b, minlength=size)
        assert counts.size == size
        if size > 1:
            pvalues.append(stats.chisquare(counts)[1])
    # family-wise 1% over the banks (Bonferroni)
    assert min(pvalues) > 0.01 / len(pvalues), f"a bank's occupancy is not uniform (p={min(pvalues):.2e})"
    assert stats.binomtest(int((sign > 0).sum()), sign.size).pvalue > 0.01


@pytest.mark.parametrize("seed,k,p", [(0, 29400, 32), (1, 3675, 16), (7, 1000, 1), (11, 300, 49), (3, 29400, 100)])
def test_v2_no_two_rows_or_columns_share_a_bucket_multiset(seed, k, p):
    bucket, _ = HashConfig((300, 784), seed=seed, buckets=k, version=2, banks=p).tables()
    assert len({tuple(np.sort(r)) for r in bucket}) == 300
    assert len({tuple(np.sort(c)) for c in bucket.T}) == 784


def test_v2_is_not_v1_and_depends_on_the_seed():
    v1, _ = HashConfig((30, 40), seed=1, buckets=100).tables()
    v2, _ = HashConfig((30, 40), seed=1, buckets=100, version=2, banks=1).tables()
    v2b, _ = HashConfig((30, 40), seed=2, buckets=100, version=2, banks=1).tables()
    assert (v1 != v2).mean() > 0.9 and (v2 != v2b).mean() > 0.9


def test_v2_mixer_is_a_bijection_on_w_bits():
    for w in (8, 11):
        x = np.arange(2**w, dtype=np.uint64)
        assert len(np.unique(v2_mix(x, w, v2_round_keys(5, w)))) == 2**w


@pytest.mark.parametrize("kwargs,match", [
    (dict(buckets=3, banks=4), "K < P"),
    (dict(buckets=20, banks=6), "inputs per output"),
    (dict(buckets=20, banks=0), "positive"),
    (dict(buckets=20, banks=2, version=1), "version 1 has no banks"),
    (dict(buckets=20, banks=1, version=3), "unknown hash version"),
])
def test_v2_bad_configs_are_rejected(kwargs, match):
    kwargs.setdefault("version", 2)
    with pytest.raises(ValueError, match=match):
        HashConfig((4, 5), seed=0, **kwargs)


def test_v2_refuses_layers_beyond_the_32_bit_mixer():
    with pytest.raises(ValueError, match="2\\^30"):
        HashConfig((2**16, 2**15), seed=0, buckets=10, version=2, banks=1)


def test_state_round_trip_keeps_v1_states_unchanged():
    v1 = HashConfig((4, 5), seed=3, buckets=7)
    assert v1.to_state() == {"shape": [4, 5], "seed": 3, "buckets": 7}  # what v1 checkpoints hold
    assert HashConfig.from_state(v1.to_state()) == v1
    v2 = HashConfig((4, 5), seed=3, buckets=7, version=2, banks=5)
    assert HashConfig.from_state(v2.to_state()) == v2
