"""The op table: one entry per supported ONNX op with everything every build stage needs of it.

See :mod:`hashhls.codegen.ops.base` for the contract (and how to add an op),
:mod:`hashhls.codegen.ops.registry` for the table. Stages dispatch on it:
ingest (``analyse``), precision (``plan``, ``float_forward``), the emulator
(``emulator``), the hls4ml view (``hls_layer``), the manifest
(``manifest_attrs``) and the ONNX -> torch loader (``torch_module``).
"""

from __future__ import annotations

from .base import EmuLayer, HlsLayer, NodeContext, OpDef
from .registry import OPS, op_for_kind, op_for_node
from .spec import LayerSpec

__all__ = ["OPS", "OpDef", "NodeContext", "EmuLayer", "HlsLayer", "LayerSpec", "op_for_kind", "op_for_node"]
