"""bench/paper_table.py at reduced size: every model row, every attack column, rates that are rates."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]

VARIANTS = ["no GI", "GI-scale (eps 15)", "GI-sign (eps 0.1)"]
MODELS = [f"mnist-mlp / {v}" for v in VARIANTS]
NAIVE = ["FGSM", "BIM", "JSMA", "CW-L2"]
RATES = ([f"{a} {where}" for a in NAIVE for where in ("float", "csim")]
         + [f"{a} csim" for a in ("FGSM temp.", "BIM temp.", "CW-L2 k1 temp.", "transfer BIM", "Square")]
         + ["clean_float", "clean_csim"])


@pytest.mark.slow
@pytest.mark.csim
def test_paper_table_quick_mode(tmp_path):
    out = tmp_path / "table.md"
    r = subprocess.run([sys.executable, str(REPO / "bench" / "paper_table.py"), "--quick", "-n", "30",
                        "--square-n", "20", "--threads", "1", "--models", "mnist-mlp", "-o", str(out)],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    rows = json.loads(out.with_suffix(".json").read_text())
    assert [row["model"] for row in rows] == MODELS
    for row in rows:
        for key in RATES:
            assert 0.0 <= row[key] <= 1.0, (row["model"], key, row[key])
        assert row["Square n"] == 20 and 1 <= row["Square queries"] <= 100
        assert row["temperature"] > 0 and all(math.isfinite(row[f"{a} L2"]) for a in NAIVE)
    md = out.read_text()
    naive_head = "| model | clean float | clean csim | FGSM | BIM | JSMA | CW-L2 |"
    adaptive_head = ("| model | BIM (naive) | FGSM, temperature | BIM, temperature | CW-L2, kappa 1, temperature (L2) "
                     "| transfer BIM from no-GI | Square on csim (queries) |")
    assert naive_head in md and adaptive_head in md
    for name in MODELS:
        assert md.count(f"| {name} |") == 2  # one row in each table
    assert "python bench/paper_table.py --quick -n 30" in md and "30 official MNIST test images" in md
    no_gi, scale = rows[0], rows[1]
    # the attacks do something on the undefended model...
    assert no_gi["BIM csim"] >= 0.8 and no_gi["CW-L2 float"] >= 0.8
    # ...and GI-scale is pure logit scaling: the temperature undoes it (the gradient-masking signature)
    assert scale["temperature"] == pytest.approx(16.0, rel=0.05)
    assert scale["FGSM temp. csim"] > scale["FGSM float"] + 0.2


@pytest.mark.slow
@pytest.mark.csim
def test_paper_table_lenet5_and_cifar_rows(tmp_path):
    """The conv rows: the bundled LeNet-5 and a cifar-convnet trained on CIFAR-format batches (synthetic here:
    CIFAR-10 cannot be downloaded; each class is a colour plus noise, so that it can be learned)."""
    from test_cifar_path import py2_cifar_batch

    rng = np.random.default_rng(0)
    colours = rng.integers(40, 216, (10, 3))
    root = tmp_path / "cifar-10-batches-py"
    root.mkdir()
    for i, name in enumerate([f"data_batch_{k}" for k in range(1, 6)] + ["test_batch"]):
        labels = rng.integers(0, 10, 100)
        img = colours[labels][:, :, None] + rng.integers(-40, 40, (100, 3, 1024))
        (root / name).write_bytes(py2_cifar_batch(np.clip(img, 0, 255).astype(np.uint8).reshape(100, 3072),
                                                  labels.tolist(), b"batch %d" % i))
    out = tmp_path / "table.md"
    r = subprocess.run([sys.executable, str(REPO / "bench" / "paper_table.py"), "--quick", "-n", "20",
                        "--square-n", "10", "--gi-epochs", "2", "--cifar-epochs", "12", "--threads", "1", "--models", "lenet5",
                        "--cifar", str(root), "-o", str(out)], capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr[-3000:]
    rows = json.loads(out.with_suffix(".json").read_text())
    assert [row["model"] for row in rows] == [f"{m} / {v}" for m in ("lenet5", "cifar-convnet") for v in VARIANTS]
    for row in rows:
        for key in RATES:
            assert 0.0 <= row[key] <= 1.0, (row["model"], key, row[key])
    lenet, cifar = rows[0], rows[3]
    assert lenet["clean_csim"] > 0.97  # the bundled LeNet-5 on real MNIST
    assert cifar["clean_float"] > 0.5 and cifar["clean_csim"] > 0.5  # learned the synthetic classes, and csim
    # runs it: the CIFAR path trains, builds and simulates
    assert lenet["BIM csim"] >= 0.8
    md = out.read_text()
    assert "CIFAR-10 test images from" in md and md.count("| cifar-convnet / no GI |") == 2
