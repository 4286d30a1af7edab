"""Shared fixtures for the C-simulation tests: builds are made (and compiled) once per session."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from csim_helpers import make_build

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "sw_tests"))  # torch_models, onnx_models


@pytest.fixture(scope="session")
def mnist_test() -> tuple[np.ndarray, np.ndarray]:
    """The bundled official MNIST test set: 10,000 float32 (1, 28, 28) images and labels."""
    from hashhls.frontend.datasets import load_mnist

    return load_mnist(split="test")


@pytest.fixture(scope="session")
def default_build(tmp_path_factory) -> Path:
    """The bundled default model built for pynq-z2 at the default precision, csim compiled."""
    return make_build(tmp_path_factory.mktemp("default") / "build", board="pynq-z2")
