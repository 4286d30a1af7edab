"""One-hot probe: the C simulation of a single hashed layer reveals exactly the spec's virtual weights
(hash version 1, and version 2 through the banked kernel).

Feeding e_i (and 0) through a HashedLinear layer (no ReLU) gives column i of the
virtual weight matrix: y(e_i) - y(0) = V[:, i]. The oracle is the hash spec
(frontend.hashing.materialise, itself checked against the committed vectors)
applied to the weights quantised by codegen.fixed: it proves the addresses the
C++ computes on chip are the spec's.
"""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from csim_helpers import chain_onnx, make_build

from hashhls.codegen.csim import load_build
from hashhls.codegen.fixed import FixedType
from hashhls.frontend.hashing import HashConfig, materialise

pytestmark = pytest.mark.csim

N_IN, N_OUT, K, SEED = 50, 40, 97, 0xDEADBEEF


@pytest.mark.parametrize("precision", ["ap_fixed<16,6,AP_RND_CONV,AP_SAT>", "ap_fixed<10,3,AP_RND_CONV,AP_SAT>"])
@pytest.mark.parametrize("banks", [None, 8], ids=["hash-v1", "hash-v2-banked"])
def test_one_hot_probe_recovers_the_quantised_virtual_weights(tmp_path, precision, banks):
    rng = np.random.default_rng(3)
    w = rng.uniform(-1.5, 1.5, K).astype(np.float32)
    b = rng.uniform(-1, 1, N_OUT).astype(np.float32)
    onnx.save(chain_onnx([("hashed", N_IN, N_OUT, K, SEED, w, b)], input_shape=(N_IN,), flatten=False, banks=banks),
              str(tmp_path / "one.onnx"))
    build = make_build(tmp_path / "b", tmp_path / "one.onnx", precision=precision,
                       reuse_factor=7 if banks is None else None)

    probe = np.concatenate([np.zeros((1, N_IN)), np.eye(N_IN)]).astype(np.float32)
    y = load_build(build).predict(probe)
    recovered = (y[1:] - y[0]).T  # (N_OUT, N_IN): column i answers input i

    t = FixedType.parse(precision)
    expected = materialise(t.quantize(w), HashConfig((N_OUT, N_IN), SEED, K, 1 if banks is None else 2, banks or 1))
    np.testing.assert_array_equal(recovered, expected)
    np.testing.assert_array_equal(y[0], t.quantize(b))
    # The probe is informative: many buckets, both signs, and not the unhashed layout w[f mod K].
    assert len(np.unique(np.abs(recovered))) > K // 2
    assert (recovered > 0).any() and (recovered < 0).any()
    assert not np.array_equal(recovered.ravel(), t.quantize(w)[np.arange(N_IN * N_OUT) % K])
