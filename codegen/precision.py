"""Per-layer fixed-point precision: the default, per-layer overrides, and ``--precision auto``.

Every layer's tensors get an explicit type (hls4ml's own ``'auto'`` inference
ignores custom layers). The accumulator is always derived, wide enough that
``bias + sum_i w_i x_i`` is exact (docs/design.md "Fixed point").
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np

from ..core.errors import PrecisionError, UsageError
from .fixed import DEFAULT_PRECISION, FixedType, Overflow, Rounding
from .graph import layer_specs
from .layer_precision import (AUTO_WIDTH, LayerPrecision, PlanContext, ProfileRow, accum_type, check_fits,
                              smallest_integer_bits)
from .ops.registry import op_for_kind
from .ops.spec import LayerSpec

log = logging.getLogger(__name__)

__all__ = ["AUTO", "TENSORS", "AUTO_WIDTH", "CALIBRATION_SAMPLES", "LayerSpec", "LayerPrecision", "ProfileRow",
           "PrecisionPlan", "layer_specs", "parse_type", "parse_overrides", "accum_type", "check_fits",
           "smallest_integer_bits", "float_forward", "calibration_inputs", "plan_precision", "profile_table"]

AUTO = "auto"
TENSORS = ("weight", "bias", "result")
CALIBRATION_SAMPLES = 1000


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
        raise PrecisionError(f"{what} {text!r} is too narrow: need at least 1 integer bit and no negative fraction")
    return t


def parse_overrides(items: list[str]) -> dict[str, dict[str, FixedType]]:
    """``NAME=TYPE`` (all tensors of layer NAME) or ``NAME.TENSOR=TYPE`` (TENSOR in weight/bias/result)."""
    out: dict[str, dict[str, FixedType]] = {}
    for item in items or []:
        if "=" not in item:
            raise UsageError(f"layer precision {item!r} must look like NAME=TYPE or NAME.weight=TYPE")
        lhs, rhs = item.split("=", 1)
        name, _, tensor = lhs.strip().partition(".")
        tensors = [tensor] if tensor else list(TENSORS)
        if tensor and tensor not in TENSORS:
            raise UsageError(f"layer precision {item!r}: tensor must be one of {', '.join(TENSORS)}")
        for t in tensors:
            out.setdefault(name, {})[t] = parse_type(rhs.strip(), f"precision for {lhs}")
    return out


def input_tensor(specs: list[LayerSpec]) -> str:
    """The graph input: the one tensor the layers read that none of them computes."""
    produced = {s.output for s in specs}
    return next(t for s in specs for t in s.inputs if t not in produced)


def float_forward(specs: list[LayerSpec], x: np.ndarray) -> dict[str, np.ndarray]:
    """Float64 activations after every layer (each op entry's numpy forward), keyed by layer name."""
    env = {input_tensor(specs): np.asarray(x, dtype=np.float64).reshape(len(x), *specs[0].in_shape)}
    acts: dict[str, np.ndarray] = {}
    for s in specs:
        env[s.output] = op_for_kind(s.kind).float_forward(s, [env[t] for t in s.inputs])
        acts[s.name] = env[s.output].reshape(len(x), -1)
    return acts


def calibration_inputs(input_shape: list[int], n: int = CALIBRATION_SAMPLES) -> np.ndarray:
    """The first ``n`` bundled MNIST training images, shaped like the model input."""
    from ..frontend.datasets import load_mnist

    if int(np.prod(input_shape)) != 784:
        raise UsageError(f"--precision auto calibrates on the bundled MNIST (784 inputs); this model takes "
                         f"{list(input_shape)}: give --precision TYPE (and --layer-precision NAME=TYPE) instead")
    x, _ = load_mnist(split="train", limit=n)
    return x.reshape(len(x), *input_shape)


def plan_precision(specs: list[LayerSpec], input_shape: list[int], default: FixedType | str = DEFAULT_PRECISION,
                   overrides: dict[str, dict[str, FixedType]] | None = None,
                   calibration: np.ndarray | None = None) -> PrecisionPlan:
    """Choose every layer's types (each op entry's ``plan`` hook decides its own layer).

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
        raise PrecisionError(f"--layer-precision names unknown layer(s) {sorted(unknown)}; layers: "
                             f"{', '.join(['input'] + [s.name for s in specs])}")
    auto = default == AUTO
    base = DEFAULT_PRECISION if auto else default
    acts: dict[str, np.ndarray] = {}
    if auto:
        x = calibration_inputs(input_shape) if calibration is None else calibration
        acts = float_forward(specs, x)
        acts["input"] = np.asarray(x, dtype=np.float64)
    ctx = PlanContext(base, overrides, acts, auto)
    inp = ctx.choose("input", "result", acts.get("input"))
    types = {input_tensor(specs): inp} if specs else {}
    layers: dict[str, LayerPrecision] = {}
    for s in specs:
        layers[s.name] = op_for_kind(s.kind).plan(s, [types[t] for t in s.inputs], ctx)
        types[s.output] = layers[s.name].result
    return PrecisionPlan(inp, layers, ctx.profile)


def profile_table(plan: PrecisionPlan) -> str:
    """The ``--precision auto`` report: max |value| and overflow counts per layer tensor."""
    lines = ["| layer | tensor | max abs (calibration) | chosen type | overflows at default | overflows chosen |",
             "|---|---|---:|---|---:|---:|"]
    for r in plan.profile:
        lines.append(f"| {r.layer} | {r.tensor} | {r.max_abs:.4g} | `{r.chosen}` | {r.overflows_default} | "
                     f"{r.overflows_chosen} |")
    return "\n".join(lines)
