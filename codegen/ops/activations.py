"""Activations: ``Relu``, ``Clip(0, 6)`` (ReLU6) and ``LeakyRelu`` (exact comparisons and products, one
conversion), ``Sigmoid`` and ``Tanh`` (hls4ml's lookup tables, emulated bit-exactly: the same table index
arithmetic and the same table values, computed with the C library's ``expf`` / ``tanh`` as the C++ does)."""

from __future__ import annotations

import numpy as np

from ..fixed import FixedType, Overflow, Rounding
from ..kinds import LayerKind
from ..layer_precision import LayerPrecision, smallest_integer_bits
from ..onnx_io import attr_float
from .base import EmuLayer, HlsLayer, NodeContext, OpDef


class ReluEmu(EmuLayer):
    """``max(x, 0)`` converted to the result type."""

    def run(self, xs):
        return self.out_type.requantize_codes(np.maximum(xs[0], 0), self.in_type.frac)


class Relu(OpDef):
    op_type = "Relu"
    kind = LayerKind.RELU
    doc = "exact"

    def analyse(self, ctx: NodeContext):
        return ctx.spec(self.kind, ctx.activation(0))

    def float_forward(self, spec, xs):
        return np.maximum(xs[0], 0.0)

    def torch_module(self, spec):
        from torch import nn

        return nn.ReLU()

    def emulator(self, spec, precision, in_types, attrs):
        return ReluEmu(spec, in_types, precision["result"])

    def hls_layer(self, spec, p, reuse_factor):
        return HlsLayer({"class_name": "Activation", "activation": "ReLU"}, {"Precision": p.as_strings()})


# -- hls4ml's table-based activations -------------------------------------------------------------------------
#: hls4ml's table size and table type (``ap_fixed<18,8>``: the table values, computed in float, are truncated to
#: 10 fraction bits as the C++ assigns them).
TABLE_SIZE = 1024
TABLE_TYPE = FixedType(18, 8, Rounding.TRN, Overflow.WRAP)


def _libm():
    """The C library's ``expf`` and ``tanh`` (what the compiled csim calls), or None off glibc."""
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("m")
    if not name:
        return None
    lib = ctypes.CDLL(name)
    lib.expf.restype, lib.expf.argtypes = ctypes.c_float, [ctypes.c_float]
    lib.tanh.restype, lib.tanh.argtypes = ctypes.c_double, [ctypes.c_double]
    return lib


def table_inputs(n: int, half_range: float) -> np.ndarray:
    """``float in_val = 2 * R * (ii - float(N) / 2.0) / float(N)`` for every table index (exact in float32)."""
    ii = np.arange(n, dtype=np.float64)
    return (2 * half_range * (ii - n / 2.0) / n).astype(np.float32)


def sigmoid_table(table_t: FixedType, n: int = TABLE_SIZE) -> np.ndarray:
    """Codes of hls4ml's ``init_sigmoid_table``: ``table_t(float(1.0 / (1 + expf(-x))))``."""
    x = table_inputs(n, 8.0)
    lib = _libm()
    e = (np.array([lib.expf(float(-v)) for v in x], dtype=np.float32) if lib is not None
         else np.exp(-x.astype(np.float64)).astype(np.float32))
    s = (np.float32(1) + e).astype(np.float32)  # float arithmetic
    v = (1.0 / s.astype(np.float64)).astype(np.float32)  # 1.0 / float is double, returned as float
    return table_t.to_codes(v.astype(np.float64))


def tanh_table(table_t: FixedType, n: int = TABLE_SIZE) -> np.ndarray:
    """Codes of hls4ml's ``init_tanh_table``: ``table_t(tanh(x))`` (the C library's double tanh)."""
    x = table_inputs(n, 4.0)
    lib = _libm()
    v = np.array([lib.tanh(float(t)) for t in x]) if lib is not None else np.tanh(x.astype(np.float64))
    return table_t.to_codes(v)


class TableEmu(EmuLayer):
    """``index = int(x * N / 2R) + N / 2`` clamped (ap_fixed's division and int conversion truncate toward zero),
    ``y = res_T(table[index])``."""

    def __init__(self, spec, in_types, out_type, table_t: FixedType, table: np.ndarray, scale: int):
        super().__init__(spec, in_types, out_type)
        self.table_t, self.table, self.scale = table_t, table, scale

    def run(self, xs):
        x, f = xs[0], self.in_type.frac
        n = len(self.table)
        p = x * (n // self.scale)  # x * N / (2R): exact product, then a division truncating toward zero
        data_round = np.sign(p) * (np.abs(p) >> f) if f >= 0 else p << -f
        index = np.clip(data_round + n // 2, 0, n - 1)
        return self.out_type.requantize_codes(self.table[index], self.table_t.frac)


class _TableActivation(OpDef):
    half_range: float = 8.0
    hls_name: str = ""

    def analyse(self, ctx: NodeContext):
        return ctx.spec(self.kind, ctx.activation(0))

    def plan(self, spec, in_types, ctx):
        res = ctx.choose(spec.name, "result", None)
        return LayerPrecision(None, None, res, None, {"table": TABLE_TYPE})

    def table(self, table_t: FixedType, n: int) -> np.ndarray:
        raise NotImplementedError

    def emulator(self, spec, precision, in_types, attrs):
        n = int(attrs.get("table_size", TABLE_SIZE))
        return TableEmu(spec, in_types, precision["result"], precision["table"], self.table(precision["table"], n),
                        int(2 * self.half_range))

    def manifest_attrs(self, spec):
        return {"table_size": TABLE_SIZE}

    def hls_layer(self, spec, p, reuse_factor):
        return HlsLayer({"class_name": "Activation", "activation": self.hls_name}, {"Precision": p.as_strings()})


class Sigmoid(_TableActivation):
    op_type = "Sigmoid"
    kind = LayerKind.SIGMOID
    half_range = 8.0
    hls_name = "sigmoid"
    doc = "hls4ml's 1024-entry table over [-8, 8), emulated bit-exactly"

    def table(self, table_t, n):
        return sigmoid_table(table_t, n)

    def float_forward(self, spec, xs):
        return 1.0 / (1.0 + np.exp(-xs[0]))

    def torch_module(self, spec):
        from torch import nn

        return nn.Sigmoid()


class Tanh(_TableActivation):
    op_type = "Tanh"
    kind = LayerKind.TANH
    half_range = 4.0
    hls_name = "tanh"
    doc = "hls4ml's 1024-entry table over [-4, 4), emulated bit-exactly"

    def table(self, table_t, n):
        return tanh_table(table_t, n)

    def float_forward(self, spec, xs):
        return np.tanh(xs[0])

    def torch_module(self, spec):
        from torch import nn

        return nn.Tanh()


# -- parametrised ------------------------------------------------------------------------------------------------
class LeakyReluEmu(EmuLayer):
    def __init__(self, spec, in_types, out_type, param_t: FixedType, alpha: float):
        super().__init__(spec, in_types, out_type)
        self.param_t, self.alpha = param_t, int(param_t.to_codes(np.float64(alpha)))

    def run(self, xs):
        x, f = xs[0], self.in_type.frac
        frac = f + self.param_t.frac
        y = np.where(x > 0, x << self.param_t.frac, x * self.alpha)  # res = x, or res = alpha * x (exact)
        return self.out_type.requantize_codes(y, frac)


class LeakyRelu(OpDef):
    op_type = "LeakyRelu"
    kind = LayerKind.LEAKY_RELU
    doc = "alpha as an 18-bit parameter"

    def analyse(self, ctx: NodeContext):
        alpha = attr_float(ctx.node, "alpha", 0.01)
        if not 0 <= abs(alpha) < 2**9:
            raise ctx.fail(f"attribute 'alpha'={alpha} is out of range")
        return ctx.spec(self.kind, ctx.activation(0), params={"alpha": float(np.float32(alpha))})

    def _param_t(self, alpha: float) -> FixedType:
        return FixedType(18, max(1, smallest_integer_bits(abs(alpha), 18)), Rounding.RND_CONV, Overflow.SAT)

    def plan(self, spec, in_types, ctx):
        res = ctx.override(spec.name, "result") or in_types[0]
        return LayerPrecision(None, None, res, None, {"param": self._param_t(spec.params["alpha"])})

    def float_forward(self, spec, xs):
        return np.where(xs[0] > 0, xs[0], spec.params["alpha"] * xs[0])

    def torch_module(self, spec):
        from torch import nn

        return nn.LeakyReLU(spec.params["alpha"])

    def emulator(self, spec, precision, in_types, attrs):
        return LeakyReluEmu(spec, in_types, precision["result"], precision["param"], spec.params["alpha"])

    def manifest_attrs(self, spec):
        return {"alpha": spec.params["alpha"]}

    def hls_layer(self, spec, p, reuse_factor):
        layer = {"class_name": "LeakyReLU", "activation": "LeakyReLU", "activ_param": spec.params["alpha"]}
        return HlsLayer(layer, {"Precision": p.as_strings()})


class ReluMaxEmu(EmuLayer):
    def __init__(self, spec, in_types, out_type, top: int):
        super().__init__(spec, in_types, out_type)
        self.top = top

    def run(self, xs):
        f = self.in_type.frac
        y = np.clip(xs[0], 0, self.top << f) if f >= 0 else np.clip(xs[0], 0, self.top >> -f)
        return self.out_type.requantize_codes(y, f)


class Clip(OpDef):
    op_type = "Clip"
    kind = LayerKind.RELU6
    doc = "min 0, max 6 (ReLU6: hls4ml's relu6)"

    def analyse(self, ctx: NodeContext):
        node = ctx.node
        if ctx.opset < 11:
            lo, hi = attr_float(node, "min", -3.4e38), attr_float(node, "max", 3.4e38)
        else:
            lo = float(ctx.const(1, "min").reshape(-1)[0]) if ctx.has_input(1) else -3.4e38
            hi = float(ctx.const(2, "max").reshape(-1)[0]) if ctx.has_input(2) else 3.4e38
        if (lo, hi) != (0.0, 6.0):
            raise ctx.fail(f"Clip({lo:g}, {hi:g}) is unsupported: only Clip(0, 6) (ReLU6)")
        return ctx.spec(self.kind, ctx.activation(0))

    def float_forward(self, spec, xs):
        return np.clip(xs[0], 0.0, 6.0)

    def torch_module(self, spec):
        from torch import nn

        return nn.ReLU6()

    def emulator(self, spec, precision, in_types, attrs):
        return ReluMaxEmu(spec, in_types, precision["result"], 6)

    def hls_layer(self, spec, p, reuse_factor):
        return HlsLayer({"class_name": "Activation", "activation": "relu6"}, {"Precision": p.as_strings()})
