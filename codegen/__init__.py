"""hashhls.codegen: ONNX ingest, hls4ml extension, precision, fixed-point emulator, board flow, csim, replay.

Entry points: :func:`hashhls.codegen.project.build` writes a build directory;
:func:`load_build` runs its compiled C simulation; :class:`Emulator` is the
bit-exact numpy model of the same arithmetic. Heavy modules load on first use.
"""

from __future__ import annotations


def load_build(build_dir):
    """The compiled C simulation of a build directory (``.predict(x)``); see :mod:`hashhls.codegen.csim`."""
    from .csim import load_build as _load

    return _load(build_dir)


def __getattr__(name):
    if name == "Emulator":
        from .emulator import Emulator

        return Emulator
    raise AttributeError(name)
