"""``hashhls --help`` and argument errors must not import the heavy stack (torch, onnx, hls4ml): the CLI's
parsers are built from light copies of the defaults, checked here against the modules they copy."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("torch", "onnx", "onnxruntime", "hls4ml", "numpy", "scipy")

_PROBE = """
import json, sys
from hashhls.cli.main import build_parser, main
argv = json.loads(sys.argv[1])
if argv is None:
    build_parser()
else:
    try:
        main(argv)
    except SystemExit:
        pass
print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in {heavy})))
"""


def _imported(argv) -> list[str]:
    code = _PROBE.replace("{heavy}", repr(set(HEAVY)))
    res = subprocess.run([sys.executable, "-c", code, json.dumps(argv)], capture_output=True, text=True, check=True)
    return json.loads(res.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("argv", [None, ["--help"], ["attack", "--help"], ["faults", "--help"], ["--bogus"],
                                  ["csim"], ["build", "--reuse-factor", "x"]])
def test_the_parser_and_its_errors_import_no_heavy_module(argv):
    assert _imported(argv) == []


def test_the_light_copies_of_defaults_agree_with_their_modules():
    from hashhls.adversarial import craft, fault_report, faults
    from hashhls.cli.commands import attack as attack_cmd
    from hashhls.cli.commands import faults as faults_cmd

    assert attack_cmd.ON_CHOICES == craft.ON_CHOICES
    assert faults_cmd.DEFAULT_BATCH == fault_report.DEFAULT_BATCH
    assert faults_cmd.DEFAULT_TARGET == fault_report.DEFAULT_TARGET
    assert faults_cmd.DEFAULT_GROUP == faults.DEFAULT_GROUP
    assert faults_cmd.FAULT_ATTACKS == tuple(faults.FAULT_ATTACKS)
