"""The written project of a 784x300 hashed layer holds K bucket weights, never an N*M table.

Inspects the firmware text (weight arrays, literal lists, kernel declarations)
and the compiled object's symbol sizes, for a hash-version-1 and a banked
version-2 layer.

The C simulation's fast path (``nnet_hashed_csim.h``) deliberately builds, once per
process, a heap table of the N*M signed virtual weight codes: simulating a
hash per weight per image is what made csim slow. It is simulation only, so the
guarantee checked here is about what synthesis sees: the kernel header includes
the csim header only when ``__SYNTHESIS__`` (and ``HASHHLS_CSIM_APFIXED``) are
undefined; the synthesis-path object (compiled with ``-DHASHHLS_CSIM_APFIXED``,
the same preprocessor branch as ``__SYNTHESIS__``, which ap_types' open-source
headers refuse outside the HLS tool) contains no csim code at all and no N*M
sized symbol; and the csim object has no N*M sized symbol either (its table is
heap memory, not an array in the firmware).
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


def _model(banks: int | None = None) -> onnx.ModelProto:
    rng = np.random.default_rng(0)
    inits = [numpy_helper.from_array(rng.uniform(-0.1, 0.1, K).astype(np.float32), "W1"),
             numpy_helper.from_array(rng.uniform(-0.1, 0.1, N_OUT).astype(np.float32), "B1"),
             numpy_helper.from_array(rng.uniform(-0.1, 0.1, (10, N_OUT)).astype(np.float32), "W2"),
             numpy_helper.from_array(np.zeros(10, np.float32), "B2")]
    nodes = [helper.make_node("Flatten", ["x"], ["f"], name="flatten", axis=1),
             helper.make_node("HashedLinear", ["f", "W1", "B1"], ["h"], name="fc1", domain="hashhls", seed=5,
                              in_features=N_IN, out_features=N_OUT,
                              **({} if banks is None else {"hash_version": 2, "banks": banks})),
             helper.make_node("Relu", ["h"], ["r"], name="relu1"),
             helper.make_node("Gemm", ["r", "W2", "B2"], ["y"], name="fc2", transB=1)]
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 1, 28, 28])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 10])], initializer=inits)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 18),
                                               helper.make_opsetid("hashhls", 1 if banks is None else 2)])


@pytest.fixture(scope="module", params=[None, 32], ids=["hash-v1", "hash-v2-banked"])
def project(request, tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("nm")
    onnx.save(_model(request.param), str(d / "m.onnx"))
    build(BuildConfig(output_dir=d / "build", model=d / "m.onnx", compile_csim=False, progress=False))
    return d / "build" / "hls"


def _firmware_files(hls: Path) -> list[Path]:
    fw = hls / "firmware"
    return [p for p in fw.rglob("*") if p.is_file() and "ap_types" not in p.parts]


def test_hashed_layer_stores_exactly_k_weights(project):
    params = (project / "firmware" / "parameters.h").read_text()
    cfg = re.search(r"struct (config\d+) : nnet::hashed_dense_config \{(.*?)\};", params, re.S)
    assert cfg and f"n_in = {N_IN};" in cfg[2] and f"n_buckets = {K};" in cfg[2]
    call = re.search(rf"nnet::hashed_dense(?:_banked)?<[^>]*{cfg[1]}>\(\w+, \w+, (\w+), (\w+)\);",
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
    # the C simulation's table lives in nnet_hashed_csim.h, included only outside synthesis
    guard = re.search(r"#if !defined\(__SYNTHESIS__\) && !defined\(HASHHLS_CSIM_APFIXED\)\n#include \"nnet_hashed_csim.h\"",
                      code)
    assert guard and code.count("nnet_hashed_csim.h") == 1


def _symbols(fw: Path, tmp_path: Path, defines: list[str]) -> dict[str, int]:
    obj = tmp_path / f"myproject{len(defines)}.o"
    subprocess.run(["g++", "-std=c++11", "-O0", "-c", *defines, "-I", str(fw / "ap_types"), "-I", str(fw),
                    f"-DWEIGHTS_DIR=\"{fw / 'weights'}\"", str(fw / "myproject.cpp"), "-o", str(obj)],
                   cwd=tmp_path, check=True, capture_output=True)
    out = subprocess.run(["nm", "-S", "-C", str(obj)], capture_output=True, text=True, check=True).stdout
    sizes = {}
    for line in out.splitlines():  # "address size type name" (symbols without a size have fewer fields)
        m = re.match(r"([0-9a-fA-F]+) ([0-9a-fA-F]+) (\w) (.*)$", line)
        if m:
            sizes[m[4]] = (int(m[2], 16), m[3])
    assert sizes, out[:2000]
    return sizes


@pytest.mark.csim
@pytest.mark.parametrize("path", ["synthesis", "csim"])
def test_compiled_object_has_no_nm_sized_symbol(project, tmp_path, path):
    if shutil.which("g++") is None or shutil.which("nm") is None:
        pytest.fail("g++ and nm are required")
    sizes = _symbols(project / "firmware", tmp_path, ["-DHASHHLS_CSIM_APFIXED"] if path == "synthesis" else [])
    data = {name: size for name, (size, kind) in sizes.items() if kind in "bBdDrRuV"}
    assert max(data.values()) < NM, max(data.items(), key=lambda kv: kv[1])
    # the K bucket weights are there (2 bytes each for a 16-bit ap_fixed, rounded up by the compiler)
    assert any(K * 2 <= s < NM for s in data.values())
    csim_code = [name for name in sizes if "hashhls_csim" in name]
    if path == "synthesis":
        assert not csim_code  # the synthesis path holds none of the simulation's table code
    else:
        assert csim_code  # ... which the csim object does use
