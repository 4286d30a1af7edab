"""The fixed-point twin on convolutional networks, against an independent int64 computation.

The reference below works on integer codes only (``value = code * 2**-frac``):
an explicit sum over kernel offsets in int64, one rounding (half to even) and
saturation to the result type, ReLU and max pooling on codes. It shares no
code with the twin (which runs the emulator's layers, planned in memory as a build would be).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from hashhls.codegen.fixed import FixedType
from hashhls.core.errors import HashhlsError
from hashhls.adversarial.attacks import FixedPointTwin, make_attack
from hashhls.frontend.hashing import materialise
from hashhls.frontend.layers import HashedConv2d, HashedLinear
from hashhls.frontend.zoo import ModelConfig, build_model

T = FixedType.parse("ap_fixed<16,6,AP_RND_CONV,AP_SAT>")
FRAC = 10  # 16 - 6
CODE_MIN, CODE_MAX = -(2**15), 2**15 - 1


# -- the independent integer reference --------------------------------------------------------

def _codes(x: np.ndarray) -> np.ndarray:
    """float -> int64 codes (round half to even, saturate): only for weights and inputs."""
    return np.clip(np.rint(np.asarray(x, np.float64) * 2**FRAC), CODE_MIN, CODE_MAX).astype(np.int64)


def _round_shift(acc: np.ndarray, shift: int) -> np.ndarray:
    """Integer ``acc / 2**shift`` rounded half to even, then saturated to 16 bits."""
    q, r = np.divmod(acc, 2**shift)  # floor division: r in [0, 2**shift)
    half = 2 ** (shift - 1)
    q = q + ((r > half) | ((r == half) & (q % 2 == 1)))
    return np.clip(q, CODE_MIN, CODE_MAX)


def _conv_codes(x: np.ndarray, w: np.ndarray, b: np.ndarray, stride: int, pad: int) -> np.ndarray:
    """NCHW convolution of int64 codes; result codes at FRAC (bias codes are at FRAC too)."""
    n, c, h, wd = x.shape
    o, _, kh, kw = w.shape
    xp = np.zeros((n, c, h + 2 * pad, wd + 2 * pad), np.int64)
    xp[:, :, pad:pad + h, pad:pad + wd] = x
    oh, ow = (h + 2 * pad - kh) // stride + 1, (wd + 2 * pad - kw) // stride + 1
    acc = np.zeros((n, o, oh, ow), np.int64) + (b.astype(np.int64) << FRAC)[None, :, None, None]
    for ky in range(kh):
        for kx in range(kw):
            patch = xp[:, :, ky:ky + stride * oh:stride, kx:kx + stride * ow:stride]  # n, c, oh, ow
            acc += np.einsum("nchw,oc->nohw", patch, w[:, :, ky, kx])
    return _round_shift(acc, FRAC)


def _linear_codes(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
    return _round_shift(x @ w.T + (b.astype(np.int64) << FRAC), FRAC)


def _maxpool_codes(x: np.ndarray, k: int) -> np.ndarray:
    n, c, h, w = x.shape
    return x[:, :, :h // k * k, :w // k * k].reshape(n, c, h // k, k, w // k, k).max(axis=(3, 5))


def _weight_codes(m: nn.Module) -> np.ndarray:
    """Integer weight codes; a hashed layer's buckets are quantised, then signed (the C++ kernel's order)."""
    w = _codes(m.weight.detach().numpy())
    if isinstance(m, (HashedLinear, HashedConv2d)):
        return materialise(w, m.hash).reshape(m.hash.shape)
    return w


def _reference(model: nn.Sequential, x: np.ndarray) -> np.ndarray:
    """The whole network in int64 codes; returns the output codes."""
    a = _codes(x)
    for m in model:
        if isinstance(m, (nn.Conv2d, HashedConv2d)):
            a = _conv_codes(a, _weight_codes(m), _codes(m.bias.detach().numpy()), m.stride[0], m.padding[0])
        elif isinstance(m, (nn.Linear, HashedLinear)):
            a = _linear_codes(a, _weight_codes(m), _codes(m.bias.detach().numpy()))
        elif isinstance(m, nn.ReLU):
            a = np.maximum(a, 0)
        elif isinstance(m, nn.MaxPool2d):
            a = _maxpool_codes(a, m.kernel_size)
        elif isinstance(m, nn.Flatten):
            a = a.reshape(len(a), -1)
        else:
            raise AssertionError(type(m))
    return a


def _twin_codes(twin: nn.Module, x: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        y = twin(torch.from_numpy(x)).double().numpy() * 2**FRAC
    assert np.array_equal(y, np.round(y))  # on the grid
    return y.astype(np.int64)


def _randomize(model: nn.Module, rng: np.random.Generator, scale: float) -> None:
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.from_numpy(rng.uniform(-scale, scale, tuple(p.shape)).astype(np.float32)))


# -- tests ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("hashed,stride,pad", [(False, 1, 0), (False, 2, 1), (True, 1, 2), (True, 2, 1)])
def test_conv_layer_is_bit_exact_with_int64_codes(hashed, stride, pad):
    rng = np.random.default_rng(stride * 10 + pad + hashed)
    conv = (HashedConv2d(3, 5, 3, stride=stride, padding=pad, compression=4, seed=7) if hashed
            else nn.Conv2d(3, 5, 3, stride=stride, padding=pad))
    _randomize(conv, rng, 0.5)
    # Random inputs on the 16-bit grid, plus a few off-grid values the input quantiser must round.
    x = (rng.integers(CODE_MIN, CODE_MAX + 1, (6, 3, 11, 11)) / 2**FRAC).astype(np.float32)
    x[0, 0, 0, :4] = [0.00048828125, -0.00146484375, 40.0, -40.0]  # ties at half an LSB, and saturation
    model = nn.Sequential(conv, nn.Flatten())  # a build's output is flat
    got, ref = _twin_codes(FixedPointTwin(model, T), x), _reference(model, x)
    np.testing.assert_array_equal(got, ref)
    # The case exercises rounding and both saturation ends, not only the easy middle of the range.
    assert (ref == CODE_MAX).any() and (ref == CODE_MIN).any()
    assert ((ref > CODE_MIN) & (ref < CODE_MAX)).mean() > 0.3


def test_whole_lenet5_twin_is_bit_exact_with_int64_codes():
    rng = np.random.default_rng(1)
    for compression in (1, 8):
        model = build_model(ModelConfig("lenet5", compression=compression, seed=3)).eval()
        _randomize(model, rng, 0.5)
        x = rng.uniform(0, 1, (8, 1, 28, 28)).astype(np.float32)
        ref = _reference(model, x)
        np.testing.assert_array_equal(_twin_codes(FixedPointTwin(model, T), x), ref)
        assert len(np.unique(ref)) > 20  # a non-degenerate output


def test_maxpool_is_the_max_of_quantized_values():
    rng = np.random.default_rng(2)
    x = rng.uniform(-3, 3, (4, 2, 8, 8)).astype(np.float32)
    ident = nn.Conv2d(2, 2, 1)  # a build needs a weighted layer: a 1x1 identity convolution, exact on the grid
    with torch.no_grad():
        ident.weight.copy_(torch.eye(2).view(2, 2, 1, 1))
        ident.bias.zero_()
    got = _twin_codes(FixedPointTwin(nn.Sequential(ident, nn.MaxPool2d(2), nn.Flatten()), T), x)
    np.testing.assert_array_equal(got, _maxpool_codes(_codes(x), 2).reshape(len(x), -1))


def test_hashed_buckets_are_quantized_before_the_sign():
    """A bucket at the type's minimum is -2**15 codes; a -1 sign then gives +2**15 (as the C++ computes it).

    (A bucket below the minimum is refused by the build's precision check, so the twin never sees one.)"""
    lin = HashedLinear(8, 4, buckets=3, seed=0)
    with torch.no_grad():
        lin.weight.copy_(torch.tensor([-32.0, 0.5, 0.25]))
        lin.bias.zero_()
    twin = FixedPointTwin.from_module(nn.Sequential(lin), (8,), T)
    (layer,) = twin.emulator.layers
    v = layer.weight.reshape(lin.hash.shape)  # integer codes of the virtual weights, as the C++ computes them
    bucket, sign = (a.reshape(lin.hash.shape) for a in lin.hash.tables())
    neg = (bucket == 0) & (sign < 0)
    assert neg.any()
    np.testing.assert_array_equal(v[neg], 2**15)  # one above the 16-bit maximum code
    np.testing.assert_array_equal(v[(bucket == 0) & (sign > 0)], -(2**15))


def test_twin_refuses_what_the_hardware_does_not_compute():
    # refused by the build's own checks (codegen.geometry / ingest), the one place they live
    for m in (nn.MaxPool2d(3, ceil_mode=True), nn.Conv2d(2, 2, 3, groups=2), nn.Conv2d(1, 2, 3, dilation=2)):
        with pytest.raises(HashhlsError):
            FixedPointTwin.from_module(nn.Sequential(m, nn.Flatten()), (2, 8, 8))


@pytest.mark.parametrize("pool", [nn.MaxPool2d(2, padding=1), nn.AvgPool2d(2)], ids=["maxpool-pad", "avgpool"])
def test_twin_of_the_op_table_pools_is_the_emulator_with_gradients(pool):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 3, 3), nn.ReLU(), pool, nn.Flatten()).eval()
    twin = FixedPointTwin.from_module(model, (1, 8, 8))
    x = torch.rand(5, 1, 8, 8, dtype=torch.float64, requires_grad=True)
    out = twin(x)
    np.testing.assert_array_equal(out.detach().numpy(), twin.emulator.predict(x.detach().numpy().astype(np.float32)))
    out.sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


def test_fgsm_runs_on_a_lenet5_twin():
    from hashhls.frontend.checkpoint import load_checkpoint
    from hashhls.frontend.datasets import load_mnist
    from hashhls.frontend.zoo import lenet5_checkpoint

    model, _ = load_checkpoint(lenet5_checkpoint())
    twin = FixedPointTwin(model).eval()
    x, y = (torch.from_numpy(a) for a in load_mnist(split="test", limit=100))
    with torch.no_grad():
        ok = twin(x).argmax(1) == y
    assert ok.float().mean() > 0.95
    x_adv = make_attack("fgsm", twin, eps=0.1)(x[ok], y[ok])
    assert (x_adv - x[ok]).abs().max() <= 0.1 + 1e-6
    with torch.no_grad():
        adv_ok = (twin(x_adv).argmax(1) == y[ok]).float().mean().item()
        g = torch.Generator().manual_seed(0)
        noise = torch.clamp(x[ok] + 0.1 * torch.sign(torch.randn(x[ok].shape, generator=g)), 0, 1)
        noise_ok = (twin(noise).argmax(1) == y[ok]).float().mean().item()
    # The straight-through gradient points somewhere useful: FGSM hurts far more than sign noise of the same size.
    assert adv_ok < noise_ok - 0.1, (adv_ok, noise_ok)


def test_backward_is_the_float_op_on_the_weights_the_hardware_holds():
    """Without ReLU the straight-through gradient is plain linear algebra: d(v . twin(x))/dx = v W2q W1q, with the
    weights the hardware holds (buckets quantised, then signed). It would catch a backward on other weights (the
    float ones differ by up to half an LSB each) or one that is not the layer's own float op."""
    torch.manual_seed(0)
    lin1, lin2 = HashedLinear(16, 8, buckets=20, seed=3), nn.Linear(8, 4)
    twin = FixedPointTwin.from_module(nn.Sequential(nn.Flatten(), lin1, lin2), (1, 4, 4), T)
    x = torch.rand(3, 1, 4, 4, dtype=torch.float64, requires_grad=True)
    v = torch.randn(3, 4, dtype=torch.float64)
    (twin(x) * v).sum().backward()
    w1, w2 = (_weight_codes(m) * 2.0**-FRAC for m in (lin1, lin2))
    np.testing.assert_allclose(x.grad.numpy(), (v.numpy() @ w2 @ w1).reshape(3, 1, 4, 4), rtol=0, atol=1e-12)
    w1f, w2f = (materialise(lin1.weight.detach().double().numpy(), lin1.hash), lin2.weight.detach().double().numpy())
    assert np.abs(x.grad.numpy() - (v.numpy() @ w2f @ w1f).reshape(3, 1, 4, 4)).max() > 1e-6  # the test can tell
