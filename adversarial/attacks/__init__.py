"""Adversarial attacks with one interface: ``make_attack(name, model, **hparams)(x, y) -> x_adv``.

Gradient attacks take a torch model (float, hashed, dense parent or
:class:`FixedPointTwin`); the query-only ``square`` takes any numpy predict
function, e.g. ``hashhls.codegen.csim.load_build(dir).predict``.
"""

from __future__ import annotations

from ...core.errors import HashhlsError
from .autoattack import AutoAttack
from .base import Attack, TargetMode
from .cw import CW
from .deepfool import DeepFool
from .fgsm import FGSM
from .jsma import JSMA
from .pgd import BIM, PGD
from .square import Square
from ..twin import FixedPointTwin

ATTACKS: dict[str, type[Attack]] = {a.name: a for a in (FGSM, BIM, PGD, CW, DeepFool, JSMA, Square, AutoAttack)}


def make_attack(name: str, model, **hparams) -> Attack:
    """The attack called ``name`` (see :data:`ATTACKS`).

    A query-only attack given a torch module queries it through its outputs alone, so every attack runs on
    every model. HashhlsError for an unknown name or a hyper-parameter the attack does not take.
    """
    import inspect

    try:
        cls = ATTACKS[name.lower()]
    except KeyError:
        raise HashhlsError(f"unknown attack {name!r}; choose from {', '.join(ATTACKS)}") from None
    accepted = {p.name for c in cls.__mro__ if "__init__" in vars(c)
                for p in list(inspect.signature(c.__init__).parameters.values())[2:]  # past (self, model)
                if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)}
    unknown = sorted(set(hparams) - accepted)
    if unknown:
        raise HashhlsError(f"attack {cls.name!r} takes no {unknown[0]!r} (its parameters: "
                           f"{', '.join(sorted(accepted))})")
    if cls.black_box and callable(getattr(model, "forward", None)):
        model = _predict_of(model)
    return cls(model, **hparams)


def _predict_of(module):
    """A numpy predict function over a torch module (what a query-only attack sees)."""
    import numpy as np
    import torch

    module.eval()

    def predict(x):
        with torch.no_grad():
            return module(torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))).numpy()

    return predict


__all__ = ["ATTACKS", "Attack", "BIM", "CW", "DeepFool", "FGSM", "FixedPointTwin", "JSMA", "PGD", "Square",
           "TargetMode", "make_attack"]
