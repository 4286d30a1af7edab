"""GI as its public code does it: ``W += eps * W`` (mode mult) on chosen layers, ``W += 20 * sign(W)`` on all,
negative layer indices; the CLI on the bundled MLP."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
import torch

from hashhls.frontend.checkpoint import load_checkpoint
from hashhls.frontend.gi import GIConfig, GIMode, apply_gi, fold_gi, weight_layers
from hashhls.frontend.zoo import ModelConfig, build_model, default_checkpoint


@pytest.mark.parametrize("compression", [8.0, 1.0])
def test_mult_scales_the_chosen_weights_not_the_biases(compression):
    torch.manual_seed(0)
    model = build_model(ModelConfig("mnist-mlp", compression=compression)).eval()
    gi = apply_gi(model, GIConfig.parse("mult:20"), layers=[2])
    for i, (b, a) in enumerate(zip(weight_layers(model), weight_layers(gi))):
        torch.testing.assert_close(a.weight.detach(), b.weight.detach() * (21.0 if i == 2 else 1.0), rtol=1e-6,
                                   atol=0)
        torch.testing.assert_close(a.bias.detach(), b.bias.detach(), rtol=0, atol=0)
    x = torch.rand(4, 1, 28, 28, generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(fold_gi(gi)(x), gi(x), rtol=1e-5, atol=1e-4)
    assert GIConfig.parse("mult").eps == 20.0 and GIMode.MULT.acts_on_weights and not GIMode.SCALE.acts_on_weights
    assert ModelConfig("mnist-mlp", 8.0, 0, GIConfig.parse("mult:20"), [2]).gi_layers == [2]


def _gi(tmp_path, *args):
    return subprocess.run([sys.executable, "-m", "hashhls.cli.main", "gi", str(default_checkpoint()), *args,
                           "-o", "gi.pt"], capture_output=True, text=True, cwd=tmp_path)


def test_public_code_settings_on_the_bundled_mlp(tmp_path):
    """The public code's 'original' (sign:20, all layers) wrecks the MLP; 'modified' (mult:20, last) keeps it."""
    accs = {}
    for name, args in {"original": ["--mode", "sign", "--eps", "20"],
                       "modified": ["--mode", "mult", "--eps", "20", "--layers", "-1"]}.items():
        proc = _gi(tmp_path, *args)
        assert proc.returncode == 0, proc.stderr
        before = float(re.search(r"before GI: (\d+\.\d\d)%", proc.stdout).group(1))
        accs[name] = float(re.search(r"after GI \(\w+:20\): (\d+\.\d\d)%", proc.stdout).group(1))
        _, cfg = load_checkpoint(tmp_path / "gi.pt")
        assert cfg.gi_layers == (None if name == "original" else [2])  # -1: the last of three weight layers
        (tmp_path / "gi.pt").unlink()
    assert accs["original"] < before - 15  # far from a "marginal accuracy loss"
    assert accs["modified"] > before - 5 and accs["modified"] < before  # W*21 but not the bias: argmax moves


def test_bad_layer_index_is_a_one_line_error(tmp_path):
    proc = _gi(tmp_path, "--mode", "mult", "--eps", "20", "--layers", "-4")
    assert proc.returncode == 2 and proc.stderr.startswith("hashhls: error: ")
    assert len(proc.stderr.strip().splitlines()) == 1 and not (tmp_path / "gi.pt").exists()
