"""A fixed-point twin: a torch model whose forward pass is bit-exact with the generated C++.

It follows docs/design.md "Fixed point" (as :mod:`hashhls.codegen.emulator`
does): quantised input, quantised weights and biases, exact accumulation (float64
holds every partial sum exactly for 16-bit types), one rounding/saturation to
the result type, exact ReLU. Every quantiser passes gradients straight through
(Bengio et al. 2013), so gradient attacks can be crafted on the hardware's
arithmetic itself.
"""

from __future__ import annotations

import torch
from torch import nn

from ...codegen.fixed import DEFAULT_PRECISION, FixedType, Overflow, Rounding
from ...errors import HashhlsError
from ..layers import HashedLinear


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


class _FixedLinear(nn.Module):
    def __init__(self, weight: torch.Tensor, bias: torch.Tensor, w_t: FixedType, b_t: FixedType, r_t: FixedType):
        super().__init__()
        self.register_buffer("weight", torch.from_numpy(w_t.quantize(weight.detach().double().numpy())))
        self.register_buffer("bias", torch.from_numpy(b_t.quantize(bias.detach().double().numpy())))
        self.r_t = r_t

    def forward(self, x):
        acc = x.double() @ self.weight.T + self.bias  # exact: integer codes times powers of two
        return quantize_ste(acc, self.r_t).float()


class _Quant(nn.Module):
    def __init__(self, t: FixedType):
        super().__init__()
        self.t = t

    def forward(self, x):
        return quantize_ste(x, self.t)


class FixedPointTwin(nn.Sequential):
    """Bit-exact fixed-point copy of an MLP (Flatten / Linear / HashedLinear / ReLU), at one precision."""

    def __init__(self, model: nn.Sequential, precision: FixedType | str = DEFAULT_PRECISION) -> None:
        t = FixedType.parse(precision) if isinstance(precision, str) else precision
        layers: list[nn.Module] = [_Quant(t)]
        from ..gi import fold_gi

        for m in fold_gi(model):
            if isinstance(m, (nn.Flatten, nn.ReLU)):
                layers.append(m)
            elif isinstance(m, (nn.Linear, HashedLinear)):
                w = m.virtual_weight() if isinstance(m, HashedLinear) else m.weight
                b = m.bias if m.bias is not None else torch.zeros(w.shape[0])
                layers.append(_FixedLinear(w, b, t, t, t))
            else:
                raise HashhlsError(f"the fixed-point twin does not support {type(m).__name__} yet")
        super().__init__(*layers)
