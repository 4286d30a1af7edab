"""PGD adversarial training (hashhls train --adversarial pgd:EPS[,STEPS[,WARMUP]]): the crafting is the project's PGD,
it makes a hashed model more robust than the same training without it, bad settings are one-line errors."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch

from hashhls.adversarial.attacks import make_attack
from hashhls.core.errors import HashhlsError, UsageError
from hashhls.frontend.adversarial_training import AdversarialTraining
from hashhls.frontend.checkpoint import checkpoint_metrics, load_checkpoint
from hashhls.frontend.datasets import load_mnist
from hashhls.frontend.train import train_model
from hashhls.frontend.zoo import ModelConfig, default_checkpoint


def test_training_pgd_is_the_attack_pgd():
    model, _ = load_checkpoint(default_checkpoint())  # hashed 1/8: gradients through the hashed layers
    x, y = (torch.from_numpy(a) for a in load_mnist(split="test", limit=16))
    adv = AdversarialTraining.parse("pgd:0.1,5")
    ours = adv.perturb(model, x, y, torch.Generator().manual_seed(7))
    ref = make_attack("pgd", model, eps=0.1, steps=5, seed=7)(x, y)
    torch.testing.assert_close(ours, ref, rtol=0, atol=0)
    assert not any(p.grad is not None for p in model.parameters())


def _robust_accuracy(model, x, y, eps=0.1):
    x_adv = make_attack("pgd", model, eps=eps, steps=10)(x, y)
    with torch.no_grad():
        return (model(x_adv).argmax(1) == y).float().mean().item()


@pytest.mark.slow
def test_adversarial_training_makes_a_hashed_model_more_robust():
    train = load_mnist(split="train", limit=2000)
    xt, yt = (torch.from_numpy(a) for a in load_mnist(split="test", limit=200))
    cfg = ModelConfig("mnist-mlp", compression=8.0)
    kw = dict(epochs=4, batch_size=64, lr=2e-3, augment=False, progress=False)
    plain, _ = train_model(cfg, train, **kw)
    robust, metrics = train_model(cfg, train, adversarial=AdversarialTraining(0.1, 5), **kw)
    assert metrics["adversarial"] == {"attack": "pgd", "eps": 0.1, "steps": 5}
    assert _robust_accuracy(robust, xt, yt) > _robust_accuracy(plain, xt, yt) + 0.2


def test_warmup_ramps_the_budget_per_batch(monkeypatch):
    adv = AdversarialTraining.parse("pgd:0.3,2,2")
    assert (adv.eps, adv.steps, adv.warmup) == (0.3, 2, 2)
    assert [adv.eps_at(e) for e in (0, 0.5, 1, 2, 3)] == pytest.approx([0, 0.075, 0.15, 0.3, 0.3])
    seen = []
    real = AdversarialTraining.perturb

    def spy(self, model, x, y, generator, eps=None):
        seen.append(eps)
        out = real(self, model, x, y, generator, eps=eps)
        assert (out - x).abs().max() <= eps + 1e-6  # the budget of this batch, not the full one
        return out

    monkeypatch.setattr(AdversarialTraining, "perturb", spy)
    train = load_mnist(split="train", limit=256)
    _, metrics = train_model(ModelConfig("mnist-mlp", compression=64.0), train, epochs=3, batch_size=64,
                             augment=False, progress=False, adversarial=adv)
    # 4 batches per epoch: 0, 1/4, ..., 7/4 of the way through epochs 0-1, then the full budget
    assert seen == pytest.approx([0.3 * min(1, (i / 4) / 2) for i in range(12)])
    assert metrics["adversarial"] == {"attack": "pgd", "eps": 0.3, "steps": 2, "warmup_epochs": 2}
    with pytest.raises(HashhlsError, match="warm-up"):
        train_model(ModelConfig("mnist-mlp", compression=64.0), train, epochs=1, progress=False, adversarial=adv)


@pytest.mark.parametrize("text", ["pgd:0", "pgd:1.5", "pgd:-0.1", "fgsm:0.1", "pgd:0.1,0", "pgd", "pgd:x",
                                  "pgd:0.1,5,-1", "pgd:0.1,5,x", "pgd:0.1,5,1,2"])
def test_bad_settings(text):
    with pytest.raises(UsageError):
        AdversarialTraining.parse(text)


def _train(tmp_path, *args):
    return subprocess.run([sys.executable, "-m", "hashhls.cli.main", "train", "--model", "mnist-mlp",
                           "--compression", "64", "--epochs", "1", "--limit", "128", *args, "-o", "m.pt"],
                          capture_output=True, text=True, cwd=tmp_path)


@pytest.mark.parametrize("text", ["pgd:0", "pgd:1.01", "pgd:0.1,0"])
def test_cli_bad_eps_is_a_one_line_error_and_writes_nothing(tmp_path, text):
    proc = _train(tmp_path, "--adversarial", text)
    assert proc.returncode == 2
    assert proc.stderr.startswith("hashhls: error: ") and len(proc.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "m.pt").exists()


def test_cli_records_the_setting(tmp_path):
    proc = _train(tmp_path, "--adversarial", "pgd:0.3,2")
    assert proc.returncode == 0, proc.stderr
    assert checkpoint_metrics(tmp_path / "m.pt")["adversarial"] == {"attack": "pgd", "eps": 0.3, "steps": 2}
