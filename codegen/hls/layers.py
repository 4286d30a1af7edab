"""hls4ml IR layer classes for the hashed layers.

``HashedDense`` is a dense layer whose ``n_out x n_in`` virtual weight matrix
is never stored: it holds the K bucket weights and the hash parameters (seed,
folded into a 32-bit key at code-generation time), and its C++ kernel
(``templates/nnet_hashed.h``) computes each weight's bucket and sign on chip.

It deliberately does not subclass hls4ml's ``Dense`` so that no stock
optimizer pass (weight compression, strategy rewrites, ...) matches it. A
``HashedConv2D`` follows the same pattern: the attributes below, plus the
convolution geometry, and its own kernel in the same header.
"""

from __future__ import annotations

import numpy as np
from hls4ml.model.attributes import Attribute, ConfigurableAttribute, TypeAttribute, WeightAttribute
from hls4ml.model.layers import Layer

from ...frontend.hashing import check_buckets, layer_key


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

    def initialize(self) -> None:
        n_in, n_out = int(self.attributes['n_in']), int(self.attributes['n_out'])
        weights = np.asarray(self.get_attr('weight_data'), dtype=np.float64).reshape(-1)
        check_buckets(weights.size, n_in * n_out)
        self.set_attr('n_buckets', int(weights.size))
        self.set_attr('hash_key', layer_key(int(self.attributes['seed'])))
        shape = list(self.get_input_variable().shape)
        shape[-1] = n_out
        self.add_output_variable(shape)
        self.add_weights_variable(name='weight', var_name='w{index}', data=weights)
        self.add_weights_variable(name='bias', var_name='b{index}', data=np.asarray(self.get_attr('bias_data')))


#: IR class name -> class, registered with hls4ml.model.layers.register_layer.
LAYERS = {'HashedDense': HashedDense}
