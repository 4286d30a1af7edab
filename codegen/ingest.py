"""Load and normalise an ONNX model before it is lowered to hls4ml.

Small named transformations in the qonnx style: each has ``apply(model) ->
(model, changed)`` and :data:`INGEST_FLOW` applies them in a visible order.
The result is still a valid ONNX model (its local functions untouched), so it
is written into the build directory as ``model.onnx`` and runs in onnxruntime.

Supported graphs are feed-forward chains of ``Flatten``, ``Relu``, ``Gemm`` (or ``MatMul``+``Add``),
``Conv``, ``MaxPool``, ``hashhls::HashedLinear`` and ``hashhls::HashedConv2d`` (``Identity``/``Dropout``
are removed). Every
name that reaches C++ goes through :func:`sanitise_identifier` first.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import onnx
from onnx import helper, numpy_helper

from ..core.errors import HashhlsError
from ..frontend.onnx_functions import node_hash_config
from .names import sanitise_identifier

log = logging.getLogger(__name__)

HASHHLS_DOMAIN = "hashhls"
#: (domain, op_type) pairs the build supports; "" is the default ONNX domain.
SUPPORTED_OPS = {("", "Flatten"), ("", "Relu"), ("", "Gemm"), ("", "Conv"), ("", "MaxPool"),
                 (HASHHLS_DOMAIN, "HashedLinear"), (HASHHLS_DOMAIN, "HashedConv2d")}
#: Ops that take an NCHW feature map; the rest of the weighted ops take [batch, features].
SPATIAL_OPS = {("", "Conv"), ("", "MaxPool"), (HASHHLS_DOMAIN, "HashedConv2d")}
#: Name of the symbolic batch dimension of the ingested model (hls4ml's view pins it to 1).
BATCH_DIM = "N"
_REMOVABLE_OPS = {("", "Identity"), ("", "Dropout")}
def op_key(node: onnx.NodeProto) -> tuple[str, str]:
    domain = "" if node.domain in ("", "ai.onnx") else node.domain
    return domain, node.op_type


def attr(node: onnx.NodeProto, name: str, default=None):
    for a in node.attribute:
        if a.name == name:
            value = helper.get_attribute_value(a)
            return value.decode() if isinstance(value, bytes) else value
    return default


def initializer_map(model: onnx.ModelProto) -> dict[str, onnx.TensorProto]:
    return {t.name: t for t in model.graph.initializer}


def tensor_shapes(model: onnx.ModelProto) -> dict[str, list[int]]:
    """Per-sample shapes (no batch dimension) of an ingested model's tensors, from its value_info."""
    out = {}
    for v in (*model.graph.input, *model.graph.value_info, *model.graph.output):
        out[v.name] = [d.dim_value for d in v.type.tensor_type.shape.dim][1:]
    return out


def load_onnx(path: str | Path) -> onnx.ModelProto:
    """Read an ONNX file, turning every parse problem into a HashhlsError naming the file."""
    path = Path(path)
    if not path.is_file():
        raise HashhlsError(f"model file not found: {path}")
    try:
        model = onnx.load_model(str(path), load_external_data=False)
    except Exception as e:  # protobuf raises DecodeError, RuntimeError, ... on garbage
        raise HashhlsError(f"cannot parse ONNX file {path}: {type(e).__name__}: {str(e)[:200]}") from e
    if not model.graph.node:
        raise HashhlsError(f"ONNX file {path} has no graph nodes (truncated or not an ONNX model?)")
    return model


class Transformation:
    """One named rewrite of an ONNX model: ``apply(model) -> (model, changed)``."""

    def apply(self, model: onnx.ModelProto) -> tuple[onnx.ModelProto, bool]:
        raise NotImplementedError

    @property
    def name(self) -> str:
        return type(self).__name__


class CheckModel(Transformation):
    """Structural checks: onnx.checker, one input, one output, no external data."""

    def apply(self, model):
        try:
            onnx.checker.check_model(model)
        except Exception as e:
            raise HashhlsError(f"invalid ONNX model: {str(e).splitlines()[0][:300]}") from e
        inits = initializer_map(model)
        inputs = [i for i in model.graph.input if i.name not in inits]
        if len(inputs) != 1 or len(model.graph.output) != 1:
            raise HashhlsError(f"the model must have exactly one input and one output, got {len(inputs)} inputs "
                               f"and {len(model.graph.output)} outputs")
        for t in model.graph.initializer:
            if t.data_location == onnx.TensorProto.EXTERNAL:
                raise HashhlsError(f"initializer {t.name!r} uses external data, which is not supported")
        return model, False


class RemoveIdentityOps(Transformation):
    """Drop Identity and (inference-mode) Dropout nodes, rewiring their consumers."""

    def apply(self, model):
        g = model.graph
        for node in g.node:
            if op_key(node) in _REMOVABLE_OPS:
                src, dst = node.input[0], node.output[0]
                if dst in {o.name for o in g.output}:
                    continue  # keep the graph output's name; rare, left to CheckOps
                for other in g.node:
                    other.input[:] = [src if x == dst else x for x in other.input]
                g.node.remove(node)
                return model, True
        return model, False


class RemoveDanglingConstants(Transformation):
    """Remove Constant nodes and initializers no node consumes (hls4ml chokes on them)."""

    def apply(self, model):
        g = model.graph
        used = {x for n in g.node for x in n.input} | {o.name for o in g.output}
        changed = False
        for node in list(g.node):
            if node.op_type == "Constant" and node.output[0] not in used:
                g.node.remove(node)
                changed = True
        for t in list(g.initializer):
            if t.name not in used:
                g.initializer.remove(t)
                for i in list(g.input):
                    if i.name == t.name:
                        g.input.remove(i)
                changed = True
        return model, changed


class ConstantsToInitializers(Transformation):
    """Turn ``Constant`` nodes (value tensors) into initializers."""

    def apply(self, model):
        g = model.graph
        for node in g.node:
            if op_key(node) == ("", "Constant"):
                value = attr(node, "value")
                if not isinstance(value, onnx.TensorProto):
                    raise HashhlsError(f"Constant node {node.name!r} has no tensor 'value'; unsupported")
                t = numpy_helper.from_array(numpy_helper.to_array(value), node.output[0])
                g.initializer.append(t)
                g.node.remove(node)
                return model, True
        return model, False


class MatMulAddToGemm(Transformation):
    """``MatMul(X, W) [+ Add(., B)]`` with constant W ``(in, out)`` and B -> one ``Gemm`` (other exporters' MLPs)."""

    def apply(self, model):
        g = model.graph
        inits = initializer_map(model)
        consumers: dict[str, list[onnx.NodeProto]] = {}
        for n in g.node:
            for x in n.input:
                consumers.setdefault(x, []).append(n)
        for node in g.node:
            if op_key(node) != ("", "MatMul") or node.input[1] not in inits or len(inits[node.input[1]].dims) != 2:
                continue
            w = numpy_helper.to_array(inits[node.input[1]]).astype(np.float32)
            out, bias = node.output[0], np.zeros(w.shape[1], np.float32)
            users = consumers.get(out, [])
            add = users[0] if len(users) == 1 and op_key(users[0]) == ("", "Add") else None
            if add is not None:
                other = add.input[1] if add.input[0] == out else add.input[0]
                b = numpy_helper.to_array(inits[other]).reshape(-1) if other in inits else None
                if b is not None and b.size in (1, w.shape[1]):
                    bias = np.broadcast_to(b.astype(np.float32), (w.shape[1],)).copy()
                    out = add.output[0]
                    g.node.remove(add)
            wname, bname = f"{node.output[0]}_gemm_W", f"{node.output[0]}_gemm_B"
            g.initializer.extend([numpy_helper.from_array(np.ascontiguousarray(w.T), wname),
                                  numpy_helper.from_array(bias, bname)])
            gemm = helper.make_node("Gemm", [node.input[0], wname, bname], [out], name=node.name, transB=1)
            idx = list(g.node).index(node)
            g.node.remove(node)
            g.node.insert(idx, gemm)
            return model, True
        return model, False


class FoldBatchNorm(Transformation):
    """``Conv``/``Gemm`` followed by inference ``BatchNormalization`` -> one ``Conv``/``Gemm`` (folded weights).

    A batch norm after a hashed layer cannot be folded into its K shared weights
    (each output channel would need its own scale): that is refused, naming the node.
    """

    def apply(self, model):
        g = model.graph
        inits = initializer_map(model)
        producers = {o: n for n in g.node for o in n.output}
        consumers: dict[str, int] = {}
        for n in g.node:
            for x in n.input:
                consumers[x] = consumers.get(x, 0) + 1
        for bn in g.node:
            if op_key(bn) != ("", "BatchNormalization"):
                continue
            prev = producers.get(bn.input[0])
            where = f"BatchNormalization node {bn.name!r}"
            if prev is not None and prev.domain == HASHHLS_DOMAIN:
                raise HashhlsError(f"{where} follows hashed layer {prev.name!r}: a per-channel scale cannot be "
                                   "folded into shared hashed weights (fold it during training)")
            if len(bn.output) != 1 or int(attr(bn, "training_mode", 0)):
                raise HashhlsError(f"{where}: only inference-mode batch norm (one output) is supported")
            if any(name not in inits for name in bn.input[1:5]):
                raise HashhlsError(f"{where}: scale, bias, mean and variance must be constant initializers")
            scale, beta, mean, var = (numpy_helper.to_array(inits[n]).astype(np.float64) for n in bn.input[1:5])
            s = scale / np.sqrt(var + float(attr(bn, "epsilon", 1e-5)))
            key = op_key(prev) if prev is not None else None
            foldable = (prev is not None and consumers.get(prev.output[0]) == 1 and prev.input[1] in inits
                        and (len(prev.input) < 3 or not prev.input[2] or prev.input[2] in inits)
                        and (key == ("", "Conv") or (key == ("", "Gemm") and attr(prev, "transB", 0) == 1
                                                     and attr(prev, "alpha", 1.0) == 1.0
                                                     and attr(prev, "beta", 1.0) == 1.0 and not attr(prev, "transA", 0))))
            if not foldable:
                raise HashhlsError(f"{where} must directly follow a Conv or Gemm (transB=1) with constant weights "
                                   "to be folded")
            w = numpy_helper.to_array(inits[prev.input[1]]).astype(np.float64)
            has_bias = len(prev.input) > 2 and prev.input[2]
            b = numpy_helper.to_array(inits[prev.input[2]]).astype(np.float64) if has_bias else np.zeros(w.shape[0])
            if s.shape != (w.shape[0],):
                raise HashhlsError(f"{where}: {s.size} channels for {w.shape[0]} outputs of {prev.name!r}")
            w = w * s.reshape(-1, *([1] * (w.ndim - 1)))
            b = (b - mean) * s + beta
            wname, bname = f"{prev.output[0]}_bnW", f"{prev.output[0]}_bnB"
            g.initializer.extend([numpy_helper.from_array(w.astype(np.float32), wname),
                                  numpy_helper.from_array(b.astype(np.float32), bname)])
            prev.input[:] = [prev.input[0], wname, bname]
            prev.output[0] = bn.output[0]
            g.node.remove(bn)
            return model, True
        return model, False


class CheckOps(Transformation):
    """Refuse any op outside :data:`SUPPORTED_OPS`, naming the node and op (domain checked too)."""

    def apply(self, model):
        for node in model.graph.node:
            key = op_key(node)
            if key not in SUPPORTED_OPS:
                op = f"{key[0]}::{key[1]}" if key[0] else key[1]
                ok = ", ".join(sorted(f"{d}::{o}" if d else o for d, o in SUPPORTED_OPS))
                raise HashhlsError(f"unsupported operation {op!r} in node {node.name!r} (supported: {ok})")
        return model, False


class SanitiseNames(Transformation):
    """Give every node and tensor a unique C++-safe identifier (via :func:`sanitise_identifier`)."""

    def apply(self, model):
        g = model.graph
        taken: set[str] = set()
        changed = False

        def unique(base: str) -> str:
            name, k = base, 2
            while name in taken:
                name = f"{base}_{k}"
                k += 1
            taken.add(name)
            return name

        tensor_names = [i.name for i in g.input] + [t.name for t in g.initializer]
        tensor_names += [o for n in g.node for o in n.output]
        renames: dict[str, str] = {}
        for t in tensor_names:
            if t and t not in renames:
                renames[t] = unique(sanitise_identifier(t, "t"))
        for i, node in enumerate(g.node):
            new = unique(sanitise_identifier(node.name or f"{node.op_type}_{i}", node.op_type))
            changed |= new != node.name
            node.name = new
            node.input[:] = [renames.get(x, x) for x in node.input]
            node.output[:] = [renames.get(x, x) for x in node.output]
        for coll in (g.input, g.output, g.value_info, g.initializer):
            for v in coll:
                if v.name in renames and renames[v.name] != v.name:
                    v.name = renames[v.name]
                    changed = True
        return model, changed


class NormaliseGemm(Transformation):
    """Fold ``alpha``/``beta``/``transB=0`` into the initializers: ``Y = X @ W^T + B`` with W ``(out, in)``.

    Leaves Gemm in place (hashhls lowers Gemm to hls4ml's stock ``Dense``
    directly, rather than hls4ml's MatMul+Add route).
    """

    def apply(self, model):
        g = model.graph
        inits = initializer_map(model)
        for node in g.node:
            if op_key(node) != ("", "Gemm"):
                continue
            alpha, beta = attr(node, "alpha", 1.0), attr(node, "beta", 1.0)
            trans_a, trans_b = attr(node, "transA", 0), attr(node, "transB", 0)
            canonical = alpha == 1.0 and beta == 1.0 and trans_b == 1 and len(node.input) == 3 and node.input[2]
            if canonical:
                continue
            if trans_a:
                raise HashhlsError(f"Gemm node {node.name!r} has transA=1; unsupported")
            if node.input[1] not in inits or (len(node.input) > 2 and node.input[2] and node.input[2] not in inits):
                raise HashhlsError(f"Gemm node {node.name!r} needs constant weight and bias initializers")
            w = numpy_helper.to_array(inits[node.input[1]]).astype(np.float32)
            w = (w if trans_b else w.T) * np.float32(alpha)
            if len(node.input) > 2 and node.input[2]:
                b = numpy_helper.to_array(inits[node.input[2]]).astype(np.float32) * np.float32(beta)
            else:
                b = np.zeros(w.shape[0], np.float32)
            if b.size not in (1, w.shape[0]):
                raise HashhlsError(f"Gemm node {node.name!r}: bias of {b.size} values for {w.shape[0]} outputs")
            b = np.broadcast_to(b.reshape(-1), (w.shape[0],)).copy()
            wname, bname = f"{node.name}_W", f"{node.name}_B"
            g.initializer.extend([numpy_helper.from_array(np.ascontiguousarray(w), wname),
                                  numpy_helper.from_array(b.astype(np.float32), bname)])
            node.input[:] = [node.input[0], wname, bname]
            del node.attribute[:]
            node.attribute.extend([helper.make_attribute("transB", 1)])
            return model, True
        return model, False


class InferShapes(Transformation):
    """Propagate shapes through the (small) supported op set and write ``value_info`` for every tensor.

    Also validates each layer: HashedLinear's attributes against its input
    size, K and the bias; Gemm's weight against its input. hls4ml's ONNX front
    end needs a shape for every tensor, initializers included.
    """

    def apply(self, model):
        g = model.graph
        inits = initializer_map(model)
        x = next(i for i in g.input if i.name not in inits)
        dims = [d.dim_value if d.HasField("dim_value") else 0 for d in x.type.tensor_type.shape.dim]
        if len(dims) < 2 or any(d <= 0 for d in dims[1:]):
            raise HashhlsError(f"model input {x.name!r} must be [batch, ...] with fixed positive sizes, got "
                               f"{[d.dim_param or d.dim_value for d in x.type.tensor_type.shape.dim]}")
        if x.type.tensor_type.elem_type != onnx.TensorProto.FLOAT:
            raise HashhlsError(f"model input {x.name!r} must be float32")
        shapes: dict[str, list[int]] = {x.name: [1] + dims[1:]}
        for node in g.node:
            if node.input[0] not in shapes:
                raise HashhlsError(f"node {node.name!r} reads {node.input[0]!r} before it is computed "
                                   "(only feed-forward chains are supported)")
            shapes[node.output[0]] = self._out_shape(node, shapes[node.input[0]], inits)
        del g.value_info[:]
        out_names = {o.name for o in g.output}
        for name, shape in shapes.items():
            if name == x.name:
                continue
            vi = helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, [BATCH_DIM, *shape[1:]])
            if name in out_names:
                g.output.remove(next(o for o in g.output if o.name == name))
                g.output.append(vi)
            else:
                g.value_info.append(vi)
        for t in g.initializer:  # hls4ml looks initializer shapes up in value_info
            g.value_info.append(helper.make_tensor_value_info(t.name, t.data_type, list(t.dims)))
        x.type.tensor_type.shape.dim[0].Clear()
        x.type.tensor_type.shape.dim[0].dim_param = BATCH_DIM
        return model, False

    @staticmethod
    def _out_shape(node: onnx.NodeProto, shape: list[int], inits: dict) -> list[int]:
        key = op_key(node)
        if key == ("", "Relu"):
            return list(shape)
        if key == ("", "Flatten"):
            axis = attr(node, "axis", 1)
            if axis != 1:
                raise HashhlsError(f"Flatten node {node.name!r} has axis={axis}; only axis=1 is supported")
            return [1, int(np.prod(shape[1:]))]
        if key in SPATIAL_OPS:
            return InferShapes._window_shape(node, shape, inits)
        if len(shape) != 2:
            raise HashhlsError(f"node {node.name!r} ({node.op_type}) needs a flat [batch, features] input, got "
                               f"{shape}; add a Flatten before it")
        for name in node.input[1:]:
            if name and name not in inits:
                raise HashhlsError(f"node {node.name!r}: input {name!r} must be a constant initializer")
        if key == ("", "Gemm"):
            w = inits[node.input[1]]
            if len(w.dims) != 2 or w.dims[1] != shape[1]:
                raise HashhlsError(f"Gemm node {node.name!r}: weight shape {list(w.dims)} does not match input "
                                   f"size {shape[1]} (wrong input shape?)")
            return [1, int(w.dims[0])]
        # hashhls::HashedLinear
        n_in, n_out, seed = attr(node, "in_features"), attr(node, "out_features"), attr(node, "seed")
        if not all(isinstance(v, int) for v in (n_in, n_out, seed)):
            raise HashhlsError(f"HashedLinear node {node.name!r} needs int attributes in_features, out_features, seed")
        if n_in != shape[1]:
            raise HashhlsError(f"HashedLinear node {node.name!r} expects {n_in} inputs but receives {shape[1]} "
                               "(wrong input shape?)")
        if len(node.input) != 3:
            raise HashhlsError(f"HashedLinear node {node.name!r} needs inputs (X, W, B)")
        w, b = inits[node.input[1]], inits[node.input[2]]
        node_hash_config(node, int(np.prod(w.dims)) if len(w.dims) == 1 else 0)  # seed, K, version, banks
        if list(b.dims) != [n_out]:
            raise HashhlsError(f"HashedLinear node {node.name!r}: bias shape {list(b.dims)} != [{n_out}]")
        return [1, n_out]

    @staticmethod
    def _window_shape(node: onnx.NodeProto, shape: list[int], inits: dict) -> list[int]:
        from .geometry import window_of

        key = op_key(node)
        if key == ("", "MaxPool"):
            return [1, *window_of(node, shape).out_shape]
        for name in node.input[1:]:
            if name and name not in inits:
                raise HashhlsError(f"node {node.name!r}: input {name!r} must be a constant initializer")
        if len(node.input) < 2:
            raise HashhlsError(f"node {node.name!r} ({node.op_type}) has no weight input")
        w = inits[node.input[1]]
        if key == ("", "Conv"):
            out_c = int(w.dims[0]) if len(w.dims) == 4 else 0
            win = window_of(node, shape, out_c)
            if list(w.dims) != [win.out_c, win.in_c, win.kh, win.kw]:
                raise HashhlsError(f"Conv node {node.name!r}: weight shape {list(w.dims)} does not match input "
                                   f"channels {win.in_c} and kernel {win.kh}x{win.kw} (wrong input shape?)")
        else:  # hashhls::HashedConv2d
            n_in, n_out, seed = attr(node, "in_channels"), attr(node, "out_channels"), attr(node, "seed")
            if not all(isinstance(v, int) for v in (n_in, n_out, seed)):
                raise HashhlsError(f"HashedConv2d node {node.name!r} needs int attributes in_channels, "
                                   "out_channels, seed")
            win = window_of(node, shape, n_out)
            if n_in != win.in_c:
                raise HashhlsError(f"HashedConv2d node {node.name!r} expects {n_in} input channels but receives "
                                   f"{win.in_c} (wrong input shape?)")
            node_hash_config(node, int(np.prod(w.dims)) if len(w.dims) == 1 else 0)  # seed, K, version, banks
        if len(node.input) < 3 or not node.input[2]:
            raise HashhlsError(f"node {node.name!r} ({node.op_type}) needs a bias input (export with bias)")
        if list(inits[node.input[2]].dims) != [win.out_c]:
            raise HashhlsError(f"node {node.name!r}: bias shape {list(inits[node.input[2]].dims)} != [{win.out_c}]")
        return [1, *win.out_shape]


#: The ingest flow, in order. A pass is re-applied until it reports no change.
INGEST_FLOW: Sequence[type[Transformation]] = (
    CheckModel,
    ConstantsToInitializers,
    RemoveIdentityOps,
    MatMulAddToGemm,
    FoldBatchNorm,
    RemoveDanglingConstants,
    CheckOps,
    SanitiseNames,
    NormaliseGemm,
    RemoveDanglingConstants,
    InferShapes,
)


def ingest(model: onnx.ModelProto, flow: Sequence[type[Transformation]] = INGEST_FLOW) -> onnx.ModelProto:
    """Apply ``flow`` to a copy of ``model`` (each pass to a fixed point) and return the result."""
    m = onnx.ModelProto()
    m.CopyFrom(model)
    for cls in flow:
        t = cls()
        for _ in range(10_000):
            m, changed = t.apply(m)
            if not changed:
                break
        log.debug("ingest: %s done", t.name)
    return m
