"""The rules one layer's types follow: its :class:`LayerPrecision`, the exact accumulator, fit checks, and the
:class:`PlanContext` through which an op table entry chooses its types.

:mod:`hashhls.codegen.precision` runs the plan over a model; each op entry's
``plan`` hook (``hashhls.codegen.ops``) decides its own layer with these rules.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..core.errors import PrecisionError
from .fixed import FixedType, Overflow, Rounding

#: Width kept by ``--precision auto`` (it only moves the binary point).
AUTO_WIDTH = 16


@dataclass
class LayerPrecision:
    """The types of one layer's tensors. ``extra`` holds kind-specific ones (a lookup table, a parameter)."""

    weight: FixedType | None
    bias: FixedType | None
    result: FixedType
    accum: FixedType | None
    extra: dict[str, FixedType] = field(default_factory=dict)

    def as_strings(self) -> dict[str, str]:
        d = {"weight": self.weight, "bias": self.bias, "result": self.result, "accum": self.accum, **self.extra}
        return {k: v.cpp() for k, v in d.items() if v is not None}


@dataclass
class ProfileRow:
    layer: str
    tensor: str
    max_abs: float
    chosen: str
    overflows_default: int
    overflows_chosen: int


def accum_type(data: FixedType, weight: FixedType, bias: FixedType, n_in: int) -> FixedType:
    """An accumulator in which bias + the sum of n_in products is exact (no rounding, no overflow).

    |x*w| < 2^(I_x + I_w) (a bit spare for unsigned inputs), the sum of n_in
    of them < 2^(I_x + I_w + ceil(log2(n_in + 1))), one more bit for the bias
    and one for the sign.
    """
    frac = max(data.frac + weight.frac, bias.frac)
    integer = max(data.integer + weight.integer + math.ceil(math.log2(n_in + 1)) + 1, bias.integer + 1) + 1
    return FixedType(integer + frac, integer, Rounding.TRN, Overflow.WRAP)


def check_fits(layer: str, tensor: str, values: np.ndarray, t: FixedType) -> None:
    """PrecisionError unless ``t`` holds every value (and not all of them round to zero)."""
    n = t.overflows(values)
    if n:
        raise PrecisionError(
            f"precision {t.cpp()} cannot hold the {tensor}s of layer {layer!r}: {n} values outside "
            f"[{t.min_value}, {t.max_value}] (max |{tensor}| = {np.abs(values).max():.4g}); "
            f"use more integer bits or --precision auto")
    nonzero = values[values != 0]
    if nonzero.size and not np.any(t.to_codes(nonzero)):
        raise PrecisionError(f"precision {t.cpp()} cannot hold the {tensor}s of layer {layer!r}: every one "
                             f"rounds to zero (lsb {t.lsb:g}, max |{tensor}| = {np.abs(values).max():.4g})")


def smallest_integer_bits(max_abs: float, width: int = AUTO_WIDTH) -> int:
    """Fewest integer bits (>= 1) such that a signed ``width``-bit type holds ``max_abs``."""
    for i in range(1, width + 1):
        if FixedType(width, i).max_value >= max_abs:
            return i
    raise PrecisionError(f"no {width}-bit type holds values up to {max_abs:.4g}")


def auto_type(max_abs: float) -> FixedType:
    return FixedType(AUTO_WIDTH, smallest_integer_bits(max_abs), Rounding.RND_CONV, Overflow.SAT)


@dataclass
class PlanContext:
    """What an op entry's ``plan`` hook may ask: the default type, overrides, calibration activations."""

    base: FixedType  #: the default type of every tensor
    overrides: dict[str, dict[str, FixedType]]  #: layer -> tensor -> type (``--layer-precision``)
    activations: dict[str, np.ndarray]  #: float activations per layer name (``--precision auto`` only)
    auto: bool
    profile: list[ProfileRow] = field(default_factory=list)

    def override(self, layer: str, tensor: str) -> FixedType | None:
        return self.overrides.get(layer, {}).get(tensor)

    def choose(self, layer: str, tensor: str, values: np.ndarray | None) -> FixedType:
        """The override, else (auto) the narrowest 16-bit type holding ``values``, else the default."""
        t = self.override(layer, tensor)
        if t is None and self.auto and values is not None and values.size:
            max_abs = float(np.abs(values).max())
            t = auto_type(max_abs)
            self.profile.append(ProfileRow(layer, tensor, max_abs, t.cpp(), self.base.overflows(values),
                                           t.overflows(values)))
        return t or self.base
