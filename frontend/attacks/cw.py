"""CW-L2: Carlini & Wagner, "Towards Evaluating the Robustness of Neural Networks", IEEE S&P 2017 (arXiv:1608.04644).

Distance: L2. Minimises ``||x' - x||^2 + c * f(x')`` in tanh space with Adam,
where ``f`` is the logit margin (clamped at ``-kappa``); ``c`` is found by a
per-sample binary search. Batched in torch. Works on logits directly, so a
defence that saturates the softmax does not hide its gradient.
"""

from __future__ import annotations

import torch

from .base import Attack


class CW(Attack):
    name = "cw"

    def __init__(self, model, c: float = 10.0, kappa: float = 0.0, steps: int = 100, lr: float = 0.05,
                 search_steps: int = 5, **kw) -> None:
        super().__init__(model, **kw)
        self.c, self.kappa, self.steps, self.lr, self.search_steps = float(c), float(kappa), int(steps), lr, search_steps

    def _margin(self, z: torch.Tensor, y: torch.Tensor, target: torch.Tensor | None) -> torch.Tensor:
        onehot = torch.nn.functional.one_hot(target if target is not None else y, z.shape[1]).bool()
        own = z[onehot]
        other = z.masked_fill(onehot, float("-inf")).max(dim=1).values
        gap = other - own if target is not None else own - other  # > 0 while the attack has not won
        return torch.clamp(gap, min=-self.kappa)

    def forward(self, x, y, target):
        lo, hi = self.value_range
        n = x.shape[0]
        xs = ((x - lo) / (hi - lo) * 2 - 1).clamp(-1 + 1e-6, 1 - 1e-6)
        w0 = torch.atanh(xs)
        c = torch.full((n,), self.c)
        c_lo, c_hi = torch.zeros(n), torch.full((n,), 1e10)
        best_l2 = torch.full((n,), float("inf"))
        best = x.clone()
        for _ in range(self.search_steps):
            w = w0.clone().requires_grad_(True)
            opt = torch.optim.Adam([w], lr=self.lr)
            won = torch.zeros(n, dtype=torch.bool)
            for _ in range(self.steps):
                x_adv = (torch.tanh(w) + 1) / 2 * (hi - lo) + lo
                l2 = ((x_adv - x) ** 2).flatten(1).sum(1)
                z = self.logits(x_adv)
                margin = self._margin(z, y, target)
                loss = (l2 + c * margin).sum()
                opt.zero_grad()
                loss.backward()
                opt.step()
                with torch.no_grad():
                    pred = z.argmax(1)
                    ok = (pred == target) if target is not None else (pred != y)
                    better = ok & (l2 < best_l2)
                    best_l2 = torch.where(better, l2, best_l2)
                    best[better] = x_adv[better].detach()
                    won |= ok
            # binary search on c: smaller where we won, larger where we did not
            c_hi = torch.where(won, torch.min(c_hi, c), c_hi)
            c_lo = torch.where(won, c_lo, torch.max(c_lo, c))
            c = torch.where(c_hi < 1e9, (c_lo + c_hi) / 2, c * 10)
        return best
