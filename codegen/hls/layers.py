"""hls4ml IR layer classes for the hashed layers.

``HashedDense`` is a dense layer whose ``n_out x n_in`` virtual weight matrix
is never stored: it holds the K bucket weights and the hash parameters (seed,
folded into a 32-bit key at code-generation time), and its C++ kernel
(``templates/nnet_hashed.h``) computes each weight's bucket and sign on chip.

It deliberately does not subclass hls4ml's ``Dense`` so that no stock
optimizer pass (weight compression, strategy rewrites, ...) matches it.
``HashedConv2D`` follows the same pattern with hls4ml's channels-last
convolution geometry, and its own kernel in the same header.
"""

from __future__ import annotations

import numpy as np
from hls4ml.model.attributes import Attribute, ConfigurableAttribute, TypeAttribute, WeightAttribute
from hls4ml.model.layers import Layer

from ...frontend.hashing import check_buckets, layer_key


#: What every hashed layer declares: K, the hash parameters, its K-word weight, bias, types and reuse factor.
_HASHED_ATTRIBUTES = [
    Attribute('n_buckets'),
    Attribute('seed'),
    Attribute('hash_key'),
    WeightAttribute('weight'),
    WeightAttribute('bias'),
    TypeAttribute('weight'),
    TypeAttribute('bias'),
    TypeAttribute('accum'),
    ConfigurableAttribute('reuse_factor', default=1),
]


def _init_hashed(layer: Layer, n_virtual: int, out_shape: list[int]) -> None:
    """What every hashed layer's ``initialize`` does: check K, derive the key, add output, K weights and bias."""
    weights = np.asarray(layer.get_attr('weight_data'), dtype=np.float64).reshape(-1)
    check_buckets(weights.size, n_virtual)
    layer.set_attr('n_buckets', int(weights.size))
    layer.set_attr('hash_key', layer_key(int(layer.attributes['seed'])))
    layer.add_output_variable(out_shape)
    layer.add_weights_variable(name='weight', var_name='w{index}', data=weights)
    layer.add_weights_variable(name='bias', var_name='b{index}', data=np.asarray(layer.get_attr('bias_data')))


class HashedDense(Layer):
    """Dense layer with hashed weights (HashedNets, Chen et al. 2015).

    Attributes (set by the ONNX handler):
        n_in, n_out: input and output sizes.
        n_buckets: K, the number of stored weights.
        seed: the layer's hash seed (docs/hash-spec.md); ``hash_key`` is derived.
        weight_data: float array ``[K]``; bias_data: float array ``[n_out]``.
    """

    _expected_attributes = [
        Attribute('n_in'),
        Attribute('n_out'),
        *_HASHED_ATTRIBUTES,
    ]

    def initialize(self) -> None:
        n_in, n_out = int(self.attributes['n_in']), int(self.attributes['n_out'])
        shape = list(self.get_input_variable().shape)
        shape[-1] = n_out
        _init_hashed(self, n_in * n_out, shape)


class HashedConv2D(Layer):
    """2-D convolution (channels-last feature maps) with a hashed ``(n_filt, n_chan, kh, kw)`` kernel.

    Attributes (set by the ONNX handler): hls4ml's Conv2D geometry (``in_height``,
    ``in_width``, ``n_chan``, ``out_height``, ``out_width``, ``n_filt``,
    ``filt_height``, ``filt_width``, ``stride_*``, ``pad_*``), plus ``n_buckets``,
    ``seed`` (``hash_key`` derived), ``weight_data`` ``[K]`` and ``bias_data`` ``[n_filt]``.
    The hash indexes the kernel in torch/ONNX order, ``((f*n_chan + c)*kh + y)*kw + x``.
    """

    _expected_attributes = [
        *(Attribute(a) for a in ('in_height', 'in_width', 'n_chan', 'out_height', 'out_width', 'n_filt',
                                 'filt_height', 'filt_width', 'stride_height', 'stride_width',
                                 'pad_top', 'pad_bottom', 'pad_left', 'pad_right')),
        *_HASHED_ATTRIBUTES,
    ]

    def initialize(self) -> None:
        a = self.attributes
        n_virtual = int(a['n_filt']) * int(a['n_chan']) * int(a['filt_height']) * int(a['filt_width'])
        _init_hashed(self, n_virtual, [int(a['out_height']), int(a['out_width']), int(a['n_filt'])])


#: IR class name -> class, registered with hls4ml.model.layers.register_layer.
LAYERS = {'HashedDense': HashedDense, 'HashedConv2D': HashedConv2D}
