"""The sweep engines on studies/smoke.toml (12 cells, 2 builds): crash and resume, cache verification, the
local pool against Ray, failing cells. One interrupted-then-resumed local run is shared by the tests below."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hashhls.sweep import load_study, parse_study, sweep
from hashhls.sweep.cache import RECORD, verify
from hashhls.sweep.engine import Status
from hashhls.sweep.results import comparable, read_table

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
SMOKE = ROOT / "studies" / "smoke.toml"


def records(results: Path) -> dict[str, dict]:
    """Every committed cache entry's completion record, keyed by stage/key."""
    out = {}
    for rec in (results / "cache").glob(f"*/*/{RECORD}"):
        out[f"{rec.parent.parent.name}/{rec.parent.name}"] = json.loads(rec.read_text())
    return out


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    """The smoke study on the local engine, stopped (SIGTERM, as a batch scheduler or Ctrl-C would) once a build
    has finished, with stages still running, then resumed.

    Returns (results dir, records committed before the kill, the resumed run's SweepResult).
    """
    results = tmp_path_factory.mktemp("smoke-local") / "results"
    env = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE"}
    proc = subprocess.Popen([sys.executable, "-m", "hashhls.cli", "sweep", str(SMOKE), "-o", str(results),
                             "--workers", "2", "--no-progress"], env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 300
        while time.time() < deadline and proc.poll() is None:
            if results.is_dir() and any(k.startswith("build/") for k in records(results)):
                break
            time.sleep(0.2)
        os.kill(proc.pid, signal.SIGTERM)  # the driver only: it must stop its workers itself
        rc = proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert rc == 130  # 'hashhls: interrupted'
    time.sleep(1)
    before = records(results)
    assert any(k.startswith("build/") for k in before), "the sweep ended before a build finished"
    resumed = sweep(SMOKE, results, workers=2, progress=False)
    return results, before, resumed


def test_interrupted_sweep_resumes_without_recomputing(smoke):
    results, before, resumed = smoke
    after = records(results)
    total = len(resumed.plan.stages)
    assert len(before) < total  # it was interrupted
    for key, rec in before.items():  # every stage finished before the kill was reused, not rerun
        assert after[key]["started"] == rec["started"] and after[key]["pid"] == rec["pid"], key
        assert resumed.outcome.status[key.split("/")[1]] == Status.CACHED
    computed = [k for k, s in resumed.outcome.status.items() if s == Status.DONE]
    assert len(computed) == total - len(before)
    assert len(after) == total
    assert not list((results / "cache").glob("*/.*.part"))  # the killed run's partial outputs were removed
    c = resumed.counts()
    assert c["failed"] == 0 and c["done"] + c["cached"] == 12


def test_results_table(smoke):
    results, _, resumed = smoke
    rows = read_table(results)
    assert len(rows) == 12 * 4  # one row per (cell, target): hashed float, onnxruntime, emulator, csim
    assert {r["target"] for r in rows} == {"hashed float", "onnxruntime", "emulator", "csim"}
    for r in rows:
        assert r["status"] == "ok" and r["error"] is None
        assert 0 <= r["successes"] <= r["eligible"] <= r["n_images"] == 50
        assert r["train_key"] and r["build_key"] and r["craft_key"] and r["replay_key"]
        assert r["hashhls_version"] and r["torch_version"]
    # the emulator is bit-exact with csim: same predictions, so the same clean accuracy and success
    by = {(r["cell"], r["target"]): r for r in rows}
    for (cell, target), r in by.items():
        if target == "emulator":
            assert r["successes"] == by[(cell, "csim")]["successes"]
            assert r["agreement_with_csim"] == 1.0
    # cross-check one cell against the public API, run by hand on the cached build and adversarial set
    import hashhls

    row = next(r for r in rows if r["site"] == "fixed" and r["eps"] == 0.1 and r["compression"] == 8)
    build = results / "cache" / "build" / row["build_key"] / "build"
    adv = hashhls.attack(None, "fgsm", 0.1, on="fixed", build=build, n=50)
    report = hashhls.replay(build, [adv])
    csim = next(t for t in report.results[0].targets if t.name == "csim")
    assert by[(row["cell"], "csim")]["successes"] == csim.successes[0]
    assert by[(row["cell"], "csim")]["clean_accuracy"] == csim.clean_accuracy
    # the reuse factors recorded are those the build's hls4ml configuration holds, per weighted layer
    import yaml

    layers = yaml.safe_load((build / "hls" / "hls4ml_config.yml").read_text())["HLSConfig"]["LayerName"]
    from hashhls.codegen.names import cpp_identifier

    recorded = {cpp_identifier(name): rf for name, rf in json.loads(row["build_reuse_factors"]).items()}
    assert recorded and recorded == {name: cfg["ReuseFactor"] for name, cfg in layers.items() if "ReuseFactor" in cfg}


def test_rerun_is_all_cached(smoke):
    results, _, _ = smoke
    again = sweep(SMOKE, results, workers=1, progress=False)
    assert all(s == Status.CACHED for s in again.outcome.status.values())
    assert comparable(again.rows) == comparable(read_table(results))


def test_corrupted_entry_is_recomputed(smoke, tmp_path):
    results, _, resumed = smoke
    copy = tmp_path / "results"
    shutil.copytree(results, copy)
    build_key = next(k for k, s in resumed.plan.stages.items() if s.kind.value == "build")
    weights = next((copy / "cache" / "build" / build_key / "build").rglob("*.txt"))
    weights.write_text(weights.read_text() + "0\n")  # a corrupted output file
    old = json.loads((copy / "cache" / "build" / build_key / RECORD).read_text())
    again = sweep(SMOKE, copy, workers=1, progress=False)
    assert again.outcome.status[build_key] == Status.DONE  # detected by its hash, rebuilt
    assert [k for k, s in again.outcome.status.items() if s == Status.DONE] == [build_key]
    new = json.loads((copy / "cache" / "build" / build_key / RECORD).read_text())
    assert new["started"] > old["started"]
    assert verify(copy / "cache" / "build" / build_key, build_key) is not None
    assert _diff(comparable(again.rows), comparable(read_table(results))) == []


def test_ray_engine_matches_local(smoke, tmp_path):
    pytest.importorskip("ray")
    results, _, _ = smoke
    ray_results = tmp_path / "ray"
    r = sweep(SMOKE, ray_results, engine="ray", workers=2, progress=False)
    assert all(s == Status.DONE for s in r.outcome.status.values())
    assert {rec["pid"] for rec in records(ray_results).values()}.isdisjoint({os.getpid()})  # ran in Ray workers
    assert comparable(read_table(ray_results)) == comparable(read_table(results))


def test_failing_cell_is_recorded_and_the_sweep_goes_on(smoke, tmp_path):
    results, _, _ = smoke
    copy = tmp_path / "results"
    shutil.copytree(results, copy)  # the smoke's trained model, build and cells are reused
    text = SMOKE.read_text().replace('precision = ["auto"]', 'precision = ["auto", "ap_fixed<3,1,AP_RND_CONV,AP_SAT>"]')
    study = parse_study(text.replace('compression = [8, 32]', 'compression = [8]'), "failing.toml")
    out = sweep(study, copy, workers=2, progress=False)
    rows = read_table(copy)
    failed = [r for r in rows if r["status"] == "failed"]
    assert {r["precision"] for r in failed} == {"ap_fixed<3,1,AP_RND_CONV,AP_SAT>"}
    # a 3-bit type cannot hold the weights: the build refuses it, its six cells fail, the others are reused
    assert len(failed) == 6 and all(r["error"].startswith("build: ") and "ap_fixed<3,1" in r["error"]
                                    for r in failed)
    assert all("\n" not in r["error"] for r in failed)
    assert sum(r["status"] != "failed" for r in rows) == 6 * 4
    assert out.counts() == {"done": 0, "cached": 6, "failed": 6}


def _diff(a, b):
    return [{k: (x[k], y.get(k)) for k in x if x[k] != y.get(k)} for x, y in zip(a, b) if x != y][:3]


def test_report_command(smoke, tmp_path):
    results, _, _ = smoke
    copy = tmp_path / "results"
    shutil.copytree(results, copy)
    r = subprocess.run([sys.executable, "-m", "hashhls.cli", "sweep", "report", str(copy)], capture_output=True,
                       text=True)
    assert r.returncode == 0, r.stderr
    text = (copy / "report.md").read_text()
    for png in ("success_vs_compression.png", "success_vs_precision.png", "accuracy_vs_compression.png",
                "transfer_mnist-mlp.png"):
        assert (copy / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert f"]({png})" in text
    table = [line for line in text.splitlines() if line.startswith("| mnist-mlp |")]
    assert len(table) == 12  # one line per cell of the smoke study (no axis is pooled there)
    # the csim column of the report is the table's csim success, pooled over nothing
    rows = read_table(copy)
    fgsm = next(r for r in rows if r["target"] == "csim" and r["site"] == "hashed" and r["eps"] == 0.1
                and r["compression"] == 32)
    line = next(t for t in table if "| 32 |" in t and "| hashed | fgsm eps 0.1 |" in t)
    assert line.rstrip(" |").endswith(f"{100 * fgsm['successes'] / fgsm['eligible']:.1f}%")
