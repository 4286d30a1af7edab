"""Checkpoints: round trip, format tag, corrupted files, and refusal of arbitrary pickles."""

from __future__ import annotations

import json
import os

import pytest
import torch
from hashhls.core.errors import HashhlsError
from hashhls.frontend.checkpoint import FORMAT, checkpoint_metrics, load_checkpoint, save_checkpoint
from hashhls.frontend.zoo import ModelConfig, build_model


@pytest.mark.parametrize("name,compression", [("mnist-mlp", 8), ("mnist-mlp", 1), ("lenet5", 3.5)])
def test_round_trip(tmp_path, name, compression):
    cfg = ModelConfig(name, compression=compression, seed=11)
    torch.manual_seed(0)
    model = build_model(cfg)
    path = save_checkpoint(tmp_path / "m.pt", model, cfg, {"test_accuracy": 0.5})
    raw = torch.load(path, weights_only=True)
    assert raw["format"] == FORMAT and raw["version"] == 1
    assert json.loads(raw["config"])["name"] == name
    loaded, cfg2 = load_checkpoint(path)
    assert cfg2 == cfg
    assert not loaded.training
    x = torch.rand(3, 1, 28, 28)
    torch.testing.assert_close(loaded(x), model.eval()(x), rtol=0, atol=0)
    assert checkpoint_metrics(path) == {"test_accuracy": 0.5}
    assert [p.name for p in tmp_path.iterdir()] == ["m.pt"]  # no temporary file left


def test_hashed_checkpoint_stores_only_buckets(tmp_path):
    cfg = ModelConfig("mnist-mlp", compression=64)
    model = build_model(cfg)
    path = save_checkpoint(tmp_path / "m.pt", model, cfg)
    sd = torch.load(path, weights_only=True)["state_dict"]
    n_tensor = sum(v.numel() for v in sd.values() if isinstance(v, torch.Tensor))
    assert n_tensor == sum(p.numel() for p in model.parameters()) < 266610 / 50
    assert sd["1._extra_state"] == {"shape": [300, 784], "seed": 0, "buckets": 3675}


def test_missing_and_corrupted(tmp_path):
    with pytest.raises(HashhlsError, match="not found"):
        load_checkpoint(tmp_path / "none.pt")
    cfg = ModelConfig("mnist-mlp", compression=8)
    good = save_checkpoint(tmp_path / "good.pt", build_model(cfg), cfg)
    data = good.read_bytes()
    for i, bad in enumerate([b"", b"hello world", data[: len(data) // 2], data[:100] + b"\0" * 50 + data[150:]]):
        p = tmp_path / f"bad{i}.pt"
        p.write_bytes(bad)
        with pytest.raises(HashhlsError) as e:
            load_checkpoint(p)
        assert "\n" not in str(e.value) and p.name in str(e.value)


def test_wrong_format_tag_and_mismatch(tmp_path):
    p = tmp_path / "plain.pt"
    torch.save({"state_dict": {}}, p)
    with pytest.raises(HashhlsError, match="not a hashhls checkpoint"):
        load_checkpoint(p)
    torch.save(build_model(ModelConfig("mnist-mlp", 1)).state_dict(), p)
    with pytest.raises(HashhlsError, match="not a hashhls checkpoint"):
        load_checkpoint(p)
    cfg = ModelConfig("mnist-mlp", compression=8)
    other = ModelConfig("mnist-mlp", compression=4)
    torch.save({"format": FORMAT, "version": 1, "config": other.to_json(), "metrics": "{}",
                "state_dict": build_model(cfg).state_dict()}, p)
    with pytest.raises(HashhlsError, match="does not match its config") as e:
        load_checkpoint(p)
    assert "\n" not in str(e.value)
    torch.save({"format": FORMAT, "version": 99, "config": cfg.to_json(), "state_dict": {}}, p)
    with pytest.raises(HashhlsError, match="version 99"):
        load_checkpoint(p)


class _Payload:
    """Would create a file (via its __reduce__) if a full unpickler loaded it."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self):
        return (os.mkdir, (self.path,))


class _Custom:
    def __init__(self) -> None:
        self.x = 1


def test_arbitrary_objects_are_refused(tmp_path):
    marker = tmp_path / "created-by-pickle"
    cfg = ModelConfig("mnist-mlp", compression=8)
    p = tmp_path / "evil.pt"
    torch.save({"format": FORMAT, "version": 1, "config": cfg.to_json(), "metrics": "{}",
                "state_dict": build_model(cfg).state_dict(), "extra": _Payload(str(marker))}, p)
    with pytest.raises(HashhlsError, match="refused") as e:
        load_checkpoint(p)
    assert "\n" not in str(e.value)
    assert not marker.exists()
    torch.save({"format": FORMAT, "obj": _Custom()}, p)
    with pytest.raises(HashhlsError, match="refused"):
        load_checkpoint(p)


def test_payload_is_live_when_unpickled_unsafely(tmp_path):
    """Shows the refusal test above is meaningful: weights_only=False would run the payload."""
    marker = tmp_path / "created-by-pickle"
    p = tmp_path / "evil.pt"
    torch.save({"extra": _Payload(str(marker))}, p)
    torch.load(p, weights_only=False)
    assert marker.exists()


def test_save_refuses_missing_dir_and_unserialisable_metrics(tmp_path):
    cfg = ModelConfig("mnist-mlp", compression=8)
    model = build_model(cfg)
    with pytest.raises(HashhlsError, match="does not exist"):
        save_checkpoint(tmp_path / "no" / "m.pt", model, cfg)
    with pytest.raises(HashhlsError, match="JSON"):
        save_checkpoint(tmp_path / "m.pt", model, cfg, {"x": object()})
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("config", ['["mnist-mlp", 8, 0]', '{"compression": 8, "seed": 0}', '{"name": 3}',
                                    '{"name": "mnist-mlp", "compression": "8", "seed": 0}',
                                    '{"name": "mnist-mlp", "compression": 8, "seed": 0, "gi": [1]}',
                                    '{"name": "mnist-mlp", "compression": 8, "seed": 0, "gi_layers": "0"}', '7'])
def test_a_config_of_the_wrong_shape_is_an_invalid_file(tmp_path, config):
    from hashhls.core.errors import InvalidFileError

    cfg = ModelConfig("mnist-mlp", 8.0, 0)
    path = save_checkpoint(tmp_path / "m.pt", build_model(cfg), cfg)
    payload = torch.load(path, weights_only=True)
    payload["config"] = config
    torch.save(payload, path)
    with pytest.raises(InvalidFileError, match="invalid model config"):
        load_checkpoint(path)
