"""The AutoAttack-style ensemble (APGD-CE, APGD-DLR, Square from ART): first success per input, at least as
strong as the project's PGD and as ART's own AutoAttack on the same model, DLR's scale invariance, the CLI."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch
from torch import nn

from hashhls.adversarial.attacks import FixedPointTwin, make_attack
from hashhls.adversarial.attacks.autoattack import STAGES
from hashhls.core.errors import HashhlsError
from hashhls.frontend.checkpoint import load_checkpoint
from hashhls.frontend.datasets import load_mnist
from hashhls.frontend.zoo import default_checkpoint

EPS = 0.05  # small enough that not every input falls to the first stage
FAST = dict(steps=10, square_queries=40, batch_size=64)


@pytest.fixture(scope="module")
def model():
    return load_checkpoint(default_checkpoint())[0].eval()


@pytest.fixture(scope="module")
def data():
    x, y = load_mnist(split="test", limit=24)
    return torch.from_numpy(x), torch.from_numpy(y)


def _fooled(model, x_adv, y):
    with torch.no_grad():
        return (model(x_adv).argmax(1) != y).numpy()


def test_ensemble_keeps_the_first_success_within_budget(model, data):
    x, y = data
    atk = make_attack("autoattack", model, eps=EPS, **FAST)
    x_adv = atk(x, y)
    assert (x_adv - x).abs().max() <= EPS + 1e-6 and x_adv.min() >= 0 and x_adv.max() <= 1
    fooled = _fooled(model, x_adv, y)
    clean_wrong = _fooled(model, x, y)
    assert set(atk.stage) <= {"", *STAGES}
    assert np.array_equal(atk.stage != "", fooled & ~clean_wrong)  # a stage is named exactly where it won
    assert np.array_equal(x_adv[atk.stage == ""].numpy()[~fooled[atk.stage == ""]],
                          x[atk.stage == ""].numpy()[~fooled[atk.stage == ""]])  # unbroken inputs left clean
    # later stages only attack what is left: APGD-DLR differentiates at most the inputs APGD-CE did not break
    left = int((~clean_wrong).sum() - (atk.stage == "apgd-ce").sum())
    assert atk.counts["apgd-dlr"]["gradient"] <= left * (FAST["steps"] + 2)
    assert atk.counts["square"]["gradient"] == 0  # Square only queries


@pytest.mark.slow
def test_ensemble_at_least_as_strong_as_pgd_and_art_autoattack(model, data):
    from art.attacks.evasion import AutoAttack as ArtAutoAttack
    from art.attacks.evasion import AutoProjectedGradientDescent, SquareAttack
    from art.estimators.classification import PyTorchClassifier

    x, y = data
    ours = _fooled(model, make_attack("autoattack", model, eps=EPS, **FAST)(x, y), y).mean()
    pgd = _fooled(model, make_attack("pgd", model, eps=EPS, steps=FAST["steps"])(x, y), y).mean()
    clf = PyTorchClassifier(model=model, loss=nn.CrossEntropyLoss(), input_shape=(1, 28, 28), nb_classes=10,
                            clip_values=(0.0, 1.0))
    kw = dict(norm=np.inf, eps=EPS, eps_step=2 * EPS, max_iter=FAST["steps"], nb_random_init=1, batch_size=64,
              verbose=False)
    attacks = [AutoProjectedGradientDescent(clf, loss_type="cross_entropy", **kw),
               AutoProjectedGradientDescent(clf, loss_type="difference_logits_ratio", **kw),
               SquareAttack(clf, norm=np.inf, eps=EPS, max_iter=FAST["square_queries"], p_init=0.8, verbose=False)]
    np.random.seed(0)
    ref = ArtAutoAttack(clf, norm=np.inf, eps=EPS, eps_step=2 * EPS, attacks=attacks, batch_size=64).generate(
        x.numpy(), y=np.eye(10)[y.numpy()])
    art_rate = _fooled(model, torch.from_numpy(ref.astype(np.float32)), y).mean()
    assert 0 < pgd < 1  # the budget leaves room to be stronger
    assert ours >= pgd
    assert ours >= art_rate - 1 / len(y)  # the same three attacks: within one input of ART's AutoAttack


class _Scaled(nn.Module):
    """Logits x 1000: what GI-scale does (x 15) taken further, so that float32 cross-entropy saturates."""

    def __init__(self, model, factor=1000.0):
        super().__init__()
        self.model, self.factor = model, factor

    def forward(self, x):
        return self.model(x) * self.factor


def test_dlr_is_invariant_to_logit_scaling_cross_entropy_is_not(model, data):
    x, y = data
    scaled = _Scaled(model).eval()
    dlr = {m: _fooled(m, make_attack("autoattack", m, eps=EPS, stages=("apgd-dlr",), **FAST)(x, y), y).mean()
           for m in (model, scaled)}
    ce_scaled = _fooled(scaled, make_attack("autoattack", scaled, eps=EPS, stages=("apgd-ce",), **FAST)(x, y),
                        y).mean()
    assert dlr[scaled] >= dlr[model] - 2 / len(y)  # same iterates up to float rounding
    assert dlr[scaled] > ce_scaled  # the saturated softmax masks the CE gradient


def test_ensemble_on_the_fixed_point_twin(model, data):
    x, y = data[0][:8], data[1][:8]
    twin = FixedPointTwin(model).eval()
    atk = make_attack("autoattack", twin, eps=0.1, stages=("apgd-ce", "apgd-dlr"), steps=5, batch_size=8)
    x_adv = atk(x, y)
    assert (x_adv - x).abs().max() <= 0.1 + 1e-6
    assert _fooled(twin, x_adv, y).mean() >= 0.5


def test_bad_parameters(model):
    for kw in ({"eps": 0}, {"eps": 1.5}, {"steps": 0}, {"stages": ("fab",)}, {"square_queries": 0}):
        with pytest.raises(HashhlsError):
            make_attack("autoattack", model, **kw)
    with pytest.raises(HashhlsError):
        make_attack("autoattack", model, target_mode="random")


@pytest.mark.slow
def test_cli_autoattack(tmp_path):
    out = tmp_path / "adv.npz"
    res = subprocess.run([sys.executable, "-m", "hashhls.cli.main", "attack", "--attack", "autoattack", "--eps", "0.1",
                          "-n", "6", "--steps", "5", "-o", str(out), "--no-progress"], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert "autoattack eps=0.1" in res.stdout and out.is_file()
