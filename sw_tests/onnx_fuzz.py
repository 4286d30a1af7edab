"""A seeded ONNX mutator: malformed variants of good models, for the zero-traceback fuzz (sw_tests/test_fuzz_onnx.py,
bench/fuzz_onnx.py).

Every case is ``(label, bytes)``. Mutations: byte level (truncation, byte
flips) and protobuf level (deleted nodes and initializers, dims 0 / negative /
huge, data types that disagree with the data, attributes of the wrong type,
missing inputs, cycles, duplicate names, unknown domains and opsets, NaN and
infinite weights, unsupported op types).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np
import onnx
from onnx import AttributeProto, TensorProto, helper, numpy_helper


def _nodes(m):
    return list(m.graph.node)


def truncate(m: onnx.ModelProto, rng) -> bytes:
    data = m.SerializeToString()
    return data[:int(rng.integers(0, len(data)))]


def flip_bytes(m: onnx.ModelProto, rng) -> bytes:
    data = bytearray(m.SerializeToString())
    for _ in range(int(rng.integers(1, 9))):
        data[int(rng.integers(0, len(data)))] = int(rng.integers(0, 256))
    return bytes(data)


def delete_node(m, rng):
    if m.graph.node:
        del m.graph.node[int(rng.integers(0, len(m.graph.node)))]


def delete_initializer(m, rng):
    if m.graph.initializer:
        del m.graph.initializer[int(rng.integers(0, len(m.graph.initializer)))]


def bad_dim(m, rng):
    values = [0, -1, -7, 10**9, 2**40, 1]
    vis = [*m.graph.input, *m.graph.output, *m.graph.value_info]
    v = vis[int(rng.integers(0, len(vis)))]
    dims = v.type.tensor_type.shape.dim
    if dims:
        d = dims[int(rng.integers(0, len(dims)))]
        d.Clear()
        d.dim_value = int(values[int(rng.integers(0, len(values)))])


def bad_initializer_dims(m, rng):
    if m.graph.initializer:
        t = m.graph.initializer[int(rng.integers(0, len(m.graph.initializer)))]
        if t.dims:
            t.dims[int(rng.integers(0, len(t.dims)))] = int(rng.choice([0, -3, 10**12, t.dims[0] + 1]))
        else:
            t.dims.append(5)


def bad_dtype(m, rng):
    if m.graph.initializer:
        t = m.graph.initializer[int(rng.integers(0, len(m.graph.initializer)))]
        t.data_type = int(rng.choice([TensorProto.INT64, TensorProto.DOUBLE, TensorProto.FLOAT16, TensorProto.STRING,
                                      TensorProto.BOOL, 0, 99]))


def nonfinite_weight(m, rng):
    floats = [t for t in m.graph.initializer if t.data_type == TensorProto.FLOAT]
    if floats:
        t = floats[int(rng.integers(0, len(floats)))]
        try:
            a = numpy_helper.to_array(t).copy()
        except ValueError:  # an earlier mutation broke it already
            return
        if a.size:
            a.reshape(-1)[int(rng.integers(0, a.size))] = rng.choice([np.nan, np.inf, -np.inf])
            t.CopyFrom(numpy_helper.from_array(a, t.name))


def wrong_attribute_type(m, rng):
    nodes = [n for n in m.graph.node if n.attribute]
    if nodes:
        n = nodes[int(rng.integers(0, len(nodes)))]
        a = n.attribute[int(rng.integers(0, len(n.attribute)))]
        name = a.name
        replacement = rng.choice(["float", "string", "ints", "int", "tensor"])
        a.Clear()
        if replacement == "float":
            a.CopyFrom(helper.make_attribute(name, 2.5))
        elif replacement == "string":
            a.CopyFrom(helper.make_attribute(name, "x\x1b[31m"))
        elif replacement == "ints":
            a.CopyFrom(helper.make_attribute(name, [3, -1, 2]))
        elif replacement == "int":
            a.CopyFrom(helper.make_attribute(name, -5))
        else:
            a.CopyFrom(helper.make_attribute(name, numpy_helper.from_array(np.zeros(2, np.float32))))


def junk_attribute_value(m, rng):
    nodes = [n for n in m.graph.node if n.attribute]
    if nodes:
        n = nodes[int(rng.integers(0, len(nodes)))]
        a = n.attribute[int(rng.integers(0, len(n.attribute)))]
        if a.type == AttributeProto.INT:
            a.i = int(rng.choice([0, -1, 2**31, 2**62, 7]))
        elif a.type == AttributeProto.INTS and a.ints:
            a.ints[int(rng.integers(0, len(a.ints)))] = int(rng.choice([0, -2, 10**6, 99]))
        elif a.type == AttributeProto.FLOAT:
            a.f = float(rng.choice([np.nan, np.inf, -1e30, 0.0]))


def missing_input(m, rng):
    nodes = [n for n in m.graph.node if n.input]
    if nodes:
        n = nodes[int(rng.integers(0, len(nodes)))]
        if rng.random() < 0.5:
            del n.input[int(rng.integers(0, len(n.input)))]
        else:
            n.input[int(rng.integers(0, len(n.input)))] = "nowhere"


def cycle(m, rng):
    nodes = _nodes(m)
    if len(nodes) >= 1:
        i = int(rng.integers(0, len(nodes)))
        j = int(rng.integers(i, len(nodes)))
        nodes[i].input[0] = nodes[j].output[0]


def duplicate_name(m, rng):
    nodes = _nodes(m)
    if len(nodes) >= 2:
        i, j = sorted(rng.choice(len(nodes), 2, replace=False))
        if rng.random() < 0.5:
            nodes[j].output[0] = nodes[i].output[0]
        else:
            nodes[j].name = nodes[i].name
            if m.graph.initializer:
                m.graph.initializer[0].name = nodes[i].output[0]


def unknown_domain(m, rng):
    nodes = _nodes(m)
    if nodes:
        nodes[int(rng.integers(0, len(nodes)))].domain = str(rng.choice(["evil", "com.microsoft", "hashhls2",
                                                                          "ai.onnx.ml"]))


def bad_opset(m, rng):
    version = int(rng.choice([99, 0, 1, 5, 1000, -3]))
    domain = str(rng.choice(["", "hashhls"]))
    for o in m.opset_import:
        if o.domain == domain:
            o.version = version
            return
    m.opset_import.append(helper.make_opsetid(domain, version))


def unsupported_op(m, rng):
    nodes = _nodes(m)
    if nodes:
        nodes[int(rng.integers(0, len(nodes)))].op_type = str(rng.choice(["Erf", "Loop", "Softmax", "LSTM", "Gemm",
                                                                           "Conv", "Foo\x1b[2J"]))


def hostile_name(m, rng):
    names = ["N_IN", "NULL", "errno", "M_PI", "WEIGHTS_DIR", "loaded_weights", "\x1b[31mred", "a" * 500, "",
             "layer2_out"]
    nodes = _nodes(m)
    if nodes:
        n = nodes[int(rng.integers(0, len(nodes)))]
        n.name = str(rng.choice(names))


def shuffle_nodes(m, rng):
    nodes = _nodes(m)
    order = rng.permutation(len(nodes))
    del m.graph.node[:]
    m.graph.node.extend(nodes[i] for i in order)


def drop_output_or_input(m, rng):
    if rng.random() < 0.5 and m.graph.output:
        del m.graph.output[0]
    else:
        m.graph.input.append(helper.make_tensor_value_info("extra", TensorProto.FLOAT, ["N", 3]))


BYTE_MUTATIONS: dict[str, Callable] = {"truncate": truncate, "flip_bytes": flip_bytes}
PROTO_MUTATIONS: dict[str, Callable] = {
    "delete_node": delete_node, "delete_initializer": delete_initializer, "bad_dim": bad_dim,
    "bad_initializer_dims": bad_initializer_dims, "bad_dtype": bad_dtype, "nonfinite_weight": nonfinite_weight,
    "wrong_attribute_type": wrong_attribute_type, "junk_attribute_value": junk_attribute_value,
    "missing_input": missing_input, "cycle": cycle, "duplicate_name": duplicate_name,
    "unknown_domain": unknown_domain, "bad_opset": bad_opset, "unsupported_op": unsupported_op,
    "hostile_name": hostile_name, "shuffle_nodes": shuffle_nodes, "drop_output_or_input": drop_output_or_input,
}


def mutants(bases: dict[str, onnx.ModelProto], n: int, seed: int = 0) -> Iterator[tuple[str, bytes]]:
    """``n`` seeded mutants of the ``bases``: ``(label, file bytes)``; a quarter byte-level, the rest 1-2 proto edits."""
    rng = np.random.default_rng(seed)
    names = sorted(bases)
    for i in range(n):
        base_name = names[i % len(names)]
        m = onnx.ModelProto()
        m.CopyFrom(bases[base_name])
        if rng.random() < 0.25:
            kind = str(rng.choice(sorted(BYTE_MUTATIONS)))
            yield f"{i}:{base_name}:{kind}", BYTE_MUTATIONS[kind](m, rng)
            continue
        kinds = [str(k) for k in rng.choice(sorted(PROTO_MUTATIONS), int(rng.integers(1, 3)), replace=False)]
        for k in kinds:
            PROTO_MUTATIONS[k](m, rng)
        yield f"{i}:{base_name}:{'+'.join(kinds)}", m.SerializeToString()


def base_models() -> dict[str, onnx.ModelProto]:
    """Small good models: the project's own exports (hashed and dense) and plain torch exports."""
    import io

    import torch
    from torch import nn

    from hashhls.frontend.layers import HashedConv2d, HashedLinear
    from hashhls.frontend.onnx_export import export_onnx

    torch.manual_seed(0)
    mlp = nn.Sequential(nn.Flatten(), HashedLinear(36, 12, buckets=40, seed=3), nn.ReLU(), nn.Linear(12, 4)).eval()
    cnn = nn.Sequential(HashedConv2d(1, 3, 3, padding=1, buckets=10, seed=1), nn.ReLU(), nn.MaxPool2d(2),
                        nn.Flatten(), HashedLinear(27, 5, buckets=20, seed=2)).eval()
    out = {"hashed_mlp": export_onnx(mlp, None, input_shape=[1, 6, 6]),
           "hashed_cnn": export_onnx(cnn, None, input_shape=[1, 6, 6]),
           "dense_cnn": export_onnx(cnn, None, input_shape=[1, 6, 6], dense=True)}
    plain = {"torch_mlp": (nn.Sequential(nn.Linear(16, 8), nn.ReLU(), nn.Linear(8, 3)), (1, 16)),
             "torch_cnn": (nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Flatten(), nn.Linear(32, 3)), (1, 1, 6, 6))}
    for name, (net, shape) in plain.items():
        buf = io.BytesIO()
        torch.onnx.export(net.eval(), (torch.zeros(*shape),), buf, dynamo=False, opset_version=13,
                          input_names=["x"], output_names=["y"], dynamic_axes={"x": {0: "N"}, "y": {0: "N"}})
        out[name] = onnx.load_from_string(buf.getvalue())
    return out


def run_case(data: bytes, work, csim: bool = False) -> tuple[str, str]:
    """Build one mutant (no C++ compile unless ``csim``) and classify: ``("refused", message)``, ``("built", "")``
    or ``("failure", what)`` (a traceback, a multi-line error, a partial output, a build that does not simulate)."""
    import traceback
    from pathlib import Path

    from hashhls.codegen.emulator import Emulator
    from hashhls.codegen.project import BuildConfig, build
    from hashhls.core.errors import HashhlsError

    work = Path(work)
    work.mkdir(parents=True, exist_ok=True)
    path, out = work / "m.onnx", work / "out"
    path.write_bytes(data)
    try:
        manifest = build(BuildConfig(output_dir=out, model=path, board="none", compile_csim=csim, progress=False))
    except HashhlsError as e:
        msg = str(e)
        leftovers = [p.name for p in work.iterdir() if p.name != "m.onnx"]
        if "\n" in msg or not msg:
            return "failure", f"multi-line or empty error: {msg!r}"
        if not msg.isprintable():
            return "failure", f"control character in error: {msg!r}"
        if leftovers:
            return "failure", f"partial output after refusal: {leftovers}"
        return "refused", msg
    except Exception:
        return "failure", traceback.format_exc(limit=-3)
    try:
        x = np.random.default_rng(0).uniform(-2, 2, (16, *manifest.input_shape)).astype(np.float32)
        y = Emulator.from_build(out).predict(x)
        if csim:
            from hashhls.codegen.csim import load_build

            if not np.array_equal(load_build(out).predict(x), y):
                return "failure", "csim != emulator"
    except Exception:
        return "failure", "built but does not simulate: " + traceback.format_exc(limit=-3)
    return "built", ""
