"""The op table: one entry per supported ONNX op, keyed by ``(domain, op_type)``, and the lookups stages use."""

from __future__ import annotations

import onnx

from ...core.errors import UnsupportedModelError
from ..kinds import LayerKind
from ..onnx_io import op_key, op_label, quoted
from . import activations, conv, dense, hashed, pooling, shape
from .base import OpDef

#: Every supported op, in the order the README lists them.
OPS: dict[tuple[str, str], OpDef] = {op.key: op for op in (
    dense.Gemm(),
    conv.Conv(),
    hashed.HashedLinear(),
    hashed.HashedConv2d(),
    pooling.MaxPool(),
    activations.Relu(),
    shape.Flatten(),
)}

#: The entry that lowers to each layer kind (kinds are produced by exactly one op each).
_BY_KIND: dict[LayerKind, OpDef] = {op.kind: op for op in OPS.values() if op.kind is not None}
assert len(_BY_KIND) == len([op for op in OPS.values() if op.kind is not None]), "one op per layer kind"


def supported_labels() -> str:
    return ", ".join(op_label(k) for k in OPS)


def op_for_node(node: onnx.NodeProto, lowered: bool = True) -> OpDef:
    """The entry of ``node``'s op; UnsupportedModelError names the node and the op.

    Args:
        lowered: only ops that reach the later stages (not the ones ingest rewrites away).
    """
    op = OPS.get(op_key(node))
    if op is None or (lowered and op.kind is None):
        raise UnsupportedModelError(f"unsupported operation {quoted(op_label(op_key(node)))} in node "
                                    f"{quoted(node.name)} (supported: {supported_labels()})")
    return op


def op_for_kind(kind: LayerKind | str) -> OpDef:
    try:
        return _BY_KIND[LayerKind(kind)]
    except (KeyError, ValueError):
        raise UnsupportedModelError(f"no op lowers to layer kind {quoted(kind)}") from None
