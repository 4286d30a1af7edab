"""Dataset loaders: IDX reader, bundled MNIST, CIFAR-10 pickle batches (synthetic)."""

from __future__ import annotations

import gzip
import pickle
import struct

import numpy as np
import pytest
from hashhls.core.errors import HashhlsError
from hashhls.frontend.datasets import bundled_mnist_dir, load_cifar10, load_dataset, load_mnist, read_idx


def _idx_bytes(arr: np.ndarray, magic: int | None = None) -> bytes:
    magic = (0x0800 | arr.ndim) if magic is None else magic
    return struct.pack(">I", magic) + struct.pack(f">{arr.ndim}I", *arr.shape) + arr.astype(np.uint8).tobytes()


def _write_mnist(root, n_train: int, n_test: int, gz: bool, rng) -> dict:
    root.mkdir(parents=True, exist_ok=True)
    data = {}
    for split, stem, n in (("train", "train", n_train), ("test", "t10k", n_test)):
        img = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        lbl = rng.integers(0, 10, size=n, dtype=np.uint8)
        for name, arr in ((f"{stem}-images-idx3-ubyte", img), (f"{stem}-labels-idx1-ubyte", lbl)):
            raw = _idx_bytes(arr)
            (root / (name + (".gz" if gz else ""))).write_bytes(gzip.compress(raw) if gz else raw)
        data[split] = (img, lbl)
    return data


@pytest.mark.parametrize("gz", [False, True])
def test_read_idx_round_trip_and_header_shape(tmp_path, gz):
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, size=(7, 5, 3), dtype=np.uint8)
    raw = _idx_bytes(img)
    # Name without .gz even when compressed: detection is by magic bytes.
    p = tmp_path / "images"
    p.write_bytes(gzip.compress(raw) if gz else raw)
    out = read_idx(p)
    assert out.shape == (7, 5, 3) and out.dtype == np.uint8
    np.testing.assert_array_equal(out, img)
    lbl = np.arange(13, dtype=np.uint8) % 10
    (tmp_path / "labels").write_bytes(_idx_bytes(lbl))
    np.testing.assert_array_equal(read_idx(tmp_path / "labels"), lbl)


def test_read_idx_wrong_magic(tmp_path):
    p = tmp_path / "bad"
    p.write_bytes(_idx_bytes(np.zeros((2, 3, 3), np.uint8), magic=0x00000D03))  # float32 dtype code
    with pytest.raises(HashhlsError, match=r"bad.*magic 0x00000d03"):
        read_idx(p)


@pytest.mark.parametrize("gz", [False, True])
def test_read_idx_truncated_and_oversized(tmp_path, gz):
    raw = _idx_bytes(np.ones((4, 28, 28), np.uint8))
    p = tmp_path / "trunc.gz"
    p.write_bytes(gzip.compress(raw[:-5]) if gz else raw[:-5])
    with pytest.raises(HashhlsError, match=r"trunc\.gz is truncated"):
        read_idx(p)
    p.write_bytes(raw[:10])  # header cut
    with pytest.raises(HashhlsError, match="truncated"):
        read_idx(p)
    p.write_bytes(raw + b"\0")
    with pytest.raises(HashhlsError, match="longer than its header"):
        read_idx(p)


def test_read_idx_corrupt_gzip(tmp_path):
    p = tmp_path / "x.gz"
    p.write_bytes(b"\x1f\x8b" + b"garbage" * 10)
    with pytest.raises(HashhlsError, match="cannot read IDX file"):
        read_idx(p)


def test_load_mnist_from_dir_reads_count_from_header(tmp_path):
    rng = np.random.default_rng(1)
    data = _write_mnist(tmp_path / "m", n_train=37, n_test=11, gz=False, rng=rng)
    x, y = load_mnist(tmp_path / "m", "train")
    assert x.shape == (37, 1, 28, 28) and x.dtype == np.float32 and y.dtype == np.int64
    np.testing.assert_allclose(x[:, 0], data["train"][0] / 255.0, atol=1e-7)
    np.testing.assert_array_equal(y, data["train"][1])
    xt, yt = load_mnist(tmp_path / "m", "test", limit=5)
    assert xt.shape == (5, 1, 28, 28)
    np.testing.assert_array_equal(yt, data["test"][1][:5])


def test_load_mnist_errors(tmp_path):
    with pytest.raises(HashhlsError, match="not found"):
        load_mnist(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(HashhlsError, match="train-images-idx3-ubyte"):
        load_mnist(tmp_path / "empty")
    rng = np.random.default_rng(2)
    _write_mnist(tmp_path / "mismatch", 5, 5, gz=True, rng=rng)
    (tmp_path / "mismatch" / "train-labels-idx1-ubyte.gz").write_bytes(
        gzip.compress(_idx_bytes(np.zeros(4, np.uint8))))
    with pytest.raises(HashhlsError, match="5 images but .* 4 labels"):
        load_mnist(tmp_path / "mismatch")
    with pytest.raises(HashhlsError, match="split"):
        load_mnist(None, "validation")


def test_bundled_mnist():
    assert (bundled_mnist_dir() / "README.md").read_text().count("CC BY-SA 3.0") >= 1
    x, y = load_mnist(split="train")
    assert x.shape == (10000, 1, 28, 28) and y.shape == (10000,)
    assert y[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert 0.0 <= x.min() and x.max() == 1.0
    xt, yt = load_dataset("mnist", None, "test")
    assert xt.shape == (10000, 1, 28, 28)
    assert yt[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    assert np.bincount(yt, minlength=10).min() > 800  # all ten classes, roughly balanced


def _write_cifar(root, sizes: dict[str, int], rng, protocol: int = 2) -> dict:
    root.mkdir(parents=True, exist_ok=True)
    out = {}
    for name, n in sizes.items():
        data = rng.integers(0, 256, size=(n, 3072), dtype=np.uint8)
        labels = [int(v) for v in rng.integers(0, 10, size=n)]
        with open(root / name, "wb") as f:
            pickle.dump({b"batch_label": name.encode(), b"labels": labels, b"data": data,
                         b"filenames": [b"x.png"] * n}, f, protocol=protocol)
        out[name] = (data, labels)
    with open(root / "batches.meta", "wb") as f:
        pickle.dump({b"label_names": [b"airplane"] * 10, b"num_cases_per_batch": 3}, f, protocol=2)
    return out


@pytest.mark.parametrize("protocol", [2, 5])
def test_cifar10_synthetic_batches(tmp_path, protocol):
    rng = np.random.default_rng(3)
    names = {f"data_batch_{i}": 3 + i for i in range(1, 6)} | {"test_batch": 4}
    written = _write_cifar(tmp_path, names, rng, protocol)
    x, y = load_cifar10(tmp_path, "train")
    assert x.shape == (sum(3 + i for i in range(1, 6)), 3, 32, 32) and x.dtype == np.float32
    # Row layout of a CIFAR batch: 1024 red, 1024 green, 1024 blue values, row-major.
    d0 = written["data_batch_1"][0][0]
    np.testing.assert_allclose(x[0, 1, 2, 5], d0[1024 + 2 * 32 + 5] / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(y, np.concatenate([written[f"data_batch_{i}"][1] for i in range(1, 6)]))
    xt, yt = load_dataset("cifar10", tmp_path, "test")
    assert yt.tolist() == written["test_batch"][1]
    np.testing.assert_allclose(xt.reshape(4, -1), written["test_batch"][0] / 255.0, rtol=1e-6)
    xl, yl = load_cifar10(tmp_path, "train", limit=6)
    assert xl.shape[0] == 6 and yl.tolist() == y[:6].tolist()


class _MakeDir:
    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self):
        import os
        return (os.mkdir, (self.path,))


def test_cifar10_refuses_arbitrary_pickles(tmp_path):
    rng = np.random.default_rng(4)
    _write_cifar(tmp_path, {"test_batch": 2}, rng)
    marker = tmp_path / "marker"
    # A pickle that would create a file through a builtin if unpickled freely.
    evil = pickle.dumps(_OpenFile(str(marker)))
    (tmp_path / "test_batch").write_bytes(evil)
    with pytest.raises(HashhlsError, match=r"test_batch is not a valid batch.*global io\.open is not allowed"):
        load_cifar10(tmp_path, "test")
    assert not marker.exists()
    (tmp_path / "test_batch").write_bytes(pickle.dumps({b"data": _MakeDir(str(marker)), b"labels": [1]}))
    with pytest.raises(HashhlsError, match=r"posix\.mkdir is not allowed"):
        load_cifar10(tmp_path, "test")
    assert not marker.exists()


class _OpenFile:
    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_cifar10_errors(tmp_path):
    with pytest.raises(HashhlsError, match="not bundled"):
        load_cifar10(None)
    with pytest.raises(HashhlsError, match="not found"):
        load_cifar10(tmp_path / "missing")
    rng = np.random.default_rng(5)
    _write_cifar(tmp_path, {"data_batch_1": 2}, rng)
    with pytest.raises(HashhlsError, match="data_batch_2 not found"):
        load_cifar10(tmp_path, "train")
    (tmp_path / "test_batch").write_bytes(pickle.dumps({b"data": np.zeros((2, 100), np.uint8), b"labels": [0, 1]}))
    with pytest.raises(HashhlsError, match=r"uint8 \[N, 3072\]"):
        load_cifar10(tmp_path, "test")
    with pytest.raises(HashhlsError, match="unknown dataset"):
        load_dataset("imagenet")


@pytest.mark.parametrize("dims", [(2**32 - 1, 2**32 - 1, 2**32 - 1), (10**9, 28, 28), (5, 0, 28)])
def test_read_idx_refuses_absurd_dims_without_reading_them(tmp_path, dims):
    """Three uint32 dims overflow int64: the product is a Python int, bounded before any payload is read."""
    from hashhls.core.errors import InvalidFileError

    p = tmp_path / "x-idx3-ubyte.gz"
    p.write_bytes(gzip.compress(struct.pack(">IIII", 0x803, *dims) + b"\0" * 100))
    with pytest.raises(InvalidFileError, match="absurd dims"):
        read_idx(p)


def test_read_idx_truncated_gzip_stream_and_directory(tmp_path):
    from hashhls.core.errors import InvalidFileError

    p = tmp_path / "x-idx1-ubyte.gz"
    p.write_bytes(gzip.compress(struct.pack(">II", 0x801, 50) + bytes(range(50)))[:-6])
    with pytest.raises(InvalidFileError, match="cannot read IDX file"):
        read_idx(p)
    d = tmp_path / "dir-idx1-ubyte"
    d.mkdir()
    with pytest.raises(InvalidFileError, match="is a directory"):
        read_idx(d)
