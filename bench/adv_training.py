"""Does hashing make adversarial training easier or harder? Dense / 1/8 / 1/64 MLPs, undefended, GI-scale:15 and
PGD adversarially trained, under the AutoAttack-style ensemble at L-inf 0.1 and 0.3, float and csim.

Undefended: the bundled dense and 1/8 MLPs and a 1/64 MLP trained with the same recipe (40 epochs). GI-scale:15:
``hashhls gi --mode scale --eps 15`` on each. Adversarially trained: ``train_model(..., adversarial=pgd:EPS,STEPS)``
(``hashhls train --adversarial``) from scratch for ``--epochs`` epochs (short: labelled in the output). Each model
is built at ``--precision auto``; the ensemble is crafted on the float model and replayed through the build
(bench/robustness.py). Writes ``bench/results/adv_training.md``.

    python bench/adv_training.py [-n 200] [--train-eps 0.1] [--epochs 20] [--threads 1]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from robustness import build, evaluate, pct

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "bench" / "results" / "adv_training.md"
PRETRAINED = REPO / "frontend" / "pretrained"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=200)
    ap.add_argument("--eps", default="0.1,0.3", help="evaluation budgets")
    ap.add_argument("--train-eps", type=float, default=0.1)
    ap.add_argument("--train-steps", type=int, default=7)
    ap.add_argument("--epochs", type=int, default=20, help="adversarial training epochs")
    ap.add_argument("--steps", type=int, default=50, help="APGD iterations")
    ap.add_argument("--queries", type=int, default=300, help="Square's query budget")
    ap.add_argument("--compressions", default="1,8,64")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    from hashhls.frontend.adversarial_training import AdversarialTraining
    from hashhls.frontend.checkpoint import checkpoint_metrics, save_checkpoint
    from hashhls.frontend.datasets import load_mnist
    from hashhls.frontend.train import train_model
    from hashhls.frontend.zoo import ModelConfig

    eps = [float(e) for e in args.eps.split(",")]
    aa = {"steps": args.steps, "square_queries": args.queries}
    train, test = load_mnist(split="train"), load_mnist(split="test")
    adv = AdversarialTraining(args.train_eps, args.train_steps)
    rows, load0, t0 = [], os.getloadavg()[0], time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="hashhls-adv-training-") as tmp:
        tmp = Path(tmp)
        for c in (int(v) for v in args.compressions.split(",")):
            name = "dense" if c == 1 else f"1/{c}"
            plain = {1: PRETRAINED / "mnist-mlp-dense.pt", 8: PRETRAINED / "mnist-mlp-c8.pt"}.get(c)
            cfg = ModelConfig("mnist-mlp", compression=float(c))
            if plain is None:
                plain = tmp / f"c{c}.pt"
                model, m = train_model(cfg, train, test, progress=False)
                save_checkpoint(plain, model, cfg, m)
            gi = tmp / f"c{c}-gi.pt"
            subprocess.run([sys.executable, "-m", "hashhls.cli.main", "gi", str(plain), "--mode", "scale", "--eps",
                            "15", "-o", str(gi)], check=True, capture_output=True)
            at = tmp / f"c{c}-at.pt"
            t1 = time.perf_counter()
            model, m = train_model(cfg, train, test, epochs=args.epochs, adversarial=adv, progress=False)
            save_checkpoint(at, model, cfg, m)
            at_seconds = time.perf_counter() - t1
            for label, ckpt in (("undefended", plain), ("GI-scale:15", gi),
                                (f"PGD-AT eps {args.train_eps:g} ({args.epochs} epochs, {adv.steps} steps)", at)):
                b, asked = build(ckpt, tmp / f"b-{c}-{len(rows)}")
                row = evaluate(ckpt, b, args.n, eps, aa, naive=False)
                row.update(model=name, defence=label, full_float=checkpoint_metrics(ckpt).get("test_accuracy"),
                           asked=asked, train_seconds=at_seconds if "AT" in label else None)
                rows.append(row)
                print(name, label, json.dumps(row), flush=True)
    es = [f"{e:g}" for e in eps]
    lines = ["# Adversarial training vs GI on hashed and dense MLPs (`python bench/adv_training.py`)", "",
             f"Robust accuracy (correct after the attack, over the first {args.n} official MNIST test images) under "
             f"`autoattack` (ART's APGD-CE + APGD-DLR, {args.steps} iterations, + Square, {args.queries} queries; "
             f"first success per input), crafted on the float model and replayed through the build "
             f"(`--precision auto`): float / csim. PGD-AT: PGD adversarial training at eps {args.train_eps:g}, "
             f"{adv.steps} steps, {args.epochs} epochs on the 10,000 bundled training images "
             f"(short; the undefended models train 40 epochs).", "",
             "| model | defence | clean float (10k) | clean float / csim (n) | "
             + " | ".join(f"robust, eps {e}" for e in es) + " | AT time (s) |",
             "|---|---|---:|---:|" + "---:|" * len(es) + "---:|"]
    for r in rows:
        a = r["attacks"]["autoattack"]
        cells = " | ".join(f"{pct(a['float'][e]['robust'])} / {pct(a['csim'][e]['robust'])}" for e in es)
        ts = "" if r["train_seconds"] is None else f"{r['train_seconds']:.0f}"
        lines.append(f"| {r['model']} | {r['defence']} | {pct(r['full_float'])} | {pct(r['clean_float'])} / "
                     f"{pct(r['clean_csim'])} | {cells} | {ts} |")
    lines += ["", f"{time.perf_counter() - t0:.0f} s on {os.cpu_count()} shared cores, {args.threads} torch "
              f"thread(s), load average {load0:.1f} at the start, {os.getloadavg()[0]:.1f} at the end.", ""]
    OUT.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
