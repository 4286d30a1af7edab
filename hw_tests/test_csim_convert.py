"""The C simulation's native fixed-point conversion (nnet_hashed_csim.h) against ap_types' own, for every mode.

csim rounds each exact accumulator (and, in the batch bridge, each input value) into its ap_fixed / ap_ufixed
type in native integers instead of through ap_types' arbitrary-precision model: about 5x faster csim. This
compiles both on random codes of many magnitudes for every quantisation mode and the overflow modes (those the
native path implements -- AP_WRAP, AP_SAT, AP_SAT_ZERO -- and AP_SAT_SYM, which falls back to ap_types), with
fraction bits dropped and appended, signed and unsigned; every result must be identical.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from csim_helpers import REPO, require_gxx

pytestmark = pytest.mark.csim

HLS4ML_TEMPLATES = Path(__import__("hls4ml").__file__).parent / "templates" / "vivado"

DRIVER = r"""
#include <cstdio>
#include <stdint.h>
#include "nnet_hashed.h"
using namespace nnet::hashhls_csim;
static uint64_t st = 88172645463325252ull;
static uint64_t rnd() { st ^= st << 13; st ^= st >> 7; st ^= st << 17; return st; }
template <class T, int F> long check() {
    long bad = 0;
    for (int t = 0; t < 20000; t++) {
        int64_t acc = (int64_t)(rnd() >> (rnd() % 44 + 20)) * ((rnd() & 1) ? -1 : 1);
        if (t < 200) acc = t - 100;  // around zero: every rounding tie
        const T native = converter<T, F>::run(acc), ref = from_codes_ap<T, F>(acc);
        bad += native.V.to_int64() != ref.V.to_int64();
    }
    return bad;
}
#define TYPES(Q, O) bad += check<ap_fixed<16, 6, Q, O>, 20>() + check<ap_ufixed<12, 4, Q, O>, 18>() \
    + check<ap_fixed<10, 3, Q, O>, 4>();
#define MODES(O) TYPES(AP_RND, O) TYPES(AP_RND_ZERO, O) TYPES(AP_RND_MIN_INF, O) TYPES(AP_RND_INF, O) \
    TYPES(AP_RND_CONV, O) TYPES(AP_TRN, O) TYPES(AP_TRN_ZERO, O)
int main() {
    long bad = 0;
    MODES(AP_WRAP) MODES(AP_SAT) MODES(AP_SAT_ZERO) MODES(AP_SAT_SYM)
    std::printf("%ld\n", bad);
    return 0;
}
"""


def test_native_conversion_is_ap_types_conversion(tmp_path):
    require_gxx()
    (tmp_path / "conv.cpp").write_text(DRIVER)
    subprocess.run(["g++", "-std=c++11", "-O0", "-I", str(REPO / "templates"), "-I", str(HLS4ML_TEMPLATES / "nnet_utils"),
                    "-I", str(HLS4ML_TEMPLATES / "ap_types"), "conv.cpp", "-o", "conv"], cwd=tmp_path, check=True,
                   capture_output=True)
    out = subprocess.run([str(tmp_path / "conv")], capture_output=True, text=True, check=True).stdout
    assert int(out) == 0, f"{out.strip()} conversions differ from ap_types"
