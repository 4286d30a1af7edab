"""`hashhls transfer` on a build of the bundled default: the matrix, the report, and bad input."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from csim_helpers import REPO

from hashhls.adversarial.replay import TARGET_ORDER

pytestmark = pytest.mark.csim

ROWS = ["(a) dense float parent", "(b) hashed float", "(c) fixed-point twin", "(d) csim, black-box"]


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
    for name in ("report.md", "report.json", "success_vs_eps.png", "examples.png", "transfer_matrix.png"):
        assert (out / name).is_file() and (out / name).stat().st_size > 0, name
    md = (out / "report.md").read_text()
    for row in ROWS:
        assert f"## Crafted on {row}" in md
    # the table printed on stdout is the one in the report
    table = stdout.split("report:")[0].strip()
    assert table.startswith("| crafted on \\ evaluated on |") and table in md


@pytest.mark.slow
def test_transfer_matrix_has_every_source_and_every_implementation(transfer_report):
    out, _ = transfer_report
    payload = json.loads((out / "report.json").read_text())
    matrix = payload["transfer_matrix"]
    assert list(matrix) == ROWS
    for row in ROWS:
        assert list(matrix[row]) == list(TARGET_ORDER), row
        assert all(0.0 <= v <= 1.0 for v in matrix[row].values()), matrix[row]
    results = payload["results"]
    assert [r["crafted_on"] for r in results] == ROWS
    assert all(r["n"] == 20 and r["eps"] == [0.1] for r in results)
    assert [r["attack"] for r in results] == ["pgd", "pgd", "pgd", "square"]
    assert results[3]["queries"] is not None and 1 <= results[3]["queries"][0] <= 30
    # each white-box set fools the model it was crafted on
    assert matrix[ROWS[0]]["dense float"] >= 0.8
    assert matrix[ROWS[1]]["hashed float"] >= 0.8
    assert matrix[ROWS[2]]["emulator"] >= 0.8


@pytest.mark.slow
def test_emulator_and_csim_columns_agree_exactly(transfer_report):
    out, _ = transfer_report
    payload = json.loads((out / "report.json").read_text())
    for r in payload["results"]:
        by = {t["name"]: t for t in r["targets"]}
        for key in ("clean_accuracy", "eligible", "successes", "success_rate"):
            assert by["emulator"][key] == by["csim"][key], (r["crafted_on"], key)
        assert r["agreement"]["emulator"] == 1.0  # every adversarial label, not only the rates
        assert payload["transfer_matrix"][r["crafted_on"]]["emulator"] == \
            payload["transfer_matrix"][r["crafted_on"]]["csim"]


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
