"""Attacks: agreement with ART, real success over a noise baseline, budgets, targets, the twin, the CLI."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch

from hashhls.core.errors import HashhlsError
from hashhls.adversarial.attacks import ATTACKS, FixedPointTwin, make_attack
from hashhls.adversarial.craft import dense_copy
from hashhls.frontend.checkpoint import load_checkpoint
from hashhls.frontend.datasets import load_mnist
from hashhls.frontend.zoo import default_checkpoint


@pytest.fixture(scope="module")
def model():
    m, _ = load_checkpoint(default_checkpoint())
    return m.eval()


@pytest.fixture(scope="module")
def data(model):
    x, y = load_mnist(split="test", limit=120)
    x, y = torch.from_numpy(x), torch.from_numpy(y)
    with torch.no_grad():
        ok = model(x).argmax(1) == y  # attack only what the model gets right
    return x[ok][:100], y[ok][:100]


def _success(model, x_adv, y):
    with torch.no_grad():
        return (model(x_adv).argmax(1) != y).float().mean().item()


def _art_classifier(model):
    art = pytest.importorskip("art.estimators.classification")
    return art.PyTorchClassifier(model=model, loss=torch.nn.CrossEntropyLoss(), input_shape=(1, 28, 28),
                                 nb_classes=10, clip_values=(0.0, 1.0))


def test_fgsm_agrees_with_art(model, data):
    from art.attacks.evasion import FastGradientMethod

    x, y = data
    ours = make_attack("fgsm", model, eps=0.1)(x, y).numpy()
    ref = FastGradientMethod(_art_classifier(model), eps=0.1).generate(x.numpy(), y=np.eye(10)[y.numpy()])
    np.testing.assert_allclose(ours, ref, atol=1e-6)


def test_bim_agrees_with_art_pgd_without_random_start(model, data):
    from art.attacks.evasion import ProjectedGradientDescent

    x, y = data
    ours = make_attack("bim", model, eps=0.1, alpha=0.02, steps=10)(x, y).numpy()
    ref = ProjectedGradientDescent(_art_classifier(model), eps=0.1, eps_step=0.02, max_iter=10, num_random_init=0,
                                   verbose=False).generate(x.numpy(), y=np.eye(10)[y.numpy()])
    # Identical steps; a pixel may differ by float rounding at the eps-ball boundary.
    assert np.mean(np.abs(ours - ref) > 1e-5) < 1e-3


@pytest.mark.parametrize("name,kw", [("fgsm", {"eps": 0.1}), ("bim", {"eps": 0.1}), ("pgd", {"eps": 0.1}),
                                     ("cw", {"steps": 30, "search_steps": 3}), ("deepfool", {}), ("jsma", {})])
def test_each_attack_beats_random_noise_of_the_same_size(model, data, name, kw):
    x, y = data
    x_adv = make_attack(name, model, **kw)(x, y)
    assert x_adv.min() >= 0 and x_adv.max() <= 1
    d = x_adv - x
    g = torch.Generator().manual_seed(0)
    noise = torch.sign(torch.randn(x.shape, generator=g))
    # Noise with each input's own L2 norm (and L-inf for the eps attacks): same size, no direction.
    norms = d.flatten(1).norm(dim=1).view(-1, 1, 1, 1)
    x_noise = torch.clamp(x + noise / noise.flatten(1).norm(dim=1).view(-1, 1, 1, 1) * norms, 0, 1)
    if "eps" in kw:
        assert d.abs().max() <= kw["eps"] + 1e-6
        x_noise = torch.clamp(x + kw["eps"] * noise, 0, 1)
    s_atk, s_noise = _success(model, x_adv, y), _success(model, x_noise, y)
    assert s_atk >= s_noise + 0.25, (s_atk, s_noise)


def _l2(x_adv, x):
    return (x_adv - x).flatten(1).norm(dim=1)


def test_cw_finds_small_l2_examples_for_nearly_every_input(model, data):
    # Untargeted CW-L2 with a binary search over c should fool a plain MLP on ~every input it gets right,
    # at an L2 about that of DeepFool (a minimal-perturbation attack) and far below FGSM's. A CW whose
    # optimiser cannot move the background pixels (tanh change of variables started at atanh(+-(1-1e-6)))
    # only darkens strokes: ~94% success at a mean L2 of ~1.8, against FGSM's ~2.1 (the paper table's budget).
    x, y = data[0][:50], data[1][:50]
    x_adv = make_attack("cw", model, steps=30, search_steps=3)(x, y)
    with torch.no_grad():
        won = model(x_adv).argmax(1) != y
    assert won.float().mean().item() >= 0.9
    l2_cw = _l2(x_adv, x)[won].mean().item()
    l2_fgsm = _l2(make_attack("fgsm", model, eps=0.1)(x, y), x).mean().item()
    l2_deepfool = _l2(make_attack("deepfool", model)(x, y), x).mean().item()
    assert l2_cw < 0.5 * l2_fgsm, (l2_cw, l2_fgsm)
    assert l2_cw < 1.25 * l2_deepfool, (l2_cw, l2_deepfool)
    # background pixels (exactly 0 in MNIST) are part of the search space
    background = x == 0
    assert ((x_adv - x).abs()[background] > 0.01).float().mean().item() > 0.05


def test_cw_targeted_reaches_the_target(model, data):
    x, y = data[0][:30], data[1][:30]
    atk = make_attack("cw", model, steps=30, search_steps=3, target_mode="random", seed=1)
    target = atk.resolve_targets(x, y, None)
    x_adv = atk(x, y)
    with torch.no_grad():
        hit = (model(x_adv).argmax(1) == target).float().mean().item()
    assert hit >= 0.9
    assert x_adv.min() >= 0 and x_adv.max() <= 1


def test_cw_kappa_is_the_confidence_of_what_it_returns(model, data):
    # C&W's kappa: an example counts only once the logit margin is below -kappa, so every returned
    # adversarial input (they differ from x) is misclassified by at least kappa.
    x, y = data[0][:30], data[1][:30]
    x_adv = make_attack("cw", model, kappa=1.0, steps=30, search_steps=3)(x, y)
    changed = _l2(x_adv, x) > 0
    assert changed.float().mean().item() >= 0.9
    with torch.no_grad():
        z = model(x_adv[changed])
    own = z.gather(1, y[changed].view(-1, 1)).squeeze(1)
    other = z.scatter(1, y[changed].view(-1, 1), float("-inf")).max(1).values
    assert (other - own >= 1.0).all(), (other - own).min()
    for bad in ({"kappa": -1}, {"steps": 0}, {"search_steps": 0}, {"lr": 0}):
        with pytest.raises(HashhlsError, match="cw"):
            make_attack("cw", model, **bad)


@pytest.mark.parametrize("name", ["fgsm", "bim", "pgd", "cw", "deepfool", "jsma"])
def test_white_box_attacks_leave_the_model_untouched(name):
    m, _ = load_checkpoint(default_checkpoint())
    m.train()
    before = {k: v.clone() for k, v in m.state_dict().items() if isinstance(v, torch.Tensor)}
    x, y = load_mnist(split="test", limit=8)
    make_attack(name, m, **({"steps": 3, "search_steps": 1} if name == "cw" else {}))(torch.from_numpy(x),
                                                                                     torch.from_numpy(y))
    assert m.training  # mode restored
    assert all(p.grad is None for p in m.parameters())  # no gradients accumulated into the weights
    after = m.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)


@pytest.mark.slow
def test_cw_is_at_least_as_strong_as_art(model, data):
    from art.attacks.evasion import CarliniL2Method

    x, y = data[0][:10], data[1][:10]
    ours = make_attack("cw", model, steps=10, search_steps=3)(x, y)
    ref = torch.from_numpy(CarliniL2Method(_art_classifier(model), confidence=0.0, max_iter=10, binary_search_steps=3,
                                           initial_const=1.0, learning_rate=0.01, batch_size=10,
                                           verbose=False).generate(x.numpy()))
    with torch.no_grad():
        won_ours, won_ref = model(ours).argmax(1) != y, model(ref).argmax(1) != y
    assert won_ours.sum() >= won_ref.sum()
    both = won_ours & won_ref
    assert both.sum() >= 5
    # same iteration budget: our minimal perturbations are no larger than the reference's
    assert _l2(ours, x)[both].mean() <= _l2(ref, x)[both].mean()


def test_targeted_pgd_reaches_the_target(model, data):
    x, y = data
    atk = make_attack("pgd", model, eps=0.2, steps=20, target_mode="random", seed=1)
    target = atk.resolve_targets(x, y, None)
    assert (target != y).all()
    with torch.no_grad():
        hit = (model(atk(x, y)).argmax(1) == target).float().mean().item()
    assert hit > 0.7


def test_random_targets_follow_the_sample_not_the_batch(model, data):
    """Before: each batch of ``batch_size`` restarted the generator, so samples i and i + batch_size shared a target
    offset. Now the targets are a function of the seed and the sample's index alone."""
    from hashhls.adversarial.craft import craft

    x, y = data[0][:40].numpy(), data[1][:40].numpy()

    def targets(batch_size, seed):
        adv = craft("fgsm", model, x, y, [0.05], batch_size=batch_size, progress=False, target_mode="random",
                    seed=seed)
        return adv.target_labels

    t = targets(20, 3)
    assert (t != y).all() and t.shape == y.shape
    offsets = (t - y) % 10
    assert not np.array_equal(offsets[:20], offsets[20:])  # batch 2 does not repeat batch 1
    assert np.array_equal(targets(40, 3), t) and np.array_equal(targets(7, 3), t)  # the batch size is irrelevant
    assert not np.array_equal(targets(20, 4), t)  # the seed is not
    assert len(set(offsets.tolist())) > 3  # spread over the other classes


def test_square_is_query_only_and_counts_queries(model, data):
    x, y = data[0][:30], data[1][:30]
    calls = []

    def predict(a: np.ndarray) -> np.ndarray:  # numpy in, scores out: nothing else is available
        calls.append(len(a))
        with torch.no_grad():
            return model(torch.from_numpy(a)).numpy()

    atk = make_attack("square", predict, eps=0.15, max_queries=200)
    x_adv = atk(x, y)
    assert (x_adv - x).abs().max() <= 0.15 + 1e-6
    assert _success(model, x_adv, y) > 0.3
    assert atk.queries.min() >= 1 and atk.queries.max() <= 200
    assert sum(calls) == atk.queries.sum() + 0  # every image query is one row of one call


def test_fixed_point_twin_is_bit_exact_with_the_emulator(tmp_path, model, data):
    from hashhls.codegen.emulator import Emulator
    from hashhls.codegen.project import BuildConfig, build

    build(BuildConfig(output_dir=tmp_path / "b", model=None, compile_csim=False, progress=False))
    x = data[0]
    np.testing.assert_array_equal(FixedPointTwin(model)(x).detach().double().numpy(),
                                  Emulator.from_build(tmp_path / "b").predict(x.numpy()))
    # and its gradient is usable (straight-through), so gradient attacks can run on it
    assert _success(FixedPointTwin(model), make_attack("fgsm", FixedPointTwin(model), eps=0.1)(*data), data[1]) > 0.5


def test_dense_copy_computes_the_same_function(model, data):
    with torch.no_grad():
        torch.testing.assert_close(dense_copy(model)(data[0]), model(data[0]), rtol=1e-5, atol=1e-5)


def test_crafting_on_dense_from_a_build(tmp_path, model, data):
    # The build's model is its ONNX loaded back (not a zoo nn.Sequential), as in `hashhls attack --build B
    # --on dense` and the sweep's craft stage: the dense materialisation of it is what FGSM differentiates.
    import hashhls
    from hashhls.adversarial.attacks import FGSM
    from hashhls.codegen.project import BuildConfig, build

    build(BuildConfig(output_dir=tmp_path / "b", model=None, compile_csim=False, progress=False))
    x, y = data[0][:40].numpy(), data[1][:40].numpy()
    adv = hashhls.attack(None, "fgsm", 0.1, on="dense", build=tmp_path / "b", x=x, y=y)
    assert adv.crafted_on == "dense"
    np.testing.assert_allclose(adv.x_adv[0], FGSM(dense_copy(model), eps=0.1)(data[0][:40], data[1][:40]).numpy(),
                               atol=1e-6)


def test_registry_and_bad_arguments(model):
    assert set(ATTACKS) == {"fgsm", "bim", "pgd", "cw", "deepfool", "jsma", "square", "autoattack"}
    with pytest.raises(HashhlsError, match="unknown attack"):
        make_attack("nope", model)
    for eps in (0, -0.1, 1.5):
        with pytest.raises(HashhlsError, match="eps"):
            make_attack("fgsm", model, eps=eps)
    with pytest.raises(HashhlsError, match="targeted"):
        make_attack("deepfool", model, target_mode="random")


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "hashhls", *map(str, args)], capture_output=True, text=True)


def test_cli_attack_writes_what_replay_reads(tmp_path):
    from hashhls.adversarial.replay import AdvSet

    out = tmp_path / "adv.npz"
    r = _cli("attack", "--attack", "fgsm", "--eps", "0.05,0.1", "-n", "40", "-o", out)
    assert r.returncode == 0, r.stderr
    adv = AdvSet.load(out, input_shape=(1, 28, 28))
    assert adv.x_adv.shape == (2, 40, 1, 28, 28) and adv.eps.tolist() == [0.05, 0.1]
    assert adv.crafted_on == "hashed" and adv.attack == "fgsm"
    # provenance: the model's identity (the same as its build's), what ran, on what, by which hashhls
    from hashhls.codegen.identity import identity_of_checkpoint
    from hashhls.core.version import __version__

    p = adv.provenance
    assert p.model.fingerprint == identity_of_checkpoint(default_checkpoint()).fingerprint
    assert p.model.name == "mnist-mlp" and p.model.compression == 8 and p.model.gi is None
    assert p.model.file_sha256 == __import__("hashlib").sha256(default_checkpoint().read_bytes()).hexdigest()
    assert (p.attack, p.crafted_on, p.eps, p.seed, p.target_mode) == ("fgsm", "hashed", [0.05, 0.1], 0, "untargeted")
    assert p.data == {"dataset": "mnist", "split": "test", "first": 40, "root": "bundled"}
    assert p.hashhls_version == __version__ and p.build_id is None


def test_targeted_attack_stores_its_targets_and_prints_the_targeted_rate(tmp_path, model):
    """Before: craft() dropped the targets and 'hashhls attack' printed its untargeted rate."""
    import re

    from hashhls.adversarial.replay import AdvSet, success_mask

    out = tmp_path / "t.npz"
    r = _cli("attack", "--attack", "pgd", "--eps", "0.05", "--steps", "5", "--target-mode", "random", "-n", "60",
             "--no-progress", "-o", out)
    assert r.returncode == 0, r.stderr
    adv = AdvSet.load(out)
    assert adv.target_labels is not None and (adv.target_labels != adv.y).all()
    assert adv.provenance.target_mode == "random"
    with torch.no_grad():
        pc = model(torch.from_numpy(adv.x_clean)).argmax(1).numpy()
        pa = model(torch.from_numpy(adv.x_adv[0])).argmax(1).numpy()
    eligible, hit = success_mask(pc, pa, adv.y, adv.target_labels)
    _, untargeted = success_mask(pc, pa, adv.y)
    assert hit.sum() < untargeted.sum()  # at eps 0.05 many inputs flip, fewer reach a random target
    printed = float(re.search(r"reached the target ([\d.]+)%", r.stdout)[1])
    assert printed == pytest.approx(100 * hit.sum() / eligible.sum(), abs=0.05)


def test_attack_refuses_wrong_files_and_never_overwrites(tmp_path, capsys):
    from hashhls.frontend.onnx_export import export_checkpoint

    onnx_file = tmp_path / "m.onnx"
    export_checkpoint(default_checkpoint(), onnx_file)
    cases = [(["attack", onnx_file, "-n", "4", "-o", tmp_path / "a.npz"], "is an ONNX file, expected a hashhls "
              "checkpoint"),
             (["attack", tmp_path / "nope.npy", "-n", "4", "-o", tmp_path / "a.npz"], "expected a hashhls checkpoint"),
             (["attack", "-n", "4", "-o", tmp_path], "is a directory"),
             (["attack", "-n", "4", "-o", tmp_path / "a.npy"], ".npy"),
             (["attack", "-n", "4", "--build", tmp_path, "-o", tmp_path / "a.npz"], "expected a build directory"),
             (["attack", "--attack", "square", "--on", "csim", "-n", "4", "-o", tmp_path / "a.npz"], "--build"),
             (["attack", "--attack", "pgd", "--on", "csim", "-n", "4", "-o", tmp_path / "a.npz"], "query-only"),
             (["gi", onnx_file, "--mode", "sign", "--eps", "0.1", "-o", tmp_path / "g.pt"], "is an ONNX file")]
    # In-process (hashhls.cli.main, as the console script calls it): a subprocess per case cost ~5 s of imports
    # each. An exception other than a one-line HashhlsError would propagate here and fail the test.
    for args, match in cases:
        code, err = _cli_in_process(capsys, *args)
        assert code == 2 and match in err, (args, err)
        assert err.startswith("hashhls: error: ") and err.count("\n") == 1, err
    assert not (tmp_path / "a.npz").exists() and not (tmp_path / "g.pt").exists()
    (tmp_path / "keep.npz").write_bytes(b"precious")
    r = _cli("attack", "-n", "4", "-o", tmp_path / "keep.npz")  # one real process: the console's exit code
    assert r.returncode == 2 and "exists" in r.stderr and "Traceback" not in r.stderr
    assert (tmp_path / "keep.npz").read_bytes() == b"precious"


def _cli_in_process(capsys, *args) -> tuple[int, str]:
    from hashhls.cli.main import main

    capsys.readouterr()
    try:
        code = main([str(a) for a in args])
    except SystemExit as e:  # argparse's usage errors
        code = e.code
    return code, capsys.readouterr().err


@pytest.mark.parametrize("args,match", [(["--eps", "2"], "eps"), (["--attack", "nope"], "unknown attack"),
                                        (["-n", "0"], "-n")])
def test_cli_attack_bad_input(tmp_path, args, match):
    out = tmp_path / "adv.npz"
    r = _cli("attack", *args, "-o", out)
    assert r.returncode == 2 and match in r.stderr and "Traceback" not in r.stderr
    assert not out.exists()


def test_every_attack_runs_from_the_cli_and_bad_hyperparameters_are_one_line_errors(tmp_path):
    # square is query-only: given a torch model it queries its outputs, so the CLI's --on choices all work
    out = tmp_path / "sq.npz"
    r = _cli("attack", "--attack", "square", "--eps", "0.2", "-n", "8", "--on", "fixed", "-o", out)
    assert r.returncode == 0, r.stderr
    from hashhls.adversarial.replay import AdvSet

    adv = AdvSet.load(out, input_shape=(1, 28, 28))
    assert adv.queries is not None and adv.queries.shape == (1, 8) and (adv.queries >= 1).all()
    assert np.abs(adv.x_adv - adv.x_clean).max() <= 0.2 + 1e-6
    r = _cli("attack", "--attack", "jsma", "--steps", "5", "-n", "4", "-o", tmp_path / "j.npz")
    assert r.returncode == 2 and "attack 'jsma' takes no 'steps'" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "j.npz").exists()
