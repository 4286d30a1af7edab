"""ONNX -> hls4ml: the hls4ml-facing view of an ingested model and the handlers for it.

hls4ml's ONNX front end turns every initializer into a ``Constant`` layer and
dispatches on ``op_type`` alone. :func:`hls4ml_view` therefore rewrites a copy
of the ingested model for it: each ``hashhls::HashedLinear`` and ``Gemm``
becomes a single-input node whose weights travel as tensor attributes, with an
op_type no standard op uses (``HashhlsHashedDense`` / ``HashhlsDense``). The
domain was checked by :mod:`hashhls.codegen.ingest` before this point.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import onnx
from onnx import helper, numpy_helper

from ...frontend.onnx_functions import node_hash_config
from ..ingest import HASHHLS_DOMAIN, SPATIAL_OPS, attr, initializer_map, op_key, tensor_shapes

HASHED_DENSE_OP = 'HashhlsHashedDense'
DENSE_OP = 'HashhlsDense'
HASHED_CONV_OP = 'HashhlsHashedConv2D'
CONV_OP = 'HashhlsConv2D'
MAXPOOL_OP = 'HashhlsMaxPool2D'
#: ingested op -> the op_type of its stand-in in hls4ml's view
_VIEW_OPS = {(HASHHLS_DOMAIN, 'HashedLinear'): HASHED_DENSE_OP, ('', 'Gemm'): DENSE_OP,
             (HASHHLS_DOMAIN, 'HashedConv2d'): HASHED_CONV_OP, ('', 'Conv'): CONV_OP, ('', 'MaxPool'): MAXPOOL_OP}
_HASH_ATTRS = {HASHED_DENSE_OP: ('seed', 'in_features', 'out_features'), HASHED_CONV_OP: ('seed',)}


def hls4ml_view(model: onnx.ModelProto, quantisers: dict[str, tuple[Callable, Callable]] | None = None,
                ) -> onnx.ModelProto:
    """A copy of an ingested model that hls4ml's ONNX parser accepts (not a valid ONNX file).

    Feature maps become channels-last (hls4ml's layout for io_parallel
    convolutions): 4-D tensors are described as NHWC, and a ``Transpose`` back
    to CHW is inserted before each ``Flatten`` of a feature map, so flattened
    features keep ONNX's order (which a hashed dense layer's hash indexes).

    Args:
        model: the ingested model.
        quantisers: node name -> (weight, bias) quantisers. hls4ml prints weights
            with as many decimals as the type has fraction bits, which rounds an
            unquantised float once in decimal and again in ap_fixed (double
            rounding); values already on the grid print exactly.
    """
    from ..geometry import window_of

    quantisers = quantisers or {}
    m = onnx.ModelProto()
    m.CopyFrom(model)
    g = m.graph
    inits = initializer_map(m)
    shapes = tensor_shapes(model)
    moved: set[str] = set()
    chw: set[str] = set()  # the Transposes' outputs, which stay channels-first
    spatial = any(op_key(n) in SPATIAL_OPS for n in g.node)  # only then is anything channels-last
    nodes = []
    for node in g.node:
        key = op_key(node)
        in_shape = shapes.get(node.input[0], [])
        if spatial and key == ('', 'Flatten') and len(in_shape) == 3:
            name = f'{node.input[0]}_chw'
            chw.add(name)
            nodes.append(helper.make_node('Transpose', [node.input[0]], [name], name=f'{node.name}_chw',
                                          perm=[0, 3, 1, 2]))
            g.value_info.append(helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, ['N', *in_shape]))
            node.input[0] = name
        nodes.append(node)
        op = _VIEW_OPS.get(key)
        if op is None:
            continue
        extra = [helper.make_attribute(k, attr(node, k)) for k in _HASH_ATTRS.get(op, ())]
        if op in (HASHED_DENSE_OP, HASHED_CONV_OP):  # the spec version and banks, read by the one reader
            h = node_hash_config(node, int(np.prod(inits[node.input[1]].dims)))
            extra += [helper.make_attribute('hash_version', h.version), helper.make_attribute('banks', h.banks)]
        if op in (CONV_OP, HASHED_CONV_OP, MAXPOOL_OP):
            w_dims = inits[node.input[1]].dims if op == CONV_OP else None
            out_c = w_dims[0] if w_dims is not None else attr(node, 'out_channels')
            win = window_of(node, in_shape, out_c)
            extra.append(helper.make_attribute('window', [int(win.to_dict()[k]) for k in _WINDOW_KEYS]))
        if op != MAXPOOL_OP:
            w, b = (numpy_helper.to_array(inits[n]).astype(np.float64) for n in node.input[1:3])
            if node.name in quantisers:
                qw, qb = quantisers[node.name]
                w, b = qw(w), qb(b)
            moved.update(node.input[1:3])
            extra += [helper.make_attribute('weight', numpy_helper.from_array(w, 'weight')),
                      helper.make_attribute('bias', numpy_helper.from_array(b, 'bias'))]
        node.op_type, node.domain = op, HASHHLS_DOMAIN
        del node.attribute[:]
        node.attribute.extend(extra)
        del node.input[1:]
    del g.node[:]
    g.node.extend(nodes)
    for coll in (g.initializer, g.input, g.value_info):
        for item in [x for x in coll if x.name in moved]:
            coll.remove(item)
    for v in (*g.input, *g.output, *g.value_info):
        dims = v.type.tensor_type.shape.dim
        if dims and dims[0].dim_param:  # the batch dimension: hls4ml strips a leading 1
            dims[0].Clear()
            dims[0].dim_value = 1
        if spatial and len(dims) == 4 and v.name not in chw:  # NCHW -> NHWC
            c, h, w = (d.dim_value for d in dims[1:])
            for d, value in zip(dims[1:], (h, w, c)):
                d.dim_value = value
    del m.functions[:]
    return m


_WINDOW_KEYS = ('in_c', 'in_h', 'in_w', 'out_c', 'kh', 'kw', 'sh', 'sw', 'pad_t', 'pad_l', 'pad_b', 'pad_r')


def _window(node):
    from ..geometry import Window2D

    return Window2D(*(int(v) for v in attr(node, 'window')))


def _tensor_attr(node, name):
    return numpy_helper.to_array(next(a.t for a in node.attribute if a.name == name))


def parse_hashed_dense(node, input_names, input_shapes, graph) -> dict:
    """hls4ml ONNX handler for ``HashhlsHashedDense`` (a HashedLinear after :func:`hls4ml_view`)."""
    weight = _tensor_attr(node, 'weight')
    return {
        'class_name': 'HashedDense',
        'name': node.name,
        'inputs': input_names,
        'outputs': list(node.output),
        'n_in': int(attr(node, 'in_features')),
        'n_out': int(attr(node, 'out_features')),
        'seed': int(attr(node, 'seed')),
        'hash_version': int(attr(node, 'hash_version')),
        'n_banks': int(attr(node, 'banks')),
        'n_buckets': int(weight.size),
        'weight_data': weight.astype('float64').reshape(-1),
        'bias_data': _tensor_attr(node, 'bias').astype('float64').reshape(-1),
    }


def parse_dense(node, input_names, input_shapes, graph) -> dict:
    """hls4ml ONNX handler for ``HashhlsDense`` (a normalised Gemm): hls4ml's stock ``Dense``."""
    weight = _tensor_attr(node, 'weight')  # (out, in), torch layout
    return {
        'class_name': 'Dense',
        'name': node.name,
        'inputs': input_names,
        'outputs': list(node.output),
        'n_in': int(weight.shape[1]),
        'n_out': int(weight.shape[0]),
        'weight_data': weight.T.astype('float64'),  # hls4ml's dense kernels index w[i * n_out + o]
        'bias_data': _tensor_attr(node, 'bias').astype('float64').reshape(-1),
    }


def _window_layer(node, input_names, win) -> dict:
    """The channels-last geometry keys hls4ml's 2-D window layers expect."""
    return {
        'name': node.name,
        'inputs': input_names,
        'outputs': list(node.output),
        'data_format': 'channels_last',
        'in_height': win.in_h, 'in_width': win.in_w, 'n_chan': win.in_c,
        'out_height': win.out_h, 'out_width': win.out_w, 'n_filt': win.out_c,
        'filt_height': win.kh, 'filt_width': win.kw, 'stride_height': win.sh, 'stride_width': win.sw,
        'pad_top': win.pad_t, 'pad_bottom': win.pad_b, 'pad_left': win.pad_l, 'pad_right': win.pad_r,
    }


def parse_hashed_conv(node, input_names, input_shapes, graph) -> dict:
    """hls4ml ONNX handler for ``HashhlsHashedConv2D`` (a HashedConv2d after :func:`hls4ml_view`)."""
    weight = _tensor_attr(node, 'weight')
    return {
        **_window_layer(node, input_names, _window(node)),
        'class_name': 'HashedConv2D',
        'seed': int(attr(node, 'seed')),
        'hash_version': int(attr(node, 'hash_version')),
        'n_banks': int(attr(node, 'banks')),
        'n_buckets': int(weight.size),
        'weight_data': weight.astype('float64').reshape(-1),
        'bias_data': _tensor_attr(node, 'bias').astype('float64').reshape(-1),
    }


def parse_conv(node, input_names, input_shapes, graph) -> dict:
    """hls4ml ONNX handler for ``HashhlsConv2D`` (a Conv): hls4ml's stock ``Conv2D``, channels-last."""
    weight = _tensor_attr(node, 'weight')  # (out, in, kh, kw), torch/ONNX layout
    return {
        **_window_layer(node, input_names, _window(node)),
        'class_name': 'Conv2D',
        'weight_data': weight.transpose(2, 3, 1, 0).astype('float64'),  # hls4ml's (kh, kw, in, out)
        'bias_data': _tensor_attr(node, 'bias').astype('float64').reshape(-1),
    }


def parse_maxpool(node, input_names, input_shapes, graph) -> dict:
    """hls4ml ONNX handler for ``HashhlsMaxPool2D`` (a MaxPool): hls4ml's stock ``MaxPooling2D``."""
    win = _window(node)
    layer = _window_layer(node, input_names, win)
    layer.update(class_name='MaxPooling2D', pool_height=win.kh, pool_width=win.kw, n_filt=win.in_c)
    return layer


#: op_type -> handler, registered with hls4ml.converters.register_onnx_layer_handler.
HANDLERS = {HASHED_DENSE_OP: parse_hashed_dense, DENSE_OP: parse_dense, HASHED_CONV_OP: parse_hashed_conv,
            CONV_OP: parse_conv, MAXPOOL_OP: parse_maxpool}
