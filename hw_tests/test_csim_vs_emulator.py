"""The compiled C simulation against the bit-exact numpy emulator (the oracle), and the harness's contract.

Every model is built by the real flow (hls4ml project, g++), then run through
``hashhls.codegen.csim`` on whole batches; outputs must equal the emulator's
bit for bit.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import onnx
import pytest

from hashhls.codegen.csim import EXE_NAME, compile_build, load_build
from hashhls.codegen.emulator import Emulator
from hashhls.codegen.fixed import FixedType
from hashhls.codegen.manifest import MANIFEST_NAME, BuildManifest, record_build_files, record_files
from hashhls.core.errors import CsimError, HashhlsError, InvalidFileError

from csim_helpers import chain_onnx, make_build

pytestmark = pytest.mark.csim

EVERY_KIND = [("hashed", 784, 64, 1500, 7), ("relu",), ("dense", 64, 32), ("relu",), ("hashed", 32, 10, 64, 3)]


def _float_reference(build_dir: Path, x: np.ndarray) -> np.ndarray:
    """The float model as built (model.onnx, whose hashed ops have ONNX function bodies) in onnxruntime."""
    import onnxruntime as ort

    sess = ort.InferenceSession(str(build_dir / "model.onnx"), providers=["CPUExecutionProvider"])
    return sess.run(None, {sess.get_inputs()[0].name: x})[0]


@pytest.mark.slow
def test_default_model_csim_equals_emulator_on_all_mnist_test_images(default_build, mnist_test):
    x, labels = mnist_test
    assert len(x) == 10_000
    got = load_build(default_build).predict(x)
    expected = Emulator.from_build(default_build).predict(x)
    assert got.dtype == np.float64 and got.shape == (10_000, 10)
    np.testing.assert_array_equal(got, expected)

    ref = _float_reference(default_build, x)
    agreement = float((ref.argmax(1) == got.argmax(1)).mean())
    print(f"\nfloat vs fixed argmax agreement (default precision, 10,000 MNIST test images): {agreement:.2%}; "
          f"fixed accuracy {(got.argmax(1) == labels).mean():.2%}, "
          f"float accuracy {(ref.argmax(1) == labels).mean():.2%}")
    assert agreement >= 0.995


@pytest.mark.slow
@pytest.mark.parametrize("precision", ["ap_fixed<16,6,AP_RND_CONV,AP_SAT>", "ap_fixed<12,3,AP_TRN,AP_WRAP>"])
def test_every_layer_kind_csim_equals_emulator(tmp_path, mnist_test, precision):
    onnx_path = tmp_path / "every_kind.onnx"
    onnx.save(chain_onnx(EVERY_KIND, scale=0.3), str(onnx_path))
    build_dir = make_build(tmp_path / "b", onnx_path, precision=precision, reuse_factor=16)
    kinds = [layer.kind for layer in Emulator.from_build(build_dir).layers]
    assert {"flatten", "hashed_dense", "relu", "dense"} <= set(kinds)

    # All 10,000 test images, plus wide random inputs that overflow the input type (saturation / wrap paths).
    wide = np.random.default_rng(5).uniform(-40, 40, (2000, 1, 28, 28)).astype(np.float32)
    x = np.concatenate([mnist_test[0], wide])
    t = FixedType.parse(precision)
    assert (np.abs(wide) > t.max_value).any()
    got = load_build(build_dir).predict(x)
    expected = Emulator.from_build(build_dir).predict(x)
    np.testing.assert_array_equal(got, expected)
    assert len(np.unique(got)) > 100  # a non-degenerate network


# -- the harness: caching, relocation, isolation, errors ------------------------

@pytest.fixture(scope="module")
def tiny_build(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("tiny")
    onnx.save(chain_onnx([("hashed", 20, 8, 30, 11), ("relu",), ("dense", 8, 4)], input_shape=(20,), flatten=False,
                         scale=0.5), str(d / "tiny.onnx"))
    return make_build(d / "b", d / "tiny.onnx", reuse_factor=4)


def _copy(build: Path, tmp_path: Path) -> Path:
    dst = tmp_path / "copy"
    shutil.copytree(build, dst)
    return dst


def _x(n: int = 300) -> np.ndarray:
    return np.random.default_rng(0).uniform(-4, 4, (n, 20)).astype(np.float32)


def test_build_compiles_once_and_is_relocatable(tiny_build, tmp_path):
    exe = tiny_build / "csim" / EXE_NAME
    assert exe.is_file()  # the build flow compiled it
    before = exe.stat().st_mtime_ns
    assert compile_build(tiny_build) == exe
    assert exe.stat().st_mtime_ns == before  # unchanged sources: no recompilation

    moved = _copy(tiny_build, tmp_path)
    model = load_build(moved)
    assert model.exe == moved / "csim" / EXE_NAME
    assert model.exe.stat().st_mtime_ns == before  # content hash still valid after the move
    np.testing.assert_array_equal(model.predict(_x()), Emulator.from_build(moved).predict(_x()))


def test_batches_split_across_processes_in_order(tiny_build):
    x = _x(1001)
    one = load_build(tiny_build, workers=1).predict(x)
    two = load_build(tiny_build, workers=2).predict(x)
    np.testing.assert_array_equal(one, two)
    np.testing.assert_array_equal(two, Emulator.from_build(tiny_build).predict(x))
    assert load_build(tiny_build).predict(x[:0]).shape == (0, 4)


def test_changed_firmware_recompiles_and_a_crash_is_a_clear_error(tiny_build, tmp_path):
    build = _copy(tiny_build, tmp_path)
    top = build / "hls" / "firmware" / "myproject.cpp"
    text = top.read_text()
    anchor = "// hls-fpga-machine-learning insert layers"
    assert anchor in text
    top.write_text("#include <cstdlib>\n" + text.replace(anchor, anchor + "\n    std::abort();"))
    with pytest.raises(InvalidFileError, match=r"hls/firmware/myproject\.cpp was modified since the build"):
        load_build(build)  # the manifest's sha256 catches the edit ...
    record_build_files(build)  # ... unless the copy's files are re-recorded as its own
    model = load_build(build)
    assert model.exe.stat().st_mtime_ns != (tiny_build / "csim" / EXE_NAME).stat().st_mtime_ns
    with pytest.raises(HashhlsError, match="killed by signal SIGABRT"):
        model.predict(_x())


def test_exit_inside_the_firmware_is_a_clear_error(tiny_build, tmp_path):
    build = _copy(tiny_build, tmp_path)
    model = load_build(build)
    for f in (build / "hls" / "firmware" / "weights").glob("w*.txt"):
        f.unlink()  # hls4ml's loader calls exit(1) when a weight file is missing
    with pytest.raises(CsimError, match=r"exited with status 1: .*does not exist"):
        model.predict(_x())  # deleted after loading: the child process exits, the caller gets one line
    with pytest.raises(InvalidFileError, match=r"weights/w\d+\.txt is missing"):
        load_build(build)  # a build missing them is refused before anything runs


# -- the manifest's sha256 and the weight files (issue 15) ----------------------------------------------------

def _weights(build: Path) -> list[Path]:
    return sorted((build / "hls" / "firmware" / "weights").glob("*.txt"))


def test_a_build_records_the_sha256_of_every_file_it_wrote(tiny_build):
    manifest = BuildManifest.read(tiny_build)
    on_disk = {p.relative_to(tiny_build).as_posix() for p in tiny_build.rglob("*") if p.is_file()}
    assert set(manifest.files) == on_disk - {MANIFEST_NAME}
    assert manifest.files == record_files(tiny_build)
    assert any(rel.startswith("hls/firmware/weights/") for rel in manifest.files)


def test_an_edited_weight_file_is_refused_unless_allowed(tiny_build, tmp_path, capsys):
    build = _copy(tiny_build, tmp_path)
    w = next(p for p in _weights(build) if p.name.startswith("w"))
    values = w.read_text().strip().split(",")
    values[0] = "0" if float(values[0]) != 0 else "0.5"
    w.write_text(",".join(values) + "\n")
    with pytest.raises(InvalidFileError, match=rf"weights/{w.name} was modified since the build.*"
                                               "--allow-modified-weights"):
        load_build(build)
    edited = load_build(build, allow_modified_weights=True).predict(_x())
    assert edited.shape == (300, 4) and not np.array_equal(edited, load_build(tiny_build).predict(_x()))
    from hashhls.cli.main import main

    np.save(tmp_path / "x.npy", _x(8))
    assert main(["csim", str(build), "-i", str(tmp_path / "x.npy"), "-o", str(tmp_path / "y.npy")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and w.name in err, err
    assert not (tmp_path / "y.npy").exists()
    assert main(["csim", str(build), "-i", str(tmp_path / "x.npy"), "-o", str(tmp_path / "y.npy"),
                 "--allow-modified-weights"]) == 0
    np.testing.assert_array_equal(np.load(tmp_path / "y.npy"), edited[:8])


def test_an_edited_source_file_is_refused_even_with_the_weights_flag(tiny_build, tmp_path):
    build = _copy(tiny_build, tmp_path)
    (build / "hls" / "firmware" / "parameters.h").write_text("// edited\n", encoding="ascii")
    with pytest.raises(InvalidFileError, match=r"parameters\.h was modified"):
        load_build(build, allow_modified_weights=True)


@pytest.mark.parametrize("damage", ["empty", "directory", "ten_times", "huge", "nan", "text", "binary", "missing"])
def test_weight_files_that_would_crash_or_fool_the_loader_are_refused(damage, tiny_build, tmp_path):
    """Even with --allow-modified-weights: hls4ml's loader reads an empty file, a directory or a word as zeros,
    writes 10x too many values past its array, and converts huge numbers without a word."""
    build = _copy(tiny_build, tmp_path)
    w = next(p for p in _weights(build) if p.name.startswith("w"))
    text = w.read_text().strip()
    if damage == "empty":
        w.write_text("")
    elif damage == "directory":
        w.unlink()
        w.mkdir()
    elif damage == "ten_times":
        w.write_text(",".join([text] * 10) + "\n")
    elif damage == "huge":
        w.write_text("1e300," + text.split(",", 1)[1] + "\n")
    elif damage == "nan":
        w.write_text("nan," + text.split(",", 1)[1] + "\n")
    elif damage == "text":
        w.write_text("zero," + text.split(",", 1)[1] + "\n")
    elif damage == "binary":
        w.write_bytes(b"\xff\xfe" * 50)
    else:
        w.unlink()
    with pytest.raises(InvalidFileError, match=rf"weights/{w.name}"):
        load_build(build, allow_modified_weights=True)


def test_a_build_without_recorded_hashes_is_accepted_with_a_warning(tiny_build, tmp_path, caplog):
    build = _copy(tiny_build, tmp_path)
    m = BuildManifest.read(build)
    m.files = {}
    m.write(build)
    with caplog.at_level("WARNING"):
        y = load_build(build).predict(_x())
    assert "records no file hashes" in caplog.text
    np.testing.assert_array_equal(y, Emulator.from_build(build).predict(_x()))


@pytest.mark.parametrize("damage", ["garbage", "not_executable", "truncated"])
def test_a_damaged_csim_executable_is_recompiled(damage, tiny_build, tmp_path):
    build = _copy(tiny_build, tmp_path)
    exe = build / "csim" / EXE_NAME
    if damage == "garbage":
        exe.write_bytes(b"\x7fELF garbage")
    elif damage == "not_executable":
        exe.chmod(0o644)
    else:
        exe.write_bytes(exe.read_bytes()[:4096])
    model = load_build(build)
    assert exe.stat().st_size > 4096 and exe.stat().st_mode & 0o100
    np.testing.assert_array_equal(model.predict(_x()), Emulator.from_build(build).predict(_x()))


def test_gxx_failure_shows_the_first_compiler_error(tiny_build, tmp_path):
    build = _copy(tiny_build, tmp_path)
    top = build / "hls" / "firmware" / "myproject.cpp"
    top.write_text(top.read_text() + "\nthis is not C++;\n")
    with pytest.raises(HashhlsError, match=r"g\+\+ failed .*myproject\.cpp:\d+:\d+: error:"):
        compile_build(build)


def test_bad_inputs_are_clear_errors(tiny_build, tmp_path):
    model = load_build(tiny_build)
    with pytest.raises(HashhlsError, match=r"wrong input shape \(5, 21\)"):
        model.predict(np.zeros((5, 21), np.float32))
    with pytest.raises(HashhlsError, match="wrong input shape"):
        model.predict(np.zeros(20, np.float32))
    with pytest.raises(HashhlsError, match="floating point"):
        model.predict(np.zeros((5, 20), np.int32))
    with pytest.raises(HashhlsError, match="not a hashhls build"):
        load_build(tmp_path)


def test_cli_csim(tiny_build, tmp_path, capsys):
    from hashhls.cli.main import main

    x = _x(50)
    np.save(tmp_path / "x.npy", x)
    assert main(["csim", str(tiny_build), "--input", str(tmp_path / "x.npy"), "--output",
                 str(tmp_path / "y.npy")]) == 0
    np.testing.assert_array_equal(np.load(tmp_path / "y.npy"), Emulator.from_build(tiny_build).predict(x))

    np.save(tmp_path / "bad.npy", x[:, :10])
    assert main(["csim", str(tiny_build), "--input", str(tmp_path / "bad.npy"), "--output",
                 str(tmp_path / "out.npy")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"hashhls: error: {tmp_path / 'bad.npy'} holds float32 (50, 10); the build expects float (N, 20)"]
    assert not (tmp_path / "out.npy").exists()
    assert main(["csim", str(tmp_path / "nope"), "--input", str(tmp_path / "x.npy"), "--output",
                 str(tmp_path / "out.npy")]) == 2
    assert "build directory not found" in capsys.readouterr().err
