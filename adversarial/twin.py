"""A fixed-point twin: a torch model whose forward pass is bit-exact with the generated C++.

It follows docs/design.md "Fixed point" (as :mod:`hashhls.codegen.emulator`
does): quantised input, quantised weights and biases, exact accumulation (float64
holds every partial sum exactly for 16-bit types), one rounding/saturation to
the result type, exact ReLU and max pooling (a max of quantised values is one
of them). Linear and convolution layers (dense or hashed) share that
arithmetic; a hashed layer's virtual weights are ``sign(f) * q(w[bucket(f)])``,
its K buckets quantised first, as the C++ kernel and the emulator compute
them. Every quantiser passes gradients straight through (Bengio et al. 2013),
so gradient attacks can be crafted on the hardware's arithmetic itself.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..codegen.fixed import DEFAULT_PRECISION, FixedType, Overflow, Rounding
from ..core.errors import HashhlsError
from ..frontend.layers import HashedConv2d, HashedLinear


def quantize_ste(x: torch.Tensor, t: FixedType) -> torch.Tensor:
    """Quantise to ``t`` in the forward pass; identity gradient."""
    with torch.no_grad():
        s = x.double() * (2.0**t.frac)
        if t.rounding is Rounding.RND_CONV:
            r = torch.round(s)  # half to even, like AP_RND_CONV
        elif t.rounding is Rounding.RND:
            r = torch.floor(s + 0.5)
        else:
            r = torch.floor(s)
        if t.overflow is Overflow.SAT:
            r = r.clamp(t.code_min, t.code_max)
        else:
            span = 2.0**t.width
            r = torch.remainder(r - t.code_min, span) + t.code_min
        q = (r * t.lsb).to(x.dtype)
    return x + (q - x).detach()


def _quantized_weight(m: nn.Module, t: FixedType) -> torch.Tensor:
    """The layer's weight tensor (torch layout) quantised to ``t``, as float64.

    Dense layers quantise each weight. Hashed layers quantise the K buckets and
    then apply the signs: ``sign * q(w)``, which the C++ computes on integer
    codes, differs from ``q(sign * w)`` when a bucket saturates at the
    asymmetric negative end of the range.
    """
    if isinstance(m, (HashedLinear, HashedConv2d)):
        q = torch.from_numpy(t.quantize(m.weight.detach().double().numpy()))
        v = torch.index_select(q, 0, m._bucket) * m._sign.double()
        return v.view(m.hash.shape)
    return torch.from_numpy(t.quantize(m.weight.detach().double().numpy()))


def _quantized_bias(m: nn.Module, n: int, t: FixedType) -> torch.Tensor:
    if m.bias is None:
        return torch.zeros(n, dtype=torch.float64)
    return torch.from_numpy(t.quantize(m.bias.detach().double().numpy()))


class _FixedLinear(nn.Module):
    def __init__(self, weight: torch.Tensor, bias: torch.Tensor, r_t: FixedType):
        super().__init__()
        self.register_buffer("weight", weight)
        self.register_buffer("bias", bias)
        self.r_t = r_t

    def forward(self, x):
        acc = x.double() @ self.weight.T + self.bias  # exact: integer codes times powers of two
        return quantize_ste(acc, self.r_t).float()


class _FixedConv2d(nn.Module):
    """NCHW convolution (zero padding, stride), exact in float64, one conversion to the result type."""

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor, stride: tuple[int, int],
                 padding: tuple[int, int], r_t: FixedType):
        super().__init__()
        self.register_buffer("weight", weight)
        self.register_buffer("bias", bias)
        self.stride, self.padding, self.r_t = tuple(stride), tuple(padding), r_t

    def forward(self, x):
        # Exact: every product is an integer code times a power of two, and every partial sum of
        # 16-bit codes stays far below 2**53 (2**30 per product times fan-in), so the order of the
        # float64 additions does not matter.
        acc = F.conv2d(x.double(), self.weight, self.bias, self.stride, self.padding)
        return quantize_ste(acc, self.r_t).float()

    def extra_repr(self) -> str:
        return f"weight={tuple(self.weight.shape)}, stride={self.stride}, padding={self.padding}, result={self.r_t}"


def _pair(v) -> tuple[int, int]:
    return (int(v), int(v)) if isinstance(v, int) else (int(v[0]), int(v[1]))


def _check_conv(m: nn.Module) -> None:
    if isinstance(m, nn.Conv2d) and (m.groups != 1 or _pair(m.dilation) != (1, 1) or isinstance(m.padding, str)
                                     or m.padding_mode != "zeros"):
        raise HashhlsError(f"the fixed-point twin supports only plain convolutions (zero padding, no groups or "
                           f"dilation), got {m}")


def _check_pool(m: nn.MaxPool2d) -> None:
    if _pair(m.padding) != (0, 0) or _pair(m.dilation) != (1, 1) or m.ceil_mode or m.return_indices:
        raise HashhlsError(f"the fixed-point twin supports only MaxPool2d without padding, dilation or ceil_mode, "
                           f"got {m}")


class _Quant(nn.Module):
    def __init__(self, t: FixedType):
        super().__init__()
        self.t = t

    def forward(self, x):
        return quantize_ste(x, self.t)


class FixedPointTwin(nn.Sequential):
    """Bit-exact fixed-point copy of a zoo model, at one precision.

    Supported layers: Flatten, ReLU, Linear / HashedLinear, Conv2d / HashedConv2d
    (NCHW, stride, zero padding) and MaxPool2d (no padding). Weights, biases and
    every layer's result use the one type ``precision``.
    """

    def __init__(self, model: nn.Sequential, precision: FixedType | str = DEFAULT_PRECISION) -> None:
        t = FixedType.parse(precision) if isinstance(precision, str) else precision
        layers: list[nn.Module] = [_Quant(t)]
        from ..frontend.gi import fold_gi

        for m in fold_gi(model):
            if isinstance(m, (nn.Flatten, nn.ReLU)):
                layers.append(m)
            elif isinstance(m, nn.MaxPool2d):
                _check_pool(m)
                layers.append(nn.MaxPool2d(m.kernel_size, m.stride))
            elif isinstance(m, (nn.Linear, HashedLinear)):
                w = _quantized_weight(m, t)
                layers.append(_FixedLinear(w, _quantized_bias(m, w.shape[0], t), t))
            elif isinstance(m, (nn.Conv2d, HashedConv2d)):
                _check_conv(m)
                w = _quantized_weight(m, t)
                layers.append(_FixedConv2d(w, _quantized_bias(m, w.shape[0], t), _pair(m.stride),
                                           _pair(m.padding), t))
            else:
                raise HashhlsError(f"the fixed-point twin does not support {type(m).__name__} yet")
        super().__init__(*layers)
