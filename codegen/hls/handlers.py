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

from ...core.errors import UnsupportedModelError
from ..graph import graph_input
from ..kinds import LayerKind
from ..names import GENERATED_PREFIX, cpp_identifier, generated_identifier
from ..ops.registry import op_for_kind
from ..ops.shape import TO_NCHW
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

    def __init__(self, model: onnx.ModelProto, specs: list[LayerSpec], plan: PrecisionPlan, reuse_factor: int,
                 layer_reuse: dict[str, int] | None = None):
        """``layer_reuse``: the weighted layers' own reuse factors (:func:`hashhls.codegen.lanes.reuse_factors`);
        every other layer gets the model's ``reuse_factor``."""
        layer_reuse = {} if layer_reuse is None else layer_reuse
        self.layers: dict[str, dict] = {}
        self.config: dict[str, dict] = {}
        x = graph_input(model)
        self.input_layout = input_layout(model, specs)
        shapes = {x.name: specs[0].in_shape if specs else ()}
        chw = {x.name} if self.input_layout == "NHWC" else set()  # NCHW (ONNX) tensors, stored channels-last
        alias: dict[str, str] = {}  # a layout Transpose's output -> its input (the same bytes in C++)
        nodes = []
        types = {x.name: plan.input}

        def to_chw(name: str, node_name: str, tag: str) -> str:
            """A Transpose of channels-last ``name`` back to ONNX's CHW order (nothing to do if H = W = 1)."""
            c, h, w = shapes[name]
            if h * w == 1:
                return name
            out, layer = generated_identifier(name, tag), generated_identifier(node_name, tag)
            nodes.append(helper.make_node(VIEW_OP, [name], [out], name=layer))
            self.layers[layer] = {'class_name': 'Transpose', 'perm': list(_TO_CHW)}
            self.config[layer] = {"Precision": {"result": types[name].cpp()}}
            shapes[out], types[out] = shapes[name], types[name]
            return out

        for spec in specs:
            inputs = [alias.get(t, t) for t in spec.inputs]
            if spec.kind is LayerKind.TRANSPOSE:  # NHWC <-> NCHW: free in the channels-last C++
                to_nchw = spec.params["perm"] == TO_NCHW
                if to_nchw == (spec.inputs[0] in chw):  # layouts are per ONNX tensor, not per C++ array
                    raise UnsupportedModelError(f"Transpose node {spec.name!r}: perm {list(spec.params['perm'])} of "
                                                f"{'an NCHW' if to_nchw else 'an NHWC'} tensor is unsupported (only "
                                                "NHWC -> NCHW -> NHWC, as channels-last exporters write them)")
                alias[spec.output] = inputs[0]
                if to_nchw:
                    chw.add(spec.output)
                shapes[spec.output], types[spec.output] = spec.out_shape, types[inputs[0]]
                continue
            if spec.kind is LayerKind.FLATTEN and spec.inputs[0] in chw:
                inputs[0] = to_chw(inputs[0], spec.name, 'chw')
            nodes.append(helper.make_node(VIEW_OP, inputs, [spec.output], name=cpp_identifier(spec.name)))
            hls = op_for_kind(spec.kind).hls_layer(spec, plan.layers[spec.name],
                                                   layer_reuse.get(spec.name, reuse_factor))
            self.layers[cpp_identifier(spec.name)] = hls.layer
            self.config[cpp_identifier(spec.name)] = hls.config
            shapes[spec.output], types[spec.output] = spec.out_shape, plan.layers[spec.name].result
            if len(spec.out_shape) == 3 and (op_for_kind(spec.kind).channels_last(spec)
                                             or any(t in chw for t in spec.inputs)):
                chw.add(spec.output)
        out = model.graph.output[0].name
        last = alias.get(out, out)
        if out in chw:  # a feature-map output comes out in ONNX's NCHW order
            last = to_chw(last, 'output', 'nchw')
        if last == x.name:
            raise UnsupportedModelError("the model computes nothing the hardware could build (its output is its input)")
        self.output = last

        def info(name: str) -> onnx.ValueInfoProto:
            shape = list(shapes[name])
            if name in chw and len(shape) == 3:  # NCHW -> NHWC
                shape = [shape[1], shape[2], shape[0]]
            return helper.make_tensor_value_info(name, TensorProto.FLOAT, [1, *shape])

        graph = helper.make_graph(nodes, 'hashhls', [info(x.name)], [info(last)],
                                  value_info=[info(n) for n in shapes if n not in (x.name, last) and n not in alias])
        # Every name hls4ml turns into C++ gets the ONNX prefix (generated ones have their own): see names.py.
        rename = {n: (n if n.startswith(GENERATED_PREFIX) else cpp_identifier(n)) for n in shapes}
        for node in graph.node:
            node.input[:] = [rename.get(t, t) for t in node.input]
            node.output[:] = [rename.get(t, t) for t in node.output]
        for v in (*graph.input, *graph.output, *graph.value_info):
            v.name = rename.get(v.name, v.name)
        self.input_name = rename[x.name]
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


def input_layout(model: onnx.ModelProto, specs: list[LayerSpec]) -> str:
    """How the C++ top function reads one sample: ``"NHWC"`` (a feature map, channels-last) or ``"flat"``.

    Feature maps are channels-last when any layer needs it (a convolution, pooling, a batch norm of a feature
    map); an NHWC input that the model transposes to NCHW itself (channels-last exporters) is read as it is.
    """
    if not any(op_for_kind(s.kind).channels_last(s) for s in specs):
        return "flat"
    x = graph_input(model).name
    readers = [s for s in specs if x in s.inputs]
    if len(specs[0].in_shape) != 3 or (readers and all(s.kind is LayerKind.TRANSPOSE and s.params["perm"] == TO_NCHW
                                                        for s in readers)):
        return "flat"
    return "NHWC"


#: op_type -> handler, registered with hls4ml.converters.register_onnx_layer_handler.
HANDLERS = {VIEW_OP: parse_view_layer}
