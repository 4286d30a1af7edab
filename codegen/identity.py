"""A model's identity: which network an adversarial set was crafted on, and which one a build computes.

Two files hold the same model in different forms (a checkpoint and its ONNX export; the ONNX file a build was
made from and the checkpoint an attacker loaded), so the file digest alone cannot say whether they are the same
network. :func:`fingerprint` hashes what the network computes instead: the ONNX graph's nodes in order (domain,
op type, attributes) and the bytes of every initializer they read, without names, metadata or producer strings.
A checkpoint is fingerprinted through its (deterministic) ONNX export, with GI folded as the build folds it, so
``model.pt``, ``hashhls export model.pt -o model.onnx`` and the build of either share one fingerprint.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np
import onnx
from onnx import helper, numpy_helper

from ..frontend.onnx_functions import CONFIG_KEY


@dataclass(frozen=True)
class ModelIdentity:
    """Who a model is, as recorded in build manifests, adversarial files and reports.

    Attributes:
        fingerprint: sha256 of what the network computes (:func:`fingerprint`); two identities are the same
            model iff their fingerprints are equal.
        file_sha256: sha256 of the file the user gave (checkpoint or ONNX), "" when made in memory.
        source: that file's name, or ``bundled:<name>``.
        name: zoo model name (from the checkpoint config or the ONNX ``hashhls.config`` metadata), else the
            file's stem.
        compression: the zoo config's compression (1 = dense), None when unknown.
        hash_version: the hash spec version of its hashed layers, when the config records one.
        gi: the gradient-inhibition config (``{"mode", "eps"}``), None without GI.
    """

    fingerprint: str
    file_sha256: str = ""
    source: str = ""
    name: str = "unknown"
    compression: float | None = None
    hash_version: int | None = None
    gi: dict | None = None

    @property
    def short(self) -> str:
        """A readable one-word label, e.g. ``mnist-mlp c8 GI-sign 0.1 [1a2b3c4d]``."""
        parts = [self.name]
        if self.compression is not None:
            parts.append("dense" if self.compression == 1 else f"c{self.compression:g}")
        if self.gi:
            parts.append(f"GI-{self.gi.get('mode')} {self.gi.get('eps'):g}")
        return " ".join(parts) + f" [{self.fingerprint[:8]}]"

    def same_model(self, other: ModelIdentity | None) -> bool:
        return other is not None and other.fingerprint == self.fingerprint

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> ModelIdentity:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in dict(d).items() if k in known})


def fingerprint(model: onnx.ModelProto) -> str:
    """sha256 over the graph's computation: nodes in order with attributes, and the initializers they read."""
    inits = {t.name: t for t in model.graph.initializer}
    h = hashlib.sha256()
    inputs = [i for i in model.graph.input if i.name not in inits]
    for i in inputs:
        dims = [d.dim_value if d.HasField("dim_value") else -1 for d in i.type.tensor_type.shape.dim]
        h.update(f"input{dims[1:]}".encode())
    for node in model.graph.node:
        attrs = sorted((a.name, _attr_repr(helper.get_attribute_value(a))) for a in node.attribute)
        h.update(f"\0{node.domain}::{node.op_type}{attrs}".encode())
        for name in node.input:
            if name in inits:
                arr = np.ascontiguousarray(numpy_helper.to_array(inits[name]))
                h.update(f"{arr.dtype.str}{arr.shape}".encode() + arr.tobytes())
    return h.hexdigest()


def _attr_repr(v) -> str:
    if isinstance(v, bytes):
        return v.decode(errors="replace")
    if isinstance(v, (list, tuple)):
        return repr([_attr_repr(x) if isinstance(x, bytes) else x for x in v])
    if isinstance(v, onnx.TensorProto):
        return repr(numpy_helper.to_array(v).tolist())
    return repr(v)


def _config(model: onnx.ModelProto) -> dict:
    for p in model.metadata_props:
        if p.key == CONFIG_KEY:
            try:
                d = json.loads(p.value)
                return d if isinstance(d, dict) else {}
            except ValueError:
                return {}
    return {}


def identity_of_onnx(model: onnx.ModelProto, file_sha256: str = "", source: str = "") -> ModelIdentity:
    """The identity of an (un-ingested) ONNX model as the user gave it; its config comes from the metadata."""
    cfg = _config(model)
    name = str(cfg.get("name") or (Path(source).stem if source else "unknown"))
    comp = cfg.get("compression")
    hv = cfg.get("hash_version")
    return ModelIdentity(fingerprint(model), file_sha256, source, name,
                         None if comp is None else float(comp), None if hv is None else int(hv), cfg.get("gi"))


def identity_of_checkpoint(path: str | Path, label: str | None = None) -> ModelIdentity:
    """The identity of a hashhls checkpoint (fingerprinted through its in-memory ONNX export)."""
    from ..frontend.onnx_export import export_checkpoint

    path = Path(path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return identity_of_onnx(export_checkpoint(path, None), digest, label or path.name)
