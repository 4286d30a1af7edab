"""The adversarial-file format: one writer, one reader, provenance round trip, and one-line errors."""

from __future__ import annotations

import numpy as np
import pytest

from hashhls.adversarial.advfile import AdvSet, Provenance, check_output_adv
from hashhls.codegen.identity import ModelIdentity
from hashhls.core.errors import InvalidFileError, UsageError


def _adv(**kw) -> AdvSet:
    rng = np.random.default_rng(0)
    x = rng.random((5, 1, 3, 3), dtype=np.float32)
    x_adv = np.stack([np.clip(x + 0.1, 0, 1), np.clip(x - 0.2, 0, 1)]).astype(np.float32)
    return AdvSet(x, np.arange(5) % 2, x_adv, np.array([0.1, 0.2]), attack="pgd", **kw)


def test_round_trip_keeps_targets_queries_and_provenance(tmp_path):
    ident = ModelIdentity("f" * 64, "s" * 64, "m.pt", "lenet5", 8.0, None, {"mode": "sign", "eps": 0.1})
    prov = Provenance(model=ident, crafted_on="fixed", attack="pgd", hyperparameters={"steps": 7}, seed=3,
                      target_mode="random", eps=[0.1, 0.2], data={"dataset": "mnist", "split": "test", "first": 5},
                      build_id="abc", build_precision={"l": {"result": "ap_fixed<16,6>"}})
    adv = _adv(crafted_on="fixed", target_labels=np.array([1, 0, 1, 0, 1]), queries=np.ones((2, 5), np.int64),
               provenance=prov)
    path = adv.save(tmp_path / "a.npz")
    back = AdvSet.load(path)
    assert back.provenance == prov and back.model == ident and back.crafted_on == "fixed"
    np.testing.assert_array_equal(back.target_labels, adv.target_labels)
    np.testing.assert_array_equal(back.queries, adv.queries)
    np.testing.assert_array_equal(back.x_adv, adv.x_adv)
    assert back.source == str(path) and back.targeted and back.budgeted


def test_a_file_without_provenance_still_loads(tmp_path):
    adv = _adv()
    np.savez(tmp_path / "old.npz", x_clean=adv.x_clean, y=adv.y, x_adv=adv.x_adv, eps=adv.eps,
             attack=np.array("fgsm"), crafted_on=np.array("hashed float"))
    back = AdvSet.load(tmp_path / "old.npz")
    assert back.provenance is None and back.model is None and back.crafted_on == "hashed"


def test_npy_where_an_npz_is_expected(tmp_path):
    np.save(tmp_path / "x.npy", np.zeros((2, 1, 3, 3), np.float32))
    with pytest.raises(InvalidFileError, match=r"x\.npy is a single \.npy array"):
        AdvSet.load(tmp_path / "x.npy")
    (tmp_path / "renamed.npz").write_bytes((tmp_path / "x.npy").read_bytes())  # the content decides, not the name
    with pytest.raises(InvalidFileError, match="single .npy array"):
        AdvSet.load(tmp_path / "renamed.npz")
    with pytest.raises(InvalidFileError, match="directory"):
        AdvSet.load(tmp_path)
    with pytest.raises(InvalidFileError, match="not found"):
        AdvSet.load(tmp_path / "missing.npz")


def test_another_npz_is_not_an_adversarial_file(tmp_path):
    np.savez(tmp_path / "w.npz", weights=np.zeros(3))
    with pytest.raises(InvalidFileError, match="no array 'x_clean'"):
        AdvSet.load(tmp_path / "w.npz")


def test_output_checks_happen_before_any_work_and_never_overwrite(tmp_path):
    with pytest.raises(UsageError, match="directory"):
        check_output_adv(tmp_path)
    with pytest.raises(UsageError, match=".npy"):
        check_output_adv(tmp_path / "a.npy")
    with pytest.raises(UsageError, match="must end in .npz"):
        check_output_adv(tmp_path / "a.txt")
    (tmp_path / "a.npz").write_bytes(b"keep me")
    with pytest.raises(UsageError, match="exists"):
        _adv().save(tmp_path / "a.npz")
    assert (tmp_path / "a.npz").read_bytes() == b"keep me"
    _adv().save(tmp_path / "a.npz", force=True)
    assert AdvSet.load(tmp_path / "a.npz").n == 5


def test_provenance_json_is_strict(tmp_path):
    prov = Provenance(model=None, crafted_on="hashed", attack="cw", eps=[float("nan")])
    assert "NaN" not in prov.to_json() and '"eps": [null]' in prov.to_json()
