"""Replay arithmetic, adversarial-file validation and report writing (no csim needed)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from hashhls.adversarial.replay import AdvSet, replay, success_mask
from hashhls.adversarial.report import transfer_matrix, write_report
from hashhls.core.errors import HashhlsError


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


def test_replay_scores_each_target_and_writes_the_report(tmp_path):
    adv = AdvSet.load(_adv(tmp_path))
    # A "model" that predicts 1 when the mean pixel exceeds a threshold.
    def model(threshold):
        return lambda x: (x.reshape(len(x), -1).mean(axis=1) > threshold).astype(np.int64)

    thr = float(np.median(adv.x_clean.reshape(4, -1).mean(axis=1)))
    targets = {"hashed float": model(thr), "csim": model(thr + 10)}  # csim: always class 0
    result = replay(adv, targets, progress=False)
    by = {t.name: t for t in result.targets}
    pc = model(thr)(adv.x_clean)
    for i, xa in enumerate(adv.x_adv):
        e, s = success_mask(pc, model(thr)(xa), adv.y)
        assert by["hashed float"].eligible[i] == e.sum() and by["hashed float"].successes[i] == s.sum()
    # csim says 0 for everything: clean-correct are the two label-0 inputs, never flipped.
    assert by["csim"].eligible == [2, 2] and by["csim"].successes == [0, 0]
    assert result.linf[0] == pytest.approx(np.abs(adv.x_adv[0] - adv.x_clean).reshape(4, -1).max(1).mean())
    files = write_report(tmp_path, [adv], [result], "build")
    for f in files:
        assert f.exists() and f.stat().st_size > 0
    payload = json.loads((tmp_path / "report.json").read_text())
    assert payload["transfer_matrix"] == transfer_matrix([result])
    assert "csim" in (tmp_path / "report.md").read_text()
