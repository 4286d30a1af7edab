"""Training and evaluation of zoo models (deterministic for a given seed).

Recipe: Adam, cosine learning-rate decay per step to zero, cross-entropy, and
light augmentation (random shifts of up to +-2 pixels, zero fill) because only
10,000 MNIST training images are bundled. Epochs, batch size and learning
rate default to the model's entry in :data:`RECIPES`. Shuffling and
augmentation draw from one ``torch.Generator`` seeded with ``seed``; the
initial weights come from ``torch.manual_seed(seed)``; so two runs with the
same seed give the same weights (on the same machine and thread count).
"""

from __future__ import annotations

import logging
import sys
import time
from dataclasses import dataclass

import numpy as np

from ..core.errors import HashhlsError
from .zoo import ModelConfig, build_model

log = logging.getLogger(__name__)

MAX_SHIFT = 2
#: The mnist-mlp recipe (``hashhls train`` and the bundled default checkpoint use it).
DEFAULT_EPOCHS = 40
DEFAULT_BATCH_SIZE = 128
DEFAULT_LR = 2e-3


@dataclass(frozen=True)
class Recipe:
    """A model's default training hyper-parameters (Adam + cosine, +-2 px shifts)."""

    epochs: int
    batch_size: int
    lr: float


#: Per-model defaults of :func:`train_model` and ``hashhls train`` (cli/commands/train.py keeps a
#: torch-free copy for its help text; sw_tests check the two agree). lenet5: chosen on the bundled
#: 10k MNIST images so that 1/8 compression reaches >= 98% on the official test set (seeds 0-3:
#: 98.2-98.5% with one thread; bench/results/accuracy.md has the recorded run).
RECIPES: dict[str, Recipe] = {
    "mnist-mlp": Recipe(DEFAULT_EPOCHS, DEFAULT_BATCH_SIZE, DEFAULT_LR),
    "lenet5": Recipe(60, 128, 5e-3),
    "cifar-convnet": Recipe(DEFAULT_EPOCHS, DEFAULT_BATCH_SIZE, DEFAULT_LR),
}


def recipe_for(name: str) -> Recipe:
    """The default recipe of zoo model ``name``."""
    try:
        return RECIPES[name]
    except KeyError:
        raise HashhlsError(f"no training recipe for model {name!r}") from None


def _as_tensors(x, y, cfg: ModelConfig | None = None, what: str = "data"):
    import torch

    x = torch.as_tensor(np.asarray(x, dtype=np.float32))
    y = torch.as_tensor(np.asarray(y, dtype=np.int64))
    if x.shape[0] != y.shape[0] or x.shape[0] == 0:
        raise HashhlsError(f"{what}: {x.shape[0]} inputs and {y.shape[0]} labels (need the same, non-zero count)")
    if cfg is not None and list(x.shape[1:]) != cfg.input_shape:
        raise HashhlsError(f"{what}: inputs of shape {list(x.shape[1:])} do not fit {cfg.name}, which takes "
                           f"{cfg.input_shape}")
    return x, y


def random_shift(x, generator, max_shift: int = MAX_SHIFT):
    """Shift each image of ``x`` [N, C, H, W] by its own random (dy, dx) in [-s, s], zero fill."""
    import torch
    import torch.nn.functional as F

    n, c, h, w = x.shape
    s = int(max_shift)
    padded = F.pad(x, (s, s, s, s))
    dy = torch.randint(0, 2 * s + 1, (n,), generator=generator)
    dx = torch.randint(0, 2 * s + 1, (n,), generator=generator)
    rows = (dy[:, None] + torch.arange(h))[:, None, :, None]
    cols = (dx[:, None] + torch.arange(w))[:, None, None, :]
    return padded[torch.arange(n)[:, None, None, None], torch.arange(c)[None, :, None, None], rows, cols]


def evaluate(model, x, y, batch_size: int = 1000) -> float:
    """Top-1 accuracy in [0, 1] of ``model`` on ``(x, y)`` (eval mode, no grad)."""
    import torch

    x, y = _as_tensors(x, y, what="evaluation data")
    was_training = model.training
    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(x), batch_size):
            correct += int((model(x[i:i + batch_size]).argmax(1) == y[i:i + batch_size]).sum())
    model.train(was_training)
    return correct / len(x)


def _show_progress(progress: bool) -> bool:
    return bool(progress) and sys.stderr.isatty()


def train_model(cfg: ModelConfig, train, test=None, epochs: int | None = None,
                batch_size: int | None = None, lr: float | None = None,
                seed: int | None = None, augment: bool = True, progress: bool = True, adversarial=None):
    """Train ``build_model(cfg)`` from scratch.

    Args:
        cfg: the model config.
        train: ``(x, y)`` arrays, x float32 of shape ``[N, *cfg.input_shape]``.
        test: optional ``(x, y)`` evaluated after training.
        epochs: passes over ``train``; default from ``recipe_for(cfg.name)``.
        batch_size: samples per step; default from the recipe.
        lr: Adam's initial learning rate (cosine-decayed to 0); default from the recipe.
        seed: training seed (init, shuffling, augmentation); default ``cfg.seed``.
        augment: random +-2 pixel shifts.
        progress: tqdm bar per epoch (only on a terminal).
        adversarial: a :class:`hashhls.frontend.adversarial_training.AdversarialTraining` (PGD adversarial
            training: every batch replaced by its PGD examples against the model being trained), or None.

    Returns:
        ``(model, metrics)``; metrics has ``train_loss``, ``train_accuracy`` (last
        epoch, augmented), ``epoch_seconds``, ``seconds``, the recipe, and
        ``test_accuracy`` / ``test_samples`` when ``test`` is given.
    """
    import torch
    from torch import nn
    from tqdm import tqdm

    recipe = recipe_for(cfg.name)
    epochs = recipe.epochs if epochs is None else epochs
    batch_size = recipe.batch_size if batch_size is None else batch_size
    lr = recipe.lr if lr is None else lr
    if int(epochs) < 1 or int(batch_size) < 1 or not lr > 0:
        raise HashhlsError(f"need epochs >= 1, batch size >= 1 and lr > 0 (got {epochs}, {batch_size}, {lr})")
    epochs, batch_size = int(epochs), int(batch_size)
    if adversarial is not None and adversarial.warmup > epochs:
        raise HashhlsError(f"the adversarial training warm-up ({adversarial.warmup} epochs) is longer than the "
                           f"training ({epochs} epochs)")
    seed = cfg.seed if seed is None else int(seed)
    x, y = _as_tensors(*train, cfg=cfg, what="training data")
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    model = build_model(cfg)
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    steps_per_epoch = (len(x) + batch_size - 1) // batch_size
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs * steps_per_epoch)
    loss_fn = nn.CrossEntropyLoss()
    epoch_seconds: list[float] = []
    loss_avg = acc = 0.0
    t_start = time.perf_counter()
    for epoch in range(epochs):
        t0 = time.perf_counter()
        perm = torch.randperm(len(x), generator=gen)
        loss_sum, correct = 0.0, 0
        bar = tqdm(range(steps_per_epoch), desc=f"epoch {epoch + 1}/{epochs}", unit="batch", leave=False,
                   disable=not _show_progress(progress))
        for step in bar:
            idx = perm[step * batch_size:(step + 1) * batch_size]
            xb, yb = x[idx], y[idx]
            if augment:
                xb = random_shift(xb, gen)
            if adversarial is not None:
                xb = adversarial.perturb(model, xb, yb, gen, eps=adversarial.eps_at(epoch + step / steps_per_epoch))
            out = model(xb)
            loss = loss_fn(out, yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            loss_sum += float(loss.detach()) * len(idx)
            correct += int((out.argmax(1) == yb).sum())
            bar.set_postfix(loss=f"{loss_sum / min(len(x), (step + 1) * batch_size):.4f}", refresh=False)
        bar.close()
        epoch_seconds.append(time.perf_counter() - t0)
        loss_avg, acc = loss_sum / len(x), correct / len(x)
        log.info("epoch %d/%d: loss %.4f, train accuracy %.2f%% (%.1f s)", epoch + 1, epochs, loss_avg,
                 100 * acc, epoch_seconds[-1])
    model.eval()
    metrics = {
        "model": cfg.name, "compression": cfg.compression, "seed": seed, "epochs": epochs,
        "batch_size": batch_size, "lr": lr, "augment": bool(augment), "optimizer": "adam+cosine",
        "train_samples": len(x), "train_loss": loss_avg, "train_accuracy": acc,
        "epoch_seconds": epoch_seconds, "seconds": time.perf_counter() - t_start,
        "stored_weights": sum(p.numel() for p in model.parameters()),
        "adversarial": None if adversarial is None else adversarial.to_dict(),
    }
    if test is not None:
        tx, ty = _as_tensors(*test, cfg=cfg, what="test data")
        metrics["test_accuracy"] = evaluate(model, tx, ty)
        metrics["test_samples"] = len(tx)
    return model, metrics
