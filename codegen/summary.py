"""The build summary: ESTIMATES per layer, as built vs dense, against the board (not synthesis results).

One data model (:class:`BuildSummary`, made by :func:`build_summary` from a manifest and the ingested layers, or
:func:`load_summary` from a build directory) and two renderings of it: ``summary.md`` (three tables: the layers
as built, hashed where hashed, with their lanes and reuse factors; the dense design given the same DSP48E1
budget, :func:`hashhls.codegen.estimate.dense_at_dsp_budget`: the N*M weights stored, per-layer reuse factors
chosen for the least latency; the two side by side with their ratios) and the compact table ``hashhls build``
prints (fits 100 columns). Both begin with the same headline: whether the design fits the board, and the key
ratios against the dense design at the same DSP budget.

"Stored words" has one meaning everywhere (:class:`hashhls.frontend.zoo.StoredWords`): the weight words a
layer keeps (K for a hashed layer, N*M for a dense one) plus its bias words, reported as both parts.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, replace

from ..core.terminal import safe
from ..frontend.zoo import StoredWords
from .boards import Board
from .estimate import (DenseLayer, LayerEstimate, cycles_to_us, dense, dense_at_dsp_budget, hashed_v1, hashed_v2,
                       per_pixel)
from .fixed import FixedType
from .manifest import BuildManifest
from .ops.spec import LayerSpec
from .precision import LayerPrecision, PrecisionPlan

TERMINAL_WIDTH = 100

#: What the headline and summary.md say of a graph without weighted layers (nothing to compare with a dense design).
NO_WEIGHTED_LAYER = "No weighted layer (no weights are stored): no dense design to compare with."


@dataclass(frozen=True)
class Comparison:
    """The build's estimate: each weighted layer as built, and the dense design at the same DSP budget."""

    names: list[str]
    built: list[LayerEstimate]
    dense: list[LayerEstimate] | None  #: None if no dense design fits the budget

    @staticmethod
    def total(ests: list[LayerEstimate]) -> LayerEstimate:
        return LayerEstimate(sum(e.bram_18k for e in ests), sum(e.dsp for e in ests),
                             sum(e.latency_cycles for e in ests), sum(e.multipliers for e in ests),
                             sum(e.lut for e in ests), sum(e.weight_words for e in ests), 0)

    @staticmethod
    def interval(ests: list[LayerEstimate]) -> int:
        """II under hls4ml's DATAFLOW top function: the slowest layer."""
        return max(e.latency_cycles for e in ests)


def layer_estimate(spec: LayerSpec, p: LayerPrecision, reuse: int) -> LayerEstimate:
    """One weighted layer as built (hashed v1/v2 or stock), at its reuse factor."""
    n_in, n_out = spec.fan_in, spec.virtual_weights // spec.fan_in
    width, acc = p.weight.width, p.accum.width
    h = spec.hash
    if h is not None and h.version == 2:
        from ..frontend.hashing import v2_width

        est = hashed_v2(n_in, n_out, h.buckets, h.banks, width, acc, v2_width(h.n_virtual))
    elif h is not None:
        est = hashed_v1(n_in, n_out, h.buckets, width, reuse, acc)
    else:
        est = dense(n_in, n_out, width, reuse, acc)
    return per_pixel(est, spec.window.out_h * spec.window.out_w) if spec.window is not None else est


def compare(specs: list[LayerSpec], plan: PrecisionPlan, reuse: dict[str, int]) -> Comparison:
    """Estimates of the weighted layers as built and of the dense design given the same DSPs."""
    weighted = [sp for sp in specs if sp.weighted]
    if not weighted:  # nothing multiplies weights (pooling, activations, a batch norm): nothing to compare
        return Comparison([], [], None)
    built = [layer_estimate(sp, plan.layers[sp.name], reuse[sp.name]) for sp in weighted]
    dense_layers = [DenseLayer(sp.fan_in, sp.virtual_weights // sp.fan_in,
                               sp.window.out_h * sp.window.out_w if sp.window is not None else 1,
                               sp.fan_in if sp.window is not None else 0) for sp in weighted]
    width = max(plan.layers[sp.name].weight.width for sp in weighted)
    acc = max(plan.layers[sp.name].accum.width for sp in weighted)
    iso = dense_at_dsp_budget(dense_layers, Comparison.total(built).dsp, width, acc)
    return Comparison([sp.name for sp in weighted], built, iso)


@dataclass(frozen=True)
class LayerRow:
    """One weighted layer as built: what it stores, its types and hash, and its estimate."""

    name: str
    kind: str
    virtual: int  #: N*M
    stored: StoredWords  #: K (or N*M) weight words + bias words
    weight_type: FixedType
    result_type: FixedType
    hash: str  #: "-", "v1" or "v2, P banks"
    built: LayerEstimate


@dataclass(frozen=True)
class BuildSummary:
    source: str
    board: Board
    backend: str
    io_type: str
    reuse_factor: int
    input_precision: str
    rows: tuple[LayerRow, ...]
    dense: tuple[LayerEstimate, ...] | None  #: the dense design at the same DSP budget, per layer (None: none fits)
    checks: tuple[str, ...] = ()  #: what the build verified (codegen.handoff.Verification.lines)

    @property
    def built(self) -> LayerEstimate:
        return Comparison.total([r.built for r in self.rows])

    @property
    def dense_total(self) -> LayerEstimate | None:
        return None if self.dense is None else Comparison.total(list(self.dense))

    @property
    def stored(self) -> StoredWords:
        return StoredWords(sum(r.stored.weights for r in self.rows), sum(r.stored.biases for r in self.rows))

    @property
    def dense_stored(self) -> StoredWords:
        return StoredWords(sum(r.virtual for r in self.rows), self.stored.biases)

    def fits(self) -> bool | None:
        """Whether the estimate fits the board's BRAM_18K, DSP and LUT (None: no board resources)."""
        r, b = self.board.resources, self.built
        return None if r is None else b.bram_18k <= r.bram_18k and b.dsp <= r.dsp and b.lut <= r.lut

    def headline(self) -> list[str]:
        """The first lines of every rendering: does it fit, and how it compares with the dense design."""
        b, r, mhz = self.built, self.board.resources, self.board.clock_mhz
        if r is None:
            fit = f"Board none (part {self.board.part}): no resource budget to check against."
        else:
            verdict = "Fits" if self.fits() else "Does NOT fit"
            fit = (f"{verdict} the {self.board.name} (estimate): BRAM_18K {_pct(b.bram_18k, r.bram_18k)}, "
                   f"DSP {_pct(b.dsp, r.dsp)}, LUT {_pct(b.lut, r.lut)}.")
        d = self.dense_total
        if not self.rows:
            ratios = NO_WEIGHTED_LAYER
        elif d is None:
            ratios = f"No dense design of this network fits in the same {b.dsp} DSP48E1."
        else:
            ratios = (f"vs dense at the same {b.dsp} DSPs: latency {b.latency_cycles / d.latency_cycles:.2f}x "
                      f"({cycles_to_us(b.latency_cycles, mhz):,.1f}/{cycles_to_us(d.latency_cycles, mhz):,.1f} us), "
                      f"weight memory {_ratio(b.weight_words, d.weight_words)}x, BRAM {b.bram_18k}/{d.bram_18k}.")
        stored = (f"Stored: {self.stored.weights:,} weights + {self.stored.biases:,} biases = {self.stored.total:,} "
                  f"words (dense: {self.dense_stored.total:,}).")
        return [fit, ratios, stored, *self.checks]

    # -- renderings -----------------------------------------------------------------------------------------

    def markdown(self) -> str:
        """``summary.md``: the headline, then the layers as built, the dense design at the same DSPs, side by side."""
        board, mhz = self.board, self.board.clock_mhz
        cmp = Comparison([r.name for r in self.rows], [r.built for r in self.rows],
                         None if self.dense is None else list(self.dense))
        tb = self.built
        lines = [
            f"# hashhls build: {terminal_safe(self.source)}",
            "",
            *[ln + "  " for ln in self.headline()],
            "",
            f"Board `{board.name}` (part `{board.part}`, {mhz:g} MHz), hls4ml backend `{self.backend}`, "
            f"{self.io_type}. Input `{self.input_precision}`. Reuse factor per layer: hash-v2 layers run one "
            f"lane per bank (R = ceil(fan-in / banks)), the others R = {self.reuse_factor}.",
            "",
            "**Resource and latency figures are analytic ESTIMATES (hashhls.codegen.estimate; per-address costs "
            "measured by bench/address_unit.py with Yosys), not synthesis results.** Latency in clock cycles. "
            "`stored` is the layer's weight words (K when hashed) + bias words.",
            "",
            "## As built",
            "",
            "| layer | kind | virtual N*M | stored (weights + biases) | weight / result type | hash | lanes | reuse "
            "| est. BRAM_18K | est. DSP | est. LUT | est. latency |",
            "|---|---|---:|---:|---|---|---:|---:|---:|---:|---:|---:|",
        ]
        for r in self.rows:
            e = r.built
            lines.append(f"| {r.name} | {r.kind} | {r.virtual:,} | {r.stored.weights:,} + {r.stored.biases:,} | "
                         f"`{_short(r.weight_type)}` / `{_short(r.result_type)}` | {r.hash} | {e.multipliers} | "
                         f"{e.reuse_factor} | {e.bram_18k} | {e.dsp} | {e.lut:,} | {e.latency_cycles:,} |")
        lines += [f"| **total** | | {sum(r.virtual for r in self.rows):,} | {self.stored.weights:,} + "
                  f"{self.stored.biases:,} | | | {tb.multipliers} | | {tb.bram_18k} | {tb.dsp} | {tb.lut:,} | "
                  f"{tb.latency_cycles:,} |", ""]
        lines += ["## Dense design at the same DSP budget", ""]
        if not self.rows:
            lines += [NO_WEIGHTED_LAYER, ""]
        elif cmp.dense is None:
            lines += [f"No dense design of this network fits in {tb.dsp} DSP48E1 (each layer needs at least one "
                      "multiplier, a stock convolution one per filter).", ""]
        else:
            td = Comparison.total(cmp.dense)
            lines += [
                f"The same network with its N*M weights stored (hls4ml's stock Dense / Conv2D, Resource strategy) "
                f"given the {tb.dsp} DSP48E1 the design above uses, each layer's reuse factor chosen so that the "
                "total latency is least.",
                "",
                "| layer | reuse | multipliers | est. BRAM_18K | est. DSP | est. LUT | est. latency |",
                "|---|---:|---:|---:|---:|---:|---:|",
                *[f"| {n} | {e.reuse_factor:,} | {e.multipliers} | {e.bram_18k} | {e.dsp} | {e.lut:,} | "
                  f"{e.latency_cycles:,} |" for n, e in zip(cmp.names, cmp.dense)],
                f"| **total** | | {td.multipliers} | {td.bram_18k} | {td.dsp} | {td.lut:,} | {td.latency_cycles:,} |",
                "",
                "## Side by side",
                "",
                "| estimate | as built | dense, same DSPs | as built / dense |",
                "|---|---:|---:|---:|",
                _row("latency (cycles)", tb.latency_cycles, td.latency_cycles),
                _row(f"latency (us at {mhz:g} MHz)", cycles_to_us(tb.latency_cycles, mhz),
                     cycles_to_us(td.latency_cycles, mhz), fmt="{:,.1f}"),
                _row("II, cycles between images (DATAFLOW: the slowest layer)", Comparison.interval(cmp.built),
                     Comparison.interval(cmp.dense)),
                _row("DSP48E1", tb.dsp, td.dsp),
                _row("BRAM_18K", tb.bram_18k, td.bram_18k),
                _row("LUT", tb.lut, td.lut),
                _row("weight memory (words, replicas included)", tb.weight_words, td.weight_words),
                "",
            ]
        if board.resources is not None:
            r = board.resources
            lines += [f"Against `{board.name}` capacity (BRAM_18K {r.bram_18k}, DSP {r.dsp}, LUT {r.lut:,}): as built "
                      f"{_pct(tb.bram_18k, r.bram_18k)} BRAM_18K, {_pct(tb.dsp, r.dsp)} DSP, {_pct(tb.lut, r.lut)} LUT: "
                      f"{'fits' if self.fits() else 'does NOT fit'} (estimates).", ""]
        if cmp.dense is not None:
            td = Comparison.total(cmp.dense)
            lines.append(f"Estimated latency: as built {cycles_to_us(tb.latency_cycles, mhz):,.1f} us, dense design "
                         f"at the same DSP budget {cycles_to_us(td.latency_cycles, mhz):,.1f} us at {mhz:g} MHz: ratio "
                         f"{tb.latency_cycles / td.latency_cycles:.2f}; weight memory ratio "
                         f"{tb.weight_words / td.weight_words:.3f} (words), {_ratio(tb.bram_18k, td.bram_18k)} "
                         "(BRAM_18K).")
        else:
            lines.append(f"Estimated latency: as built {cycles_to_us(tb.latency_cycles, mhz):,.1f} us at {mhz:g} MHz.")
        return "\n".join(lines) + "\n"

    def terminal(self, width: int = TERMINAL_WIDTH) -> str:
        """The compact table ``hashhls build`` prints: headline, one row per layer as built, totals."""
        from rich import box
        from rich.console import Console
        from rich.table import Table
        from rich.text import Text

        table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False, title_justify="left",
                      title=Text(f"{terminal_safe(self.source)}: estimates per layer (detail in summary.md)"))
        for name, right in (("layer", False), ("kind", False), ("N*M", True), ("K", True), ("hash", False),
                            ("lanes", True), ("BRAM", True), ("DSP", True), ("LUT", True), ("cycles", True)):
            table.add_column(name, justify="right" if right else "left", no_wrap=True,
                             overflow="ellipsis", max_width=18 if name == "layer" else None)
        for r in self.rows:
            e = r.built
            table.add_row(Text(r.name), r.kind, f"{r.virtual:,}", f"{r.stored.weights:,}", r.hash.replace(" banks", ""),
                          str(e.multipliers),
                          str(e.bram_18k), str(e.dsp), f"{e.lut:,}", f"{e.latency_cycles:,}")
        b = self.built
        table.add_row("total", "", f"{sum(r.virtual for r in self.rows):,}", f"{self.stored.weights:,}", "",
                      str(b.multipliers), str(b.bram_18k), str(b.dsp), f"{b.lut:,}", f"{b.latency_cycles:,}",
                      style="bold")
        out = io.StringIO()
        console = Console(file=out, width=width, color_system=None, force_terminal=False, highlight=False)
        for line in self.headline():
            console.print(Text(line.replace("`", "")))
        console.print(table)
        return "".join(line.rstrip() + "\n" for line in out.getvalue().splitlines())


def _hash_text(spec: LayerSpec) -> str:
    h = spec.hash
    return "-" if h is None else (f"v2, {h.banks} banks" if h.version == 2 else "v1")


def build_summary(manifest: BuildManifest, board: Board, specs: list[LayerSpec]) -> BuildSummary:
    """The summary of a build from its manifest (types, reuse factors) and its ingested layers."""
    info = {layer.name: layer for layer in manifest.layers}
    layers = {}
    for sp in specs:
        t = {k: FixedType.parse(v) for k, v in info[sp.name].precision.items()}
        layers[sp.name] = LayerPrecision(t.get("weight"), t.get("bias"), t["result"], t.get("accum"))
    plan = PrecisionPlan(FixedType.parse(manifest.input_precision), layers)
    reuse = {sp.name: int(info[sp.name].attrs.get("reuse_factor", manifest.reuse_factor)) for sp in specs}
    cmp = compare(specs, plan, reuse)
    spec_of = {sp.name: sp for sp in specs}
    rows = []
    for name, e in zip(cmp.names, cmp.built):
        sp, p = spec_of[name], layers[name]
        biases = 0 if sp.bias is None else int(sp.bias.size)
        rows.append(LayerRow(name, sp.kind, sp.virtual_weights, StoredWords(sp.stored_weights, biases), p.weight,
                             p.result, _hash_text(sp), e))
    return BuildSummary(manifest.source, board, manifest.backend, manifest.io_type, manifest.reuse_factor,
                        manifest.input_precision, tuple(rows), None if cmp.dense is None else tuple(cmp.dense))


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


def _row(what: str, built, dense_value, fmt: str = "{:,}") -> str:
    return f"| {what} | {fmt.format(built)} | {fmt.format(dense_value)} | {_ratio(built, dense_value)} |"


def _ratio(a, b) -> str:
    return f"{a / b:.3f}" if b else "-"


def _short(t: FixedType) -> str:
    return f"{'ap_fixed' if t.signed else 'ap_ufixed'}<{t.width},{t.integer}>"


def _pct(used: int, cap: int) -> str:
    return f"{used:,}/{cap:,} ({100.0 * used / cap:.0f}%)"
