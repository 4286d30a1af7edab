"""Load and normalise an ONNX model before it is lowered to hls4ml.

Small named transformations in the qonnx style: each has ``apply(model) ->
(model, changed)`` and :data:`INGEST_FLOW` applies them in a visible order.
The result is still a valid ONNX model (its local functions untouched), so it
is written into the build directory as ``model.onnx`` and runs in onnxruntime.

The ops a build supports are the entries of the op table (:mod:`hashhls.codegen.ops`);
``CheckOps`` refuses anything else, naming the node and the op, and ``InferShapes``
has every node validated by its entry. Every name that reaches C++ goes through
:func:`sanitise_identifier` first.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import onnx
from onnx import helper, numpy_helper

from ..core.errors import InvalidFileError, UnsupportedModelError
from .names import sanitise_identifier
from .onnx_io import (BATCH_DIM, HASHHLS_DOMAIN, HASHHLS_DOMAIN_VERSIONS, OPSETS, attr, attr_float, attr_int,
                      attr_ints, describe, float_array, initializer_map, int_array, load_onnx, op_key,
                      opset_version, printable, quoted, tensor_array, tensor_shapes)
from .ops.registry import op_for_node

log = logging.getLogger(__name__)

__all__ = ["Transformation", "INGEST_FLOW", "ingest", "load_onnx", "attr", "op_key", "initializer_map",
           "tensor_shapes", "sanitise_identifier", "BATCH_DIM", "HASHHLS_DOMAIN"]

_REMOVABLE_OPS = {("", "Identity"), ("", "Dropout")}


class Transformation:
    """One named rewrite of an ONNX model: ``apply(model) -> (model, changed)``; build options as keywords."""

    def __init__(self, **options) -> None:
        self.options = options

    def apply(self, model: onnx.ModelProto) -> tuple[onnx.ModelProto, bool]:
        raise NotImplementedError

    @property
    def name(self) -> str:
        return type(self).__name__


class CheckModel(Transformation):
    """Structural checks: opsets, onnx.checker, one input, one output, no external data."""

    def apply(self, model):
        defaults = [int(o.version) for o in model.opset_import if o.domain in ("", "ai.onnx")]
        version = defaults[0] if len(defaults) == 1 else None
        if len(defaults) > 1:
            raise UnsupportedModelError(f"the model imports the default domain {len(defaults)} times "
                                        f"(opsets {defaults[:4]})")
        if version not in OPSETS:
            raise UnsupportedModelError(f"the model imports default-domain opset {version}; supported: "
                                        f"{OPSETS.start} to {OPSETS.stop - 1}")
        hashed = opset_version(model, HASHHLS_DOMAIN)
        if hashed is not None and hashed not in HASHHLS_DOMAIN_VERSIONS:
            raise UnsupportedModelError(f"the model imports {HASHHLS_DOMAIN} domain version {hashed}; supported: "
                                        f"{', '.join(map(str, HASHHLS_DOMAIN_VERSIONS))}")
        if hashed == HASHHLS_DOMAIN_VERSIONS[0]:  # its function bodies compute hash version 1, whatever a node says
            for node in model.graph.node:
                v = attr_int(node, "hash_version", 1) if node.domain == HASHHLS_DOMAIN else 1
                if v != 1:
                    raise UnsupportedModelError(
                        f"{describe(node)}: hash_version {v} needs {HASHHLS_DOMAIN} domain version 2 (the file imports "
                        "version 1, whose function bodies compute hash version 1: onnxruntime and the build would "
                        "disagree)")
        try:
            onnx.checker.check_model(model)
        except Exception as e:
            raise InvalidFileError(f"invalid ONNX model: {printable(str(e).splitlines()[0] if str(e) else type(e).__name__, 300)}") from None
        inits = initializer_map(model)
        inputs = [i for i in model.graph.input if i.name not in inits]
        if len(inputs) != 1 or len(model.graph.output) != 1:
            raise UnsupportedModelError(f"the model must have exactly one input and one output, got {len(inputs)} inputs "
                               f"and {len(model.graph.output)} outputs")
        for t in model.graph.initializer:
            if t.data_location == onnx.TensorProto.EXTERNAL:
                raise UnsupportedModelError(f"initializer {t.name!r} uses external data, which is not supported")
        return model, False


class RemoveIdentityOps(Transformation):
    """Drop Identity and (inference-mode) Dropout nodes, rewiring their consumers (or their producer, at the output)."""

    def apply(self, model):
        g = model.graph
        outputs = {o.name for o in g.output}
        for node in g.node:
            if op_key(node) not in _REMOVABLE_OPS or not node.input or not node.output:
                continue
            if op_key(node) == ("", "Dropout") and (any(node.output[1:]) or len(node.input) > 2 and node.input[2]):
                continue  # a mask output or a training_mode input: left to CheckOps
            src, dst = node.input[0], node.output[0]
            if dst in outputs:
                producer = next((n for n in g.node if src in n.output), None)
                if producer is None or src in outputs:
                    continue  # the graph's input (or another output) itself: nothing to rewire
                for other in g.node:  # the producer writes the graph output's name instead
                    other.input[:] = [dst if x == src else x for x in other.input]
                producer.output[:] = [dst if x == src else x for x in producer.output]
            else:
                for other in g.node:
                    other.input[:] = [src if x == dst else x for x in other.input]
            g.node.remove(node)
            return model, True
        return model, False


class RemoveDeadNodes(Transformation):
    """Remove nodes none of whose outputs is used (left behind by folds)."""

    def apply(self, model):
        g = model.graph
        used = {x for n in g.node for x in n.input} | {o.name for o in g.output}
        for node in list(g.node):
            if not any(o in used for o in node.output):
                g.node.remove(node)
                return model, True
        return model, False


class FoldConstantTranspose(Transformation):
    """``Transpose`` of an initializer -> the transposed initializer (older exporters' ``nn.Linear(bias=False)``)."""

    def apply(self, model):
        g = model.graph
        inits = initializer_map(model)
        for node in g.node:
            if op_key(node) == ("", "Transpose") and node.input and node.input[0] in inits:
                arr = tensor_array(inits[node.input[0]], describe(node))
                perm = attr_ints(node, "perm", list(range(arr.ndim - 1, -1, -1)))
                if sorted(perm) != list(range(arr.ndim)):
                    raise UnsupportedModelError(f"{describe(node)}: perm {printable(perm, 40)} does not fit a "
                                                f"{arr.ndim}-D tensor")
                g.initializer.append(numpy_helper.from_array(np.ascontiguousarray(arr.transpose(perm)),
                                                             node.output[0]))
                g.node.remove(node)
                return model, True
        return model, False


class ReshapeToFlatten(Transformation):
    """``Reshape`` to a constant ``[batch, -1]`` (``0``, ``1`` or ``-1`` for the batch) or ``[-1, n]`` -> ``Flatten``
    (``[-1, n]`` flattens a whole sample when n is its size, which InferShapes checks against Flatten's output)."""

    def apply(self, model):
        g = model.graph
        inits = initializer_map(model)
        for node in g.node:
            if op_key(node) != ("", "Reshape") or len(node.input) != 2 or node.input[1] not in inits:
                continue
            shape = int_array(inits[node.input[1]], describe(node)).reshape(-1).tolist()
            if len(shape) == 2 and ((shape[0] in (0, 1, -1) and shape[1] == -1) or (shape[0] == -1 and shape[1] > 0)):
                flat = helper.make_node("Flatten", [node.input[0]], list(node.output[:1]), name=node.name, axis=1)
                g.node.insert(list(g.node).index(node), flat)
                g.node.remove(node)
                return model, True
        return model, False


class StripSoftmax(Transformation):
    """With ``--strip-softmax``: remove a ``Softmax`` over the classes at the output (the argmax is unchanged)."""

    def apply(self, model):
        if not self.options.get("strip_softmax"):
            return model, False
        g = model.graph
        outputs = {o.name for o in g.output}
        for node in g.node:
            if op_key(node) == ("", "Softmax") and node.output[0] in outputs:
                producer = next((n for n in g.node if node.input[0] in n.output), None)
                if producer is None:
                    return model, False
                producer.output[:] = [node.output[0] if x == node.input[0] else x for x in producer.output]
                for other in g.node:
                    other.input[:] = [node.output[0] if x == node.input[0] else x for x in other.input]
                g.node.remove(node)
                log.info("--strip-softmax: removed Softmax node %s at the output (the predicted class is unchanged)",
                         quoted(node.name))
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
                    raise UnsupportedModelError(f"Constant node {node.name!r} has no tensor 'value'; unsupported")
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
            if (op_key(node) != ("", "MatMul") or len(node.input) != 2 or node.input[1] not in inits
                    or len(inits[node.input[1]].dims) != 2):
                continue
            w = float_array(inits[node.input[1]], describe(node)).astype(np.float32)
            out, bias = node.output[0], np.zeros(w.shape[1], np.float32)
            users = consumers.get(out, [])
            add = users[0] if len(users) == 1 and op_key(users[0]) == ("", "Add") else None
            if add is not None:
                other = add.input[1] if add.input[0] == out else add.input[0]
                b = float_array(inits[other], describe(add)).reshape(-1) if other in inits else None
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

    Any other batch norm (after a ReLU, a Flatten, a pooling or a hashed layer,
    whose K shared weights cannot take a per-channel scale) stays, and is built
    as hls4ml's BatchNormalization layer; one that does nothing (scale 1, bias
    0) is removed, as hls4ml would.
    """

    def apply(self, model):
        from .ops.base import NodeContext
        from .ops.normalisation import batchnorm_affine

        g = model.graph
        inits = initializer_map(model)
        producers = {o: n for n in g.node for o in n.output}
        consumers: dict[str, int] = {}
        for n in g.node:
            for x in n.input:
                consumers[x] = consumers.get(x, 0) + 1
        opset = opset_version(model, "") or 0
        for bn in g.node:
            if op_key(bn) != ("", "BatchNormalization") or bn.name in self.options.setdefault("kept", set()):
                continue
            s, beta = batchnorm_affine(NodeContext(bn, [], inits, opset))
            prev = producers.get(bn.input[0])
            if np.all(s == 1) and np.all(beta == 0):
                for other in g.node:
                    other.input[:] = [bn.input[0] if x == bn.output[0] else x for x in other.input]
                if prev is not None and bn.output[0] in {o.name for o in g.output}:
                    prev.output[:] = [bn.output[0] if x == bn.input[0] else x for x in prev.output]
                g.node.remove(bn)
                return model, True
            key = op_key(prev) if prev is not None else None
            foldable = (prev is not None and consumers.get(prev.output[0]) == 1 and len(prev.input) >= 2
                        and prev.input[1] in inits and (len(prev.input) < 3 or not prev.input[2] or prev.input[2] in inits)
                        and (key == ("", "Conv") or (key == ("", "Gemm") and attr(prev, "transB", 0) == 1
                                                     and attr(prev, "alpha", 1.0) == 1.0
                                                     and attr(prev, "beta", 1.0) == 1.0 and not attr(prev, "transA", 0))))
            if foldable:
                w = float_array(inits[prev.input[1]], describe(prev))
                has_bias = len(prev.input) > 2 and prev.input[2]
                b = float_array(inits[prev.input[2]], describe(prev)) if has_bias else np.zeros(w.shape[0])
                foldable = w.ndim >= 2 and s.shape == (w.shape[0],) and b.shape == s.shape
            if not foldable:
                self.options["kept"].add(bn.name)  # standalone: hls4ml's BatchNormalization layer
                continue
            w = w * s.reshape(-1, *([1] * (w.ndim - 1)))
            b = b * s + beta
            wname, bname = f"{prev.output[0]}_bnW", f"{prev.output[0]}_bnB"
            g.initializer.extend([numpy_helper.from_array(w.astype(np.float32), wname),
                                  numpy_helper.from_array(b.astype(np.float32), bname)])
            prev.input[:] = [prev.input[0], wname, bname]
            prev.output[0] = bn.output[0]
            g.node.remove(bn)
            return model, True
        return model, False


class CheckOps(Transformation):
    """Refuse any op without an entry in the op table, naming the node and op (domain checked too)."""

    def apply(self, model):
        for node in model.graph.node:
            op_for_node(node)
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

    ``transA=1`` is taken when A is a ``Transpose(perm=[1, 0])`` of a [batch, features] tensor (the Gemm then reads
    that tensor); any other transA=1 is refused. Leaves Gemm in place (hashhls lowers Gemm to hls4ml's stock
    ``Dense`` directly, rather than hls4ml's MatMul+Add route).
    """

    def apply(self, model):
        g = model.graph
        inits = initializer_map(model)
        producers = {o: n for n in g.node for o in n.output}
        for node in g.node:
            if op_key(node) != ("", "Gemm"):
                continue
            alpha, beta = attr_float(node, "alpha", 1.0), attr_float(node, "beta", 1.0)
            trans_a, trans_b = attr_int(node, "transA", 0), attr_int(node, "transB", 0)
            if len(node.input) < 2:
                raise UnsupportedModelError(f"{describe(node)} needs inputs (A, B[, C])")
            canonical = (alpha == 1.0 and beta == 1.0 and trans_a == 0 and trans_b == 1 and len(node.input) == 3
                         and node.input[2])
            if canonical:
                continue
            if trans_a:
                t = producers.get(node.input[0])
                if t is None or op_key(t) != ("", "Transpose") or attr_ints(t, "perm", [1, 0]) != [1, 0]:
                    raise UnsupportedModelError(f"{describe(node)} has transA=1, which is supported only when A is a "
                                                "Transpose(perm=[1, 0]) of a [batch, features] tensor")
                node.input[0] = t.input[0]  # (X^T)^T = X: the Gemm reads [batch, features] directly
            if node.input[1] not in inits or (len(node.input) > 2 and node.input[2] and node.input[2] not in inits):
                raise UnsupportedModelError(f"{describe(node)} needs constant weight and bias initializers")
            w = float_array(inits[node.input[1]], describe(node)).astype(np.float32)
            if w.ndim != 2:
                raise UnsupportedModelError(f"{describe(node)}: weight must be 2-D, got shape {list(w.shape)}")
            w = (w if trans_b else w.T) * np.float32(alpha)
            if len(node.input) > 2 and node.input[2]:
                b = float_array(inits[node.input[2]], describe(node)).astype(np.float32) * np.float32(beta)
            else:
                b = np.zeros(w.shape[0], np.float32)
            if b.size not in (1, w.shape[0]):
                raise UnsupportedModelError(f"{describe(node)}: bias of {b.size} values for {w.shape[0]} outputs")
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
    """Analyse every node with its op entry (validating it) and write ``value_info`` for every tensor.

    hls4ml's ONNX front end needs a shape for every tensor, initializers included.
    """

    def apply(self, model):
        from .graph import graph_input, layer_specs

        g = model.graph
        x = graph_input(model)
        specs = layer_specs(model)
        del g.value_info[:]
        out_names = {o.name for o in g.output}
        for spec in specs:
            vi = helper.make_tensor_value_info(spec.output, onnx.TensorProto.FLOAT, [BATCH_DIM, *spec.out_shape])
            if spec.output in out_names:
                g.output.remove(next(o for o in g.output if o.name == spec.output))
                g.output.append(vi)
            else:
                g.value_info.append(vi)
        for t in g.initializer:  # hls4ml looks initializer shapes up in value_info
            g.value_info.append(helper.make_tensor_value_info(t.name, t.data_type, list(t.dims)))
        x.type.tensor_type.shape.dim[0].Clear()
        x.type.tensor_type.shape.dim[0].dim_param = BATCH_DIM
        return model, False


#: The ingest flow, in order. A pass is re-applied until it reports no change.
INGEST_FLOW: Sequence[type[Transformation]] = (
    CheckModel,
    ConstantsToInitializers,
    RemoveIdentityOps,
    FoldConstantTranspose,
    MatMulAddToGemm,
    FoldBatchNorm,
    ReshapeToFlatten,
    StripSoftmax,
    RemoveDanglingConstants,
    CheckOps,
    SanitiseNames,
    NormaliseGemm,
    RemoveDeadNodes,
    RemoveDanglingConstants,
    InferShapes,
)


def ingest(model: onnx.ModelProto, flow: Sequence[type[Transformation]] = INGEST_FLOW,
           **options) -> onnx.ModelProto:
    """Apply ``flow`` to a copy of ``model`` (each pass to a fixed point) and return the result.

    Args:
        options: build options the passes read (``strip_softmax=True``: :class:`StripSoftmax`).
    """
    m = onnx.ModelProto()
    m.CopyFrom(model)
    for cls in flow:
        t = cls(**dict(options))
        for _ in range(10_000):
            m, changed = t.apply(m)
            if not changed:
                break
        log.debug("ingest: %s done", t.name)
    return m
