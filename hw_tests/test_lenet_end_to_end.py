"""LeNet-5 end to end: train (briefly) -> checkpoint -> build for pynq-z2 -> csim bit-exact with the emulator on
all 10,000 MNIST test images -> attack -> replay, with the estimate of the hashed build inside the xc7z020."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import numpy as np
import pytest
from csim_helpers import make_build

from hashhls.codegen.boards import load_board
from hashhls.codegen.csim import load_build
from hashhls.codegen.emulator import Emulator
from hashhls.codegen.manifest import BuildManifest
from hashhls.frontend.checkpoint import save_checkpoint
from hashhls.frontend.datasets import load_mnist
from hashhls.frontend.train import train_model
from hashhls.frontend.zoo import ModelConfig

pytestmark = [pytest.mark.csim, pytest.mark.slow]


@pytest.fixture(scope="module")
def lenet(tmp_path_factory):
    """A hashed 1/8 LeNet-5 (hash version 2, its default banks) trained for 4 epochs on 5,000 bundled images
    (enough to classify most digits)."""
    d = tmp_path_factory.mktemp("lenet")
    cfg = ModelConfig("lenet5", compression=8, seed=1, hash_version=2)
    x, y = load_mnist(split="train", limit=5000)
    model, _ = train_model(cfg, (x, y), epochs=4, progress=False)
    ckpt = save_checkpoint(d / "lenet5-c8.pt", model, cfg)
    return ckpt, make_build(d / "build", ckpt, board="pynq-z2")


def test_lenet_csim_equals_emulator_on_all_mnist_test_images(lenet, mnist_test):
    import onnxruntime as ort

    _, build_dir = lenet
    x, labels = mnist_test
    hashed = [layer for layer in BuildManifest.read(build_dir).layers if layer.buckets]
    assert hashed and all(layer.attrs.get("hash_version") == 2 for layer in hashed)  # the banked kernels
    assert "hashed_conv2d_banked_cl" in (build_dir / "hls" / "firmware" / "myproject.cpp").read_text()
    got = load_build(build_dir).predict(x)
    np.testing.assert_array_equal(got, Emulator.from_build(build_dir).predict(x))
    sess = ort.InferenceSession(str(build_dir / "model.onnx"), providers=["CPUExecutionProvider"])
    ref = sess.run(None, {sess.get_inputs()[0].name: x})[0]
    agreement = float((ref.argmax(1) == got.argmax(1)).mean())
    print(f"\nLeNet-5 1/8: float vs fixed argmax agreement {agreement:.2%}, fixed accuracy "
          f"{(got.argmax(1) == labels).mean():.2%}")
    assert agreement >= 0.995
    assert (got.argmax(1) == labels).mean() > 0.8


def test_lenet_estimate_fits_the_xc7z020_and_the_dense_one_is_reported(lenet):
    _, build_dir = lenet
    summary = (build_dir / "summary.md").read_text()
    board = load_board("pynq-z2")
    m = re.search(r"as built (\d+)/(\d+) \(\d+%\) BRAM_18K, (\d+)/(\d+) \(\d+%\) DSP, ([\d,]+)/([\d,]+) \(\d+%\) "
                  r"LUT: fits", summary)
    assert m, summary
    bram, bram_cap, dsp, dsp_cap, lut, lut_cap = (int(m[i].replace(",", "")) for i in (1, 2, 3, 4, 5, 6))
    assert (bram_cap, dsp_cap, lut_cap) == (board.resources.bram_18k, board.resources.dsp, board.resources.lut)
    assert bram <= bram_cap and dsp <= dsp_cap and lut <= lut_cap
    # the dense design given the same DSPs stores N*M words: more BRAM
    side = re.search(r"\| BRAM_18K \| (\d+) \| (\d+) \|", summary)
    assert side and int(side[1]) == bram and int(side[2]) > bram


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "hashhls", *map(str, args)], capture_output=True, text=True)


def test_lenet_attack_and_replay(lenet, tmp_path):
    ckpt, build_dir = lenet
    adv = tmp_path / "adv.npz"
    r = _cli("attack", ckpt, "--attack", "fgsm", "--eps", "0.1,0.3", "--on", "hashed", "-n", "60", "-o", adv)
    assert r.returncode == 0, r.stderr
    r = _cli("replay", build_dir, adv, "-o", tmp_path / "report")
    assert r.returncode == 0, r.stderr
    report = json.loads((tmp_path / "report" / "report.json").read_text())
    (result,) = report["results"]
    targets = {t["name"]: t for t in result["targets"]}
    assert {"hashed float", "onnxruntime", "emulator", "csim"} <= set(targets)
    assert targets["emulator"]["successes"] == targets["csim"]["successes"]  # bit-exact twins
    rates = targets["csim"]["success_rate"]
    assert 0 < rates[0] <= rates[1]  # a larger budget fools the hardware at least as often
    assert result["linf"] == pytest.approx([0.1, 0.3], abs=1e-6)
    assert (tmp_path / "report" / "report.md").is_file()
    assert list((tmp_path / "report").glob("*.png"))
