"""Does hashing make adversarial training easier or harder? Dense / 1/8 / 1/64 models, undefended, GI-scale:15 and
PGD adversarially trained at each ``--train`` budget, under the AutoAttack-style ensemble at L-inf 0.1 and 0.3,
float and csim.

``--model mnist-mlp`` (default) or ``lenet5``. Undefended: the bundled models (MLP dense and 1/8, LeNet-5 1/8) and
the others trained with the same recipe (MLP 40 epochs, LeNet-5 60); the hashed models use hash v2 with the
model's default banks, as the bundled ones. Madry et al.'s MNIST setting is eps 0.3
with 40 steps of 0.01; here the step is 2.5 eps / steps (0.019 at 0.3, 40 steps). GI-scale:15:
``hashhls gi --mode scale --eps 15`` on each. Adversarially trained: ``train_model(..., adversarial=pgd:EPS,STEPS)``
(``hashhls train --adversarial``) from scratch with the model's own recipe (Adam, cosine decay, +-2 pixel
shifts) unless ``--epochs`` shortens it (labelled in the output). The models train in ``--jobs`` processes of
``--threads`` torch threads each. Each model is built at ``--precision auto``; the ensemble is crafted on the float
model and replayed through the build (bench/robustness.py). Writes ``bench/results/adv_training.md`` (``adv_training_lenet5.md``).

    python bench/adv_training.py [-n 200] [--train pgd:0.1,10 pgd:0.3,40] [--epochs 40] [--jobs 2]
    python bench/adv_training.py --model lenet5 --train pgd:0.3,10,5 --epochs 20
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

from robustness import build, evaluate, pct

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results"
PRETRAINED = REPO / "frontend" / "pretrained"
#: model -> (results file, {compression: bundled checkpoint})
MODELS = {"mnist-mlp": ("adv_training.md", {1: PRETRAINED / "mnist-mlp-dense.pt", 8: PRETRAINED / "mnist-mlp-c8.pt"}),
          "lenet5": ("adv_training_lenet5.md", {8: PRETRAINED / "lenet5-c8.pt"})}


def _train(name: str, compression: int, adversarial: str | None, epochs: int | None, threads: int,
           out: str) -> float:
    """Train one model (plain when ``adversarial`` is None) into ``out``; its wall time (s). Runs in a worker."""
    import torch

    from hashhls.frontend.adversarial_training import AdversarialTraining
    from hashhls.frontend.checkpoint import save_checkpoint
    from hashhls.frontend.datasets import load_mnist
    from hashhls.frontend.train import train_model
    from hashhls.frontend.zoo import ModelConfig

    torch.set_num_threads(threads)
    # hashed models use hash v2 with the default banks, as the bundled ones do (dense ones have no hash)
    cfg = ModelConfig(name, compression=float(compression), hash_version=1 if compression == 1 else 2)
    adv = None if adversarial is None else AdversarialTraining.parse(adversarial)
    t0 = time.perf_counter()
    model, m = train_model(cfg, load_mnist(split="train"), load_mnist(split="test"),
                           epochs=None if adv is None else epochs, adversarial=adv, progress=False)
    save_checkpoint(out, model, cfg, m)
    return time.perf_counter() - t0


def _evaluate(ckpt: str, build_dir: str, n: int, eps: list[float], aa: dict) -> dict:
    from hashhls.core.errors import PrecisionError

    try:
        b, asked = build(Path(ckpt), Path(build_dir))
    except PrecisionError as e:  # a collapsed model (constant output, weights ~1e-7): no fixed-point type holds it
        return _float_only(Path(ckpt), n, eps, aa, str(e))
    row = evaluate(Path(ckpt), b, n, eps, aa, naive=False)
    row["asked"] = asked
    return row


def _float_only(ckpt: Path, n: int, eps: list[float], aa: dict, why: str) -> dict:
    """The ensemble on the float model alone, for a model that cannot be built (csim columns left empty)."""
    import hashhls
    import torch

    from hashhls.frontend.checkpoint import load_checkpoint

    model, _ = load_checkpoint(ckpt)
    x, y = hashhls.datasets.mnist("test", limit=n)
    adv = hashhls.attack(str(ckpt), "autoattack", eps=eps, x=x, y=y, **aa)
    with torch.no_grad():
        clean = float((model(torch.from_numpy(x)).argmax(1).numpy() == y).mean())
        robust = [float((model(torch.from_numpy(a)).argmax(1).numpy() == y).mean()) for a in adv.x_adv]
    return {"attacks": {"autoattack": {"float": {f"{e:g}": {"robust": r} for e, r in zip(eps, robust)},
                                       "csim": None}},
            "clean_float": clean, "clean_csim": None, "asked": f"not built: {why}"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", choices=tuple(MODELS), default="mnist-mlp")
    ap.add_argument("-n", type=int, default=200)
    ap.add_argument("--eps", default="0.1,0.3", help="evaluation budgets")
    ap.add_argument("--train", nargs="+", default=["pgd:0.1,10", "pgd:0.3,40"], metavar="pgd:EPS,STEPS",
                    help="adversarial training settings, one model each per compression")
    ap.add_argument("--epochs", type=int, help="adversarial training epochs (default: the model's recipe)")
    ap.add_argument("--steps", type=int, default=50, help="APGD iterations")
    ap.add_argument("--queries", type=int, default=300, help="Square's query budget")
    ap.add_argument("--compressions", default="1,8,64")
    ap.add_argument("--jobs", type=int, default=2, help="processes training / evaluating models side by side")
    ap.add_argument("--threads", type=int, default=1, help="torch threads per process")
    args = ap.parse_args()
    from hashhls.frontend.adversarial_training import AdversarialTraining
    from hashhls.frontend.checkpoint import checkpoint_metrics
    from hashhls.frontend.train import recipe_for

    settings = [AdversarialTraining.parse(t) for t in args.train]
    recipe_epochs = recipe_for(args.model).epochs
    epochs = recipe_epochs if args.epochs is None else args.epochs
    short = "" if epochs == recipe_epochs else " (short)"
    out_name, bundled = MODELS[args.model]
    eps = [float(e) for e in args.eps.split(",")]
    aa = {"steps": args.steps, "square_queries": args.queries}
    compressions = [int(v) for v in args.compressions.split(",")]
    load0, t0 = os.getloadavg()[0], time.perf_counter()
    pool = ProcessPoolExecutor(args.jobs, mp_context=get_context("spawn"))
    with tempfile.TemporaryDirectory(prefix="hashhls-adv-training-") as tmp, pool:
        tmp = Path(tmp)
        models: list[tuple[int, str, Path]] = []  # (compression, defence, checkpoint)
        jobs = {}
        for c in compressions:
            plain = bundled.get(c)
            if plain is None:
                plain = tmp / f"c{c}.pt"
                jobs[plain] = pool.submit(_train, args.model, c, None, None, args.threads, str(plain))
            models += [(c, "undefended", plain), (c, "GI-scale:15", tmp / f"c{c}-gi.pt")]
            for a in settings:
                ckpt = tmp / f"c{c}-at-{a.eps:g}-{a.steps}-{a.warmup}.pt"
                jobs[ckpt] = pool.submit(_train, args.model, c, f"pgd:{a.eps},{a.steps},{a.warmup}", epochs,
                                        args.threads, str(ckpt))
                warm = f", {a.warmup} warm-up" if a.warmup else ""
                models.append((c, f"PGD-AT eps {a.eps:g} ({epochs} epochs{short}, {a.steps} steps{warm})", ckpt))
        seconds = {ckpt: job.result() for ckpt, job in jobs.items()}
        print("trained:", {k.name: round(v) for k, v in seconds.items()}, flush=True)
        for c in compressions:
            plain = next(ck for cc, d, ck in models if cc == c and d == "undefended")
            subprocess.run([sys.executable, "-m", "hashhls.cli.main", "gi", str(plain), "--mode", "scale", "--eps",
                            "15", "-o", str(tmp / f"c{c}-gi.pt")], check=True, capture_output=True)
        evals = [pool.submit(_evaluate, str(ck), str(tmp / f"b{i}"), args.n, eps, aa)
                 for i, (_, _, ck) in enumerate(models)]
        rows = []
        for (c, defence, ckpt), job in zip(models, evals):
            row = job.result()
            row.update(model="dense" if c == 1 else f"1/{c}", defence=defence,
                       full_float=checkpoint_metrics(ckpt).get("test_accuracy"),
                       train_seconds=seconds.get(ckpt) if "AT" in defence else None)
            rows.append(row)
            print(row["model"], defence, json.dumps(row), flush=True)
    es = [f"{e:g}" for e in eps]
    cmd = "python bench/adv_training.py" + ("" if args.model == "mnist-mlp" else f" --model {args.model}")
    lines = [f"# Adversarial training vs GI on hashed and dense {args.model} (`{cmd}`)", "",
             f"Robust accuracy (correct after the attack, over the first {args.n} official MNIST test images) under "
             f"`autoattack` (ART's APGD-CE + APGD-DLR, {args.steps} iterations, + Square, {args.queries} queries; "
             f"first success per input), crafted on the float model and replayed through the build "
             f"(`--precision auto`): float / csim. PGD-AT: PGD adversarial training (random start, step "
             f"2.5 eps / steps) at "
             + ", ".join(f"eps {a.eps:g} with {a.steps} steps" + (f" and a {a.warmup}-epoch warm-up of the budget"
                         if a.warmup else "") for a in settings)
             + f", {epochs} epochs on the 10,000 bundled training images with the model's recipe"
             + (f" (short: the undefended models train {recipe_epochs})" if short else
                " (as the undefended models)") + ".", "",
             "| model | defence | clean float (10k) | clean float / csim (n) | "
             + " | ".join(f"robust, eps {e}" for e in es) + " | AT time (s) |",
             "|---|---|---:|---:|" + "---:|" * len(es) + "---:|"]
    for r in rows:
        a = r["attacks"]["autoattack"]
        cells = " | ".join(f"{pct(a['float'][e]['robust'])} / "
                           + ("not built" if a["csim"] is None else pct(a["csim"][e]["robust"])) for e in es)
        ts = "" if r["train_seconds"] is None else f"{r['train_seconds']:.0f}"
        lines.append(f"| {r['model']} | {r['defence']} | {pct(r['full_float'])} | {pct(r['clean_float'])} / "
                     f"{'not built' if r['clean_csim'] is None else pct(r['clean_csim'])} | {cells} | {ts} |")
    unbuilt = [r for r in rows if r["clean_csim"] is None]
    if unbuilt:
        lines += ["", "not built: " + "; ".join(f"{r['model']} {r['defence']}: {r['asked'][len('not built: '):]}"
                                               for r in unbuilt)]
    lines += ["", f"{time.perf_counter() - t0:.0f} s on {os.cpu_count()} cores, {args.jobs} processes of "
              f"{args.threads} torch thread(s), load average {load0:.1f} at the start, {os.getloadavg()[0]:.1f} at "
              f"the end.", ""]
    (RESULTS / out_name).write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
