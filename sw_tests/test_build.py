"""`hashhls build`: the written project, manifest, determinism, boards and bad input."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx_models import dense, hashed, mlp_onnx, relu

from hashhls.codegen.boards import available_boards, load_board
from hashhls.codegen.fixed import FixedType
from hashhls.codegen.manifest import BuildManifest
from hashhls.codegen.project import BuildConfig, build
from hashhls.core.errors import HashhlsError
from hashhls.cli.main import main


def _save(tmp_path: Path, layers, name="m.onnx", **kw) -> Path:
    p = tmp_path / name
    onnx.save(mlp_onnx(layers, **kw), str(p))
    return p


SMALL = [hashed(64, 16, 100, seed=7, name="fc1"), relu(name="relu1"), dense(16, 4, name="fc2")]


def _build(tmp_path, model, out="b", **kw) -> BuildManifest:
    return build(BuildConfig(output_dir=tmp_path / out, model=model, compile_csim=False, progress=False, **kw))


@pytest.fixture
def small(tmp_path) -> Path:
    return _save(tmp_path, SMALL, input_shape=(1, 8, 8))


def test_build_writes_project_manifest_and_summary(tmp_path, small):
    man = _build(tmp_path, small)
    b = tmp_path / "b"
    assert BuildManifest.read(b) == man
    assert [(layer.name, layer.kind) for layer in man.layers] == [
        ("flatten", "flatten"), ("fc1", "hashed_dense"), ("relu1", "relu"), ("fc2", "dense")]
    fc1 = man.layers[1]
    assert (fc1.seed, fc1.buckets, fc1.virtual_weights, fc1.stored_weights) == (7, 100, 1024, 100)
    assert (fc1.n_in, fc1.n_out) == (64, 16)
    assert man.input_shape == [1, 8, 8] and man.n_outputs == 4
    assert man.board == "pynq-z2" and man.backend == "VivadoAccelerator"
    # the accumulator holds bias + 64 products of two ap_fixed<16,6> exactly
    acc = FixedType.parse(fc1.precision["accum"])
    assert acc.frac >= 20 and acc.integer >= 6 + 6 + 7
    hls = b / "hls"
    for f in ("firmware/myproject.cpp", "firmware/myproject_axi.cpp", "design.tcl", "axi_stream_driver.py",
              "firmware/nnet_utils/nnet_hashed.h", "build_prj.tcl"):
        assert (hls / f).is_file(), f
    assert "xc7z020clg400-1" in (hls / "project.tcl").read_text()
    assert "nnet::hashed_dense<" in (hls / "firmware" / "myproject.cpp").read_text()
    # the hashed layer's bucket weights go to a text file loaded at csim time, K values
    onnx_w = {t.name: onnx.numpy_helper.to_array(t) for t in onnx.load(str(b / "model.onnx")).graph.initializer}
    k_weights = next(v for v in onnx_w.values() if v.shape == (100,))
    txt = [p for p in (hls / "firmware" / "weights").glob("w*.txt") if len(p.read_text().split(",")) == 100]
    assert len(txt) == 1
    loaded = np.array([float(v) for v in txt[0].read_text().split(",")])
    np.testing.assert_array_equal(loaded, FixedType.parse(fc1.precision["weight"]).quantize(k_weights))
    summary = (b / "summary.md").read_text()
    assert "ESTIMATE" in summary and "fc1" in summary and "1,024" in summary


def test_project_hash_covers_the_hls_tree(tmp_path, small):
    man = _build(tmp_path, small)
    hls = tmp_path / "b" / "hls"
    h = hashlib.sha256()
    for p in sorted(q for q in hls.rglob("*") if q.is_file()):
        h.update(p.relative_to(hls).as_posix().encode() + b"\0" + hashlib.sha256(p.read_bytes()).digest())
    assert man.project_hash == h.hexdigest()


def test_same_input_gives_same_bytes(tmp_path, small):
    _build(tmp_path, small, out="one")
    _build(tmp_path, small, out="two")
    files = sorted(p.relative_to(tmp_path / "one") for p in (tmp_path / "one").rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(tmp_path / "two") for p in (tmp_path / "two").rglob("*") if p.is_file())
    for rel in files:
        assert (tmp_path / "one" / rel).read_bytes() == (tmp_path / "two" / rel).read_bytes(), rel
    cfg = (tmp_path / "one" / "hls" / "hls4ml_config.yml").read_text()
    assert str(tmp_path) not in cfg and "python/object" not in cfg


def test_board_none_and_second_board(tmp_path, small):
    man = _build(tmp_path, small, out="none", board="none")
    assert man.backend == "Vivado" and not (tmp_path / "none" / "hls" / "design.tcl").exists()
    man = _build(tmp_path, small, out="zcu", board="zcu104")
    assert man.board == "zcu104"
    assert "xczu7ev-ffvc1156-2-e" in (tmp_path / "zcu" / "hls" / "project.tcl").read_text()
    assert "1728" in (tmp_path / "zcu" / "summary.md").read_text()


def test_boards_are_data_files():
    assert {"pynq-z2", "zcu104"} <= set(available_boards())
    pynq = load_board("pynq-z2")
    assert (pynq.part, pynq.clock_mhz) == ("xc7z020clg400-1", 100.0)
    assert (pynq.resources.bram_18k, pynq.resources.dsp, pynq.resources.ff, pynq.resources.lut) == (
        280, 220, 106400, 53200)


def test_existing_output_needs_force(tmp_path, small):
    _build(tmp_path, small)
    with pytest.raises(HashhlsError, match="exists.*--force"):
        _build(tmp_path, small)
    _build(tmp_path, small, force=True)


def test_per_layer_precision_override(tmp_path, small):
    man = _build(tmp_path, small, layer_precision=["fc1.result=ap_fixed<18,8,AP_RND_CONV,AP_SAT>"])
    fc1 = next(layer for layer in man.layers if layer.name == "fc1")
    assert fc1.precision["result"] == "ap_fixed<18,8,AP_RND_CONV,AP_SAT>"
    assert "ap_fixed<18,8,AP_RND_CONV,AP_SAT" in (tmp_path / "b" / "hls" / "firmware" / "defines.h").read_text()


@pytest.mark.parametrize("kwargs,match,scale", [
    ({"board": "nosuchboard"}, "unknown board 'nosuchboard'", 0.1),
    ({"precision": "ap_fixed<16"}, "cannot parse precision", 0.1),
    ({"precision": "ap_fixed<6,1,AP_RND_CONV,AP_SAT>"}, "cannot hold the weights of layer 'fc1'", 3.0),
    ({"precision": "ap_fixed<6,5,AP_RND_CONV,AP_SAT>"}, "every one rounds to zero", 0.1),
    ({"reuse_factor": 0}, "reuse-factor", 0.1),
    ({"layer_precision": ["nolayer=ap_fixed<16,6>"]}, "unknown layer", 0.1),
])
def test_bad_options_are_one_line_errors(tmp_path, kwargs, match, scale):
    big = _save(tmp_path, [hashed(64, 16, 100, seed=7, name="fc1")], input_shape=(64,), scale=scale)
    with pytest.raises(HashhlsError, match=match):
        _build(tmp_path, big, **kwargs)
    assert not (tmp_path / "b").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".b.")]  # no temp dir left behind


def test_cli_build_and_errors(tmp_path, small, capsys):
    assert main(["build", str(small), "-o", str(tmp_path / "c"), "--no-csim"]) == 0
    out = capsys.readouterr().out
    # the compact summary: the verdict first, then one row per weighted layer (full detail in summary.md)
    assert out.startswith("Fits the pynq-z2 (estimate)") and "vs dense at the same" in out.splitlines()[1]
    assert all(h in out for h in ("BRAM", "DSP", "LUT", "cycles")) and "summary.md" in out.splitlines()[-1]
    assert "## Dense design at the same DSP budget" in (tmp_path / "c" / "summary.md").read_text()
    assert json.loads((tmp_path / "c" / "hashhls-build.json").read_text())["format"] == "hashhls-build"
    assert main(["build", str(small), "-o", str(tmp_path / "c"), "--no-csim"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("hashhls: error: output directory exists") and err.count("\n") == 1
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"garbage")
    assert main(["build", str(bad), "-o", str(tmp_path / "d"), "--no-csim"]) == 2
    assert "hashhls: error:" in capsys.readouterr().err


def test_build_from_checkpoint_keeps_seeds_buckets_and_weights(tmp_path):
    torch = pytest.importorskip("torch")
    from hashhls.frontend.checkpoint import save_checkpoint
    from hashhls.frontend.layers import HashedLinear
    from hashhls.frontend.zoo import ModelConfig, build_model

    torch.manual_seed(3)
    cfg = ModelConfig("mnist-mlp", compression=16.0, seed=40)
    model = build_model(cfg)
    ckpt = tmp_path / "m.pt"
    save_checkpoint(ckpt, model, cfg)
    man = _build(tmp_path, ckpt)
    hashed_torch = [m for m in model.modules() if isinstance(m, HashedLinear)]
    hashed_built = [layer for layer in man.layers if layer.kind == "hashed_dense"]
    assert [(m.seed, m.buckets, m.in_features, m.out_features) for m in hashed_torch] == [
        (layer.seed, layer.buckets, layer.n_in, layer.n_out) for layer in hashed_built]
    built = onnx.load(str(tmp_path / "b" / "model.onnx"))
    inits = {t.name: onnx.numpy_helper.to_array(t) for t in built.graph.initializer}
    for m, node in zip(hashed_torch, [n for n in built.graph.node if n.op_type == "HashedLinear"]):
        np.testing.assert_array_equal(inits[node.input[1]], m.weight.detach().numpy())
    assert man.source == "m.pt"


def test_estimates_count_the_hash_multipliers_and_k_words():
    from hashhls.codegen import estimate

    # hash v1: per lane the MAC and the measured address unit (8 DSP48E1, bench/results/address_unit.md)
    one_lane = estimate.hashed_v1(784, 300, 29400, 16, reuse=784, acc_width=40)
    assert one_lane.multipliers == 1
    assert one_lane.dsp == 1 + estimate.address_cost(1, 32, 15, fabric=False).dsp == 9
    # one copy of K 16-bit words in BRAM_18K (1K x 18), vs the N*M words of the dense layer
    assert one_lane.bram_18k == -(-29400 // 1024)
    assert estimate.dense(784, 300, 16, reuse=784).bram_18k >= -(-784 * 300 * 16 // (18 * 1024))


def test_extension_registration_is_idempotent_on_every_backend():
    import importlib

    import hls4ml
    from hls4ml.model.optimizer import get_backend_passes

    import hashhls.codegen.hls as ext

    ext.register()
    ext.register()
    ext = importlib.reload(ext)  # module flag reset: registration must still not raise or duplicate
    ext.register()
    for name in ext.BACKENDS:
        passes = get_backend_passes(name)
        assert sum(p.endswith(":hasheddense_config_template") for p in passes) == 1, name
        assert sum(p.endswith(":hasheddense_function_template") for p in passes) == 1, name
        sources = hls4ml.backends.get_backend(name).get_custom_source()
        assert any(str(v).endswith("nnet_hashed.h") for v in sources.values()), name


def test_build_plain_torch_exported_mlp(tmp_path):
    torch = pytest.importorskip("torch")
    from torch import nn

    torch.manual_seed(0)
    net = nn.Sequential(nn.Flatten(), nn.Linear(36, 12), nn.ReLU(), nn.Linear(12, 3)).eval()
    path = tmp_path / "plain.onnx"
    torch.onnx.export(net, (torch.zeros(1, 1, 6, 6),), str(path), dynamo=False, input_names=["input.1"],
                      dynamic_axes={"input.1": {0: "N"}})
    man = _build(tmp_path, path)
    assert [layer.kind for layer in man.layers] == ["flatten", "dense", "relu", "dense"]
    assert [(layer.n_in, layer.n_out) for layer in man.layers if layer.kind == "dense"] == [(36, 12), (12, 3)]
    built = onnx.load(str(tmp_path / "b" / "model.onnx"))
    gemm = [n for n in built.graph.node if n.op_type == "Gemm"][0]
    w = {t.name: onnx.numpy_helper.to_array(t) for t in built.graph.initializer}[gemm.input[1]]
    np.testing.assert_array_equal(w, net[1].weight.detach().numpy())


def test_no_model_builds_the_bundled_default(tmp_path, capsys):
    assert main(["build", "-o", str(tmp_path / "d"), "--no-csim"]) == 0
    man = BuildManifest.read(tmp_path / "d")
    assert man.source.startswith("bundled:")
    assert [(layer.n_in, layer.n_out) for layer in man.layers if layer.kind == "hashed_dense"][0] == (784, 300)
    assert man.input_shape == [1, 28, 28] and man.n_outputs == 10


@pytest.mark.csim
def test_gxx_failure_shows_the_first_compiler_error(tmp_path, small, monkeypatch, capsys):
    from hashhls.codegen.hls import templates as tmpl

    original = tmpl.render

    def broken(name, **ctx):  # a config struct the compiler rejects
        text = original(name, **ctx)
        return text + '#error "deliberately broken config"\n' if "config" in name else text

    monkeypatch.setattr(tmpl, "render", broken)
    assert main(["build", str(small), "-o", str(tmp_path / "e")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("hashhls: error: g++ failed") and "deliberately broken config" in err
    assert err.count("\n") == 1
    assert not (tmp_path / "e").exists()


@pytest.mark.csim
def test_build_compiles_a_csim_that_agrees_with_the_emulator(tmp_path, small):
    from hashhls.codegen.csim import load_build
    from hashhls.codegen.emulator import Emulator

    build(BuildConfig(output_dir=tmp_path / "b", model=small, progress=False))
    assert (tmp_path / "b" / "csim").is_dir()
    (tmp_path / "b").rename(tmp_path / "moved")  # the build is relocatable
    x = np.random.default_rng(0).uniform(-2, 2, (50, 1, 8, 8)).astype(np.float32)
    np.testing.assert_array_equal(load_build(tmp_path / "moved").predict(x),
                                  Emulator.from_build(tmp_path / "moved").predict(x))
