"""`hashhls train` through a real subprocess: a short run, and one-line errors on bad input."""

from __future__ import annotations

import gzip
import re
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hashhls.frontend.checkpoint import checkpoint_metrics, load_checkpoint
from hashhls.frontend.datasets import load_mnist
from hashhls.frontend.gi import GIConfig
from hashhls.frontend.train import evaluate
from hashhls.frontend.zoo import ModelConfig


def hashhls(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hashhls", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300, check=False)


def assert_one_line_error(proc: subprocess.CompletedProcess, *fragments: str) -> None:
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("hashhls: error: "), proc.stderr
    for f in fragments:
        assert f in lines[0], lines[0]


@pytest.mark.parametrize("gi", [None, "sign:0.05"])
def test_train_short_run(tmp_path, gi):
    proc = hashhls("train", "--model", "mnist-mlp", "--compression", "8", "--epochs", "3", "--batch-size", "32",
                   "--limit", "1000", "--seed", "1", *(["--gi", gi] if gi else []), "-o", "m.pt", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    last = proc.stdout.strip().splitlines()[-1]
    m = re.fullmatch(r"test accuracy: (\d+\.\d\d)% \(official MNIST test set, 10000 images\)", last)
    assert m, last
    model, cfg = load_checkpoint(tmp_path / "m.pt")
    assert cfg == ModelConfig("mnist-mlp", compression=8, seed=1, gi=GIConfig.parse(gi) if gi else None)
    acc = evaluate(model, *load_mnist(split="test"))
    assert float(m.group(1)) == pytest.approx(100 * acc, abs=0.005)
    assert acc > 0.6  # chance is 0.1, from 1000 images and 3 epochs
    metrics = checkpoint_metrics(tmp_path / "m.pt")
    assert metrics["train_samples"] == 1000 and metrics["epochs"] == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.pt"]


def _bad_mnist(tmp_path: Path, problem: str) -> Path:
    """A small MNIST directory whose training-image file has the given problem."""
    d = tmp_path / f"mnist-{problem}"
    d.mkdir()
    rng = np.random.default_rng(0)
    n = 20
    for stem in ("train", "t10k"):
        images = struct.pack(">IIII", 0x00000803, n, 28, 28) + rng.integers(0, 256, n * 784, np.uint8).tobytes()
        labels = struct.pack(">II", 0x00000801, n) + rng.integers(0, 10, n, np.uint8).tobytes()
        if stem == "train" and problem == "magic":
            images = struct.pack(">I", 0x00000804) + images[4:]
        elif stem == "train" and problem == "truncated":
            images = images[:-1000]
        (d / f"{stem}-images-idx3-ubyte.gz").write_bytes(gzip.compress(images))
        (d / f"{stem}-labels-idx1-ubyte.gz").write_bytes(gzip.compress(labels))
    return d


@pytest.mark.parametrize("case", ["missing-dir", "magic", "truncated", "compression", "model", "k-range", "gi",
                                  "out-dir"])
def test_train_bad_input(tmp_path, case):
    args = ["train", "--model", "mnist-mlp", "--epochs", "1", "--limit", "100", "-o", "out.pt"]
    expect: tuple[str, ...]
    if case == "missing-dir":
        args += ["--data", str(tmp_path / "nowhere")]
        expect = ("MNIST directory not found", "nowhere")
    elif case in ("magic", "truncated"):
        args += ["--data", str(_bad_mnist(tmp_path, case))]
        expect = ("train-images-idx3-ubyte.gz", "magic 0x00000804" if case == "magic" else "truncated")
    elif case == "compression":
        args += ["--compression", "0.5"]
        expect = ("compression must be", ">= 1")
    elif case == "model":
        args[2] = "vgg16"
        expect = ("unknown model 'vgg16'",)
    elif case == "k-range":
        args += ["--compression", "5000"]
        expect = ("out of range", "K would be below 1")
    elif case == "gi":
        args += ["--gi", "flip:0.1"]
        expect = ("bad GI setting 'flip:0.1'",)
    else:
        args[-1] = str(tmp_path / "no" / "out.pt")
        expect = ("output directory does not exist",)
    before = {p.name for p in tmp_path.iterdir()}
    proc = hashhls(*args, cwd=tmp_path)
    assert_one_line_error(proc, *expect)
    assert {p.name for p in tmp_path.iterdir()} == before  # no output, no temporary file


def test_train_cifar_on_synthetic_batches(tmp_path):
    """cifar-convnet reads --data as CIFAR-10 batches (tiny synthetic set: only checks the plumbing)."""
    import pickle

    rng = np.random.default_rng(0)
    data = tmp_path / "cifar"
    data.mkdir()
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        with open(data / name, "wb") as f:
            pickle.dump({b"data": rng.integers(0, 256, (8, 3072), dtype=np.uint8),
                         b"labels": [int(v) for v in rng.integers(0, 10, 8)]}, f, protocol=2)
    proc = hashhls("train", "--model", "cifar-convnet", "--compression", "16", "--epochs", "1", "--data", str(data),
                   "-o", "c.pt", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().endswith(f"(CIFAR-10 test set in {data}, 8 images)")
    _, cfg = load_checkpoint(tmp_path / "c.pt")
    assert cfg.dataset == "cifar10" and cfg.input_shape == [3, 32, 32]
    proc = hashhls("train", "--model", "cifar-convnet", "-o", "c2.pt", cwd=tmp_path)
    assert_one_line_error(proc, "CIFAR-10 is not bundled")
    assert not (tmp_path / "c2.pt").exists()
