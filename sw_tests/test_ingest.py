"""ONNX ingest: the named transformations, name sanitising and bad-input errors."""

from __future__ import annotations

import re

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper
from onnx_models import dense, hashed, mlp_onnx, relu

from hashhls.codegen import ingest as ing
from hashhls.core.errors import HashhlsError, UnsupportedModelError

IDENT = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


@pytest.mark.parametrize("raw", ['fc"1', "a*/b", "x\ny", "$(rm -rf /)", "; echo hi `id`", "9lives", "", "class",
                                 "__reserved", "_Upper", "ünïcode", "a" * 200, "input", "../../etc/passwd",
                                 "input_t", "result_t", "w2", "layer3_out", "config4", "fc1_weight_t"])
def test_sanitise_identifier_gives_safe_identifiers(raw):
    ident = ing.sanitise_identifier(raw, "Gemm")
    assert IDENT.match(ident), ident
    assert len(ident) <= 48
    assert ident not in {"class", "input", "input_t", "result_t", "w2", "layer3_out", "config4", "fc1_weight_t"}
    assert ing.sanitise_identifier(ident, "Gemm") == ident  # idempotent: a second ingest changes nothing


def test_ingest_sanitises_and_deduplicates_names():
    m = mlp_onnx([hashed(16, 8, 20, name='a"b'), relu(name='a"b'), dense(8, 4, name="a*/b\n")],
                 input_shape=(16,), input_name="in put;")
    out = ing.ingest(m)
    names = [n.name for n in out.graph.node]
    assert len(set(names)) == len(names)
    assert all(IDENT.match(n) for n in names)
    tensors = {t for n in out.graph.node for t in (*n.input, *n.output)} | {i.name for i in out.graph.input}
    assert all(IDENT.match(t) for t in tensors), tensors


def test_ingest_gives_every_tensor_a_shape():
    out = ing.ingest(mlp_onnx([hashed(784, 30, 500, seed=3), relu(), dense(30, 10)]))
    known = {v.name: [d.dim_value for d in v.type.tensor_type.shape.dim]
             for v in (*out.graph.value_info, *out.graph.output)}
    for node in out.graph.node:
        for t in node.output:
            assert t in known
    for init in out.graph.initializer:
        assert known[init.name] == list(init.dims)
    assert known[out.graph.output[0].name] == [0, 10]  # batch stays symbolic
    assert out.graph.output[0].type.tensor_type.shape.dim[0].dim_param == "N"


def _gemm_model(trans_b: int, alpha: float, beta: float, bias_shape: tuple) -> onnx.ModelProto:
    rng = np.random.default_rng(1)
    w = rng.normal(size=(6, 4) if trans_b else (4, 6)).astype(np.float32)
    b = rng.normal(size=bias_shape).astype(np.float32)
    node = helper.make_node("Gemm", ["x", "W", "B"], ["y"], name="g", transB=trans_b, alpha=alpha, beta=beta)
    g = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 6])],
                          initializer=[numpy_helper.from_array(w, "W"), numpy_helper.from_array(b, "B")])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 18)])
    m.ir_version = 9
    return m


@pytest.mark.parametrize("trans_b,alpha,beta,bias_shape", [(0, 1.0, 1.0, (6,)), (1, 0.5, 2.0, (6,)),
                                                           (0, 2.0, 0.25, (1,))])
def test_normalise_gemm_keeps_the_function(trans_b, alpha, beta, bias_shape):
    m = _gemm_model(trans_b, alpha, beta, bias_shape)
    out = ing.ingest(m)
    node = out.graph.node[0]
    assert ing.attr(node, "transB") == 1 and ing.attr(node, "alpha", 1.0) == 1.0
    x = np.random.default_rng(2).normal(size=(5, 4)).astype(np.float32)
    before = ort.InferenceSession(m.SerializeToString()).run(None, {"x": x})[0]
    after = ort.InferenceSession(out.SerializeToString()).run(None, {out.graph.input[0].name: x})[0]
    np.testing.assert_allclose(after, before, rtol=1e-5, atol=1e-5)


def test_identity_dropout_and_dangling_constants_are_removed():
    m = mlp_onnx([dense(16, 4)], input_shape=(16,))
    g = m.graph
    first = g.node[0]
    first.output[0] = "pre"
    g.node.insert(1, helper.make_node("Identity", ["pre"], ["flat"], name="id"))
    g.node.append(helper.make_node("Constant", [], ["unused"], name="c",
                                   value=numpy_helper.from_array(np.ones(3, np.float32))))
    g.initializer.append(numpy_helper.from_array(np.ones(2, np.float32), "orphan"))
    out = ing.ingest(m)
    assert [n.op_type for n in out.graph.node] == ["Flatten", "Gemm"]
    assert "orphan" not in {t.name for t in out.graph.initializer}


def test_flow_is_a_sequence_of_transformation_classes():
    assert all(isinstance(c, type) and issubclass(c, ing.Transformation) for c in ing.INGEST_FLOW)
    assert ing.InferShapes in ing.INGEST_FLOW and ing.CheckOps in ing.INGEST_FLOW


def test_unsupported_op_names_node_and_op():
    m = mlp_onnx([dense(16, 4)], input_shape=(16,))
    m.graph.node[1].op_type = "Erf"
    m.graph.node[1].ClearField("attribute")
    m.graph.node[1].ClearField("input")
    m.graph.node[1].input.append("flat")
    m.graph.node[1].name = "my_erf"
    with pytest.raises(HashhlsError, match=r"unsupported operation 'Erf' in node 'my_erf'"):
        ing.ingest(m)


def test_softmax_at_the_output_needs_strip_softmax():
    m = mlp_onnx([dense(16, 4)], input_shape=(16,))
    g = m.graph
    g.node[-1].output[0] = "logits"
    g.node.append(helper.make_node("Softmax", ["logits"], [g.output[0].name], name="sm", axis=1))
    with pytest.raises(UnsupportedModelError, match=r"'sm'.*--strip-softmax"):
        ing.ingest(m)
    out = ing.ingest(m, strip_softmax=True)
    assert [n.op_type for n in out.graph.node] == ["Flatten", "Gemm"]
    assert out.graph.node[-1].output[0] == out.graph.output[0].name


def test_hashed_linear_in_another_domain_is_refused():
    m = mlp_onnx([hashed(16, 4, 10, name="h")], input_shape=(16,))
    m.graph.node[1].domain = "evil"
    m.opset_import.append(helper.make_opsetid("evil", 1))
    with pytest.raises(HashhlsError, match=r"evil::HashedLinear.*'h'"):
        ing.ingest(m)


def test_wrong_input_shape_is_reported():
    m = mlp_onnx([hashed(784, 4, 10, name="h")], input_shape=(1, 20, 20))
    with pytest.raises(HashhlsError, match=r"'h'.*expects 784 inputs but receives 400"):
        ing.ingest(m)


def test_too_many_buckets_and_bad_bias_are_reported():
    with pytest.raises(HashhlsError, match=r"buckets K"):
        ing.ingest(mlp_onnx([hashed(4, 2, 9)], input_shape=(4,)))
    m = mlp_onnx([hashed(4, 2, 3)], input_shape=(4,))
    m.graph.initializer[1].CopyFrom(numpy_helper.from_array(np.zeros(3, np.float32), m.graph.initializer[1].name))
    with pytest.raises(HashhlsError, match=r"bias shape"):
        ing.ingest(m)


def test_dynamic_feature_dimension_is_refused():
    m = mlp_onnx([dense(16, 4)], input_shape=("F",))
    with pytest.raises(HashhlsError, match=r"fixed positive sizes"):
        ing.ingest(m)


def test_malformed_and_truncated_files(tmp_path):
    good = tmp_path / "good.onnx"
    onnx.save(mlp_onnx([dense(16, 4)], input_shape=(16,)), str(good))
    (tmp_path / "garbage.onnx").write_bytes(b"\x08\x07not an onnx file at all\xff\xff")
    data = good.read_bytes()
    for n in (0, 5, len(data) // 3, len(data) - 7):
        p = tmp_path / f"trunc{n}.onnx"
        p.write_bytes(data[:n])
        with pytest.raises(HashhlsError):
            ing.ingest(ing.load_onnx(p))
    with pytest.raises(HashhlsError, match="cannot parse ONNX file|no graph nodes"):
        ing.load_onnx(tmp_path / "garbage.onnx")
    with pytest.raises(HashhlsError, match="not found"):
        ing.load_onnx(tmp_path / "missing.onnx")


def test_matmul_add_becomes_one_gemm_with_the_same_function():
    rng = np.random.default_rng(4)
    w, b = rng.normal(size=(5, 3)).astype(np.float32), rng.normal(size=3).astype(np.float32)
    nodes = [helper.make_node("MatMul", ["x", "W"], ["mm"], name="mm"),
             helper.make_node("Add", ["mm", "B"], ["y"], name="add")]
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 5])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 3])],
                          initializer=[numpy_helper.from_array(w, "W"), numpy_helper.from_array(b, "B")])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 18)])
    m.ir_version = 9
    out = ing.ingest(m)
    assert [n.op_type for n in out.graph.node] == ["Gemm"]
    x = rng.normal(size=(4, 5)).astype(np.float32)
    before = ort.InferenceSession(m.SerializeToString()).run(None, {"x": x})[0]
    after = ort.InferenceSession(out.SerializeToString()).run(None, {"x": x})[0]
    np.testing.assert_allclose(after, before, rtol=1e-5, atol=1e-5)


def test_ingest_of_an_exported_model_computes_the_same_in_onnxruntime():
    torch = pytest.importorskip("torch")
    from torch import nn

    from hashhls.frontend.layers import HashedLinear
    from hashhls.frontend.onnx_export import export_onnx

    torch.manual_seed(0)
    net = nn.Sequential(nn.Flatten(), HashedLinear(18, 7, buckets=20, seed=9), nn.ReLU(), nn.Linear(7, 3)).eval()
    exported = export_onnx(net, None, input_shape=[2, 3, 3])
    out = ing.ingest(exported)
    onnx.checker.check_model(out, full_check=True)
    x = np.random.default_rng(3).normal(size=(6, 2, 3, 3)).astype(np.float32)
    ref = net(torch.from_numpy(x)).detach().numpy()
    for m in (exported, out):
        sess = ort.InferenceSession(m.SerializeToString())
        y = sess.run(None, {sess.get_inputs()[0].name: x})[0]
        np.testing.assert_allclose(y, ref, rtol=1e-5, atol=1e-5)


def _run(m, x):
    sess = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
    return sess.run(None, {sess.get_inputs()[0].name: x})[0]


def test_gemm_trans_a_of_a_transpose_is_the_gemm_of_its_input():
    """transA=1 on Transpose(X): ingest reads X directly (and keeps alpha / beta / transB=0) -- the same function."""
    rng = np.random.default_rng(5)
    w, b = rng.normal(size=(4, 6)).astype(np.float32), rng.normal(size=6).astype(np.float32)
    nodes = [helper.make_node("Transpose", ["x"], ["xt"], name="t", perm=[1, 0]),
             helper.make_node("Gemm", ["xt", "W", "B"], ["y"], name="g", transA=1, alpha=0.5, beta=2.0)]
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 6])],
                          initializer=[numpy_helper.from_array(w, "W"), numpy_helper.from_array(b, "B")])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    out = ing.ingest(m)
    assert [n.op_type for n in out.graph.node] == ["Gemm"] and not ing.attr(out.graph.node[0], "transA", 0)
    x = rng.normal(size=(5, 4)).astype(np.float32)
    np.testing.assert_allclose(_run(out, x), _run(m, x), rtol=1e-5, atol=1e-5)


def test_transposed_constant_weight_and_bias_free_matmul_become_one_gemm():
    """Older exporters' nn.Linear(bias=False): MatMul(X, Transpose(W)) with no Add."""
    rng = np.random.default_rng(6)
    w = rng.normal(size=(3, 5)).astype(np.float32)  # (out, in), as torch stores it
    nodes = [helper.make_node("Transpose", ["W"], ["Wt"], name="t", perm=[1, 0]),
             helper.make_node("MatMul", ["x", "Wt"], ["y"], name="mm")]
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 5])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 3])],
                          initializer=[numpy_helper.from_array(w, "W")])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 9)])
    out = ing.ingest(m)
    assert [n.op_type for n in out.graph.node] == ["Gemm"]
    x = rng.normal(size=(4, 5)).astype(np.float32)
    np.testing.assert_allclose(_run(out, x), _run(m, x), rtol=1e-5, atol=1e-5)


def test_other_trans_a_and_non_constant_matmul_are_refused_naming_the_node():
    m = _gemm_model(1, 1.0, 1.0, (6,))
    m.graph.node[0].attribute.append(helper.make_attribute("transA", 1))
    with pytest.raises(UnsupportedModelError, match="'g'.*transA=1"):
        ing.ingest(m)
    nodes = [helper.make_node("MatMul", ["x", "x"], ["y"], name="square")]
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 4])])
    with pytest.raises(UnsupportedModelError, match="'square'.*constant weight"):
        ing.ingest(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]))
