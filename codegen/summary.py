"""The build summary: ESTIMATES per layer, hashed vs dense, against the board (not synthesis results).

One data model (:class:`BuildSummary`, made by :func:`build_summary`) and two
renderings of it: ``summary.md`` in the build directory (every column, hashed
and dense equivalent per layer) and the compact table ``hashhls build`` prints
(fits 100 columns). Both begin with the same headline: whether the design fits
the board, and the key ratios against the dense equivalent.

"Stored words" has one meaning everywhere (:class:`hashhls.frontend.zoo.StoredWords`):
the weight words a layer keeps (K for a hashed layer, N*M for a dense one) plus
its bias words, reported as both parts.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, replace

from ..core.terminal import safe
from ..frontend.zoo import StoredWords
from .boards import Board
from .estimate import LayerEstimate, cycles_to_us, dense, hashed_dense, per_pixel
from .fixed import FixedType
from .manifest import BuildManifest
from .ops.spec import LayerSpec

TERMINAL_WIDTH = 100


def layer_estimates(spec: LayerSpec, width: int, reuse: int) -> tuple[LayerEstimate, LayerEstimate]:
    """(as built, dense equivalent) estimates of one weighted layer."""
    n_in, n_out = spec.fan_in, spec.virtual_weights // spec.fan_in
    dense_est = dense(n_in, n_out, width, reuse)
    built = hashed_dense(n_in, n_out, spec.hash.buckets, width, reuse) if spec.hash is not None else dense_est
    if spec.window is not None:
        pixels = spec.window.out_h * spec.window.out_w
        return per_pixel(built, pixels), per_pixel(dense_est, pixels)
    return built, dense_est


@dataclass(frozen=True)
class LayerRow:
    """One weighted layer: what it stores, its types, and its estimates as built and as a dense layer."""

    name: str
    kind: str
    virtual: int  #: N*M
    stored: StoredWords  #: K (or N*M) weight words + bias words
    weight_type: FixedType
    result_type: FixedType
    built: LayerEstimate
    dense: LayerEstimate


def _sum(estimates: list[LayerEstimate]) -> LayerEstimate:
    return LayerEstimate(sum(e.bram_18k for e in estimates), sum(e.dsp for e in estimates),
                         sum(e.latency_cycles for e in estimates), sum(e.multipliers for e in estimates))


@dataclass(frozen=True)
class BuildSummary:
    source: str
    board: Board
    backend: str
    io_type: str
    reuse_factor: int
    input_precision: str
    rows: tuple[LayerRow, ...]
    checks: tuple[str, ...] = ()  #: what the build verified (codegen.handoff.Verification.lines)

    @property
    def built(self) -> LayerEstimate:
        return _sum([r.built for r in self.rows])

    @property
    def dense(self) -> LayerEstimate:
        return _sum([r.dense for r in self.rows])

    @property
    def stored(self) -> StoredWords:
        return StoredWords(sum(r.stored.weights for r in self.rows), sum(r.stored.biases for r in self.rows))

    @property
    def dense_stored(self) -> StoredWords:
        return StoredWords(sum(r.virtual for r in self.rows), self.stored.biases)

    def fits(self) -> bool | None:
        """Whether the estimate fits the board's BRAM_18K and DSP (None: no board resources)."""
        r = self.board.resources
        return None if r is None else self.built.bram_18k <= r.bram_18k and self.built.dsp <= r.dsp

    def headline(self) -> list[str]:
        """The first lines of every rendering: does it fit, and how it compares with the dense equivalent."""
        b, d, r = self.built, self.dense, self.board.resources
        if r is None:
            fit = f"Board none (part {self.board.part}): no resource budget to check against."
        else:
            verdict = "Fits" if self.fits() else "Does NOT fit"
            fit = (f"{verdict} the {self.board.name} (estimate): BRAM_18K {_pct(b.bram_18k, r.bram_18k)}, "
                   f"DSP {_pct(b.dsp, r.dsp)}.")
        mhz = self.board.clock_mhz
        ratios = (f"hashed/dense: weight words {_ratio(self.stored.weights, self.dense_stored.weights)}, BRAM_18K "
                  f"{b.bram_18k:,}/{d.bram_18k:,}, DSP {b.dsp:,}/{d.dsp:,}, latency "
                  f"{cycles_to_us(b.latency_cycles, mhz):,.1f}/{cycles_to_us(d.latency_cycles, mhz):,.1f} us.")
        stored = (f"Stored: {self.stored.weights:,} weights + {self.stored.biases:,} biases = {self.stored.total:,} "
                  f"words (dense: {self.dense_stored.total:,}).")
        return [fit, ratios, stored, *self.checks]

    # -- renderings -----------------------------------------------------------------------------------------

    def markdown(self) -> str:
        """``summary.md``: headline, then every layer as built and as its dense equivalent."""
        lines = [f"# hashhls build: {terminal_safe(self.source)}", "", *[ln + "  " for ln in self.headline()], "",
                 f"Board `{self.board.name}` (part `{self.board.part}`, {self.board.clock_mhz:g} MHz), hls4ml backend "
                 f"`{self.backend}`, {self.io_type}, reuse factor {self.reuse_factor}. Input `{self.input_precision}`.",
                 "",
                 "**Resource and latency figures are analytic ESTIMATES (hashhls.codegen.estimate), not synthesis "
                 "results.** Latency in clock cycles. `stored` is the layer's weight words (K when hashed) + bias "
                 "words.", "",
                 "The `est.` columns are the layer as built (hashed where hashed); `dense:` is the same layer with its "
                 "N*M weights stored (hls4ml's stock Dense / Conv2D).", "",
                 "| layer | kind | virtual N*M | stored (weights + biases) | weight / result type | est. BRAM_18K "
                 "| est. DSP | est. latency | dense: est. BRAM_18K | dense: est. DSP | dense: est. latency |",
                 "|---|---|---:|---:|---|---:|---:|---:|---:|---:|---:|"]
        for r in self.rows:
            lines.append(f"| {r.name} | {r.kind} | {r.virtual:,} | {r.stored.weights:,} + {r.stored.biases:,} | "
                         f"`{_short(r.weight_type)}` / `{_short(r.result_type)}` | {r.built.bram_18k} | {r.built.dsp} | "
                         f"{r.built.latency_cycles:,} | {r.dense.bram_18k} | {r.dense.dsp} | "
                         f"{r.dense.latency_cycles:,} |")
        b, d = self.built, self.dense
        lines += [f"| **total** | | {sum(r.virtual for r in self.rows):,} | {self.stored.weights:,} + "
                  f"{self.stored.biases:,} | | {b.bram_18k} | {b.dsp} | {b.latency_cycles:,} | {d.bram_18k} | {d.dsp} "
                  f"| {d.latency_cycles:,} |", ""]
        return "\n".join(lines) + "\n"

    def terminal(self, width: int = TERMINAL_WIDTH) -> str:
        """The compact table ``hashhls build`` prints: headline, one row per layer as built, totals."""
        from rich import box
        from rich.console import Console
        from rich.table import Table
        from rich.text import Text

        table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False, title_justify="left",
                      title=Text(f"{terminal_safe(self.source)}: estimates per layer (detail in summary.md)"))
        for name, right in (("layer", False), ("kind", False), ("N*M", True), ("K", True),
                            ("w / r type", False), ("BRAM18", True), ("DSP", True), ("cycles", True)):
            table.add_column(name, justify="right" if right else "left", no_wrap=not right or None,
                             overflow="ellipsis", max_width=24 if name == "layer" else None)
        for r in self.rows:
            table.add_row(Text(r.name), r.kind, f"{r.virtual:,}", f"{r.stored.weights:,}",
                          f"{r.weight_type.width},{r.weight_type.integer} / {r.result_type.width},{r.result_type.integer}",
                          str(r.built.bram_18k), str(r.built.dsp), f"{r.built.latency_cycles:,}")
        b = self.built
        table.add_row("total", "", f"{sum(r.virtual for r in self.rows):,}", f"{self.stored.weights:,}", "",
                      str(b.bram_18k), str(b.dsp), f"{b.latency_cycles:,}", style="bold")
        out = io.StringIO()
        console = Console(file=out, width=width, color_system=None, force_terminal=False, highlight=False)
        for line in self.headline():
            console.print(Text(line.replace("`", "")))
        console.print(table)
        return "".join(line.rstrip() + "\n" for line in out.getvalue().splitlines())


def build_summary(manifest: BuildManifest, board: Board, specs: list[LayerSpec]) -> BuildSummary:
    """The summary of a build from its manifest (types, reuse factor) and its ingested layers."""
    types = {info.name: info.precision for info in manifest.layers}
    rows = []
    for sp in specs:
        if not sp.weighted:
            continue
        weight_t, result_t = (FixedType.parse(types[sp.name][k]) for k in ("weight", "result"))
        built, dense_eq = layer_estimates(sp, weight_t.width, manifest.reuse_factor)
        biases = 0 if sp.bias is None else int(sp.bias.size)
        rows.append(LayerRow(sp.name, sp.kind, sp.virtual_weights, StoredWords(sp.stored_weights, biases), weight_t,
                             result_t, built, dense_eq))
    return BuildSummary(manifest.source, board, manifest.backend, manifest.io_type, manifest.reuse_factor,
                        manifest.input_precision, tuple(rows))


def load_summary(build_dir) -> BuildSummary:
    """The summary of a written build directory (its manifest and ``model.onnx``)."""
    from pathlib import Path

    from .boards import load_board
    from .graph import layer_specs
    from .handoff import Verification
    from .onnx_io import load_onnx

    manifest = BuildManifest.read(build_dir)
    model = load_onnx(Path(build_dir) / "model.onnx", "build model")
    summary = build_summary(manifest, load_board(manifest.board), layer_specs(model))
    verification = Verification.from_dict(manifest.verification)
    return replace(summary, checks=tuple(verification.lines())) if verification else summary


def terminal_safe(text: str) -> str:
    """``text`` with control characters (terminal escape sequences) shown as ``\\xNN``, never sent raw."""
    return safe(text)


def _short(t: FixedType) -> str:
    return f"{'ap_fixed' if t.signed else 'ap_ufixed'}<{t.width},{t.integer}>"


def _pct(used: int, cap: int) -> str:
    return f"{used}/{cap} ({100.0 * used / cap:.0f}%)"


def _ratio(a: int, b: int) -> str:
    return f"{a / b:.3f}x" if b else "n/a"
