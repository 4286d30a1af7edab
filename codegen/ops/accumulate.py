"""What every accumulating layer shares (dense and convolution, hashed or not): its types, and its exact
integer arithmetic (docs/design.md "Fixed point").

1. weights and biases are quantised to their types once; a hashed layer's
   virtual weights are ``sign(f) * w_q[bucket(f)]`` (:func:`frontend.hashing.materialise`);
2. ``acc = bias + sum_i w_i * x_i`` is exact in the accumulator type (checked:
   its fraction must hold every product; a WRAP accumulator wraps the final
   sum, which equals wrapping every partial sum since wrap is modular);
3. one conversion of ``acc`` to the layer's result type.

A convolution is the same exact sum over its ``C*kh*kw`` taps per output (zero
padding adds nothing). The matmul of integer codes runs in float64 while every
partial sum stays below 2**53 (checked per layer), otherwise in int64.
"""

from __future__ import annotations

import numpy as np

from ...core.errors import UnsupportedModelError
from ...frontend.hashing import layer_key, materialise
from ..fixed import FixedType, Overflow
from ..geometry import conv2d, im2col
from ..layer_precision import LayerPrecision, PlanContext, accum_type, check_fits
from .base import EmuLayer, OpDef
from .spec import LayerSpec

_EXACT_F64 = 2.0**53
_CONV_BATCH = 128  #: samples per im2col block (bounds the patch matrix's memory)


def _code_bound(t: FixedType) -> int:
    return max(abs(t.code_min), abs(t.code_max))


class AccumulatingOp(OpDef):
    """Base of the dense and convolution entries: weight / bias / result / accumulator types."""

    weighted = True

    def plan(self, spec: LayerSpec, in_types: list[FixedType], ctx: PlanContext) -> LayerPrecision:
        w = ctx.choose(spec.name, "weight", spec.weight)
        b = ctx.choose(spec.name, "bias", spec.bias)
        res = ctx.choose(spec.name, "result", ctx.activations.get(spec.name))
        check_fits(spec.name, "weight", spec.weight, w)
        check_fits(spec.name, "bias", spec.bias, b)
        return LayerPrecision(w, b, res, accum_type(in_types[0], w, b, spec.fan_in))

    def float_forward(self, spec: LayerSpec, xs: list[np.ndarray]) -> np.ndarray:
        x = xs[0]
        if spec.window is not None:
            y = conv2d(x, spec.virtual_weight(), spec.bias, spec.window)
        else:
            y = x.reshape(len(x), -1) @ spec.virtual_weight().T + spec.bias
        return y.reshape(len(x), *spec.out_shape)

    def emulator(self, spec, precision, in_types, attrs) -> EmuLayer:
        return AccumulatingEmu(spec, precision, in_types)

    def manifest_attrs(self, spec: LayerSpec) -> dict:
        """A hashed layer's hash key (the constant the C++ holds), then the window geometry."""
        key = {"hash_key": layer_key(spec.hash.seed)} if spec.hash is not None else {}
        return {**key, **super().manifest_attrs(spec)}

    def quantised(self, spec: LayerSpec, p: LayerPrecision) -> tuple[np.ndarray, np.ndarray]:
        """Weight and bias on their types' grids. hls4ml prints weights with as many decimals as the type has
        fraction bits, which rounds an unquantised float once in decimal and again in ap_fixed (double
        rounding); values already on the grid print exactly."""
        return p.weight.quantize(spec.weight), p.bias.quantize(spec.bias)


class AccumulatingEmu(EmuLayer):
    """``bias + sum w * x`` exact in integer codes, then one conversion to the result type."""

    def __init__(self, spec: LayerSpec, precision, in_types: list[FixedType]):
        super().__init__(spec, in_types, precision["result"])
        in_type = self.in_type
        wt, bt, acc = precision["weight"], precision["bias"], precision["accum"]
        prod_frac = in_type.frac + wt.frac
        if acc.frac < prod_frac or acc.frac < bt.frac:
            raise UnsupportedModelError(
                f"layer {spec.name!r}: accumulator {acc} has fewer fraction bits than a product ({prod_frac}) or "
                f"the bias ({bt.frac}); the emulator models exact accumulation only")
        w_codes = wt.to_codes(np.asarray(spec.weight, dtype=np.float32).astype(np.float64))
        b_codes = bt.to_codes(np.asarray(spec.bias, dtype=np.float32).astype(np.float64)) << (acc.frac - bt.frac)
        if spec.hash is not None:
            w_codes = materialise(w_codes, spec.hash)
        rows = spec.window.out_c if spec.window is not None else spec.n_out
        w_codes = np.asarray(w_codes, dtype=np.int64).reshape(rows, spec.fan_in)
        # Worst case |sum| over every representable input: decides exactness of float64 and of the accumulator.
        row_l1 = int(np.abs(w_codes).sum(axis=1).max(initial=0))
        bound_sum = row_l1 * _code_bound(in_type)
        if bound_sum >= 2**62:
            raise UnsupportedModelError(f"layer {spec.name!r}: partial sums may exceed 64 bits; not supported by "
                                        "the emulator")
        acc_bound = (bound_sum << (acc.frac - prod_frac)) + int(np.abs(b_codes).max(initial=0))
        if acc_bound >= 2**62:
            raise UnsupportedModelError(f"layer {spec.name!r}: accumulator values may exceed 64 bits; not "
                                        "supported by the emulator")
        if acc.overflow is Overflow.SAT and acc_bound > acc.code_max:
            # A saturating accumulator clips partial sums in loop order, which is not modelled.
            raise UnsupportedModelError(f"layer {spec.name!r}: saturating accumulator {acc} may overflow; not "
                                        "modelled")
        self.weight, self.bias, self.accum = w_codes, b_codes.astype(np.int64), acc
        self.weight_frac = wt.frac
        self.window = spec.window
        self.exact_f64 = bound_sum < _EXACT_F64  #: the float64 matmul is exact for every input of in_type
        self._weight_t_f64 = np.ascontiguousarray(w_codes.T, dtype=np.float64)

    def run(self, xs: list[np.ndarray]) -> np.ndarray:
        x = xs[0]
        n = len(x)
        if self.window is not None:
            s = np.concatenate([self._conv_sums(x[i:i + _CONV_BATCH]) for i in range(0, n, _CONV_BATCH)])
            bias = np.repeat(self.bias, self.window.out_h * self.window.out_w)  # NCHW: per channel
        else:
            s, bias = self._matmul(x.reshape(n, -1)), self.bias
        acc = (s << (self.accum.frac - self.in_type.frac - self.weight_frac)) + bias
        acc = self.accum.overflow_codes(acc).astype(np.int64)
        return self.out_type.requantize_codes(acc, self.accum.frac).reshape(n, *self.spec.out_shape)

    def _matmul(self, x: np.ndarray) -> np.ndarray:
        """Exact ``x @ W.T`` of integer codes."""
        if self.exact_f64:
            return (x.astype(np.float64) @ self._weight_t_f64).astype(np.int64)
        return x @ self.weight.T  # int64, exact (bounded below 2**63 by the constructor's check)

    def _conv_sums(self, x: np.ndarray) -> np.ndarray:
        """Exact per-output tap sums of a convolution, NCHW-flattened ``[N, out_c * out_h * out_w]``."""
        patches = im2col(x, self.window)  # [N, P, fan_in]
        s = self._matmul(patches.reshape(-1, self.window.fan_in)).reshape(len(x), -1, self.window.out_c)
        return s.transpose(0, 2, 1).reshape(len(x), -1)
