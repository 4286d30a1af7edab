"""The CIFAR-10 path: batches in the byte format of the official python distribution, train, export, ORT.

CIFAR-10 is not bundled, so the batches are synthetic, but written opcode by
opcode the way the official ``cifar-10-batches-py`` files are (a python-2
cPickle, protocol 2: ``str`` keys, a numpy array reconstructed from
``numpy.core.multiarray._reconstruct`` with its raw bytes as a python-2
string), not with this interpreter's ``pickle.dump``.
"""

from __future__ import annotations

import struct
import subprocess
import sys

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from hashhls.frontend.checkpoint import load_checkpoint
from hashhls.frontend.datasets import load_cifar10
from hashhls.frontend.onnx_export import export_onnx
from hashhls.frontend.onnx_functions import DOMAIN
from hashhls.frontend.zoo import ModelConfig, build_model


def _s(b: bytes) -> bytes:
    """A python-2 ``str``: SHORT_BINSTRING or BINSTRING."""
    return (b"U" + bytes([len(b)]) + b) if len(b) < 256 else (b"T" + struct.pack("<i", len(b)) + b)


def _int(v: int) -> bytes:
    if 0 <= v < 256:
        return b"K" + bytes([v])
    if 0 <= v < 65536:
        return b"M" + struct.pack("<H", v)
    return b"J" + struct.pack("<i", v)


def py2_cifar_batch(data: np.ndarray, labels: list[int], batch_label: bytes) -> bytes:
    """A batch as python 2's cPickle.dump(d, f, 2) writes it, with numpy 1.x's array reduce."""
    n = len(labels)
    array = (b"cnumpy.core.multiarray\n_reconstruct\n" + b"cnumpy\nndarray\n" + _int(0) + b"\x85" + _s(b"b")
             + b"\x87R"  # _reconstruct(ndarray, (0,), 'b')
             + b"(" + _int(1) + _int(n) + _int(3072) + b"\x86"  # state: (1, (n, 3072), dtype, False, raw)
             + b"cnumpy\ndtype\n" + _s(b"u1") + _int(0) + _int(1) + b"\x87R"
             + b"(" + _int(3) + _s(b"|") + b"NNN" + _int(-1) + _int(-1) + _int(0) + b"tb"  # dtype state
             + b"\x89" + _s(data.tobytes()) + b"tb")
    label_list = b"](" + b"".join(_int(int(v)) for v in labels) + b"e"
    names = b"](" + b"".join(_s(b"img_%d.png" % i) for i in range(n)) + b"e"
    body = (_s(b"data") + array + _s(b"labels") + label_list + _s(b"batch_label") + _s(batch_label)
            + _s(b"filenames") + names)
    return b"\x80\x02}(" + body + b"u."


@pytest.fixture
def cifar_dir(tmp_path):
    rng = np.random.default_rng(0)
    root = tmp_path / "cifar-10-batches-py"
    root.mkdir()
    written = {}
    for i, name in enumerate([f"data_batch_{k}" for k in range(1, 6)] + ["test_batch"]):
        data = rng.integers(0, 256, (12, 3072), dtype=np.uint8)
        labels = [int(v) for v in rng.integers(0, 10, 12)]
        (root / name).write_bytes(py2_cifar_batch(data, labels, b"batch %d" % i))
        written[name] = (data, labels)
    return root, written


def test_python2_format_batches_load(cifar_dir):
    root, written = cifar_dir
    x, y = load_cifar10(root, "test")
    data, labels = written["test_batch"]
    assert x.shape == (12, 3, 32, 32) and y.tolist() == labels
    np.testing.assert_array_equal(np.rint(x.reshape(12, -1) * 255).astype(np.uint8), data)
    xt, yt = load_cifar10(root, "train")
    assert xt.shape == (60, 3, 32, 32) and yt[12:24].tolist() == written["data_batch_2"][1]


def test_train_export_and_run_cifar_convnet(cifar_dir, tmp_path):
    root, _ = cifar_dir

    def cli(*args):
        return subprocess.run([sys.executable, "-m", "hashhls", *map(str, args)], capture_output=True, text=True,
                              cwd=tmp_path, timeout=300)

    r = cli("train", "--model", "cifar-convnet", "--compression", "8", "--epochs", "2", "--data", root, "-o", "c.pt")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().endswith(f"(CIFAR-10 test set in {root}, 12 images)")
    model, cfg = load_checkpoint(tmp_path / "c.pt")
    assert cfg == ModelConfig("cifar-convnet", compression=8, seed=0)
    r = cli("export", "c.pt", "-o", "c.onnx")
    assert r.returncode == 0, r.stderr
    proto = onnx.load(str(tmp_path / "c.onnx"))
    onnx.checker.check_model(proto, full_check=True)
    assert [n.op_type for n in proto.graph.node if n.domain == DOMAIN] == ["HashedConv2d"] * 2 + ["HashedLinear"] * 2
    x, _ = load_cifar10(root, "test")
    got = ort.InferenceSession(str(tmp_path / "c.onnx")).run(None, {"input": x})[0]
    with torch.no_grad():
        ref = model(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("dense", [False, True])
def test_cifar_convnet_export_matches_torch_with_unit_scale_activations(dense):
    """Weights at He scale (default init times ~sqrt(6)): O(1) outputs, so 1e-5 is not a match of near-zeros."""
    torch.manual_seed(0)
    model = build_model(ModelConfig("cifar-convnet", compression=8, seed=11)).eval()
    with torch.no_grad():
        for m in model:
            if hasattr(m, "weight"):
                m.weight.mul_(2.5)
    x = np.random.default_rng(1).uniform(0, 1, (32, 3, 32, 32)).astype(np.float32)
    with torch.no_grad():
        ref = model(torch.from_numpy(x)).numpy()
    assert np.abs(ref).max() > 1.0
    proto = export_onnx(model, input_shape=[3, 32, 32], dense=dense)
    assert (not any(n.domain == DOMAIN for n in proto.graph.node)) == dense
    got = ort.InferenceSession(proto.SerializeToString()).run(None, {"input": x})[0]
    np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-5 * np.abs(ref).max())
