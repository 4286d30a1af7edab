"""The geometry of a 2-D convolution or pooling node, read and validated once.

Every consumer (shape inference, precision planning, the hls4ml view, the
emulator, the estimates) takes a :class:`Window2D` from :func:`window_of`
rather than reading ONNX attributes itself. Unsupported attributes (dilation,
groups, ``auto_pad``) are refused here, naming the node and the attribute,
before any C++ is written; the op table entries check their own op's extras.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import onnx

from ..core.errors import UnsupportedModelError
from .onnx_io import attr_int, attr_ints, attr_str, quoted


@dataclass(frozen=True)
class Window2D:
    """A sliding window over an NCHW feature map (ONNX ``pads`` order: top, left, bottom, right)."""

    in_c: int
    in_h: int
    in_w: int
    out_c: int
    kh: int
    kw: int
    sh: int = 1
    sw: int = 1
    pad_t: int = 0
    pad_l: int = 0
    pad_b: int = 0
    pad_r: int = 0

    @property
    def out_h(self) -> int:
        return (self.in_h + self.pad_t + self.pad_b - self.kh) // self.sh + 1

    @property
    def out_w(self) -> int:
        return (self.in_w + self.pad_l + self.pad_r - self.kw) // self.sw + 1

    @property
    def in_shape(self) -> tuple[int, int, int]:
        return self.in_c, self.in_h, self.in_w

    @property
    def out_shape(self) -> tuple[int, int, int]:
        return self.out_c, self.out_h, self.out_w

    @property
    def fan_in(self) -> int:
        """Products summed into one output of a convolution: in_c * kh * kw."""
        return self.in_c * self.kh * self.kw

    def to_dict(self) -> dict:
        return {**asdict(self), "out_h": self.out_h, "out_w": self.out_w}

    @classmethod
    def from_dict(cls, d: dict) -> Window2D:
        return cls(**{k: int(d[k]) for k in cls.__dataclass_fields__})


def window_of(node: onnx.NodeProto, in_shape: list[int] | tuple[int, ...], out_channels: int | None = None,
              pooling: bool = False) -> Window2D:
    """The validated window of a convolution (``out_channels`` from its weight) or pooling node (``pooling``).

    Args:
        node: the ONNX node (``kernel_shape``, ``strides``, ``pads``, ``dilations``, ``auto_pad``, ``group``).
        in_shape: its input ``[batch, C, H, W]`` (or ``[C, H, W]``).
        out_channels: output channels of a convolution (from its weight); None for pooling.
        pooling: a pooling window (out_c = in_c).
    """
    shape = [int(d) for d in in_shape][-3:]
    name = quoted(node.name)
    if len(in_shape) not in (3, 4) or any(d < 1 for d in shape):
        raise UnsupportedModelError(f"node {name} ({node.op_type}) needs an NCHW feature map, got input shape "
                                    f"{list(in_shape)}")
    auto_pad = attr_str(node, "auto_pad", "NOTSET")
    if auto_pad not in ("NOTSET", ""):
        raise UnsupportedModelError(f"node {name}: attribute 'auto_pad'={quoted(auto_pad)} is unsupported "
                                    "(give explicit 'pads')")
    dilations = attr_ints(node, "dilations", [1, 1], n=2)
    if any(d != 1 for d in dilations):
        raise UnsupportedModelError(f"node {name}: attribute 'dilations'={dilations} is unsupported (only 1)")
    group = attr_int(node, "group", 1)
    if group != 1:
        raise UnsupportedModelError(f"node {name}: attribute 'group'={group} is unsupported (only 1)")
    kernel = attr_ints(node, "kernel_shape")
    if kernel is None or len(kernel) != 2:
        raise UnsupportedModelError(f"node {name}: attribute 'kernel_shape' must give 2 sizes, got {kernel}")
    kh, kw = kernel
    sh, sw = attr_ints(node, "strides", [1, 1], n=2)
    pads = attr_ints(node, "pads", [0, 0, 0, 0], n=4)
    if min(kh, kw, sh, sw) < 1 or min(pads) < 0:
        raise UnsupportedModelError(f"node {name}: kernel, strides must be positive and pads non-negative")
    if max(kh, kw, sh, sw, *pads) > 1 << 16:
        raise UnsupportedModelError(f"node {name}: kernel, strides or pads beyond {1 << 16}")
    if pooling:
        out_channels = shape[0]
    elif out_channels is None or out_channels < 1:
        raise UnsupportedModelError(f"node {name}: cannot tell its number of output channels")
    w = Window2D(shape[0], shape[1], shape[2], int(out_channels), kh, kw, sh, sw, pads[0], pads[1], pads[2], pads[3])
    if w.out_h < 1 or w.out_w < 1:
        raise UnsupportedModelError(f"node {name}: a {kh}x{kw} window does not fit the {shape[1]}x{shape[2]} "
                                    f"input with pads {pads}")
    if max(pads[0], pads[2]) >= kh or max(pads[1], pads[3]) >= kw:
        raise UnsupportedModelError(f"node {name}: attribute 'pads'={pads} must be smaller than the kernel "
                                    f"{kh}x{kw}")
    return w


def im2col(x, win: Window2D):
    """Patches of an NCHW batch: ``[N, out_h * out_w, C * kh * kw]`` (zero padding; any numeric dtype).

    The patch axis is ordered (c, ky, kx), the order of a torch/ONNX weight
    ``(out, in, kh, kw)`` flattened per output channel, so a convolution is
    ``im2col(x) @ W.reshape(out, -1).T``.
    """
    import numpy as np

    x = np.asarray(x).reshape(-1, *win.in_shape)
    if win.pad_t or win.pad_b or win.pad_l or win.pad_r:
        x = np.pad(x, ((0, 0), (0, 0), (win.pad_t, win.pad_b), (win.pad_l, win.pad_r)))
    v = np.lib.stride_tricks.sliding_window_view(x, (win.kh, win.kw), axis=(2, 3))
    v = v[:, :, ::win.sh, ::win.sw][:, :, :win.out_h, :win.out_w]  # [N, C, oh, ow, kh, kw]
    return v.transpose(0, 2, 3, 1, 4, 5).reshape(len(x), win.out_h * win.out_w, win.fan_in)


def conv2d(x, weight, bias, win: Window2D):
    """NCHW convolution by im2col (float64 or int64, exact in integers): ``[N, out_c * out_h * out_w]``."""
    import numpy as np

    patches = im2col(x, win)
    y = patches @ np.asarray(weight).reshape(win.out_c, -1).T + bias  # [N, P, out_c]
    return y.transpose(0, 2, 1).reshape(len(patches), -1)


def pool_patches(x, win: Window2D, pad_value=0):
    """Per-channel pooling windows of an NCHW batch: ``[N, C, out_h * out_w, kh * kw]`` (padding = ``pad_value``)."""
    import numpy as np

    x = np.asarray(x).reshape(-1, *win.in_shape)
    if win.pad_t or win.pad_b or win.pad_l or win.pad_r:
        x = np.pad(x, ((0, 0), (0, 0), (win.pad_t, win.pad_b), (win.pad_l, win.pad_r)), constant_values=pad_value)
    v = np.lib.stride_tricks.sliding_window_view(x, (win.kh, win.kw), axis=(2, 3))
    v = v[:, :, ::win.sh, ::win.sw][:, :, :win.out_h, :win.out_w]  # [N, C, oh, ow, kh, kw]
    return v.reshape(len(x), win.in_c, win.out_h * win.out_w, win.kh * win.kw)


def pool_counts(win: Window2D):
    """Input pixels (not padding) under each pooling window: ``[out_h * out_w]``."""
    import numpy as np

    ones = np.ones((1, 1, win.in_h, win.in_w), dtype=np.int64)
    return pool_patches(ones, Window2D(1, win.in_h, win.in_w, 1, win.kh, win.kw, win.sh, win.sw, win.pad_t, win.pad_l,
                                       win.pad_b, win.pad_r)).sum(axis=-1)[0, 0]


def maxpool2d(x, win: Window2D, pad_value=None):
    """NCHW max pooling: ``[N, C * out_h * out_w]``. Padding never wins (``pad_value``: below every input)."""
    import numpy as np

    x = np.asarray(x)
    if pad_value is None:
        pad_value = -np.inf if x.dtype.kind == "f" else np.iinfo(np.int64).min
    patches = pool_patches(x, win, pad_value)
    return patches.max(axis=-1).reshape(len(patches), -1)
