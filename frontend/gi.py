"""Gradient inhibition (GI).

From Liu et al., "Security analysis and enhancement of model compressed deep
learning systems under adversarial attacks", ASP-DAC 2018: a defence that
reshapes weights or logits so that gradient-based attacks find little usable
gradient. Three modes:

* ``sign``: ``W <- W + eps * sign(W)`` on chosen layers (eps ~ 0.1). For a
  hashed layer this acts on the K bucket weights, which is the same as acting
  on the virtual weights because ``sign(s * w) = s * sign(w)``.
* ``mult``: ``W <- W + eps * W`` on chosen layers. The one public implementation
  of GI that could be found (an unattributed TensorFlow/CleverHans file) applies,
  after training, ``W += 20 * sign(W)`` to the fully connected layers ("original":
  ``sign:20``, all layers) or ``W += 20 * W`` to the last layer only ("modified":
  ``mult:20``, layer -1). Biases are left alone, as there.
* ``scale``: the logits are scaled by ``(1 + eps)`` (eps ~ 10-20), which
  saturates the softmax and flattens the cross-entropy gradient.

Both are usable as modules inside a model (a weight parametrization, and a
:class:`GIScale` layer) and as a post-training transform (:func:`apply_gi`).
GI changes what the deployed network computes, so :func:`fold_gi` bakes it
into plain weights before export and lowering.
"""

from __future__ import annotations

import copy
import enum
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn.utils import parametrize

from .layers import HashedConv2d, HashedLinear

WEIGHT_LAYERS = (nn.Linear, nn.Conv2d, HashedLinear, HashedConv2d)


class GIMode(str, enum.Enum):
    SIGN = "sign"
    SCALE = "scale"
    MULT = "mult"

    @property
    def acts_on_weights(self) -> bool:
        """Whether the mode reshapes chosen weight layers (and so takes a layer selection)."""
        return self is not GIMode.SCALE


@dataclass(frozen=True)
class GIConfig:
    """A GI setting: ``mode`` and its ``eps`` (``sign``: around 0.1; ``scale``: around 10-20; ``mult``: 20)."""

    mode: GIMode
    eps: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "mode", GIMode(self.mode))
        if not self.eps > 0:
            raise ValueError(f"GI eps must be > 0, got {self.eps}")

    @classmethod
    def parse(cls, text: str) -> GIConfig:
        """Parse ``sign:0.1`` / ``scale:15`` / ``mult:20``."""
        mode, sep, eps = str(text).partition(":")
        try:
            return cls(GIMode(mode.strip().lower()), float(eps) if sep else _DEFAULT_EPS[GIMode(mode.strip().lower())])
        except ValueError as e:
            raise ValueError(f"bad GI setting {text!r}: expected sign:EPS, scale:EPS or mult:EPS ({e})") from None

    def to_dict(self) -> dict:
        return {"mode": self.mode.value, "eps": self.eps}

    @classmethod
    def from_dict(cls, d: dict | None) -> GIConfig | None:
        return None if d is None else cls(GIMode(d["mode"]), float(d["eps"]))


_DEFAULT_EPS = {GIMode.SIGN: 0.1, GIMode.SCALE: 15.0, GIMode.MULT: 20.0}


class GISign(nn.Module):
    """Weight parametrization ``w -> w + eps * sign(w)`` (register on a layer's ``weight``)."""

    def __init__(self, eps: float) -> None:
        super().__init__()
        self.eps = float(eps)

    def forward(self, w: torch.Tensor) -> torch.Tensor:
        return w + self.eps * torch.sign(w)


class GIMult(nn.Module):
    """Weight parametrization ``w -> w + eps * w`` (register on a layer's ``weight``)."""

    def __init__(self, eps: float) -> None:
        super().__init__()
        self.eps = float(eps)

    def forward(self, w: torch.Tensor) -> torch.Tensor:
        return w + self.eps * w


_WEIGHT_GI = {GIMode.SIGN: GISign, GIMode.MULT: GIMult}


class GIScale(nn.Module):
    """Scales its input (the logits) by ``1 + eps``."""

    def __init__(self, eps: float) -> None:
        super().__init__()
        self.eps = float(eps)

    @property
    def factor(self) -> float:
        return 1.0 + self.eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.factor

    def extra_repr(self) -> str:
        return f"eps={self.eps}"


def weight_layers(model: nn.Module) -> list[nn.Module]:
    """The layers GI's weight modes (sign, mult) can act on, in module order."""
    return [m for m in model.modules() if isinstance(m, WEIGHT_LAYERS)]


def apply_gi(model: nn.Sequential, config: GIConfig, layers: list[int] | None = None) -> nn.Sequential:
    """Return a copy of ``model`` with GI added.

    Args:
        model: an ``nn.Sequential`` (the zoo's models are).
        config: mode and eps.
        layers: for ``sign`` / ``mult``, indices into :func:`weight_layers` (default: all).

    Returns:
        A new model; ``sign`` / ``mult`` add a weight parametrization to the chosen
        layers, ``scale`` appends a :class:`GIScale`.
    """
    if not isinstance(model, nn.Sequential):
        raise TypeError("apply_gi expects an nn.Sequential model")
    if has_gi(model):
        raise ValueError("model already has gradient inhibition")
    model = copy.deepcopy(model)
    if config.mode.acts_on_weights:
        targets = weight_layers(model)
        chosen = range(len(targets)) if layers is None else layers
        for i in chosen:
            if not 0 <= i < len(targets):
                raise ValueError(f"GI layer index {i} out of range (model has {len(targets)} weight layers)")
            parametrize.register_parametrization(targets[i], "weight", _WEIGHT_GI[config.mode](config.eps))
    else:
        model.append(GIScale(config.eps))
    return model


def has_gi(model: nn.Module) -> bool:
    return any(isinstance(m, GIScale) for m in model.modules()) or any(
        parametrize.is_parametrized(m) for m in model.modules()
    )


def _bake_parametrization(m: nn.Module) -> None:
    """Replace a parametrized ``weight`` by its current value, in place.

    Not ``parametrize.remove_parametrizations``: it deletes the property from the
    generated class, which deep copies of the module share, and so breaks them.
    """
    w = m.weight.detach().clone()
    del m._modules["parametrizations"]
    m.__class__ = type(m).__bases__[0]
    m.weight = nn.Parameter(w)


def fold_gi(model: nn.Sequential) -> nn.Sequential:
    """A GI-free copy of ``model`` that computes the same function.

    ``sign`` parametrizations are baked into the weights; a trailing
    :class:`GIScale` is folded into the weight and bias of the last weight
    layer, valid because only linear operations may follow it.
    """
    model = copy.deepcopy(model)
    for m in model.modules():
        if parametrize.is_parametrized(m, "weight"):
            _bake_parametrization(m)
    mods = list(model)
    out: list[nn.Module] = []
    for m in mods:
        if isinstance(m, GIScale):
            last = next((x for x in reversed(out) if isinstance(x, WEIGHT_LAYERS)), None)
            between = out[out.index(last) + 1:] if last is not None else []
            if last is None or any(not isinstance(x, (nn.Flatten, nn.Identity)) for x in between):
                raise ValueError("GIScale can only be folded directly after a linear or conv layer")
            with torch.no_grad():
                last.weight.mul_(m.factor)
                if last.bias is not None:
                    last.bias.mul_(m.factor)
            continue
        out.append(m)
    return nn.Sequential(*out)
