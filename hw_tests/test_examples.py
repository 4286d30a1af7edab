"""examples/ runs as a user would run it, and ``import hashhls`` stays cheap."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
from csim_helpers import REPO


def test_import_hashhls_is_cheap():
    code = "import sys, hashhls; print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in " \
           "('torch', 'onnx', 'hls4ml', 'numpy') or m.startswith('hashhls.'))))"
    r = subprocess.run([sys.executable, "-c", "import json; " + code], capture_output=True, text=True, check=True)
    assert json.loads(r.stdout) == ["hashhls.core", "hashhls.core.version"]


def _readme_block(heading: str, lang: str = "python") -> str:
    readme = (REPO / "README.md").read_text()
    m = re.search(rf"^{re.escape(heading)}\n.*?^```{lang}\n(.*?)^```", readme, re.S | re.M)
    assert m, f"README.md has no ```{lang} block under {heading!r}"
    return m[1]


def test_readme_quotes_the_session_script_verbatim():
    script = (REPO / "examples" / "session.py").read_text().split("# --- README ---\n", 1)[1]
    assert _readme_block("### From Python") == script
    assert len([ln for ln in script.splitlines() if ln.strip()]) <= 10


@pytest.mark.slow
@pytest.mark.csim
def test_the_session_example_runs(tmp_path):
    r = subprocess.run([sys.executable, str(REPO / "examples" / "session.py")], capture_output=True,
                       text=True, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "| pgd on fixed-point twin, eps 0.05 |" in r.stdout
    payload = json.loads((tmp_path / "out" / "report" / "report.json").read_text())
    assert payload["results"][0]["provenance"]["build_id"] == payload["build"]["project_hash"]
    assert (tmp_path / "adv.npz").exists()


@pytest.mark.slow
@pytest.mark.csim
def test_the_walkthrough_runs_cell_by_cell(tmp_path):
    """examples/walkthrough.py, a percent-format notebook, runs top to bottom and writes what its cells promise."""
    src = (REPO / "examples" / "walkthrough.py").read_text()
    cells = [c for c in re.split(r"^# %%.*$", src, flags=re.M) if c.strip()]
    code = [c for c in cells if any(ln and not ln.startswith("#") for ln in c.splitlines())]
    assert len(code) >= 6, "build, predict, craft, replay, read, transfer: one code cell each"
    r = subprocess.run([sys.executable, str(REPO / "examples" / "walkthrough.py"), str(tmp_path)],
                       capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "csim == emulator, bit for bit: True" in r.stdout
    assert "## Precision check" in r.stdout  # the build's summary was shown
    assert "| pgd on fixed-point twin, eps 0.05 |" in r.stdout and "| pgd on hashed float, eps 0.1 |" in r.stdout
    for f in ("report/report.md", "report/report.json", "report/success_vs_eps.png", "transfer/report.json",
              "transfer/transfer_matrix.png"):
        assert (tmp_path / f).exists(), f
    transfer = json.loads((tmp_path / "transfer" / "report.json").read_text())
    assert len(transfer["rows"]) == 4  # dense parent, hashed float, twin, Square on csim
