"""hashhls.frontend: hash functions, hashed layers, GI, model zoo, data, training, ONNX export, attacks."""

from .hashing import HashConfig, hash_flat
from .layers import HashedConv2d, HashedLinear

__all__ = ["HashConfig", "HashedConv2d", "HashedLinear", "hash_flat"]
