"""Load an ONNX file (hashhls export, its ``--dense`` twin, or a plain sequential net) back into torch."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import torch
from onnx import helper, numpy_helper
from torch import nn

from ..core.errors import HashhlsError
from .layers import HashedConv2d, HashedLinear
from .onnx_functions import DOMAIN, node_hash_config


def _attrs(node: onnx.NodeProto) -> dict:
    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def _describe(node: onnx.NodeProto) -> str:
    return f"node {node.name!r} ({(node.domain + '::') if node.domain else ''}{node.op_type})"


def read_onnx(path: str | Path) -> onnx.ModelProto:
    path = Path(path)
    if not path.is_file():
        raise HashhlsError(f"ONNX file not found: {path}")
    try:
        return onnx.load(str(path))
    except Exception as e:  # protobuf DecodeError and friends
        raise HashhlsError(f"cannot parse ONNX file {path}: {type(e).__name__}") from None


def _pads(a: dict, node) -> tuple[int, int]:
    pads = list(a.get("pads", [0, 0, 0, 0]))
    if pads[:2] != pads[2:]:
        raise HashhlsError(f"{_describe(node)}: asymmetric padding {pads} is not supported")
    return int(pads[0]), int(pads[1])


def _set(param: torch.Tensor, arr: np.ndarray, node) -> None:
    if tuple(param.shape) != tuple(arr.shape):
        raise HashhlsError(f"{_describe(node)}: weight shape {arr.shape} does not match {tuple(param.shape)}")
    with torch.no_grad():
        param.copy_(torch.from_numpy(np.array(arr, dtype=np.float32)))


def _layer(node: onnx.NodeProto, inits: dict[str, np.ndarray]) -> nn.Module:
    a = _attrs(node)
    params = [inits.get(n) for n in node.input[1:]]
    if any(p is None for p in params):
        raise HashhlsError(f"{_describe(node)}: weights must be initializers")
    key = (node.domain if node.domain not in ("", "ai.onnx") else "", node.op_type)
    if key == (DOMAIN, "HashedLinear"):
        w, *b = params
        h = node_hash_config(node, w.size)
        m = HashedLinear(int(a["in_features"]), int(a["out_features"]), buckets=w.size, seed=h.seed,
                         bias=bool(b), hash_version=h.version, banks=h.banks)
    elif key == (DOMAIN, "HashedConv2d"):
        w, *b = params
        h = node_hash_config(node, w.size)
        m = HashedConv2d(int(a["in_channels"]), int(a["out_channels"]), tuple(a["kernel_shape"]),
                         tuple(a.get("strides", [1, 1])), _pads(a, node), buckets=w.size, seed=h.seed,
                         bias=bool(b), hash_version=h.version, banks=h.banks)
    elif key == ("", "Gemm"):
        if a.get("alpha", 1.0) != 1.0 or a.get("beta", 1.0) != 1.0 or a.get("transA", 0):
            raise HashhlsError(f"{_describe(node)}: only Gemm with alpha=beta=1, transA=0 is supported")
        w, *b = params
        w = w if a.get("transB", 0) else w.T
        m = nn.Linear(w.shape[1], w.shape[0], bias=bool(b))
        params = [w, *b]
    elif key == ("", "Conv"):
        if a.get("group", 1) != 1 or any(d != 1 for d in a.get("dilations", [1, 1])):
            raise HashhlsError(f"{_describe(node)}: grouped or dilated Conv is not supported")
        w, *b = params
        m = nn.Conv2d(w.shape[1], w.shape[0], tuple(w.shape[2:]), tuple(a.get("strides", [1, 1])),
                      _pads(a, node), bias=bool(b))
    else:
        raise HashhlsError(f"unsupported op in {_describe(node)}")
    _set(m.weight, params[0], node)
    if len(params) > 1:
        _set(m.bias, params[1], node)
    return m


def load_onnx_model(path: str | Path) -> nn.Sequential:
    """An ``nn.Sequential`` computing what the (chain-shaped) ONNX graph computes."""
    model = read_onnx(path)
    inits = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    layers: list[nn.Module] = []
    for node in model.graph.node:
        a = _attrs(node)
        if node.op_type == "Flatten" and not node.domain:
            if a.get("axis", 1) != 1:
                raise HashhlsError(f"{_describe(node)}: only axis=1 is supported")
            layers.append(nn.Flatten())
        elif node.op_type == "Relu" and not node.domain:
            layers.append(nn.ReLU())
        elif node.op_type in ("MaxPool", "AveragePool") and not node.domain:
            k, s = tuple(a["kernel_shape"]), tuple(a.get("strides", a["kernel_shape"]))
            pad = _pads(a, node)
            layers.append(nn.MaxPool2d(k, s, pad) if node.op_type == "MaxPool"
                          else nn.AvgPool2d(k, s, pad, count_include_pad=bool(a.get("count_include_pad", 0))))
        elif node.op_type in ("Identity", "Dropout") and not node.domain:
            continue
        else:
            layers.append(_layer(node, inits))
    return nn.Sequential(*layers).eval()
