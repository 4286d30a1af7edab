"""The generated hashed dense kernel, compiled with g++, against an integer model of docs/design.md.

Oracle: the spec's hash (frontend.hashing, itself checked against the committed
vectors) and exact fixed-point arithmetic (codegen.fixed), step by step as
docs/design.md "Fixed point" states it. A standalone check; the csim harness
and the emulator have their own, larger tests.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from hashhls.codegen.fixed import FixedType
from hashhls.codegen.project import BuildConfig, build
from hashhls.frontend.hashing import HashConfig, materialise

pytestmark = pytest.mark.csim

N_IN, N_OUT, K, SEED = 24, 10, 37, 123456789
DRIVER = r"""
#include <cstdio>
#include "myproject.h"
int main() {
    double v;
    input_t x[N_IN];
    result_t y[N_OUT];
    for (;;) {
        for (int i = 0; i < N_IN; i++) { if (std::scanf("%lf", &v) != 1) return 0; x[i] = v; }
        myproject(x, y);
        for (int o = 0; o < N_OUT; o++) std::printf("%.17g ", y[o].to_double());
        std::printf("\n");
    }
}
"""


def _model(w, b, banks=None) -> onnx.ModelProto:
    extra = {} if banks is None else {"hash_version": 2, "banks": banks}
    node = helper.make_node("HashedLinear", ["x", "W", "B"], ["y"], name="fc", domain="hashhls", seed=SEED,
                            in_features=N_IN, out_features=N_OUT, **extra)
    g = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", N_IN])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", N_OUT])],
                          initializer=[numpy_helper.from_array(w, "W"), numpy_helper.from_array(b, "B")])
    # hash version 2 nodes need the hashhls domain version whose function bodies compute it
    domain = helper.make_opsetid("hashhls", 1 if banks is None else 2)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 18), domain])


@pytest.mark.parametrize("path", ["csim-int64", "ap_fixed"])
@pytest.mark.parametrize("precision", ["ap_fixed<16,6,AP_RND_CONV,AP_SAT>", "ap_fixed<10,4,AP_RND_CONV,AP_SAT>",
                                       "ap_fixed<12,5,AP_TRN,AP_WRAP>"])
@pytest.mark.parametrize("banks", [None, 5], ids=["hash-v1", "hash-v2-banked"])
def test_kernel_matches_the_fixed_point_spec(tmp_path, precision, path, banks):
    # Both the C-simulation fast path (native int64 sums) and the ap_fixed path that
    # synthesis uses (-DHASHHLS_CSIM_APFIXED forces it in a C build) must meet the spec,
    # for the v1 kernel and for the banked v2 kernel (5 lanes over 24 inputs: the last step is partial).
    if shutil.which("g++") is None:
        pytest.fail("g++ is required")
    rng = np.random.default_rng(1)
    w = rng.uniform(-1.5, 1.5, K).astype(np.float32)
    b = rng.uniform(-2, 2, N_OUT).astype(np.float32)
    onnx.save(_model(w, b, banks), str(tmp_path / "m.onnx"))
    build(BuildConfig(output_dir=tmp_path / "b", model=tmp_path / "m.onnx", precision=precision,
                      reuse_factor=5 if banks is None else None, board="none", compile_csim=False, progress=False))
    kernel = "hashed_dense_banked" if banks else "hashed_dense"
    assert f"nnet::{kernel}<" in (tmp_path / "b" / "hls" / "firmware" / "myproject.cpp").read_text()
    fw = tmp_path / "b" / "hls" / "firmware"
    (tmp_path / "driver.cpp").write_text(DRIVER.replace("N_IN", str(N_IN)).replace("N_OUT", str(N_OUT)))
    flags = ["-DHASHHLS_CSIM_APFIXED"] if path == "ap_fixed" else []
    subprocess.run(["g++", "-std=c++11", "-O1", *flags, "-I", str(fw / "ap_types"), "-I", str(fw),
                    f"-DWEIGHTS_DIR=\"{fw / 'weights'}\"", "driver.cpp", str(fw / "myproject.cpp"), "-o", "drv"],
                   cwd=tmp_path, check=True, capture_output=True)
    x = rng.uniform(-6, 6, (300, N_IN))  # large enough to overflow the narrow types
    out = subprocess.run([str(tmp_path / "drv")], input="\n".join(" ".join(f"{v:.17g}" for v in r) for r in x),
                         capture_output=True, text=True, check=True, cwd=tmp_path).stdout
    got = np.array([[float(v) for v in line.split()] for line in out.strip().splitlines()])

    t = FixedType.parse(precision)
    xq, wq, bq = t.quantize(x), t.quantize(w), t.quantize(b)  # steps 1-2
    v = materialise(wq, HashConfig((N_OUT, N_IN), SEED, K, 1 if banks is None else 2, banks or 1))
    acc = xq @ v.T + bq  # step 3: exact in float64 here (few, short terms)
    expected = t.quantize(acc)  # step 4
    np.testing.assert_array_equal(got, expected)
    if t.overflow.value == "AP_SAT":
        assert (np.abs(acc) > t.max_value).any()  # the test exercised saturation
