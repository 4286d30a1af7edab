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

from ..ingest import HASHHLS_DOMAIN, attr, initializer_map, op_key

HASHED_DENSE_OP = 'HashhlsHashedDense'
DENSE_OP = 'HashhlsDense'


def hls4ml_view(model: onnx.ModelProto, quantisers: dict[str, tuple[Callable, Callable]] | None = None,
                ) -> onnx.ModelProto:
    """A copy of an ingested model that hls4ml's ONNX parser accepts (not a valid ONNX file).

    Args:
        model: the ingested model.
        quantisers: node name -> (weight, bias) quantisers. hls4ml prints weights
            with as many decimals as the type has fraction bits, which rounds an
            unquantised float once in decimal and again in ap_fixed (double
            rounding); values already on the grid print exactly.
    """
    quantisers = quantisers or {}
    m = onnx.ModelProto()
    m.CopyFrom(model)
    g = m.graph
    inits = initializer_map(m)
    moved: set[str] = set()
    for node in g.node:
        key = op_key(node)
        if key not in {(HASHHLS_DOMAIN, 'HashedLinear'), ('', 'Gemm')}:
            continue
        w, b = (numpy_helper.to_array(inits[n]).astype(np.float64) for n in node.input[1:3])
        if node.name in quantisers:
            qw, qb = quantisers[node.name]
            w, b = qw(w), qb(b)
        moved.update(node.input[1:3])
        if key == ('', 'Gemm'):
            node.op_type, node.domain = DENSE_OP, HASHHLS_DOMAIN
            extra = []
        else:
            node.op_type = HASHED_DENSE_OP
            extra = [helper.make_attribute(k, attr(node, k)) for k in ('seed', 'in_features', 'out_features')]
        del node.attribute[:]
        node.attribute.extend(extra)
        node.attribute.extend([helper.make_attribute('weight', numpy_helper.from_array(w, 'weight')),
                               helper.make_attribute('bias', numpy_helper.from_array(b, 'bias'))])
        del node.input[1:]
    for coll in (g.initializer, g.input, g.value_info):
        for item in [x for x in coll if x.name in moved]:
            coll.remove(item)
    for v in (*g.input, *g.output, *g.value_info):
        dims = v.type.tensor_type.shape.dim
        if dims and dims[0].dim_param:  # the batch dimension: hls4ml strips a leading 1
            dims[0].Clear()
            dims[0].dim_value = 1
    del m.functions[:]
    return m


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


#: op_type -> handler, registered with hls4ml.converters.register_onnx_layer_handler.
HANDLERS = {HASHED_DENSE_OP: parse_hashed_dense, DENSE_OP: parse_dense}
