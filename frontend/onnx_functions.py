"""ONNX local functions of the ``hashhls`` domain: the hash spec in standard ops.

The bodies use only opset-18 ops that stock onnxruntime implements, so a file
exported by hashhls runs anywhere ONNX does:

* index arithmetic in int64 (ORT has no uint32 ``Range``),
* the hash in uint32 (``BitShift`` is unsigned-only; ``Mul`` wraps mod 2^32),
* the multiply-high range reduction in uint64 (``(h >> 1) * K < 2^63``).

Functions (see docs/hash-spec.md and docs/design.md "ONNX format"):

* ``Fmix32(X) -> Y``: murmur3's finaliser on uint32.
* ``HashBucketSign(F, K; seed) -> (bucket int64, sign float)``: hash version 1.
* ``HashBucketSign2(F, K, N, M; seed, banks) -> (bucket int64, sign float)``: hash version 2 (blocked),
  N the layer's number of virtual weights and M its fan-in (int64 ``[1]`` each).
* ``HashedLinear(X, W, B; seed, in_features, out_features[, hash_version, banks]) -> Y``.
* ``HashedConv2d(X, W, B; seed, in_channels, out_channels, kernel_shape, strides, pads[, hash_version,
  banks]) -> Y``.

Domain versions: a model whose hashed nodes are all hash version 1 imports
``hashhls`` version 1 and holds exactly the functions it always did (files and
exports from before hash version 2 are unchanged). A model with a version-2
node imports ``hashhls`` version 2, whose ``HashedLinear`` / ``HashedConv2d``
take ``hash_version`` (default 1) and ``banks`` (default 1) and select the
spec version per node; an unknown ``hash_version`` makes the output NaN.

:func:`hash_attributes` writes a layer's hash version and banks onto its node;
the build's one reader of them is the op table's hashed entries
(:func:`hashhls.codegen.ops.hashed.hash_config`).
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import AttributeProto, TensorProto, helper, numpy_helper

from .hashing import DEFAULT_HASH_VERSION, FMIX_C1, FMIX_C2, SEED_SALT, V2_MIN_WIDTH, V2_SHIFTS, HashConfig

#: ONNX metadata key holding the checkpoint's ModelConfig JSON (read back by hashhls.codegen.identity)
CONFIG_KEY = "hashhls.config"
DOMAIN = "hashhls"
#: The hashhls domain version of a model whose hashed nodes are all hash version 1.
DOMAIN_VERSION = 1
#: ... and of a model with a hash-version-2 node (HashedLinear / HashedConv2d gain hash_version, banks).
DOMAIN_VERSION_V2 = 2
DOMAIN_VERSIONS = (DOMAIN_VERSION, DOMAIN_VERSION_V2)
OPSET = 18

_OPSETS = [helper.make_opsetid("", OPSET), helper.make_opsetid(DOMAIN, DOMAIN_VERSION)]
_OPSETS_V2 = [helper.make_opsetid("", OPSET), helper.make_opsetid(DOMAIN, DOMAIN_VERSION_V2)]


def hash_attributes(cfg: HashConfig) -> dict:
    """The node attributes that carry ``cfg``'s version (none for version 1: its nodes stay as they were)."""
    return {} if cfg.version == 1 else {"hash_version": cfg.version, "banks": cfg.banks}


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


def _opsets(domain_version: int) -> list:
    return _OPSETS if domain_version == DOMAIN_VERSION else _OPSETS_V2


def fmix32_function(domain_version: int = DOMAIN_VERSION) -> onnx.FunctionProto:
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
    return helper.make_function(DOMAIN, "Fmix32", ["X"], ["Y"], n, _opsets(domain_version))


def hash_bucket_sign_function(domain_version: int = DOMAIN_VERSION) -> onnx.FunctionProto:
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
    return helper.make_function(DOMAIN, "HashBucketSign", ["F", "K"], ["bucket", "sign"], n,
                                _opsets(domain_version), attributes=["seed"])


def hash_bucket_sign_v2_function() -> onnx.FunctionProto:
    """Hash version 2 (docs/hash-spec.md "Version 2"): every quantity derived from N, M, K, seed, banks in-graph.

    Integers are int64 where they are sizes (``Range``, ``Mod``, ``Div``) and uint64 where they are bits
    (``BitShift`` is unsigned-only); every value stays below 2^62, so the casts are exact.
    """
    u64, i64 = TensorProto.UINT64, TensorProto.INT64
    pow2 = [1 << k for k in range(32)]
    n = [
        _attr_const("seed64", "seed"), _attr_const("banks", "banks"),
        _const("salt", SEED_SALT, np.uint32), _const("salt64", SEED_SALT, np.int64),
        _const("m32", 0xFFFFFFFF, np.int64), _const("pow2", pow2, np.int64),
        _const("one", 1, np.int64), _const("two", 2, np.int64), _const("wmin", V2_MIN_WIDTH, np.int64),
        _const("eight", 8, np.int64), _const("sixteen", 16, np.int64),
        _const("one_u", 1, np.uint64), _const("onef", 1.0, np.float32), _const("twof", 2.0, np.float32),
        # W = max(8, bitlen(N - 1) + 2), bitlen(x) = #{k : x >= 2^k}; mask = 2^W - 1
        helper.make_node("Sub", ["N", "one"], ["n1"]),
        helper.make_node("GreaterOrEqual", ["n1", "pow2"], ["ge"]),
        helper.make_node("Cast", ["ge"], ["ge64"], to=i64),
        helper.make_node("ReduceSum", ["ge64"], ["bitlen"], keepdims=0),
        helper.make_node("Add", ["bitlen", "two"], ["w2"]),
        helper.make_node("Max", ["w2", "wmin"], ["W"]),
        helper.make_node("Sub", ["W", "one"], ["wm1"]),
        helper.make_node("Cast", ["W"], ["W_u"], to=u64),
        helper.make_node("Cast", ["wm1"], ["wm1_u"], to=u64),
        helper.make_node("BitShift", ["one_u", "W_u"], ["pw"], direction="LEFT"),
        helper.make_node("Sub", ["pw", "one_u"], ["mask"]),
        # the layer key of version 1, then round keys k_j = fmix32((key + j*salt) mod 2^32) & mask
        helper.make_node("Cast", ["seed64"], ["seed32"], to=TensorProto.UINT32),
        helper.make_node("BitwiseXor", ["seed32", "salt"], ["seedx"]),
        helper.make_node("Fmix32", ["seedx"], ["key"], domain=DOMAIN),
        helper.make_node("Cast", ["key"], ["key64"], to=i64),
        helper.make_node("Cast", ["F"], ["x0"], to=u64),
    ]
    x = "x0"
    for j, (a16, b16) in enumerate(V2_SHIFTS):
        n += [
            _const(f"j{j}", j, np.int64), _const(f"A{j}", a16, np.int64), _const(f"B{j}", b16, np.int64),
            helper.make_node("Mul", [f"j{j}", "salt64"], [f"js{j}"]),
            helper.make_node("Add", ["key64", f"js{j}"], [f"ka{j}"]),
            helper.make_node("BitwiseAnd", [f"ka{j}", "m32"], [f"kb{j}"]),
            helper.make_node("Cast", [f"kb{j}"], [f"kc{j}"], to=TensorProto.UINT32),
            helper.make_node("Fmix32", [f"kc{j}"], [f"kd{j}"], domain=DOMAIN),
            helper.make_node("Cast", [f"kd{j}"], [f"ke{j}"], to=u64),
            helper.make_node("BitwiseAnd", [f"ke{j}", "mask"], [f"k{j}"]),
        ]
        for name, s16 in ((f"a{j}", f"A{j}"), (f"b{j}", f"B{j}")):  # clamp((W*s + 8) >> 4) to [1, W-1]
            n += [
                helper.make_node("Mul", ["W", s16], [f"{name}m"]),
                helper.make_node("Add", [f"{name}m", "eight"], [f"{name}p"]),
                helper.make_node("Div", [f"{name}p", "sixteen"], [f"{name}d"]),
                helper.make_node("Max", [f"{name}d", "one"], [f"{name}lo"]),
                helper.make_node("Min", [f"{name}lo", "wm1"], [f"{name}c"]),
                helper.make_node("Cast", [f"{name}c"], [name], to=u64),
            ]
        n += [  # x ^= k; x = (x + (x << a)) & mask; x ^= x >> b
            helper.make_node("BitwiseXor", [x, f"k{j}"], [f"r{j}x"]),
            helper.make_node("BitShift", [f"r{j}x", f"a{j}"], [f"r{j}s"], direction="LEFT"),
            helper.make_node("Add", [f"r{j}x", f"r{j}s"], [f"r{j}a"]),
            helper.make_node("BitwiseAnd", [f"r{j}a", "mask"], [f"r{j}m"]),
            helper.make_node("BitShift", [f"r{j}m", f"b{j}"], [f"r{j}t"], direction="RIGHT"),
            helper.make_node("BitwiseXor", [f"r{j}m", f"r{j}t"], [f"r{j}"]),
        ]
        x = f"r{j}"
    n += [
        # bank = (F mod M) mod P; B = K div P; size = B, or K - (P-1)*B for the last bank
        helper.make_node("Mod", ["F", "M"], ["fi"], fmod=0),
        helper.make_node("Mod", ["fi", "banks"], ["bank"], fmod=0),
        helper.make_node("Div", ["K", "banks"], ["bsize"]),
        helper.make_node("Sub", ["banks", "one"], ["last_bank"]),
        helper.make_node("Mul", ["last_bank", "bsize"], ["last_base"]),
        helper.make_node("Sub", ["K", "last_base"], ["last_size"]),
        helper.make_node("Equal", ["bank", "last_bank"], ["is_last"]),
        helper.make_node("Where", ["is_last", "last_size", "bsize"], ["size"]),
        # bucket = bank*B + (((h >> 1) * size) >> (W - 1))
        helper.make_node("BitShift", [x, "one_u"], ["h1"], direction="RIGHT"),
        helper.make_node("Cast", ["size"], ["size_u"], to=u64),
        helper.make_node("Mul", ["h1", "size_u"], ["prod"]),
        helper.make_node("BitShift", ["prod", "wm1_u"], ["local_u"], direction="RIGHT"),
        helper.make_node("Cast", ["local_u"], ["local"], to=i64),
        helper.make_node("Mul", ["bank", "bsize"], ["base"]),
        helper.make_node("Add", ["base", "local"], ["bucket"]),
        # sign = 1 - 2 * (h & 1)
        helper.make_node("BitwiseAnd", [x, "one_u"], ["bit"]),
        helper.make_node("Cast", ["bit"], ["bitf"], to=TensorProto.FLOAT),
        helper.make_node("Mul", ["bitf", "twof"], ["two_bit"]),
        helper.make_node("Sub", ["onef", "two_bit"], ["sign"]),
    ]
    return helper.make_function(DOMAIN, "HashBucketSign2", ["F", "K", "N", "M"], ["bucket", "sign"], n, _OPSETS_V2,
                                attributes=["seed", "banks"])


def _virtual_weight_nodes(n_virtual: str, shape: str, v2: bool) -> list[onnx.NodeProto]:
    """Nodes from (W, n_virtual scalar, shape 1-D) to ``V``: the materialised virtual tensor.

    ``v2``: the domain-version-2 body, which picks hash version 1 or 2 per node by its ``hash_version``.
    """
    hash1 = _ref(helper.make_node("HashBucketSign", ["F", "K"], ["bucket1", "sign1"] if v2 else ["bucket", "sign"],
                                  domain=DOMAIN), "seed", "seed", AttributeProto.INT)
    nodes = [
        _const("zero", 0, np.int64), _const("step", 1, np.int64),
        helper.make_node("Range", ["zero", n_virtual, "step"], ["F"]),
        helper.make_node("Shape", ["W"], ["K"]),
        hash1,
    ]
    if v2:
        hash2 = helper.make_node("HashBucketSign2", ["F", "K", "N1", "M1"], ["bucket2", "sign2"], domain=DOMAIN)
        _ref(hash2, "seed", "seed", AttributeProto.INT)
        _ref(hash2, "banks", "banks", AttributeProto.INT)
        nodes += [
            _const("axis0v", [0], np.int64), _const("ver2", 2, np.int64), _const("nan", np.nan, np.float32),
            _attr_const("version", "hash_version"),
            helper.make_node("Unsqueeze", [n_virtual, "axis0v"], ["N1"]),
            helper.make_node("Gather", [shape, "zero"], ["rows"], axis=0),
            helper.make_node("Div", [n_virtual, "rows"], ["fan_in"]),
            helper.make_node("Unsqueeze", ["fan_in", "axis0v"], ["M1"]),
            hash2,
            helper.make_node("Equal", ["version", "ver2"], ["is2"]),
            helper.make_node("Where", ["is2", "bucket2", "bucket1"], ["bucket"]),
            helper.make_node("Where", ["is2", "sign2", "sign1"], ["sign_v"]),
            # a hash version outside (1, 2) poisons the output instead of silently computing version 1
            helper.make_node("LessOrEqual", ["version", "ver2"], ["le2"]),
            helper.make_node("GreaterOrEqual", ["version", "step"], ["ge1"]),
            helper.make_node("And", ["le2", "ge1"], ["known"]),
            helper.make_node("Where", ["known", "sign_v", "nan"], ["sign"]),
        ]
    return nodes + [
        helper.make_node("Gather", ["W", "bucket"], ["wg"], axis=0),
        helper.make_node("Mul", ["wg", "sign"], ["vflat"]),
        helper.make_node("Reshape", ["vflat", shape], ["V"]),
    ]


def _layer_function(name: str, inputs_attrs: list[str], body: list[onnx.NodeProto], v2: bool) -> onnx.FunctionProto:
    if not v2:
        return helper.make_function(DOMAIN, name, ["X", "W", "B"], ["Y"], body, _OPSETS, attributes=inputs_attrs)
    fn = helper.make_function(DOMAIN, name, ["X", "W", "B"], ["Y"], body, _OPSETS_V2, attributes=inputs_attrs)
    # hash_version and banks default to 1: a version-1 node reads the same in either domain version
    fn.attribute_proto.extend([helper.make_attribute("hash_version", DEFAULT_HASH_VERSION),
                               helper.make_attribute("banks", 1)])
    return fn


def hashed_linear_function(v2: bool = False) -> onnx.FunctionProto:
    n = [
        _attr_const("n_in", "in_features"), _attr_const("n_out", "out_features"),
        _const("axis0", [0], np.int64),
        helper.make_node("Mul", ["n_in", "n_out"], ["n_virtual"]),
        helper.make_node("Unsqueeze", ["n_out", "axis0"], ["out1"]),
        helper.make_node("Unsqueeze", ["n_in", "axis0"], ["in1"]),
        helper.make_node("Concat", ["out1", "in1"], ["vshape"], axis=0),
        *_virtual_weight_nodes("n_virtual", "vshape", v2),
        helper.make_node("Gemm", ["X", "V", "B"], ["Y"], transB=1),
    ]
    return _layer_function("HashedLinear", ["seed", "in_features", "out_features"], n, v2)


def hashed_conv2d_function(v2: bool = False) -> onnx.FunctionProto:
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
        *_virtual_weight_nodes("n_virtual", "vshape", v2),
        conv,
    ]
    return _layer_function("HashedConv2d", ["seed", "in_channels", "out_channels", "kernel_shape", "strides", "pads"],
                           n, v2)


def all_functions(domain_version: int = DOMAIN_VERSION) -> list[onnx.FunctionProto]:
    """Every function of the domain at ``domain_version``, callees first."""
    if domain_version == DOMAIN_VERSION:
        return [fmix32_function(), hash_bucket_sign_function(), hashed_linear_function(), hashed_conv2d_function()]
    if domain_version != DOMAIN_VERSION_V2:
        raise ValueError(f"unknown hashhls domain version {domain_version}")
    return [fmix32_function(DOMAIN_VERSION_V2), hash_bucket_sign_function(DOMAIN_VERSION_V2),
            hash_bucket_sign_v2_function(), hashed_linear_function(v2=True), hashed_conv2d_function(v2=True)]
