"""CW-L2: Carlini & Wagner, "Towards Evaluating the Robustness of Neural Networks", IEEE S&P 2017 (arXiv:1608.04644).

Distance: L2. Minimises ``||x' - x||^2 + c * f(x')`` with Adam, where ``f``
is the logit margin (clamped at ``-kappa``); ``c`` is found by a per-sample
binary search. An iterate counts as adversarial (and is kept if its L2 is the
smallest so far) only when its margin is below ``-kappa``: kappa buys
examples that survive small changes of the logits, e.g. fixed-point rounding. Batched in torch. Works on logits directly, so a defence that
saturates the softmax does not hide its gradient.

The box constraint is kept by optimising the perturbation in pixel space and
projecting ``x + delta`` back onto the valid range after every step (C&W's
"projected gradient descent" box method, Section V). Their change of
variables ``x' = (tanh(w) + 1) / 2`` is not used: MNIST is mostly pixels at
exactly 0 or 1, which map to ``w = atanh(+-(1 - 1e-6)) ~ +-7.25`` where tanh's
derivative is ~1e-6. Adam moves ``w`` by about ``lr`` per step, so at lr 0.05
no background pixel changed within 60 steps: the attack could only edit the
digit strokes and needed ~3x the L2 of this version at the same step budget
(sw_tests/test_attacks.py checks the L2 and that background pixels move).
"""

from __future__ import annotations

import torch

from ...core.errors import HashhlsError
from .base import Attack


class CW(Attack):
    name = "cw"

    def __init__(self, model, c: float = 1.0, kappa: float = 0.0, steps: int = 100, lr: float = 0.01,
                 search_steps: int = 5, **kw) -> None:
        super().__init__(model, **kw)
        if not kappa >= 0:
            raise HashhlsError(f"cw: kappa must be >= 0, got {kappa}")
        if int(steps) < 1 or int(search_steps) < 1 or not lr > 0 or not c > 0:
            raise HashhlsError(f"cw: steps and search_steps must be >= 1 and lr, c > 0 "
                               f"(got steps={steps}, search_steps={search_steps}, lr={lr}, c={c})")
        self.c, self.kappa, self.steps, self.lr, self.search_steps = float(c), float(kappa), int(steps), lr, search_steps

    def _gap(self, z: torch.Tensor, y: torch.Tensor, target: torch.Tensor | None) -> torch.Tensor:
        """Logit margin, > 0 while the attack has not won (C&W's f before the clamp at -kappa)."""
        onehot = torch.nn.functional.one_hot(target if target is not None else y, z.shape[1]).bool()
        own = z[onehot]
        other = z.masked_fill(onehot, float("-inf")).max(dim=1).values
        return other - own if target is not None else own - other

    def forward(self, x, y, target):
        lo, hi = self.value_range
        n = x.shape[0]
        c = torch.full((n,), self.c)
        c_lo, c_hi = torch.zeros(n), torch.full((n,), 1e10)
        best_l2 = torch.full((n,), float("inf"))
        best = x.clone()
        for _ in range(self.search_steps):
            delta = torch.zeros_like(x, requires_grad=True)
            opt = torch.optim.Adam([delta], lr=self.lr)
            won = torch.zeros(n, dtype=torch.bool)
            for _ in range(self.steps):
                x_adv = x + delta
                l2 = (delta**2).flatten(1).sum(1)
                z = self.logits(x_adv)
                gap = self._gap(z, y, target)
                loss = (l2 + c * torch.clamp(gap, min=-self.kappa)).sum()
                # only the input gradient: backward() would also accumulate into the model's parameters
                # (a side effect, and the hashed layers' weight gradient costs ~10x the rest of the step)
                (delta.grad,) = torch.autograd.grad(loss, delta)
                opt.step()
                with torch.no_grad():
                    # `z` belongs to the iterate before the step: record it if it already wins with
                    # confidence kappa (kappa 0: misclassified / classified as the target)
                    ok = gap < -self.kappa
                    better = ok & (l2 < best_l2)
                    best_l2 = torch.where(better, l2, best_l2)
                    best[better] = x_adv[better].detach()
                    won |= ok
                    delta.copy_(torch.clamp(x + delta, lo, hi) - x)  # project onto the box
            # binary search on c: smaller where we won, larger where we did not
            c_hi = torch.where(won, torch.min(c_hi, c), c_hi)
            c_lo = torch.where(won, c_lo, torch.max(c_lo, c))
            c = torch.where(c_hi < 1e9, (c_lo + c_hi) / 2, c * 10)
        return best
