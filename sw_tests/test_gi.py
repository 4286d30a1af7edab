"""Gradient inhibition on zoo models: the transform, folding, and checkpoint round trip."""

from __future__ import annotations

import pytest
import torch
from hashhls.frontend.checkpoint import load_checkpoint, save_checkpoint
from hashhls.frontend.gi import GIConfig, GIScale, apply_gi, fold_gi, has_gi, weight_layers
from hashhls.frontend.zoo import ModelConfig, build_model


def _model(name="mnist-mlp", compression=8.0, seed=0):
    torch.manual_seed(seed)
    cfg = ModelConfig(name, compression=compression, seed=seed)
    return build_model(cfg).eval(), cfg


def _x(cfg, n=5):
    return torch.rand(n, *cfg.input_shape, generator=torch.Generator().manual_seed(1))


@pytest.mark.parametrize("compression", [8.0, 1.0])
def test_sign_changes_weights_by_eps_sign(compression):
    model, _ = _model(compression=compression)
    eps = 0.1
    gi = apply_gi(model, GIConfig.parse(f"sign:{eps}"), layers=[0, 2])
    before, after = weight_layers(model), weight_layers(gi)
    for i, (b, a) in enumerate(zip(before, after)):
        w0 = b.weight.detach()
        expect = w0 + eps * torch.sign(w0) if i in (0, 2) else w0
        torch.testing.assert_close(a.weight.detach(), expect, rtol=0, atol=0)
        if i in (0, 2):
            assert (a.weight.detach() - w0).abs().min() > eps - 1e-6  # every weight moved (none is exactly 0)
    # The original model is untouched.
    assert not has_gi(model) and has_gi(gi)
    if compression > 1:  # on a hashed layer it acts on the virtual weights as sign(s*w) = s*sign(w)
        v0, v1 = before[0].virtual_weight().detach(), after[0].virtual_weight().detach()
        torch.testing.assert_close(v1, v0 + eps * torch.sign(v0), rtol=0, atol=1e-7)


@pytest.mark.parametrize("name", ["mnist-mlp", "lenet5"])
def test_scale_multiplies_logits(name):
    model, cfg = _model(name)
    eps = 15.0
    gi = apply_gi(model, GIConfig.parse(f"scale:{eps}"))
    assert isinstance(gi[-1], GIScale)
    x = _x(cfg)
    torch.testing.assert_close(gi(x), model(x) * (1 + eps))


@pytest.mark.parametrize("setting,layers", [("sign:0.1", None), ("sign:0.05", [1]), ("scale:12", None)])
@pytest.mark.parametrize("compression", [8.0, 1.0])
def test_fold_is_equivalent(setting, layers, compression):
    model, cfg = _model(compression=compression)
    gi = apply_gi(model, GIConfig.parse(setting), layers)
    folded = fold_gi(gi)
    assert not has_gi(folded)
    assert not any(isinstance(m, GIScale) for m in folded)
    x = _x(cfg)
    torch.testing.assert_close(folded(x), gi(x), rtol=1e-5, atol=1e-5)
    # and folding really changed the plain weights relative to the GI-free model
    assert not torch.allclose(folded(x), model(x))


@pytest.mark.parametrize("setting,layers", [("sign:0.1", None), ("sign:0.1", [0, 2]), ("scale:15", None)])
def test_gi_checkpoint_round_trip(tmp_path, setting, layers):
    model, cfg = _model(compression=8, seed=2)
    gi_cfg = ModelConfig(cfg.name, cfg.compression, cfg.seed, GIConfig.parse(setting), layers)
    gi_model = apply_gi(model, gi_cfg.gi, layers)
    path = save_checkpoint(tmp_path / "gi.pt", gi_model, gi_cfg)
    loaded, cfg2 = load_checkpoint(path)  # strict load into build_model(cfg2)
    assert cfg2 == gi_cfg and has_gi(loaded)
    x = _x(cfg)
    torch.testing.assert_close(loaded(x), gi_model(x), rtol=0, atol=0)
    assert not torch.allclose(loaded(x), model(x))


def test_gi_model_from_config_trains_with_gi():
    cfg = ModelConfig("mnist-mlp", compression=8, gi=GIConfig.parse("sign:0.1"))
    model = build_model(cfg)
    assert has_gi(model)
    out = model(torch.rand(4, 1, 28, 28)).sum()
    out.backward()
    # gradient reaches the stored bucket weights through the parametrization
    assert model[1].parametrizations.weight.original.grad.abs().sum() > 0


# --- `hashhls gi` command line ------------------------------------------------------------------

def _hashhls(*args, cwd):
    import subprocess
    import sys

    return subprocess.run([sys.executable, "-m", "hashhls", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300, check=False)


def _accuracies(stdout: str) -> tuple[float, float]:
    import re

    before = re.search(r"test accuracy before GI: (\d+\.\d\d)% \(official MNIST test set, 10000 images\)", stdout)
    after = re.search(r"test accuracy after GI \(\w+:[\d.]+\): (\d+\.\d\d)%", stdout)
    assert before and after, stdout
    return float(before.group(1)), float(after.group(1))


def test_gi_cli_sign_on_bundled_checkpoint(tmp_path):
    from hashhls.frontend.datasets import load_mnist
    from hashhls.frontend.train import evaluate
    from hashhls.frontend.zoo import default_checkpoint

    proc = _hashhls("gi", str(default_checkpoint()), "--mode", "sign", "--eps", "0.01", "--layers", "0,2",
                    "-o", "gi.pt", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    before, after = _accuracies(proc.stdout)
    base, _ = load_checkpoint(default_checkpoint())
    x, y = load_mnist(split="test")
    assert before == pytest.approx(100 * evaluate(base, x, y), abs=0.005)
    gi, cfg = load_checkpoint(tmp_path / "gi.pt")
    assert cfg.gi == GIConfig.parse("sign:0.01") and cfg.gi_layers == [0, 2]
    assert after == pytest.approx(100 * evaluate(gi, x, y), abs=0.005)
    expect = apply_gi(base, cfg.gi, [0, 2])
    xb = torch.from_numpy(x[:50])
    torch.testing.assert_close(gi(xb), expect(xb), rtol=0, atol=0)
    # GI applied on the command line folds like any GI model
    torch.testing.assert_close(fold_gi(gi)(xb), gi(xb), rtol=1e-5, atol=1e-5)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gi.pt"]


def test_gi_cli_scale_keeps_accuracy(tmp_path):
    from hashhls.frontend.zoo import default_checkpoint

    proc = _hashhls("gi", str(default_checkpoint()), "--mode", "scale", "--eps", "15", "-o", "s.pt", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    before, after = _accuracies(proc.stdout)
    assert before == after  # a positive scale of the logits does not change the arg-max
    model, _ = load_checkpoint(tmp_path / "s.pt")
    assert isinstance(model[-1], GIScale) and model[-1].factor == 16.0
    # applying GI twice is refused, in one line, without output
    proc = _hashhls("gi", "s.pt", "--mode", "sign", "--eps", "0.1", "-o", "twice.pt", cwd=tmp_path)
    _assert_one_line_error(proc, "already has gradient inhibition")
    assert not (tmp_path / "twice.pt").exists()


def _assert_one_line_error(proc, *fragments):
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("hashhls: error: "), proc.stderr
    for f in fragments:
        assert f in lines[0], lines[0]


@pytest.mark.parametrize("case", ["layers", "eps", "corrupt", "layers-scale"])
def test_gi_cli_bad_input(tmp_path, case):
    from hashhls.frontend.zoo import default_checkpoint

    ckpt = str(default_checkpoint())
    args = {"layers": ["--mode", "sign", "--eps", "0.1", "--layers", "0,3"],
            "eps": ["--mode", "sign", "--eps", "-1"],
            "corrupt": ["--mode", "sign", "--eps", "0.1"],
            "layers-scale": ["--mode", "scale", "--eps", "10", "--layers", "0"]}[case]
    if case == "corrupt":
        (tmp_path / "bad.pt").write_bytes(default_checkpoint().read_bytes()[:5000])
        ckpt = "bad.pt"
    expect = {"layers": "GI layer index 3 out of range", "eps": "eps must be > 0",
              "corrupt": "corrupted", "layers-scale": "--layers only applies to --mode sign"}[case]
    before = {p.name for p in tmp_path.iterdir()}
    proc = _hashhls("gi", ckpt, *args, "-o", "out.pt", cwd=tmp_path)
    _assert_one_line_error(proc, expect)
    assert {p.name for p in tmp_path.iterdir()} == before
