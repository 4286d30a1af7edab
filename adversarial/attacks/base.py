"""The one attack interface, shaped like torchattacks: ``Attack(model, **hparams)(x, y) -> x_adv``.

How to write an attack: subclass :class:`Attack`, store hyper-parameters in
``__init__`` (literature defaults as keyword arguments), and override
``forward(x, y, target)`` only. ``__call__`` puts the model in eval mode and
restores it, validates the input range, resolves the target labels for the
chosen :class:`TargetMode`, and clamps the result to the valid range. Use
:meth:`Attack.loss_toward` for the gradient direction so that targeted and
untargeted modes need no special cases.
"""

from __future__ import annotations

import enum
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ...core.errors import HashhlsError


class TargetMode(str, enum.Enum):
    UNTARGETED = "untargeted"
    TARGETED = "targeted"  #: targets given to the call
    RANDOM = "random"  #: a random class other than the true one
    LEAST_LIKELY = "least-likely"  #: the class the model finds least likely


def check_eps(eps: float, value_range: tuple[float, float], name: str = "eps") -> float:
    lo, hi = value_range
    if not (isinstance(eps, (int, float)) and 0 < eps <= hi - lo):
        raise HashhlsError(f"{name} must be in (0, {hi - lo:g}] for inputs in [{lo:g}, {hi:g}], got {eps}")
    return float(eps)


class Attack:
    """Base class of every attack.

    Args:
        model: a torch module returning logits, or (black-box attacks) a numpy
            predict callable returning scores.
        value_range: valid input range; outputs are clamped to it.
        target_mode: untargeted, targeted (labels passed to the call), random or least-likely.
        loss: ``loss(logits, labels) -> per-sample losses``; default cross-entropy.
        seed: for attacks with randomness.
    """

    name = "attack"
    supports_targeted = True
    #: query-only attacks take a predict function, not a torch module
    black_box = False

    def __init__(self, model: nn.Module | Callable, *, value_range: tuple[float, float] = (0.0, 1.0),
                 target_mode: TargetMode | str = TargetMode.UNTARGETED,
                 loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None, seed: int = 0) -> None:
        self.model = model
        self.value_range = (float(value_range[0]), float(value_range[1]))
        self.target_mode = TargetMode(target_mode)
        if self.target_mode is not TargetMode.UNTARGETED and not self.supports_targeted:
            raise HashhlsError(f"{self.name} does not support targeted attacks")
        self.loss = loss or (lambda z, t: F.cross_entropy(z, t, reduction="none"))
        self.seed = int(seed)
        #: queries per input of the last call (black-box attacks), else None
        self.queries: np.ndarray | None = None
        #: the target labels the last call aimed at (None when untargeted): stored in adversarial files
        self.targets: torch.Tensor | None = None

    # -- the call --------------------------------------------------------------
    def __call__(self, x: torch.Tensor, y: torch.Tensor, target: torch.Tensor | None = None) -> torch.Tensor:
        x = torch.as_tensor(x, dtype=torch.float32)
        y = torch.as_tensor(y, dtype=torch.long)
        lo, hi = self.value_range
        if x.numel() and (x.min() < lo or x.max() > hi):
            raise HashhlsError(f"inputs must lie in [{lo:g}, {hi:g}]")
        if x.shape[0] != y.shape[0]:
            raise HashhlsError(f"{x.shape[0]} inputs but {y.shape[0]} labels")
        was_training = isinstance(self.model, nn.Module) and self.model.training
        if isinstance(self.model, nn.Module):
            self.model.eval()
        try:
            target = self.resolve_targets(x, y, target)
            self.targets = None if target is None else target.detach().clone()
            with torch.enable_grad():  # attacks need input gradients even inside a caller's no_grad()
                x_adv = self.forward(x.clone().detach(), y, target)
        finally:
            if was_training:
                self.model.train()
        return torch.clamp(x_adv.detach(), lo, hi)

    def forward(self, x: torch.Tensor, y: torch.Tensor, target: torch.Tensor | None) -> torch.Tensor:
        raise NotImplementedError

    # -- helpers for subclasses ------------------------------------------------
    def logits(self, x: torch.Tensor) -> torch.Tensor:
        if self.black_box:
            return torch.from_numpy(np.asarray(self.model(x.detach().numpy()), dtype=np.float32))
        # The fixed-point twin returns exact float64 logits; attacks work in the input's dtype.
        return self.model(x).to(x.dtype)

    def resolve_targets(self, x: torch.Tensor, y: torch.Tensor, target: torch.Tensor | None) -> torch.Tensor | None:
        mode = self.target_mode
        if mode is TargetMode.UNTARGETED:
            return None
        if mode is TargetMode.TARGETED:
            if target is None:
                raise HashhlsError("targeted mode needs target labels")
            return torch.as_tensor(target, dtype=torch.long)
        with torch.no_grad():
            z = self.logits(x)
        if mode is TargetMode.LEAST_LIKELY:
            return z.argmin(dim=1)
        g = torch.Generator().manual_seed(self.seed)
        offset = torch.randint(1, z.shape[1], (len(y),), generator=g)
        return (y + offset) % z.shape[1]

    def loss_toward(self, logits: torch.Tensor, y: torch.Tensor, target: torch.Tensor | None) -> torch.Tensor:
        """A per-sample loss whose *increase* is the attack's goal in either mode."""
        return self.loss(logits, y) if target is None else -self.loss(logits, target)

    def input_gradient(self, x: torch.Tensor, y: torch.Tensor, target: torch.Tensor | None) -> torch.Tensor:
        x = x.clone().detach().requires_grad_(True)
        loss = self.loss_toward(self.logits(x), y, target).sum()
        (grad,) = torch.autograd.grad(loss, x)
        return grad

    def project_linf(self, x_adv: torch.Tensor, x: torch.Tensor, eps: float) -> torch.Tensor:
        lo, hi = self.value_range
        return torch.clamp(torch.min(torch.max(x_adv, x - eps), x + eps), lo, hi)
