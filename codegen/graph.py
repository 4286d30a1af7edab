"""An ONNX graph as the build sees it: its one input, and its nodes analysed by the op table into LayerSpecs.

Shapes are propagated here from the graph input through every node's op entry
(``analyse``), never read from the file's ``value_info``, so a build
directory's ``model.onnx`` is re-validated whenever it is read.
"""

from __future__ import annotations

import numpy as np
import onnx

from ..core.errors import UnsupportedModelError
from .onnx_io import MAX_ELEMENTS, initializer_map, opset_version, quoted
from .ops.base import NodeContext
from .ops.registry import op_for_node
from .ops.spec import LayerSpec


def graph_input(model: onnx.ModelProto) -> onnx.ValueInfoProto:
    """The model's one non-initializer input; UnsupportedModelError unless there is exactly one."""
    inits = {t.name for t in model.graph.initializer}
    inputs = [i for i in model.graph.input if i.name not in inits]
    if len(inputs) != 1:
        raise UnsupportedModelError(f"the model must have exactly one input, got {len(inputs)}")
    return inputs[0]


def input_shape(model: onnx.ModelProto) -> tuple[int, ...]:
    """One sample's shape (no batch dimension); refused unless [batch, ...] with fixed positive sizes, float32."""
    x = graph_input(model)
    t = x.type.tensor_type
    dims = [d.dim_value if d.HasField("dim_value") else 0 for d in t.shape.dim]
    if len(dims) < 2 or any(d <= 0 for d in dims[1:]):
        raise UnsupportedModelError(f"model input {quoted(x.name)} must be [batch, ...] with fixed positive sizes, "
                                    f"got {[d.dim_param or d.dim_value for d in t.shape.dim][:8]}")
    if t.elem_type != onnx.TensorProto.FLOAT:
        raise UnsupportedModelError(f"model input {quoted(x.name)} must be float32")
    _check_size(x.name, dims[1:])
    return tuple(dims[1:])


def _check_size(name: str, shape) -> None:
    if int(np.prod(shape, dtype=np.float64)) > MAX_ELEMENTS:
        raise UnsupportedModelError(f"tensor {quoted(name)} has {int(np.prod(shape, dtype=np.float64)):.3g} "
                                    f"values per sample (at most {MAX_ELEMENTS:,} are supported)")


def layer_specs(model: onnx.ModelProto) -> list[LayerSpec]:
    """Every node of a (normalised) model as a validated LayerSpec, in execution order."""
    inits = initializer_map(model)
    x = graph_input(model)
    shapes: dict[str, tuple[int, ...]] = {x.name: input_shape(model)}
    opset = opset_version(model, "") or 0
    specs = []
    for node in model.graph.node:
        op = op_for_node(node)
        for name in node.input:
            if name and name not in shapes and name not in inits:
                raise UnsupportedModelError(f"node {quoted(node.name)} reads {quoted(name)} before it is computed")
        ctx = NodeContext(node, [shapes.get(name) if name else None for name in node.input], inits, opset)
        spec = op.analyse(ctx)
        _check_size(spec.output, spec.out_shape)
        shapes[spec.output] = spec.out_shape
        specs.append(spec)
    return specs
