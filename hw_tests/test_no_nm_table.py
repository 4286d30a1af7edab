"""The written project of a 784x300 hashed layer holds K bucket weights, never an N*M table.

Inspects the firmware text (weight arrays, literal lists, kernel declarations)
and the compiled object's symbol sizes.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from hashhls.codegen.project import BuildConfig, build

N_IN, N_OUT, K = 784, 300, 29400
NM = N_IN * N_OUT


def _model() -> onnx.ModelProto:
    rng = np.random.default_rng(0)
    inits = [numpy_helper.from_array(rng.uniform(-0.1, 0.1, K).astype(np.float32), "W1"),
             numpy_helper.from_array(rng.uniform(-0.1, 0.1, N_OUT).astype(np.float32), "B1"),
             numpy_helper.from_array(rng.uniform(-0.1, 0.1, (10, N_OUT)).astype(np.float32), "W2"),
             numpy_helper.from_array(np.zeros(10, np.float32), "B2")]
    nodes = [helper.make_node("Flatten", ["x"], ["f"], name="flatten", axis=1),
             helper.make_node("HashedLinear", ["f", "W1", "B1"], ["h"], name="fc1", domain="hashhls", seed=5,
                              in_features=N_IN, out_features=N_OUT),
             helper.make_node("Relu", ["h"], ["r"], name="relu1"),
             helper.make_node("Gemm", ["r", "W2", "B2"], ["y"], name="fc2", transB=1)]
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 1, 28, 28])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 10])], initializer=inits)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 18), helper.make_opsetid("hashhls", 1)])


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("nm")
    onnx.save(_model(), str(d / "m.onnx"))
    build(BuildConfig(output_dir=d / "build", model=d / "m.onnx", compile_csim=False, progress=False))
    return d / "build" / "hls"


def _firmware_files(hls: Path) -> list[Path]:
    fw = hls / "firmware"
    return [p for p in fw.rglob("*") if p.is_file() and "ap_types" not in p.parts]


def test_hashed_layer_stores_exactly_k_weights(project):
    params = (project / "firmware" / "parameters.h").read_text()
    cfg = re.search(r"struct (config\d+) : nnet::hashed_dense_config \{(.*?)\};", params, re.S)
    assert cfg and f"n_in = {N_IN};" in cfg[2] and f"n_buckets = {K};" in cfg[2]
    call = re.search(rf"nnet::hashed_dense<[^>]*{cfg[1]}>\(\w+, \w+, (\w+), (\w+)\);",
                      (project / "firmware" / "myproject.cpp").read_text())
    w_name = call[1]
    header = (project / "firmware" / "weights" / f"{w_name}.h").read_text()
    assert re.search(rf"\b{w_name}\[{K}\]", header)
    txt = (project / "firmware" / "weights" / f"{w_name}.txt").read_text()
    assert len(txt.split(",")) == K


def test_no_array_or_literal_list_of_nm_entries(project):
    for p in _firmware_files(project):
        text = p.read_text(errors="replace")
        for m in re.finditer(r"\[([0-9*\s]+)\]", text):  # evaluated numeric array sizes
            size = int(np.prod([int(t) for t in re.findall(r"\d+", m[1])]))
            assert size < NM, f"{p.name}: array of {size} entries"
        longest = max((len(chunk.split(",")) for chunk in re.findall(r"\{([^{}]*)\}", text)), default=0)
        assert longest < NM, f"{p.name}: literal list of {longest} values"
        if p.suffix == ".txt":
            assert len(text.split(",")) < NM, p.name


def test_kernel_declares_no_nm_sized_array(project):
    kernel = (project / "firmware" / "nnet_utils" / "nnet_hashed.h").read_text()
    code = re.sub(r"//[^\n]*", "", kernel)  # declarations only, not the comments
    assert not re.search(r"\[[^\]\n]*n_in[^\]\n]*n_out[^\]\n]*\]|\[[^\]\n]*n_out[^\]\n]*n_in[^\]\n]*\]", code)
    assert "weights[CONFIG_T::n_buckets]" in kernel


@pytest.mark.csim
def test_compiled_object_has_no_nm_sized_symbol(project, tmp_path):
    if shutil.which("g++") is None or shutil.which("nm") is None:
        pytest.fail("g++ and nm are required")
    fw = project / "firmware"
    obj = tmp_path / "myproject.o"
    subprocess.run(["g++", "-std=c++11", "-O0", "-c", "-I", str(fw / "ap_types"), "-I", str(fw),
                    f"-DWEIGHTS_DIR=\"{fw / 'weights'}\"", str(fw / "myproject.cpp"), "-o", str(obj)],
                   cwd=tmp_path, check=True, capture_output=True)
    out = subprocess.run(["nm", "-S", str(obj)], capture_output=True, text=True, check=True).stdout
    sizes = {parts[3]: int(parts[1], 16) for parts in (line.split() for line in out.splitlines())
             if len(parts) == 4 and parts[2] in "bBdDrR"}
    assert max(sizes.values()) < NM, max(sizes.items(), key=lambda kv: kv[1])
    # the K bucket weights are there (2 bytes each for a 16-bit ap_fixed, rounded up by the compiler)
    assert any(K * 2 <= s < NM for s in sizes.values())
