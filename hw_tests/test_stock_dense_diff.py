"""Differential test: the hashed kernel against hls4ml's stock Dense given the same virtual weights.

Two builds of the same network: one with hashhls's HashedDense (K stored weights,
addresses computed on chip), one with plain Gemm layers holding the materialised
N*M virtual weights, lowered by hls4ml's own Dense. Their C simulations must agree
bit for bit at the same precision.
"""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from csim_helpers import chain_onnx, make_build

from hashhls.codegen.csim import load_build
from hashhls.codegen.emulator import Emulator
from hashhls.codegen.fixed import FixedType
from hashhls.frontend.hashing import HashConfig, materialise

pytestmark = pytest.mark.csim

N_IN, N_OUT, K, SEED = 64, 24, 200, 77


@pytest.mark.parametrize("precision", ["ap_fixed<16,6,AP_RND_CONV,AP_SAT>", "ap_fixed<12,4,AP_TRN,AP_WRAP>"])
@pytest.mark.parametrize("banks", [None, 8], ids=["hash-v1", "hash-v2-banked"])
def test_single_hashed_layer_equals_stock_dense(tmp_path, precision, banks):
    t = FixedType.parse(precision)
    rng = np.random.default_rng(9)
    # Weights on the type's grid, so that both flows store exactly the same values whatever the rounding mode.
    w = t.quantize(rng.uniform(-1, 1, K)).astype(np.float32)
    b = t.quantize(rng.uniform(-1, 1, N_OUT)).astype(np.float32)
    v = materialise(w, HashConfig((N_OUT, N_IN), SEED, K, 1 if banks is None else 2, banks or 1))
    onnx.save(chain_onnx([("hashed", N_IN, N_OUT, K, SEED, w, b)], input_shape=(N_IN,), flatten=False, banks=banks),
              str(tmp_path / "h.onnx"))
    onnx.save(chain_onnx([("dense", N_IN, N_OUT, v, b)], input_shape=(N_IN,), flatten=False),
              str(tmp_path / "d.onnx"))
    hashed = make_build(tmp_path / "bh", tmp_path / "h.onnx", precision=precision,
                        reuse_factor=8 if banks is None else None)
    dense = make_build(tmp_path / "bd", tmp_path / "d.onnx", precision=precision, reuse_factor=8)
    assert "nnet::dense<" in (dense / "hls" / "firmware" / "myproject.cpp").read_text()
    kernel = "hashed_dense_banked" if banks else "hashed_dense"
    assert f"nnet::{kernel}<" in (hashed / "hls" / "firmware" / "myproject.cpp").read_text()

    x = rng.uniform(-6, 6, (3000, N_IN)).astype(np.float32)  # overflows the result types: SAT / WRAP paths
    yh, yd = load_build(hashed).predict(x), load_build(dense).predict(x)
    np.testing.assert_array_equal(yh, yd)
    assert len(np.unique(yh)) > 500


@pytest.mark.slow
def test_default_model_equals_its_dense_export(default_build, mnist_test, tmp_path):
    from hashhls.frontend.onnx_export import export_checkpoint
    from hashhls.frontend.zoo import default_checkpoint

    export_checkpoint(default_checkpoint(), tmp_path / "dense.onnx", dense=True)
    dense = make_build(tmp_path / "bd", tmp_path / "dense.onnx", board="pynq-z2")
    kinds = {layer.kind for layer in Emulator.from_build(dense).layers}
    assert "dense" in kinds and "hashed_dense" not in kinds

    x = mnist_test[0][:3000]
    np.testing.assert_array_equal(load_build(default_build).predict(x), load_build(dense).predict(x))
