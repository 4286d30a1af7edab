"""Compare the results tables of two sweeps of one study (e.g. ``--engine local`` and ``--engine ray``).

    python scripts/compare_sweeps.py results/paper-local results/paper-ray

Prints whether the tables are equal once the per-run columns (timings, cache flags:
``hashhls.sweep.results.RUN_COLUMNS``) are dropped, and the first differing rows; exit status 1 if they differ.
"""

from __future__ import annotations

import argparse
import sys

from hashhls.sweep.results import RUN_COLUMNS, comparable, read_table


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("a", help="results directory of the first sweep")
    p.add_argument("b", help="results directory of the second sweep")
    args = p.parse_args(argv)
    a, b = comparable(read_table(args.a)), comparable(read_table(args.b))
    print(f"{args.a}: {len(a)} rows; {args.b}: {len(b)} rows; compared without {', '.join(sorted(RUN_COLUMNS))}")
    diffs = [(x, y) for x, y in zip(a, b) if x != y]
    if len(a) == len(b) and not diffs:
        print("identical")
        return 0
    for x, y in diffs[:5]:
        keys = sorted(k for k in set(x) | set(y) if x.get(k) != y.get(k))
        print(f"cell {x.get('cell')} / {x.get('target')}: " + "; ".join(f"{k}: {x.get(k)!r} vs {y.get(k)!r}" for k in keys))
    print(f"different: {len(diffs)} rows differ" + ("" if len(a) == len(b) else f", row counts {len(a)} vs {len(b)}"))
    return 1


if __name__ == "__main__":
    sys.exit(main())
