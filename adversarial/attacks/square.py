"""Square attack (L-inf): Andriushchenko et al., "Square Attack: a query-efficient black-box adversarial attack
via random search", ECCV 2020 (arXiv:1912.00049).

Query-only: needs nothing but ``predict(x: np.ndarray) -> scores``, so it can
attack a compiled C simulation. Random square-shaped +-eps updates are kept when
they lower the margin loss; ``queries`` counts predict calls per input until it
succeeds (or the budget ends).
"""

from __future__ import annotations

import numpy as np
import torch

from .base import Attack, check_eps


class Square(Attack):
    name = "square"
    black_box = True

    def __init__(self, predict, eps: float = 0.1, max_queries: int = 500, p_init: float = 0.1, **kw) -> None:
        super().__init__(predict, **kw)
        self.eps = check_eps(eps, self.value_range)
        self.max_queries, self.p_init = int(max_queries), float(p_init)

    def _margin(self, scores: np.ndarray, y: np.ndarray, target) -> np.ndarray:
        idx = np.arange(len(y))
        goal = target if target is not None else y
        own = scores[idx, goal]
        other = scores.copy()
        other[idx, goal] = -np.inf
        other = other.max(1)
        return other - own if target is not None else own - other  # < 0: won

    def _p(self, it: int) -> float:
        frac = it / max(1, self.max_queries)
        return self.p_init / (2 ** int(np.searchsorted([0.001, 0.005, 0.02, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8], frac)))

    def forward(self, x, y, target):
        lo, hi = self.value_range
        rng = np.random.default_rng(self.seed)
        xn, yn = x.numpy().astype(np.float32), y.numpy()
        tn = None if target is None else target.numpy()
        n, c, h, w = xn.shape if xn.ndim == 4 else (xn.shape[0], 1, 1, int(np.prod(xn.shape[1:])))
        shape4 = (n, c, h, w)
        x4 = xn.reshape(shape4)
        # Vertical stripes of +-eps: the paper's initialisation.
        stripes = rng.choice([-self.eps, self.eps], size=(n, c, 1, w)).astype(np.float32)
        x_adv = np.clip(x4 + stripes, lo, hi)
        margin = self._margin(self.model(x_adv.reshape(xn.shape)), yn, tn)
        queries = np.ones(n, dtype=np.int64)
        for it in range(1, self.max_queries):
            todo = np.nonzero(margin > 0)[0]
            if len(todo) == 0:
                break
            s = max(1, int(round(np.sqrt(self._p(it) * h * w))))
            s = min(s, h, w)
            cand = x_adv[todo].copy()
            for k, i in enumerate(todo):
                r, q = rng.integers(0, h - s + 1), rng.integers(0, w - s + 1)
                delta = cand[k] - x4[i]
                delta[:, r:r + s, q:q + s] = rng.choice([-self.eps, self.eps], size=(c, 1, 1))
                cand[k] = np.clip(x4[i] + delta, lo, hi)
            m_new = self._margin(self.model(cand.reshape((len(todo),) + xn.shape[1:])), yn[todo], None if tn is None
                                 else tn[todo])
            queries[todo] += 1
            better = m_new < margin[todo]
            x_adv[todo[better]] = cand[better]
            margin[todo[better]] = m_new[better]
        self.queries = queries
        return torch.from_numpy(x_adv.reshape(xn.shape))
