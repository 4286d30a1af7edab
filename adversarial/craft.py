"""Crafting adversarial sets on a chosen model and writing them in the format replay reads."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..core.atomic import atomic_file
from .replay import AdvSet
from ..core.errors import HashhlsError
from ..frontend.gi import fold_gi
from ..frontend.layers import HashedConv2d, HashedLinear
from .attacks import make_attack
from .twin import FixedPointTwin

#: attacks whose budget is not an L-inf eps
UNBUDGETED = {"cw", "deepfool", "jsma"}


def dense_copy(model: nn.Sequential) -> nn.Sequential:
    """The same function with dense parameters: each hashed layer materialised into an nn.Linear / nn.Conv2d."""
    out = []
    for m in fold_gi(model):
        if isinstance(m, (HashedLinear, HashedConv2d)):
            dense = (nn.Linear(m.in_features, m.out_features, bias=m.bias is not None) if isinstance(m, HashedLinear)
                     else nn.Conv2d(m.in_channels, m.out_channels, m.kernel_size, stride=m.stride,
                                    padding=m.padding, bias=m.bias is not None))
            with torch.no_grad():
                dense.weight.copy_(m.virtual_weight())
                if m.bias is not None:
                    dense.bias.copy_(m.bias)
            m = dense
        out.append(copy.deepcopy(m))
    return nn.Sequential(*out).eval()


def crafting_model(model: nn.Sequential, on: str) -> nn.Module:
    if on == "hashed":
        return model.eval()
    if on == "dense":
        return dense_copy(model)
    if on == "fixed":
        return FixedPointTwin(model).eval()
    raise HashhlsError(f"unknown crafting target {on!r}: hashed, dense or fixed")


def craft(name: str, model, x: np.ndarray, y: np.ndarray, eps: Sequence[float], batch_size: int = 500,
          progress: bool = True, **hparams) -> AdvSet:
    """Run attack ``name`` at each budget on ``model`` (torch module, or predict function for square)."""
    from tqdm import tqdm

    eps = [float("nan")] if name.lower() in UNBUDGETED else list(eps)
    advs, queries = [], []
    for e in eps:
        kw = dict(hparams) if np.isnan(e) else {**hparams, "eps": e}
        atk = make_attack(name, model, **kw)
        parts, qs = [], []
        for i in tqdm(range(0, len(x), batch_size), desc=f"{name} eps={e:g}", disable=None if progress else True, leave=False):
            parts.append(atk(torch.from_numpy(x[i:i + batch_size]), torch.from_numpy(y[i:i + batch_size])).numpy())
            if atk.queries is not None:
                qs.append(atk.queries)
        advs.append(np.concatenate(parts).astype(np.float32))
        if qs:
            queries.append(np.concatenate(qs))
    return AdvSet(x.astype(np.float32), y.astype(np.int64), np.stack(advs), np.array(eps, dtype=np.float64),
                  attack=name.lower(), queries=np.stack(queries) if queries else None)


def save_adv(path: str | Path, adv: AdvSet) -> None:
    """Write an AdvSet as ``.npz`` (atomically) in the format :meth:`AdvSet.load` reads."""
    arrays = {"x_clean": adv.x_clean, "y": adv.y, "x_adv": adv.x_adv, "eps": adv.eps,
              "attack": np.array(adv.attack), "crafted_on": np.array(adv.crafted_on)}
    if adv.queries is not None:
        arrays["queries"] = adv.queries
    if adv.target_labels is not None:
        arrays["target_labels"] = adv.target_labels
    with atomic_file(path) as tmp, open(tmp, "wb") as f:
        np.savez_compressed(f, **arrays)
