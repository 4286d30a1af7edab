"""Convolutions in the build flow (no C++ compiled): ingest, unsupported attributes, the channels-last
hls4ml project, the manifest, the summary's dense-vs-hashed estimates, and the emulator's conv arithmetic
against an independent torch computation."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import onnx
import pytest
import torch
from onnx import TensorProto, helper, numpy_helper

from hashhls.codegen import ingest as ing
from hashhls.codegen.emulator import Emulator
from hashhls.codegen.fixed import FixedType
from hashhls.codegen.geometry import Window2D, conv2d, im2col, maxpool2d
from hashhls.codegen.manifest import BuildManifest
from hashhls.codegen.project import BuildConfig, build
from hashhls.core.errors import HashhlsError
from hashhls.frontend.hashing import HashConfig, materialise


def _conv_model(conv_attrs: dict | None = None, pool_attrs: dict | None = None, hashed: bool = True,
                name: str = "c1") -> onnx.ModelProto:
    rng = np.random.default_rng(0)
    attrs = dict(kernel_shape=[3, 3], strides=[1, 1], pads=[1, 1, 1, 1]) | (conv_attrs or {})
    if hashed:
        w = numpy_helper.from_array(rng.uniform(-.3, .3, 20).astype(np.float32), "W")
        conv = helper.make_node("HashedConv2d", ["x", "W", "B"], ["c"], name=name, domain="hashhls", seed=1,
                                in_channels=1, out_channels=4, **attrs)
    else:
        w = numpy_helper.from_array(rng.uniform(-.3, .3, (4, 1, 3, 3)).astype(np.float32), "W")
        conv = helper.make_node("Conv", ["x", "W", "B"], ["c"], name=name, **attrs)
    nodes = [conv, helper.make_node("Relu", ["c"], ["r"], name="relu"),
             helper.make_node("MaxPool", ["r"], ["p"], name="pool", **(dict(kernel_shape=[2, 2], strides=[2, 2])
                                                                         | (pool_attrs or {}))),
             helper.make_node("Flatten", ["p"], ["f"], name="flat", axis=1),
             helper.make_node("Gemm", ["f", "W2", "B2"], ["y"], name="fc", transB=1)]
    inits = [w, numpy_helper.from_array(rng.uniform(-.1, .1, 4).astype(np.float32), "B"),
             numpy_helper.from_array(rng.uniform(-.1, .1, (10, 4 * 14 * 14)).astype(np.float32), "W2"),
             numpy_helper.from_array(np.zeros(10, np.float32), "B2")]
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 1, 28, 28])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 10])], initializer=inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 18), helper.make_opsetid("hashhls", 1)])
    m.ir_version = 9
    return m


@pytest.mark.parametrize("conv_attrs, pool_attrs, match", [
    ({"dilations": [2, 2]}, None, r"node 'c1': attribute 'dilations'"),
    ({"group": 2}, None, r"node 'c1': attribute 'group'"),
    ({"auto_pad": "SAME_UPPER"}, None, r"node 'c1': attribute 'auto_pad'"),
    ({"pads": [3, 3, 3, 3]}, None, r"node 'c1': attribute 'pads'"),
    ({"kernel_shape": [3, 3, 3]}, None, r"node 'c1': attribute 'kernel_shape'"),
    (None, {"ceil_mode": 1}, r"node 'pool': attribute 'ceil_mode'"),
])
def test_unsupported_conv_attributes_name_node_and_attribute(conv_attrs, pool_attrs, match):
    with pytest.raises(HashhlsError, match=match):
        ing.ingest(_conv_model(conv_attrs, pool_attrs))


def test_unsupported_attribute_fails_before_any_cpp_is_written(tmp_path):
    onnx.save(_conv_model({"dilations": [2, 2]}, hashed=False), str(tmp_path / "m.onnx"))
    res = subprocess.run([sys.executable, "-m", "hashhls", "build", str(tmp_path / "m.onnx"), "--board", "none",
                          "-o", str(tmp_path / "out")], capture_output=True, text=True)
    assert res.returncode != 0
    err = res.stderr.strip().splitlines()
    assert len(err) == 1 and "dilations" in err[0] and "'c1'" in err[0] and "Traceback" not in res.stderr
    assert not (tmp_path / "out").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out")]  # no temporary left either


def test_conv_shapes_are_inferred_and_checked():
    out = ing.ingest(_conv_model())
    shapes = {v.name: [d.dim_value for d in v.type.tensor_type.shape.dim][1:] for v in out.graph.value_info}
    conv, pool = out.graph.node[0], out.graph.node[2]
    assert shapes[conv.output[0]] == [4, 28, 28] and shapes[pool.output[0]] == [4, 14, 14]
    bad = _conv_model()
    bad.graph.input[0].type.tensor_type.shape.dim[1].dim_value = 3  # 3 channels into a 1-channel conv
    with pytest.raises(HashhlsError, match="expects 1 input channels but receives 3"):
        ing.ingest(bad)


@pytest.fixture(scope="module")
def conv_build(tmp_path_factory):
    d = tmp_path_factory.mktemp("conv")
    onnx.save(_conv_model(), str(d / "m.onnx"))
    build(BuildConfig(output_dir=d / "b", model=d / "m.onnx", board="pynq-z2", compile_csim=False, progress=False,
                      reuse_factor=4))
    return d / "b"


def test_conv_project_is_channels_last_and_stores_k_words(conv_build):
    manifest = BuildManifest.read(conv_build)
    assert manifest.input_layout == "NHWC"
    conv = manifest.layers[0]
    assert (conv.kind, conv.virtual_weights, conv.stored_weights, conv.buckets) == ("hashed_conv2d", 36, 20, 20)
    assert conv.attrs["window"]["out_h"] == 28
    fw = conv_build / "hls" / "firmware"
    params = (fw / "parameters.h").read_text()
    assert "nnet::hashed_conv2d_config" in params and "n_buckets = 20;" in params
    assert "[28*28*1]" in (fw / "myproject.h").read_text()  # H*W*C
    summary = (conv_build / "summary.md").read_text()
    assert "| c1 | hashed_conv2d | 36 | 20 + 4 |" in summary and "ESTIMATES" in summary


def test_emulator_conv_matches_an_independent_torch_computation(conv_build):
    """The emulator's exact integer conv/pool path against torch in float64 on the quantised values."""
    emu = Emulator.from_build(conv_build)
    model = onnx.load(str(conv_build / "model.onnx"))
    inits = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    t = FixedType.parse("ap_fixed<16,6,AP_RND_CONV,AP_SAT>")
    x = np.random.default_rng(2).uniform(0, 1, (50, 1, 28, 28)).astype(np.float32)
    conv, fc = model.graph.node[0], model.graph.node[4]
    v = materialise(t.quantize(inits[conv.input[1]].astype(np.float64)), HashConfig((4, 1, 3, 3), 1, 20))
    h = torch.nn.functional.conv2d(torch.from_numpy(t.quantize(x.astype(np.float64))), torch.from_numpy(v),
                                   torch.from_numpy(t.quantize(inits[conv.input[2]].astype(np.float64))), padding=1)
    h = torch.from_numpy(t.quantize(h.numpy()))  # one rounding to the result type
    h = torch.nn.functional.max_pool2d(torch.relu(h), 2).flatten(1).numpy()
    y = t.quantize(h @ t.quantize(inits[fc.input[1]].astype(np.float64)).T + t.quantize(inits[fc.input[2]]))
    np.testing.assert_array_equal(emu.predict(x), y)


def test_im2col_conv_and_pool_agree_with_torch():
    rng = np.random.default_rng(0)
    win = Window2D(3, 9, 7, 5, 3, 2, 2, 1, 1, 0, 0, 1)
    x, w, b = rng.normal(size=(4, 3, 9, 7)), rng.normal(size=(5, 3, 3, 2)), rng.normal(size=5)
    ref = torch.nn.functional.conv2d(torch.nn.functional.pad(torch.from_numpy(x), (0, 1, 1, 0)), torch.from_numpy(w),
                                     torch.from_numpy(b), stride=(2, 1))
    assert ref.shape[1:] == win.out_shape
    np.testing.assert_allclose(conv2d(x, w, b, win), ref.flatten(1).numpy(), rtol=1e-12, atol=1e-12)
    assert im2col(x, win).shape == (4, win.out_h * win.out_w, 3 * 3 * 2)
    pool = Window2D(3, 9, 7, 3, 3, 3, 2, 2)
    np.testing.assert_array_equal(maxpool2d(x, pool),
                                  torch.nn.functional.max_pool2d(torch.from_numpy(x), 3, 2).flatten(1).numpy())


def test_feature_map_output_builds_in_nchw_order(tmp_path):
    """A model whose output is a feature map: the C++ transposes its channels-last result back to NCHW."""
    m = _conv_model()
    g = m.graph
    for node in list(g.node)[1:]:
        g.node.remove(node)
    g.output[0].name = "c"
    g.output[0].type.tensor_type.shape.Clear()
    onnx.save(m, str(tmp_path / "fm.onnx"))
    manifest = build(BuildConfig(output_dir=tmp_path / "out", model=tmp_path / "fm.onnx", board="none",
                                 compile_csim=False, progress=False))
    assert manifest.n_outputs == 4 * 28 * 28 and manifest.input_layout == "NHWC"
    cpp = (tmp_path / "out" / "hls" / "firmware" / "myproject.cpp").read_text()
    assert "nnet::transpose<" in cpp  # channels-last -> NCHW at the output


def test_hostile_names_in_a_conv_model_never_reach_the_project_raw(tmp_path):
    """The conv path (window attributes, the inserted transpose, hls4ml's conv configs) sanitises names too."""
    payloads = ['c1"; system("touch /tmp/pwned"); //', "end */ int evil; /*", "$(touch /tmp/pwned) `id`",
                "] ; exec sh ; puts [", "line\n#include </etc/passwd>"]
    m = _conv_model(hashed=True, name=payloads[0])
    for node, name in zip(m.graph.node[1:], payloads[1:]):
        node.name = name
    onnx.save(m, str(tmp_path / "evil.onnx"))
    build(BuildConfig(output_dir=tmp_path / "out", model=tmp_path / "evil.onnx", compile_csim=False, progress=False))
    checked = 0
    for p in (tmp_path / "out").rglob("*"):
        if p.is_file() and p.name != "model.onnx" and "ap_types" not in p.parts:
            text = p.read_text(errors="replace")
            checked += 1
            for frag in ('"; system(', "*/ int evil", "$(touch", "`id`", "exec sh ;", "#include </etc/passwd>",
                         "/tmp/pwned"):
                assert frag not in text, f"{frag!r} in {p.name}"
    assert checked > 20
    fw = tmp_path / "out" / "hls" / "firmware"
    subprocess.run(["g++", "-std=c++11", "-fsyntax-only", "-I", str(fw / "ap_types"), "-I", str(fw),
                    str(fw / "myproject.cpp")], cwd=fw, check=True, capture_output=True)


def _with_batchnorm(hashed: bool) -> onnx.ModelProto:
    m = _conv_model(hashed=hashed)
    g = m.graph
    rng = np.random.default_rng(5)
    conv = g.node[0]
    conv.output[0] = "c_pre"
    g.node.insert(1, helper.make_node("BatchNormalization", ["c_pre", "s", "b", "mu", "v"], ["c"], name="bn",
                                      epsilon=1e-3))
    for name, values in (("s", rng.uniform(0.5, 2, 4)), ("b", rng.normal(size=4)), ("mu", rng.normal(size=4)),
                         ("v", rng.uniform(0.1, 2, 4))):
        g.initializer.append(numpy_helper.from_array(values.astype(np.float32), name))
    return m


def test_batchnorm_after_a_conv_is_folded_and_computes_the_same():
    import onnxruntime as ort

    m = _with_batchnorm(hashed=False)
    out = ing.ingest(m)
    assert "BatchNormalization" not in {n.op_type for n in out.graph.node}
    x = np.random.default_rng(1).uniform(0, 1, (8, 1, 28, 28)).astype(np.float32)
    run = [ort.InferenceSession(mm.SerializeToString(), providers=["CPUExecutionProvider"]) for mm in (m, out)]
    y0, y1 = (r.run(None, {r.get_inputs()[0].name: x})[0] for r in run)
    np.testing.assert_allclose(y1, y0, rtol=1e-5, atol=1e-5)
    assert np.abs(y0).max() > 0.1


def test_batchnorm_after_a_hashed_conv_stays_a_batchnorm_layer():
    """K shared weights cannot take a per-channel scale: the batch norm is built as hls4ml's layer instead."""
    from hashhls.codegen.graph import layer_specs

    out = ing.ingest(_with_batchnorm(hashed=True))
    assert [s.kind for s in layer_specs(out)][:2] == ["hashed_conv2d", "batchnorm"]
