"""hls4ml IR layer classes for the hashed layers.

``HashedDense`` is a dense layer whose ``n_out x n_in`` virtual weight matrix
is never stored: it holds the K bucket weights and the hash parameters (seed,
folded into a 32-bit key at code-generation time), and its C++ kernel
(``templates/nnet_hashed.h``) computes each weight's bucket and sign on chip.

It deliberately does not subclass hls4ml's ``Dense`` so that no stock
optimizer pass (weight compression, strategy rewrites, ...) matches it.
``HashedConv2D`` follows the same pattern with hls4ml's channels-last
convolution geometry, and its own kernel in the same header.

Hash version 2 layers (``hash_version == 2``) run the banked kernels with
``n_banks`` lanes; their reuse factor is ``ceil(fan_in / n_banks)``
(:func:`hashhls.codegen.lanes.banked_reuse_factor`), and the mixer's width and
round keys are folded into config constants here, from the spec.
"""

from __future__ import annotations

import numpy as np
from hls4ml.model.attributes import Attribute, ConfigurableAttribute, TypeAttribute, WeightAttribute
from hls4ml.model.layers import Layer

from ...frontend.hashing import HashConfig, layer_key, v2_round_keys, v2_width
from ..lanes import ADDRESS_IN_FABRIC, banked_reuse_factor


#: What every hashed layer declares: K, the hash parameters, its K-word weight, bias, types and reuse factor.
_HASHED_ATTRIBUTES = [
    Attribute('n_buckets'),
    Attribute('seed'),
    Attribute('hash_key'),
    Attribute('hash_version'),
    Attribute('n_banks'),
    Attribute('hash_width'),
    Attribute('round_keys', value_type=list),
    Attribute('address_in_fabric', value_type=bool),
    WeightAttribute('weight'),
    WeightAttribute('bias'),
    TypeAttribute('weight'),
    TypeAttribute('bias'),
    TypeAttribute('accum'),
    ConfigurableAttribute('reuse_factor', default=1),
]


def _init_hashed(layer: Layer, shape: tuple[int, ...], out_shape: list[int]) -> None:
    """What every hashed layer's ``initialize`` does: check the hash, fold its constants, add output, K weights
    and bias; a version-2 layer's reuse factor is the one its banks give."""
    weights = np.asarray(layer.get_attr('weight_data'), dtype=np.float64).reshape(-1)
    h = HashConfig(shape, int(layer.attributes['seed']), weights.size, int(layer.get_attr('hash_version', 1)),
                   int(layer.get_attr('n_banks', 1)))
    layer.set_attr('n_buckets', h.buckets)
    layer.set_attr('hash_key', layer_key(h.seed))
    layer.set_attr('hash_version', h.version)
    layer.set_attr('n_banks', h.banks)
    width = v2_width(h.n_virtual) if h.version == 2 else 0
    layer.set_attr('hash_width', width)
    layer.set_attr('round_keys', list(v2_round_keys(h.seed, width)) if h.version == 2 else [])
    layer.set_attr('address_in_fabric', ADDRESS_IN_FABRIC)
    if h.version == 2:
        layer.set_attr('reuse_factor', banked_reuse_factor(h.fan_in, h.banks))
    layer.add_output_variable(out_shape)
    layer.add_weights_variable(name='weight', var_name='w{index}', data=weights)
    layer.add_weights_variable(name='bias', var_name='b{index}', data=np.asarray(layer.get_attr('bias_data')))


class HashedDense(Layer):
    """Dense layer with hashed weights (HashedNets, Chen et al. 2015).

    Attributes (set by the ONNX handler):
        n_in, n_out: input and output sizes.
        n_buckets: K, the number of stored weights.
        seed: the layer's hash seed (docs/hash-spec.md); ``hash_key`` is derived.
        hash_version, n_banks: the spec version and (version 2) the banks = lanes.
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
        _init_hashed(self, (n_out, n_in), shape)


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
        shape = (int(a['n_filt']), int(a['n_chan']), int(a['filt_height']), int(a['filt_width']))
        _init_hashed(self, shape, [int(a['out_height']), int(a['out_width']), int(a['n_filt'])])


#: IR class name -> class, registered with hls4ml.model.layers.register_layer.
LAYERS = {'HashedDense': HashedDense, 'HashedConv2D': HashedConv2D}
