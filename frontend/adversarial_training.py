"""PGD adversarial training (Madry et al., "Towards Deep Learning Models Resistant to Adversarial Attacks",
ICLR 2018, arXiv:1706.06083) for hashed and dense zoo models.

Every training batch is replaced by its PGD adversarial examples: a uniform random start in the L-inf ball of
radius ``eps``, then ``steps`` signed-gradient ascent steps of size ``alpha = 2.5 * eps / steps`` on the
cross-entropy, each projected back onto the ball and into [0, 1]. With a warm-up of W epochs the budget grows
linearly from 0 to ``eps`` over the first W epochs (per batch), then stays: at eps 0.3 an MLP trained at the full
budget from the first batch collapses to predicting one class (bench/results/adv_training.md), as small models
do without such a ramp (the budget schedules of Gowal et al., arXiv:1810.12715, and Wong et al., ICLR 2020, for
MNIST). The gradient is taken through the model being
trained, so for a hashed model through its hashed layers (the virtual weights ``sign(f) * w[bucket(f)]``), the
same arithmetic the attacks differentiate. The crafting matches :class:`hashhls.adversarial.attacks.PGD` step for
step (``sw_tests/test_adversarial_training.py``); it lives here because the frontend does not depend on the
attack package.

    >>> adv = AdversarialTraining.parse("pgd:0.3,40,10")   # eps 0.3, 40 steps, 10 warm-up epochs  # doctest: +SKIP
    >>> model, metrics = train_model(cfg, train, adversarial=adv)           # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass

from ..core.errors import UsageError

DEFAULT_STEPS = 10


@dataclass(frozen=True)
class AdversarialTraining:
    """``pgd:EPS[,STEPS[,WARMUP]]``: the L-inf budget (in (0, 1], inputs in [0, 1]), the PGD steps per batch and
    the epochs over which the budget ramps up from 0 (0: the full budget from the first batch)."""

    eps: float
    steps: int = DEFAULT_STEPS
    attack: str = "pgd"
    warmup: int = 0

    def __post_init__(self) -> None:
        if self.attack != "pgd":
            raise UsageError(f"adversarial training supports pgd only, got {self.attack!r}")
        if not 0 < self.eps <= 1:
            raise UsageError(f"adversarial training eps must be in (0, 1] for inputs in [0, 1], got {self.eps:g}")
        if isinstance(self.steps, bool) or not isinstance(self.steps, int) or self.steps < 1:
            raise UsageError(f"adversarial training steps must be an integer >= 1, got {self.steps!r}")
        if isinstance(self.warmup, bool) or not isinstance(self.warmup, int) or self.warmup < 0:
            raise UsageError(f"adversarial training warm-up must be an integer number of epochs >= 0, "
                             f"got {self.warmup!r}")

    @property
    def alpha(self) -> float:
        """The step at the full budget."""
        return self.step_size(self.eps)

    def step_size(self, eps: float) -> float:
        return 2.5 * eps / self.steps

    def eps_at(self, epoch: float) -> float:
        """The budget for a batch at (fractional) training epoch ``epoch``, counted from 0."""
        return self.eps if self.warmup == 0 else self.eps * min(1.0, epoch / self.warmup)

    @classmethod
    def parse(cls, text: str) -> AdversarialTraining:
        """``pgd:0.3``, ``pgd:0.3,40`` or ``pgd:0.3,40,10``."""
        usage = f"bad adversarial training setting {text!r}: expected pgd:EPS, pgd:EPS,STEPS or pgd:EPS,STEPS,WARMUP"
        kind, sep, rest = str(text).partition(":")
        parts = [p.strip() for p in rest.split(",")] if sep else []
        if kind.strip().lower() != "pgd" or not 1 <= len(parts) <= 3:
            raise UsageError(usage)
        try:
            eps = float(parts[0])
            steps = int(parts[1]) if len(parts) >= 2 else DEFAULT_STEPS
            warmup = int(parts[2]) if len(parts) == 3 else 0
        except ValueError:
            raise UsageError(usage) from None
        return cls(eps, steps, warmup=warmup)

    def to_dict(self) -> dict:
        d = {"attack": self.attack, "eps": self.eps, "steps": self.steps}
        if self.warmup:  # (records without a warm-up keep the keys they always had)
            d["warmup_epochs"] = self.warmup
        return d

    def perturb(self, model, x, y, generator, eps: float | None = None):
        """PGD adversarial examples of ``(x, y)`` against ``model`` (its parameters get no gradient), at budget
        ``eps`` (default: the full one; the step is 2.5 eps / steps at whatever budget is used)."""
        import torch
        import torch.nn.functional as F

        eps = self.eps if eps is None else float(eps)
        alpha = self.step_size(eps)
        lo, hi = 0.0, 1.0
        x = x.detach()
        noise = (torch.rand(x.shape, generator=generator) * 2 - 1) * eps
        x_adv = torch.clamp(torch.min(torch.max(x + noise, x - eps), x + eps), lo, hi)
        for _ in range(self.steps):
            x_adv = x_adv.detach().requires_grad_(True)
            loss = F.cross_entropy(model(x_adv), y, reduction="none").sum()
            (grad,) = torch.autograd.grad(loss, x_adv)
            x_adv = x_adv.detach() + alpha * torch.sign(grad)
            x_adv = torch.clamp(torch.min(torch.max(x_adv, x - eps), x + eps), lo, hi)
        return x_adv.detach()
