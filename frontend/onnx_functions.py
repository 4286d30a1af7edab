"""ONNX local functions of the ``hashhls`` domain: the hash spec in standard ops.

The bodies use only opset-18 ops that stock onnxruntime implements, so a file
exported by hashhls runs anywhere ONNX does:

* index arithmetic in int64 (ORT has no uint32 ``Range``),
* the hash in uint32 (``BitShift`` is unsigned-only; ``Mul`` wraps mod 2^32),
* the multiply-high range reduction in uint64 (``(h >> 1) * K < 2^63``).

Functions (see docs/hash-spec.md and docs/design.md "ONNX format"):

* ``Fmix32(X) -> Y``: murmur3's finaliser on uint32.
* ``HashBucketSign(F, K; seed) -> (bucket int64, sign float)``.
* ``HashedLinear(X, W, B; seed, in_features, out_features) -> Y``.
* ``HashedConv2d(X, W, B; seed, in_channels, out_channels, kernel_shape, strides, pads) -> Y``.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import AttributeProto, TensorProto, helper, numpy_helper

from .hashing import FMIX_C1, FMIX_C2, SEED_SALT

#: ONNX metadata key holding the checkpoint's ModelConfig JSON (read back by hashhls.codegen.identity)
CONFIG_KEY = "hashhls.config"
DOMAIN = "hashhls"
DOMAIN_VERSION = 1
OPSET = 18

_OPSETS = [helper.make_opsetid("", OPSET), helper.make_opsetid(DOMAIN, DOMAIN_VERSION)]


def _const(name: str, value, dtype) -> onnx.NodeProto:
    arr = np.array(value, dtype=dtype)
    return helper.make_node("Constant", [], [name], value=numpy_helper.from_array(arr, name))


def _ref(node: onnx.NodeProto, attr: str, ref: str, kind: int) -> onnx.NodeProto:
    """Make ``node.attr`` a reference to the enclosing function's attribute ``ref``."""
    node.attribute.append(helper.make_attribute_ref(attr, kind))
    node.attribute[-1].ref_attr_name = ref
    return node


def _attr_const(out: str, ref: str, ints: bool = False) -> onnx.NodeProto:
    node = helper.make_node("Constant", [], [out])
    return _ref(node, "value_ints" if ints else "value_int", ref,
                AttributeProto.INTS if ints else AttributeProto.INT)


def fmix32_function() -> onnx.FunctionProto:
    n = [
        _const("s16", 16, np.uint32), _const("s13", 13, np.uint32),
        _const("c1", FMIX_C1, np.uint32), _const("c2", FMIX_C2, np.uint32),
        helper.make_node("BitShift", ["X", "s16"], ["a1"], direction="RIGHT"),
        helper.make_node("BitwiseXor", ["X", "a1"], ["a2"]),
        helper.make_node("Mul", ["a2", "c1"], ["a3"]),
        helper.make_node("BitShift", ["a3", "s13"], ["a4"], direction="RIGHT"),
        helper.make_node("BitwiseXor", ["a3", "a4"], ["a5"]),
        helper.make_node("Mul", ["a5", "c2"], ["a6"]),
        helper.make_node("BitShift", ["a6", "s16"], ["a7"], direction="RIGHT"),
        helper.make_node("BitwiseXor", ["a6", "a7"], ["Y"]),
    ]
    return helper.make_function(DOMAIN, "Fmix32", ["X"], ["Y"], n, _OPSETS)


def hash_bucket_sign_function() -> onnx.FunctionProto:
    n = [
        _attr_const("seed64", "seed"),
        _const("salt", SEED_SALT, np.uint32),
        _const("one32", 1, np.uint32), _const("s31", 31, np.uint64),
        _const("onef", 1.0, np.float32), _const("twof", 2.0, np.float32),
        helper.make_node("Cast", ["seed64"], ["seed32"], to=TensorProto.UINT32),
        helper.make_node("BitwiseXor", ["seed32", "salt"], ["seedx"]),
        helper.make_node("Fmix32", ["seedx"], ["key"], domain=DOMAIN),
        helper.make_node("Cast", ["F"], ["f32"], to=TensorProto.UINT32),
        helper.make_node("BitwiseXor", ["f32", "key"], ["fx"]),
        helper.make_node("Fmix32", ["fx"], ["h"], domain=DOMAIN),
        # bucket = ((h >> 1) * K) >> 31
        helper.make_node("BitShift", ["h", "one32"], ["h1"], direction="RIGHT"),
        helper.make_node("Cast", ["h1"], ["h64"], to=TensorProto.UINT64),
        helper.make_node("Cast", ["K"], ["k64"], to=TensorProto.UINT64),
        helper.make_node("Mul", ["h64", "k64"], ["prod"]),
        helper.make_node("BitShift", ["prod", "s31"], ["b64"], direction="RIGHT"),
        helper.make_node("Cast", ["b64"], ["bucket"], to=TensorProto.INT64),
        # sign = 1 - 2 * (h & 1)
        helper.make_node("BitwiseAnd", ["h", "one32"], ["bit"]),
        helper.make_node("Cast", ["bit"], ["bitf"], to=TensorProto.FLOAT),
        helper.make_node("Mul", ["bitf", "twof"], ["two_bit"]),
        helper.make_node("Sub", ["onef", "two_bit"], ["sign"]),
    ]
    return helper.make_function(DOMAIN, "HashBucketSign", ["F", "K"], ["bucket", "sign"], n, _OPSETS,
                                attributes=["seed"])


def _virtual_weight_nodes(n_virtual: str, shape: str) -> list[onnx.NodeProto]:
    """Nodes from (W, n_virtual scalar, shape 1-D) to ``V``: the materialised virtual tensor."""
    return [
        _const("zero", 0, np.int64), _const("step", 1, np.int64),
        helper.make_node("Range", ["zero", n_virtual, "step"], ["F"]),
        helper.make_node("Shape", ["W"], ["K"]),
        _ref(helper.make_node("HashBucketSign", ["F", "K"], ["bucket", "sign"], domain=DOMAIN),
             "seed", "seed", AttributeProto.INT),
        helper.make_node("Gather", ["W", "bucket"], ["wg"], axis=0),
        helper.make_node("Mul", ["wg", "sign"], ["vflat"]),
        helper.make_node("Reshape", ["vflat", shape], ["V"]),
    ]


def hashed_linear_function() -> onnx.FunctionProto:
    n = [
        _attr_const("n_in", "in_features"), _attr_const("n_out", "out_features"),
        _const("axis0", [0], np.int64),
        helper.make_node("Mul", ["n_in", "n_out"], ["n_virtual"]),
        helper.make_node("Unsqueeze", ["n_out", "axis0"], ["out1"]),
        helper.make_node("Unsqueeze", ["n_in", "axis0"], ["in1"]),
        helper.make_node("Concat", ["out1", "in1"], ["vshape"], axis=0),
        *_virtual_weight_nodes("n_virtual", "vshape"),
        helper.make_node("Gemm", ["X", "V", "B"], ["Y"], transB=1),
    ]
    return helper.make_function(DOMAIN, "HashedLinear", ["X", "W", "B"], ["Y"], n, _OPSETS,
                                attributes=["seed", "in_features", "out_features"])


def hashed_conv2d_function() -> onnx.FunctionProto:
    conv = helper.make_node("Conv", ["X", "V", "B"], ["Y"])
    for a in ("kernel_shape", "strides", "pads"):
        _ref(conv, a, a, AttributeProto.INTS)
    n = [
        _attr_const("c_in", "in_channels"), _attr_const("c_out", "out_channels"),
        _attr_const("ks", "kernel_shape", ints=True),
        _const("axis0", [0], np.int64),
        helper.make_node("Unsqueeze", ["c_out", "axis0"], ["out1"]),
        helper.make_node("Unsqueeze", ["c_in", "axis0"], ["in1"]),
        helper.make_node("Concat", ["out1", "in1", "ks"], ["vshape"], axis=0),
        helper.make_node("ReduceProd", ["vshape"], ["n_virtual"], keepdims=0),
        *_virtual_weight_nodes("n_virtual", "vshape"),
        conv,
    ]
    return helper.make_function(DOMAIN, "HashedConv2d", ["X", "W", "B"], ["Y"], n, _OPSETS,
                                attributes=["seed", "in_channels", "out_channels", "kernel_shape", "strides",
                                            "pads"])


def all_functions() -> list[onnx.FunctionProto]:
    """Every function of the domain, callees first."""
    return [fmix32_function(), hash_bucket_sign_function(), hashed_linear_function(), hashed_conv2d_function()]
