"""FixedType from first principles: hand-worked ap_fixed cases (ties to even, saturation, wrap, requantize)."""

from __future__ import annotations

import numpy as np
import pytest

from hashhls.codegen.fixed import DEFAULT_PRECISION, FixedType, Overflow, Rounding
from hashhls.core.errors import HashhlsError

Q84 = FixedType.parse("ap_fixed<8,4,AP_RND_CONV,AP_SAT>")  # lsb 1/16, codes -128..127, values -8..7.9375


def test_parse_and_geometry():
    t = FixedType.parse("ap_fixed<16,6>")
    assert (t.rounding, t.overflow, t.signed) == (Rounding.TRN, Overflow.WRAP, True)  # ap_fixed's own defaults
    assert (t.frac, t.code_min, t.code_max, t.lsb) == (10, -32768, 32767, 2.0**-10)
    assert (t.min_value, t.max_value) == (-32.0, 32 - 2.0**-10)
    assert FixedType.parse(" ap_fixed< 16 , 6 , AP_RND_CONV , AP_SAT > ") == DEFAULT_PRECISION
    assert FixedType.parse(DEFAULT_PRECISION.cpp()) == DEFAULT_PRECISION
    u = FixedType.parse("ap_ufixed<8,0,AP_RND,AP_SAT>")
    assert (u.signed, u.code_min, u.code_max, u.frac) == (False, 0, 255, 8)
    assert u.cpp() == "ap_ufixed<8,0,AP_RND,AP_SAT>"


@pytest.mark.parametrize("text", ["float", "ap_fixed<16>", "ap_fixed<16,6,AP_FOO>", "ap_int<8>", "ap_fixed<0,0>",
                                  "ap_fixed<65,6>", "ap_fixed<1,1>", "ap_fixed<16,6>;rm -rf"])
def test_bad_types_are_errors(text):
    with pytest.raises(HashhlsError):
        FixedType.parse(text)


def test_round_half_to_even():
    # x / lsb:        0.5   1.5   2.5   -0.5  -1.5  -2.5  0.49  2.51
    x = np.array([1, 3, 5, -1, -3, -5, 0.98, 5.02]) / 32
    np.testing.assert_array_equal(Q84.to_codes(x), [0, 2, 2, 0, -2, -2, 0, 3])


def test_round_half_up_and_truncate():
    rnd = FixedType(8, 4, Rounding.RND, Overflow.SAT)
    trn = FixedType(8, 4, Rounding.TRN, Overflow.SAT)
    x = np.array([1, 3, -1, -3, 0.9, -0.9]) / 32  # 0.5, 1.5, -0.5, -1.5, 0.45, -0.45 lsb
    np.testing.assert_array_equal(rnd.to_codes(x), [1, 2, 0, -1, 0, 0])  # ties toward +inf
    np.testing.assert_array_equal(trn.to_codes(x), [0, 1, -1, -2, 0, -1])  # floor


def test_saturation():
    x = np.array([7.9375, 7.96, 7.97, 100.0, -8.0, -8.03, -1e9, np.float32(3.5)])
    # 7.96 * 16 = 127.36 -> 127; 7.97 * 16 = 127.52 -> 128 -> saturates to 127; -8.03 * 16 = -128.48 -> -128
    np.testing.assert_array_equal(Q84.to_codes(x), [127, 127, 127, 127, -128, -128, -128, 56])
    u = FixedType(8, 4, Rounding.RND_CONV, Overflow.SAT, signed=False)
    np.testing.assert_array_equal(u.to_codes([-1.0, 20.0, 15.9375]), [0, 255, 255])
    assert Q84.overflows([7.9375, 8.0, -8.0, -8.0001]) == 2


def test_wrap():
    w = FixedType(8, 4, Rounding.TRN, Overflow.WRAP)
    # 8.0 -> code 128 -> -128; 9.5 -> 152 -> -104; -8.0625 -> -129 -> 127; 24 -> 384 -> 128 -> -128
    np.testing.assert_array_equal(w.to_codes([8.0, 9.5, -8.0625, 24.0, 7.9375]), [-128, -104, 127, -128, 127])
    uw = FixedType(4, 4, Rounding.TRN, Overflow.WRAP, signed=False)
    np.testing.assert_array_equal(uw.to_codes([16.0, 17.0, -1.0]), [0, 1, 15])


def test_quantize_is_codes_times_lsb():
    x = np.random.default_rng(0).uniform(-10, 10, 1000)
    np.testing.assert_array_equal(Q84.quantize(x), Q84.to_codes(x) / 16.0)
    assert np.abs(Q84.quantize(np.clip(x, -8, 7.9375)) - np.clip(x, -8, 7.9375)).max() <= 1 / 32


def test_requantize_by_hand():
    # From 8 fraction bits to Q84's 4: divide by 16 with round-half-even, then saturate.
    c = np.array([24, 8, 40, -24, -8, 23, 25, 16 * 200, -16 * 200])  # 1.5, 0.5, 2.5, -1.5, -0.5, 1.4375, ...
    np.testing.assert_array_equal(Q84.requantize_codes(c, 8), [2, 0, 2, -2, 0, 1, 2, 127, -128])
    trn = FixedType(8, 4, Rounding.TRN, Overflow.WRAP)
    np.testing.assert_array_equal(trn.requantize_codes([-1, 15, 16, -17, 16 * 130], 8), [-1, 0, 1, -2, 130 - 256])
    # Fewer fraction bits in the source: an exact left shift (then overflow handling).
    np.testing.assert_array_equal(Q84.requantize_codes([3, -3, 40], 2), [12, -12, 127])


@pytest.mark.parametrize("t", [Q84, FixedType(12, 3, Rounding.TRN, Overflow.WRAP), FixedType(10, 5, Rounding.RND),
                               FixedType(9, 2, Rounding.RND_CONV, Overflow.WRAP, signed=False)])
def test_requantize_agrees_with_quantising_the_exact_value(t):
    # Two independent code paths: integer shifts vs float64 scaling (exact here) of the same rationals.
    c = np.random.default_rng(1).integers(-(2**20), 2**20, 5000)
    for from_frac in (t.frac + 1, t.frac + 7, max(t.frac - 2, 0)):
        np.testing.assert_array_equal(t.requantize_codes(c, from_frac), t.to_codes(c * 2.0**-from_frac))
