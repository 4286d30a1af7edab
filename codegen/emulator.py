"""Bit-exact numpy model of what a build's generated C++ computes.

The emulator reads a build directory (the manifest's per-layer precisions and
``model.onnx``'s weights) and follows docs/design.md "Fixed point" exactly, in
integer codes (``value = code * 2**-frac``):

1. the float32 input is quantised to the input type (``ap_fixed`` from double);
2. weights and biases are quantised to their types once; a hashed layer's
   virtual weights are ``sign(f) * w_q[bucket(f)]`` (:func:`frontend.hashing.materialise`);
3. ``acc = bias + sum_i w_i * x_i`` is exact in the accumulator type (checked
   here: its fraction must hold every product; a WRAP accumulator wraps the
   final sum, which equals wrapping every partial sum since wrap is modular);
4. one conversion of ``acc`` to the layer's result type (its rounding/overflow);
5. ReLU is ``max(x, 0)`` converted to its result type; max pooling is the
   max of quantised values (exact); Flatten is an alias.

Feature maps are kept NCHW here; the C++ computes channels-last and transposes
back before each Flatten, so the flattened features (and every output) agree.
A convolution is the same exact sum over its ``C*kh*kw`` taps per output
(zero padding adds nothing).

It is the oracle the csim harness is tested against, and is vectorised over
the batch: a matmul of integer codes in float64 is exact while every partial
sum stays below 2**53 (checked per layer; otherwise int64 is used).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx

from ..core.errors import HashhlsError
from ..frontend.hashing import materialise
from .fixed import FixedType, Overflow
from .geometry import Window2D, im2col, maxpool2d
from .manifest import BuildManifest, LayerInfo

log = logging.getLogger(__name__)

_EXACT_F64 = 2.0**53
_CHUNK = 4096
_DENSE_KINDS = ("dense", "hashed_dense")
_CONV_KINDS = ("conv2d", "hashed_conv2d")
SUPPORTED_KINDS = ("flatten", "relu", "maxpool2d", *_DENSE_KINDS, *_CONV_KINDS)
_CONV_BATCH = 128  #: samples per im2col block (bounds the patch matrix's memory)


@dataclass
class EmuLayer:
    """One layer lowered to integer codes."""

    name: str
    kind: str
    in_type: FixedType
    out_type: FixedType
    weight: np.ndarray | None = None  #: (n_out, fan_in) int64 codes at weight frac (virtual for hashed)
    bias: np.ndarray | None = None  #: (n_out,) int64 codes already at accum frac
    accum: FixedType | None = None
    weight_frac: int = 0
    exact_f64: bool = True  #: the float64 matmul is exact for every input of in_type
    window: Window2D | None = None  #: conv / pooling geometry (NCHW)

    def __post_init__(self) -> None:
        self._weight_t_f64 = None if self.weight is None else np.ascontiguousarray(self.weight.T, dtype=np.float64)

    def run(self, x: np.ndarray) -> np.ndarray:
        """Codes of in_type (int64 [N, n_in]) -> codes of out_type (int64 [N, n_out])."""
        if self.kind == "flatten":
            return x
        if self.kind == "relu":
            return self.out_type.requantize_codes(np.maximum(x, 0), self.in_type.frac)
        if self.kind == "maxpool2d":
            return self.out_type.requantize_codes(maxpool2d(x, self.window), self.in_type.frac)
        if self.kind in _CONV_KINDS:
            s = np.concatenate([self._conv_sums(x[i:i + _CONV_BATCH]) for i in range(0, len(x), _CONV_BATCH)])
            bias = np.repeat(self.bias, self.window.out_h * self.window.out_w)  # NCHW: per channel
        else:
            s, bias = self._matmul(x), self.bias
        acc = (s << (self.accum.frac - self.in_type.frac - self.weight_frac)) + bias
        acc = self.accum.overflow_codes(acc).astype(np.int64)
        return self.out_type.requantize_codes(acc, self.accum.frac)


    def _matmul(self, x: np.ndarray) -> np.ndarray:
        """Exact ``x @ W.T`` of integer codes."""
        if self.exact_f64:
            return (x.astype(np.float64) @ self._weight_t_f64).astype(np.int64)
        return x @ self.weight.T  # int64, exact (bounded below 2**63 by from_build's check)

    def _conv_sums(self, x: np.ndarray) -> np.ndarray:
        """Exact per-output tap sums of a convolution, NCHW-flattened ``[N, out_c * out_h * out_w]``."""
        patches = im2col(x, self.window)  # [N, P, fan_in]
        s = self._matmul(patches.reshape(-1, self.window.fan_in)).reshape(len(x), -1, self.window.out_c)
        return s.transpose(0, 2, 1).reshape(len(x), -1)


def _ftype(info: LayerInfo, key: str) -> FixedType:
    text = info.precision.get(key)
    if text is None:
        raise HashhlsError(f"build manifest: layer {info.name!r} has no {key!r} precision")
    return FixedType.parse(text)


def _code_bound(t: FixedType) -> int:
    return max(abs(t.code_min), abs(t.code_max))


def _onnx_weights(model: onnx.ModelProto) -> dict[str, object]:
    from .precision import layer_specs

    return {sp.name: sp for sp in layer_specs(model)}


class Emulator:
    """Bit-exact fixed-point model of a build (see module docstring).

    Example:
        >>> emu = Emulator.from_build("hashhls-build-default")  # doctest: +SKIP
        >>> y = emu.predict(x)  # float64 [N, n_out], exactly what csim returns
    """

    def __init__(self, manifest: BuildManifest, input_type: FixedType, layers: list[EmuLayer]):
        self.manifest = manifest
        self.input_type = input_type
        self.layers = layers
        self.input_shape = tuple(int(d) for d in manifest.input_shape)
        self.output_type = layers[-1].out_type if layers else input_type
        self.n_outputs = int(manifest.n_outputs)

    @classmethod
    def from_build(cls, build_dir: str | Path) -> Emulator:
        """Load the manifest and ``model.onnx`` of a build directory."""
        build_dir = Path(build_dir)
        manifest = BuildManifest.read(build_dir)
        path = build_dir / "model.onnx"
        if not path.is_file():
            raise HashhlsError(f"build directory has no model.onnx: {build_dir}")
        try:
            model = onnx.load(str(path))
        except Exception as e:  # onnx raises DecodeError and friends
            raise HashhlsError(f"cannot read {path}: {e}") from e
        return cls.from_model(manifest, model)

    @classmethod
    def from_model(cls, manifest: BuildManifest, model: onnx.ModelProto) -> Emulator:
        """Build the emulator from a manifest and the ingested ONNX model it was built from."""
        specs = _onnx_weights(model)
        input_type = FixedType.parse(manifest.input_precision)
        cur = input_type
        layers: list[EmuLayer] = []
        for info in manifest.layers:
            if info.kind not in SUPPORTED_KINDS:
                raise HashhlsError(f"the emulator does not support layer kind {info.kind!r} (layer {info.name!r})")
            if info.kind == "flatten":
                layers.append(EmuLayer(info.name, info.kind, cur, cur))  # hls4ml aliases the array
                continue
            out = _ftype(info, "result")
            if info.kind == "maxpool2d":
                spec = specs.get(info.name)
                if spec is None or spec.kind != info.kind:
                    raise HashhlsError(f"model.onnx has no maxpool2d node named {info.name!r} (manifest and model "
                                       "disagree)")
                layers.append(EmuLayer(info.name, info.kind, cur, out, window=spec.window))
                cur = out
                continue
            if info.kind == "relu":
                layers.append(EmuLayer(info.name, info.kind, cur, out))
                cur = out
                continue
            layers.append(_weighted_layer(info, specs.get(info.name), cur, out))
            cur = out
        if FixedType.parse(manifest.output_precision) != cur:
            raise HashhlsError(f"build manifest: output precision {manifest.output_precision} is not the last "
                               f"layer's result type {cur}")
        return cls(manifest, input_type, layers)

    # -- running ----------------------------------------------------------------

    def check_input(self, x: np.ndarray) -> np.ndarray:
        """Validate shape/dtype and return the batch as float32 (what csim reads)."""
        return as_input_batch(x, self.input_shape)

    def predict_codes(self, x: np.ndarray) -> np.ndarray:
        """Integer codes (int64 [N, n_out]) of the output type."""
        x = self.check_input(x).reshape(len(x), -1)
        out = np.empty((len(x), self.n_outputs), dtype=np.int64)
        for start in range(0, len(x), _CHUNK):  # bounded memory for big batches
            codes = self.input_type.to_codes(x[start:start + _CHUNK].astype(np.float64))
            for layer in self.layers:
                codes = layer.run(codes)
            out[start:start + _CHUNK] = codes
        return out

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Dequantised outputs (float64 [N, n_out]), bit-identical to the csim's."""
        return self.predict_codes(x) * self.output_type.lsb


def as_input_batch(x: np.ndarray, input_shape: tuple[int, ...]) -> np.ndarray:
    """Validate a batch ``(N, *input_shape)`` of floats and return it as contiguous float32.

    float32 is what the C simulation reads; wider floats are rounded to float32 first, by both.
    """
    x = np.asarray(x)
    if x.dtype.kind != "f":
        raise HashhlsError(f"inputs must be floating point (float32), got dtype {x.dtype}")
    if x.ndim != len(input_shape) + 1 or tuple(x.shape[1:]) != tuple(input_shape):
        raise HashhlsError(f"wrong input shape {tuple(x.shape)}: the build expects (N, "
                           f"{', '.join(map(str, input_shape))})")
    return np.ascontiguousarray(x, dtype=np.float32)


def _weighted_layer(info: LayerInfo, spec, in_type: FixedType, out: FixedType) -> EmuLayer:
    if spec is None or spec.kind != info.kind:
        raise HashhlsError(f"model.onnx has no {info.kind} node named {info.name!r} (manifest and model disagree)")
    wt, bt, acc = _ftype(info, "weight"), _ftype(info, "bias"), _ftype(info, "accum")
    prod_frac = in_type.frac + wt.frac
    if acc.frac < prod_frac or acc.frac < bt.frac:
        raise HashhlsError(f"layer {info.name!r}: accumulator {acc} has fewer fraction bits than a product "
                           f"({prod_frac}) or the bias ({bt.frac}); the emulator models exact accumulation only")
    w_codes = wt.to_codes(np.asarray(spec.weight, dtype=np.float32).astype(np.float64))
    b_codes = bt.to_codes(np.asarray(spec.bias, dtype=np.float32).astype(np.float64)) << (acc.frac - bt.frac)
    if spec.hash is not None:
        w_codes = materialise(w_codes, spec.hash)
    rows = spec.window.out_c if spec.window is not None else spec.n_out
    w_codes = np.asarray(w_codes, dtype=np.int64).reshape(rows, spec.fan_in)
    if (spec.n_in, spec.n_out) != (info.n_in, info.n_out):
        raise HashhlsError(f"layer {info.name!r}: manifest shape {info.n_in}x{info.n_out} != model.onnx "
                           f"{spec.n_in}x{spec.n_out}")
    # Worst case |sum| over every representable input: decides exactness of float64 and of the accumulator.
    row_l1 = int(np.abs(w_codes).sum(axis=1).max(initial=0))
    bound_sum = row_l1 * _code_bound(in_type)
    if bound_sum >= 2**62:
        raise HashhlsError(f"layer {info.name!r}: partial sums may exceed 64 bits; not supported by the emulator")
    acc_bound = (bound_sum << (acc.frac - prod_frac)) + int(np.abs(b_codes).max(initial=0))
    if acc_bound >= 2**62:
        raise HashhlsError(f"layer {info.name!r}: accumulator values may exceed 64 bits; not supported by the emulator")
    if acc.overflow is Overflow.SAT and acc_bound > acc.code_max:
        # A saturating accumulator clips partial sums in loop order, which is not modelled.
        raise HashhlsError(f"layer {info.name!r}: saturating accumulator {acc} may overflow; not modelled")
    return EmuLayer(info.name, info.kind, in_type, out, w_codes, b_codes.astype(np.int64), acc,
                    weight_frac=wt.frac, exact_f64=bound_sum < _EXACT_F64, window=spec.window)
