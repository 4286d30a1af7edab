"""Export hashhls models to ONNX.

The graph is built directly from the ``nn.Sequential`` (not with
``torch.onnx.export``): each hashed layer becomes one ``hashhls::`` node that
holds only its K bucket weights, the output is byte-for-byte deterministic,
and the index tables never reach the file. See docs/design.md "ONNX format".
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import onnx
import torch
from onnx import TensorProto, helper, numpy_helper
from torch import nn

from ..core.atomic import atomic_file
from ..core.errors import HashhlsError
from .gi import GIScale, fold_gi
from .layers import HashedConv2d, HashedLinear
from .onnx_functions import (CONFIG_KEY, DOMAIN, DOMAIN_VERSION, DOMAIN_VERSION_V2, OPSET, all_functions,
                             hash_attributes)

INPUT_NAME = "input"
OUTPUT_NAME = "logits"


def _flat_modules(model: nn.Module) -> list[nn.Module]:
    if isinstance(model, nn.Sequential):
        return [m for child in model for m in _flat_modules(child)]
    return [model]


def _array(t: torch.Tensor) -> np.ndarray:
    return t.detach().cpu().numpy().astype(np.float32)


def _pair(v) -> list[int]:
    return [int(v), int(v)] if isinstance(v, int) else [int(x) for x in v]


class _GraphBuilder:
    """Appends nodes and initializers with unique, readable names."""

    def __init__(self) -> None:
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[onnx.TensorProto] = []
        self.counter = 0
        self.current = INPUT_NAME

    def add(self, op: str, kind: str, params: Sequence[tuple[str, np.ndarray]] = (), domain: str = "",
            **attrs) -> None:
        self.counter += 1
        name = f"{kind}_{self.counter}"
        inputs = [self.current]
        for suffix, arr in params:
            self.inits.append(numpy_helper.from_array(arr, f"{name}_{suffix}"))
            inputs.append(f"{name}_{suffix}")
        out = f"{name}_out"
        self.nodes.append(helper.make_node(op, inputs, [out], name=name, domain=domain, **attrs))
        self.current = out


def _bias(layer: nn.Module, n: int) -> np.ndarray:
    return _array(layer.bias) if layer.bias is not None else np.zeros(n, np.float32)


def _add_module(g: _GraphBuilder, m: nn.Module, dense: bool) -> None:
    if isinstance(m, nn.Flatten):
        if m.start_dim != 1 or m.end_dim != -1:
            raise HashhlsError(f"only Flatten(start_dim=1) can be exported, got {m}")
        g.add("Flatten", "flatten", axis=1)
    elif isinstance(m, nn.ReLU):
        g.add("Relu", "relu")
    elif isinstance(m, nn.Identity):
        return
    elif isinstance(m, HashedLinear) and not dense:
        g.add("HashedLinear", "hashed_linear", [("W", _array(m.weight)), ("B", _bias(m, m.out_features))],
              domain=DOMAIN, seed=m.seed, in_features=m.in_features, out_features=m.out_features,
              **hash_attributes(m.hash))
    elif isinstance(m, (nn.Linear, HashedLinear)):
        w = m.virtual_weight() if isinstance(m, HashedLinear) else m.weight
        g.add("Gemm", "dense", [("W", _array(w)), ("B", _bias(m, m.out_features))], transB=1)
    elif isinstance(m, HashedConv2d) and not dense:
        g.add("HashedConv2d", "hashed_conv", [("W", _array(m.weight)), ("B", _bias(m, m.out_channels))],
              domain=DOMAIN, seed=m.seed, in_channels=m.in_channels, out_channels=m.out_channels,
              kernel_shape=list(m.kernel_size), strides=list(m.stride), pads=[*m.padding, *m.padding],
              **hash_attributes(m.hash))
    elif isinstance(m, (nn.Conv2d, HashedConv2d)):
        if isinstance(m, nn.Conv2d) and (m.groups != 1 or _pair(m.dilation) != [1, 1]
                                         or isinstance(m.padding, str)):
            raise HashhlsError(f"unsupported Conv2d (groups, dilation or string padding): {m}")
        w = m.virtual_weight() if isinstance(m, HashedConv2d) else m.weight
        pads = _pair(m.padding)
        g.add("Conv", "conv", [("W", _array(w)), ("B", _bias(m, m.out_channels))],
              kernel_shape=_pair(m.kernel_size), strides=_pair(m.stride), pads=[*pads, *pads])
    elif isinstance(m, (nn.MaxPool2d, nn.AvgPool2d)):
        if isinstance(m, nn.MaxPool2d) and _pair(m.dilation) != [1, 1]:
            raise HashhlsError(f"unsupported MaxPool2d dilation: {m}")
        if m.ceil_mode:
            raise HashhlsError(f"unsupported pooling with ceil_mode: {m}")
        pads = _pair(m.padding)
        stride = _pair(m.stride if m.stride is not None else m.kernel_size)
        op, kind = ("MaxPool", "maxpool") if isinstance(m, nn.MaxPool2d) else ("AveragePool", "avgpool")
        extra = {} if op == "MaxPool" else {"count_include_pad": int(m.count_include_pad)}
        g.add(op, kind, kernel_shape=_pair(m.kernel_size), strides=stride, pads=[*pads, *pads], **extra)
    elif isinstance(m, GIScale):
        raise HashhlsError("GIScale must be folded before export (fold_gi)")
    else:
        raise HashhlsError(f"cannot export module {type(m).__name__}: unsupported layer")


def export_onnx(model: nn.Module, path: str | Path | None = None, *, input_shape: Sequence[int],
                dense: bool = False, config_json: str | None = None) -> onnx.ModelProto:
    """Export ``model`` (an ``nn.Sequential``) to ONNX.

    Args:
        model: the model; gradient inhibition is folded into the weights first.
        path: where to write the file (atomically), or None to only return the proto.
        input_shape: one sample's shape, without the batch dimension.
        dense: write plain ``Gemm``/``Conv`` with the materialised weights.
        config_json: the checkpoint config, stored as metadata ``hashhls.config``.

    Returns:
        The checked ``onnx.ModelProto``.
    """
    if not isinstance(model, nn.Sequential):
        raise HashhlsError("only nn.Sequential models can be exported")
    model = fold_gi(model)
    g = _GraphBuilder()
    for m in _flat_modules(model):
        _add_module(g, m, dense)
    with torch.no_grad():
        n_out = int(model.eval()(torch.zeros(1, *input_shape)).shape[1])
    graph = helper.make_graph(
        g.nodes, "hashhls",
        [helper.make_tensor_value_info(INPUT_NAME, TensorProto.FLOAT, ["N", *[int(s) for s in input_shape]])],
        [helper.make_tensor_value_info(g.current, TensorProto.FLOAT, ["N", n_out])],
        initializer=g.inits,
    )
    # The last node's output is the graph output; give it the public name.
    graph.output[0].name = OUTPUT_NAME
    g.nodes[-1].output[0] = OUTPUT_NAME
    graph.node[-1].output[0] = OUTPUT_NAME
    uses_domain = any(n.domain == DOMAIN for n in g.nodes)
    # hashhls domain version 2 only when a node needs it: a hash-v1 model is written exactly as before
    version = DOMAIN_VERSION_V2 if any(a.name == "hash_version" for n in g.nodes for a in n.attribute) \
        else DOMAIN_VERSION
    opsets = [helper.make_opsetid("", OPSET)] + ([helper.make_opsetid(DOMAIN, version)] if uses_domain else [])
    proto = helper.make_model(graph, opset_imports=opsets, producer_name="hashhls",
                              functions=all_functions(version) if uses_domain else None)
    proto.ir_version = 9
    meta = {"hashhls.format": "dense" if dense else "hashed"}
    if config_json is not None:
        meta[CONFIG_KEY] = config_json
    helper.set_model_props(proto, meta)
    onnx.checker.check_model(proto, full_check=True)
    if path is not None:
        with atomic_file(path) as tmp:
            tmp.write_bytes(proto.SerializeToString())
    return proto


def export_checkpoint(ckpt_path: str | Path, out_path: str | Path | None, dense: bool = False) -> onnx.ModelProto:
    """Export a hashhls checkpoint (config stored as metadata)."""
    from .checkpoint import load_checkpoint

    model, cfg = load_checkpoint(ckpt_path)
    return export_onnx(model, out_path, input_shape=cfg.input_shape, dense=dense, config_json=cfg.to_json())
