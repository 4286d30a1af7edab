"""The transfer matrix for one build in one call: craft on four sources, replay each everywhere.

Rows: (a) the dense float parent (a separate dense checkpoint: bundled for the bundled model; otherwise the
hashed model's dense materialisation), (b) the hashed float model, (c) the build's fixed-point twin, each with
one gradient attack, and (d) the query-only Square attack on the build's csim. Columns: every implementation of
the build (:data:`hashhls.adversarial.replay.TARGET_ORDER`). A dense parent that is another network than the
build's is a transfer experiment and labelled ``transfer from <model>``.
"""

from __future__ import annotations

from pathlib import Path

from ..core.errors import UsageError
from .attacks import ATTACKS
from .attacks.base import check_eps
from .craft import attack
from .report import Report


def transfer(build_dir: str | Path, model: str | Path | None = None, *, dense_parent: str | Path | None = None,
             attack_name: str = "pgd", eps: float = 0.1, n: int = 200, queries: int = 300,
             progress: bool = True) -> Report:
    """Craft rows (a)-(d) on the first ``n`` MNIST test images and replay each through the build."""
    from ..codegen.identity import identity_of_checkpoint
    from ..frontend.zoo import default_checkpoint, default_dense_parent
    from .craft import load_attack_model
    from .replay import BuildInfo, build_targets, label_results, read_build, replay

    if n < 1:
        raise UsageError(f"-n must be >= 1, got {n}")
    if queries < 1:
        raise UsageError(f"--queries must be >= 1, got {queries}")
    atk = ATTACKS.get(attack_name.lower())
    if atk is None or atk.black_box:
        gradient = ", ".join(k for k, v in ATTACKS.items() if not v.black_box)
        raise UsageError(f"--attack must be a gradient attack for rows (a)-(c) ({gradient}), got {attack_name!r}; "
                         "row (d) is always Square on csim")
    check_eps(eps, (0.0, 1.0))
    manifest = read_build(build_dir)
    if model is None and dense_parent is None and manifest.model is not None and \
            identity_of_checkpoint(default_checkpoint()).same_model(manifest.model):
        dense_parent = default_dense_parent()
    target = load_attack_model(model, build_dir)
    common = dict(build_dir=build_dir, n=n, progress=progress)
    rows = []
    if dense_parent is not None:
        adv, _ = attack(dense_parent, attack_name, eps, on="hashed", n=n, progress=progress)
        adv.crafted_on = adv.provenance.crafted_on = "dense"
        rows.append(adv)
    else:
        rows.append(attack(model, attack_name, eps, on="dense", **common)[0])
    rows.append(attack(model, attack_name, eps, on="hashed", **common)[0])
    rows.append(attack(model, attack_name, eps, on="fixed", **common)[0])
    rows.append(attack(model, "square", eps, on="csim", max_queries=queries, **common)[0])
    targets = build_targets(build_dir, dense_parent=dense_parent, hashed_model=target.module)
    if dense_parent is None:
        targets["dense float"] = targets["hashed float"]  # the materialisation computes the same function
    results = []
    for adv, label in zip(rows, ("(a)", "(b)", "(c)", "(d)")):
        other = None if manifest.model is not None and manifest.model.same_model(adv.model) else adv.model.short
        r = replay(adv, targets, progress=progress, transfer_from=other)
        r.label = f"{label} {r.label}"
        results.append(r)
    label_results(results)
    return Report(BuildInfo.from_manifest(manifest, build_dir), rows, results)
