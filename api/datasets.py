"""Datasets for notebooks: ``hashhls.datasets.mnist("test")`` returns the bundled MNIST as numpy arrays."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def mnist(split: str = "test", limit: int | None = None, root: str | Path | None = None
          ) -> tuple[np.ndarray, np.ndarray]:
    """MNIST images ``float32 [N, 1, 28, 28]`` in [0, 1] and labels ``int64 [N]``.

    Args:
        split: ``"test"`` (the official 10,000 test images) or ``"train"`` (the bundled first 10,000).
        limit: only the first ``limit`` images.
        root: a directory with the full MNIST files (default: the bundled copy).
    """
    from .frontend.datasets import load_mnist

    return load_mnist(root, split=split, limit=limit)


__all__ = ["mnist"]
