"""Precision planning: exact accumulators, overrides and ``--precision auto``."""

from __future__ import annotations

import numpy as np
import pytest
from onnx_models import dense, hashed, mlp_onnx, relu

from hashhls.codegen.fixed import FixedType
from hashhls.codegen.ingest import ingest
from hashhls.codegen.precision import (AUTO, accum_type, layer_specs, parse_overrides, parse_type,
                                       plan_precision)
from hashhls.frontend.hashing import materialise
from hashhls.core.errors import HashhlsError


@pytest.mark.parametrize("x,w,b,n", [("ap_fixed<16,6>", "ap_fixed<16,6>", "ap_fixed<16,6>", 784),
                                     ("ap_ufixed<8,0>", "ap_fixed<8,3>", "ap_fixed<12,8>", 5),
                                     ("ap_fixed<10,2>", "ap_fixed<18,1>", "ap_fixed<20,12>", 1)])
def test_accumulator_holds_the_extreme_sums_exactly(x, w, b, n):
    tx, tw, tb = FixedType.parse(x), FixedType.parse(w), FixedType.parse(b)
    acc = accum_type(tx, tw, tb, n)
    # Oracle: Python integers. Every product of extreme codes, summed n times, plus the extreme bias.
    scale = 2 ** acc.frac
    for cx in (tx.code_min, tx.code_max):
        for cw in (tw.code_min, tw.code_max):
            for cb in (tb.code_min, tb.code_max):
                total = n * cx * cw * 2 ** (acc.frac - tx.frac - tw.frac) + cb * 2 ** (acc.frac - tb.frac)
                assert acc.code_min <= total <= acc.code_max
                assert float(total) / scale == pytest.approx(n * (cx * tx.lsb) * (cw * tw.lsb) + cb * tb.lsb)
    assert acc.frac >= tx.frac + tw.frac and acc.frac >= tb.frac


def test_parse_type_defaults_to_safe_modes_and_refuses_garbage():
    assert parse_type("ap_fixed<12,4>").cpp() == "ap_fixed<12,4,AP_RND_CONV,AP_SAT>"
    assert parse_type("ap_fixed<12,4,AP_TRN,AP_WRAP>").cpp() == "ap_fixed<12,4,AP_TRN,AP_WRAP>"
    for bad in ("float", "ap_fixed<12>", "ap_fixed<4,0>", "ap_fixed<4,6>"):
        with pytest.raises(HashhlsError):
            parse_type(bad)


def test_overrides_parse_tensor_and_layer():
    o = parse_overrides(["fc1=ap_fixed<12,4>", "fc2.result=ap_fixed<18,8>"])
    assert set(o["fc1"]) == {"weight", "bias", "result"} and set(o["fc2"]) == {"result"}
    with pytest.raises(HashhlsError):
        parse_overrides(["fc1.accum=ap_fixed<12,4>"])


def test_auto_precision_covers_the_calibration_range():
    model = ingest(mlp_onnx([hashed(16, 8, 40, seed=2, name="fc1"), relu(name="r"), dense(8, 3, name="fc2")],
                            input_shape=(16,), scale=2.0))
    specs = layer_specs(model)
    x = np.random.default_rng(0).uniform(0, 4, (200, 16))
    plan = plan_precision(specs, [16], AUTO, calibration=x)
    # Independent float reference of fc1 from the spec's materialised weights.
    fc1 = specs[1]
    ref = x @ materialise(fc1.weight.astype(np.float64), fc1.hash).T + fc1.bias
    t = plan.layers["fc1"].result
    assert t.overflows(ref) == 0
    assert FixedType(t.width, t.integer - 1).overflows(ref) > 0  # and not one bit more than needed
    rows = {(r.layer, r.tensor): r for r in plan.profile}
    assert rows[("fc1", "result")].max_abs == pytest.approx(np.abs(ref).max())
    assert rows[("fc1", "result")].overflows_chosen == 0
    assert plan.input.max_value >= 4 - plan.input.lsb


def test_auto_precision_on_bundled_mnist_for_a_784_input_model():
    model = ingest(mlp_onnx([hashed(784, 10, 300, seed=2, name="fc1")]))
    plan = plan_precision(layer_specs(model), [1, 28, 28], AUTO)
    assert plan.input.integer == 2  # MNIST pixels reach 1.0, which needs 2 integer bits
    assert all(r.overflows_chosen == 0 for r in plan.profile)
