"""Hash version 2 through the build: reuse factors from the banks, bad input refused before any C++, v2 training."""

from __future__ import annotations

import re
import subprocess
import sys

import numpy as np
import onnx
import pytest
import torch
from onnx import TensorProto, helper, numpy_helper

from hashhls.codegen.lanes import DEFAULT_REUSE_FACTOR, reuse_factors
from hashhls.codegen.manifest import BuildManifest
from hashhls.codegen.graph import layer_specs
from hashhls.codegen.project import BuildConfig, build
from hashhls.core.errors import UnsupportedModelError, UsageError
from hashhls.frontend.checkpoint import load_checkpoint, save_checkpoint
from hashhls.frontend.zoo import ModelConfig, build_model


def _model(k=40, banks=4, version=2, n_in=24, n_out=10, hidden_banks=None, domain_version=2) -> onnx.ModelProto:
    rng = np.random.default_rng(0)
    attrs = {"hash_version": version, "banks": banks} if banks is not None else {"hash_version": version}
    inits = [numpy_helper.from_array(rng.uniform(-0.5, 0.5, k).astype(np.float32), "W"),
             numpy_helper.from_array(np.zeros(n_out, np.float32), "B"),
             numpy_helper.from_array(rng.uniform(-0.5, 0.5, 30).astype(np.float32), "W2"),
             numpy_helper.from_array(np.zeros(3, np.float32), "B2")]
    nodes = [helper.make_node("HashedLinear", ["x", "W", "B"], ["h"], name="fc1", domain="hashhls", seed=3,
                              in_features=n_in, out_features=n_out, **attrs),
             helper.make_node("Relu", ["h"], ["r"], name="relu"),
             helper.make_node("HashedLinear", ["r", "W2", "B2"], ["y"], name="fc2", domain="hashhls", seed=4,
                              in_features=n_out, out_features=3, hash_version=2, banks=hidden_banks or 2)]
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", n_in])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 3])], initializer=inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 18),
                                            helper.make_opsetid("hashhls", domain_version)])
    m.ir_version = 9
    return m


def _conv_model(k=30, banks=4, c=2, kernel=3) -> onnx.ModelProto:
    """One v2 HashedConv2d (fan-in c*kernel*kernel) on a [c, 6, 6] input, flattened."""
    rng = np.random.default_rng(1)
    inits = [numpy_helper.from_array(rng.uniform(-0.5, 0.5, k).astype(np.float32), "W"),
             numpy_helper.from_array(np.zeros(4, np.float32), "B")]
    nodes = [helper.make_node("HashedConv2d", ["x", "W", "B"], ["h"], name="conv1", domain="hashhls", seed=5,
                              in_channels=c, out_channels=4, kernel_shape=[kernel, kernel], strides=[1, 1],
                              pads=[0, 0, 0, 0], hash_version=2, banks=banks),
             helper.make_node("Flatten", ["h"], ["y"], name="flat")]
    side = 6 - kernel + 1
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", c, 6, 6])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 4 * side * side])],
                          initializer=inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 18), helper.make_opsetid("hashhls", 2)])
    m.ir_version = 9
    return m


def _build(tmp_path, model, **kw):
    onnx.save(model, str(tmp_path / "m.onnx"))
    return build(BuildConfig(output_dir=tmp_path / "b", model=tmp_path / "m.onnx", board="pynq-z2",
                             compile_csim=False, progress=False, **kw))


def test_v2_layers_take_their_reuse_factor_from_the_banks(tmp_path):
    man = _build(tmp_path, _model())
    rf = {layer.name: layer.attrs.get("reuse_factor") for layer in man.layers}
    assert rf["fc1"] == 6 and rf["fc2"] == 5  # ceil(24 / 4), ceil(10 / 2)
    assert {layer.name: layer.attrs.get("banks") for layer in man.layers if layer.buckets} == {"fc1": 4, "fc2": 2}
    params = (tmp_path / "b" / "hls" / "firmware" / "parameters.h").read_text()
    assert len(re.findall(r"static const unsigned n_banks = 4;", params)) == 1
    summary = (tmp_path / "b" / "summary.md").read_text()
    assert "| fc1 | hashed_dense | 240 | 40 + 10 |" in summary and "v2, 4 banks" in summary
    assert "Dense design at the same DSP budget" in summary and "ratio" in summary


def test_a_matching_reuse_factor_is_accepted(tmp_path):
    man = _build(tmp_path, _model(hidden_banks=4, n_in=12, k=40, banks=4), reuse_factor=3)  # both ceil(./4)=3
    assert {layer.attrs.get("reuse_factor") for layer in man.layers if layer.buckets} == {3}


@pytest.mark.parametrize("model,kwargs,error,fragments", [
    (dict(k=3, banks=4), {}, UnsupportedModelError, ("'fc1'", "K < P")),
    (dict(banks=25), {}, UnsupportedModelError, ("'fc1'", "24 inputs")),
    (dict(version=7), {}, UnsupportedModelError, ("'fc1'", "hash version 7")),
    (dict(), {"reuse_factor": 64}, UsageError, ("'fc1'", "reuse factor 6", "--reuse-factor 6")),
    # a v2 node in a file importing hashhls domain version 1, whose function bodies hash by version 1
    (dict(domain_version=1), {}, UnsupportedModelError, ("'fc1'", "hash_version 2", "domain version 2")),
    # the convolution's lanes run over its C*kh*kw = 18 taps: K < P, P > taps, a contradicting reuse factor
    (lambda: _conv_model(k=3, banks=4), {}, UnsupportedModelError, ("'conv1'", "K < P")),
    (lambda: _conv_model(banks=19), {}, UnsupportedModelError, ("'conv1'", "18 inputs")),
    (lambda: _conv_model(banks=4), {"reuse_factor": 4}, UsageError, ("'conv1'", "reuse factor 5")),
])
def test_bad_v2_input_is_refused_before_any_cpp(tmp_path, model, kwargs, error, fragments):
    with pytest.raises(error) as info:
        _build(tmp_path, model() if callable(model) else _model(**model), **kwargs)
    msg = str(info.value)
    assert "\n" not in msg and all(f in msg for f in fragments), msg
    assert not (tmp_path / "b").exists()  # nothing written


def test_reuse_factor_table():
    cfg = ModelConfig("mnist-mlp", compression=8, seed=0, hash_version=2, banks=[32, 8, 2])  # not the default
    from hashhls.frontend.onnx_export import export_onnx
    from hashhls.codegen.ingest import ingest

    specs = layer_specs(ingest(export_onnx(build_model(cfg).eval(), input_shape=[1, 28, 28])))
    assert list(reuse_factors(specs, None).values()) == [25, 38, 50]
    v1 = layer_specs(ingest(export_onnx(build_model(ModelConfig("mnist-mlp", 8)).eval(), input_shape=[1, 28, 28])))
    assert set(reuse_factors(v1, None).values()) == {DEFAULT_REUSE_FACTOR}
    with pytest.raises(UsageError, match="banks"):
        reuse_factors(specs, 25)  # right for the first layer, not for the others


def test_checkpoint_with_an_unknown_hash_version_is_refused(tmp_path):
    cfg = ModelConfig("mnist-mlp", compression=8, hash_version=2)
    model = build_model(cfg)
    path = save_checkpoint(tmp_path / "m.pt", model, cfg)
    payload = torch.load(path, weights_only=True)
    payload["state_dict"]["1._extra_state"]["version"] = 9
    torch.save(payload, tmp_path / "bad.pt")
    with pytest.raises(UnsupportedModelError, match="'1'.*hash version 9"):
        load_checkpoint(tmp_path / "bad.pt")
    bad_cfg = torch.load(path, weights_only=True)
    bad_cfg["config"] = bad_cfg["config"].replace('"hash_version": 2', '"hash_version": 5')
    torch.save(bad_cfg, tmp_path / "bad2.pt")
    with pytest.raises(UnsupportedModelError, match="hash version 5"):
        load_checkpoint(tmp_path / "bad2.pt")


def test_cli_build_of_a_checkpoint_with_an_unknown_hash_version_is_one_line(tmp_path):
    cfg = ModelConfig("mnist-mlp", compression=64, hash_version=2)
    path = save_checkpoint(tmp_path / "m.pt", build_model(cfg), cfg)
    payload = torch.load(path, weights_only=True)
    payload["state_dict"]["3._extra_state"]["version"] = 4
    torch.save(payload, tmp_path / "bad.pt")
    r = subprocess.run([sys.executable, "-m", "hashhls", "build", str(tmp_path / "bad.pt"), "--no-csim", "-o",
                        str(tmp_path / "b")], capture_output=True, text=True, timeout=300)
    assert r.returncode == 2 and r.stderr.startswith("hashhls: error:"), r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and "'3'" in r.stderr and "hash version 4" in r.stderr, r.stderr
    assert not (tmp_path / "b").exists() and "Traceback" not in r.stderr


@pytest.mark.parametrize("kwargs,match", [
    (dict(banks=[32, 8]), "3 values"),
    (dict(banks=[32, 8, 200]), "weight layer 2"),
    (dict(hash_version=1, banks=[1, 1, 1]), "need hash version 2"),
    (dict(compression=1), "dense"),
])
def test_model_config_refuses_bad_banks(kwargs, match):
    kwargs = {"compression": 8, "hash_version": 2, **kwargs}
    with pytest.raises(UnsupportedModelError, match=match):
        ModelConfig("mnist-mlp", **kwargs)


def test_v1_config_json_is_unchanged():
    # a v1 config writes exactly the keys it always did, so v1 checkpoints and exports stay byte-identical
    assert "hash_version" not in ModelConfig("mnist-mlp", 8).to_json()
    v2 = ModelConfig("lenet5", 64, hash_version=2)
    assert v2.banks == [3, 30, 10, 20, 6]  # the architecture's defaults, clipped to K (conv1 has K = 3 at 1/64)
    assert ModelConfig.from_json(v2.to_json()) == v2


def test_cli_train_v2_and_bad_banks(tmp_path):
    def cli(*args):
        return subprocess.run([sys.executable, "-m", "hashhls", *args], cwd=tmp_path, capture_output=True,
                              text=True, timeout=300)

    r = cli("train", "--model", "mnist-mlp", "--hash-version", "2", "--banks", "16,4,2", "--epochs", "1",
            "--limit", "300", "-o", "m.pt")
    assert r.returncode == 0, r.stderr
    model, cfg = load_checkpoint(tmp_path / "m.pt")
    assert cfg.hash_version == 2 and cfg.banks == [16, 4, 2]
    assert [m.banks for m in model if hasattr(m, "banks")] == [16, 4, 2]
    for args, fragment in ((["--banks", "4,4"], "3 values"), (["--banks", "x"], "comma-separated"),
                           (["--banks", "4,4,4", "--hash-version", "1"], "--hash-version 2")):
        full = ["train", "--model", "mnist-mlp", "--epochs", "1", "--limit", "100", "-o", "n.pt"]
        if "--hash-version" not in args:
            full += ["--hash-version", "2"]
        r = cli(*full, *args)
        assert r.returncode == 2 and fragment in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr


def test_manifest_of_a_v1_build_has_no_v2_attributes(tmp_path):
    from hashhls.frontend.onnx_export import export_onnx

    export_onnx(build_model(ModelConfig("mnist-mlp", 64)).eval(), tmp_path / "m.onnx", input_shape=[1, 28, 28])
    build(BuildConfig(output_dir=tmp_path / "b", model=tmp_path / "m.onnx", compile_csim=False, progress=False))
    man = BuildManifest.read(tmp_path / "b")
    assert all("banks" not in layer.attrs and "hash_version" not in layer.attrs for layer in man.layers)
    assert "hashed_dense_banked" not in (tmp_path / "b" / "hls" / "firmware" / "myproject.cpp").read_text()
