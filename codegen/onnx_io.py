"""The ONNX helpers every codegen stage shares: the one loader, typed attributes, validated initializers,
tensor shapes, opsets and the hashhls domain.

Ingest, the op table, geometry, precision, the emulator, the hls4ml view and
the ONNX -> torch loader all read ONNX through this module, so a malformed file
fails the same way everywhere: one :class:`~hashhls.core.errors.HashhlsError`
subclass with a one-line message naming the node, attribute or tensor.
Names from the file are quoted with :func:`quoted` (``repr``: control
characters escaped, so nothing from a file can drive the terminal).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import AttributeProto, TensorProto, numpy_helper

from ..core.errors import InvalidFileError, UnsupportedModelError
from ..frontend.onnx_functions import DOMAIN as HASHHLS_DOMAIN
from ..frontend.onnx_functions import DOMAIN_VERSIONS as HASHHLS_DOMAIN_VERSIONS

__all__ = ["HASHHLS_DOMAIN", "HASHHLS_DOMAIN_VERSIONS", "BATCH_DIM", "OPSETS", "load_onnx", "op_key", "op_label",
           "quoted", "printable", "describe", "attr", "attr_int", "attr_float", "attr_ints", "attr_str",
           "attr_tensor", "initializer_map", "tensor_array", "float_array", "int_array", "MAX_ELEMENTS", "tensor_shapes", "opset_version"]

#: Name of the symbolic batch dimension of an ingested model (hls4ml's view pins it to 1).
BATCH_DIM = "N"
#: Default-domain opsets the build accepts: 6 to the newest the installed onnx knows (every supported op is
#: read per its opset's semantics; after opset 21 these ops only gained data types).
OPSETS = range(6, onnx.defs.onnx_opset_version() + 1)
#: Longest name shown in a message (fuzzed files carry megabyte-long names).
_MAX_SHOWN = 80


def printable(text: object, limit: int = 200) -> str:
    """``text`` with every non-printable character escaped (``\\x1b`` -> ``\\\\x1b``), shortened to ``limit``."""
    s = str(text)
    if len(s) > limit:
        s = s[:limit] + "..."
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in s)


def quoted(name: object) -> str:
    """A name from a file as a message shows it: ``repr`` (quotes, control characters escaped), shortened."""
    s = str(name)
    return repr(s if len(s) <= _MAX_SHOWN else s[:_MAX_SHOWN] + "...")


def op_key(node: onnx.NodeProto) -> tuple[str, str]:
    """``(domain, op_type)`` with the default domain spelled ``""``."""
    domain = "" if node.domain in ("", "ai.onnx") else node.domain
    return domain, node.op_type


def op_label(key: tuple[str, str]) -> str:
    """``Gemm`` or ``hashhls::HashedLinear``."""
    return f"{key[0]}::{key[1]}" if key[0] else key[1]


def describe(node: onnx.NodeProto) -> str:
    """``Gemm node 'fc1'`` for messages."""
    return f"{printable(op_label(op_key(node)), _MAX_SHOWN)} node {quoted(node.name)}"


def load_onnx(path: str | Path, what: str = "model") -> onnx.ModelProto:
    """The one ONNX loader: read ``path``; a missing, unreadable or unparsable file is an InvalidFileError."""
    path = Path(path)
    if not path.is_file():
        raise InvalidFileError(f"{what} file not found: {printable(path)}")
    try:
        model = onnx.load_model(str(path), load_external_data=False)
    except Exception as e:  # protobuf raises DecodeError, RuntimeError, ... on garbage
        raise InvalidFileError(f"cannot parse ONNX file {printable(path)}: {type(e).__name__}: "
                               f"{printable(str(e).splitlines()[0] if str(e) else '', 200)}") from None
    if not model.graph.node:
        raise InvalidFileError(f"ONNX file {printable(path)} has no graph nodes (truncated or not an ONNX model?)")
    return model


def opset_version(model: onnx.ModelProto, domain: str = "") -> int | None:
    """The opset the model imports for ``domain`` ("" and "ai.onnx" are the default domain), or None."""
    for o in model.opset_import:
        d = "" if o.domain in ("", "ai.onnx") else o.domain
        if d == domain:
            return int(o.version)
    return None


# -- attributes ----------------------------------------------------------------

_TYPE_NAMES = {AttributeProto.INT: "an int", AttributeProto.FLOAT: "a float", AttributeProto.INTS: "a list of ints",
               AttributeProto.FLOATS: "a list of floats", AttributeProto.STRING: "a string",
               AttributeProto.TENSOR: "a tensor"}


def _find(node: onnx.NodeProto, name: str) -> AttributeProto | None:
    for a in node.attribute:
        if a.name == name:
            return a
    return None


def _typed(node: onnx.NodeProto, name: str, kind: int) -> AttributeProto | None:
    a = _find(node, name)
    if a is not None and a.type != kind:
        got = _TYPE_NAMES.get(a.type, AttributeProto.AttributeType.Name(a.type) if a.type in
                              AttributeProto.AttributeType.values() else f"type {a.type}")
        raise UnsupportedModelError(f"{describe(node)}: attribute {quoted(name)} must be {_TYPE_NAMES[kind]}, "
                                    f"got {got}")
    return a


def attr(node: onnx.NodeProto, name: str, default=None):
    """An attribute's value, whatever its type (strings decoded); ``default`` if absent."""
    a = _find(node, name)
    if a is None:
        return default
    value = onnx.helper.get_attribute_value(a)
    return value.decode(errors="replace") if isinstance(value, bytes) else value


def attr_int(node: onnx.NodeProto, name: str, default: int | None = None) -> int | None:
    a = _typed(node, name, AttributeProto.INT)
    return default if a is None else int(a.i)


def attr_float(node: onnx.NodeProto, name: str, default: float | None = None) -> float | None:
    a = _typed(node, name, AttributeProto.FLOAT)
    if a is None:
        return default
    if not np.isfinite(a.f):
        raise UnsupportedModelError(f"{describe(node)}: attribute {quoted(name)} is {a.f}")
    return float(a.f)


def attr_ints(node: onnx.NodeProto, name: str, default: list[int] | None = None, n: int | None = None
              ) -> list[int] | None:
    """A list-of-ints attribute; with ``n``, it must have exactly ``n`` values."""
    a = _typed(node, name, AttributeProto.INTS)
    if a is None:
        return None if default is None else list(default)
    value = [int(v) for v in a.ints]
    if n is not None and len(value) != n:
        raise UnsupportedModelError(f"{describe(node)}: attribute {quoted(name)} must have {n} values, got "
                                    f"{printable(value, 60)}")
    return value


def attr_str(node: onnx.NodeProto, name: str, default: str | None = None) -> str | None:
    a = _typed(node, name, AttributeProto.STRING)
    return default if a is None else a.s.decode(errors="replace")


def attr_tensor(node: onnx.NodeProto, name: str) -> TensorProto | None:
    a = _typed(node, name, AttributeProto.TENSOR)
    return None if a is None else a.t


# -- initializers ----------------------------------------------------------------

def initializer_map(model: onnx.ModelProto) -> dict[str, TensorProto]:
    return {t.name: t for t in model.graph.initializer}


#: No initializer or tensor of a built model may hold more elements than this (a fuzzed dim of 10^12
#: must be a one-line refusal, not a MemoryError).
MAX_ELEMENTS = 1 << 26


def tensor_array(t: TensorProto, where: str = "") -> np.ndarray:
    """A TensorProto's data as numpy, checked against its dims and data type (InvalidFileError otherwise)."""
    what = f"initializer {quoted(t.name)}" + (f" of {where}" if where else "")
    if t.data_location == TensorProto.EXTERNAL:
        raise UnsupportedModelError(f"{what} uses external data, which is not supported")
    dims = list(t.dims)
    if any(d < 0 for d in dims) or int(np.prod(dims, dtype=np.float64)) > MAX_ELEMENTS:
        raise InvalidFileError(f"{what} has invalid dims {printable(dims, 60)}")
    try:
        arr = numpy_helper.to_array(t)
    except Exception as e:  # data of the wrong size or an unknown data type: ValueError, KeyError, TypeError ...
        raise InvalidFileError(f"{what} is corrupt (dims {printable(dims, 60)}, data type {t.data_type}): "
                               f"{type(e).__name__}") from None
    if list(arr.shape) != dims:
        raise InvalidFileError(f"{what} holds {arr.size} values for dims {printable(dims, 60)}")
    return arr


def float_array(t: TensorProto, where: str = "") -> np.ndarray:
    """A floating-point initializer as float64; NaN or infinity is refused (the hardware cannot hold it)."""
    arr = tensor_array(t, where)
    what = f"initializer {quoted(t.name)}" + (f" of {where}" if where else "")
    if arr.dtype.kind != "f":
        raise UnsupportedModelError(f"{what} must be floating point, got {arr.dtype}")
    arr = arr.astype(np.float64)
    if not np.isfinite(arr).all():
        raise UnsupportedModelError(f"{what} contains NaN or infinity")
    return arr


def int_array(t: TensorProto, where: str = "") -> np.ndarray:
    """An integer initializer (shapes, axes) as int64."""
    arr = tensor_array(t, where)
    if arr.dtype.kind not in "iu":
        what = f"initializer {quoted(t.name)}" + (f" of {where}" if where else "")
        raise UnsupportedModelError(f"{what} must be integer, got {arr.dtype}")
    return arr.astype(np.int64)


# -- shapes ------------------------------------------------------------------------

def tensor_shapes(model: onnx.ModelProto) -> dict[str, list[int]]:
    """Per-sample shapes (no batch dimension) of an ingested model's tensors, from its value_info."""
    out = {}
    for v in (*model.graph.input, *model.graph.value_info, *model.graph.output):
        out[v.name] = [d.dim_value for d in v.type.tensor_type.shape.dim][1:]
    return out
