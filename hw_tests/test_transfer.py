"""`hashhls transfer` on a build of the bundled default: the matrix, the report, and bad input."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from csim_helpers import REPO

from hashhls.adversarial.replay import TARGET_ORDER

pytestmark = pytest.mark.csim

CRAFTED_ON = ["dense", "hashed", "fixed", "csim"]


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "hashhls", *map(str, args)], capture_output=True, text=True)


@pytest.fixture(scope="module")
def transfer_report(default_build, tmp_path_factory):
    out = tmp_path_factory.mktemp("transfer") / "report"
    r = _cli("transfer", default_build, "-n", 20, "--queries", 30, "-o", out)
    assert r.returncode == 0, r.stderr
    return out, r.stdout


@pytest.mark.slow
def test_transfer_writes_the_report_files(transfer_report):
    out, stdout = transfer_report
    for name in ("report.md", "report.json", "examples.png", "transfer_matrix.png"):  # one budget: no eps curve
        assert (out / name).is_file() and (out / name).stat().st_size > 0, name
    md = (out / "report.md").read_text()
    rows = list(json.loads((out / "report.json").read_text())["transfer_matrix"])
    for row in rows:
        assert f"| {row} |" in md
    # the table printed on stdout is the one in the report
    table = stdout.split("report:")[0].strip()
    assert table.startswith("| crafted (file, budget) \\ evaluated on |") and table in md


@pytest.mark.slow
def test_transfer_matrix_has_every_source_and_every_implementation(transfer_report):
    out, _ = transfer_report
    payload = json.loads((out / "report.json").read_text())
    matrix = payload["transfer_matrix"]
    rows = list(matrix)
    assert [r[:3] for r in rows] == ["(a)", "(b)", "(c)", "(d)"]
    # the bundled dense parent is another network than the built model: labelled as a transfer experiment
    assert rows[0].startswith("(a) transfer from mnist-mlp dense") and "transfer" not in rows[1]
    for row in rows:
        assert list(matrix[row]) == list(TARGET_ORDER), row
        assert all(0.0 <= v <= 1.0 for v in matrix[row].values()), matrix[row]
    results = payload["results"]
    assert [r["crafted_on"] for r in results] == CRAFTED_ON
    assert results[2]["provenance"]["build_id"] == payload["build"]["project_hash"]  # the twin of this build
    assert all(r["n"] == 20 and r["eps"] == [0.1] for r in results)
    assert [r["attack"] for r in results] == ["pgd", "pgd", "pgd", "square"]
    assert results[3]["queries"] is not None and 1 <= results[3]["queries"][0] <= 30
    # each white-box set fools the model it was crafted on
    assert matrix[rows[0]]["dense float"] >= 0.8
    assert matrix[rows[1]]["hashed float"] >= 0.8
    assert matrix[rows[2]]["emulator"] >= 0.8


@pytest.mark.slow
def test_emulator_and_csim_columns_agree_exactly(transfer_report):
    out, _ = transfer_report
    payload = json.loads((out / "report.json").read_text())
    for r in payload["results"]:
        by = {t["name"]: t for t in r["targets"]}
        for key in ("clean_accuracy", "eligible", "successes", "success_rate"):
            assert by["emulator"][key] == by["csim"][key], (r["crafted_on"], key)
        assert r["agreement"]["emulator"] == 1.0  # every adversarial label, not only the rates
        row = r["rows"][0]
        assert payload["transfer_matrix"][row]["emulator"] == payload["transfer_matrix"][row]["csim"]


def _refused(r, out, match):
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert match in r.stderr and "Traceback" not in r.stderr
    assert r.stderr.count("\n") == 1  # one line
    assert not out.exists()


def test_transfer_refuses_a_directory_that_is_not_a_build(tmp_path):
    out = tmp_path / "report"
    _refused(_cli("transfer", tmp_path, "-n", 5, "-o", out), out, "not a hashhls build directory")
    _refused(_cli("transfer", tmp_path / "missing", "-n", 5, "-o", out), out, "not found")


@pytest.mark.parametrize("args,match", [(["-n", "0"], "-n must be >= 1"), (["--queries", "0"], "--queries"),
                                        (["--attack", "square"], "gradient attack"),
                                        (["--attack", "nope"], "gradient attack"), (["--eps", "2"], "eps")])
def test_transfer_bad_options(default_build, tmp_path, args, match):
    out = tmp_path / "report"
    _refused(_cli("transfer", default_build, *args, "-o", out), out, match)


def test_transfer_refuses_a_model_that_is_not_the_build(default_build, tmp_path):
    # the dense parent is a different network from the hashed model the build was made from
    out = tmp_path / "report"
    dense = REPO / "frontend" / "pretrained" / "mnist-mlp-dense.pt"
    _refused(_cli("transfer", default_build, "--model", dense, "-n", 5, "-o", out), out, "was not built from")


def _attack(tmp_path, name, *args):
    out = tmp_path / name
    r = _cli("attack", *args, "-n", 60, "--no-progress", "-o", out)
    assert r.returncode == 0, r.stderr
    return out


@pytest.mark.slow
def test_replay_of_three_files_crafted_on_the_same_model_reports_three_rows(default_build, tmp_path):
    """Before: rows were keyed by crafted_on ('hashed float' for all three): only the last file survived."""
    files = [_attack(tmp_path, "cw.npz", "--attack", "cw", "--steps", 20),
             _attack(tmp_path, "deepfool.npz", "--attack", "deepfool"),
             _attack(tmp_path, "pgd.npz", "--attack", "pgd", "--eps", 0.1)]
    out = tmp_path / "report"
    r = _cli("replay", default_build, *files, "--no-progress", "-o", out)
    assert r.returncode == 0, r.stderr
    payload = json.loads((out / "report.json").read_text(), parse_constant=lambda c: 1 / 0)  # strict JSON
    assert [res["attack"] for res in payload["results"]] == ["cw", "deepfool", "pgd"]
    assert len(payload["transfer_matrix"]) == 3 and len(payload["rows"]) == 3
    assert payload["build"]["model"]["fingerprint"] and payload["build"]["precision"]
    md = (out / "report.md").read_text()
    assert md.index("cw on hashed float") < md.index("## The build")  # the answer comes first
    assert (out / "success_vs_l2.png").is_file() and not (out / "success_vs_eps.png").exists()
    # examples crafted on another model are refused in one line, and replayed only as a transfer experiment
    lenet = _attack(tmp_path, "lenet.npz", REPO / "frontend" / "pretrained" / "lenet5-c8.pt", "--attack", "fgsm")
    _refused(_cli("replay", default_build, lenet, "-o", tmp_path / "r2"), tmp_path / "r2", "--allow-other-model")
    r = _cli("replay", default_build, lenet, "--allow-other-model", "--no-progress", "-o", tmp_path / "r3")
    assert r.returncode == 0, r.stderr
    row = next(iter(json.loads((tmp_path / "r3" / "report.json").read_text())["transfer_matrix"]))
    assert row.startswith("transfer from lenet5 c8")
    # a report directory is not a build; an existing output is not overwritten
    _refused(_cli("replay", out, files[0], "-o", tmp_path / "r4"), tmp_path / "r4", "report directory")
    before = (out / "report.md").read_text()
    r = _cli("replay", default_build, files[0], "-o", out)
    assert r.returncode == 2 and "exists" in r.stderr and (out / "report.md").read_text() == before
    r = _cli("replay", default_build, tmp_path / "nope.npy", "-o", tmp_path / "r5")
    assert r.returncode == 2 and "nope.npy" in r.stderr
