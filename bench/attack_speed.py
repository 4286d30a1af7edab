"""Attack and replay speed on the full MNIST test set (benchmark, not a test).

On the 10,000 official MNIST test images, against the bundled default model
(784-300-100-10, hashed 1/8):

* crafting FGSM (eps 0.1) and PGD-10 (eps 0.1, step 0.025, random start) on
  the hashed float model, in batches of 500 (``hashhls.adversarial.craft.craft``,
  what ``hashhls attack`` runs), and CW-L2 (100 steps x 5 binary-search steps,
  500 gradient evaluations per image);
* replaying each set of 10,000 adversarial images through the compiled C
  simulation of one ``hashhls build --board pynq-z2`` (``load_build(dir).predict``:
  one batch, split across 2 processes), and through the bit-exact numpy emulator.

Wall time and images/second for each; success rates (on inputs each
implementation classifies correctly when clean) are printed beside them.

    python bench/attack_speed.py --threads 1   # prints the table, writes bench/results/attack_speed.md

On a machine shared with other jobs, torch's default 2 threads spin-wait on each
other and crafting ran many times slower than with ``--threads 1``; the recorded
table uses one thread for crafting (csim still uses 2 processes).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from hashhls.codegen.csim import load_build
from hashhls.codegen.emulator import Emulator
from hashhls.codegen.project import BuildConfig, build
from hashhls.adversarial.replay import success_mask
from hashhls.adversarial.craft import craft
from hashhls.frontend.checkpoint import load_checkpoint
from hashhls.frontend.datasets import load_mnist
from hashhls.frontend.zoo import default_checkpoint

RESULTS = Path(__file__).parent / "results" / "attack_speed.md"

ATTACKS = [  # (label, attack, eps, hyper-parameters, images: None = all)
    ("FGSM, eps 0.1", "fgsm", 0.1, {}, None),
    ("PGD-10, eps 0.1", "pgd", 0.1, {"steps": 10}, None),
    ("CW-L2 (kappa 0), 100 steps x 5 searches", "cw", None, {"steps": 100, "search_steps": 5}, "cw_n"),
]


def rate(pred_clean: np.ndarray, pred_adv: np.ndarray, y: np.ndarray) -> float:
    eligible, success = success_mask(pred_clean, pred_adv, y)
    return float(success.sum() / max(1, eligible.sum()))


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=10_000, help="test images (default all 10,000)")
    ap.add_argument("--cw-n", type=int, default=None, help="images for the CW-L2 row (default: all)")
    ap.add_argument("--threads", type=int, default=None, help="torch threads for crafting (default: torch's)")
    ap.add_argument("-o", "--output", type=Path, default=RESULTS, help=f"markdown output (default {RESULTS})")
    args = ap.parse_args(argv)
    torch.manual_seed(0)
    if args.threads:
        torch.set_num_threads(args.threads)
    x, y = load_mnist(split="test", limit=args.n)
    n = len(y)
    model, _ = load_checkpoint(default_checkpoint())
    model.eval()
    load_before = os.getloadavg()[0]
    rows = []
    with tempfile.TemporaryDirectory(prefix="hashhls-attack-speed-") as tmp:
        bdir = Path(tmp) / "build"
        _, t_build = timed(lambda: build(BuildConfig(output_dir=bdir, board="pynq-z2", progress=False)))
        hw, emu = load_build(bdir), Emulator.from_build(bdir)
        with torch.no_grad():
            pc_float = model(torch.from_numpy(x)).argmax(1).numpy()
        pc_csim = hw.predict(x).argmax(1)
        pc_emu = emu.predict(x).argmax(1)
        for label, name, eps, hp, limit in ATTACKS:
            k = min(n, getattr(args, limit) or n) if limit else n
            xk, yk = x[:k], y[:k]
            adv, t_craft = timed(lambda: craft(name, model, xk, yk, [eps] if eps else [], **hp))
            xa = adv.x_adv[0]
            with torch.no_grad():
                s_float = rate(pc_float[:k], model(torch.from_numpy(xa)).argmax(1).numpy(), yk)
            out_csim, t_csim = timed(lambda: hw.predict(xa))
            out_emu, t_emu = timed(lambda: emu.predict(xa))
            assert np.array_equal(out_csim, out_emu), "csim and emulator disagree"  # bit-exact twins
            s_csim = rate(pc_csim[:k], out_csim.argmax(1), yk)
            l2 = float(np.linalg.norm((xa - xk).reshape(k, -1), axis=1).mean())
            rows.append((label, k, t_craft, t_csim, t_emu, s_float, s_csim, l2))
            print(f"{label}: craft {t_craft:.1f} s, csim {t_csim:.1f} s, emulator {t_emu:.2f} s; "
                  f"success float {100 * s_float:.1f}%, csim {100 * s_csim:.1f}%", flush=True)
    load_after = os.getloadavg()[0]

    lines = ["# Attack and replay speed, 10,000 MNIST test images" if n == 10_000 else
             f"# Attack and replay speed, {n} MNIST test images", "",
             f"Produced by `{' '.join(['python bench/attack_speed.py', *(argv if argv is not None else sys.argv[1:])])}`"
             f": {n:,} official MNIST test images, the bundled default "
             "model (784-300-100-10, hashed 1/8), crafted on the hashed float model in batches of 500 "
             f"(torch {torch.__version__}, {torch.get_num_threads()} thread{'s' if torch.get_num_threads() > 1 else ''}), replayed through the compiled csim "
             f"of one `hashhls build --board pynq-z2` (built in {t_build:.1f} s; `predict` splits the batch "
             f"across {hw.workers} processes) and through the numpy emulator. {os.cpu_count()} cores, shared "
             f"with other jobs (1-minute load average {load_before:.1f} before, {load_after:.1f} after): "
             "absolute times are noisy. One run.", "",
             "| attack | images | craft (s) | craft (images/s) | csim replay (s) | csim (images/s) "
             "| emulator replay (s) | emulator (images/s) | success float / csim | mean L2 |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for label, k, t_craft, t_csim, t_emu, s_float, s_csim, l2 in rows:
        lines.append(f"| {label} | {k:,} | {t_craft:.1f} | {k / t_craft:,.0f} | {t_csim:.1f} | {k / t_csim:,.0f} | "
                     f"{t_emu:.2f} | {k / t_emu:,.0f} | {100 * s_float:.1f}% / {100 * s_csim:.1f}% | {l2:.3f} |")
    lines += ["", "csim and emulator outputs were bit-identical on every adversarial image. Success counts only "
              "inputs the implementation classified correctly when clean.", ""]
    text = "\n".join(lines)
    print(text)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
