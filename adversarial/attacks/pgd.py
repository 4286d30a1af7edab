"""Iterative L-inf attacks.

* BIM / I-FGSM: Kurakin, Goodfellow, Bengio, "Adversarial examples in the physical world", ICLR-W 2017
  (arXiv:1607.02533): repeated FGSM steps of size ``alpha``, projected onto the eps-ball.
* PGD: Madry et al., "Towards Deep Learning Models Resistant to Adversarial Attacks", ICLR 2018
  (arXiv:1706.06083): BIM from a uniformly random start inside the eps-ball.
"""

from __future__ import annotations

import torch

from .base import Attack, check_eps


class BIM(Attack):
    name = "bim"
    random_start = False

    def __init__(self, model, eps: float = 0.1, alpha: float | None = None, steps: int = 10, **kw) -> None:
        super().__init__(model, **kw)
        self.eps = check_eps(eps, self.value_range)
        self.alpha = check_eps(alpha if alpha is not None else 2.5 * self.eps / steps, self.value_range, "alpha")
        self.steps = int(steps)

    def forward(self, x, y, target):
        x_adv = x.clone()
        if self.random_start:
            g = torch.Generator().manual_seed(self.seed)
            noise = (torch.rand(x.shape, generator=g) * 2 - 1) * self.eps
            x_adv = self.project_linf(x + noise, x, self.eps)
        for _ in range(self.steps):
            x_adv = x_adv + self.alpha * torch.sign(self.input_gradient(x_adv, y, target))
            x_adv = self.project_linf(x_adv, x, self.eps)
        return x_adv


class PGD(BIM):
    name = "pgd"
    random_start = True
