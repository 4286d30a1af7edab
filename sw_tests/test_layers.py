"""HashedLinear / HashedConv2d: forward, gradients, state_dict."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from hashhls.frontend.hashing import HashConfig, materialise
from hashhls.frontend.layers import HashedConv2d, HashedLinear


def test_linear_forward_equals_dense_on_materialised_weight():
    torch.manual_seed(0)
    layer = HashedLinear(20, 7, buckets=13, seed=5)
    x = torch.randn(4, 20)
    dense = materialise(layer.weight.detach().numpy(), HashConfig((7, 20), 5, 13))
    expected = x @ torch.from_numpy(dense).T + layer.bias
    torch.testing.assert_close(layer(x), expected)
    assert layer.virtual_weight().shape == (7, 20)


def test_conv_forward_equals_dense_conv():
    torch.manual_seed(0)
    layer = HashedConv2d(3, 4, 3, stride=2, padding=1, buckets=11, seed=2)
    x = torch.randn(2, 3, 9, 9)
    dense = torch.from_numpy(materialise(layer.weight.detach().numpy(), HashConfig((4, 3, 3, 3), 2, 11)))
    torch.testing.assert_close(layer(x), F.conv2d(x, dense, layer.bias, 2, 1))


def test_only_k_parameters_are_stored():
    layer = HashedLinear(784, 300, compression=8, seed=1)
    assert layer.weight.numel() == 29400
    assert sum(p.numel() for p in layer.parameters()) == 29400 + 300
    sd = layer.state_dict()
    assert set(sd) == {"weight", "bias", "_extra_state"}
    assert sd["_extra_state"] == {"shape": [300, 784], "seed": 1, "buckets": 29400}


def test_bucket_gradient_is_the_signed_sum_over_its_positions():
    torch.manual_seed(0)
    layer = HashedLinear(6, 5, buckets=4, seed=9, bias=False)
    x = torch.randn(3, 6)
    g_out = torch.randn(3, 5)
    layer(x).backward(g_out)
    grad_v = (g_out.T @ x).numpy()  # dL/dV of a dense layer
    bucket, sign = HashConfig((5, 6), 9, 4).tables()
    expected = np.zeros(4)
    np.add.at(expected, bucket.ravel(), (sign * grad_v).ravel())
    np.testing.assert_allclose(layer.weight.grad.numpy(), expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("make", [lambda: HashedLinear(5, 4, buckets=6, seed=3),
                                  lambda: HashedConv2d(2, 3, 2, padding=1, buckets=7, seed=4)])
def test_gradcheck(make):
    torch.manual_seed(0)
    layer = make().double()
    shape = (2, 5) if isinstance(layer, HashedLinear) else (1, 2, 4, 4)
    x = torch.randn(*shape, dtype=torch.float64, requires_grad=True)
    params = (layer.weight, layer.bias)

    def f(inp, w, b):
        return torch.func.functional_call(layer, {"weight": w, "bias": b}, (inp,))

    assert torch.autograd.gradcheck(f, (x, *params))


def test_state_dict_round_trip_rebuilds_tables_with_weights_only():
    torch.manual_seed(0)
    a = HashedLinear(30, 10, buckets=17, seed=123)
    buf = io.BytesIO()
    torch.save(a.state_dict(), buf)
    buf.seek(0)
    b = HashedLinear(30, 10, buckets=17, seed=0)
    b.load_state_dict(torch.load(buf, weights_only=True))
    assert b.seed == 123
    x = torch.randn(2, 30)
    torch.testing.assert_close(a(x), b(x))


def test_state_dict_with_other_k_is_refused():
    a = HashedLinear(30, 10, buckets=17)
    b = HashedLinear(30, 10, buckets=18)
    with pytest.raises((ValueError, RuntimeError)):
        b.load_state_dict(a.state_dict())


@pytest.mark.parametrize("kwargs", [{"buckets": 0}, {"buckets": 201}, {"compression": 0.5}, {}])
def test_bad_bucket_arguments(kwargs):
    with pytest.raises(ValueError):
        HashedLinear(20, 10, **kwargs)


# -- hash version 2 (blocked) ----------------------------------------------------------------------------

def test_v2_linear_and_conv_compute_with_the_spec_tables():
    torch.manual_seed(0)
    lin = HashedLinear(20, 7, buckets=13, seed=5, hash_version=2, banks=4)
    x = torch.randn(4, 20)
    dense = materialise(lin.weight.detach().numpy(), HashConfig((7, 20), 5, 13, version=2, banks=4))
    torch.testing.assert_close(lin(x), x @ torch.from_numpy(dense).T + lin.bias)
    conv = HashedConv2d(3, 4, 3, padding=1, buckets=11, seed=2, hash_version=2, banks=9)
    xc = torch.randn(2, 3, 6, 6)
    kern = torch.from_numpy(materialise(conv.weight.detach().numpy(),
                                        HashConfig((4, 3, 3, 3), 2, 11, version=2, banks=9)))
    torch.testing.assert_close(conv(xc), F.conv2d(xc, kern, conv.bias, 1, 1))
    assert (lin.hash_version, lin.banks, conv.banks) == (2, 4, 9)


def test_v2_gradient_only_reaches_the_lanes_bank():
    # Input i of every output shares weights only within bank i mod P.
    layer = HashedLinear(8, 5, buckets=8, seed=1, bias=False, hash_version=2, banks=4)
    x = torch.zeros(1, 8)
    x[0, 2] = 1.0  # input 2 -> lane 2 -> bank 2 = buckets [4, 6)
    layer(x).sum().backward()
    touched = np.flatnonzero(layer.weight.grad.numpy())
    assert touched.size and set(touched) <= {4, 5}


def test_v2_state_dict_round_trip_and_mismatch():
    torch.manual_seed(0)
    a = HashedLinear(30, 10, buckets=17, seed=123, hash_version=2, banks=3)
    sd = a.state_dict()
    assert sd["_extra_state"] == {"shape": [10, 30], "seed": 123, "buckets": 17, "version": 2, "banks": 3}
    b = HashedLinear(30, 10, buckets=17, seed=0, hash_version=2, banks=3)
    b.load_state_dict(sd)
    x = torch.randn(2, 30)
    torch.testing.assert_close(a(x), b(x))
    for other in (HashedLinear(30, 10, buckets=17), HashedLinear(30, 10, buckets=17, hash_version=2, banks=5)):
        with pytest.raises((ValueError, RuntimeError)):
            other.load_state_dict(sd)


@pytest.mark.parametrize("kwargs", [dict(buckets=3, banks=4), dict(buckets=50, banks=21), dict(buckets=9, hash_version=7)])
def test_v2_bad_layer_arguments(kwargs):
    kwargs.setdefault("hash_version", 2)
    with pytest.raises(ValueError):
        HashedLinear(20, 10, **kwargs)
