"""Zero tracebacks: malformed ONNX files are one-line refusals (a HashhlsError, nothing written) or builds that
simulate. The seeded mutator is sw_tests/onnx_fuzz.py; bench/fuzz_onnx.py runs thousands of cases.

In CI: 400 mutants (every one built without compiling C++; every build that
succeeds is run through the emulator) and the C simulation compiled for the
first two successful builds, compared with the emulator bit for bit. Plus the
failures measured before this test existed, each as its own case.
"""

from __future__ import annotations

import shutil
import subprocess
import sys

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from onnx_fuzz import base_models, mutants, run_case
from onnx_models import dense, hashed, hashed_conv_onnx, mlp_onnx, relu

from hashhls.codegen.project import BuildConfig, build
from hashhls.core.errors import HashhlsError, InvalidFileError, UnsupportedModelError

CI_CASES = 400
CSIM_SAMPLE = 2


@pytest.fixture(scope="module")
def bases():
    return base_models()


def test_every_mutant_is_a_clean_refusal_or_a_build_that_simulates(bases, tmp_path):
    counts = {"refused": 0, "built": 0, "failure": 0}
    failures = []
    compiled = 0
    for i, (label, data) in enumerate(mutants(bases, CI_CASES, seed=15)):
        work = tmp_path / str(i)
        kind, detail = run_case(data, work)
        if kind == "built" and compiled < CSIM_SAMPLE:  # the C simulation for a small sample of the builds
            shutil.rmtree(work)
            kind, detail = run_case(data, work, csim=True)
            compiled += 1
        counts[kind] += 1
        if kind == "failure":
            failures.append(f"{label}: {detail}")
        shutil.rmtree(work, ignore_errors=True)
    assert not failures, "\n".join(failures[:5])
    assert counts["refused"] > CI_CASES // 2 and counts["built"] >= CSIM_SAMPLE  # both outcomes exercised
    assert compiled == CSIM_SAMPLE


def _save(tmp_path, m, name="m.onnx"):
    p = tmp_path / name
    p.write_bytes(m.SerializeToString())
    return p


def _build(tmp_path, m, **kw):
    return build(BuildConfig(output_dir=tmp_path / "out", model=_save(tmp_path, m), board="none", compile_csim=False,
                             progress=False, **kw))


def _small():
    return mlp_onnx([hashed(16, 8, 30, seed=1, name="h"), relu(name="r"), dense(8, 4, name="d")], input_shape=(16,))


@pytest.mark.parametrize("data_type, dims", [(TensorProto.INT64, None), (TensorProto.DOUBLE, None), (99, None),
                                             (None, [31]), (None, [10**12]), (None, [-1])])
def test_initializer_inconsistent_with_its_dims_or_dtype_is_refused(tmp_path, data_type, dims):
    """Measured before: ValueError / KeyError in codegen/precision.py."""
    m = _small()
    t = m.graph.initializer[0]
    if data_type is not None:
        t.data_type = data_type
    if dims is not None:
        del t.dims[:]
        t.dims.extend(dims)
    with pytest.raises((InvalidFileError, UnsupportedModelError)):
        _build(tmp_path, m)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_nonfinite_weights_are_refused(tmp_path, value):
    m = _small()
    t = m.graph.initializer[2]
    w = numpy_helper.to_array(t).copy()
    w[1, 3] = value
    t.CopyFrom(numpy_helper.from_array(w, t.name))
    with pytest.raises(UnsupportedModelError, match="NaN or infinity"):
        _build(tmp_path, m)


@pytest.mark.parametrize("domain, version", [("", 99), ("", 5), ("hashhls", 7)])
def test_unknown_opsets_are_refused(tmp_path, domain, version):
    m = _small()
    for o in m.opset_import:
        if o.domain == domain:
            o.version = version
    with pytest.raises(UnsupportedModelError, match=f"{version}"):
        _build(tmp_path, m)


def test_attribute_of_the_wrong_type_is_refused(tmp_path):
    """Measured before: TypeError in geometry.py (here a float kernel_shape of a hashed convolution)."""
    m = hashed_conv_onnx()
    conv = m.graph.node[0]
    a = next(a for a in conv.attribute if a.name == "kernel_shape")
    a.CopyFrom(helper.make_attribute("kernel_shape", 3.0))
    with pytest.raises(UnsupportedModelError, match="kernel_shape.*must be a list of ints"):
        _build(tmp_path, m)


def test_gemm_trans_a_is_never_built_as_trans_a_0(tmp_path):
    """Measured before: a Gemm with transA=1 was built as if transA=0 (a different function)."""
    m = mlp_onnx([dense(16, 4, name="g")], input_shape=(16,))
    m.graph.node[1].attribute.append(helper.make_attribute("transA", 1))
    with pytest.raises(UnsupportedModelError, match="transA"):
        _build(tmp_path, m)


def test_a_refusal_is_one_line_on_the_command_line_and_writes_nothing(tmp_path):
    m = _small()
    m.graph.node[1].name = "evil\x1b[2J\x1b[31m"
    m.graph.node[1].op_type = "Erf"
    p = _save(tmp_path, m)
    res = subprocess.run([sys.executable, "-m", "hashhls", "build", str(p), "--board", "none", "-o",
                          str(tmp_path / "out")], capture_output=True, text=True)
    assert res.returncode == 2
    err = res.stderr.strip().splitlines()
    assert len(err) == 1 and "Erf" in err[0] and "Traceback" not in res.stderr
    assert "\x1b" not in res.stderr and "\\x1b" in res.stderr  # the escape code is shown, not executed
    assert sorted(q.name for q in tmp_path.iterdir()) == ["m.onnx"]


def test_garbage_and_truncated_files_are_invalid_files(tmp_path):
    data = _small().SerializeToString()
    for n in (0, 3, len(data) // 2, len(data) - 1):
        with pytest.raises(HashhlsError):
            build(BuildConfig(output_dir=tmp_path / "out", model=_save(tmp_path, onnx.ModelProto(), "x.onnx")
                              if n == 0 else _write(tmp_path, data[:n]), board="none", compile_csim=False,
                              progress=False))
        assert not (tmp_path / "out").exists()


def _write(tmp_path, data: bytes):
    p = tmp_path / "t.onnx"
    p.write_bytes(data)
    return p
