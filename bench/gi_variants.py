"""GI as its public code does it vs the settings used so far, on the bundled hashed 1/8 MLP.

Six models, GI applied after training with ``hashhls gi`` (no retraining): none, ``sign:0.1`` (all layers),
``scale:15``, the public code's "original" ``sign:20`` (all fully connected layers) and "modified" ``mult:20``
(``W += 20 * W``, last layer only), and ``sign:20`` on the last layer only. Each is built at ``--precision auto``; clean accuracy (all 10,000 test images
on the float model; the first N on float and csim) and naive / adaptive attack success at L-inf 0.1 on the
first N test images, float and csim (see bench/robustness.py). Writes ``bench/results/gi_variants.md``.

    python bench/gi_variants.py [-n 300] [--threads 1]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from robustness import NARROW, WIDE, build, evaluate, pct

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "bench" / "results" / "gi_variants.md"
VARIANTS = (("no GI", None), ("sign:0.1, all layers", ["--mode", "sign", "--eps", "0.1"]),
            ("scale:15", ["--mode", "scale", "--eps", "15"]),
            ("public 'original': sign:20, all layers", ["--mode", "sign", "--eps", "20"]),
            ("public 'modified': mult:20, last layer", ["--mode", "mult", "--eps", "20", "--layers", "-1"]),
            ("sign:20, last layer", ["--mode", "sign", "--eps", "20", "--layers", "-1"]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=300)
    ap.add_argument("--eps", type=float, default=0.1)
    ap.add_argument("--steps", type=int, default=100, help="APGD iterations (AutoAttack standard: 100)")
    ap.add_argument("--queries", type=int, default=1000, help="Square's query budget")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    from hashhls.frontend.zoo import default_checkpoint

    aa = {"steps": args.steps, "square_queries": args.queries}
    rows, load0, t0 = [], os.getloadavg()[0], time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="hashhls-gi-variants-") as tmp:
        tmp = Path(tmp)
        for k, (label, gi_args) in enumerate(VARIANTS):
            ckpt, full = default_checkpoint(), None
            if gi_args is not None:
                ckpt = tmp / f"gi{k}.pt"
                proc = subprocess.run([sys.executable, "-m", "hashhls.cli.main", "gi", str(default_checkpoint()),
                                       *gi_args, "-o", str(ckpt)], capture_output=True, text=True, check=True)
                full = float(re.search(r"after GI \([^)]*\): (\d+\.\d\d)%", proc.stdout).group(1)) / 100
            else:
                from hashhls.frontend.checkpoint import checkpoint_metrics

                full = checkpoint_metrics(ckpt)["test_accuracy"]
            b, asked = build(ckpt, tmp / f"build{k}")
            row = evaluate(ckpt, b, args.n, [args.eps], aa)
            row.update(label=label, full_float=full, asked=asked,
                       precision={n: p.get("weight") for n, p in b.twin().precision().items() if "weight" in p})
            rows.append(row)
            print(label, json.dumps(row), flush=True)
    e = f"{args.eps:g}"
    lines = ["# GI variants on the bundled hashed 1/8 MLP (`python bench/gi_variants.py`)", "",
             f"GI applied after training (`hashhls gi`), each model built with `--precision auto`. Attacks at "
             f"L-inf {e} on the first {args.n} official MNIST test images, crafted on the float model and replayed "
             f"through the build; success among inputs the evaluated implementation got right when clean "
             f"(float / csim). Adaptive: `autoattack` (ART's APGD-CE + APGD-DLR, {args.steps} iterations, + Square, "
             f"{args.queries} queries; first success per input). Precision `auto` picks 16-bit types from the bundled MNIST; "
             f"where no 16-bit type holds a model's values the build uses `{WIDE}` results with `{NARROW}` input and weights.", "",
             "| model | clean float (10k) | clean float / csim (n) | precision: weight types | FGSM | PGD-10 | autoattack "
             "| robust acc. under autoattack |",
             "|---|---:|---:|---|---:|---:|---:|---:|"]
    for r in rows:
        a = r["attacks"]
        cell = lambda name: f"{pct(a[name]['float'][e]['success'])} / {pct(a[name]['csim'][e]['success'])}"
        types = sorted(set(r["precision"].values()))
        lines.append(f"| {r['label']} | {pct(r['full_float'])} | {pct(r['clean_float'])} / {pct(r['clean_csim'])} "
                     f"| {r['asked']}: {', '.join(f'`{t}`' for t in types)} | {cell('fgsm')} | {cell('pgd')} | {cell('autoattack')} "
                     f"| {pct(a['autoattack']['float'][e]['robust'])} / {pct(a['autoattack']['csim'][e]['robust'])} |")
    lines += ["", f"{time.perf_counter() - t0:.0f} s on {os.cpu_count()} shared cores, {args.threads} torch "
              f"thread(s), load average {load0:.1f} at the start, {os.getloadavg()[0]:.1f} at the end.", ""]
    OUT.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
