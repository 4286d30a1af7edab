"""README's table of supported ONNX ops is generated from the op table (scripts/supported_ops.py) and current."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from hashhls.codegen.kinds import LayerKind
from hashhls.codegen.ops.registry import OPS, op_for_kind

REPO = Path(__file__).resolve().parents[1]


def test_readme_lists_exactly_the_registry():
    res = subprocess.run([sys.executable, str(REPO / "scripts" / "supported_ops.py"), "--check"], capture_output=True,
                         text=True)
    assert res.returncode == 0, res.stderr
    readme = (REPO / "README.md").read_text()
    for domain, op_type in OPS:
        assert f"`{domain + '::' if domain else ''}{op_type}`" in readme


def test_every_layer_kind_has_exactly_one_op_and_every_op_its_hooks():
    for kind in LayerKind:
        assert op_for_kind(kind).kind is kind
    for op in OPS.values():
        assert op.doc, op.op_type
        if op.kind is None:
            assert op.rewritten_by
