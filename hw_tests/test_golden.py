"""Golden vectors for the default model, replayed through the C simulation.

hw_tests/golden/default_model.npz was written once by scripts/make_golden.py (the
emulator on a fresh build) and checked in: a regression in the generated C++, the
hash, the build flow or the fixed-point handling changes these codes.
"""

from __future__ import annotations

import numpy as np
import pytest
from csim_helpers import GOLDEN_DIR

from hashhls.codegen.csim import load_build
from hashhls.codegen.manifest import BuildManifest

pytestmark = pytest.mark.csim


@pytest.fixture(scope="module")
def golden():
    with np.load(GOLDEN_DIR / "default_model.npz", allow_pickle=False) as f:
        return {k: f[k] for k in f.files}


def test_golden_vectors_through_csim(default_build, golden):
    manifest = BuildManifest.read(default_build)
    # The same model and precisions as when the vectors were made (else: re-run scripts/make_golden.py).
    assert manifest.source_sha256 == str(golden["source_sha256"])
    assert manifest.input_precision == str(golden["input_precision"])
    assert manifest.output_precision == str(golden["output_precision"])

    model = load_build(default_build)
    codes = model.predict_codes(golden["x"])
    np.testing.assert_array_equal(codes, golden["codes"])
    # predict() is exactly codes * 2^-frac.
    np.testing.assert_array_equal(model.predict(golden["x"]), golden["codes"] * model.output_type.lsb)


def test_golden_vectors_are_meaningful(golden):
    x, codes, labels = golden["x"], golden["codes"], golden["labels"]
    assert x.shape == (64, 1, 28, 28) and x.dtype == np.float32 and codes.shape == (64, 10)
    assert (codes[:48].argmax(1) == labels).mean() > 0.9  # a trained model on real digits
    assert np.abs(x[48:]).max() > 32  # the wide inputs saturate ap_fixed<16,6>
