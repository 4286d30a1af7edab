"""The seed paper's table, measured on hashed 1/8 models (MLP, LeNet-5, optionally a CIFAR-10 convnet),
on the float model and on csim.

Liu et al. (ASP-DAC 2018) report gradient-based attack success on a hash-compressed
MNIST network falling from 87.99% to 4.77% with gradient inhibition (GI). This
script measures the same thing here, then asks whether GI is real robustness or
gradient masking (Athalye et al., ICML 2018) with adaptive attacks:

* naive: FGSM, BIM, JSMA, CW-L2 crafted on each model's own float logits;
* temperature: FGSM/BIM on the logits rescaled so their spread matches the
  undefended model's (undoes GI's saturation of the softmax);
* CW-L2 already uses a logit margin, which no logit scaling hides; the adaptive
  column asks for a margin of 1 on the temperature-scaled logits (kappa 1), so
  that the examples survive the fixed-point rounding of the hardware (kappa 0
  examples sit on the float decision boundary);
* transfer: examples crafted on the undefended model, replayed on the GI model;
* black-box: Square attack querying the compiled C simulation directly.

Success counts only inputs the evaluated implementation classified correctly
when clean. Every rate is evaluated on csim (the hardware) and, for the naive
attacks, also on the float model.

Models (``--models``, default ``mnist-mlp,lenet5``): the bundled hashed 1/8 checkpoint is the
"no GI" row, GI-scale is applied to it, GI-sign is trained with the model's recipe. ``--cifar DIR``
adds cifar-convnet rows: its no-GI model is trained first on the CIFAR-10 python batches in DIR.

    python bench/paper_table.py            # full size: 1000 test images (README numbers)
    python bench/paper_table.py --quick    # CI size: 100 images, shorter attacks
    python bench/paper_table.py --quick -n 30 -o /tmp/t.md   # what sw_tests/test_paper_table.py runs
    python bench/paper_table.py --models lenet5 --cifar ~/cifar-10-batches-py

The naive and black-box columns are also a study, ``studies/paper-table.toml`` (``hashhls sweep``: cached,
resumable, local or on Ray). This script is not a wrapper over it: its temperature-scaled (adaptive) attacks
and its transfer column (examples from the undefended model replayed on the GI model) are not sweep cells,
which replay each set on the build it was crafted from.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from hashhls.codegen.csim import load_build
from hashhls.codegen.project import BuildConfig, build
from hashhls.adversarial.replay import success_mask
from hashhls.adversarial.attacks import make_attack
from hashhls.frontend.checkpoint import load_checkpoint, save_checkpoint
from hashhls.frontend.datasets import load_cifar10, load_mnist
from hashhls.frontend.gi import GIConfig, apply_gi
from hashhls.frontend.train import evaluate, recipe_for, train_model
from hashhls.frontend.zoo import ModelConfig, default_checkpoint, lenet5_checkpoint

PAPER = ("87.99% without GI -> 4.77% with GI on MNIST, 86.74% -> 4.64% on CIFAR-10 (Liu et al., ASP-DAC 2018)")


class Scaled(torch.nn.Module):
    """``model(x) / t``: the attacker's temperature on the logits."""

    def __init__(self, model: torch.nn.Module, t: float) -> None:
        super().__init__()
        self.model, self.t = model, float(t)

    def forward(self, x):
        return self.model(x) / self.t


def rate(pred_clean: np.ndarray, pred_adv: np.ndarray, y: np.ndarray) -> float:
    eligible, success = success_mask(pred_clean, pred_adv, y)
    return float(success.sum() / max(1, eligible.sum()))


def float_labels(model, x: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return model(torch.from_numpy(x)).argmax(1).numpy()


def craft(name: str, model, x: np.ndarray, y: np.ndarray, **kw) -> np.ndarray:
    return make_attack(name, model, **kw)(torch.from_numpy(x), torch.from_numpy(y)).numpy()


def logit_spread(model, x: np.ndarray) -> float:
    with torch.no_grad():
        return float(model(torch.from_numpy(x)).std())


@dataclass
class Family:
    """One architecture's rows: its undefended hashed model, data and build precision."""

    name: str
    base: Path  #: the no-GI checkpoint
    train: tuple[np.ndarray, np.ndarray]
    test: tuple[np.ndarray, np.ndarray]
    precision: str  #: "auto" calibrates on MNIST; CIFAR models get a fixed wide type
    data: str  #: how the data is described in the table


def families(models: list[str], cifar: Path | None, cifar_epochs: int | None, work: Path) -> list[Family]:
    out = []
    mnist_train, mnist_test = load_mnist(split="train"), load_mnist(split="test")
    bundled = {"mnist-mlp": default_checkpoint, "lenet5": lenet5_checkpoint}
    for name in models:
        out.append(Family(name, bundled[name](), mnist_train, mnist_test, "auto", "official MNIST test images"))
    if cifar is not None:
        train, test = load_cifar10(cifar, split="train"), load_cifar10(cifar, split="test")
        cfg = ModelConfig("cifar-convnet", compression=8, seed=0)
        model, _ = train_model(cfg, train, epochs=cifar_epochs, progress=False)
        base = save_checkpoint(work / "cifar-convnet.pt", model, cfg)
        # --precision auto calibrates on MNIST: CIFAR builds use a wide type that holds GI-scale's logits.
        out.append(Family("cifar-convnet", base, train, test, "ap_fixed<18,10,AP_RND_CONV,AP_SAT>",
                          f"CIFAR-10 test images from {cifar}"))
    return out


def make_models(family: Family, gi_epochs: int | None, work: Path) -> dict[str, Path]:
    """Checkpoints of the family's undefended model and its two GI variants."""
    base, cfg = load_checkpoint(family.base)
    paths = {"no GI": family.base}
    # GI-scale is pure logit scaling: applied to the trained model.
    scale_cfg = GIConfig.parse("scale:15")
    scaled = apply_gi(base, scale_cfg)
    paths["GI-scale (eps 15)"] = save_checkpoint(work / f"{family.name}-scale.pt", scaled, _with_gi(cfg, scale_cfg))
    # GI-sign changes the weights: trained with GI in the model, with the model's recipe.
    sign_cfg = _with_gi(cfg, GIConfig.parse("sign:0.1"))
    model, _ = train_model(sign_cfg, family.train, epochs=gi_epochs, progress=False)
    paths["GI-sign (eps 0.1)"] = save_checkpoint(work / f"{family.name}-sign.pt", model, sign_cfg)
    return paths


def _with_gi(cfg, gi):
    from dataclasses import replace

    return replace(cfg, gi=gi)


def evaluate_model(name: str, ckpt: Path, base_model, x, y, x_all, y_all, quick: bool, work: Path,
                   square_n: int, precision: str = "auto") -> dict:
    model, _ = load_checkpoint(ckpt)
    model.eval()
    build_dir = work / f"build-{len(list(work.iterdir()))}"
    t0 = time.time()
    build(BuildConfig(output_dir=build_dir, model=Path(ckpt), precision=precision, progress=False))
    hw = load_build(build_dir)
    row = {"model": name, "build_seconds": time.time() - t0,
           "clean_float": evaluate(model, x_all, y_all), "clean_csim": float((hw.predict(x_all).argmax(1) == y_all).mean())}
    pc_f, pc_h = float_labels(model, x), hw.predict(x).argmax(1)
    steps = 5 if quick else 10
    cw = {"steps": 30 if quick else 100, "search_steps": 3 if quick else 5}
    naive = {
        "FGSM": craft("fgsm", model, x, y, eps=0.1),
        "BIM": craft("bim", model, x, y, eps=0.1, steps=steps),
        "JSMA": craft("jsma", model, x, y, gamma=0.1),
        "CW-L2": craft("cw", model, x, y, **cw),
    }
    for k, xa in naive.items():
        row[f"{k} float"] = rate(pc_f, float_labels(model, xa), y)
        row[f"{k} csim"] = rate(pc_h, hw.predict(xa).argmax(1), y)
        row[f"{k} L2"] = float(np.linalg.norm((xa - x).reshape(len(x), -1), axis=1).mean())
    t = logit_spread(model, x) / logit_spread(base_model, x)
    row["temperature"] = t
    adaptive = {
        "FGSM temp.": craft("fgsm", Scaled(model, t), x, y, eps=0.1),
        "BIM temp.": craft("bim", Scaled(model, t), x, y, eps=0.1, steps=steps),
        "CW-L2 k1 temp.": craft("cw", Scaled(model, t), x, y, kappa=1.0, **cw),
        "transfer BIM": craft("bim", base_model, x, y, eps=0.1, steps=steps),
    }
    for k, xa in adaptive.items():
        row[f"{k} csim"] = rate(pc_h, hw.predict(xa).argmax(1), y)
    row["CW-L2 k1 temp. L2"] = float(np.linalg.norm((adaptive["CW-L2 k1 temp."] - x).reshape(len(x), -1), axis=1).mean())
    n_sq = min(len(x), square_n)
    sq = make_attack("square", hw.predict, eps=0.1, max_queries=100 if quick else 300)
    xa = sq(torch.from_numpy(x[:n_sq]), torch.from_numpy(y[:n_sq])).numpy()
    row["Square csim"] = rate(pc_h[:n_sq], hw.predict(xa).argmax(1), y[:n_sq])
    row["Square queries"] = float(sq.queries.mean())
    row["Square n"] = n_sq
    return row


def pct(v: float) -> str:
    return f"{100 * v:.1f}%"


def render(rows: list[dict], n: int, seconds: float, quick: bool, command: str, gi_epochs: str,
           fams: list[Family]) -> str:
    data = "; ".join(f"{f.name}: {min(n, len(f.test[1]))} {f.data} (clean accuracy on all {len(f.test[1]):,})"
                     for f in fams)
    lines = ["# The paper's table (hashed 1/8 models), measured", "",
             f"Produced by `{command}` in {seconds:.0f} s. Attacked images: {data}. GI-sign trained for "
             f"{gi_epochs} epochs. MNIST builds use "
             "`--precision auto` so GI-scale's x16 logits do not saturate (CIFAR-10: `ap_fixed<18,10>`). "
             "Attack budgets: FGSM/BIM L-inf 0.1 "
             f"(BIM {5 if quick else 10} steps), JSMA gamma 0.1 (up to 10% of pixels), CW-L2 kappa 0 "
             f"({30 if quick else 100} steps x {3 if quick else 5} binary-search steps; mean L2 in brackets). "
             "Success counts only inputs the evaluated implementation classified correctly when clean.", "",
             f"Paper: {PAPER}.", "",
             "## Naive attacks (as in the paper): success on float / on csim", "",
             "| model | clean float | clean csim | FGSM | BIM | JSMA | CW-L2 |", "|---|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        cells = [f"{pct(r[f'{k} float'])} / {pct(r[f'{k} csim'])}" for k in ("FGSM", "BIM", "JSMA", "CW-L2")]
        cells[-1] += f" ({r['CW-L2 L2']:.2f})"
        lines.append(f"| {r['model']} | {pct(r['clean_float'])} | {pct(r['clean_csim'])} | " + " | ".join(cells) + " |")
    lines += ["", "## Is GI real? Adaptive attacks, success on csim", "",
              "| model | BIM (naive) | FGSM, temperature | BIM, temperature | CW-L2, kappa 1, temperature (L2) "
              "| transfer BIM from no-GI "
              "| Square on csim (queries) |", "|---|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['model']} | {pct(r['BIM csim'])} | {pct(r['FGSM temp. csim'])} | "
                     f"{pct(r['BIM temp. csim'])} (T={r['temperature']:.1f}) | {pct(r['CW-L2 k1 temp. csim'])} "
                     f"({r['CW-L2 k1 temp. L2']:.2f}) | "
                     f"{pct(r['transfer BIM csim'])} | {pct(r['Square csim'])} ({r['Square queries']:.0f}, "
                     f"n={r['Square n']}) |")
    lines += ["", "Reading: a defence that only lowers the naive columns while the adaptive ones stay high "
              "masks gradients rather than removing adversarial examples.", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="CI size (100 images, shorter attacks and GI training)")
    ap.add_argument("-n", type=int, default=None, help="attacked test images (default 1000, --quick 100)")
    ap.add_argument("--gi-epochs", type=int, default=None, help="GI-sign training epochs (default 40, --quick 8)")
    ap.add_argument("--square-n", type=int, default=None,
                    help="images for the Square attack on csim (default 200, --quick 50)")
    ap.add_argument("--threads", type=int, default=None,
                    help="torch threads (default: torch's; 1 is much faster on a machine shared with other jobs)")
    ap.add_argument("--models", default="mnist-mlp,lenet5",
                    help="comma-separated bundled models: mnist-mlp, lenet5 (default both)")
    ap.add_argument("--cifar", type=Path, default=None, metavar="DIR",
                    help="also cifar-convnet rows, trained and attacked on the CIFAR-10 python batches in DIR")
    ap.add_argument("--cifar-epochs", type=int, default=None,
                    help="training epochs of the cifar-convnet no-GI model (default: its recipe, --quick 2)")
    ap.add_argument("-o", "--output", type=Path, default=None,
                    help="markdown output (default bench/results/paper_table[_quick].md)")
    args = ap.parse_args(argv)
    torch.manual_seed(0)
    if args.threads:
        torch.set_num_threads(args.threads)

    def pick(v, quick, full):
        return v if v is not None else (quick if args.quick else full)

    # GI-sign epochs: each model's own recipe at full size (mnist-mlp 40, lenet5 60).
    n, gi_epochs, square_n = pick(args.n, 100, 1000), pick(args.gi_epochs, 8, None), pick(args.square_n, 50, 200)
    cifar_epochs = pick(args.cifar_epochs, 2, None)
    for flag, v in (("-n", n), ("--gi-epochs", gi_epochs), ("--square-n", square_n), ("--cifar-epochs", cifar_epochs)):
        if v is not None and v < 1:
            ap.error(f"{flag} must be >= 1")
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    if not models or any(m not in ("mnist-mlp", "lenet5") for m in models):
        ap.error(f"--models takes mnist-mlp and/or lenet5, got {args.models!r}")
    command = " ".join(["python bench/paper_table.py", *(argv if argv is not None else sys.argv[1:])])
    out = args.output or Path(__file__).parent / "results" / f"paper_table{'_quick' if args.quick else ''}.md"
    t0 = time.time()
    rows = []
    with tempfile.TemporaryDirectory(prefix="hashhls-paper-") as tmp:
        work = Path(tmp)
        fams = families(models, args.cifar, cifar_epochs, work)
        for fam in fams:
            base_model, _ = load_checkpoint(fam.base)
            base_model.eval()
            x_all, y_all = fam.test
            x, y = x_all[:n], y_all[:n]
            for variant, ckpt in make_models(fam, gi_epochs, work).items():
                print(f"== {fam.name} / {variant}", flush=True)
                row = evaluate_model(f"{fam.name} / {variant}", ckpt, base_model, x, y, x_all, y_all, args.quick,
                                     work, square_n, fam.precision)
                rows.append({**row, "family": fam.name, "variant": variant})
    epochs_text = str(gi_epochs) if gi_epochs else ", ".join(f"{f.name} {recipe_for(f.name).epochs}" for f in fams)
    text = render(rows, n, time.time() - t0, args.quick, command, epochs_text, fams)
    print(text)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    out.with_suffix(".json").write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
