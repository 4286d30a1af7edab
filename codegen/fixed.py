"""Fixed-point types as the generated C++ uses them (``ap_fixed<W,I,Q,O>``).

One parser and one quantiser, shared by the code generator (which prints the
C++ type), the bit-exact emulator and the fixed-point attack twin. Values are
represented exactly as integers ``code`` with ``value = code * 2**-frac``.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

import numpy as np

from ..core.defaults import DEFAULT_PRECISION as DEFAULT_PRECISION_TEXT
from ..core.errors import HashhlsError


class Rounding(str, enum.Enum):
    TRN = "AP_TRN"  # truncate toward -inf (hls4ml's default)
    RND = "AP_RND"  # round half up (toward +inf)
    RND_CONV = "AP_RND_CONV"  # round half to even


class Overflow(str, enum.Enum):
    WRAP = "AP_WRAP"
    SAT = "AP_SAT"


_TYPE_RE = re.compile(
    r"^\s*(?P<kind>ap_fixed|ap_ufixed)\s*<\s*(?P<w>\d+)\s*,\s*(?P<i>-?\d+)\s*"
    r"(?:,\s*(?P<q>AP_[A-Z_]+)\s*)?(?:,\s*(?P<o>AP_[A-Z_]+)\s*)?>\s*$"
)


@dataclass(frozen=True)
class FixedType:
    """``ap_fixed<width, integer, rounding, overflow>`` (or ``ap_ufixed`` when not signed)."""

    width: int
    integer: int
    rounding: Rounding = Rounding.RND_CONV
    overflow: Overflow = Overflow.SAT
    signed: bool = True

    def __post_init__(self) -> None:
        if not 1 <= self.width <= 64:
            raise HashhlsError(f"fixed-point width must be 1..64 bits, got {self.width}")
        if self.signed and self.width < 2:
            raise HashhlsError("a signed fixed-point type needs at least 2 bits")

    @classmethod
    def parse(cls, text: str) -> FixedType:
        """Parse ``ap_fixed<16,6>`` / ``ap_fixed<16,6,AP_RND_CONV,AP_SAT>`` / ``ap_ufixed<8,0>``."""
        m = _TYPE_RE.match(str(text))
        if not m:
            raise HashhlsError(f"cannot parse precision {text!r}: expected e.g. ap_fixed<16,6,AP_RND_CONV,AP_SAT>")
        try:
            q = Rounding(m["q"]) if m["q"] else Rounding.TRN
            o = Overflow(m["o"]) if m["o"] else Overflow.WRAP
        except ValueError as e:
            raise HashhlsError(f"unsupported rounding/overflow mode in precision {text!r}") from e
        return cls(int(m["w"]), int(m["i"]), q, o, signed=m["kind"] == "ap_fixed")

    @property
    def frac(self) -> int:
        return self.width - self.integer

    @property
    def code_min(self) -> int:
        return -(2 ** (self.width - 1)) if self.signed else 0

    @property
    def code_max(self) -> int:
        return 2 ** (self.width - 1) - 1 if self.signed else 2**self.width - 1

    @property
    def max_value(self) -> float:
        return self.code_max * 2.0**-self.frac

    @property
    def min_value(self) -> float:
        return self.code_min * 2.0**-self.frac

    @property
    def lsb(self) -> float:
        return 2.0**-self.frac

    def cpp(self) -> str:
        kind = "ap_fixed" if self.signed else "ap_ufixed"
        return f"{kind}<{self.width},{self.integer},{self.rounding.value},{self.overflow.value}>"

    def __str__(self) -> str:
        return self.cpp()

    # -- exact quantisation -------------------------------------------------

    def round_scaled(self, scaled: np.ndarray) -> np.ndarray:
        """Round already-scaled values (value * 2**frac, exact in float64) to integers."""
        s = np.asarray(scaled, dtype=np.float64)
        if self.rounding is Rounding.RND_CONV:
            r = np.round(s)  # numpy rounds half to even
        elif self.rounding is Rounding.RND:
            r = np.floor(s + 0.5)
        else:
            r = np.floor(s)
        return r

    def overflow_codes(self, codes: np.ndarray) -> np.ndarray:
        """Apply the overflow mode to integer codes (float64 holding integers, or int64)."""
        c = np.asarray(codes)
        if self.overflow is Overflow.SAT:
            return np.clip(c, self.code_min, self.code_max)
        span = 2**self.width
        c = np.mod(c.astype(np.int64) - self.code_min, span) + self.code_min
        return c

    def to_codes(self, x: np.ndarray) -> np.ndarray:
        """Quantise real values to integer codes (int64), exactly as an ap_fixed assignment from double."""
        scaled = np.asarray(x, dtype=np.float64) * (2.0**self.frac)
        return self.overflow_codes(self.round_scaled(scaled)).astype(np.int64)

    def requantize_codes(self, codes: np.ndarray, from_frac: int) -> np.ndarray:
        """Convert exact integer codes with ``from_frac`` fraction bits to this type (int64)."""
        c = np.asarray(codes, dtype=np.int64)
        shift = from_frac - self.frac
        if shift <= 0:
            out = c << (-shift)
        elif self.rounding is Rounding.TRN:
            out = c >> shift  # arithmetic shift = floor
        else:
            q = c >> shift
            rem = c - (q << shift)
            half = np.int64(1) << (shift - 1)
            if self.rounding is Rounding.RND:
                q = q + (rem >= half)
            else:  # half to even
                q = q + ((rem > half) | ((rem == half) & ((q & 1) == 1)))
            out = q
        return self.overflow_codes(out).astype(np.int64)

    def quantize(self, x: np.ndarray) -> np.ndarray:
        """Quantise to this type and return float64 values (exact)."""
        return self.to_codes(x) * self.lsb

    def overflows(self, x: np.ndarray) -> int:
        """How many values in ``x`` fall outside the representable range."""
        x = np.asarray(x, dtype=np.float64)
        return int(((x > self.max_value) | (x < self.min_value)).sum())


DEFAULT_PRECISION = FixedType.parse(DEFAULT_PRECISION_TEXT)  #: the build default (hashhls.core.defaults)
