"""MNIST (IDX files) and CIFAR-10 (python-pickle batches) loaders.

No downloads: MNIST's 10,000-image training subset and the official test set
are bundled (``frontend/data/mnist``, CC BY-SA 3.0, see its README); a full
copy of MNIST, or CIFAR-10, is read from a directory the user gives.
"""

from __future__ import annotations

import gzip
import io
import math
import pickle
import struct
import zlib
from pathlib import Path

import numpy as np

from ..core.errors import HashhlsError, InvalidFileError

DATASETS = ("mnist", "cifar10")
SPLITS = ("train", "test")

#: IDX magic numbers (0x0000, dtype 0x08 = uint8, number of dims).
IDX_LABELS = 0x00000801
IDX_IMAGES = 0x00000803
#: The largest IDX payload read (the full MNIST training images are 47 MB; 2 GB is absurd).
MAX_IDX_BYTES = 1 << 31

_MNIST_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
_CIFAR_FILES = {"train": [f"data_batch_{i}" for i in range(1, 6)], "test": ["test_batch"]}


def bundled_mnist_dir() -> Path:
    """The bundled MNIST directory (10k training subset + official 10k test set)."""
    return Path(__file__).resolve().parent / "data" / "mnist"


def _check_split(split: str) -> None:
    if split not in SPLITS:
        raise HashhlsError(f"unknown split {split!r} (expected one of {', '.join(SPLITS)})")


def _check_limit(limit: int | None) -> None:
    if limit is not None and int(limit) < 1:
        raise HashhlsError(f"limit must be a positive number of samples, got {limit}")


def read_idx(path: str | Path) -> np.ndarray:
    """Read an IDX file of uint8 labels (1-D) or images (3-D), gzip-compressed or raw.

    Gzip is detected from the magic bytes ``1f 8b``, not the file name. The
    count and dimensions come from the header; the payload length is checked.

    Raises:
        HashhlsError: unreadable file, bad magic, or truncated/oversized payload.
    """
    path = Path(path)
    if path.is_dir():
        raise InvalidFileError(f"{path} is a directory, expected an IDX file")
    try:
        with open(path, "rb") as f:
            gz = f.read(2) == b"\x1f\x8b"
        # Streamed: the header is read and checked before the payload, which is read up to its claimed size
        # (+1 to detect a longer file), so neither a gzip bomb nor a header claiming absurd dims fills memory.
        with (gzip.open(path, "rb") if gz else open(path, "rb")) as f:
            head = f.read(4)
            if len(head) < 4:
                raise InvalidFileError(f"IDX file {path} is truncated: {len(head)} bytes, no header")
            (magic,) = struct.unpack(">I", head)
            if magic not in (IDX_LABELS, IDX_IMAGES):
                raise InvalidFileError(f"IDX file {path} has magic 0x{magic:08x}, expected 0x{IDX_LABELS:08x} "
                                       f"(uint8 labels) or 0x{IDX_IMAGES:08x} (uint8 images)")
            ndim = magic & 0xFF
            dims_raw = f.read(4 * ndim)
            if len(dims_raw) < 4 * ndim:
                raise InvalidFileError(f"IDX file {path} is truncated: header needs {4 + 4 * ndim} bytes")
            dims = struct.unpack(f">{ndim}I", dims_raw)
            expected = math.prod(dims)  # Python ints: three uint32 dims would overflow int64
            if expected > MAX_IDX_BYTES or (ndim == 3 and 0 in dims[1:]):
                raise InvalidFileError(f"IDX file {path} has absurd dims {'x'.join(map(str, dims))} "
                                       f"({expected:,} bytes)")
            payload = f.read(expected + 1)
    except InvalidFileError:
        raise
    except (OSError, EOFError, zlib.error) as e:  # gzip.BadGzipFile is an OSError
        raise InvalidFileError(f"cannot read IDX file {path}: {e}") from None
    got = len(payload)
    if got != expected:
        what = "truncated" if got < expected else "longer than its header says"
        raise InvalidFileError(f"IDX file {path} is {what}: header {'x'.join(map(str, dims))} needs {expected} "
                               "payload bytes" + (f", file has {got}" if got < expected else ""))
    return np.frombuffer(payload, dtype=np.uint8).reshape(dims)


def _find(root: Path, stem: str) -> Path:
    for name in (stem, stem + ".gz"):
        if (root / name).is_file():
            return root / name
    raise HashhlsError(f"MNIST file {stem}(.gz) not found in {root}")


def load_mnist(root: str | Path | None = None, split: str = "train",
               limit: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Load MNIST from standard IDX files.

    Args:
        root: directory with ``train-images-idx3-ubyte(.gz)`` etc.; None = bundled copy.
        split: ``"train"`` or ``"test"``.
        limit: keep only the first ``limit`` samples.

    Returns:
        ``(x, y)``: float32 ``[N, 1, 28, 28]`` in [0, 1] and int64 ``[N]``.
    """
    _check_split(split)
    _check_limit(limit)
    root = bundled_mnist_dir() if root is None else Path(root)
    if not root.is_dir():
        raise HashhlsError(f"MNIST directory not found: {root}")
    img_file, lbl_file = (_find(root, s) for s in _MNIST_FILES[split])
    images, labels = read_idx(img_file), read_idx(lbl_file)
    if images.ndim != 3 or labels.ndim != 1:
        raise HashhlsError(f"{img_file} must hold images (3-D IDX) and {lbl_file} labels (1-D IDX)")
    if images.shape[0] != labels.shape[0]:
        raise HashhlsError(f"{img_file} has {images.shape[0]} images but {lbl_file} has {labels.shape[0]} labels")
    if labels.size and labels.max() > 9:
        raise HashhlsError(f"{lbl_file} has label {labels.max()}, MNIST labels are 0..9")
    if limit is not None:
        images, labels = images[:limit], labels[:limit]
    x = (images.astype(np.float32) / 255.0)[:, None, :, :]
    return np.ascontiguousarray(x), labels.astype(np.int64)


class _RestrictedUnpickler(pickle.Unpickler):
    """Unpickler for CIFAR-10 batches: only plain containers and numpy arrays.

    The batches are pickles of dicts of bytes/lists/ndarrays; any other global
    (a function, a class with a side-effecting ``__reduce__``) is refused.
    """

    _ALLOWED: frozenset[tuple[str, str]] = frozenset({
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("numpy._core.numeric", "_frombuffer"),  # protocol-5 pickles of arrays
        ("numpy.core.multiarray", "scalar"),
        ("numpy._core.multiarray", "scalar"),
        ("builtins", "dict"), ("builtins", "list"), ("builtins", "bytes"),
        ("builtins", "bytearray"), ("builtins", "str"), ("builtins", "int"), ("builtins", "tuple"),
        ("__builtin__", "dict"), ("__builtin__", "list"), ("__builtin__", "str"), ("_codecs", "encode"),
    })

    def find_class(self, module: str, name: str):
        if (module, name) in self._ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"global {module}.{name} is not allowed in a CIFAR-10 batch")


def _load_pickle(path: Path) -> object:
    try:
        data = path.read_bytes()
    except OSError as e:
        raise HashhlsError(f"cannot read CIFAR-10 batch {path}: {e}") from None
    try:
        return _RestrictedUnpickler(io.BytesIO(data), encoding="bytes").load()
    except Exception as e:  # noqa: BLE001 - any unpickling failure is a bad file
        raise HashhlsError(f"CIFAR-10 batch {path} is not a valid batch: {e}") from None


def _cifar_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    d = _load_pickle(path)
    if not isinstance(d, dict):
        raise HashhlsError(f"CIFAR-10 batch {path} is not a dict")
    # Batches pickled by python 2 have bytes keys; accept str keys too.
    data = d.get(b"data", d.get("data"))
    labels = d.get(b"labels", d.get("labels"))
    if data is None or labels is None:
        raise HashhlsError(f"CIFAR-10 batch {path} lacks 'data' or 'labels'")
    data = np.asarray(data)
    labels = np.asarray(labels)
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3 * 32 * 32:
        raise HashhlsError(f"CIFAR-10 batch {path}: data must be uint8 [N, 3072], got {data.dtype} {data.shape}")
    if labels.ndim != 1 or labels.shape[0] != data.shape[0]:
        raise HashhlsError(f"CIFAR-10 batch {path}: {data.shape[0]} images but labels of shape {labels.shape}")
    if labels.size and (labels.min() < 0 or labels.max() > 9):
        raise HashhlsError(f"CIFAR-10 batch {path}: labels must be 0..9")
    return data, labels.astype(np.int64)


def load_cifar10(root: str | Path, split: str = "train",
                 limit: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Load CIFAR-10 from the standard python-pickle batches.

    Args:
        root: directory with ``data_batch_1`` .. ``data_batch_5`` and ``test_batch``.
        split: ``"train"`` or ``"test"``.
        limit: keep only the first ``limit`` samples.

    Returns:
        ``(x, y)``: float32 ``[N, 3, 32, 32]`` in [0, 1] and int64 ``[N]``.
    """
    _check_split(split)
    _check_limit(limit)
    if root is None:
        raise HashhlsError("CIFAR-10 is not bundled: give the directory holding its python batches (--data)")
    root = Path(root)
    if not root.is_dir():
        raise HashhlsError(f"CIFAR-10 directory not found: {root}")
    xs, ys, n = [], [], 0
    for name in _CIFAR_FILES[split]:
        path = root / name
        if not path.is_file():
            raise HashhlsError(f"CIFAR-10 batch {name} not found in {root}")
        data, labels = _cifar_batch(path)
        xs.append(data)
        ys.append(labels)
        n += len(labels)
        if limit is not None and n >= limit:
            break
    data, labels = np.concatenate(xs), np.concatenate(ys)
    if limit is not None:
        data, labels = data[:limit], labels[:limit]
    x = data.reshape(-1, 3, 32, 32).astype(np.float32) / 255.0
    return np.ascontiguousarray(x), labels


def load_dataset(name: str, root: str | Path | None = None, split: str = "train",
                 limit: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Dispatch to :func:`load_mnist` or :func:`load_cifar10` by name."""
    if name == "mnist":
        return load_mnist(root, split, limit)
    if name == "cifar10":
        return load_cifar10(root, split, limit)
    raise HashhlsError(f"unknown dataset {name!r} (expected one of {', '.join(DATASETS)})")
