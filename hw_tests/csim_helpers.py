"""Helpers for the C-simulation tests: run the real build flow, build small ONNX chains inline."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

REPO = Path(__file__).resolve().parents[1]
GOLDEN_DIR = REPO / "hw_tests" / "golden"


def require_gxx() -> None:
    if shutil.which("g++") is None:
        pytest.fail("g++ is required for the C simulation tests")


def make_build(out: Path, model: Path | None = None, **kwargs) -> Path:
    """Run the real build flow (hls4ml project + compiled csim) into ``out``."""
    from hashhls.codegen.project import BuildConfig, build

    require_gxx()
    kwargs.setdefault("board", "none")
    build(BuildConfig(output_dir=out, model=model, progress=False, **kwargs))
    return out


def chain_onnx(layers: list[tuple], input_shape=(1, 28, 28), seed: int = 0, scale: float = 0.1,
               flatten: bool = True, banks: int | list[int] | None = None) -> onnx.ModelProto:
    """A feed-forward chain. layers: ("hashed", n_in, n_out, K, seed) | ("dense", n_in, n_out) | ("relu",)
    | ("flatten",) | ("maxpool", k, stride) | ("conv", c_in, c_out, k, stride, pads)
    | ("hashedconv", c_in, c_out, k, stride, pads, K, seed), with ONNX ``pads`` (top, left, bottom, right).

    Weights and biases are uniform in [-scale, scale], or given as extra tuple items (W, B).
    ``banks``: make the hashed layers hash version 2 with these banks (one value for all, or one per hashed layer).
    """
    hashed_count = sum(spec[0] in ("hashed", "hashedconv") for spec in layers)
    bank_list = None if banks is None else ([banks] * hashed_count if isinstance(banks, int) else list(banks))

    def hash_attrs() -> dict:
        return {} if bank_list is None else {"hash_version": 2, "banks": bank_list.pop(0)}

    rng = np.random.default_rng(seed)
    nodes, inits, cur = [], [], "x"
    if flatten:
        nodes.append(helper.make_node("Flatten", [cur], ["flat"], name="flatten", axis=1))
        cur = "flat"
    n_out = None
    for idx, spec in enumerate(layers):
        out = f"t{idx}"
        if spec[0] == "relu":
            nodes.append(helper.make_node("Relu", [cur], [out], name=f"relu{idx}"))
        elif spec[0] == "flatten":
            nodes.append(helper.make_node("Flatten", [cur], [out], name=f"flatten{idx}", axis=1))
        elif spec[0] == "maxpool":
            nodes.append(helper.make_node("MaxPool", [cur], [out], name=f"pool{idx}", kernel_shape=[spec[1]] * 2,
                                          strides=[spec[2]] * 2))
        elif spec[0] in ("conv", "hashedconv"):
            kind, c_in, c_out, k, stride, pads = spec[:6]
            shape = (spec[6],) if kind == "hashedconv" else (c_out, c_in, k, k)
            extra = spec[8:] if kind == "hashedconv" else spec[6:]
            w = extra[0] if extra else rng.uniform(-scale, scale, shape)
            b = extra[1] if len(extra) > 1 else rng.uniform(-scale, scale, c_out)
            inits += [numpy_helper.from_array(np.asarray(w, np.float32), f"W{idx}"),
                      numpy_helper.from_array(np.asarray(b, np.float32), f"B{idx}")]
            geometry = dict(kernel_shape=[k, k], strides=[stride, stride], pads=list(pads))
            if kind == "conv":
                nodes.append(helper.make_node("Conv", [cur, f"W{idx}", f"B{idx}"], [out], name=f"conv{idx}",
                                              **geometry))
            else:
                nodes.append(helper.make_node("HashedConv2d", [cur, f"W{idx}", f"B{idx}"], [out],
                                              name=f"hconv{idx}", domain="hashhls", seed=spec[7], in_channels=c_in,
                                              out_channels=c_out, **geometry, **hash_attrs()))
        else:
            kind, n_in, n_out = spec[0], spec[1], spec[2]
            shape = (spec[3],) if kind == "hashed" else (n_out, n_in)
            extra = spec[5:] if kind == "hashed" else spec[3:]
            w = extra[0] if extra else rng.uniform(-scale, scale, shape)
            b = extra[1] if len(extra) > 1 else rng.uniform(-scale, scale, n_out)
            inits += [numpy_helper.from_array(np.asarray(w, np.float32), f"W{idx}"),
                      numpy_helper.from_array(np.asarray(b, np.float32), f"B{idx}")]
            if kind == "dense":
                nodes.append(helper.make_node("Gemm", [cur, f"W{idx}", f"B{idx}"], [out], name=f"dense{idx}",
                                              transB=1))
            else:
                nodes.append(helper.make_node("HashedLinear", [cur, f"W{idx}", f"B{idx}"], [out],
                                              name=f"hashed{idx}", domain="hashhls", seed=spec[4], in_features=n_in,
                                              out_features=n_out, **hash_attrs()))
        cur = out
    graph = helper.make_graph(nodes, "chain", [helper.make_tensor_value_info("x", TensorProto.FLOAT,
                                                                             ["N", *input_shape])],
                              [helper.make_tensor_value_info(cur, TensorProto.FLOAT, ["N", n_out or 1])],
                              initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18),
                                                    helper.make_opsetid("hashhls", 1 if banks is None else 2)])
    model.ir_version = 9
    return model
