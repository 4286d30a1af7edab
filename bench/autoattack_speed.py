"""The AutoAttack-style ensemble on 1,000 MNIST test images: time, and samples forwarded / differentiated per stage.

The bundled hashed 1/8 MLP (float), ``autoattack`` at L-inf 0.1 and 0.05 (APGD-CE and APGD-DLR with 100
iterations, Square with 1,000 queries; later stages run only on the inputs still classified correctly), one torch
thread. Writes ``bench/results/autoattack_speed.md``.

    python bench/autoattack_speed.py [-n 1000] [--threads 1]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import torch

OUT = Path(__file__).resolve().parent / "results" / "autoattack_speed.md"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=1000)
    ap.add_argument("--eps", default="0.1,0.05")
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    from hashhls.adversarial.attacks import make_attack
    from hashhls.adversarial.attacks.autoattack import STAGES
    from hashhls.frontend.checkpoint import load_checkpoint
    from hashhls.frontend.datasets import load_mnist
    from hashhls.frontend.zoo import default_checkpoint

    model, _ = load_checkpoint(default_checkpoint())
    x, y = (torch.from_numpy(a) for a in load_mnist(split="test", limit=args.n))
    load0 = os.getloadavg()[0]
    lines = ["# AutoAttack-style ensemble speed (`python bench/autoattack_speed.py`)", "",
             f"Bundled hashed 1/8 MLP (float), first {args.n} official MNIST test images, APGD {args.steps} "
             f"iterations, Square {args.queries} queries, {args.threads} torch thread(s). Per stage: inputs it "
             "broke, samples forwarded through the model (all calls) and differentiated (gradient calls, one "
             "sample each).", "",
             "| eps | time (s) | robust accuracy | " + " | ".join(f"{s}: broke / forward / gradient" for s in STAGES)
             + " |", "|---:|---:|---:|" + "---:|" * len(STAGES)]
    for eps in (float(e) for e in args.eps.split(",")):
        atk = make_attack("autoattack", model, eps=eps, steps=args.steps, square_queries=args.queries)
        t0 = time.perf_counter()
        x_adv = atk(x, y)
        seconds = time.perf_counter() - t0
        with torch.no_grad():
            robust = (model(x_adv).argmax(1) == y).float().mean().item()
        cells = " | ".join(f"{int((atk.stage == s).sum())} / {atk.counts[s]['forward']:,} / "
                           f"{atk.counts[s]['gradient']:,}" for s in STAGES)
        lines.append(f"| {eps:g} | {seconds:.1f} | {100 * robust:.1f}% | {cells} |")
        print(lines[-1], flush=True)
    lines += ["", f"Machine: {os.cpu_count()} shared cores, load average {load0:.1f} at the start and "
              f"{os.getloadavg()[0]:.1f} at the end (times are noisy).", ""]
    OUT.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
