"""PGD adversarial training (Madry et al., "Towards Deep Learning Models Resistant to Adversarial Attacks",
ICLR 2018, arXiv:1706.06083) for hashed and dense zoo models.

Every training batch is replaced by its PGD adversarial examples: a uniform random start in the L-inf ball of
radius ``eps``, then ``steps`` signed-gradient ascent steps of size ``alpha = 2.5 * eps / steps`` on the
cross-entropy, each projected back onto the ball and into [0, 1]. The gradient is taken through the model being
trained, so for a hashed model through its hashed layers (the virtual weights ``sign(f) * w[bucket(f)]``), the
same arithmetic the attacks differentiate. The crafting matches :class:`hashhls.adversarial.attacks.PGD` step for
step (``sw_tests/test_adversarial_training.py``); it lives here because the frontend does not depend on the
attack package.

    >>> adv = AdversarialTraining.parse("pgd:0.3,10")                       # doctest: +SKIP
    >>> model, metrics = train_model(cfg, train, adversarial=adv)           # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass

from ..core.errors import UsageError

DEFAULT_STEPS = 10


@dataclass(frozen=True)
class AdversarialTraining:
    """``pgd:EPS[,STEPS]``: the L-inf budget (in (0, 1], inputs in [0, 1]) and the PGD steps per batch."""

    eps: float
    steps: int = DEFAULT_STEPS
    attack: str = "pgd"

    def __post_init__(self) -> None:
        if self.attack != "pgd":
            raise UsageError(f"adversarial training supports pgd only, got {self.attack!r}")
        if not 0 < self.eps <= 1:
            raise UsageError(f"adversarial training eps must be in (0, 1] for inputs in [0, 1], got {self.eps:g}")
        if isinstance(self.steps, bool) or not isinstance(self.steps, int) or self.steps < 1:
            raise UsageError(f"adversarial training steps must be an integer >= 1, got {self.steps!r}")

    @property
    def alpha(self) -> float:
        return 2.5 * self.eps / self.steps

    @classmethod
    def parse(cls, text: str) -> AdversarialTraining:
        """``pgd:0.3`` or ``pgd:0.3,40``."""
        kind, sep, rest = str(text).partition(":")
        parts = [p.strip() for p in rest.split(",")] if sep else []
        if kind.strip().lower() != "pgd" or not 1 <= len(parts) <= 2:
            raise UsageError(f"bad adversarial training setting {text!r}: expected pgd:EPS or pgd:EPS,STEPS")
        try:
            eps = float(parts[0])
            steps = int(parts[1]) if len(parts) == 2 else DEFAULT_STEPS
        except ValueError:
            raise UsageError(f"bad adversarial training setting {text!r}: expected pgd:EPS or pgd:EPS,STEPS") from None
        return cls(eps, steps)

    def to_dict(self) -> dict:
        return {"attack": self.attack, "eps": self.eps, "steps": self.steps}

    def perturb(self, model, x, y, generator):
        """PGD adversarial examples of ``(x, y)`` against ``model`` (its parameters get no gradient)."""
        import torch
        import torch.nn.functional as F

        lo, hi = 0.0, 1.0
        x = x.detach()
        noise = (torch.rand(x.shape, generator=generator) * 2 - 1) * self.eps
        x_adv = torch.clamp(torch.min(torch.max(x + noise, x - self.eps), x + self.eps), lo, hi)
        for _ in range(self.steps):
            x_adv = x_adv.detach().requires_grad_(True)
            loss = F.cross_entropy(model(x_adv), y, reduction="none").sum()
            (grad,) = torch.autograd.grad(loss, x_adv)
            x_adv = x_adv.detach() + self.alpha * torch.sign(grad)
            x_adv = torch.clamp(torch.min(torch.max(x_adv, x - self.eps), x + self.eps), lo, hi)
        return x_adv.detach()
