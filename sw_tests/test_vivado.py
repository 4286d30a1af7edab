"""`hashhls vivado`, tested with stub `vivado_hls` / `vivado` executables that record their arguments and working
directory; and the build README's Vivado and PYNQ instructions for each kind of build."""

from __future__ import annotations

import json
import os
import shlex
import sys
from pathlib import Path

import pytest

from hashhls.cli.main import main
from hashhls.codegen.handoff import build_readme
from hashhls.codegen.manifest import BuildManifest
from hashhls.codegen.project import BuildConfig, build

STUB = """#!{python}
import json, os, sys
with open(os.environ["HASHHLS_STUB_RECORD"], "a") as f:
    f.write(json.dumps({{"tool": os.path.basename(sys.argv[0]), "argv": sys.argv[1:], "cwd": os.getcwd()}}) + "\\n")
print("stub " + os.path.basename(sys.argv[0]) + " running")
if os.environ.get("HASHHLS_STUB_FAIL") == os.path.basename(sys.argv[0]):
    print("ERROR: [HLS 200-70] Compilation errors found (stub)")
    sys.exit(1)
"""


@pytest.fixture(scope="module")
def board_build(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("vivado") / "build"
    build(BuildConfig(output_dir=out, board="pynq-z2", compile_csim=False, progress=False))
    return out


@pytest.fixture(scope="module")
def plain_build(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("vivado_none") / "build"
    build(BuildConfig(output_dir=out, board="none", compile_csim=False, progress=False))
    return out


@pytest.fixture
def stubs(tmp_path, monkeypatch):
    """A PATH holding only stub tools (`tools`), and the list of their recorded calls (`calls()`)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    record = tmp_path / "calls.jsonl"
    monkeypatch.setenv("HASHHLS_STUB_RECORD", str(record))
    monkeypatch.setenv("PATH", str(bin_dir))

    class Stubs:
        def tools(self, *names):
            for name in names:
                p = bin_dir / name
                p.write_text(STUB.format(python=sys.executable))
                p.chmod(0o755)

        def calls(self):
            return [json.loads(ln) for ln in record.read_text().splitlines()] if record.exists() else []

    return Stubs()


def test_runs_synthesis_export_and_bitstream_in_the_project(board_build, stubs, capsys):
    stubs.tools("vivado_hls", "vivado")
    assert main(["vivado", str(board_build), "--steps", "synth,export,bitstream"]) == 0
    hls = str((board_build / "hls").resolve())
    calls = stubs.calls()
    assert [(c["tool"], c["argv"], os.path.realpath(c["cwd"])) for c in calls] == [
        ("vivado_hls", ["-f", "build_prj.tcl", "reset=1 csim=0 synth=1 cosim=0 validation=0 export=1 vsynth=0"],
         os.path.realpath(hls)),
        ("vivado", ["-mode", "batch", "-source", "design.tcl"], os.path.realpath(hls)),
    ]
    # each tool's output is kept in a log
    assert "stub vivado_hls running" in (board_build / "vivado" / "vivado_hls.log").read_text()
    assert "stub vivado running" in (board_build / "vivado" / "vivado.log").read_text()
    assert "stub vivado running" in capsys.readouterr().out


def test_default_steps_run_the_testbench_first(board_build, stubs):
    stubs.tools("vivado_hls", "vivado")
    assert main(["vivado", str(board_build)]) == 0
    first = stubs.calls()[0]
    assert first["argv"][-1] == "reset=1 csim=1 synth=1 cosim=0 validation=0 export=1 vsynth=0"
    assert [c["tool"] for c in stubs.calls()] == ["vivado_hls", "vivado"]


def test_a_missing_tool_is_named_and_nothing_runs(board_build, stubs, capsys):
    stubs.tools("vivado_hls")  # no vivado
    assert main(["vivado", str(board_build), "--steps", "synth,export,bitstream"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "vivado (for bitstream)" in err and "vivado_hls" not in err.split("PATH:")[1]
    assert stubs.calls() == []  # checked before anything ran
    assert main(["vivado", str(board_build), "--steps", "csim"]) == 0  # what is there still runs


def test_no_tools_at_all(board_build, stubs, capsys):
    assert main(["vivado", str(board_build)]) == 2
    err = capsys.readouterr().err
    assert "vivado_hls (for csim, synth, export)" in err and "vivado (for bitstream)" in err


def test_a_failing_tool_is_a_one_line_error_naming_its_log(board_build, stubs, capsys, monkeypatch):
    stubs.tools("vivado_hls", "vivado")
    monkeypatch.setenv("HASHHLS_STUB_FAIL", "vivado_hls")
    assert main(["vivado", str(board_build)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "vivado_hls failed" in err and "vivado_hls.log" in err and "HLS 200-70" in err
    assert [c["tool"] for c in stubs.calls()] == ["vivado_hls"]  # the bitstream did not start


def test_bitstream_of_a_board_none_build_is_refused(plain_build, stubs, capsys):
    stubs.tools("vivado_hls", "vivado")
    assert main(["vivado", str(plain_build), "--steps", "synth,bitstream"]) == 2
    assert "--board none" in capsys.readouterr().err
    assert stubs.calls() == []
    assert main(["vivado", str(plain_build), "--steps", "csim,synth,export"]) == 0
    assert [c["tool"] for c in stubs.calls()] == ["vivado_hls"]


def test_bitstream_alone_needs_the_exported_ip(board_build, stubs, capsys):
    stubs.tools("vivado_hls", "vivado")
    assert main(["vivado", str(board_build), "--steps", "bitstream"]) == 2
    assert "add 'export'" in capsys.readouterr().err
    ip = board_build / "hls" / "myproject_prj" / "solution1" / "impl" / "ip"
    ip.mkdir(parents=True)
    try:
        assert main(["vivado", str(board_build), "--steps", "bitstream"]) == 0
        assert [c["tool"] for c in stubs.calls()] == ["vivado"]
    finally:
        ip.rmdir()


@pytest.mark.parametrize("args, expected", [
    (["--steps", "synth,placeandroute"], "unknown Vivado step 'placeandroute'"),
    (["--steps", ","], "--steps needs at least one"),
])
def test_bad_steps(board_build, stubs, capsys, args, expected):
    assert main(["vivado", str(board_build), *args]) == 2
    assert expected in capsys.readouterr().err


def test_not_a_build_directory(tmp_path, stubs, capsys):
    assert main(["vivado", str(tmp_path)]) == 2
    assert "not a hashhls build directory" in capsys.readouterr().err
    assert main(["vivado", str(tmp_path / "nope")]) == 2
    assert "not found" in capsys.readouterr().err


def test_dry_run_prints_the_commands_and_runs_nothing(board_build, stubs, capsys):
    stubs.tools("vivado_hls")
    assert main(["vivado", str(board_build), "--steps", "cosim,bitstream", "--dry-run"]) == 2  # no IP yet
    capsys.readouterr()
    assert main(["vivado", str(board_build), "--steps", "synth,cosim,export,bitstream", "--dry-run"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert stubs.calls() == []
    hls = str(board_build / "hls")
    assert out[0] == (f"synth, cosim, export: cd {shlex.quote(hls)} && vivado_hls -f build_prj.tcl "
                      "'reset=1 csim=0 synth=1 cosim=1 validation=0 export=1 vsynth=0'")
    assert out[1].endswith("vivado -mode batch -source design.tcl  # not on PATH")


def test_readme_commands_are_the_ones_hashhls_vivado_runs(board_build):
    text = (board_build / "README.md").read_text()
    assert "vivado_hls -f build_prj.tcl 'reset=1 csim=1 synth=1 cosim=0 validation=0 export=1 vsynth=0'" in text
    assert "The C simulation was not compiled" in text  # built with compile_csim=False


def test_readme_tells_the_input_layout_of_convolutional_models(board_build):
    manifest = BuildManifest.read(board_build)
    manifest.input_layout = "NHWC"
    from hashhls.codegen.boards import load_board

    text = build_readme(manifest, load_board("pynq-z2"), None)
    assert "**channels-last**" in text and "x.transpose(0, 2, 3, 1).reshape(len(x), -1)" in text
    manifest.input_layout = "flat"
    text = build_readme(manifest, load_board("pynq-z2"), None)
    assert "channels-last" not in text and "x.reshape(len(x), -1)" in text
