"""Adversarial attacks with one interface: ``make_attack(name, model, **hparams)(x, y) -> x_adv``.

Gradient attacks take a torch model (float, hashed, dense parent or
:class:`FixedPointTwin`); the query-only ``square`` takes any numpy predict
function, e.g. ``hashhls.codegen.csim.load_build(dir).predict``.
"""

from __future__ import annotations

from ...errors import HashhlsError
from .base import Attack, TargetMode
from .cw import CW
from .deepfool import DeepFool
from .fgsm import FGSM
from .jsma import JSMA
from .pgd import BIM, PGD
from .square import Square
from .twin import FixedPointTwin

ATTACKS: dict[str, type[Attack]] = {a.name: a for a in (FGSM, BIM, PGD, CW, DeepFool, JSMA, Square)}


def make_attack(name: str, model, **hparams) -> Attack:
    """The attack called ``name`` (see :data:`ATTACKS`); HashhlsError for an unknown name."""
    try:
        cls = ATTACKS[name.lower()]
    except KeyError:
        raise HashhlsError(f"unknown attack {name!r}; choose from {', '.join(ATTACKS)}") from None
    return cls(model, **hparams)


__all__ = ["ATTACKS", "Attack", "BIM", "CW", "DeepFool", "FGSM", "FixedPointTwin", "JSMA", "PGD", "Square",
           "TargetMode", "make_attack"]
