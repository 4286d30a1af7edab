"""Convolutions through the C simulation: csim vs emulator, a one-hot probe of HashedConv2D, and a
differential test against hls4ml's stock Conv2D given the materialised kernel.

The models are built by the real flow (channels-last hls4ml project, g++); the
oracles are the bit-exact emulator (NCHW numpy integer arithmetic) and the hash
spec applied to the quantised bucket weights.
"""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from csim_helpers import chain_onnx, make_build

from hashhls.codegen.csim import load_build
from hashhls.codegen.emulator import Emulator
from hashhls.codegen.fixed import FixedType
from hashhls.codegen.manifest import BuildManifest
from hashhls.codegen.project import IOType
from hashhls.frontend.hashing import HashConfig, materialise

pytestmark = pytest.mark.csim

# Every spatial kind, with stride, symmetric and asymmetric padding, then a hashed dense classifier.
EVERY_CONV_KIND = [
    ("hashedconv", 1, 4, 3, 1, (1, 1, 1, 1), 20, 9), ("relu",), ("maxpool", 2, 2),   # 4 x 14 x 14
    ("conv", 4, 6, 3, 2, (0, 1, 1, 0)), ("relu",),                                   # 6 x 7 x 7
    ("hashedconv", 6, 5, 2, 1, (0, 0, 0, 0), 31, 4), ("relu",),                      # 5 x 6 x 6
    ("flatten",), ("hashed", 180, 10, 300, 2),
]


@pytest.mark.slow
@pytest.mark.parametrize("precision, io_type", [("ap_fixed<16,6,AP_RND_CONV,AP_SAT>", "io_parallel"),
                                               ("ap_fixed<12,3,AP_TRN,AP_WRAP>", "io_parallel"),
                                               ("ap_fixed<16,6,AP_RND_CONV,AP_SAT>", "io_stream")])
def test_every_conv_kind_csim_equals_emulator(tmp_path, mnist_test, precision, io_type):
    onnx.save(chain_onnx(EVERY_CONV_KIND, flatten=False, scale=0.5), str(tmp_path / "conv.onnx"))
    build_dir = make_build(tmp_path / "b", tmp_path / "conv.onnx", precision=precision, reuse_factor=5,
                           io_type=IOType(io_type))
    manifest = BuildManifest.read(build_dir)
    assert manifest.input_layout == "NHWC" and manifest.io_type == io_type
    kinds = [layer.kind for layer in manifest.layers]
    assert {"hashed_conv2d", "conv2d", "maxpool2d", "relu", "flatten", "hashed_dense"} <= set(kinds)
    cpp = (build_dir / "hls" / "firmware" / "myproject.cpp").read_text()
    assert "nnet::hashed_conv2d_cl<" in cpp and "nnet::pooling2d_cl<" in cpp
    assert ("hls::stream<" in cpp) == (io_type == "io_stream")

    # All 10,000 test images, plus wide random inputs that overflow the input type (saturation / wrap paths).
    wide = np.random.default_rng(5).uniform(-40, 40, (1000, 1, 28, 28)).astype(np.float32)
    x = np.concatenate([mnist_test[0], wide])
    assert (np.abs(wide) > FixedType.parse(precision).max_value).any()
    got = load_build(build_dir).predict(x)
    expected = Emulator.from_build(build_dir).predict(x)
    np.testing.assert_array_equal(got, expected)
    assert len(np.unique(got)) > 100  # a non-degenerate network
    # The hashed kernels' synthesis path (ap_fixed accumulation, hash per MAC) computes the same.
    some = np.concatenate([x[:300], x[-300:]])
    np.testing.assert_array_equal(load_build(build_dir, defines=("HASHHLS_CSIM_APFIXED",)).predict(some),
                                  expected[np.r_[:300, len(x) - 300:len(x)]])


C_IN, C_OUT, KS, K, SEED, SIDE = 3, 4, 3, 41, 0xC0FFEE, 5


@pytest.mark.parametrize("precision", ["ap_fixed<16,6,AP_RND_CONV,AP_SAT>", "ap_fixed<10,3,AP_RND_CONV,AP_SAT>"])
def test_one_hot_probe_recovers_the_quantised_virtual_kernel(tmp_path, precision):
    """A one-hot input at the centre of channel c answers with kernel slice V[:, c] (flipped) around it."""
    rng = np.random.default_rng(4)
    w = rng.uniform(-1.5, 1.5, K).astype(np.float32)
    b = rng.uniform(-1, 1, C_OUT).astype(np.float32)
    layers = [("hashedconv", C_IN, C_OUT, KS, 1, (1, 1, 1, 1), K, SEED, w, b), ("flatten",)]
    onnx.save(chain_onnx(layers, input_shape=(C_IN, SIDE, SIDE), flatten=False), str(tmp_path / "one.onnx"))
    build = make_build(tmp_path / "b", tmp_path / "one.onnx", precision=precision, reuse_factor=4)

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
    expected = materialise(t.quantize(w), HashConfig((C_OUT, C_IN, KS, KS), SEED, K))
    np.testing.assert_array_equal(recovered, expected)
    np.testing.assert_array_equal(y[0].reshape(C_OUT, -1)[:, centre * SIDE + centre], t.quantize(b))
    # Informative: many buckets, both signs, not the unhashed layout w[f mod K].
    assert len(np.unique(np.abs(recovered))) > K // 2
    assert (recovered > 0).any() and (recovered < 0).any()
    assert not np.array_equal(recovered.ravel(), t.quantize(w)[np.arange(recovered.size) % K])


@pytest.mark.parametrize("precision, io_type", [("ap_fixed<16,6,AP_RND_CONV,AP_SAT>", "io_parallel"),
                                               ("ap_fixed<12,4,AP_TRN,AP_WRAP>", "io_parallel"),
                                               ("ap_fixed<12,4,AP_TRN,AP_WRAP>", "io_stream")])
def test_hashed_conv_equals_stock_conv2d(tmp_path, precision, io_type):
    """The same network with HashedConv2D (K words, addresses on chip) and with hls4ml's stock Conv2D
    holding the materialised kernel: bit-identical C simulations."""
    t = FixedType.parse(precision)
    rng = np.random.default_rng(11)
    kh, c_in, c_out, k = 3, 2, 5, 37
    w = t.quantize(rng.uniform(-1, 1, k)).astype(np.float32)  # on the grid: both flows store the same values
    b = t.quantize(rng.uniform(-1, 1, c_out)).astype(np.float32)
    v = materialise(w, HashConfig((c_out, c_in, kh, kh), 123, k))
    wd, bd = t.quantize(rng.uniform(-0.5, 0.5, (10, c_out * 4 * 4))), t.quantize(rng.uniform(-0.5, 0.5, 10))
    tail = [("relu",), ("maxpool", 2, 2), ("flatten",), ("dense", c_out * 16, 10, wd, bd)]
    hashed = chain_onnx([("hashedconv", c_in, c_out, kh, 1, (1, 1, 1, 1), k, 123, w, b), *tail],
                        input_shape=(c_in, 8, 8), flatten=False)
    dense = chain_onnx([("conv", c_in, c_out, kh, 1, (1, 1, 1, 1), v, b), *tail], input_shape=(c_in, 8, 8),
                       flatten=False)
    onnx.save(hashed, str(tmp_path / "h.onnx"))
    onnx.save(dense, str(tmp_path / "d.onnx"))
    bh = make_build(tmp_path / "bh", tmp_path / "h.onnx", precision=precision, reuse_factor=3,
                    io_type=IOType(io_type))
    bd_ = make_build(tmp_path / "bd", tmp_path / "d.onnx", precision=precision, reuse_factor=3,
                     io_type=IOType(io_type))
    assert "nnet::conv_2d_cl<" in (bd_ / "hls" / "firmware" / "myproject.cpp").read_text()
    assert "nnet::hashed_conv2d_cl<" in (bh / "hls" / "firmware" / "myproject.cpp").read_text()

    x = rng.uniform(-6, 6, (2000, c_in, 8, 8)).astype(np.float32)  # overflows the result types
    yh, yd = load_build(bh).predict(x), load_build(bd_).predict(x)
    np.testing.assert_array_equal(yh, yd)
    assert len(np.unique(yh)) > 500


def test_mlp_in_io_stream_equals_emulator(tmp_path, mnist_test):
    """io_stream for dense layers too: the hashed kernel behind FIFOs, VivadoAccelerator's AXI-stream wrapper."""
    layers = [("hashed", 784, 64, 1500, 7), ("relu",), ("dense", 64, 32), ("relu",), ("hashed", 32, 10, 64, 3)]
    onnx.save(chain_onnx(layers, scale=0.3), str(tmp_path / "mlp.onnx"))
    build_dir = make_build(tmp_path / "b", tmp_path / "mlp.onnx", board="pynq-z2", io_type=IOType.STREAM)
    assert BuildManifest.read(build_dir).input_layout == "flat"
    assert "hls::stream<" in (build_dir / "hls" / "firmware" / "myproject.h").read_text()
    assert (build_dir / "hls" / "firmware" / "myproject_axi.cpp").is_file()
    x = mnist_test[0][:2000]
    np.testing.assert_array_equal(load_build(build_dir).predict(x), Emulator.from_build(build_dir).predict(x))
