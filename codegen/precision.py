"""Per-layer fixed-point precision: the default, per-layer overrides, and ``--precision auto``.

Every layer's tensors get an explicit type (hls4ml's own ``'auto'`` inference
ignores custom layers). The accumulator is always derived, wide enough that
``bias + sum_i w_i x_i`` is exact (docs/design.md "Fixed point").
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field

import numpy as np
import onnx
from onnx import numpy_helper

from ..core.errors import HashhlsError
from ..frontend.hashing import HashConfig, materialise
from ..frontend.onnx_functions import node_hash_config
from .fixed import DEFAULT_PRECISION, FixedType, Overflow, Rounding
from .geometry import Window2D, conv2d, maxpool2d, window_of
from .ingest import HASHHLS_DOMAIN, attr, initializer_map, op_key, tensor_shapes

log = logging.getLogger(__name__)

AUTO = "auto"
TENSORS = ("weight", "bias", "result")
#: Width kept by ``--precision auto`` (it only moves the binary point).
AUTO_WIDTH = 16
CALIBRATION_SAMPLES = 1000


@dataclass(frozen=True)
class LayerSpec:
    """What precision planning needs to know about one ingested node."""

    name: str
    kind: str  #: flatten | relu | dense | hashed_dense | conv2d | hashed_conv2d | maxpool2d
    n_in: int = 0  #: flattened input size (features, or C*H*W)
    n_out: int = 0  #: flattened output size
    weight: np.ndarray | None = None  #: stored weights (K for hashed, (out, in[, kh, kw]) for dense)
    bias: np.ndarray | None = None
    hash: HashConfig | None = None
    window: Window2D | None = None  #: conv and pooling geometry

    @property
    def weighted(self) -> bool:
        return self.kind in WEIGHTED_KINDS

    @property
    def fan_in(self) -> int:
        """Products summed into one output (sizes the exact accumulator)."""
        return self.window.fan_in if self.window is not None and self.weighted else self.n_in

    @property
    def virtual_weights(self) -> int:
        """N*M: the size of the (virtual) weight tensor."""
        if not self.weighted:
            return 0
        return self.window.out_c * self.window.fan_in if self.window is not None else self.n_in * self.n_out

    @property
    def stored_weights(self) -> int:
        """K for hashed layers, N*M for dense ones."""
        return self.hash.buckets if self.hash is not None else self.virtual_weights

    def virtual_weight(self) -> np.ndarray:
        """The dense float64 weight tensor the hardware computes with: (out, in) or (out, in, kh, kw)."""
        w = np.asarray(self.weight, dtype=np.float64)
        return materialise(w, self.hash) if self.hash is not None else w


#: Layer kinds with weights (and an accumulator).
WEIGHTED_KINDS = ("dense", "hashed_dense", "conv2d", "hashed_conv2d")


def layer_specs(model: onnx.ModelProto) -> list[LayerSpec]:
    """The ingested model's nodes as LayerSpecs, in execution order."""
    inits = {k: numpy_helper.to_array(v) for k, v in initializer_map(model).items()}
    shapes = tensor_shapes(model)
    specs = []
    for node in model.graph.node:
        key = op_key(node)
        in_shape = shapes.get(node.input[0], [])
        size = int(np.prod(in_shape)) if in_shape else 0
        if key == ("", "Flatten"):
            specs.append(LayerSpec(node.name, "flatten", size, size))
        elif key == ("", "Relu"):
            specs.append(LayerSpec(node.name, "relu", size, size))
        elif key == ("", "MaxPool"):
            win = window_of(node, in_shape)
            specs.append(LayerSpec(node.name, "maxpool2d", size, int(np.prod(win.out_shape)), window=win))
        elif key == ("", "Conv"):
            w, b = inits[node.input[1]], inits[node.input[2]]
            win = window_of(node, in_shape, w.shape[0])
            specs.append(LayerSpec(node.name, "conv2d", size, int(np.prod(win.out_shape)), w, b, window=win))
        elif key == (HASHHLS_DOMAIN, "HashedConv2d"):
            w, b = inits[node.input[1]], inits[node.input[2]]
            win = window_of(node, in_shape, attr(node, "out_channels"))
            cfg = node_hash_config(node, w.size)
            specs.append(LayerSpec(node.name, "hashed_conv2d", size, int(np.prod(win.out_shape)), w, b, cfg, win))
        elif key == ("", "Gemm"):
            w, b = inits[node.input[1]], inits[node.input[2]]
            specs.append(LayerSpec(node.name, "dense", w.shape[1], w.shape[0], w, b))
        elif key == (HASHHLS_DOMAIN, "HashedLinear"):
            n_in, n_out = attr(node, "in_features"), attr(node, "out_features")
            w, b = inits[node.input[1]], inits[node.input[2]]
            cfg = node_hash_config(node, w.size)
            specs.append(LayerSpec(node.name, "hashed_dense", n_in, n_out, w, b, cfg))
    return specs


@dataclass
class LayerPrecision:
    weight: FixedType | None
    bias: FixedType | None
    result: FixedType
    accum: FixedType | None

    def as_strings(self) -> dict[str, str]:
        d = {"weight": self.weight, "bias": self.bias, "result": self.result, "accum": self.accum}
        return {k: v.cpp() for k, v in d.items() if v is not None}


@dataclass
class ProfileRow:
    layer: str
    tensor: str
    max_abs: float
    chosen: str
    overflows_default: int
    overflows_chosen: int


@dataclass
class PrecisionPlan:
    input: FixedType
    layers: dict[str, LayerPrecision]
    profile: list[ProfileRow] = field(default_factory=list)

    @property
    def output(self) -> FixedType:
        return list(self.layers.values())[-1].result if self.layers else self.input


def parse_type(text: str, what: str = "precision") -> FixedType:
    """Parse a type string; a missing rounding/overflow mode means hashhls's default RND_CONV/SAT."""
    t = FixedType.parse(text)
    if "AP_" not in text:  # ap_fixed<16,6> alone: use the safe modes rather than hls4ml's TRN/WRAP
        t = FixedType(t.width, t.integer, Rounding.RND_CONV, Overflow.SAT, t.signed)
    if t.integer < 1 or t.frac < 0:
        raise HashhlsError(f"{what} {text!r} is too narrow: need at least 1 integer bit and no negative fraction")
    return t


def parse_overrides(items: list[str]) -> dict[str, dict[str, FixedType]]:
    """``NAME=TYPE`` (all tensors of layer NAME) or ``NAME.TENSOR=TYPE`` (TENSOR in weight/bias/result)."""
    out: dict[str, dict[str, FixedType]] = {}
    for item in items or []:
        if "=" not in item:
            raise HashhlsError(f"layer precision {item!r} must look like NAME=TYPE or NAME.weight=TYPE")
        lhs, rhs = item.split("=", 1)
        name, _, tensor = lhs.strip().partition(".")
        tensors = [tensor] if tensor else list(TENSORS)
        if tensor and tensor not in TENSORS:
            raise HashhlsError(f"layer precision {item!r}: tensor must be one of {', '.join(TENSORS)}")
        for t in tensors:
            out.setdefault(name, {})[t] = parse_type(rhs.strip(), f"precision for {lhs}")
    return out


def accum_type(data: FixedType, weight: FixedType, bias: FixedType, n_in: int) -> FixedType:
    """An accumulator in which bias + the sum of n_in products is exact (no rounding, no overflow).

    |x*w| < 2^(I_x + I_w) (a bit spare for unsigned inputs), the sum of n_in
    of them < 2^(I_x + I_w + ceil(log2(n_in + 1))), one more bit for the bias
    and one for the sign.
    """
    frac = max(data.frac + weight.frac, bias.frac)
    integer = max(data.integer + weight.integer + math.ceil(math.log2(n_in + 1)) + 1, bias.integer + 1) + 1
    return FixedType(integer + frac, integer, Rounding.TRN, Overflow.WRAP)


def _check_fits(spec: LayerSpec, tensor: str, values: np.ndarray, t: FixedType) -> None:
    n = t.overflows(values)
    if n:
        raise HashhlsError(
            f"precision {t.cpp()} cannot hold the {tensor}s of layer {spec.name!r}: {n} values outside "
            f"[{t.min_value}, {t.max_value}] (max |{tensor}| = {np.abs(values).max():.4g}); "
            f"use more integer bits or --precision auto")
    nonzero = values[values != 0]
    if nonzero.size and not np.any(t.to_codes(nonzero)):
        raise HashhlsError(f"precision {t.cpp()} cannot hold the {tensor}s of layer {spec.name!r}: every one "
                           f"rounds to zero (lsb {t.lsb:g}, max |{tensor}| = {np.abs(values).max():.4g})")


def smallest_integer_bits(max_abs: float, width: int = AUTO_WIDTH) -> int:
    """Fewest integer bits (>= 1) such that a signed ``width``-bit type holds ``max_abs``."""
    for i in range(1, width + 1):
        if FixedType(width, i).max_value >= max_abs:
            return i
    raise HashhlsError(f"no {width}-bit type holds values up to {max_abs:.4g}")


def _auto_type(max_abs: float) -> FixedType:
    return FixedType(AUTO_WIDTH, smallest_integer_bits(max_abs), Rounding.RND_CONV, Overflow.SAT)


def float_forward(specs: list[LayerSpec], x: np.ndarray) -> dict[str, np.ndarray]:
    """Float64 activations after every layer (numpy), for profiling."""
    acts: dict[str, np.ndarray] = {}
    h = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
    for s in specs:
        if s.kind == "relu":
            h = np.maximum(h, 0.0)
        elif s.kind in ("dense", "hashed_dense"):
            h = h @ s.virtual_weight().T + s.bias
        elif s.kind in ("conv2d", "hashed_conv2d"):
            h = conv2d(h, s.virtual_weight(), s.bias.astype(np.float64), s.window)
        elif s.kind == "maxpool2d":
            h = maxpool2d(h, s.window)
        acts[s.name] = h
    return acts


def calibration_inputs(input_shape: list[int], n: int = CALIBRATION_SAMPLES) -> np.ndarray:
    """The first ``n`` bundled MNIST training images, shaped like the model input."""
    from ..frontend.datasets import load_mnist

    if int(np.prod(input_shape)) != 784:
        raise HashhlsError(f"--precision auto calibrates on the bundled MNIST (784 inputs); this model takes "
                           f"{input_shape}")
    x, _ = load_mnist(split="train", limit=n)
    return x.reshape(len(x), *input_shape)


def plan_precision(specs: list[LayerSpec], input_shape: list[int], default: FixedType | str = DEFAULT_PRECISION,
                   overrides: dict[str, dict[str, FixedType]] | None = None,
                   calibration: np.ndarray | None = None) -> PrecisionPlan:
    """Choose every layer's weight/bias/result/accum type.

    Args:
        specs: the ingested layers (:func:`layer_specs`).
        input_shape: one sample's shape.
        default: a FixedType, or ``"auto"`` to profile on ``calibration`` (default: bundled MNIST).
        overrides: per-layer types from :func:`parse_overrides`, applied last.
        calibration: inputs for ``auto``.
    """
    overrides = dict(overrides or {})
    unknown = set(overrides) - {s.name for s in specs} - {"input"}
    if unknown:
        raise HashhlsError(f"--layer-precision names unknown layer(s) {sorted(unknown)}; layers: "
                           f"{', '.join(['input'] + [s.name for s in specs])}")
    auto = default == AUTO
    base = DEFAULT_PRECISION if auto else default
    profile: list[ProfileRow] = []
    acts: dict[str, np.ndarray] = {}
    if auto:
        x = calibration_inputs(input_shape) if calibration is None else calibration
        acts = float_forward(specs, x)
        acts["input"] = np.asarray(x, dtype=np.float64)

    def choose(layer: str, tensor: str, values: np.ndarray | None) -> FixedType:
        t = overrides.get(layer, {}).get(tensor)
        if t is None and auto and values is not None and values.size:
            max_abs = float(np.abs(values).max())
            t = _auto_type(max_abs)
            profile.append(ProfileRow(layer, tensor, max_abs, t.cpp(), base.overflows(values), t.overflows(values)))
        return t or base

    inp = choose("input", "result", acts.get("input"))
    layers: dict[str, LayerPrecision] = {}
    prev = inp
    for s in specs:
        if not s.weighted:
            # Exact: a reshape, ReLU or max on already-quantised values (design.md step 5).
            res = overrides.get(s.name, {}).get("result", prev)
            layers[s.name] = LayerPrecision(None, None, res, None)
        else:
            w = choose(s.name, "weight", s.weight)
            b = choose(s.name, "bias", s.bias)
            res = choose(s.name, "result", acts.get(s.name))
            _check_fits(s, "weight", s.weight, w)
            _check_fits(s, "bias", s.bias, b)
            layers[s.name] = LayerPrecision(w, b, res, accum_type(prev, w, b, s.fan_in))
        prev = layers[s.name].result
    return PrecisionPlan(inp, layers, profile)


def profile_table(plan: PrecisionPlan) -> str:
    """The ``--precision auto`` report: max |value| and overflow counts per layer tensor."""
    lines = ["| layer | tensor | max abs (calibration) | chosen type | overflows at default | overflows chosen |",
             "|---|---|---:|---|---:|---:|"]
    for r in plan.profile:
        lines.append(f"| {r.layer} | {r.tensor} | {r.max_abs:.4g} | `{r.chosen}` | {r.overflows_default} | "
                     f"{r.overflows_chosen} |")
    return "\n".join(lines)
