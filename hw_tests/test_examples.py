"""examples/ runs as a user would run it, and ``import hashhls`` stays cheap."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from csim_helpers import REPO


def test_import_hashhls_is_cheap():
    code = "import sys, hashhls; print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in " \
           "('torch', 'onnx', 'hls4ml', 'numpy') or m.startswith('hashhls.'))))"
    r = subprocess.run([sys.executable, "-c", "import json; " + code], capture_output=True, text=True, check=True)
    assert json.loads(r.stdout) == ["hashhls.core", "hashhls.core.version"]


@pytest.mark.slow
@pytest.mark.csim
def test_the_session_example_runs(tmp_path):
    r = subprocess.run([sys.executable, str(REPO / "examples" / "session.py"), str(tmp_path)], capture_output=True,
                       text=True, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "| pgd on fixed-point twin, eps 0.05 |" in r.stdout
    payload = json.loads((tmp_path / "report" / "report.json").read_text())
    assert payload["results"][0]["provenance"]["build_id"] == payload["build"]["project_hash"]
