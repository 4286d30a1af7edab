"""hashhls: hash-compressed neural networks from PyTorch to hls4ml FPGA C++, and whether adversarial examples
made in software still fool the fixed-point hardware.

The Python entry point (the ``hashhls`` command line calls the same functions)::

    import hashhls
    b = hashhls.build("mlp.pt", board="pynq-z2", precision="auto")   # -> Build (.predict on csim, .emulator)
    adv = hashhls.attack("mlp.pt", "pgd", eps=[0.05, 0.1], on="fixed", build=b)   # -> AdvSet
    report = hashhls.replay(b, [adv], out="report/")                # -> Report (.matrix, .markdown)
    x, y = hashhls.datasets.mnist("test")

Subpackages: :mod:`hashhls.frontend` (hashing, layers, training, ONNX export), :mod:`hashhls.codegen` (ONNX
ingest, hls4ml extension, fixed-point emulator, board flow, csim), :mod:`hashhls.adversarial` (attacks, the
fixed-point twin, replay, reports) and :mod:`hashhls.cli`, all on :mod:`hashhls.core` (errors, atomic output,
version). ``import hashhls`` imports none of them (nor torch): each name below is loaded on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from .core.version import __version__

#: public name -> module that defines it (loaded on first access)
_LAZY = {
    "build": "hashhls.facade", "open_build": "hashhls.facade", "attack": "hashhls.facade",
    "replay": "hashhls.facade", "transfer": "hashhls.facade", "Build": "hashhls.facade",
    "AdvSet": "hashhls.adversarial.advfile", "Report": "hashhls.adversarial.report",
    "HashhlsError": "hashhls.core.errors",
}
_SUBMODULES = ("datasets", "core", "frontend", "codegen", "adversarial", "cli")

__all__ = ["__version__", *_LAZY, "datasets"]

if TYPE_CHECKING:  # for type checkers and IDEs; at run time these load lazily
    from . import datasets
    from .adversarial.advfile import AdvSet
    from .adversarial.report import Report
    from .core.errors import HashhlsError
    from .facade import Build, attack, build, open_build, replay, transfer


def __getattr__(name: str):
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
    elif name in _SUBMODULES:
        value = importlib.import_module(f"{__name__}.{name}")
    else:
        raise AttributeError(f"module 'hashhls' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
