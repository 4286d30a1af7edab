"""Tiny ONNX models in the hashhls export format, built inline for the build tests.

``hashhls::HashedLinear(X, W[K], B[out])`` with attributes seed, in_features,
out_features (docs/design.md "ONNX format"), plus Flatten / Relu / Gemm. No
local function bodies: the build does not need them.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def hashed(n_in: int, n_out: int, k: int, seed: int = 0, name: str | None = None) -> dict:
    return {"kind": "hashed", "n_in": n_in, "n_out": n_out, "k": k, "seed": seed, "name": name}


def dense(n_in: int, n_out: int, name: str | None = None) -> dict:
    return {"kind": "dense", "n_in": n_in, "n_out": n_out, "name": name}


def relu(name: str | None = None) -> dict:
    return {"kind": "relu", "name": name}


def mlp_onnx(layers: list[dict], input_shape=(1, 28, 28), seed: int = 0, input_name: str = "x",
             flatten_name: str = "flatten", scale: float = 0.1) -> onnx.ModelProto:
    """A Flatten followed by ``layers``; weights uniform in [-scale, scale]."""
    rng = np.random.default_rng(seed)
    nodes, inits = [], []
    cur = "flat"
    nodes.append(helper.make_node("Flatten", [input_name], [cur], name=flatten_name, axis=1))
    for idx, spec in enumerate(layers):
        out = f"t{idx}"
        name = spec["name"] or f"{spec['kind']}{idx}"
        if spec["kind"] == "relu":
            nodes.append(helper.make_node("Relu", [cur], [out], name=name))
        elif spec["kind"] == "dense":
            w = rng.uniform(-scale, scale, (spec["n_out"], spec["n_in"])).astype(np.float32)
            b = rng.uniform(-scale, scale, spec["n_out"]).astype(np.float32)
            inits += [numpy_helper.from_array(w, f"W{idx}"), numpy_helper.from_array(b, f"B{idx}")]
            nodes.append(helper.make_node("Gemm", [cur, f"W{idx}", f"B{idx}"], [out], name=name, transB=1))
        else:
            w = rng.uniform(-scale, scale, spec["k"]).astype(np.float32)
            b = rng.uniform(-scale, scale, spec["n_out"]).astype(np.float32)
            inits += [numpy_helper.from_array(w, f"W{idx}"), numpy_helper.from_array(b, f"B{idx}")]
            nodes.append(helper.make_node("HashedLinear", [cur, f"W{idx}", f"B{idx}"], [out], name=name,
                                          domain="hashhls", seed=spec["seed"], in_features=spec["n_in"],
                                          out_features=spec["n_out"]))
        cur = out
    n_out = next(s["n_out"] for s in reversed(layers) if "n_out" in s)
    graph = helper.make_graph(
        nodes, "tiny",
        [helper.make_tensor_value_info(input_name, TensorProto.FLOAT, ["N", *input_shape])],
        [helper.make_tensor_value_info(cur, TensorProto.FLOAT, ["N", n_out])],
        initializer=inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18), helper.make_opsetid("hashhls", 1)])
    model.ir_version = 9
    return model


def hashed_conv_onnx(seed: int = 0) -> onnx.ModelProto:
    """HashedConv2d(1->3, 3x3, pad 1) on 1x6x6, Relu, Flatten, HashedLinear(108->5)."""
    rng = np.random.default_rng(seed)
    inits = [numpy_helper.from_array(rng.uniform(-.5, .5, 12).astype(np.float32), "Wc"),
             numpy_helper.from_array(rng.uniform(-.1, .1, 3).astype(np.float32), "Bc"),
             numpy_helper.from_array(rng.uniform(-.3, .3, 50).astype(np.float32), "Wd"),
             numpy_helper.from_array(rng.uniform(-.1, .1, 5).astype(np.float32), "Bd")]
    nodes = [helper.make_node("HashedConv2d", ["x", "Wc", "Bc"], ["c"], name="hconv", domain="hashhls", seed=4,
                              in_channels=1, out_channels=3, kernel_shape=[3, 3], strides=[1, 1], pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c"], ["r"], name="relu"),
             helper.make_node("Flatten", ["r"], ["f"], name="flat", axis=1),
             helper.make_node("HashedLinear", ["f", "Wd", "Bd"], ["y"], name="hfc", domain="hashhls", seed=5,
                              in_features=108, out_features=5)]
    graph = helper.make_graph(nodes, "conv", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 1, 6, 6])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 5])], initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18), helper.make_opsetid("hashhls", 1)])
    model.ir_version = 9
    return model
