"""AutoAttack-style ensemble (L-inf): Croce and Hein, "Reliable evaluation of adversarial robustness with an
ensemble of diverse parameter-free attacks", ICML 2020 (arXiv:2003.01690).

The standard adaptive evaluation: APGD with the cross-entropy loss, APGD with the difference-of-logits-ratio loss
(DLR: invariant to shifting and scaling the logits, which is all that GI-scale does) and the query-only Square
attack, run in that order; each input keeps the first attack that fools the model, later attacks only see the
inputs still classified correctly. The three attacks are the Adversarial Robustness Toolbox's implementations
(``AutoProjectedGradientDescent`` with ``loss_type="cross_entropy"`` / ``"difference_logits_ratio"``,
``SquareAttack``), on an ART ``PyTorchClassifier`` around the model (float, hashed, dense or the fixed-point twin).

    >>> attack = AutoAttack(model, eps=0.1)   # doctest: +SKIP
    >>> x_adv = attack(x, y)                   # doctest: +SKIP
    >>> attack.stage                           # which attack succeeded on each input ("" = none)  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import io
import logging

import numpy as np
import torch
from torch import nn

from ...core.errors import ToolchainError, UsageError
from .base import Attack, check_eps

#: the ensemble's stages, in order
STAGES = ("apgd-ce", "apgd-dlr", "square")


class _Counted(nn.Module):
    """The attacked model with float32 logits (ART's losses), counting the samples it is run on."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model
        self.gradient_samples = 0  #: samples forwarded with autograd on (each is one backward pass in ART)
        self.forward_samples = 0  #: every sample forwarded (gradient passes and plain queries)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.forward_samples += len(x)
        if torch.is_grad_enabled() and x.requires_grad:
            self.gradient_samples += len(x)
        return self.model(x).float()


class AutoAttack(Attack):
    """APGD-CE, APGD-DLR and Square (ART's implementations), the first success per input kept.

    Args:
        model: a torch module returning logits.
        eps: L-inf budget.
        steps: APGD iterations per restart (100 in AutoAttack's standard version).
        restarts: APGD random restarts (AutoAttack's standard version: 1 for the untargeted attacks).
        square_queries: Square's query budget (5,000 in the standard version; lower by default here, CPU).
        batch_size: ART's batch size.
        stages: a subset of :data:`STAGES` to run, in this order.

    After a call, ``stage[i]`` names the attack that fooled input i (``""``: none, or already misclassified),
    ``counts`` the samples each stage forwarded through the model (``forward``) and differentiated
    (``gradient``).
    """

    name = "autoattack"
    supports_targeted = False

    def __init__(self, model, eps: float = 0.1, steps: int = 100, restarts: int = 1, square_queries: int = 1000,
                 batch_size: int = 128, stages: tuple[str, ...] = STAGES, **kw) -> None:
        super().__init__(model, **kw)
        self.eps = check_eps(eps, self.value_range)
        if steps < 1 or restarts < 1 or square_queries < 1 or batch_size < 1:
            raise UsageError("autoattack: steps, restarts, square_queries and batch_size must be >= 1")
        unknown = [s for s in stages if s not in STAGES]
        if unknown or not stages:
            raise UsageError(f"autoattack: stages must be among {', '.join(STAGES)}, got {list(stages)}")
        self.steps, self.restarts, self.square_queries = int(steps), int(restarts), int(square_queries)
        self.batch_size = int(batch_size)
        self.stages = tuple(s for s in STAGES if s in stages)
        self.stage: np.ndarray | None = None
        self.counts: dict[str, dict[str, int]] = {}

    def _art(self, counted: _Counted, input_shape, n_classes: int):
        try:
            from art.attacks.evasion import AutoProjectedGradientDescent, SquareAttack
            from art.estimators.classification import PyTorchClassifier
        except ImportError as e:  # a runtime dependency; a broken install is a toolchain problem
            raise ToolchainError(f"autoattack needs the Adversarial Robustness Toolbox: {e}") from e
        clf = PyTorchClassifier(model=counted, loss=nn.CrossEntropyLoss(), input_shape=tuple(input_shape),
                                nb_classes=n_classes, clip_values=self.value_range, device_type="cpu")
        apgd = dict(norm=np.inf, eps=self.eps, eps_step=2 * self.eps, max_iter=self.steps, targeted=False,
                    nb_random_init=self.restarts, batch_size=self.batch_size, verbose=False)
        return {
            "apgd-ce": lambda: AutoProjectedGradientDescent(clf, loss_type="cross_entropy", **apgd),
            "apgd-dlr": lambda: AutoProjectedGradientDescent(clf, loss_type="difference_logits_ratio", **apgd),
            "square": lambda: SquareAttack(clf, norm=np.inf, eps=self.eps, max_iter=self.square_queries,
                                           p_init=0.8, nb_restarts=1, batch_size=self.batch_size, verbose=False),
        }

    def forward(self, x, y, target):
        xn, yn = x.numpy().astype(np.float32), y.numpy()
        counted = _Counted(self.model)
        with torch.no_grad():
            z = counted(x)
        attacks = self._art(counted, xn.shape[1:], z.shape[1])
        x_adv = xn.copy()
        stage = np.array([""] * len(xn), dtype=object)
        todo = np.nonzero(z.argmax(1).numpy() == yn)[0]  # already misclassified inputs need no attack
        self.counts = {}
        rng_state = np.random.get_state()
        np.random.seed(self.seed)  # ART draws its random starts and squares from numpy's global generator
        try:
            for name in self.stages:
                before = (counted.forward_samples, counted.gradient_samples)
                if len(todo):
                    with _quiet():
                        adv = attacks[name]().generate(xn[todo], y=np.eye(z.shape[1], dtype=np.float32)[yn[todo]])
                    adv = np.clip(np.minimum(np.maximum(adv, xn[todo] - self.eps), xn[todo] + self.eps),
                                  *self.value_range).astype(np.float32)
                    with torch.no_grad():
                        fooled = counted(torch.from_numpy(adv)).argmax(1).numpy() != yn[todo]
                    x_adv[todo[fooled]] = adv[fooled]
                    stage[todo[fooled]] = name
                    todo = todo[~fooled]
                self.counts[name] = {"forward": counted.forward_samples - before[0],
                                     "gradient": counted.gradient_samples - before[1]}
        finally:
            np.random.set_state(rng_state)
        self.stage = stage
        return torch.from_numpy(x_adv)


@contextlib.contextmanager
def _quiet():
    """ART logs every attack's progress at INFO and prints nothing useful here."""
    art_log = logging.getLogger("art")
    level = art_log.level
    art_log.setLevel(logging.WARNING)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            yield
    finally:
        art_log.setLevel(level)
