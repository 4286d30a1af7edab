"""FGSM: Goodfellow, Shlens, Szegedy, "Explaining and Harnessing Adversarial Examples", ICLR 2015 (arXiv:1412.6572).

Distance: L-inf. ``x_adv = clip(x + eps * sign(grad_x loss))``.
"""

from __future__ import annotations

import torch

from .base import Attack, check_eps


class FGSM(Attack):
    name = "fgsm"

    def __init__(self, model, eps: float = 0.1, **kw) -> None:
        super().__init__(model, **kw)
        self.eps = check_eps(eps, self.value_range)

    def forward(self, x, y, target):
        return x + self.eps * torch.sign(self.input_gradient(x, y, target))
