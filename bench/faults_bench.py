"""Bit flips in the weight store: BFA and random flips on the MLP hashed 1/8 (bundled), 1/64 and dense.

Trains the 1/64 MLP with its recipe and hash v2 with its default banks, as the bundled 1/8 one (the 1/8 and dense
ones are bundled), builds all three (``--board none``,
default precision ``ap_fixed<16,6>``), runs ``hashhls faults`` with BFA and with random flips on all three and
copies the reports to ``bench/results/faults_bfa/`` and ``bench/results/faults_random/``; ``faults.md`` records
the commands, time, gradient calls and the machine load.

    python bench/faults_bench.py [--flips 20] [-n 1000] [--threads 1]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results"
PRETRAINED = REPO / "frontend" / "pretrained"


def _run(cmd: list[str], env: dict) -> None:
    print("$", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True, env=env)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--flips", type=int, default=20)
    ap.add_argument("-n", type=int, default=1000)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads), OMP_WAIT_POLICY="PASSIVE")
    hashhls = [sys.executable, "-m", "hashhls.cli.main"]
    load = os.getloadavg()[0]
    lines = ["# Bit flips in the weight store (`python bench/faults_bench.py`)", ""]
    with tempfile.TemporaryDirectory(prefix="hashhls-faults-bench-") as tmp:
        tmp = Path(tmp)
        _run([*hashhls, "train", "--model", "mnist-mlp", "--compression", "64", "--hash-version", "2",
              "-o", str(tmp / "c64.pt")],
             env)
        builds = []
        for name, model in (("mlp-c8", PRETRAINED / "mnist-mlp-c8.pt"), ("mlp-c64", tmp / "c64.pt"),
                            ("mlp-dense", PRETRAINED / "mnist-mlp-dense.pt")):
            _run([*hashhls, "build", str(model), "--board", "none", "-o", str(tmp / name)], env)
            builds.append(str(tmp / name))
        for attack in ("bfa", "random"):
            out = tmp / f"faults_{attack}"
            t0 = time.perf_counter()
            _run([*hashhls, "faults", *builds, "--attack", attack, "--flips", str(args.flips), "-n", str(args.n),
                  "-o", str(out), "--no-progress"], env)
            wall = time.perf_counter() - t0
            dest = RESULTS / f"faults_{attack}"
            shutil.rmtree(dest, ignore_errors=True)
            shutil.copytree(out, dest)
            lines += [f"## {attack}: `hashhls faults mlp-c8 mlp-c64 mlp-dense --attack {attack} --flips {args.flips} "
                      f"-n {args.n}` ({wall:.0f} s wall, with csim after every flip)", "",
                      (dest / "report.md").read_text().split("\n\n")[2], "",
                      f"Full report: `bench/results/faults_{attack}/report.md`.", ""]
    lines += ["Builds: mlp-c8 (bundled) and mlp-c64 hashed with hash v2 and the MLP's default banks "
              "(hashhls.frontend.zoo.DEFAULT_BANKS), mlp-dense dense; `--board none`, `ap_fixed<16,6>`.", "",
              f"Machine: {os.cpu_count()} cores, {args.threads} torch thread(s), load average {load:.1f} at the "
              f"start and {os.getloadavg()[0]:.1f} at the end (times move with the load).", ""]
    (RESULTS / "faults.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
