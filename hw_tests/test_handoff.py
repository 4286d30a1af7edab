"""The Vivado hand-off: tb_data holds calibration inputs and their bit-exact outputs, and the generated
testbench, compiled with g++ from the same sources Vivado HLS's csim_design compiles and run in a directory
laid out as Vivado's (``weights/`` and ``tb_data/`` beside the executable), reads them and reports a match;
a wrong expected value makes it fail.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import onnx
import pytest
from csim_helpers import REPO, chain_onnx, make_build

from hashhls.codegen.emulator import Emulator
from hashhls.codegen.handoff import TB_DIR, TB_INPUTS, TB_OUTPUTS, TB_SAMPLES
from hashhls.codegen.manifest import BuildManifest
from hashhls.frontend.datasets import load_mnist

pytestmark = pytest.mark.csim

LENET = REPO / "frontend" / "pretrained" / "lenet5-c8.pt"


@pytest.fixture(scope="module")
def lenet_stream_build(tmp_path_factory) -> Path:
    """LeNet-5 (channels-last input), io_stream, plain Vivado backend: the top takes hls::streams."""
    return make_build(tmp_path_factory.mktemp("lenet_stream") / "build", LENET, io_type="io_stream")


@pytest.fixture(scope="module")
def plain_build(tmp_path_factory) -> Path:
    """A small MLP with no board: the top takes input_t / result_t arrays."""
    d = tmp_path_factory.mktemp("plain")
    onnx.save(chain_onnx([("hashed", 784, 16, 500, 3), ("relu",), ("dense", 16, 10)], scale=0.3), str(d / "m.onnx"))
    return make_build(d / "build", d / "m.onnx")


BUILDS = ["default_build", "lenet_stream_build", "plain_build"]


def _compile_testbench(build_dir: Path, out: Path, defines: tuple[str, ...] = ()) -> Path:
    """g++ on the files build_prj.tcl gives Vivado HLS (add_files / add_files -tb), with its -std=c++0x."""
    manifest = BuildManifest.read(build_dir)
    hls = build_dir / "hls"
    project = manifest.project_name
    sources = [hls / f"{project}_test.cpp", hls / "firmware" / f"{project}.cpp"]
    if (hls / "firmware" / f"{project}_axi.cpp").is_file():
        sources.append(hls / "firmware" / f"{project}_axi.cpp")
    exe = out / "csim.exe"
    cmd = ["g++", "-std=c++0x", "-O1", "-Wno-unknown-pragmas", "-I", str(hls), "-I", str(hls / "firmware"),
           "-I", str(hls / "firmware" / "ap_types"), *(f"-D{d}" for d in defines), *map(str, sources), "-o", str(exe)]
    res = subprocess.run(cmd, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr[-2000:]
    return exe


def _vivado_csim_dir(build_dir: Path, run: Path) -> Path:
    """What csim_design runs in: copies of the testbench files (weights/, tb_data/) beside the executable."""
    hls = build_dir / "hls"
    shutil.copytree(hls / "firmware" / "weights", run / "weights")
    shutil.copytree(hls / TB_DIR, run / TB_DIR)
    return run


def _read(path: Path) -> np.ndarray:
    return np.array([[float(v) for v in line.split()] for line in path.read_text().splitlines()])


@pytest.mark.parametrize("fixture", BUILDS)
def test_tb_data_holds_calibration_images_and_their_emulated_outputs(fixture, request):
    build_dir = request.getfixturevalue(fixture)
    manifest = BuildManifest.read(build_dir)
    x, _ = load_mnist(split="train", limit=TB_SAMPLES)
    x = x.reshape(len(x), *manifest.input_shape)
    tb = build_dir / "hls" / TB_DIR
    # The order the C++ top function reads (channels-last for LeNet), written exactly.
    top_order = x.transpose(0, 2, 3, 1) if manifest.input_layout == "NHWC" else x
    assert np.array_equal(_read(tb / TB_INPUTS), top_order.reshape(len(x), -1).astype(np.float64))
    assert np.array_equal(_read(tb / TB_OUTPUTS), Emulator.from_build(build_dir).predict(x))


@pytest.mark.parametrize("fixture", BUILDS)
def test_generated_testbench_compiles_reads_tb_data_and_reports_a_match(fixture, request, tmp_path):
    build_dir = request.getfixturevalue(fixture)
    exe = _compile_testbench(build_dir, tmp_path)
    run = _vivado_csim_dir(build_dir, tmp_path / "csim")
    res = subprocess.run([str(exe)], cwd=run, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stdout + res.stderr
    assert f"{TB_SAMPLES}/{TB_SAMPLES} samples match" in res.stdout
    # The outputs it logged are the build's csim outputs (hashhls's own harness, a separate executable).
    from hashhls.codegen.csim import load_build

    x, _ = load_mnist(split="train", limit=TB_SAMPLES)
    manifest = BuildManifest.read(build_dir)
    csim = load_build(build_dir).predict(x.reshape(len(x), *manifest.input_shape))
    logged = _read(run / TB_DIR / "csim_results.log")
    if manifest.backend == "VivadoAccelerator":  # the AXI interface carries float
        csim = csim.astype(np.float32).astype(np.float64)
    assert np.array_equal(logged, csim)


def test_testbench_checks_the_synthesis_path_too(default_build, tmp_path):
    """With the hashed kernels' ap_fixed (synthesised) path compiled in, the same tb_data still matches."""
    exe = _compile_testbench(default_build, tmp_path, defines=("HASHHLS_CSIM_APFIXED",))
    run = _vivado_csim_dir(default_build, tmp_path / "csim")
    res = subprocess.run([str(exe)], cwd=run, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0 and f"{TB_SAMPLES}/{TB_SAMPLES} samples match" in res.stdout, res.stdout


def test_testbench_fails_when_an_output_differs(plain_build, tmp_path):
    exe = _compile_testbench(plain_build, tmp_path)
    run = _vivado_csim_dir(plain_build, tmp_path / "csim")
    expected = (run / TB_DIR / TB_OUTPUTS).read_text().splitlines()
    first = expected[3].split()
    first[2] = repr(float(first[2]) + 2.0**-10)  # one LSB of ap_fixed<16,6> off
    expected[3] = " ".join(first)
    (run / TB_DIR / TB_OUTPUTS).write_text("\n".join(expected) + "\n")
    res = subprocess.run([str(exe)], cwd=run, capture_output=True, text=True, timeout=300)
    assert res.returncode == 1
    assert f"{TB_SAMPLES - 1}/{TB_SAMPLES} samples match" in res.stdout and "sample 3 differs" in res.stdout


def test_testbench_refuses_missing_or_malformed_data(plain_build, tmp_path):
    exe = _compile_testbench(plain_build, tmp_path)
    empty = tmp_path / "empty"
    empty.mkdir()
    res = subprocess.run([str(exe)], cwd=empty, capture_output=True, text=True, timeout=60)
    assert res.returncode == 2 and "cannot open" in res.stdout
    run = _vivado_csim_dir(plain_build, tmp_path / "csim")
    lines = (run / TB_DIR / TB_OUTPUTS).read_text().splitlines()
    (run / TB_DIR / TB_OUTPUTS).write_text("\n".join([lines[0], "1 2 3"] + lines[2:]) + "\n")
    res = subprocess.run([str(exe)], cwd=run, capture_output=True, text=True, timeout=300)
    assert res.returncode == 2 and "line 2" in res.stdout


def test_build_readme_reports_what_was_verified(default_build, lenet_stream_build):
    text = (default_build / "README.md").read_text()
    assert "1000 of 1000 inputs gave bit-identical outputs" in text
    assert "export=1" in text and "vivado -mode batch -source design.tcl" in text
    assert "NeuralNetworkOverlay" in text and "x.reshape(len(x), -1)" in text
    manifest = BuildManifest.read(default_build)
    verification = dict(manifest.verification)
    guard = verification.pop("precision_guard")  # the precision guard's record (codegen.guard.guard_record)
    assert verification == {"samples": 1000, "inputs": "the first 1000 bundled MNIST training images",
                            "csim_matches": 1000, "tb_samples": TB_SAMPLES}
    assert guard["samples"] == 1000 and guard["warnings"] == [] and guard["agreement"] >= 0.99
    assert f"{100 * guard['agreement']:.2f}% of 1,000 calibration images" in text
    lenet = (lenet_stream_build / "README.md").read_text()
    assert "design.tcl" not in lenet.split("## What is here")[1].split("## Verified")[0]  # no board: no block design
    assert "NeuralNetworkOverlay" not in lenet
