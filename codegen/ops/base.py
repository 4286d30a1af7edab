"""The contract of one op table entry, and what its hooks are given.

How to add an op (qonnx's CustomOp and onnx.reference's OpRun in one object):

1. subclass :class:`OpDef` in the module of its family, set ``op_type`` (and ``domain``), ``kind`` (add a
   :class:`~hashhls.codegen.kinds.LayerKind` if it computes something new) and ``doc``;
2. ``analyse`` validates the node (attributes per its opset, input shapes, constant inputs) and returns its
   :class:`LayerSpec` (output shape included);
3. ``float_forward`` (numpy float64, for ``--precision auto``), ``torch_module`` (differentiable float:
   the ONNX -> torch loader and the fixed-point twin's backward), ``plan`` (its types),
   ``emulator`` (its bit-exact integer arithmetic), ``hls_layer`` / ``hls_config`` (hls4ml's layer dict and
   per-layer config), ``reuse_factor`` / ``fixed_reuse_factor`` (weighted layers) and ``manifest_attrs``;
4. list it in :data:`hashhls.codegen.ops.registry.OPS`, add its template if hls4ml has none, and tests.

An entry with ``kind = None`` is rewritten into other ops during ingest (``rewritten_by`` names the
transformation); it never reaches the later stages.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import onnx

from ...core.errors import UnsupportedModelError
from ..fixed import FixedType
from ..kinds import LayerKind
from ..layer_precision import LayerPrecision, PlanContext
from ..onnx_io import describe, float_array, quoted
from .spec import LayerSpec


@dataclass
class NodeContext:
    """One node and what is known around it when its op entry analyses it."""

    node: onnx.NodeProto
    in_shapes: list[tuple[int, ...] | None]  #: per-sample shape of each input (None: constant or absent)
    inits: dict[str, onnx.TensorProto]
    opset: int

    @property
    def where(self) -> str:
        return describe(self.node)

    def fail(self, message: str) -> UnsupportedModelError:
        return UnsupportedModelError(f"{self.where}: {message}")

    def has_input(self, i: int) -> bool:
        return len(self.node.input) > i and bool(self.node.input[i])

    def const(self, i: int, what: str) -> np.ndarray:
        """Input ``i`` as a float64 array: it must be a (finite) initializer."""
        if not self.has_input(i):
            raise self.fail(f"has no {what} input")
        name = self.node.input[i]
        if name not in self.inits:
            raise self.fail(f"input {quoted(name)} ({what}) must be a constant initializer")
        return float_array(self.inits[name], self.where)

    def activation(self, i: int = 0) -> tuple[int, ...]:
        """The per-sample shape of activation input ``i`` (not a constant)."""
        if not self.has_input(i) or self.in_shapes[i] is None:
            raise self.fail(f"input {i} must be a computed tensor (not a constant or missing)")
        return self.in_shapes[i]

    def spec(self, kind: LayerKind, out_shape: Sequence[int], n_inputs: int = 1, **fields) -> LayerSpec:
        """The node's LayerSpec reading its first ``n_inputs`` inputs as activations."""
        return LayerSpec(self.node.name, kind, tuple(self.node.input[:n_inputs]), self.node.output[0],
                         tuple(self.activation(0)), tuple(int(d) for d in out_shape), **fields)


class EmuLayer:
    """One layer of the bit-exact emulator: integer codes of its input types -> codes of ``out_type``.

    Codes are int64 arrays ``[N, *shape]`` (ONNX layout, per-sample shapes of the spec).
    """

    def __init__(self, spec: LayerSpec, in_types: list[FixedType], out_type: FixedType):
        self.spec = spec
        self.name, self.kind = spec.name, spec.kind
        self.inputs, self.output = spec.inputs, spec.output
        self.in_types, self.out_type = list(in_types), out_type

    @property
    def in_type(self) -> FixedType:
        return self.in_types[0]

    def run(self, xs: list[np.ndarray]) -> np.ndarray:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r}, {self.kind}, {self.in_type} -> {self.out_type})"


@dataclass(frozen=True)
class HlsLayer:
    """hls4ml's layer dict for one node (without name / inputs / outputs) and its per-layer config."""

    layer: dict
    config: dict = field(default_factory=dict)


class OpDef:
    """One ONNX op and everything the build stages need of it (see the module docstring)."""

    op_type: str = ""
    domain: str = ""
    kind: LayerKind | None = None
    #: an accumulating layer (dense or convolution): weight, bias and accumulator types, N*M in the summary
    weighted: bool = False
    #: reads NCHW feature maps (the C++ holds them channels-last)
    spatial: bool = False
    #: one line for the README table
    doc: str = ""
    #: for ``kind = None``: the ingest transformation that rewrites this op away
    rewritten_by: str = ""

    @property
    def key(self) -> tuple[str, str]:
        return self.domain, self.op_type

    # -- ingest ------------------------------------------------------------------
    def analyse(self, ctx: NodeContext) -> LayerSpec:
        """Validate the node and return its LayerSpec; UnsupportedModelError names node and problem."""
        raise NotImplementedError(f"{self.op_type} is rewritten during ingest ({self.rewritten_by})")

    # -- numerics ----------------------------------------------------------------
    def float_forward(self, spec: LayerSpec, xs: list[np.ndarray]) -> np.ndarray:
        """float64 ``[N, *out_shape]`` from float64 inputs ``[N, *in_shape]`` (ONNX semantics)."""
        raise NotImplementedError

    def torch_module(self, spec: LayerSpec):
        """A differentiable float ``torch.nn.Module`` computing the op: ``module(*inputs)``."""
        raise NotImplementedError

    def plan(self, spec: LayerSpec, in_types: list[FixedType], ctx: PlanContext) -> LayerPrecision:
        """Default: an exact op (a reshape, ReLU or max of quantised values) keeps its input type."""
        res = ctx.override(spec.name, "result") or in_types[0]
        return LayerPrecision(None, None, res, None)

    def emulator(self, spec: LayerSpec, precision: dict[str, FixedType], in_types: list[FixedType],
                 attrs: dict) -> EmuLayer:
        """The bit-exact emulator layer, from the manifest's types (``precision``) and ``attrs``."""
        raise NotImplementedError

    # -- hls4ml and the manifest ----------------------------------------------------
    def hls_layer(self, spec: LayerSpec, p: LayerPrecision, reuse_factor: int) -> HlsLayer:
        raise NotImplementedError

    def fixed_reuse_factor(self, spec: LayerSpec) -> int | None:
        """The reuse factor the layer's own structure fixes (a hash-v2 layer's banks), or None: it follows
        ``--reuse-factor`` through :meth:`reuse_factor` (:mod:`hashhls.codegen.lanes`)."""
        return None

    def reuse_factor(self, spec: LayerSpec, given: int) -> int:
        """The reuse factor of a layer that follows ``--reuse-factor`` (``given``)."""
        return int(given)

    def manifest_attrs(self, spec: LayerSpec) -> dict:
        """The layer's kind-specific manifest ``attrs`` (default: its window geometry, if it has one)."""
        return {"window": spec.window.to_dict()} if spec.window is not None else {}

    def channels_last(self, spec: LayerSpec) -> bool:
        """Whether this layer makes the C++ hold feature maps channels-last (hls4ml's layout)."""
        return self.spatial

    def check_build(self, spec: LayerSpec, io_type: str) -> None:
        """Refuse (UnsupportedModelError) what hls4ml cannot build with this ``io_type``."""
