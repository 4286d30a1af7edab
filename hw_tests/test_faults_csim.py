"""Bit flips written into a copy of a build's weight files: csim == the flipped emulator, bit for bit;
``hashhls faults`` end to end and its bad input."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import onnx
import pytest
from csim_helpers import chain_onnx, make_build

from hashhls.adversarial.faults import BitFlip, BitFlipAttack, RandomFlips, WeightStore, read_words
from hashhls.codegen.csim import load_build
from hashhls.core.errors import InvalidFileError

# every weighted kind: hashed conv (K words), conv (hls4ml's kh, kw, in, out file order), dense
LAYERS = [("hashedconv", 1, 3, 3, 1, (1, 1, 1, 1), 12, 9), ("relu",), ("maxpool", 2, 2),  # 3 x 14 x 14
          ("conv", 3, 4, 3, 2, (0, 1, 1, 0)), ("relu",), ("flatten",),                     # 4 x 7 x 7
          ("dense", 196, 10)]


def _weights_bytes(build):
    return {p.name: p.read_bytes() for p in sorted((build / "hls" / "firmware" / "weights").glob("*.txt"))}


@pytest.mark.slow
def test_flipped_weight_files_in_csim_equal_the_flipped_emulator(tmp_path, mnist_test):
    onnx.save(chain_onnx(LAYERS, flatten=False, scale=0.4), str(tmp_path / "m.onnx"))
    build = make_build(tmp_path / "b", tmp_path / "m.onnx", reuse_factor=4)
    golden_files = _weights_bytes(build)
    store = WeightStore.from_build(build)
    assert [sl.kind for sl in store.layers] == ["hashed_conv2d", "conv2d", "dense"]
    x, y = mnist_test[0][:300], mnist_test[1][:300]
    bfa = BitFlipAttack().run(store, mnist_test[0][-64:], mnist_test[1][-64:], flips=2)
    flips = [*bfa, *RandomFlips(seed=4).run(store, None, None, flips=6),
             *[BitFlip(sl.name, sl.n_words - 1, sl.wtype.width - 1) for sl in store.layers],  # a sign bit each
             *[BitFlip(sl.name, 0, 0) for sl in store.layers]]  # and an LSB each
    copy = store.copy_build(tmp_path / "copy")
    csim = load_build(copy)
    clean = csim.predict_codes(x)
    assert np.array_equal(clean, store.emulator().predict_codes(x))
    for k in (1, 2, len(flips)):
        store.write(copy, flips[:k])
        got = csim.predict_codes(x)
        assert np.array_equal(got, store.emulator(flips[:k]).predict_codes(x))
        assert not np.array_equal(got, clean)
    want = store.codes(flips)  # the copy's files hold exactly the flipped words
    weights = copy / "hls" / "firmware" / "weights"
    assert all(np.array_equal(read_words(weights / sl.file, sl.wtype), want[sl.name]) for sl in store.layers)
    with pytest.raises(InvalidFileError):  # ... which no longer match its model.onnx
        WeightStore.from_build(copy)
    assert _weights_bytes(build) == golden_files  # the original build is untouched


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "hashhls.cli.main", *map(str, args)], capture_output=True, text=True)


@pytest.mark.slow
def test_faults_cli_report(default_build, tmp_path):
    out = tmp_path / "rep"
    res = _cli("faults", default_build, "--attack", "bfa", "--flips", 3, "-n", 200, "-o", out, "--no-progress")
    assert res.returncode == 0, res.stderr
    assert {p.name for p in out.iterdir()} == {"report.md", "report.json", "accuracy_vs_flips.png"}
    (b,) = json.loads((out / "report.json").read_text())["builds"]
    assert len(b["flips"]) == 3 and len(b["accuracy_emulator"]) == 4
    assert b["accuracy_csim"] == b["accuracy_emulator"] and b["csim_bit_exact"] is True
    assert b["accuracy_emulator"][0] > 0.9 and b["accuracy_emulator"][-1] < 0.5  # BFA wrecks the model
    assert b["detection"]["detected_groups"] >= 1


@pytest.mark.parametrize("args", [["--attack", "rowhammer"], ["--flips", "0"], ["--flips", "-2"],
                                  ["--flips", "600000"]])  # the default build stores 532,400 bits
def test_faults_cli_bad_input(default_build, tmp_path, args):
    out = tmp_path / "rep"
    res = _cli("faults", default_build, *args, "-o", out)
    assert res.returncode == 2
    assert res.stderr.startswith("hashhls: error: ") and len(res.stderr.strip().splitlines()) == 1
    assert not out.exists()
