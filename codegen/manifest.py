"""The build manifest, ``BUILD_DIR/hashhls-build.json``: what a build is, for the tools that read it.

Written by the build flow (:mod:`hashhls.codegen.project`); read by the csim
harness, the emulator and replay. Layer names are the sanitised C++
identifiers used in the generated project, in execution order.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..core.digest import file_sha256
from ..core.errors import InvalidFileError
from .identity import ModelIdentity
from .kinds import LayerKind

log = logging.getLogger(__name__)

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
    #: sha256 of every file the build wrote (relative POSIX path -> hex digest), the manifest itself excepted;
    #: verified before simulating (:func:`verify_files`). Empty in manifests written before hashhls 0.3 (issue
    #: 15): such builds are accepted without the check, with a warning.
    files: dict[str, str] = field(default_factory=dict)
    hls_dir: str = "hls"  #: relative to the build directory
    csim_dir: str = "csim"
    format: str = FORMAT
    version: int = VERSION

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_dict(cls, d: dict) -> BuildManifest:
        if not isinstance(d, dict):
            raise ValueError(f"expected a JSON object, got {type(d).__name__}")
        d = dict(d)
        _check_fields(d)
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
            if not isinstance(d, dict):
                raise ValueError(f"expected a JSON object, got {type(d).__name__}")
            if d.get("format") != FORMAT:
                raise ValueError("wrong format tag")
            if d.get("version") != VERSION:
                raise ValueError(f"unsupported version {d.get('version')}")
            return cls.from_dict(d)
        except (ValueError, TypeError, KeyError, RecursionError) as e:
            raise InvalidFileError(f"corrupt build manifest {path}: {str(e).splitlines()[0] if str(e) else e!r}"
                                   ) from None


def _check_fields(d: dict) -> None:
    """Types of the fields the readers compute with (ValueError naming the field)."""
    def positive_int(v) -> bool:
        return isinstance(v, int) and not isinstance(v, bool) and 0 < v < 1 << 31

    shape = d.get("input_shape")
    if not (isinstance(shape, list) and 0 < len(shape) <= 4 and all(positive_int(v) for v in shape)):
        raise ValueError(f"input_shape must be a list of 1-4 positive integers, got {shape!r:.60}")
    for key in ("n_outputs", "reuse_factor"):
        if not positive_int(d.get(key)):
            raise ValueError(f"{key} must be a positive integer, got {d.get(key)!r:.60}")
    for key in ("board", "backend", "io_type", "input_precision", "output_precision", "source", "source_sha256"):
        if not isinstance(d.get(key), str):
            raise ValueError(f"{key} must be a string, got {d.get(key)!r:.60}")
    for key in ("project_hash", "project_name", "hls_dir", "csim_dir", "input_layout"):
        if key in d and not isinstance(d[key], str):
            raise ValueError(f"{key} must be a string, got {d[key]!r:.60}")
    layers = d.get("layers", [])
    if not (isinstance(layers, list) and layers and all(isinstance(x, dict) for x in layers)):
        raise ValueError("layers must be a non-empty list of objects")
    files = d.get("files", {})
    if not (isinstance(files, dict) and all(isinstance(k, str) and isinstance(v, str) and len(v) == 64
                                            for k, v in files.items())):
        raise ValueError("files must map relative paths to sha256 hex digests")
    for key in ("verification", "model"):
        if d.get(key) is not None and not isinstance(d[key], dict):
            raise ValueError(f"{key} must be an object")


# -- the files a build wrote ---------------------------------------------------------------------------------

#: Read at most this much of a file to hash it before giving up (no build writes a file near this size).
_MAX_HASHED = 1 << 30



def record_files(build_dir: str | Path) -> dict[str, str]:
    """sha256 of every regular file under ``build_dir`` but the manifest (what a build records as it finishes)."""
    build_dir = Path(build_dir)
    out = {}
    for p in sorted(build_dir.rglob("*")):
        if p.is_file() and not p.is_symlink() and p.name != MANIFEST_NAME:
            out[p.relative_to(build_dir).as_posix()] = file_sha256(p)
    return out


def weights_prefix(manifest: BuildManifest) -> str:
    """The relative directory of the weight files the C simulation reads at run time."""
    return f"{manifest.hls_dir}/firmware/weights/"


def verified_paths(manifest: BuildManifest) -> dict[str, str]:
    """The recorded files checked before simulating: all but the csim cache (rebuilt by ``compile_build``, which
    checks its executable itself) and the top-level documentation (``README.md``, ``summary.md``)."""
    return {rel: digest for rel, digest in manifest.files.items()
            if not rel.startswith(f"{manifest.csim_dir}/") and not ("/" not in rel and rel.endswith(".md"))}


def verify_files(build_dir: str | Path, manifest: BuildManifest | None = None,
                 allow_modified_weights: bool = False) -> list[str]:
    """Check a build's files against the sha256 its manifest recorded, before anything simulates it.

    Args:
        build_dir: a hashhls build directory.
        manifest: its manifest (read when not given).
        allow_modified_weights: accept weight files (``hls/firmware/weights/``) that differ from the build's, for
            experiments that edit them on purpose (bit flips); their format is still checked by the csim loader.

    Returns:
        The weight files accepted although modified (relative paths).

    Raises:
        InvalidFileError: a recorded file is missing, not a regular file, or differs (naming the first one).
    """
    build_dir = Path(build_dir)
    manifest = manifest if manifest is not None else BuildManifest.read(build_dir)
    if not manifest.files:
        log.warning("warning: build %s records no file hashes (written before hashhls 0.3); its files are not "
                    "verified", build_dir)
        return []
    bad, accepted = [], []
    weights = weights_prefix(manifest)
    for rel, digest in sorted(verified_paths(manifest).items()):
        path = build_dir / rel
        if ".." in Path(rel).parts or Path(rel).is_absolute():
            raise InvalidFileError(f"corrupt build manifest in {build_dir}: file entry {rel!r} leaves the build")
        if path.is_symlink() or not path.is_file():
            problem = "is missing" if not os.path.lexists(path) else "is not a regular file"
            if allow_modified_weights and rel.startswith(weights) and path.is_dir():
                problem = "is a directory"  # never acceptable: the loader would read nothing
            bad.append((rel, problem))
            continue
        if path.stat().st_size > _MAX_HASHED or file_sha256(path) != digest:
            if allow_modified_weights and rel.startswith(weights):
                accepted.append(rel)
            else:
                bad.append((rel, "was modified since the build"))
    if bad:
        rel, problem = bad[0]
        more = f" (and {len(bad) - 1} more file(s))" if len(bad) > 1 else ""
        hint = " (--allow-modified-weights accepts edited weight files)" if rel.startswith(weights) else ""
        raise InvalidFileError(f"build {build_dir}: {rel} {problem}{more}; rebuild it{hint}")
    if accepted:
        log.info("build %s: %d weight file(s) modified since the build, accepted (--allow-modified-weights)",
                 build_dir, len(accepted))
    return accepted


def record_build_files(build_dir: str | Path) -> BuildManifest:
    """Re-record the sha256 of a build's files in its manifest: for a copy whose files were changed on purpose
    (an experiment, a test that plants a crash), after which csim accepts them as the build's own."""
    manifest = BuildManifest.read(build_dir)
    manifest.files = record_files(build_dir)
    manifest.write(build_dir)
    return manifest
