"""Config and function-call templates of the hashed layers, rendered with Jinja2.

Each (layer, artefact) pair is a small class computing a typed context for one
template file in ``templates/`` (hls4ml's Config/Function template pattern,
without ``str.format`` brace doubling). Every value in a context is a number
or an identifier hls4ml built from sanitised names.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from pathlib import Path

import jinja2
from hls4ml.backends.template import FunctionCallTemplate, LayerConfigTemplate

from .layers import HashedConv2D, HashedDense

KERNEL_HEADER = 'nnet_hashed.h'
#: Included by the kernel header in C simulation only (never synthesised).
CSIM_HEADER = 'nnet_hashed_csim.h'
FUNCTION_TEMPLATE = 'hashed_function.h.j2'


def templates_dir() -> Path:
    return Path(str(resources.files('hashhls.templates')))


@lru_cache(maxsize=1)
def jinja_env() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir())),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,  # C++, not HTML: contexts hold only numbers and identifiers
    )


def render(template: str, **context) -> str:
    return jinja_env().get_template(template).render(**context)


def _hashed_context(node) -> dict:
    """What every hashed layer's config struct holds: config index, K, the hash, reuse factor and types."""
    return dict(
        index=int(node.index),
        n_buckets=int(node.get_attr('n_buckets')),
        seed=int(node.get_attr('seed')),
        hash_key=int(node.get_attr('hash_key')),
        hash_version=int(node.get_attr('hash_version')),
        n_banks=int(node.get_attr('n_banks')),
        hash_width=int(node.get_attr('hash_width')),
        round_keys=[int(k) for k in node.get_attr('round_keys')],
        address_in_fabric=bool(node.get_attr('address_in_fabric')),
        reuse_factor=int(node.get_attr('reuse_factor')),
        accum_t=node.get_attr('accum_t').name,
        weight_t=node.get_weights('weight').type.name,
        bias_t=node.get_weights('bias').type.name,
    )


class HashedDenseConfigTemplate(LayerConfigTemplate):
    """``struct configN : nnet::hashed_dense_config`` for one HashedDense layer."""

    def __init__(self) -> None:
        super().__init__(HashedDense)

    def format(self, node) -> str:
        return render(
            'hashed_dense_config.h.j2',
            n_in=int(node.get_attr('n_in')),
            n_out=int(node.get_attr('n_out')),
            io_type=str(node.model.config.get_config_value('IOType')),
            **_hashed_context(node),
        )


class _HashedFunctionTemplate(FunctionCallTemplate):
    """The call of a hashed kernel inside the top function: ``nnet::KERNEL<in, out, config>(x, y, w, b)``.

    ``kernels`` maps the layer's hash version to its kernel: version 2 runs the banked one.
    """

    layer_class: type
    kernels: dict[int, str]

    def __init__(self) -> None:
        super().__init__(self.layer_class, include_header=[f'nnet_utils/{KERNEL_HEADER}'])

    def format(self, node) -> str:
        params = self._default_function_params(node)
        return render(
            FUNCTION_TEMPLATE,
            kernel=self.kernels[int(node.get_attr('hash_version'))],
            input_t=params['input_t'],
            output_t=params['output_t'],
            config=params['config'],
            input=params['input'],
            output=params['output'],
            weights=node.get_weights('weight').name,
            biases=node.get_weights('bias').name,
        ).strip()


class HashedDenseFunctionTemplate(_HashedFunctionTemplate):
    """The call of ``nnet::hashed_dense`` (hash v1) or ``nnet::hashed_dense_banked`` (v2) in the top function."""

    layer_class = HashedDense
    kernels = {1: 'hashed_dense', 2: 'hashed_dense_banked'}


_CONV_GEOMETRY = ('in_height', 'in_width', 'n_chan', 'out_height', 'out_width', 'n_filt', 'filt_height',
                  'filt_width', 'stride_height', 'stride_width', 'pad_top', 'pad_bottom', 'pad_left', 'pad_right')


class HashedConv2DConfigTemplate(LayerConfigTemplate):
    """``struct configN : nnet::hashed_conv2d_config`` for one HashedConv2D layer."""

    def __init__(self) -> None:
        super().__init__(HashedConv2D)

    def format(self, node) -> str:
        return render(
            'hashed_conv2d_config.h.j2',
            geometry={k: int(node.get_attr(k)) for k in _CONV_GEOMETRY},
            **_hashed_context(node),
        )


class HashedConv2DFunctionTemplate(_HashedFunctionTemplate):
    """The call of ``nnet::hashed_conv2d_cl`` (v1) or ``nnet::hashed_conv2d_banked_cl`` (v2) in the top function."""

    layer_class = HashedConv2D
    kernels = {1: 'hashed_conv2d_cl', 2: 'hashed_conv2d_banked_cl'}


TEMPLATES = (HashedDenseConfigTemplate, HashedDenseFunctionTemplate, HashedConv2DConfigTemplate,
             HashedConv2DFunctionTemplate)
