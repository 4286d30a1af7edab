"""Layer kinds: what one built layer computes, as the manifest, the emulator and the twin name it.

A kind is the lowered form of one ONNX op (``Gemm`` -> ``dense``); the op table
(:mod:`hashhls.codegen.ops`) holds one entry per op and every entry names its
kind. Kinds serialise as their plain string values (``"dense"``), the strings
manifests have always held, so old build directories still read.
"""

from __future__ import annotations

import enum


class LayerKind(str, enum.Enum):
    """What one layer of a build computes (the manifest's ``kind``)."""

    FLATTEN = "flatten"
    RELU = "relu"
    DENSE = "dense"
    HASHED_DENSE = "hashed_dense"
    CONV2D = "conv2d"
    HASHED_CONV2D = "hashed_conv2d"
    MAXPOOL2D = "maxpool2d"
    AVGPOOL2D = "avgpool2d"
    GLOBAL_AVGPOOL2D = "global_avgpool2d"
    BATCHNORM = "batchnorm"
    ADD = "add"
    SIGMOID = "sigmoid"
    TANH = "tanh"
    LEAKY_RELU = "leaky_relu"
    RELU6 = "relu6"
    TRANSPOSE = "transpose"

    def __str__(self) -> str:  # "dense", not "LayerKind.DENSE", in messages, tables and JSON
        return self.value

    def __format__(self, spec: str) -> str:
        return format(self.value, spec)

    @classmethod
    def parse(cls, text: str) -> LayerKind:
        """The kind named ``text``; ValueError names the known kinds."""
        try:
            return cls(text)
        except ValueError:
            known = ", ".join(k.value for k in cls)
            raise ValueError(f"unknown layer kind {text!r} (known: {known})") from None
