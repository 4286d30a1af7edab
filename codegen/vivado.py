"""From a build directory to IP and a bitstream: the Vivado HLS and Vivado steps, planned and run.

The project is hls4ml's: ``hls/build_prj.tcl`` (Vivado HLS: C simulation,
synthesis, C/RTL co-simulation, IP export) reads its options from one argument
``"reset=1 csim=1 synth=1 cosim=0 validation=0 export=1 vsynth=0"`` (its own
defaults, ``csim=1 cosim=1 validation=1 export=0``, would not export the IP that
the block design needs), and for board builds ``hls/design.tcl`` (Vivado: Zynq
PS7 + AXI DMA + the IP, implementation and bitstream). This module turns a list
of :class:`VivadoStep` into those tool invocations (:func:`plan`), checks every
tool is on PATH before anything runs, and runs them with ``cwd`` = ``hls/``,
each one's output copied to ``BUILD/vivado/<tool>.log`` (:func:`run`).
"""

from __future__ import annotations

import enum
import shlex
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..core.errors import InvalidFileError, ToolchainError, UsageError
from .manifest import BuildManifest

HLS_TOOL = "vivado_hls"
VIVADO_TOOL = "vivado"
LOG_DIR = "vivado"


class VivadoStep(str, enum.Enum):
    CSIM = "csim"  #: Vivado HLS C simulation of the testbench (compares with tb_data)
    SYNTH = "synth"  #: C synthesis to RTL
    COSIM = "cosim"  #: C/RTL co-simulation of the testbench
    EXPORT = "export"  #: IP export (what the block design instantiates)
    BITSTREAM = "bitstream"  #: Vivado block design, implementation and bitstream (board builds only)


HLS_STEPS = (VivadoStep.CSIM, VivadoStep.SYNTH, VivadoStep.COSIM, VivadoStep.EXPORT)
DEFAULT_STEPS = (VivadoStep.CSIM, VivadoStep.SYNTH, VivadoStep.EXPORT, VivadoStep.BITSTREAM)


def parse_steps(text: str) -> tuple[VivadoStep, ...]:
    """``"synth,export,bitstream"`` -> steps in pipeline order (UsageError for an unknown one)."""
    names = [t.strip().lower() for t in str(text).split(",") if t.strip()]
    if not names:
        raise UsageError("--steps needs at least one of " + ", ".join(s.value for s in VivadoStep))
    try:
        chosen = {VivadoStep(n) for n in names}
    except ValueError:
        bad = next(n for n in names if n not in {s.value for s in VivadoStep})
        raise UsageError(f"unknown Vivado step {bad!r} (choose from {', '.join(s.value for s in VivadoStep)})") \
            from None
    return tuple(s for s in VivadoStep if s in chosen)


def hls_command(steps: Sequence[VivadoStep]) -> list[str]:
    """The ``vivado_hls`` call running ``steps`` of build_prj.tcl (a fresh project when it synthesises)."""
    on = {s: int(s in steps) for s in HLS_STEPS}
    reset = int(VivadoStep.SYNTH in steps)  # synthesis starts a clean project; export/cosim alone reuse it
    opts = (f"reset={reset} csim={on[VivadoStep.CSIM]} synth={on[VivadoStep.SYNTH]} cosim={on[VivadoStep.COSIM]} "
            f"validation=0 export={on[VivadoStep.EXPORT]} vsynth=0")
    return [HLS_TOOL, "-f", "build_prj.tcl", opts]


def bitstream_command() -> list[str]:
    return [VIVADO_TOOL, "-mode", "batch", "-source", "design.tcl"]


@dataclass(frozen=True)
class Invocation:
    """One tool run: what it does, the command, where it runs and where its log goes."""

    steps: tuple[VivadoStep, ...]
    argv: tuple[str, ...]
    cwd: Path
    log: Path

    @property
    def tool(self) -> str:
        return self.argv[0]

    def shell_line(self) -> str:
        return f"cd {shlex.quote(str(self.cwd))} && {shlex.join(self.argv)}"


def exported_ip_dir(hls_dir: Path, manifest: BuildManifest) -> Path:
    """Where Vivado HLS's ``export_design`` leaves the IP that design.tcl instantiates."""
    return hls_dir / f"{manifest.project_name}_prj" / "solution1" / "impl" / "ip"


def plan(build_dir: str | Path, steps: Sequence[VivadoStep] = DEFAULT_STEPS) -> list[Invocation]:
    """The tool invocations for ``steps`` on a build, checked against what the build can do.

    Raises:
        InvalidFileError: not a hashhls build, or its hls/ project is missing.
        UsageError: a bitstream for a ``--board none`` build, or one whose IP was never exported.
    """
    build_dir = Path(build_dir)
    manifest = BuildManifest.read(build_dir)
    hls_dir = build_dir / manifest.hls_dir
    if not (hls_dir / "build_prj.tcl").is_file():
        raise InvalidFileError(f"{build_dir} has no hls/build_prj.tcl: the HLS project is missing or incomplete")
    steps = tuple(s for s in VivadoStep if s in set(steps))
    if not steps:
        raise UsageError("no Vivado steps chosen")
    out: list[Invocation] = []
    log_dir = build_dir / LOG_DIR
    hls = tuple(s for s in steps if s in HLS_STEPS)
    if hls:
        out.append(Invocation(hls, tuple(hls_command(hls)), hls_dir, log_dir / f"{HLS_TOOL}.log"))
    if VivadoStep.BITSTREAM in steps:
        if manifest.board == "none" or not (hls_dir / "design.tcl").is_file():
            raise UsageError(f"{build_dir} was built with --board none: it has no block design, so no bitstream "
                             "(rebuild with --board pynq-z2 or another board, or drop 'bitstream' from --steps)")
        if VivadoStep.EXPORT not in steps and not exported_ip_dir(hls_dir, manifest).is_dir():
            raise UsageError(f"the bitstream needs the exported IP ({exported_ip_dir(hls_dir, manifest)}), which "
                             "does not exist yet: add 'export' to --steps")
        out.append(Invocation((VivadoStep.BITSTREAM,), tuple(bitstream_command()), hls_dir,
                              log_dir / f"{VIVADO_TOOL}.log"))
    return out


def missing_tools(invocations: Sequence[Invocation]) -> list[str]:
    return [t for t in dict.fromkeys(i.tool for i in invocations) if shutil.which(t) is None]


def check_tools(invocations: Sequence[Invocation]) -> None:
    """ToolchainError naming every missing tool (and the steps that need it) before anything runs."""
    missing = missing_tools(invocations)
    if missing:
        need = {t: ", ".join(s.value for i in invocations if i.tool == t for s in i.steps) for t in missing}
        hint = " (Vivado HLS 2019.2-2020.1: source its settings64.sh first)" if HLS_TOOL in missing else ""
        raise ToolchainError("not on PATH: " + "; ".join(f"{t} (for {need[t]})" for t in missing) + hint)


def run(invocations: Sequence[Invocation], echo=None) -> None:
    """Run each invocation in order; its output goes to its log (and to ``echo``, default stdout).

    Raises:
        ToolchainError: a tool is missing, or exits non-zero (naming the step, the log and its last error).
    """
    check_tools(invocations)
    echo = sys.stdout if echo is None else echo
    for inv in invocations:
        inv.log.parent.mkdir(parents=True, exist_ok=True)
        echo.write(f"hashhls vivado: {', '.join(s.value for s in inv.steps)}: {inv.shell_line()}\n")
        echo.flush()
        with open(inv.log, "w") as log:
            proc = subprocess.Popen(list(inv.argv), cwd=inv.cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                    text=True, errors="replace")
            last_error = ""
            for line in proc.stdout:
                log.write(line)
                echo.write(line)
                if "ERROR" in line:
                    last_error = line.strip()
            code = proc.wait()
        if code != 0:
            detail = f": {last_error[:200]}" if last_error else ""
            raise ToolchainError(f"{inv.tool} failed ({', '.join(s.value for s in inv.steps)}, exit {code}); log "
                                 f"{inv.log}{detail}")
