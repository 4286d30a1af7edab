"""Model zoo (architectures, hash seeds, config) and training (determinism, learning)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from hashhls.core.errors import HashhlsError
from hashhls.frontend.checkpoint import load_checkpoint
from hashhls.frontend.datasets import load_mnist
from hashhls.frontend.gi import GIConfig
from hashhls.frontend.hashing import HashConfig
from hashhls.frontend.layers import HashedConv2d, HashedLinear
from hashhls.frontend.train import evaluate, random_shift, train_model
from hashhls.frontend.zoo import MODEL_NAMES, ModelConfig, build_model, default_checkpoint
from torch import nn


def _weight_layers(model):
    return [m for m in model if isinstance(m, (nn.Linear, nn.Conv2d, HashedLinear, HashedConv2d))]


@pytest.mark.parametrize("name,shape,sizes", [
    ("mnist-mlp", (1, 28, 28), [(300, 784), (100, 300), (10, 100)]),
    ("lenet5", (1, 28, 28), [(6, 1, 5, 5), (16, 6, 5, 5), (120, 400), (84, 120), (10, 84)]),
    ("cifar-convnet", (3, 32, 32), [(32, 3, 3, 3), (64, 32, 3, 3), (256, 4096), (10, 256)]),
])
def test_architectures_hashed_and_dense(name, shape, sizes):
    assert name in MODEL_NAMES
    hashed = build_model(ModelConfig(name, compression=8, seed=5))
    layers = _weight_layers(hashed)
    assert [tuple(m.hash.shape) for m in layers] == sizes
    for l, m in enumerate(layers):
        n = math.prod(m.hash.shape)
        assert m.seed == 5 + l
        assert m.buckets == math.ceil(n / 8)
        assert m.weight.shape == (m.buckets,)
    out = hashed(torch.zeros(2, *shape))
    assert out.shape == (2, 10)
    dense = build_model(ModelConfig(name, compression=1))
    dl = _weight_layers(dense)
    assert all(type(m) in (nn.Linear, nn.Conv2d) for m in dl)
    assert [tuple(m.weight.shape) for m in dl] == sizes
    assert dense(torch.zeros(2, *shape)).shape == (2, 10)


def test_hashed_layer_uses_spec_tables():
    m = build_model(ModelConfig("mnist-mlp", compression=64, seed=3))
    layer = m[3]  # second Linear: seed 3 + 1
    bucket, sign = HashConfig((100, 300), 4, math.ceil(30000 / 64)).tables()
    v = layer.virtual_weight().detach().numpy()
    np.testing.assert_array_equal(v, layer.weight.detach().numpy()[bucket] * sign)


def test_model_config_json_and_errors():
    cfg = ModelConfig("lenet5", compression=4.5, seed=7, gi=GIConfig.parse("sign:0.2"), gi_layers=[2, 0])
    d = json.loads(cfg.to_json())
    assert d["input_shape"] == [1, 28, 28] and d["num_classes"] == 10 and d["dataset"] == "mnist"
    assert d["gi"] == {"mode": "sign", "eps": 0.2} and d["gi_layers"] == [0, 2]
    assert ModelConfig.from_json(cfg.to_json()) == cfg
    assert ModelConfig("cifar-convnet").dataset == "cifar10"
    with pytest.raises(HashhlsError, match="unknown model 'resnet'"):
        ModelConfig("resnet")
    with pytest.raises(HashhlsError, match=">= 1"):
        ModelConfig("mnist-mlp", compression=0.5)
    with pytest.raises(HashhlsError, match=">= 1"):
        ModelConfig("mnist-mlp", compression=float("nan"))
    with pytest.raises(HashhlsError, match="out of range"):
        ModelConfig("mnist-mlp", compression=1001)  # last layer has 1000 weights: K < 1
    with pytest.raises(HashhlsError, match="seed"):
        ModelConfig("mnist-mlp", seed=-1)
    with pytest.raises(HashhlsError, match="GI layer index 3"):
        ModelConfig("mnist-mlp", gi=GIConfig.parse("sign:0.1"), gi_layers=[3])
    with pytest.raises(HashhlsError, match="does not match"):
        ModelConfig.from_json(json.dumps(d | {"input_shape": [3, 32, 32]}))
    with pytest.raises(HashhlsError, match="invalid model config"):
        ModelConfig.from_json("{not json")


def test_random_shift_moves_content():
    x = torch.zeros(64, 1, 8, 8)
    x[:, 0, 4, 4] = 1.0
    g = torch.Generator().manual_seed(0)
    y = random_shift(x, g)
    assert torch.all(y.sum((1, 2, 3)) == 1)  # pixel stays inside: shifted, not lost
    pos = y[:, 0].flatten(1).argmax(1)
    rows, cols = pos // 8, pos % 8
    assert rows.min() == 2 and rows.max() == 6 and cols.min() == 2 and cols.max() == 6
    assert len(set(zip(rows.tolist(), cols.tolist()))) > 10  # per-image shifts


def test_training_is_deterministic():
    x, y = load_mnist(split="train", limit=512)
    cfg = ModelConfig("mnist-mlp", compression=8)
    m1, _ = train_model(cfg, (x, y), epochs=2, batch_size=64, seed=3, progress=False)
    m2, _ = train_model(cfg, (x, y), epochs=2, batch_size=64, seed=3, progress=False)
    m3, _ = train_model(cfg, (x, y), epochs=2, batch_size=64, seed=4, progress=False)
    s1, s2, s3 = m1.state_dict(), m2.state_dict(), m3.state_dict()
    for k, v in s1.items():
        if isinstance(v, torch.Tensor):
            assert torch.equal(v, s2[k]), k
    assert not torch.equal(s1["1.weight"], s3["1.weight"])


def test_short_training_beats_chance():
    train = load_mnist(split="train", limit=2000)
    test = load_mnist(split="test", limit=2000)
    model, metrics = train_model(ModelConfig("mnist-mlp", compression=8), train, test, epochs=5, batch_size=32,
                                 progress=False)
    assert metrics["test_accuracy"] > 0.75  # chance is 0.1; measured 0.83
    assert metrics["test_accuracy"] == evaluate(model, *test)
    assert metrics["stored_weights"] == sum(p.numel() for p in model.parameters()) < 266610 / 7


def test_short_lenet_training_beats_chance():
    train = load_mnist(split="train", limit=1000)
    test = load_mnist(split="test", limit=1000)
    _, metrics = train_model(ModelConfig("lenet5", compression=4), train, test, epochs=5, batch_size=32,
                             progress=False)
    assert metrics["test_accuracy"] > 0.6  # measured 0.77


def test_train_rejects_wrong_input_shape():
    x = np.zeros((4, 3, 32, 32), np.float32)
    with pytest.raises(HashhlsError, match="do not fit mnist-mlp"):
        train_model(ModelConfig("mnist-mlp", 8), (x, np.zeros(4, np.int64)), epochs=1)


def test_bundled_checkpoint_reaches_95_percent():
    model, cfg = load_checkpoint(default_checkpoint())
    assert cfg == ModelConfig("mnist-mlp", compression=8, seed=0, hash_version=2)  # scripts/train_default.py
    assert default_checkpoint().stat().st_size < 200_000  # only the K bucket weights are stored
    x, y = load_mnist(split="test")
    assert len(y) == 10000
    assert evaluate(model, x, y) >= 0.95
