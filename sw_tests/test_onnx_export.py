"""ONNX export: the hash in ONNX against the vectors, ORT parity with torch, GI, size, load-back."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from onnx import TensorProto, helper
from torch import nn

from hashhls.frontend.datasets import load_mnist
from hashhls.frontend.gi import GIConfig, apply_gi
from hashhls.frontend.layers import HashedConv2d, HashedLinear
from hashhls.frontend.onnx_export import export_onnx
from hashhls.frontend.onnx_functions import DOMAIN, all_functions
from hashhls.codegen.onnx_to_torch import load_onnx_model
from hashhls.frontend.zoo import ModelConfig, build_model


@pytest.fixture(scope="module")
def mnist():
    return load_mnist(split="test", limit=300)


def _run(proto, x):
    return ort.InferenceSession(proto.SerializeToString()).run(None, {"input": x})[0]


def _torch(model, x):
    with torch.no_grad():
        return model.eval()(torch.from_numpy(x)).numpy()


def test_onnx_hash_function_matches_the_vectors(hash_vectors):
    for case in hash_vectors["cases"]:
        node = helper.make_node("HashBucketSign", ["F", "K"], ["bucket", "sign"], domain=DOMAIN, seed=case["seed"])
        graph = helper.make_graph([node], "h", [helper.make_tensor_value_info("F", TensorProto.INT64, [None]),
                                                helper.make_tensor_value_info("K", TensorProto.INT64, [1])],
                                  [helper.make_tensor_value_info("bucket", TensorProto.INT64, [None]),
                                   helper.make_tensor_value_info("sign", TensorProto.FLOAT, [None])])
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18), helper.make_opsetid(DOMAIN, 1)],
                                  functions=all_functions())
        model.ir_version = 9
        bucket, sign = ort.InferenceSession(model.SerializeToString()).run(
            None, {"F": np.array(case["index"], np.int64), "K": np.array([case["buckets"]], np.int64)})
        np.testing.assert_array_equal(bucket, case["bucket"], err_msg=str(case["shape"]))
        np.testing.assert_array_equal(sign, case["sign"], err_msg=str(case["shape"]))


@pytest.mark.parametrize("name", ["mnist-mlp", "lenet5"])
def test_hashed_export_runs_in_ort_and_matches_torch(mnist, name):
    torch.manual_seed(0)
    model = build_model(ModelConfig(name=name, compression=8, seed=3, gi=None))
    proto = export_onnx(model, input_shape=[1, 28, 28])
    onnx.checker.check_model(proto, full_check=True)
    assert {n.domain for n in proto.graph.node} >= {DOMAIN}
    x = mnist[0]
    np.testing.assert_allclose(_run(proto, x), _torch(model, x), rtol=1e-5, atol=1e-5)


def test_dense_export_has_no_custom_ops_and_matches(mnist):
    model = build_model(ModelConfig(name="mnist-mlp", compression=8, seed=1, gi=None))
    proto = export_onnx(model, input_shape=[1, 28, 28], dense=True)
    assert all(n.domain == "" for n in proto.graph.node) and not proto.functions
    np.testing.assert_allclose(_run(proto, mnist[0]), _torch(model, mnist[0]), rtol=1e-5, atol=1e-5)


def test_only_the_k_buckets_are_stored():
    model = build_model(ModelConfig(name="mnist-mlp", compression=8, seed=0, gi=None))
    proto = export_onnx(model, input_shape=[1, 28, 28])
    sizes = sorted(int(np.prod(t.dims)) for t in proto.graph.initializer)
    hashed = [m for m in model.modules() if isinstance(m, HashedLinear)]
    assert sizes == sorted([m.buckets for m in hashed] + [m.out_features for m in hashed])


def test_file_size_grows_with_k_not_nm():
    def size(c, dense=False):
        m = build_model(ModelConfig(name="mnist-mlp", compression=c, seed=0, gi=None))
        return len(export_onnx(m, input_shape=[1, 28, 28], dense=dense).SerializeToString())

    dense = size(8, dense=True)
    s8, s64 = size(8), size(64)
    assert s8 / dense < 0.2  # about 1/8 (biases and function bodies are the rest)
    assert s64 < s8 / 4


@pytest.mark.parametrize("gi", ["sign:0.1", "scale:15"])
def test_gi_survives_export(mnist, gi):
    base = build_model(ModelConfig(name="mnist-mlp", compression=8, seed=0, gi=None))
    model = apply_gi(base, GIConfig.parse(gi))
    proto = export_onnx(model, input_shape=[1, 28, 28])
    out = _run(proto, mnist[0][:20])
    np.testing.assert_allclose(out, _torch(model, mnist[0][:20]), rtol=1e-5, atol=1e-4)
    assert np.abs(out - _torch(base, mnist[0][:20])).max() > 0.1


@pytest.mark.parametrize("dense", [False, True])
def test_load_back_gives_an_equivalent_torch_model(tmp_path, mnist, dense):
    model = build_model(ModelConfig(name="lenet5", compression=8, seed=2, gi=None))
    path = tmp_path / "m.onnx"
    export_onnx(model, path, input_shape=[1, 28, 28], dense=dense)
    back = load_onnx_model(path)
    assert any(isinstance(m, HashedConv2d) for m in back.modules()) != dense
    np.testing.assert_allclose(_torch(back, mnist[0][:50]), _torch(model, mnist[0][:50]), rtol=1e-5, atol=1e-5)


def test_export_is_deterministic():
    model = build_model(ModelConfig(name="mnist-mlp", compression=8, seed=0, gi=None))
    a = export_onnx(model, input_shape=[1, 28, 28]).SerializeToString()
    b = export_onnx(model, input_shape=[1, 28, 28]).SerializeToString()
    assert a == b


def test_unsupported_module_is_named():
    from hashhls.core.errors import HashhlsError

    with pytest.raises(HashhlsError, match="Sigmoid"):
        export_onnx(nn.Sequential(nn.Flatten(), nn.Linear(4, 2), nn.Sigmoid()), input_shape=[4])


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "hashhls", *map(str, args)], capture_output=True, text=True)


def test_cli_export(tmp_path):
    from hashhls.frontend.zoo import default_checkpoint

    out = tmp_path / "m.onnx"
    r = _cli("export", default_checkpoint(), "-o", out)
    assert r.returncode == 0, r.stderr
    assert "dense export would be" in r.stdout
    onnx.checker.check_model(onnx.load(str(out)), full_check=True)


@pytest.mark.parametrize("content", [b"not a checkpoint", None])
def test_cli_export_bad_input(tmp_path, content):
    src = tmp_path / "bad.pt"
    if content is not None:
        src.write_bytes(content)
    out = tmp_path / "m.onnx"
    r = _cli("export", src, "-o", out)
    assert r.returncode == 2
    assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert not out.exists() and list(tmp_path.iterdir()) == ([src] if content else [])


def test_load_onnx_rejects_garbage_and_unknown_ops(tmp_path):
    from hashhls.core.errors import HashhlsError, UnsupportedModelError

    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\x08\x01garbage")
    with pytest.raises(HashhlsError):
        load_onnx_model(bad)
    node = helper.make_node("Erf", ["input"], ["logits"], name="weird")
    g = helper.make_graph([node], "g", [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 3])],
                          [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 3])])
    p = tmp_path / "erf.onnx"
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 18)]), str(p))
    with pytest.raises(UnsupportedModelError, match="Erf.*weird"):
        load_onnx_model(p)
