"""The emulator against a scalar rational-arithmetic reading of docs/design.md "Fixed point".

The oracle below is written independently of codegen.fixed and codegen.emulator:
Python Fractions, one sample and one weight at a time, rounding by hand. Hashed
weights come from the spec (frontend.hashing.hash_flat, checked against the
committed vectors). No hls4ml or g++ needed: the manifest is made by hand.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from onnx_models import dense, hashed, mlp_onnx, relu

from hashhls.codegen.emulator import Emulator
from hashhls.codegen.manifest import BuildManifest, LayerInfo
from hashhls.core.errors import HashhlsError
from hashhls.frontend.hashing import hash_flat

N_IN, HID, N_OUT, K, SEED = 6, 5, 3, 7, 12345


def _oracle_quantise(v: Fraction, text: str) -> Fraction:
    """ap_fixed<W,I,Q,O> assignment, from the C++ semantics, for one rational value."""
    inner = text[text.index("<") + 1:text.rindex(">")].split(",")
    w, i = int(inner[0]), int(inner[1])
    q, o = inner[2].strip(), inner[3].strip()
    scaled = v * 2 ** (w - i)
    if q == "AP_RND_CONV":
        code = round(scaled)  # Python rounds a Fraction half to even
    elif q == "AP_RND":
        code = math.floor(scaled + Fraction(1, 2))
    else:
        code = math.floor(scaled)
    lo, hi = -(2 ** (w - 1)), 2 ** (w - 1) - 1
    if o == "AP_SAT":
        code = min(max(code, lo), hi)
    else:
        code = (code - lo) % 2**w + lo
    return Fraction(code, 2 ** (w - i))


def _oracle(model, x, p: dict) -> list[list[Fraction]]:
    inits = {t.name: np.frombuffer(t.raw_data, np.float32) if t.raw_data else np.array(t.float_data, np.float32)
             for t in model.graph.initializer}
    wh, bh = inits["W0"], inits["B0"]
    wd, bd = inits["W2"].reshape(N_OUT, HID), inits["B2"]
    out = []
    for sample in x:
        xs = [_oracle_quantise(Fraction(float(v)), p["input"]) for v in sample]
        h = []
        for o in range(HID):
            acc = _oracle_quantise(Fraction(float(bh[o])), p["bias"])
            for i in range(N_IN):
                bucket, sign = hash_flat(np.array([o * N_IN + i]), SEED, K)
                acc += int(sign[0]) * _oracle_quantise(Fraction(float(wh[bucket[0]])), p["weight"]) * xs[i]
            h.append(_oracle_quantise(acc, p["result"]))
        h = [_oracle_quantise(max(v, Fraction(0)), p["relu"]) for v in h]
        y = []
        for o in range(N_OUT):
            acc = _oracle_quantise(Fraction(float(bd[o])), p["bias"])
            for i in range(HID):
                acc += _oracle_quantise(Fraction(float(wd[o, i])), p["weight"]) * h[i]
            y.append(_oracle_quantise(acc, p["result"]))
        out.append(y)
    return out


def _setup(p: dict, accum: str = "ap_fixed<40,20,AP_TRN,AP_WRAP>"):
    model = mlp_onnx([hashed(N_IN, HID, K, seed=SEED, name="h"), relu("r"), dense(HID, N_OUT, name="d")],
                     input_shape=(N_IN,), scale=1.5, seed=4)
    dense_p = {"weight": p["weight"], "bias": p["bias"], "result": p["result"], "accum": accum}
    layers = [
        LayerInfo("flatten", "flatten", "flatten", N_IN, N_IN, precision={"result": p["input"]}),
        LayerInfo("h", "hashed_dense", "h", N_IN, HID, N_IN * HID, K, SEED, K, dict(dense_p)),
        LayerInfo("r", "relu", "r", HID, HID, precision={"result": p["relu"]}),
        LayerInfo("d", "dense", "d", HID, N_OUT, HID * N_OUT, HID * N_OUT, precision=dict(dense_p)),
    ]
    manifest = BuildManifest("none", "Vivado", "io_parallel", 1, [N_IN], N_OUT, p["input"], p["result"], layers,
                             "test", "0" * 64)
    return model, manifest


PRECISIONS = [
    dict(input="ap_fixed<16,6,AP_RND_CONV,AP_SAT>", weight="ap_fixed<16,6,AP_RND_CONV,AP_SAT>",
         bias="ap_fixed<16,6,AP_RND_CONV,AP_SAT>", result="ap_fixed<16,6,AP_RND_CONV,AP_SAT>",
         relu="ap_fixed<16,6,AP_RND_CONV,AP_SAT>"),
    dict(input="ap_fixed<8,3,AP_RND,AP_SAT>", weight="ap_fixed<7,2,AP_TRN,AP_SAT>",
         bias="ap_fixed<9,3,AP_RND_CONV,AP_WRAP>", result="ap_fixed<8,3,AP_TRN,AP_WRAP>",
         relu="ap_fixed<6,2,AP_RND_CONV,AP_SAT>"),
]


@pytest.mark.parametrize("p", PRECISIONS)
def test_emulator_matches_rational_oracle(p):
    model, manifest = _setup(p)
    x = np.random.default_rng(2).uniform(-9, 9, (150, N_IN)).astype(np.float32)
    x[:10] = np.round(x[:10] * 8) / 8 + 1 / 512  # near rounding ties of the narrow types
    emu = Emulator.from_model(manifest, model)
    got = emu.predict(x)
    expected = np.array([[float(v) for v in row] for row in _oracle(model, x, p)])
    np.testing.assert_array_equal(got, expected)
    assert got.dtype == np.float64 and got.shape == (150, N_OUT)
    np.testing.assert_array_equal(emu.predict_codes(x) * emu.output_type.lsb, got)


def test_int64_fallback_equals_float64_path():
    model, manifest = _setup(PRECISIONS[0])
    emu = Emulator.from_model(manifest, model)
    x = np.random.default_rng(3).uniform(-40, 40, (300, N_IN)).astype(np.float32)
    fast = emu.predict_codes(x)
    weighted = [layer for layer in emu.layers if hasattr(layer, "exact_f64")]
    assert len(weighted) == 2 and all(layer.exact_f64 for layer in weighted)
    for layer in weighted:
        layer.exact_f64 = False
    np.testing.assert_array_equal(emu.predict_codes(x), fast)


def test_bad_inputs_and_unsupported_builds_are_errors():
    model, manifest = _setup(PRECISIONS[0])
    emu = Emulator.from_model(manifest, model)
    with pytest.raises(HashhlsError, match=r"wrong input shape \(4, 7\)"):
        emu.predict(np.zeros((4, 7), np.float32))
    with pytest.raises(HashhlsError, match="floating point"):
        emu.predict(np.zeros((4, N_IN), np.int64))
    # An accumulator that would round products is refused rather than silently mis-modelled.
    model, manifest = _setup(PRECISIONS[0], accum="ap_fixed<30,20,AP_TRN,AP_WRAP>")
    with pytest.raises(HashhlsError, match="fewer fraction bits"):
        Emulator.from_model(manifest, model)
    model, manifest = _setup(PRECISIONS[0])
    manifest.layers[1].name = "other"
    with pytest.raises(HashhlsError, match="model.onnx has no hashed_dense node named 'other'"):
        Emulator.from_model(manifest, model)
    model, manifest = _setup(PRECISIONS[0])
    manifest.layers[2].kind = "maxpool2d"
    with pytest.raises(HashhlsError, match="model.onnx has no maxpool2d node"):
        Emulator.from_model(manifest, model)
    with pytest.raises(ValueError, match="unknown layer kind 'softmax'"):
        LayerInfo("r", "softmax", "r")  # a manifest naming a kind no op lowers to does not read


def test_from_build_errors(tmp_path):
    with pytest.raises(HashhlsError, match="build directory not found"):
        Emulator.from_build(tmp_path / "missing")
    with pytest.raises(HashhlsError, match="not a hashhls build directory"):
        Emulator.from_build(tmp_path)
    _, manifest = _setup(PRECISIONS[0])
    manifest.write(tmp_path)
    with pytest.raises(HashhlsError, match="no model.onnx"):
        Emulator.from_build(tmp_path)
    (tmp_path / "model.onnx").write_bytes(b"\x08\x07garbage")
    with pytest.raises(HashhlsError, match="cannot parse"):
        Emulator.from_build(tmp_path)
