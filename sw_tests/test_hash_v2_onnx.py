"""Hash version 2 in ONNX: the function body against the committed vectors, export parity, the op table's reader
of a hashed node's hash (codegen.ops.hashed.hash_config, reached through codegen.graph.layer_specs)."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from onnx import TensorProto, helper, numpy_helper

from hashhls.codegen.graph import layer_specs
from hashhls.codegen.onnx_to_torch import load_onnx_model
from hashhls.core.errors import UnsupportedModelError
from hashhls.frontend.datasets import load_mnist
from hashhls.frontend.hashing import HashConfig, materialise
from hashhls.frontend.layers import HashedConv2d, HashedLinear
from hashhls.frontend.onnx_export import export_onnx
from hashhls.frontend.onnx_functions import DOMAIN, all_functions
from hashhls.frontend.zoo import ModelConfig, build_model


def hashes(model: onnx.ModelProto) -> list[HashConfig]:
    """The hash of every hashed node, as the build reads it (the op table's hashed entries)."""
    return [sp.hash for sp in layer_specs(model) if sp.hash is not None]


def _vi(name, dtype, shape):
    return helper.make_tensor_value_info(name, dtype, shape)


def test_onnx_v2_hash_function_matches_the_vectors(hash_vectors_v2):
    for case in hash_vectors_v2["cases"]:
        node = helper.make_node("HashBucketSign2", ["F", "K", "N", "M"], ["bucket", "sign"], domain=DOMAIN,
                                seed=case["seed"], banks=case["banks"])
        graph = helper.make_graph([node], "h", [_vi("F", TensorProto.INT64, [None]), _vi("K", TensorProto.INT64, [1]),
                                                _vi("N", TensorProto.INT64, [1]), _vi("M", TensorProto.INT64, [1])],
                                  [_vi("bucket", TensorProto.INT64, [None]), _vi("sign", TensorProto.FLOAT, [None])])
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18), helper.make_opsetid(DOMAIN, 2)],
                                  functions=all_functions(2))
        model.ir_version = 9
        onnx.checker.check_model(model, full_check=True)
        n = int(np.prod(case["shape"]))
        bucket, sign = ort.InferenceSession(model.SerializeToString()).run(None, {
            "F": np.array(case["index"], np.int64), "K": np.array([case["buckets"]], np.int64),
            "N": np.array([n], np.int64), "M": np.array([n // case["shape"][0]], np.int64)})
        msg = f"{case['shape']} K {case['buckets']} P {case['banks']}"
        np.testing.assert_array_equal(bucket, case["bucket"], err_msg=msg)
        np.testing.assert_array_equal(sign, case["sign"], err_msg=msg)


@pytest.mark.parametrize("name", ["mnist-mlp", "lenet5"])
def test_v2_export_runs_in_stock_ort_and_matches_torch(name):
    x, _ = load_mnist(split="test", limit=200)
    torch.manual_seed(0)
    model = build_model(ModelConfig(name, compression=8, seed=3, hash_version=2)).eval()
    proto = export_onnx(model, input_shape=[1, 28, 28])
    assert {(o.domain, o.version) for o in proto.opset_import} == {("", 18), (DOMAIN, 2)}
    cfgs = hashes(proto)
    want = [m.hash for m in model if isinstance(m, (HashedLinear, HashedConv2d))]
    assert cfgs == want and {c.version for c in cfgs} == {2}
    y = ort.InferenceSession(proto.SerializeToString()).run(None, {"input": x})[0]
    with torch.no_grad():
        np.testing.assert_allclose(y, model(torch.from_numpy(x)).numpy(), rtol=1e-4, atol=1e-4)
    back = load_onnx_model(proto)
    layers = [m for m in back.modules() if isinstance(m, (HashedLinear, HashedConv2d))]
    assert [m.banks for m in layers] == ModelConfig(name, 8, 3, hash_version=2).banks
    with torch.no_grad():
        np.testing.assert_allclose(back(torch.from_numpy(x)).numpy(), y, rtol=1e-4, atol=1e-4)


def test_v1_export_is_unchanged_by_version_2():
    # a hash-v1 model imports hashhls version 1 with its original four functions and no new attributes
    model = build_model(ModelConfig("mnist-mlp", compression=8, seed=0)).eval()
    proto = export_onnx(model, input_shape=[1, 28, 28])
    assert {(o.domain, o.version) for o in proto.opset_import} == {("", 18), (DOMAIN, 1)}
    assert [f.name for f in proto.functions] == ["Fmix32", "HashBucketSign", "HashedLinear", "HashedConv2d"]
    assert not any(a.name in ("hash_version", "banks") for n in proto.graph.node for a in n.attribute)
    assert [f.SerializeToString() for f in proto.functions] == [f.SerializeToString() for f in all_functions()]


def _one_layer(version=None, banks=None, k=13, n_in=12, n_out=5, domain_version=2):
    rng = np.random.default_rng(0)
    w = rng.uniform(-1, 1, k).astype(np.float32)
    b = rng.uniform(-1, 1, n_out).astype(np.float32)
    attrs = {} if version is None else {"hash_version": version}
    if banks is not None:
        attrs["banks"] = banks
    node = helper.make_node("HashedLinear", ["x", "W", "B"], ["y"], name="fc", domain=DOMAIN, seed=9,
                            in_features=n_in, out_features=n_out, **attrs)
    g = helper.make_graph([node], "g", [_vi("x", TensorProto.FLOAT, ["N", n_in])], [_vi("y", TensorProto.FLOAT, ["N", n_out])],
                          initializer=[numpy_helper.from_array(w, "W"), numpy_helper.from_array(b, "B")])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 18), helper.make_opsetid(DOMAIN, domain_version)],
                          functions=all_functions(domain_version))
    m.ir_version = 9
    return m, w, b


@pytest.mark.parametrize("version,banks", [(None, None), (1, None), (2, 4), (2, 1)])
def test_domain_v2_body_picks_the_nodes_hash_version(version, banks):
    m, w, b = _one_layer(version, banks)
    x = np.random.default_rng(1).uniform(-1, 1, (7, 12)).astype(np.float32)
    y = ort.InferenceSession(m.SerializeToString()).run(None, {"x": x})[0]
    cfg = HashConfig((5, 12), 9, 13, version or 1, banks or 1)
    np.testing.assert_allclose(y, x @ materialise(w, cfg).T + b, rtol=1e-5, atol=1e-5)
    assert hashes(m) == [cfg]


def test_unknown_hash_version_poisons_ort_and_is_refused_by_the_reader():
    m, _, _ = _one_layer(version=3)
    y = ort.InferenceSession(m.SerializeToString()).run(None, {"x": np.ones((2, 12), np.float32)})[0]
    assert np.isnan(y).all()
    with pytest.raises(UnsupportedModelError, match="'fc'.*hash version 3"):
        hashes(m)


@pytest.mark.parametrize("attrs,match", [
    (dict(version=2, banks=20), "K < P"),
    (dict(version=2, banks=13, k=20, n_in=12), "inputs per output"),
    (dict(version=1, banks=2), "banks need version 2"),
])
def test_node_reader_refuses_bad_banks_naming_the_node(attrs, match):
    m, _, _ = _one_layer(**attrs)
    with pytest.raises(UnsupportedModelError, match=f"'fc'.*{match}"):
        hashes(m)
