"""JSMA: Papernot et al., "The Limitations of Deep Learning in Adversarial Settings", EuroS&P 2016
(arXiv:1511.07528).

Distance: L0. Greedy saliency-map attack that increases one feature per step
(the single-feature variant), chosen where the target logit's gradient is
positive and the others' sum is negative, up to ``gamma`` of the features.
Targeted by nature: untargeted mode aims at the runner-up class.
"""

from __future__ import annotations

import torch

from .base import Attack


class JSMA(Attack):
    name = "jsma"

    def __init__(self, model, theta: float = 1.0, gamma: float = 0.1, **kw) -> None:
        super().__init__(model, **kw)
        self.theta, self.gamma = float(theta), float(gamma)

    def forward(self, x, y, target):
        lo, hi = self.value_range
        with torch.no_grad():
            z0 = self.logits(x)
        if target is None:  # runner-up class
            target = z0.masked_fill(torch.nn.functional.one_hot(y, z0.shape[1]).bool(), float("-inf")).argmax(1)
        x_adv = x.clone().flatten(1)
        n_feat = x_adv.shape[1]
        used = torch.zeros_like(x_adv, dtype=torch.bool)
        active = torch.ones(len(x), dtype=torch.bool)
        for _ in range(int(self.gamma * n_feat)):
            xa = x_adv.clone().requires_grad_(True)
            z = self.logits(xa.view_as(x))
            done = z.argmax(1) == target
            active &= ~done
            if not active.any():
                break
            g_t = torch.autograd.grad(z.gather(1, target[:, None]).sum(), xa, retain_graph=True)[0]
            g_all = torch.autograd.grad(z.sum(), xa)[0]
            g_o = g_all - g_t
            sal = torch.where((g_t > 0) & (g_o < 0), g_t * g_o.abs(), torch.zeros_like(g_t))
            sal[used | (x_adv >= hi)] = -1
            best = sal.argmax(1)
            rows = active.nonzero().squeeze(1)
            x_adv[rows, best[rows]] = torch.clamp(x_adv[rows, best[rows]] + self.theta * (hi - lo), lo, hi)
            used[rows, best[rows]] = True
        return x_adv.view_as(x)
