"""The build manifest, ``BUILD_DIR/hashhls-build.json``: what a build is, for the tools that read it.

Written by the build flow (:mod:`hashhls.codegen.project`); read by the csim
harness, the emulator and replay. Layer names are the sanitised C++
identifiers used in the generated project, in execution order.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..core.errors import InvalidFileError
from .identity import ModelIdentity
from .kinds import LayerKind

MANIFEST_NAME = "hashhls-build.json"
FORMAT = "hashhls-build"
VERSION = 1


@dataclass
class LayerInfo:
    """One layer of the built network, as the C++ computes it."""

    name: str  #: sanitised C++ identifier
    kind: LayerKind  #: what the layer computes; serialised as its string ("hashed_dense", "conv2d", ...)
    onnx_node: str  #: the (sanitised) ONNX node it came from
    n_in: int = 0
    n_out: int = 0
    virtual_weights: int = 0  #: N*M (0 for layers without weights)
    stored_weights: int = 0  #: K for hashed layers, N*M for dense ones
    seed: int | None = None
    buckets: int | None = None
    #: precision of this layer's tensors, as C++ type strings: keys among
    #: "weight", "bias", "result", "accum"
    precision: dict[str, str] = field(default_factory=dict)
    attrs: dict = field(default_factory=dict)  #: kind-specific (strides, pads, kernel, ...)

    def __post_init__(self) -> None:
        self.kind = LayerKind.parse(self.kind)  # ValueError for an unknown kind: a corrupt manifest


@dataclass
class BuildManifest:
    board: str  #: board name, or "none"
    backend: str  #: hls4ml backend used (VivadoAccelerator, Vivado)
    io_type: str  #: io_parallel | io_stream
    reuse_factor: int
    input_shape: list[int]  #: one sample, no batch dimension (e.g. [1, 28, 28])
    n_outputs: int
    input_precision: str
    output_precision: str
    layers: list[LayerInfo]
    source: str  #: what was built (file name or "bundled:<name>")
    source_sha256: str
    #: how the C++ top function reads one sample: "flat" (C order of input_shape) or "NHWC" (channels-last
    #: feature map, hls4ml's convolution layout; csim and the PYNQ driver's caller transpose NCHW inputs)
    input_layout: str = "flat"
    project_hash: str = ""  #: content hash of the written C++ project (csim rebuilds when it changes)
    project_name: str = "myproject"
    #: who the built model is (codegen.identity): compared by replay with an adversarial file's crafting model.
    #: None in manifests written before hashhls 0.3.
    model: ModelIdentity | None = None
    #: what the build checked on this machine (codegen.handoff.Verification.to_dict()); empty if nothing
    verification: dict = field(default_factory=dict)
    hls_dir: str = "hls"  #: relative to the build directory
    csim_dir: str = "csim"
    format: str = FORMAT
    version: int = VERSION

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_dict(cls, d: dict) -> BuildManifest:
        d = dict(d)
        d["layers"] = [LayerInfo(**layer) for layer in d.get("layers", [])]
        if d.get("model") is not None:
            d["model"] = ModelIdentity.from_dict(d["model"])
        return cls(**d)

    def write(self, build_dir: str | Path) -> None:
        (Path(build_dir) / MANIFEST_NAME).write_text(self.to_json())

    @classmethod
    def read(cls, build_dir: str | Path) -> BuildManifest:
        """Read and validate a build directory's manifest (InvalidFileError if it is not a hashhls build)."""
        path = Path(build_dir) / MANIFEST_NAME
        if Path(build_dir).is_file():
            raise InvalidFileError(f"{build_dir} is a file, expected a build directory (from 'hashhls build')")
        if not Path(build_dir).is_dir():
            raise InvalidFileError(f"build directory not found: {build_dir}")
        if not path.is_file():
            raise InvalidFileError(f"not a hashhls build directory (no {MANIFEST_NAME}): {build_dir}")
        try:
            d = json.loads(path.read_text())
            if d.get("format") != FORMAT:
                raise ValueError("wrong format tag")
            if d.get("version") != VERSION:
                raise ValueError(f"unsupported version {d.get('version')}")
            return cls.from_dict(d)
        except (ValueError, TypeError, KeyError) as e:
            raise InvalidFileError(f"corrupt build manifest {path}: {e}") from e
