"""The bad-file fuzz at scale: seeded mutants of every kind of file a user hands to hashhls (checkpoint, .npy,
adversarial .npz, MNIST IDX, a build's manifest, weight files and other files; with ``--slow`` the csim
executable's files, whose successful cases recompile) through the command that reads each.

Every case must be a clean refusal (exit 2, one printable line, nothing written) or a successful run. The mutator
is sw_tests/file_fuzz.py (the CI test runs 140 cases).

    python bench/fuzz_files.py [--cases 1000] [--seed 0] [--slow 12] [-o bench/results/fuzz_files.md]
"""

from __future__ import annotations

import argparse
import collections
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "sw_tests"))

from file_fuzz import KINDS, SLOW_KINDS, cases, make_bases, run_case  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--slow", type=int, default=12, help="cases of the csim executable's files (recompiles)")
    ap.add_argument("-o", "--output", type=Path, default=ROOT / "bench" / "results" / "fuzz_files.md")
    args = ap.parse_args()
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    t0 = time.perf_counter()
    counts, mutations, failures = collections.Counter(), collections.Counter(), []
    with tempfile.TemporaryDirectory(prefix="hashhls-fuzz-files-") as tmp:
        bases = make_bases(Path(tmp) / "bases")
        todo = [*cases(args.cases, args.seed), *cases(args.slow, args.seed + 1, SLOW_KINDS)]
        for i, case in enumerate(todo):
            work = Path(tmp) / f"case{i}"
            work.mkdir()
            o = run_case(case, bases, work)
            counts[(case.kind, o.status)] += 1
            mutations[(case.mutation, o.status)] += 1
            if o.status == "failure":
                failures.append(f"{case.label}: {o.detail}")
            shutil.rmtree(work, ignore_errors=True)
    wall = time.perf_counter() - t0
    kinds = [*KINDS, *SLOW_KINDS]
    lines = ["# Bad-file fuzz of the commands' inputs", "",
             f"`python bench/fuzz_files.py --cases {args.cases} --seed {args.seed} --slow {args.slow}` ({wall:.0f} s, "
             f"{platform.machine()}, Python {platform.python_version()}).", "",
             "Bases: the bundled checkpoint, a `.npy` batch, an adversarial `.npz` from `hashhls attack`, the bundled "
             "MNIST test IDX files, a csim build of the bundled model (board none). Commands: checkpoint -> `export`, "
             "`.npy` -> `csim`, `.npz` -> `replay`, IDX -> `gi --data`, build files -> `csim` (weight files mostly "
             "with `--allow-modified-weights`, so their format checks are reached; manifests partly `--emulator`).",
             "", "| input | clean refusal | successful run | **failure** |", "|---|---:|---:|---:|"]
    for k in kinds:
        lines.append(f"| {k} | {counts[(k, 'refused')]} | {counts[(k, 'ran')]} | **{counts[(k, 'failure')]}** |")
    total = {s: sum(v for (_, st), v in counts.items() if st == s) for s in ("refused", "ran", "failure")}
    lines.append(f"| **all** | {total['refused']} | {total['ran']} | **{total['failure']}** |")
    lines += ["", "Per mutation:", "", "| mutation | refused | ran | failure |", "|---|---:|---:|---:|"]
    for m in sorted({m for m, _ in mutations}):
        lines.append(f"| {m} | {mutations[(m, 'refused')]} | {mutations[(m, 'ran')]} | {mutations[(m, 'failure')]} |")
    lines += ["", "A failure is a traceback, an exit code other than 0 or 2, an error of more than one line or with "
              "unprintable characters, or output left behind by a refusal."]
    if failures:
        lines += ["", "Failures:", "", *[f"* `{f}`" for f in failures]]
    text = "\n".join(lines) + "\n"
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text)
    print(text)
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
