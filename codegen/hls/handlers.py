"""ONNX -> hls4ml: the hls4ml-facing view of an ingested model, and the one handler hls4ml calls for it.

hls4ml's ONNX front end dispatches on ``op_type`` alone and turns every
initializer into a ``Constant`` layer. :class:`Hls4mlView` therefore describes
the ingested model to it as a graph of single-input ``HashhlsLayer`` nodes (no
initializers, no local functions), and computes beforehand, with each node's
op table entry (``OpDef.hls_layer``), the layer dict hls4ml's handler must
return; :func:`parse_view_layer` (registered for ``HashhlsLayer``) hands it
over, found by node name while the view is :meth:`~Hls4mlView.active`.

Feature maps are channels-last in the generated C++ (hls4ml's io_parallel and
io_stream convolution layout): 4-D tensors are described as NHWC, and a
``Transpose`` back to CHW is inserted before each ``Flatten`` of a feature map,
so flattened features keep ONNX's order (which a hashed dense layer's hash
indexes).
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator

import onnx
from onnx import TensorProto, helper

from ..graph import graph_input
from ..kinds import LayerKind
from ..ops.registry import op_for_kind
from ..ops.spec import LayerSpec
from ..precision import PrecisionPlan

#: The op_type of every node of the view (no standard op uses it).
VIEW_OP = 'HashhlsLayer'
#: name -> hls4ml layer dict of the view being converted
_ACTIVE: contextvars.ContextVar[dict[str, dict]] = contextvars.ContextVar('hashhls_view_layers')
_TO_CHW = [2, 0, 1]  # hls4ml's Transpose perm (no batch axis): H, W, C -> C, H, W


class Hls4mlView:
    """An ingested model as hls4ml's ONNX front end will read it (not a valid ONNX file).

    Attributes:
        model: the view's ModelProto.
        layers: node name -> hls4ml layer dict (class_name and attributes; weights quantised).
        config: hls4ml's ``LayerName`` config of every layer (precision, reuse factor).
    """

    def __init__(self, model: onnx.ModelProto, specs: list[LayerSpec], plan: PrecisionPlan, reuse_factor: int):
        self.layers: dict[str, dict] = {}
        self.config: dict[str, dict] = {}
        x = graph_input(model)
        spatial = any(op_for_kind(s.kind).spatial for s in specs)  # only then is anything channels-last
        shapes = {x.name: specs[0].in_shape if specs else ()}
        chw: set[str] = set()  # the Transposes' outputs, which stay channels-first
        nodes = []
        for spec in specs:
            inputs = list(spec.inputs)
            if spatial and spec.kind is LayerKind.FLATTEN and len(spec.in_shape) == 3:
                name, out = f'{spec.name}_chw', f'{inputs[0]}_chw'
                nodes.append(helper.make_node(VIEW_OP, [inputs[0]], [out], name=name))
                self.layers[name] = {'class_name': 'Transpose', 'perm': list(_TO_CHW)}
                shapes[out] = spec.in_shape
                chw.add(out)
                inputs[0] = out
            nodes.append(helper.make_node(VIEW_OP, inputs, [spec.output], name=spec.name))
            hls = op_for_kind(spec.kind).hls_layer(spec, plan.layers[spec.name], reuse_factor)
            self.layers[spec.name] = hls.layer
            self.config[spec.name] = hls.config
            shapes[spec.output] = spec.out_shape

        def info(name: str) -> onnx.ValueInfoProto:
            shape = list(shapes[name])
            if spatial and len(shape) == 3 and name not in chw:  # NCHW -> NHWC
                shape = [shape[1], shape[2], shape[0]]
            return helper.make_tensor_value_info(name, TensorProto.FLOAT, [1, *shape])

        out_names = [o.name for o in model.graph.output]
        graph = helper.make_graph(nodes, 'hashhls', [info(x.name)], [info(n) for n in out_names],
                                  value_info=[info(n) for n in shapes if n != x.name and n not in out_names])
        self.model = helper.make_model(graph, opset_imports=list(model.opset_import))

    @contextlib.contextmanager
    def active(self) -> Iterator[None]:
        """While converting: :func:`parse_view_layer` finds this view's layer dicts."""
        token = _ACTIVE.set(self.layers)
        try:
            yield
        finally:
            _ACTIVE.reset(token)


def parse_view_layer(node, input_names, input_shapes, graph) -> dict:
    """hls4ml ONNX handler for ``HashhlsLayer``: the layer dict the active view computed for this node."""
    layer = _ACTIVE.get()[node.name]
    return {'name': node.name, 'inputs': input_names, 'outputs': list(node.output), **layer}


#: op_type -> handler, registered with hls4ml.converters.register_onnx_layer_handler.
HANDLERS = {VIEW_OP: parse_view_layer}
