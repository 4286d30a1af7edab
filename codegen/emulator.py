"""Bit-exact numpy model of what a build's generated C++ computes.

The emulator reads a build directory (the manifest's per-layer precisions and
``model.onnx``'s weights) and follows docs/design.md "Fixed point" exactly, in
integer codes (``value = code * 2**-frac``):

the float32 input is quantised to the input type (``ap_fixed`` from double),
then every layer runs the integer arithmetic of its op table entry
(``OpDef.emulator``: :mod:`hashhls.codegen.ops.accumulate` for dense layers
and convolutions, exact ReLU, max pooling and Flatten, ...), reading the
tensors it names, so graphs need not be chains.

Feature maps are kept NCHW here; the C++ computes channels-last and transposes
back before each Flatten, so the flattened features (and every output) agree.

It is the oracle the csim harness is tested against, and is vectorised over
the batch.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import onnx

from ..core.errors import HashhlsError, InvalidFileError
from .fixed import FixedType
from .graph import layer_specs
from .manifest import BuildManifest, LayerInfo
from .onnx_io import load_onnx, quoted
from .ops.base import EmuLayer
from .ops.registry import op_for_kind
from .precision import input_tensor

log = logging.getLogger(__name__)

_CHUNK = 4096


class LayerTypes(dict):
    """A manifest layer's precision strings parsed to FixedTypes; a missing one is a corrupt manifest."""

    def __init__(self, info: LayerInfo):
        super().__init__({k: FixedType.parse(v) for k, v in info.precision.items()})
        self.layer = info.name

    def __missing__(self, key: str) -> FixedType:
        raise InvalidFileError(f"build manifest: layer {quoted(self.layer)} has no {key!r} precision")


class Emulator:
    """Bit-exact fixed-point model of a build (see module docstring).

    Example:
        >>> emu = Emulator.from_build("hashhls-build-default")  # doctest: +SKIP
        >>> y = emu.predict(x)  # float64 [N, n_out], exactly what csim returns
    """

    def __init__(self, manifest: BuildManifest, input_type: FixedType, layers: list[EmuLayer],
                 input_name: str = ""):
        self.manifest = manifest
        self.input_type = input_type
        self.layers = layers
        self.input_name = input_name or (layers[0].inputs[0] if layers else "")
        self.input_shape = tuple(int(d) for d in manifest.input_shape)
        self.output_type = layers[-1].out_type if layers else input_type
        self.n_outputs = int(manifest.n_outputs)
        # The last layer reading each tensor, so that a long graph keeps only the live activations.
        self._last_use = {t: i for i, layer in enumerate(layers) for t in layer.inputs}

    @classmethod
    def from_build(cls, build_dir: str | Path) -> Emulator:
        """Load the manifest and ``model.onnx`` of a build directory."""
        build_dir = Path(build_dir)
        manifest = BuildManifest.read(build_dir)
        path = build_dir / "model.onnx"
        if not path.is_file():
            raise InvalidFileError(f"build directory has no model.onnx: {build_dir}")
        return cls.from_model(manifest, load_onnx(path, "build model"))

    @classmethod
    def from_model(cls, manifest: BuildManifest, model: onnx.ModelProto) -> Emulator:
        """Build the emulator from a manifest and the ingested ONNX model it was built from."""
        specs = {sp.name: sp for sp in layer_specs(model)}
        input_type = FixedType.parse(manifest.input_precision)
        if len(specs) != len(manifest.layers):
            raise InvalidFileError(f"build manifest lists {len(manifest.layers)} layers, model.onnx has "
                                   f"{len(specs)} (manifest and model disagree)")
        types = {input_tensor(list(specs.values())): input_type}
        layers: list[EmuLayer] = []
        for info in manifest.layers:
            spec = specs.get(info.name)
            if spec is None or spec.kind != info.kind:
                raise InvalidFileError(f"model.onnx has no {info.kind} node named {quoted(info.name)} (manifest "
                                       "and model disagree)")
            if (spec.n_in, spec.n_out) != (info.n_in, info.n_out):
                raise InvalidFileError(f"layer {quoted(info.name)}: manifest shape {info.n_in}x{info.n_out} != "
                                       f"model.onnx {spec.n_in}x{spec.n_out}")
            missing = [t for t in spec.inputs if t not in types]
            if missing:
                raise InvalidFileError(f"layer {quoted(info.name)} reads {quoted(missing[0])} before it is computed "
                                       "(manifest order)")
            layer = op_for_kind(spec.kind).emulator(spec, LayerTypes(info), [types[t] for t in spec.inputs],
                                                    dict(info.attrs))
            types[spec.output] = layer.out_type
            layers.append(layer)
        out = layers[-1].out_type if layers else input_type
        if FixedType.parse(manifest.output_precision) != out:
            raise InvalidFileError(f"build manifest: output precision {manifest.output_precision} is not the last "
                                   f"layer's result type {out}")
        return cls(manifest, input_type, layers, input_tensor(list(specs.values())))

    # -- running ----------------------------------------------------------------

    def check_input(self, x: np.ndarray) -> np.ndarray:
        """Validate shape/dtype and return the batch as float32 (what csim reads)."""
        return as_input_batch(x, self.input_shape)

    def trace_codes(self, codes: np.ndarray):
        """Run input-type codes ``[N, *input_shape]`` through the graph, yielding ``(layer, inputs, output)``
        per layer in order (integer codes, ONNX layout); a tensor is dropped after its last reader."""
        env = {self.input_name: codes}
        for i, layer in enumerate(self.layers):
            xs = [env[t] for t in layer.inputs]
            env[layer.output] = out = layer.run(xs)
            yield layer, xs, out
            for t in layer.inputs:
                if self._last_use.get(t) == i:
                    del env[t]

    def run_codes(self, codes: np.ndarray) -> np.ndarray:
        """Input-type codes ``[N, *input_shape]`` through every layer: output codes ``[N, n_out]``."""
        out = codes
        for _layer, _xs, out in self.trace_codes(codes):
            pass
        return out.reshape(len(codes), -1)

    def predict_codes(self, x: np.ndarray) -> np.ndarray:
        """Integer codes (int64 [N, n_out]) of the output type."""
        x = self.check_input(x)
        out = np.empty((len(x), self.n_outputs), dtype=np.int64)
        for start in range(0, len(x), _CHUNK):  # bounded memory for big batches
            codes = self.input_type.to_codes(x[start:start + _CHUNK].astype(np.float64))
            out[start:start + _CHUNK] = self.run_codes(codes)
        return out

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Dequantised outputs (float64 [N, n_out]), bit-identical to the csim's."""
        return self.predict_codes(x) * self.output_type.lsb


def as_input_batch(x: np.ndarray, input_shape: tuple[int, ...]) -> np.ndarray:
    """Validate a batch ``(N, *input_shape)`` of floats and return it as contiguous float32.

    float32 is what the C simulation reads; wider floats are rounded to float32 first, by both.
    """
    x = np.asarray(x)
    if x.dtype.kind != "f":
        raise HashhlsError(f"inputs must be floating point (float32), got dtype {x.dtype}")
    if x.ndim != len(input_shape) + 1 or tuple(x.shape[1:]) != tuple(input_shape):
        raise HashhlsError(f"wrong input shape {tuple(x.shape)}: the build expects (N, "
                           f"{', '.join(map(str, input_shape))})")
    return np.ascontiguousarray(x, dtype=np.float32)
