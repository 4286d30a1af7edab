"""hashhls: hash-compressed neural networks from PyTorch to hls4ml FPGA C++.

Subpackages: :mod:`hashhls.frontend` (hashing, layers, training, ONNX export),
:mod:`hashhls.codegen` (ONNX ingest, hls4ml extension, fixed-point emulator,
board flow, csim), :mod:`hashhls.adversarial` (attacks, the fixed-point twin,
replay, reports) and :mod:`hashhls.cli` (the ``hashhls`` command line), all on
:mod:`hashhls.core` (errors, atomic output, version).
"""

from .core.version import __version__

__all__ = ["__version__"]
