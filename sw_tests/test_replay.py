"""Replay arithmetic, adversarial-file validation and report writing (no csim needed)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from hashhls.adversarial.replay import AdvSet, replay, success_mask
from hashhls.adversarial.replay import label_results
from hashhls.adversarial.report import transfer_matrix, write_report
from hashhls.core.errors import HashhlsError, InvalidFileError


def test_success_counts_only_inputs_correct_when_clean():
    y = np.array([0, 1, 2, 3, 4])
    clean = np.array([0, 1, 9, 3, 9])  # inputs 2 and 4 wrong when clean: not eligible
    adv = np.array([5, 1, 5, 6, 5])  # 0 and 3 flipped; 2 and 4 "flipped" but ineligible
    eligible, success = success_mask(clean, adv, y)
    assert eligible.tolist() == [True, True, False, True, False]
    assert success.tolist() == [True, False, False, True, False]


def test_targeted_success_needs_the_target_label():
    y = np.array([0, 1, 2])
    clean = np.array([0, 1, 2])
    adv = np.array([7, 8, 2])
    _, success = success_mask(clean, adv, y, target_labels=np.array([7, 7, 7]))
    assert success.tolist() == [True, False, False]


def _adv(tmp_path, **over):
    rng = np.random.default_rng(0)
    data = {"x_clean": rng.random((4, 1, 2, 2), dtype=np.float32), "y": np.array([0, 1, 0, 1]),
            "eps": np.array([0.1, 0.2])}
    data["x_adv"] = np.stack([np.clip(data["x_clean"] + e, 0, 1) for e in (0.1, 0.2)]).astype(np.float32)
    data.update(over)
    path = tmp_path / "adv.npz"
    np.savez(path, **data)
    return path


def test_adv_file_round_trip(tmp_path):
    adv = AdvSet.load(_adv(tmp_path), input_shape=(1, 2, 2))
    assert adv.n == 4 and adv.x_adv.shape == (2, 4, 1, 2, 2)
    assert adv.eps.tolist() == [0.1, 0.2]


@pytest.mark.parametrize("over,match", [
    ({"x_adv": np.zeros((2, 4, 1, 2, 2), np.float64)}, "float32"),
    ({"x_adv": np.full((2, 4, 1, 2, 2), 1.5, np.float32)}, "outside the valid range"),
    ({"x_adv": np.zeros((2, 3, 1, 2, 2), np.float32)}, "shapes do not match"),
    ({"y": np.array([0.0, 1.0, 0.0, 1.0])}, "integer"),
    ({"eps": np.array([0.1])}, "eps values"),
])
def test_bad_adv_files_are_refused(tmp_path, over, match):
    with pytest.raises(HashhlsError, match=match):
        AdvSet.load(_adv(tmp_path, **over))


def test_wrong_input_shape_for_the_build(tmp_path):
    with pytest.raises(HashhlsError, match="expects"):
        AdvSet.load(_adv(tmp_path), input_shape=(1, 28, 28))


def test_not_an_npz(tmp_path):
    p = tmp_path / "x.npz"
    p.write_bytes(b"garbage")
    with pytest.raises(HashhlsError, match="cannot read"):
        AdvSet.load(p)


def _threshold_model(threshold):
    """A "model" that predicts 1 when the mean pixel exceeds a threshold (no torch needed)."""
    return lambda x: (x.reshape(len(x), -1).mean(axis=1) > threshold).astype(np.int64)


def strict_json(text: str):
    """json.loads that rejects NaN and Infinity, as RFC 8259 does (Python's default accepts them)."""
    def refuse(token):
        raise ValueError(f"not strict JSON: {token}")

    return json.loads(text, parse_constant=refuse)


def test_replay_scores_each_target_and_writes_the_report(tmp_path):
    adv = AdvSet.load(_adv(tmp_path))
    thr = float(np.median(adv.x_clean.reshape(4, -1).mean(axis=1)))
    targets = {"hashed float": _threshold_model(thr), "csim": _threshold_model(thr + 10)}  # csim: always class 0
    result = replay(adv, targets, progress=False)
    by = {t.name: t for t in result.targets}
    pc = _threshold_model(thr)(adv.x_clean)
    for i, xa in enumerate(adv.x_adv):
        e, s = success_mask(pc, _threshold_model(thr)(xa), adv.y)
        assert by["hashed float"].eligible[i] == e.sum() and by["hashed float"].successes[i] == s.sum()
    # csim says 0 for everything: clean-correct are the two label-0 inputs, never flipped.
    assert by["csim"].eligible == [2, 2] and by["csim"].successes == [0, 0]
    assert result.linf[0] == pytest.approx(np.abs(adv.x_adv[0] - adv.x_clean).reshape(4, -1).max(1).mean())
    (tmp_path / "r").mkdir()
    files = write_report(tmp_path / "r", [adv], [result])
    for f in files:
        assert f.exists() and f.stat().st_size > 0
    payload = strict_json((tmp_path / "r" / "report.json").read_text())
    assert payload["transfer_matrix"] == transfer_matrix([result])
    assert "csim" in (tmp_path / "r" / "report.md").read_text()


def _set(rng, attack, eps, n=6, target=None, source=""):
    x = rng.random((n, 1, 2, 2), dtype=np.float32)
    e = np.array(eps, dtype=np.float64)
    x_adv = np.stack([np.clip(x + (0.3 if np.isnan(v) else v) * rng.choice([-1, 1], x.shape), 0, 1)
                      for v in e]).astype(np.float32)
    return AdvSet(x, rng.integers(0, 2, n), x_adv, e, attack=attack, crafted_on="hashed", target_labels=target,
                  source=source)


def test_three_files_crafted_on_the_same_model_are_three_rows(tmp_path):
    """Before: rows were keyed by crafted_on, so cw/deepfool/pgd all 'hashed float' kept only the last."""
    rng = np.random.default_rng(1)
    advs = [_set(rng, "cw", [np.nan], source="cw.npz"), _set(rng, "deepfool", [np.nan], source="deepfool.npz"),
            _set(rng, "pgd", [0.05, 0.1], source="pgd.npz")]
    targets = {"hashed float": _threshold_model(0.5), "csim": _threshold_model(0.45)}
    results = [replay(a, targets, progress=False) for a in advs]
    label_results(results)
    matrix = transfer_matrix(results)
    assert len(matrix) == 4  # cw, deepfool, pgd at two budgets
    assert [r.attack for r in results] == ["cw", "deepfool", "pgd"]
    for r, row in zip(results, list(matrix)[:2]):
        assert row.startswith(r.label) and "mean L2" in row  # budget-free rows carry their distortion
    (tmp_path / "r").mkdir()
    write_report(tmp_path / "r", advs, results)
    payload = strict_json((tmp_path / "r" / "report.json").read_text())
    assert len(payload["rows"]) == 4 and len(payload["results"]) == 3
    assert [row["eps"] for row in payload["rows"]] == [None, None, 0.05, 0.1]  # NaN is not JSON
    md = (tmp_path / "r" / "report.md").read_text()
    for row in matrix:
        assert f"| {row} |" in md
    # a budget-free attack is plotted (success vs L2); a sweep gets success vs eps
    assert (tmp_path / "r" / "success_vs_l2.png").is_file() and (tmp_path / "r" / "success_vs_eps.png").is_file()


def test_identical_labels_are_made_unique_by_file_name(tmp_path):
    rng = np.random.default_rng(2)
    advs = [_set(rng, "pgd", [0.1], source="a/pgd.npz"), _set(rng, "pgd", [0.1], source="b/other.npz"),
            _set(rng, "pgd", [0.1], source="")]
    results = [replay(a, {"csim": _threshold_model(0.5)}, progress=False) for a in advs]
    label_results(results)
    assert len({r.label for r in results}) == 3
    assert "pgd.npz" in results[0].label and "other.npz" in results[1].label


def test_success_vs_eps_needs_two_budgets(tmp_path):
    from hashhls.adversarial.report import plot_success_vs_eps

    rng = np.random.default_rng(3)
    one = replay(_set(rng, "fgsm", [0.1]), {"csim": _threshold_model(0.5)}, progress=False)
    assert not plot_success_vs_eps([one], tmp_path / "p.png") and not (tmp_path / "p.png").exists()


def test_targeted_sets_count_reaching_the_target(tmp_path):
    """Before: craft() never stored the targets, so targeted files were scored as untargeted."""
    rng = np.random.default_rng(4)
    adv = _set(rng, "pgd", [0.1], n=8, target=np.full(8, 1))
    adv.y[:] = 0
    csim = lambda x: np.full(len(x), 0) if x is adv.x_clean else np.array([1, 1, 1, 2, 2, 2, 2, 2])  # noqa: E731
    r = replay(adv, {"csim": csim}, progress=False)
    (t,) = r.targets
    assert t.eligible == [8] and t.successes == [3]  # 2 is a misclassification but not the target
    assert r.target_mode == "targeted" and "targeted" in r.label


def test_examples_show_disagreements_and_successes_first(tmp_path):
    from hashhls.adversarial.report import pick_examples

    rng = np.random.default_rng(5)
    adv = _set(rng, "fgsm", [0.1], n=6)
    adv.y[:] = 0
    clean = adv.x_clean
    fl = lambda x: np.zeros(len(x), int) if x is clean else np.array([0, 0, 0, 1, 0, 1])  # noqa: E731
    hw = lambda x: np.zeros(len(x), int) if x is clean else np.array([0, 1, 0, 1, 0, 0])  # noqa: E731
    r = replay(adv, {"hashed float": fl, "csim": hw}, progress=False)
    # 1 and 5: float != csim; 3: csim success (and agreement); then the rest in order
    assert pick_examples(adv, r, 6) == [1, 5, 3, 0, 2, 4]


def test_replay_refuses_examples_from_another_model(tmp_path):
    """Before: LeNet-5 examples replayed on an MLP build read as a white-box result."""
    from hashhls.adversarial.advfile import Provenance
    from hashhls.adversarial.replay import check_model
    from hashhls.codegen.identity import ModelIdentity
    from hashhls.codegen.manifest import BuildManifest

    mlp, lenet = ModelIdentity("a" * 64, name="mnist-mlp", compression=8.0), ModelIdentity("b" * 64, name="lenet5")
    manifest = BuildManifest("none", "Vivado", "io_parallel", 64, [1, 2, 2], 2, "t", "t", [], "x", "", model=mlp)
    adv = _set(np.random.default_rng(6), "pgd", [0.1], source="lenet.npz")
    adv.provenance = Provenance(model=lenet, crafted_on="hashed", attack="pgd")
    with pytest.raises(InvalidFileError, match="allow-other-model"):
        check_model(adv, manifest, "build")
    assert check_model(adv, manifest, "build", allow_other_model=True) == lenet.short
    adv.provenance = Provenance(model=mlp, crafted_on="hashed", attack="pgd")
    assert check_model(adv, manifest, "build") is None
    r = replay(adv, {"csim": _threshold_model(0.5)}, progress=False, transfer_from=lenet.short)
    assert r.label.startswith(f"transfer from {lenet.short}")


def test_examples_show_both_kinds_when_disagreements_abound():
    """Before: 19 float-vs-csim disagreements filled all 8 panels and no csim success was shown."""
    from hashhls.adversarial.report import pick_examples

    rng = np.random.default_rng(6)
    adv = _set(rng, "fgsm", [0.1], n=12)
    adv.y[:] = 0
    clean = adv.x_clean
    fl = lambda x: np.zeros(len(x), int) if x is clean else np.array([1] * 8 + [0, 1, 1, 0])  # noqa: E731
    hw = lambda x: np.zeros(len(x), int) if x is clean else np.array([0] * 8 + [0, 1, 1, 0])  # noqa: E731
    r = replay(adv, {"hashed float": fl, "csim": hw}, progress=False)
    # 0..7 disagree (float fooled, csim not); 9 and 10 fool both; half the panels each, input order within
    assert pick_examples(adv, r, 4) == [0, 1, 9, 10]
    assert pick_examples(adv, r, 12)[:10] == [0, 1, 2, 3, 4, 5, 6, 7, 9, 10]  # room for all of both


def test_identical_curves_are_drawn_once_and_say_which_agree():
    from hashhls.adversarial.report import agreeing_groups

    rng = np.random.default_rng(7)
    adv = _set(rng, "fgsm", [0.05, 0.1], n=10)
    adv.y[:] = 0
    clean = adv.x_clean
    fooled = lambda x: np.zeros(len(x), int) if x is clean else np.ones(len(x), int)  # noqa: E731
    robust = lambda x: np.zeros(len(x), int)  # noqa: E731
    r = replay(adv, {"hashed float": fooled, "emulator": robust, "csim": robust}, progress=False)
    groups = agreeing_groups(r)
    assert sorted(sorted(g) for g, _ in groups) == [["csim", "emulator"], ["hashed float"]]
    for names, rates in groups:
        assert rates == [t.success_rate for t in r.targets if t.name == names[0]][0]
