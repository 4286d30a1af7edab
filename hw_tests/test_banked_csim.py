"""Hash version 2 through the C simulation: the banked kernels bit-exact with the emulator (every conv kind, both
I/O types, the bundled LeNet-5 on all 10,000 MNIST test images), a one-hot probe of the banked HashedConv2D,
and a differential test against hls4ml's stock Conv2D given the materialised kernel.

Oracles: the bit-exact emulator and the hash spec (frontend.hashing, checked against the committed vectors)
applied to the quantised bucket weights. The dense banked kernel's probe and stock-Dense differential test
are parametrized into test_onehot_probe.py and test_stock_dense_diff.py.
"""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from csim_helpers import REPO, chain_onnx, make_build

from hashhls.codegen.csim import load_build
from hashhls.codegen.emulator import Emulator
from hashhls.codegen.fixed import FixedType
from hashhls.codegen.manifest import BuildManifest
from hashhls.codegen.project import IOType
from hashhls.frontend.hashing import HashConfig, materialise

pytestmark = pytest.mark.csim

EVERY_CONV_KIND = [
    ("hashedconv", 1, 4, 3, 1, (1, 1, 1, 1), 20, 9), ("relu",), ("maxpool", 2, 2),   # 4 x 14 x 14
    ("conv", 4, 6, 3, 2, (0, 1, 1, 0)), ("relu",),                                   # 6 x 7 x 7
    ("hashedconv", 6, 5, 2, 1, (0, 0, 0, 0), 31, 4), ("relu",),                      # 5 x 6 x 6
    ("flatten",), ("hashed", 180, 10, 300, 2),
]
BANKS = [4, 7, 12]  # 9 taps over 4 lanes (3 steps, partial), 24 taps over 7, 180 inputs over 12


@pytest.mark.slow
@pytest.mark.parametrize("precision, io_type", [("ap_fixed<16,6,AP_RND_CONV,AP_SAT>", "io_parallel"),
                                               ("ap_fixed<12,3,AP_TRN,AP_WRAP>", "io_stream")])
def test_every_banked_kind_csim_equals_emulator(tmp_path, mnist_test, precision, io_type):
    onnx.save(chain_onnx(EVERY_CONV_KIND, flatten=False, scale=0.5, banks=BANKS), str(tmp_path / "conv.onnx"))
    build_dir = make_build(tmp_path / "b", tmp_path / "conv.onnx", precision=precision, io_type=IOType(io_type))
    manifest = BuildManifest.read(build_dir)
    assert [layer.attrs.get("banks") for layer in manifest.layers if layer.buckets] == BANKS
    cpp = (build_dir / "hls" / "firmware" / "myproject.cpp").read_text()
    assert "nnet::hashed_conv2d_banked_cl<" in cpp and "nnet::hashed_dense_banked<" in cpp
    assert ("hls::stream<" in cpp) == (io_type == "io_stream")
    wide = np.random.default_rng(5).uniform(-40, 40, (1000, 1, 28, 28)).astype(np.float32)
    x = np.concatenate([mnist_test[0][:3000], wide])
    got = load_build(build_dir).predict(x)
    expected = Emulator.from_build(build_dir).predict(x)
    np.testing.assert_array_equal(got, expected)
    assert len(np.unique(got)) > 100
    # the banked kernels' synthesis path (ap_fixed, one address per MAC) computes the same
    some = np.concatenate([x[:200], x[-200:]])
    np.testing.assert_array_equal(load_build(build_dir, defines=("HASHHLS_CSIM_APFIXED",)).predict(some),
                                  expected[np.r_[:200, len(x) - 200:len(x)]])


@pytest.mark.slow
def test_bundled_lenet5_csim_equals_emulator_on_all_mnist_test_images(tmp_path, mnist_test):
    build_dir = make_build(tmp_path / "b", REPO / "frontend" / "pretrained" / "lenet5-c8.pt", board="pynq-z2")
    assert {layer.attrs.get("hash_version") for layer in BuildManifest.read(build_dir).layers if layer.buckets} == {2}
    x, labels = mnist_test
    got = load_build(build_dir).predict(x)
    np.testing.assert_array_equal(got, Emulator.from_build(build_dir).predict(x))
    assert (got.argmax(1) == labels).mean() > 0.97


C_IN, C_OUT, KS, K, SEED, SIDE, P = 3, 4, 3, 41, 0xC0FFEE, 5, 6


@pytest.mark.parametrize("precision", ["ap_fixed<16,6,AP_RND_CONV,AP_SAT>", "ap_fixed<10,3,AP_RND_CONV,AP_SAT>"])
def test_one_hot_probe_recovers_the_banked_kernel(tmp_path, precision):
    """A one-hot input at the centre of channel c answers with kernel slice V[:, c] (flipped) around it."""
    rng = np.random.default_rng(4)
    w = rng.uniform(-1.5, 1.5, K).astype(np.float32)
    b = rng.uniform(-1, 1, C_OUT).astype(np.float32)
    layers = [("hashedconv", C_IN, C_OUT, KS, 1, (1, 1, 1, 1), K, SEED, w, b), ("flatten",)]
    onnx.save(chain_onnx(layers, input_shape=(C_IN, SIDE, SIDE), flatten=False, banks=P), str(tmp_path / "one.onnx"))
    build = make_build(tmp_path / "b", tmp_path / "one.onnx", precision=precision)
    assert "nnet::hashed_conv2d_banked_cl<" in (build / "hls" / "firmware" / "myproject.cpp").read_text()

    centre = SIDE // 2
    probe = np.zeros((1 + C_IN, C_IN, SIDE, SIDE), np.float32)
    for c in range(C_IN):
        probe[1 + c, c, centre, centre] = 1.0
    y = load_build(build).predict(probe).reshape(1 + C_IN, C_OUT, SIDE, SIDE)
    response = y[1:] - y[0]  # [c, o, oy, ox] = V[o, c, centre - oy + 1, centre - ox + 1]
    recovered = np.empty((C_OUT, C_IN, KS, KS))
    for ky in range(KS):
        for kx in range(KS):
            recovered[:, :, ky, kx] = response[:, :, centre + 1 - ky, centre + 1 - kx].T

    t = FixedType.parse(precision)
    expected = materialise(t.quantize(w), HashConfig((C_OUT, C_IN, KS, KS), SEED, K, version=2, banks=P))
    np.testing.assert_array_equal(recovered, expected)
    assert not np.array_equal(expected, materialise(t.quantize(w), HashConfig((C_OUT, C_IN, KS, KS), SEED, K)))
    assert (recovered > 0).any() and (recovered < 0).any()


@pytest.mark.parametrize("precision, io_type", [("ap_fixed<16,6,AP_RND_CONV,AP_SAT>", "io_parallel"),
                                               ("ap_fixed<12,4,AP_TRN,AP_WRAP>", "io_stream")])
def test_banked_conv_equals_stock_conv2d(tmp_path, precision, io_type):
    t = FixedType.parse(precision)
    rng = np.random.default_rng(11)
    kh, c_in, c_out, k, banks = 3, 2, 5, 37, 6
    w = t.quantize(rng.uniform(-1, 1, k)).astype(np.float32)
    b = t.quantize(rng.uniform(-1, 1, c_out)).astype(np.float32)
    v = materialise(w, HashConfig((c_out, c_in, kh, kh), 123, k, version=2, banks=banks))
    wd, bd = t.quantize(rng.uniform(-0.5, 0.5, (10, c_out * 4 * 4))), t.quantize(rng.uniform(-0.5, 0.5, 10))
    tail = [("relu",), ("maxpool", 2, 2), ("flatten",), ("dense", c_out * 16, 10, wd, bd)]
    hashed = chain_onnx([("hashedconv", c_in, c_out, kh, 1, (1, 1, 1, 1), k, 123, w, b), *tail],
                        input_shape=(c_in, 8, 8), flatten=False, banks=banks)
    dense = chain_onnx([("conv", c_in, c_out, kh, 1, (1, 1, 1, 1), v, b), *tail], input_shape=(c_in, 8, 8),
                       flatten=False)
    onnx.save(hashed, str(tmp_path / "h.onnx"))
    onnx.save(dense, str(tmp_path / "d.onnx"))
    bh = make_build(tmp_path / "bh", tmp_path / "h.onnx", precision=precision, io_type=IOType(io_type))
    bd_ = make_build(tmp_path / "bd", tmp_path / "d.onnx", precision=precision, reuse_factor=3,
                     io_type=IOType(io_type))
    assert "nnet::hashed_conv2d_banked_cl<" in (bh / "hls" / "firmware" / "myproject.cpp").read_text()
    x = rng.uniform(-6, 6, (2000, c_in, 8, 8)).astype(np.float32)
    yh, yd = load_build(bh).predict(x), load_build(bd_).predict(x)
    np.testing.assert_array_equal(yh, yd)
    assert len(np.unique(yh)) > 500
