"""The op table: one entry per supported ONNX op, keyed by ``(domain, op_type)``, and the lookups stages use."""

from __future__ import annotations

import onnx

from ...core.errors import UnsupportedModelError
from ..kinds import LayerKind
from ..onnx_io import describe, op_key, op_label, quoted
from . import activations, conv, dense, hashed, merge, normalisation, pooling, shape
from .base import OpDef

#: Every supported op, in the order the README lists them.
OPS: dict[tuple[str, str], OpDef] = {op.key: op for op in (
    dense.Gemm(),
    conv.Conv(),
    hashed.HashedLinear(),
    hashed.HashedConv2d(),
    shape.RewrittenOp("MatMul", "MatMulAddToGemm", "with a constant weight (and a following constant Add: the bias)"),
    pooling.MaxPool(),
    pooling.AveragePool(),
    pooling.GlobalAveragePool(),
    normalisation.BatchNormalization(),
    merge.Add(),
    activations.Relu(),
    activations.Clip(),
    activations.LeakyRelu(),
    activations.Sigmoid(),
    activations.Tanh(),
    shape.RewrittenOp("Softmax", "StripSoftmax", "at the output with `hashhls build --strip-softmax` (removed: "
                      "the predicted class is unchanged)"),
    shape.Flatten(),
    shape.RewrittenOp("Reshape", "ReshapeToFlatten", "a constant shape that flattens [batch, -1]"),
    shape.Transpose(),
    shape.RewrittenOp("Identity", "RemoveIdentityOps", "removed"),
    shape.RewrittenOp("Dropout", "RemoveIdentityOps", "removed (inference)"),
    shape.RewrittenOp("Constant", "ConstantsToInitializers", "becomes an initializer"),
)}

#: The entry that lowers to each layer kind (kinds are produced by exactly one op each).
_BY_KIND: dict[LayerKind, OpDef] = {op.kind: op for op in OPS.values() if op.kind is not None}
assert len(_BY_KIND) == len([op for op in OPS.values() if op.kind is not None]), "one op per layer kind"


def supported_labels() -> str:
    return ", ".join(op_label(k) for k, op in OPS.items() if op.kind is not None or op.op_type != "Constant")


def op_for_node(node: onnx.NodeProto, lowered: bool = True) -> OpDef:
    """The entry of ``node``'s op; UnsupportedModelError names the node and the op.

    Args:
        lowered: only ops that reach the later stages (not the ones ingest rewrites away).
    """
    op = OPS.get(op_key(node))
    if op is None:
        raise UnsupportedModelError(f"unsupported operation {quoted(op_label(op_key(node)))} in node "
                                    f"{quoted(node.name)} (supported: {supported_labels()})")
    if lowered and op.kind is None:
        raise UnsupportedModelError(f"{describe(node)}: {op.op_type} is supported only {op.doc}")
    return op


def op_for_kind(kind: LayerKind | str) -> OpDef:
    try:
        return _BY_KIND[LayerKind(kind)]
    except (KeyError, ValueError):
        raise UnsupportedModelError(f"no op lowers to layer kind {quoted(kind)}") from None
