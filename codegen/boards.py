"""Target boards, read from the TOML files in ``boards/`` (boards are data, not code)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from ..core.errors import HashhlsError

#: ``--board none``: a plain Vivado HLS project for hls4ml's default part, no board wrapper.
NO_BOARD = "none"


@dataclass(frozen=True)
class Resources:
    bram_18k: int
    dsp: int
    ff: int
    lut: int


@dataclass(frozen=True)
class Board:
    """One FPGA board: part, clock, how hls4ml targets it, and its resources."""

    name: str
    part: str
    clock_mhz: float
    interface: str
    backend: str  #: hls4ml backend: VivadoAccelerator (AXI wrapper + driver) or Vivado
    hls4ml_board: str  #: board key for VivadoAccelerator ("" for plain Vivado)
    resources: Resources | None

    @property
    def clock_period_ns(self) -> float:
        return 1000.0 / self.clock_mhz


def boards_dir() -> Path:
    return Path(str(resources.files("hashhls.boards")))


def available_boards() -> list[str]:
    return sorted(p.stem for p in boards_dir().glob("*.toml"))


def load_board(name: str) -> Board:
    """The board called ``name`` (a file ``boards/<name>.toml``), or the no-board pseudo board."""
    if name == NO_BOARD:
        return Board(NO_BOARD, "xcvu13p-flga2577-2-e", 200.0, "none", "Vivado", "", None)
    if name not in available_boards():
        raise HashhlsError(f"unknown board {name!r} (available: {', '.join(available_boards() + [NO_BOARD])})")
    path = boards_dir() / f"{name}.toml"
    try:
        d = tomllib.loads(path.read_text())
        res = d["resources"]
        return Board(
            name=str(d["name"]), part=str(d["part"]), clock_mhz=float(d["clock_mhz"]),
            interface=str(d["interface"]), backend=str(d["backend"]), hls4ml_board=str(d["hls4ml_board"]),
            resources=Resources(int(res["bram_18k"]), int(res["dsp"]), int(res["ff"]), int(res["lut"])),
        )
    except (tomllib.TOMLDecodeError, KeyError, TypeError, ValueError) as e:
        raise HashhlsError(f"corrupt board file {path}: {e}") from e
