"""Hostile names in an ONNX file never reach the generated C++, Tcl or shell scripts raw."""

from __future__ import annotations

import re
import shutil
import subprocess

import onnx
import pytest
from onnx_models import dense, hashed, mlp_onnx, relu

from hashhls.codegen.project import BuildConfig, build

PAYLOADS = [
    'fc1"; system("touch /tmp/pwned"); //',
    "end */ int evil; /*",
    "line1\n#include </etc/passwd>\nline2",
    "$(touch /tmp/pwned) `id` ; rm -rf / | cat &",
    "] ; exec sh ; puts [",
    "{*}[exec id]",
]
FRAGMENTS = ['"; system(', "*/ int evil", "#include </etc/passwd>", "$(touch", "`id`", "rm -rf /", "exec sh ;",
             "{*}[exec", "/tmp/pwned"]


@pytest.fixture(scope="module")
def hostile_build(tmp_path_factory):
    d = tmp_path_factory.mktemp("hostile")
    m = mlp_onnx([hashed(16, 8, 30, seed=1, name=PAYLOADS[0]), relu(name=PAYLOADS[1]),
                  dense(8, 4, name=PAYLOADS[2])], input_shape=(16,), input_name=PAYLOADS[3],
                 flatten_name=PAYLOADS[4])
    m.graph.name = PAYLOADS[5]
    m.graph.output[0].name = m.graph.node[-1].output[0] = PAYLOADS[5]
    m.doc_string = PAYLOADS[3]
    onnx.save(m, str(d / "evil.onnx"))
    manifest = build(BuildConfig(output_dir=d / "out", model=d / "evil.onnx", compile_csim=False, progress=False))
    return d / "out", manifest


def test_names_are_sanitised_identifiers(hostile_build):
    _, manifest = hostile_build
    for layer in manifest.layers:
        assert re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", layer.name), layer.name
        assert re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", layer.onnx_node), layer.onnx_node


def test_no_payload_fragment_in_any_generated_text(hostile_build):
    out, _ = hostile_build
    checked = 0
    for p in out.rglob("*"):
        if not p.is_file() or p.name == "model.onnx" or "ap_types" in p.parts:
            continue
        text = p.read_text(errors="replace")
        checked += 1
        for frag in FRAGMENTS:
            assert frag not in text, f"{frag!r} in {p.relative_to(out)}"
    assert checked > 20  # C++, Tcl, shell, driver, manifest, summary


def test_generated_cpp_still_compiles(hostile_build):
    if shutil.which("g++") is None:
        pytest.fail("g++ is required")
    fw = hostile_build[0] / "hls" / "firmware"
    subprocess.run(["g++", "-std=c++11", "-fsyntax-only", "-I", str(fw / "ap_types"), "-I", str(fw),
                    str(fw / "myproject.cpp")], cwd=fw, check=True, capture_output=True)


def test_names_shaped_like_hls4ml_identifiers_do_not_shadow_them(tmp_path):
    if shutil.which("g++") is None:
        pytest.fail("g++ is required")
    m = mlp_onnx([hashed(16, 8, 30, seed=1, name="w3"), relu(name="layer3_out"), dense(8, 4, name="config5")],
                 input_shape=(16,), input_name="input_t", flatten_name="result_t")
    onnx.save(m, str(tmp_path / "m.onnx"))
    build(BuildConfig(output_dir=tmp_path / "out", model=tmp_path / "m.onnx", compile_csim=False, progress=False))
    fw = tmp_path / "out" / "hls" / "firmware"
    assert re.search(r"input_t \w+\[16\]", (fw / "myproject.h").read_text())
    assert "input_t input_t[" not in (fw / "myproject.h").read_text()
    subprocess.run(["g++", "-std=c++11", "-fsyntax-only", "-I", str(fw / "ap_types"), "-I", str(fw),
                    str(fw / "myproject.cpp")], cwd=fw, check=True, capture_output=True)


#: Identifiers the firmware, hls4ml's headers, the csim bridge or the C library already define.
TAKEN = ["N_IN", "N_OUT", "NULL", "errno", "M_PI", "WEIGHTS_DIR", "loaded_weights", "EOF", "stdin", "main", "std",
         "assert", "size_t", "INFINITY", "kInputs", "sample", "result", "nnet", "myproject", "input_t", "layer2_out"]


@pytest.mark.slow
@pytest.mark.parametrize("offset", [0, 7, 14])
def test_names_the_c_world_already_uses_never_collide(tmp_path, offset):
    """Nodes and tensors named after identifiers the generated code and its headers define: builds, compiles
    (the whole C simulation, bridge included) and computes what the emulator does."""
    import numpy as np

    from hashhls.codegen.csim import load_build
    from hashhls.codegen.emulator import Emulator

    names = TAKEN[offset:] + TAKEN[:offset]
    m = mlp_onnx([hashed(16, 8, 30, seed=1, name=names[0]), relu(name=names[1]), dense(8, 4, name=names[2])],
                 input_shape=(16,), input_name=names[3], flatten_name=names[4])
    tensors = iter(names[5:])
    renames = {}
    for node in m.graph.node:
        for i, t in enumerate(node.output):
            renames[t] = next(tensors)
            node.output[i] = renames[t]
        node.input[:] = [renames.get(t, t) for t in node.input]
    for init in m.graph.initializer:
        new = next(tensors, None)
        if new is not None:
            for node in m.graph.node:
                node.input[:] = [new if t == init.name else t for t in node.input]
            init.name = new
    m.graph.output[0].name = m.graph.node[-1].output[0]
    onnx.save(m, str(tmp_path / "m.onnx"))
    build(BuildConfig(output_dir=tmp_path / "out", model=tmp_path / "m.onnx", board="pynq-z2", progress=False))
    x = np.random.default_rng(0).uniform(-2, 2, (64, 16)).astype(np.float32)
    np.testing.assert_array_equal(load_build(tmp_path / "out").predict(x), Emulator.from_build(tmp_path / "out").predict(x))


def test_a_model_file_name_with_terminal_escapes_is_shown_escaped(tmp_path):
    p = tmp_path / "m\x1b[31m\x07.onnx"
    onnx.save(mlp_onnx([dense(16, 4)], input_shape=(16,)), str(p))
    build(BuildConfig(output_dir=tmp_path / "out", model=p, board="none", compile_csim=False, progress=False))
    summary = (tmp_path / "out" / "summary.md").read_text()
    assert "\x1b" not in summary and "\x07" not in summary and "\\x1b[31m" in summary
