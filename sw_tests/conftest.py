"""Shared fixtures for the Python-side tests."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def hash_vectors() -> dict:
    """The committed hash test vectors (docs/hash-test-vectors.json): the oracle."""
    return json.loads((REPO / "docs" / "hash-test-vectors.json").read_text())


@pytest.fixture(scope="session")
def hash_vectors_v2() -> dict:
    """The committed version-2 hash test vectors (docs/hash-test-vectors-v2.json): the oracle."""
    return json.loads((REPO / "docs" / "hash-test-vectors-v2.json").read_text())
