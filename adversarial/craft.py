"""Crafting adversarial sets on a chosen model, with their provenance: what ``hashhls attack`` runs.

:func:`craft` runs one attack at each budget on one model (a torch module or, for query-only attacks, a predict
function) and returns an :class:`AdvSet`; :func:`attack` is the whole command: it resolves the model (a
checkpoint, the bundled default, or a build's own model), the model to craft on (``on``: the hashed float
model, its dense materialisation, the fixed-point twin of a build, or a build's csim), crafts, and records the
provenance (:class:`hashhls.adversarial.advfile.Provenance`).

``on="fixed"`` with a build crafts on that build's twin (its per-layer types, hash version and layers);
without a build, on an in-memory twin at the default precision ``ap_fixed<16,6,AP_RND_CONV,AP_SAT>``,
planned as ``hashhls build MODEL`` would plan it, and the provenance says so (``build_id`` None, the twin's
types in ``build_precision``); replay then labels the row as such.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..codegen.identity import ModelIdentity
from ..core.errors import InvalidFileError, UnsupportedModelError, UsageError
from ..core.inputs import check_checkpoint
from ..frontend.gi import fold_gi
from ..frontend.layers import HashedConv2d, HashedLinear
from .advfile import CRAFTED_ON, AdvSet, Provenance
from .attacks import ATTACKS, make_attack
from .twin import FixedPointTwin

#: attacks whose budget is not an L-inf eps (reported by their distortion)
UNBUDGETED = {"cw", "deepfool", "jsma"}
ON_CHOICES = tuple(CRAFTED_ON)


def _dense_layer(m: HashedLinear | HashedConv2d) -> nn.Module:
    dense = (nn.Linear(m.in_features, m.out_features, bias=m.bias is not None) if isinstance(m, HashedLinear)
             else nn.Conv2d(m.in_channels, m.out_channels, m.kernel_size, stride=m.stride,
                            padding=m.padding, bias=m.bias is not None))
    with torch.no_grad():
        dense.weight.copy_(m.virtual_weight())
        if m.bias is not None:
            dense.bias.copy_(m.bias)
    return dense


def _materialise(module: nn.Module) -> None:
    for name, child in module.named_children():
        if isinstance(child, (HashedLinear, HashedConv2d)):
            setattr(module, name, _dense_layer(child))
        else:
            _materialise(child)


def dense_copy(model: nn.Module) -> nn.Module:
    """The same function with dense parameters: each hashed layer materialised into an nn.Linear / nn.Conv2d.

    ``model`` is a zoo ``nn.Sequential`` (GI folded first) or any module holding hashed layers at any depth,
    e.g. the :class:`hashhls.codegen.onnx_to_torch.OnnxGraphModule` a build's ONNX loads as.
    """
    out = fold_gi(model) if isinstance(model, nn.Sequential) else copy.deepcopy(model)
    _materialise(out)
    return out.eval()


def crafting_model(model: nn.Sequential, on: str, input_shape: Sequence[int] = (1, 28, 28),
                   build_dir: str | Path | None = None):
    """The model an attack differentiates (or queries) for ``on`` in :data:`ON_CHOICES`."""
    if on == "hashed":
        return model.eval()
    if on == "dense":
        return dense_copy(model)
    if on == "fixed":
        if build_dir is not None:
            return FixedPointTwin.from_build(build_dir).eval()
        return FixedPointTwin.from_module(model, input_shape).eval()
    if on == "csim":
        if build_dir is None:
            raise UsageError("--on csim needs --build DIR (the C simulation to query)")
        from ..codegen.csim import load_build

        return load_build(build_dir).predict
    raise UsageError(f"unknown crafting target {on!r}: {', '.join(ON_CHOICES)}")


def craft(name: str, model, x: np.ndarray, y: np.ndarray, eps: Sequence[float], batch_size: int = 500,
          progress: bool = True, **hparams) -> AdvSet:
    """Run attack ``name`` at each budget on ``model`` (torch module, or predict function for query-only attacks).

    Budget-free attacks (:data:`UNBUDGETED`) run once, with eps NaN. Targeted modes store the targets the attack
    aimed at (``AdvSet.target_labels``).
    """
    from tqdm import tqdm

    eps = [float("nan")] if name.lower() in UNBUDGETED else list(eps)
    if not eps:
        raise UsageError(f"attack {name!r} needs at least one eps")
    fixed_targets = None
    if hparams.get("target_mode") == "random":  # a str or TargetMode.RANDOM (a str enum)
        # Drawn here for the whole set, not per batch by the attack: a batch-level draw restarts the generator
        # in every batch of ``batch_size``, so sample i and sample i + batch_size got the same offset.
        fixed_targets = random_targets(y, n_classes(model, x[:1]), int(hparams.get("seed", 0)))
        hparams = {**hparams, "target_mode": "targeted"}
    advs, queries, targets = [], [], None
    for e in eps:
        kw = dict(hparams) if np.isnan(e) else {**hparams, "eps": e}
        atk = make_attack(name, model, **kw)
        parts, qs, ts = [], [], []
        for i in tqdm(range(0, len(x), batch_size), desc=f"{name} eps={e:g}", disable=None if progress else True,
                      leave=False):
            t = None if fixed_targets is None else torch.from_numpy(fixed_targets[i:i + batch_size])
            parts.append(atk(torch.from_numpy(x[i:i + batch_size]), torch.from_numpy(y[i:i + batch_size]),
                             t).numpy())
            if atk.queries is not None:
                qs.append(atk.queries)
            if atk.targets is not None:
                ts.append(atk.targets.numpy())
        advs.append(np.concatenate(parts).astype(np.float32))
        if qs:
            queries.append(np.concatenate(qs))
        if ts:
            t = np.concatenate(ts).astype(np.int64)
            if targets is not None and not np.array_equal(t, targets):
                raise AssertionError("targets differ between budgets")  # resolved from the clean inputs alone
            targets = t
    return AdvSet(x.astype(np.float32), y.astype(np.int64), np.stack(advs), np.array(eps, dtype=np.float64),
                  attack=name.lower(), target_labels=targets, queries=np.stack(queries) if queries else None)


def random_targets(y: np.ndarray, classes: int, seed: int = 0) -> np.ndarray:
    """Random target labels, never the true one: a function of the seed and each sample's index in the set."""
    offsets = np.random.default_rng(seed).integers(1, classes, size=len(y))
    return ((np.asarray(y, dtype=np.int64) + offsets) % classes).astype(np.int64)


def n_classes(model, x: np.ndarray) -> int:
    """How many logits ``model`` (torch module or numpy predict function) returns."""
    if isinstance(model, nn.Module):
        with torch.no_grad():
            return int(model(torch.from_numpy(np.ascontiguousarray(x))).shape[1])
    return int(np.asarray(model(x)).shape[1])


def labels_of(model, x: np.ndarray) -> np.ndarray:
    """Predicted labels of a torch module or a numpy predict function."""
    if isinstance(model, nn.Module):
        with torch.no_grad():
            return model(torch.from_numpy(np.ascontiguousarray(x))).argmax(1).numpy()
    return np.asarray(model(x)).argmax(1)


def success_on(model, adv: AdvSet) -> list[tuple[float, int]]:
    """Per budget: (success rate, eligible inputs) on ``model``; targeted sets count reaching the target."""
    from .replay import success_mask

    pc = labels_of(model, adv.x_clean)
    out = []
    for xa in adv.x_adv:
        eligible, won = success_mask(pc, labels_of(model, xa), adv.y, adv.target_labels)
        out.append((float(won.sum() / max(1, eligible.sum())), int(eligible.sum())))
    return out


@dataclass
class AttackModel:
    """The model an attack is aimed at, and how to name it."""

    module: nn.Sequential  #: the float (hashed) model
    identity: ModelIdentity
    input_shape: tuple[int, ...]
    dataset: str = "mnist"


def load_attack_model(model: str | Path | None = None, build_dir: str | Path | None = None) -> AttackModel:
    """The checkpoint ``model`` (default: the bundled one), or, with only ``build_dir``, the build's own model.

    With both, the checkpoint must be the model the build was made from.
    """
    from ..codegen.identity import identity_of_checkpoint
    from ..frontend.checkpoint import load_checkpoint
    from ..frontend.zoo import default_checkpoint

    manifest = None
    if build_dir is not None:
        from ..codegen.manifest import verify_files
        from .replay import read_build

        manifest = read_build(build_dir)
        verify_files(build_dir, manifest)  # its model.onnx and firmware as built, before the twin or csim reads them
    if model is None and manifest is not None:
        from ..codegen.onnx_to_torch import load_onnx_model

        if manifest.model is None:
            raise InvalidFileError(f"{build_dir} does not record the model it was built from (built before hashhls "
                                   "0.3?): rebuild it")
        return AttackModel(load_onnx_model(Path(build_dir) / "model.onnx"), manifest.model,
                           tuple(manifest.input_shape))
    path = Path(model) if model is not None else default_checkpoint()
    check_checkpoint(path, "to attack a build of an ONNX model, give its build directory with --build")
    module, cfg = load_checkpoint(path)
    identity = identity_of_checkpoint(path, None if model is not None else f"bundled:{path.name}")
    if manifest is not None and not identity.same_model(manifest.model):
        built = manifest.model.short if manifest.model is not None else "an unrecorded model"
        raise InvalidFileError(f"{build_dir} was not built from {path} ({identity.short}); it is a build of {built}: "
                               "pass the checkpoint it was built from, or omit it to attack the build's own model")
    return AttackModel(module, identity, tuple(cfg.input_shape), cfg.dataset)


def attack(model: str | Path | None = None, name: str = "fgsm", eps: float | Sequence[float] = (0.1,), *,
           on: str = "hashed", build_dir: str | Path | None = None, n: int = 1000,
           x: np.ndarray | None = None, y: np.ndarray | None = None, data: str | Path | None = None,
           target_mode: str = "untargeted", seed: int = 0, progress: bool = True,
           **hparams) -> tuple[AdvSet, Callable]:
    """Craft ``name`` on ``on`` for the first ``n`` MNIST test images (or ``x, y``); the set has its provenance.

    Returns:
        ``(adv, crafted_on_model)``: the set, and the model it was crafted on (to score it there).
    """
    if name.lower() not in ATTACKS:
        make_attack(name, None)  # the registry's one-line error
    if on not in ON_CHOICES:
        raise UsageError(f"unknown crafting target {on!r}: {', '.join(ON_CHOICES)}")
    if on == "csim" and not ATTACKS[name.lower()].black_box:
        raise UsageError(f"--on csim queries the C simulation, which has no gradients: use a query-only attack "
                         f"({', '.join(k for k, v in ATTACKS.items() if v.black_box)}), not {name!r}")
    if on == "csim" and build_dir is None:
        raise UsageError("--on csim needs --build DIR (the C simulation to query)")
    if n < 1:
        raise UsageError(f"-n must be >= 1, got {n}")
    eps = [float(eps)] if isinstance(eps, (int, float)) else [float(e) for e in eps]
    target = load_attack_model(model, build_dir)
    if x is None:
        if target.dataset != "mnist":
            raise UnsupportedModelError(f"'hashhls attack' crafts on MNIST; {target.identity.name} is a "
                                        f"{target.dataset} model: pass x and y")
        from ..frontend.datasets import load_mnist

        x, y = load_mnist(data, split="test", limit=n)
        data_record = {"dataset": "mnist", "split": "test", "first": int(len(y)),
                       "root": "bundled" if data is None else str(data)}
    else:
        if y is None or len(x) != len(y):
            raise UsageError("x and y must be given together, one label per input")
        x, y = np.asarray(x, dtype=np.float32), np.asarray(y, dtype=np.int64)
        data_record = {"dataset": "custom", "n": int(len(y))}
    x = x.reshape(len(x), *target.input_shape)
    crafted = crafting_model(target.module, on, target.input_shape, build_dir)
    kw = dict(hparams)
    if target_mode != "untargeted":
        kw["target_mode"] = target_mode
    if seed:
        kw["seed"] = seed
    adv = craft(name, crafted, x, y, eps, progress=progress, **kw)
    adv.crafted_on = on
    build_id = None
    if on in ("fixed", "csim") and build_dir is not None:
        from .replay import read_build

        build_id = read_build(build_dir).project_hash
    adv.provenance = Provenance(
        model=target.identity, crafted_on=on, attack=adv.attack, hyperparameters=dict(hparams), seed=int(seed),
        target_mode=target_mode, eps=[None if np.isnan(e) else float(e) for e in adv.eps], data=data_record,
        build_id=build_id, build_precision=crafted.precision() if isinstance(crafted, FixedPointTwin) else None)
    return adv, crafted
