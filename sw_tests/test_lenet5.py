"""LeNet-5 end to end on the frontend side: recipe, bundled checkpoint, ONNX parity, attacks (CLI)."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from torch import nn

from hashhls.adversarial.craft import dense_copy
from hashhls.frontend.checkpoint import checkpoint_metrics, load_checkpoint
from hashhls.frontend.datasets import load_mnist
from hashhls.frontend.layers import HashedConv2d, HashedLinear
from hashhls.frontend.onnx_export import export_checkpoint
from hashhls.frontend.onnx_functions import DOMAIN
from hashhls.frontend.train import RECIPES, evaluate
from hashhls.frontend.zoo import ModelConfig, lenet5_checkpoint


@pytest.fixture(scope="module")
def lenet():
    model, cfg = load_checkpoint(lenet5_checkpoint())
    return model, cfg


@pytest.fixture(scope="module")
def mnist_test():
    return load_mnist(split="test")


def _cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "hashhls", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=300)


def test_cli_recipe_table_matches_the_frontend():
    from hashhls.cli.commands import train as train_cmd

    assert set(train_cmd.RECIPES) == set(RECIPES)
    for name, r in RECIPES.items():
        assert train_cmd.RECIPES[name] == (r.epochs, r.batch_size, r.lr), name


def test_cli_train_uses_the_models_recipe(tmp_path):
    """Without --epochs/--lr/--batch-size, `hashhls train` takes them from the model's recipe."""
    proc = _cli("train", "--model", "lenet5", "--limit", "64", "--epochs", "1", "-o", "l.pt", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    m = checkpoint_metrics(tmp_path / "l.pt")
    assert (m["epochs"], m["batch_size"], m["lr"]) == (1, RECIPES["lenet5"].batch_size, RECIPES["lenet5"].lr)
    assert RECIPES["lenet5"].lr != RECIPES["mnist-mlp"].lr  # so the check above tells the two apart


def test_bundled_lenet5_reaches_98_percent(lenet, mnist_test):
    model, cfg = lenet
    assert cfg == ModelConfig("lenet5", compression=8, seed=0, hash_version=2)  # scripts/train_default.py
    hashed = [m for m in model.modules() if isinstance(m, (HashedConv2d, HashedLinear))]
    assert len(hashed) == 5 and all(m.buckets == math.ceil(math.prod(m.hash.shape) / 8) for m in hashed)
    # Only the K buckets are stored: the dense LeNet-5 has 61,706 parameters (247 KB in float32).
    assert lenet5_checkpoint().stat().st_size < 60_000
    assert len(mnist_test[1]) == 10000
    assert evaluate(model, *mnist_test) >= 0.98


def test_bundled_lenet5_onnx_matches_torch_and_stores_only_k(lenet, mnist_test, tmp_path):
    model, _ = lenet
    path = tmp_path / "lenet5.onnx"
    proto = export_checkpoint(lenet5_checkpoint(), path)
    onnx.checker.check_model(onnx.load(str(path)), full_check=True)

    # Exactly the expected nodes: two hashed convolutions, three hashed linear layers, in order,
    # with the layers' seeds and geometry; nothing else in the custom domain.
    layers = [m for m in model.modules() if isinstance(m, (HashedConv2d, HashedLinear))]
    custom = [n for n in proto.graph.node if n.domain == DOMAIN]
    assert [n.op_type for n in custom] == ["HashedConv2d"] * 2 + ["HashedLinear"] * 3
    assert [n.op_type for n in proto.graph.node if n.domain != DOMAIN] == \
        ["Relu", "MaxPool", "Relu", "MaxPool", "Flatten", "Relu", "Relu"]
    inits = {t.name: t for t in proto.graph.initializer}
    for node, layer in zip(custom, layers):
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        assert attrs["seed"] == layer.seed
        assert list(inits[node.input[1]].dims) == [layer.buckets]  # K weights, not the virtual tensor
        if isinstance(layer, HashedConv2d):
            assert (attrs["in_channels"], attrs["out_channels"]) == (layer.in_channels, layer.out_channels)
            assert attrs["kernel_shape"] == [5, 5] and attrs["pads"] == [layer.padding[0]] * 4
    assert sum(int(np.prod(t.dims)) for t in proto.graph.initializer) == sum(p.numel() for p in model.parameters())

    x = mnist_test[0][:500]
    got = ort.InferenceSession(str(path)).run(None, {"input": x})[0]
    with torch.no_grad():
        ref = model(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-5)
    assert (got.argmax(1) == mnist_test[1][:500]).mean() > 0.95

    dense = export_checkpoint(lenet5_checkpoint(), None, dense=True)
    assert all(n.domain == "" for n in dense.graph.node)
    assert len(proto.SerializeToString()) < 0.2 * len(dense.SerializeToString())


def test_dense_copy_materialises_the_convolutions(lenet, mnist_test):
    model, _ = lenet
    d = dense_copy(model)
    assert not any(isinstance(m, (HashedConv2d, HashedLinear)) for m in d.modules())
    assert sum(isinstance(m, nn.Conv2d) for m in d.modules()) == 2
    x = torch.from_numpy(mnist_test[0][:200])
    with torch.no_grad():
        torch.testing.assert_close(d(x), model(x), rtol=1e-5, atol=1e-5)


def test_dense_copy_of_the_model_a_build_loads_as(lenet, mnist_test):
    # A build's model is its ONNX loaded back (an OnnxGraphModule, convolutions wrapped in their padding), not a
    # zoo nn.Sequential: crafting on "dense" from a build (the sweep's craft stage) materialises it too.
    from hashhls.codegen.onnx_to_torch import load_onnx_model

    model, _ = lenet
    back = load_onnx_model(export_checkpoint(lenet5_checkpoint(), None))
    d = dense_copy(back)
    assert not any(isinstance(m, (HashedConv2d, HashedLinear)) for m in d.modules())
    assert sum(isinstance(m, nn.Conv2d) for m in d.modules()) == 2
    assert any(isinstance(m, (HashedConv2d, HashedLinear)) for m in back.modules())  # the original is untouched
    x = torch.from_numpy(mnist_test[0][:200])
    with torch.no_grad():
        torch.testing.assert_close(d(x), model(x), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("on", ["hashed", "fixed", "dense"])
def test_cli_attack_on_lenet5(tmp_path, lenet, on):
    from hashhls.adversarial.replay import AdvSet
    from hashhls.adversarial.attacks import FixedPointTwin

    out = tmp_path / "adv.npz"
    r = _cli("attack", lenet5_checkpoint(), "--attack", "fgsm", "--eps", "0.1", "--on", on, "-n", "50", "-o", out)
    assert r.returncode == 0, r.stderr
    adv = AdvSet.load(out, input_shape=(1, 28, 28))
    assert adv.x_adv.shape == (1, 50, 1, 28, 28)
    assert adv.crafted_on == on
    assert np.abs(adv.x_adv[0] - adv.x_clean).max() <= 0.1 + 1e-6
    model, _ = lenet
    target = FixedPointTwin(model) if on == "fixed" else model
    with torch.no_grad():
        clean = target(torch.from_numpy(adv.x_clean)).argmax(1).numpy() == adv.y
        fooled = target(torch.from_numpy(adv.x_adv[0])).argmax(1).numpy() != adv.y
    assert clean.mean() > 0.9
    assert (fooled & clean).sum() >= 0.25 * clean.sum()  # FGSM at 0.1 flips a good share of them (measured ~half)
