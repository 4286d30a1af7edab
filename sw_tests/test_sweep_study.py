"""Study files: parsing, validation (one-line UsageError naming the key, before any stage runs), the DAG, keys."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from hashhls.core.errors import UsageError
from hashhls.sweep import parse_study
from hashhls.sweep.cache import stage_key
from hashhls.sweep.stages import StageKind, plan

ROOT = Path(__file__).resolve().parents[1]

BASE = """
[study]
n_images = 10
[axes]
compression = [8]
[[attack]]
name = "fgsm"
eps = [0.1]
"""


@pytest.mark.parametrize("text, key", [
    ("[axes]\nwidth = [1]\n[[attack]]\nname='fgsm'", "axes.width"),  # unknown axis
    ("[axes]\nmodel = ['resnet']\n[[attack]]\nname='fgsm'", "axes.model"),  # unknown value
    ("[axes]\ncompression = []\n[[attack]]\nname='fgsm'", "axes.compression"),  # empty axis
    ("[axes]\ncompression = [0.5]\n[[attack]]\nname='fgsm'", "axes.compression"),  # below 1
    ("[axes]\ncompression = [100000]\n[[attack]]\nname='fgsm'", "axes.compression"),  # K < 1 for the MLP's last layer
    ("[axes]\nsite = ['gpu']\n[[attack]]\nname='fgsm'", "axes.site"),
    ("[axes]\nhash = ['v3']\n[[attack]]\nname='fgsm'", "axes.hash"),  # not a hash spec version
    ("[axes]\nbanks = ['30,10,5']\n[[attack]]\nname='fgsm'", "axes.banks"),  # banks need hash v2
    ("[axes]\nhash = ['v2']\nbanks = ['30,10,300']\n[[attack]]\nname='fgsm'", "axes.banks"),  # K = 125 < P
    ("[axes]\nhash = ['v2']\nbanks = ['30,x']\n[[attack]]\nname='fgsm'", "axes.banks"),
    ("[axes]\nhash = ['v2']\nbanks = ['30,10']\n[[attack]]\nname='fgsm'", "axes.banks"),  # 3 weight layers
    ("[axes]\nhash = ['v2']\nreuse_factor = [32]\n[[attack]]\nname='fgsm'", "axes.reuse_factor"),  # banks fix it
    ("[axes]\ngi = ['sine:1']\n[[attack]]\nname='fgsm'", "axes.gi"),
    ("[axes]\nprecision = ['float32']\n[[attack]]\nname='fgsm'", "axes.precision"),
    ("[axes]\nreuse_factor = [0]\n[[attack]]\nname='fgsm'", "axes.reuse_factor"),
    ("[axes]\nseed = [1, 1]\n[[attack]]\nname='fgsm'", "axes.seed"),  # duplicate value
    ("[axes]\nmodel = ['mnist-mlp']", "attack"),  # no attack
    ("[[attack]]\nname = 'nope'", "attack[0].name"),
    ("[[attack]]\nname = 'cw'\neps = [0.1, 0.2]", "attack[0].eps"),  # budget-free attack given a budget sweep
    ("[[attack]]\nname = 'fgsm'\neps = [2.0]", "attack[0].eps"),
    ("[[attack]]\nname = 'fgsm'\nsteps = 3", "attack[0].steps"),  # fgsm takes no steps
    ("[axes]\nsite = ['csim']\n[[attack]]\nname = 'pgd'", "axes.site"),  # gradients on csim: impossible
    ("[[attack]]\nname = 'fgsm'\n[[exclude]]\nattack = 'fgsm'", "exclude"),  # filters empty the grid
    ("[[attack]]\nname = 'fgsm'\n[[exclude]]\ncolour = 'red'", "exclude[0].colour"),
    ("[study]\nn_images = 0\n[[attack]]\nname = 'fgsm'", "study.n_images"),
    ("[study]\nboard = 'nosuchboard'\n[[attack]]\nname = 'fgsm'", "study.board"),
    ("[train]\nepochs = 0\n[[attack]]\nname = 'fgsm'", "train.epochs"),
    ("[train]\nlr = 0.1\n[[attack]]\nname = 'fgsm'", "train.lr"),
    ("[grid]\n[[attack]]\nname = 'fgsm'", "study file.grid"),
    ("[axes\n", "not valid TOML"),
])
def test_bad_study_is_one_line_usage_error_naming_the_key(text, key):
    with pytest.raises(UsageError) as e:
        parse_study(text, "bad.toml")
    assert key in str(e.value)
    assert "\n" not in str(e.value)


def test_cli_refuses_bad_study_before_any_stage(tmp_path):
    study = tmp_path / "bad.toml"
    study.write_text("[axes]\nmodel = ['resnet']\n[[attack]]\nname = 'fgsm'\n")
    out = tmp_path / "results"
    r = subprocess.run([sys.executable, "-m", "hashhls.cli", "sweep", str(study), "-o", str(out)],
                       capture_output=True, text=True)
    assert r.returncode == 2
    assert r.stderr.strip().startswith("hashhls: error: axes.model")
    assert not out.exists()  # nothing ran, nothing was created


def test_grid_filters_and_shared_stages():
    s = parse_study("""
[axes]
compression = [8, 32]
gi = ["none", "scale:15", "sign:0.1"]
site = ["hashed", "fixed"]
[[attack]]
name = "fgsm"
[[exclude]]
site = "fixed"
gi = "sign:0.1"
""")
    # 2 compressions x 3 GI x 2 sites, minus sign x fixed (2 cells)
    assert len(s.cells) == 10
    p = plan(s)
    kinds = [sp.kind for sp in p.stages.values()]
    # GI scale is applied after training: it shares the undefended model's training; sign is trained in.
    assert kinds.count(StageKind.TRAIN) == 2 * 2
    assert kinds.count(StageKind.BUILD) == 2 * 3
    assert kinds.count(StageKind.CRAFT) == kinds.count(StageKind.REPLAY) == 10
    none_c8 = [keys for c, keys in p.cells if c.gi == "none" and c.compression == 8]
    scale_c8 = [keys for c, keys in p.cells if c.gi == "scale:15" and c.compression == 8]
    assert none_c8[0]["train"] == scale_c8[0]["train"] and none_c8[0]["build"] != scale_c8[0]["build"]
    assert len({k["build"] for k in none_c8}) == 1  # both sites use one build


def test_attack_hyperparameter_lists_and_budgets_are_axes():
    s = parse_study(BASE.replace('name = "fgsm"\neps = [0.1]', 'name = "pgd"\neps = [0.05, 0.1]\nsteps = [5, 10]'))
    assert sorted((c.attack.eps, dict(c.attack.hparams)["steps"]) for c in s.cells) == [
        (0.05, 5), (0.05, 10), (0.1, 5), (0.1, 10)]
    cw = parse_study(BASE.replace('name = "fgsm"\neps = [0.1]', 'name = "cw"'))
    assert [c.attack.eps for c in cw.cells] == [None]


def test_stage_key_covers_config_upstream_and_version(monkeypatch):
    k = stage_key("build", {"precision": "auto"}, ["a" * 64])
    assert k == stage_key("build", {"precision": "auto"}, ["a" * 64])
    assert k != stage_key("build", {"precision": "ap_fixed<16,6>"}, ["a" * 64])
    assert k != stage_key("build", {"precision": "auto"}, ["b" * 64])
    assert k != stage_key("craft", {"precision": "auto"}, ["a" * 64])
    import hashhls.sweep.cache as cache

    monkeypatch.setattr(cache, "__version__", "99.0")
    assert k != stage_key("build", {"precision": "auto"}, ["a" * 64])


def test_repo_studies_parse():
    smoke = parse_study((ROOT / "studies" / "smoke.toml").read_text(), "smoke.toml")
    assert 10 <= len(smoke.cells) <= 14
    for path in (ROOT / "studies").glob("*.toml"):
        parse_study(path.read_text(), str(path))


def test_sites_are_the_crafting_targets():
    from hashhls.adversarial.advfile import CRAFTED_ON
    from hashhls.sweep.study import Site

    assert {s.value for s in Site} == set(CRAFTED_ON)


def test_hash_v2_cells_train_v2_models_and_build_with_their_banks_reuse(tmp_path):
    from hashhls.frontend.checkpoint import load_checkpoint
    from hashhls.sweep.stages import _run_train

    s = parse_study(BASE.replace("compression = [8]", 'compression = [8]\nhash = ["v1", "v2"]\n'
                                 'banks = ["default", "16,8,4"]\n[[exclude]]\nhash = "v1"\nbanks = "16,8,4"'))
    assert sorted((c.hash, c.banks) for c in s.cells) == [("v1", "default"), ("v2", "16,8,4"), ("v2", "default")]
    p = plan(s)
    builds = {sp.config["reuse_factor"] for sp in p.stages.values() if sp.kind is StageKind.BUILD}
    assert builds == {64, None}  # v2 builds take their banks' reuse factors
    # and the cells (the results table's reuse_factor column) say so, rather than the axis default they never use
    assert {c.hash: c.reuse_factor for c in s.cells} == {"v1": 64, "v2": None}
    assert [("rf=" in c.id) for c in sorted(s.cells, key=lambda c: c.hash)] == [True, False, False]
    trains = [sp for sp in p.stages.values() if sp.kind is StageKind.TRAIN]
    assert len({sp.key for sp in trains}) == 3
    v2 = next(sp for sp in trains if sp.config.get("banks") == "16,8,4")
    cfg = dict(v2.config, epochs=1, limit=64)
    _run_train(cfg, [], tmp_path)
    model, mcfg = load_checkpoint(tmp_path / "model.pt")
    assert mcfg.hash_version == 2 and mcfg.banks == [16, 8, 4]
