"""The Python hash against the spec's committed vectors, plus its quality properties."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from hashhls.frontend.hashing import HashConfig, buckets_for, fmix32, hash_flat, layer_key


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
