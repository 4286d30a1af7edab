"""Load any ONNX model the build supports back into torch: a differentiable float model.

The file is ingested (the same named transformations as a build: Gemm
normalised, batch norms folded, ...), then every node becomes its op table
entry's ``torch_module``, wired as the graph says (DAGs included). Replay's
"hashed float" target loads a build's ``model.onnx`` this way; hashed nodes
become :class:`~hashhls.frontend.layers.HashedLinear` / ``HashedConv2d``
holding their K weights.
"""

from __future__ import annotations

from pathlib import Path

import onnx
from torch import nn

from .graph import layer_specs
from .onnx_io import load_onnx
from .ops.registry import op_for_kind
from .precision import input_tensor


class OnnxGraphModule(nn.Module):
    """A torch module computing an ingested ONNX graph, one submodule per node (``layers[i]`` is node i)."""

    def __init__(self, specs, input_name: str):
        super().__init__()
        self.layers = nn.ModuleList(op_for_kind(s.kind).torch_module(s) for s in specs)
        self.names = [s.name for s in specs]
        self._wiring = [(tuple(s.inputs), s.output) for s in specs]
        self._input = input_name
        self._output = specs[-1].output

    def forward(self, x):
        env = {self._input: x}
        for layer, (inputs, output) in zip(self.layers, self._wiring):
            env[output] = layer(*(env[t] for t in inputs))
        return env[self._output]


def load_onnx_model(source: str | Path | onnx.ModelProto) -> OnnxGraphModule:
    """A torch module (eval mode) computing what the ONNX model computes, in float32."""
    from .ingest import ingest

    model = source if isinstance(source, onnx.ModelProto) else load_onnx(source)
    specs = layer_specs(ingest(model))
    return OnnxGraphModule(specs, input_tensor(specs)).eval()
