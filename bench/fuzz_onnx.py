"""The ONNX fuzz at scale: thousands of seeded mutants of good models through ``hashhls build``.

Every case must be a clean refusal (a HashhlsError with a one-line, printable message and nothing written) or a
build whose emulator runs; the C simulation is compiled and compared with the emulator bit for bit for a sample
of the successful builds (``--csim-sample``). The mutator is sw_tests/onnx_fuzz.py (the CI test runs 400 cases).

    python bench/fuzz_onnx.py [--cases 5000] [--seed 0] [--csim-sample 20] [-o bench/results/fuzz_onnx.md]
"""

from __future__ import annotations

import argparse
import collections
import platform
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "sw_tests"))

from onnx_fuzz import base_models, mutants, run_case  # noqa: E402

TIMEOUT_S = 120  #: a case taking longer counts as a hang


def _alarm(signum, frame):
    raise TimeoutError("case timed out")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=5000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--csim-sample", type=int, default=20)
    ap.add_argument("-o", "--output", type=Path, default=ROOT / "bench" / "results" / "fuzz_onnx.md")
    args = ap.parse_args()
    signal.signal(signal.SIGALRM, _alarm)
    bases = base_models()
    counts: collections.Counter = collections.Counter()
    by_mutation: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    failures: list[str] = []
    compiled = 0
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="hashhls-fuzz-") as tmp:
        for i, (label, data) in enumerate(mutants(bases, args.cases, seed=args.seed)):
            work = Path(tmp) / str(i)
            signal.alarm(TIMEOUT_S)
            try:
                kind, detail = run_case(data, work)
                if kind == "built" and compiled < args.csim_sample:
                    shutil.rmtree(work)
                    kind, detail = run_case(data, work, csim=True)
                    compiled += 1
            except TimeoutError:
                kind, detail = "failure", f"hang (> {TIMEOUT_S} s)"
            finally:
                signal.alarm(0)
            counts[kind] += 1
            for mutation in label.split(":", 2)[2].split("+"):  # a case counts under each of its mutations
                by_mutation[mutation][kind] += 1
            if kind == "failure":
                failures.append(f"{label}: {detail.strip().splitlines()[-1] if detail.strip() else detail}")
            shutil.rmtree(work, ignore_errors=True)
            if (i + 1) % 500 == 0:
                print(f"{i + 1} cases: {dict(counts)}", flush=True)
    elapsed = time.perf_counter() - t0
    lines = [
        "# ONNX fuzz of `hashhls build`",
        "",
        f"`python bench/fuzz_onnx.py --cases {args.cases} --seed {args.seed} --csim-sample {args.csim_sample}` "
        f"({elapsed:.0f} s, {platform.processor() or platform.machine()}, Python {platform.python_version()}).",
        "",
        f"Bases: {', '.join(sorted(bases))} (the project's own exports and plain torch exports). "
        "Mutations: sw_tests/onnx_fuzz.py (a quarter byte-level, the rest one or two protobuf edits).",
        "",
        "| outcome | cases |",
        "|---|---:|",
        f"| clean refusal (one-line HashhlsError, nothing written) | {counts['refused']:,} |",
        f"| build whose emulator runs | {counts['built']:,} |",
        f"| ... of which C simulation compiled and equal to the emulator bit for bit | {compiled} |",
        f"| **failure** (traceback, multi-line error, partial output, hang, csim != emulator) | "
        f"**{counts['failure']}** |",
        "",
        "Per mutation (a case with two mutations counts under both):",
        "",
        "| mutation | refused | built | failure |",
        "|---|---:|---:|---:|",
    ]
    for name in sorted(by_mutation):
        c = by_mutation[name]
        lines.append(f"| {name} | {c['refused']} | {c['built']} | {c['failure']} |")
    if failures:
        lines += ["", "Failures:", ""] + [f"* `{f}`" for f in failures[:50]]
    args.output.write_text("\n".join(lines) + "\n")
    print("\n".join(lines[:14]))
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
