"""DeepFool: Moosavi-Dezfooli, Fawzi, Frossard, "DeepFool: a simple and accurate method to fool deep neural
networks", CVPR 2016 (arXiv:1511.04599).

Distance: L2. Untargeted only: steps to the nearest linearised decision boundary,
with a small overshoot, until the label changes.
"""

from __future__ import annotations

import torch

from .base import Attack


class DeepFool(Attack):
    name = "deepfool"
    supports_targeted = False

    def __init__(self, model, steps: int = 50, overshoot: float = 0.02, **kw) -> None:
        super().__init__(model, **kw)
        self.steps, self.overshoot = int(steps), float(overshoot)

    def forward(self, x, y, target):
        x_adv = x.clone()
        r_total = torch.zeros_like(x)
        active = torch.ones(len(x), dtype=torch.bool)
        for _ in range(self.steps):
            if not active.any():
                break
            xa = x_adv[active].clone().requires_grad_(True)
            z = self.logits(xa)
            ya = y[active]
            k = z.shape[1]
            grads = torch.stack([torch.autograd.grad(z[:, j].sum(), xa, retain_graph=j < k - 1)[0] for j in range(k)], 1)
            idx = torch.arange(len(ya))
            f = z - z[idx, ya][:, None]
            w = grads - grads[idx, ya][:, None]
            wn = w.flatten(2).norm(dim=2) + 1e-8
            ratio = f.abs() / wn
            ratio[idx, ya] = float("inf")
            j = ratio.argmin(1)
            step = (ratio[idx, j] + 1e-4)[:, None] * w[idx, j].flatten(1) / wn[idx, j][:, None]
            r = r_total[active] + step.view_as(xa)
            r_total[active] = r
            x_adv[active] = torch.clamp(x[active] + (1 + self.overshoot) * r, *self.value_range).detach()
            with torch.no_grad():
                still = self.logits(x_adv[active]).argmax(1) == ya
            active_idx = active.nonzero().squeeze(1)
            active[active_idx[~still]] = False
        return x_adv
