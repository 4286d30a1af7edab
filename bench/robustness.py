"""Shared by bench/gi_variants.py and bench/adv_training.py: one checkpoint's clean accuracy and attack success,
on the float model and on the csim of its build (``--precision auto``).

Naive attacks (FGSM, PGD-10) and the adaptive AutoAttack-style ensemble (``autoattack``: ART's APGD-CE,
APGD-DLR and Square, first success per input) are crafted on the float model and replayed through the build
(``hashhls.replay``: float, ONNX Runtime, emulator, csim); success counts only inputs the evaluated
implementation classified correctly when clean, robust accuracy is correct-after-attack over all inputs.
"""

from __future__ import annotations

import time
from pathlib import Path

import hashhls

NAIVE = (("fgsm", {}), ("pgd", {"steps": 10}))


#: When no 16-bit type holds a model's values (``--precision auto`` fails: GI sign:20's activations reach ~4e5),
#: the build falls back to 32-bit results with 28 integer bits (its logits reach ~1e8), keeping 16-bit ``ap_fixed<16,6>`` inputs and
#: weights (sign:20's weights are 20 + w: 6 integer bits, and the fraction bits carry w).
WIDE = "ap_fixed<32,28,AP_RND_CONV,AP_SAT>"
NARROW = "ap_fixed<16,6,AP_RND_CONV,AP_SAT>"
MLP_LAYERS = ("hashed_linear_2", "hashed_linear_4", "hashed_linear_6")


def build(ckpt: Path, out: Path):
    """``(build, precision asked)``: ``--precision auto``, or the wide fallback where auto finds no 16-bit type."""
    from hashhls.core.errors import HashhlsError

    try:
        return hashhls.build(ckpt, board="none", output=out, precision="auto"), "auto"
    except HashhlsError as e:
        print(f"--precision auto failed ({e}); building at {WIDE}", flush=True)
        overrides = [f"input={NARROW}", *(f"{name}.weight={NARROW}" for name in MLP_LAYERS)]
        return (hashhls.build(ckpt, board="none", output=out, precision=WIDE, layer_precision=overrides),
                "auto has no 16-bit type: 32-bit results")


def evaluate(ckpt: Path, build_dir, n: int, eps: list[float], aa: dict, naive: bool = True) -> dict:
    """Per (attack, eps): success and robust accuracy on the float model and on csim; clean accuracies."""
    row: dict = {"attacks": {}}
    sets = []
    x, y = hashhls.datasets.mnist("test", limit=n)
    attacks = ([*NAIVE] if naive else []) + [("autoattack", aa)]
    for name, hp in attacks:
        t0 = time.perf_counter()
        sets.append(hashhls.attack(str(ckpt), name, eps=eps, x=x, y=y, **hp))
        row["attacks"][name] = {"craft_seconds": time.perf_counter() - t0}
    report = hashhls.replay(build_dir, sets)
    for name_hp, res in zip(attacks, report.results):
        entry = row["attacks"][name_hp[0]]
        for t in res.targets:
            if t.name not in ("hashed float", "csim"):
                continue
            key = "float" if t.name == "hashed float" else "csim"
            row[f"clean_{key}"] = t.clean_accuracy
            entry[key] = {f"{e:g}": {"success": s, "robust": (t.eligible[k] - t.successes[k]) / n}
                          for k, (e, s) in enumerate(zip(eps, t.success_rate))}
    return row


def pct(v) -> str:
    return "-" if v is None else f"{100 * v:.1f}%"
