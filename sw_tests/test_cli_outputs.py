"""The one output policy of the commands that write files: refuse an existing output unless --force, never a
directory for a file, checked before any work; inputs checked for their kind before they are loaded."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from hashhls.cli.main import main
from hashhls.codegen.project import BuildConfig, build
from hashhls.frontend.zoo import default_checkpoint

TRAIN_QUICK = ["train", "--model", "mnist-mlp", "--epochs", "1", "--limit", "256", "--threads", "1"]


def _one_line_error(capsys, *needles):
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("hashhls: error: "), err
    for n in needles:
        assert n in err, err
    return err


@pytest.fixture(scope="module")
def nocsim_build(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("outputs") / "build"
    build(BuildConfig(output_dir=out, board="none", compile_csim=False, progress=False))
    return out


def test_train_refuses_an_existing_checkpoint_before_training(tmp_path, capsys):
    out = tmp_path / "m.pt"
    out.write_bytes(b"a 4-minute checkpoint")
    assert main([*TRAIN_QUICK, "-o", str(out)]) == 2
    _one_line_error(capsys, "exists", "--force")
    assert out.read_bytes() == b"a 4-minute checkpoint"
    assert main([*TRAIN_QUICK, "-o", str(out), "--force"]) == 0
    assert out.read_bytes() != b"a 4-minute checkpoint"


@pytest.mark.parametrize("cmd", [["export", "CKPT"], ["gi", "CKPT", "--mode", "scale", "--eps", "15"], TRAIN_QUICK])
def test_an_output_that_is_a_directory_is_a_one_line_error(cmd, tmp_path, capsys):
    cmd = [str(default_checkpoint()) if c == "CKPT" else c for c in cmd]
    for target in (str(tmp_path), str(tmp_path) + os.sep):
        assert main([*cmd, "-o", target]) == 2
        _one_line_error(capsys, "is a directory")
    assert main([*cmd, "-o", str(tmp_path / "missing" / "x.pt")]) == 2
    _one_line_error(capsys, "does not exist")


def test_export_policy(tmp_path, capsys):
    out = tmp_path / "m.onnx"
    assert main(["export", str(default_checkpoint()), "-o", str(out)]) == 0
    first = out.read_bytes()
    assert main(["export", str(default_checkpoint()), "-o", str(out)]) == 2
    _one_line_error(capsys, "exists")
    assert main(["export", str(default_checkpoint()), "-o", str(out), "--force", "--dense"]) == 0
    assert out.read_bytes() != first
    assert main(["export", str(default_checkpoint()), "-o", str(tmp_path / "m.pt")]) == 2
    _one_line_error(capsys, "must end in .onnx")


def test_gi_refuses_an_existing_output(tmp_path, capsys):
    out = tmp_path / "gi.pt"
    out.write_bytes(b"keep")
    assert main(["gi", str(default_checkpoint()), "--mode", "scale", "--eps", "15", "-o", str(out)]) == 2
    _one_line_error(capsys, "exists")
    assert out.read_bytes() == b"keep"


def test_csim_checks_its_input_before_reading_it(nocsim_build, tmp_path, capsys):
    huge = tmp_path / "huge.npy"
    header = np.lib.format.header_data_from_array_1_0(np.zeros((1, 1, 28, 28), np.float32))
    header["shape"] = (10**12, 1, 28, 28)
    with open(huge, "wb") as f:
        np.lib.format.write_array_header_1_0(f, header)
        f.write(b"\0" * 4096)
    y = tmp_path / "y.npy"
    assert main(["csim", str(nocsim_build), "-i", str(huge), "-o", str(y)]) == 2
    _one_line_error(capsys, str(huge))
    npz = tmp_path / "x.npz"
    np.savez(npz, x=np.zeros((2, 1, 28, 28), np.float32))
    assert main(["csim", str(nocsim_build), "-i", str(npz), "-o", str(y)]) == 2
    _one_line_error(capsys, "expected a NumPy array file (.npy)")
    wrong = tmp_path / "wrong.npy"
    np.save(wrong, np.zeros((2, 784), np.float32))
    assert main(["csim", str(nocsim_build), "-i", str(wrong), "-o", str(y)]) == 2
    _one_line_error(capsys, "(N, 1, 28, 28)")
    y.write_bytes(b"old")
    np.save(tmp_path / "ok.npy", np.zeros((2, 1, 28, 28), np.float32))
    assert main(["csim", str(nocsim_build), "-i", str(tmp_path / "ok.npy"), "-o", str(y), "--emulator"]) == 2
    _one_line_error(capsys, "exists")
    assert main(["csim", str(nocsim_build), "-i", str(tmp_path / "ok.npy"), "-o", str(y), "--emulator",
                 "--force"]) == 0
    assert np.load(y).shape == (2, 10)


def test_threads_must_be_positive(tmp_path, capsys):
    assert main([*TRAIN_QUICK[:-2], "--threads", "0", "-o", str(tmp_path / "m.pt")]) == 2
    _one_line_error(capsys, "--threads")


def test_the_cli_sets_a_passive_openmp_wait_policy_unless_the_user_chose(monkeypatch):
    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    assert os.environ["OMP_WAIT_POLICY"] == "PASSIVE"
    monkeypatch.setenv("OMP_WAIT_POLICY", "ACTIVE")
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    assert os.environ["OMP_WAIT_POLICY"] == "ACTIVE"
