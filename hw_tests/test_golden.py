"""Golden vectors for the bundled default model and the bundled LeNet-5, replayed through the C simulation.

hw_tests/golden/*.npz were written once by scripts/make_golden.py (the emulator on a fresh build) and checked
in: a regression in the generated C++, the hash, the build flow or the fixed-point handling changes these codes.
The bundled models are hash version 2; ``v1_*.npz`` were written before version 2 existed, for the then-bundled
hash-version-1 checkpoints now kept in hw_tests/data/v1/: they show that v1 checkpoints still build unchanged.
"""

from __future__ import annotations

import numpy as np
import pytest
from csim_helpers import GOLDEN_DIR, REPO, make_build

from hashhls.codegen.csim import load_build
from hashhls.codegen.manifest import BuildManifest

pytestmark = pytest.mark.csim

LENET = REPO / "frontend" / "pretrained" / "lenet5-c8.pt"
V1 = REPO / "hw_tests" / "data" / "v1"


def _golden(name: str) -> dict:
    with np.load(GOLDEN_DIR / name, allow_pickle=False) as f:
        return {k: f[k] for k in f.files}


@pytest.fixture(scope="module")
def lenet_build(tmp_path_factory):
    return make_build(tmp_path_factory.mktemp("lenet") / "build", LENET, board="pynq-z2")


@pytest.fixture(scope="module")
def v1_default_build(tmp_path_factory):
    return make_build(tmp_path_factory.mktemp("v1mlp") / "build", V1 / "mnist-mlp-c8-v1.pt", board="pynq-z2")


@pytest.fixture(scope="module")
def v1_lenet_build(tmp_path_factory):
    return make_build(tmp_path_factory.mktemp("v1lenet") / "build", V1 / "lenet5-c8-v1.pt", board="pynq-z2")


@pytest.mark.parametrize("name, build_fixture", [("default_model.npz", "default_build"),
                                                 ("lenet5_model.npz", "lenet_build"),
                                                 ("v1_default_model.npz", "v1_default_build"),
                                                 ("v1_lenet5_model.npz", "v1_lenet_build")])
def test_golden_vectors_through_csim(name, build_fixture, request):
    golden = _golden(name)
    build_dir = request.getfixturevalue(build_fixture)
    manifest = BuildManifest.read(build_dir)
    # The same model and precisions as when the vectors were made (else: re-run scripts/make_golden.py).
    assert manifest.source_sha256 == str(golden["source_sha256"])
    assert manifest.input_precision == str(golden["input_precision"])
    assert manifest.output_precision == str(golden["output_precision"])

    versions = {layer.attrs.get("hash_version", 1) for layer in manifest.layers if layer.buckets}
    assert versions == ({1} if name.startswith("v1_") else {2})
    model = load_build(build_dir)
    codes = model.predict_codes(golden["x"])
    np.testing.assert_array_equal(codes, golden["codes"])
    # predict() is exactly codes * 2^-frac.
    np.testing.assert_array_equal(model.predict(golden["x"]), golden["codes"] * model.output_type.lsb)


@pytest.mark.parametrize("name", ["default_model.npz", "lenet5_model.npz", "v1_default_model.npz",
                                  "v1_lenet5_model.npz"])
def test_golden_vectors_are_meaningful(name):
    golden = _golden(name)
    x, codes, labels = golden["x"], golden["codes"], golden["labels"]
    assert x.shape == (64, 1, 28, 28) and x.dtype == np.float32 and codes.shape == (64, 10)
    assert (codes[:48].argmax(1) == labels).mean() > 0.9  # a trained model on real digits
    assert np.abs(x[48:]).max() > 32  # the wide inputs saturate ap_fixed<16,6>
