"""hashhls: hash-compressed neural networks from PyTorch to hls4ml FPGA C++.

Subpackages: :mod:`hashhls.frontend` (hashing, layers, training, ONNX export,
attacks) and :mod:`hashhls.codegen` (ONNX ingest, hls4ml extension, fixed-point
emulator, board flow, csim). The command line is :mod:`hashhls.main`.
"""

__version__ = "0.1.0"
