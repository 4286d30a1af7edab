"""Write the table of supported ONNX ops, generated from the op table itself, between the markers in README.md.

    python scripts/supported_ops.py          # rewrite the table in README.md
    python scripts/supported_ops.py --check  # exit 1 if README.md is out of date (sw_tests/test_supported_ops.py)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"
BEGIN, END = "<!-- supported-ops:begin (scripts/supported_ops.py) -->", "<!-- supported-ops:end -->"


def table() -> str:
    from hashhls.codegen.ops.registry import OPS

    lines = ["| ONNX op | built as (layer kind) | notes |", "|---|---|---|"]
    for (domain, op_type), op in OPS.items():
        label = f"`{domain}::{op_type}`" if domain else f"`{op_type}`"
        kind = f"`{op.kind}`" if op.kind is not None else f"rewritten by `{op.rewritten_by}`"
        lines.append(f"| {label} | {kind} | {op.doc} |")
    return "\n".join(lines)


def render(text: str) -> str:
    if BEGIN not in text or END not in text:
        raise SystemExit(f"README.md has no {BEGIN} ... {END} markers")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{BEGIN}\n{table()}\n{END}{tail}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="only check that README.md is up to date")
    args = ap.parse_args()
    text = README.read_text()
    new = render(text)
    if args.check:
        if new != text:
            print("README.md's supported-ops table is out of date: run python scripts/supported_ops.py",
                  file=sys.stderr)
            return 1
        return 0
    README.write_text(new)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
