"""The build summary (``summary.md`` and the end of ``hashhls build``): ESTIMATES, as built vs dense.

Three tables: the layers as built (hashed where hashed, with their lanes and reuse factors), the dense
design given the same DSP48E1 budget (:func:`hashhls.codegen.estimate.dense_at_dsp_budget`: the N*M
weights stored, per-layer reuse factors chosen for the least latency), and the two side by side with
their ratios -- latency and II, DSP, BRAM_18K, LUT and weight memory -- against the board's capacity.
"""

from __future__ import annotations

from dataclasses import dataclass

from .boards import Board
from .estimate import (DenseLayer, LayerEstimate, cycles_to_us, dense, dense_at_dsp_budget, hashed_v1, hashed_v2,
                       per_pixel)
from .fixed import FixedType
from .manifest import BuildManifest
from .precision import LayerPrecision, LayerSpec, PrecisionPlan


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
    built = [layer_estimate(sp, plan.layers[sp.name], reuse[sp.name]) for sp in weighted]
    dense_layers = [DenseLayer(sp.fan_in, sp.virtual_weights // sp.fan_in,
                               sp.window.out_h * sp.window.out_w if sp.window is not None else 1,
                               sp.fan_in if sp.window is not None else 0) for sp in weighted]
    width = max(plan.layers[sp.name].weight.width for sp in weighted)
    acc = max(plan.layers[sp.name].accum.width for sp in weighted)
    iso = dense_at_dsp_budget(dense_layers, Comparison.total(built).dsp, width, acc)
    return Comparison([sp.name for sp in weighted], built, iso)


def summary_markdown(manifest: BuildManifest, board: Board, specs: list[LayerSpec], plan: PrecisionPlan,
                     reuse: dict[str, int]) -> str:
    """Markdown summary: the layers as built, the dense design at the same DSP budget, the two side by side."""
    cmp = compare(specs, plan, reuse)
    spec_of = {sp.name: sp for sp in specs}
    mhz = board.clock_mhz
    lines = [
        f"# hashhls build: {manifest.source}",
        "",
        f"Board `{board.name}` (part `{board.part}`, {mhz:g} MHz), hls4ml backend `{manifest.backend}`, "
        f"{manifest.io_type}. Input `{manifest.input_precision}`. Reuse factor per layer: hash-v2 layers run one "
        f"lane per bank (R = ceil(fan-in / banks)), the others R = {manifest.reuse_factor}.",
        "",
        "**Resource and latency figures are analytic ESTIMATES (hashhls.codegen.estimate; per-address costs "
        "measured by bench/address_unit.py with Yosys), not synthesis results.** Latency in clock cycles.",
        "",
        "## As built",
        "",
        "| layer | kind | virtual N*M | stored | weight / result type | hash | lanes | reuse | est. BRAM_18K "
        "| est. DSP | est. LUT | est. latency |",
        "|---|---|---:|---:|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, e in zip(cmp.names, cmp.built):
        sp, p = spec_of[name], plan.layers[name]
        h = sp.hash
        hash_txt = "-" if h is None else (f"v2, {h.banks} banks" if h.version == 2 else "v1")
        lines.append(f"| {name} | {sp.kind} | {sp.virtual_weights:,} | {sp.stored_weights:,} | "
                     f"`{_short(p.weight)}` / `{_short(p.result)}` | {hash_txt} | {e.multipliers} | {e.reuse_factor} | "
                     f"{e.bram_18k} | {e.dsp} | {e.lut:,} | {e.latency_cycles:,} |")
    tb = Comparison.total(cmp.built)
    lines += [f"| **total** | | {sum(s.virtual_weights for s in specs):,} | {sum(s.stored_weights for s in specs):,} "
              f"| | | {tb.multipliers} | | {tb.bram_18k} | {tb.dsp} | {tb.lut:,} | {tb.latency_cycles:,} |", ""]
    lines += ["## Dense design at the same DSP budget", ""]
    if cmp.dense is None:
        lines += [f"No dense design of this network fits in {tb.dsp} DSP48E1 (each layer needs at least one "
                  "multiplier, a stock convolution one per filter).", ""]
    else:
        td = Comparison.total(cmp.dense)
        lines += [
            f"The same network with its N*M weights stored (hls4ml's stock Dense / Conv2D, Resource strategy) "
            f"given the {tb.dsp} DSP48E1 the design above uses, each layer's reuse factor chosen so that the total "
            "latency is least.",
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
        fits = tb.dsp <= r.dsp and tb.bram_18k <= r.bram_18k and tb.lut <= r.lut
        lines += [f"Against `{board.name}` capacity (BRAM_18K {r.bram_18k}, DSP {r.dsp}, LUT {r.lut:,}): as built "
                  f"{_pct(tb.bram_18k, r.bram_18k)} BRAM_18K, {_pct(tb.dsp, r.dsp)} DSP, {_pct(tb.lut, r.lut)} LUT: "
                  f"{'fits' if fits else 'does NOT fit'} (estimates).", ""]
    if cmp.dense is not None:
        td = Comparison.total(cmp.dense)
        lines.append(f"Estimated latency: as built {cycles_to_us(tb.latency_cycles, mhz):,.1f} us, dense design at "
                     f"the same DSP budget {cycles_to_us(td.latency_cycles, mhz):,.1f} us at {mhz:g} MHz: ratio "
                     f"{tb.latency_cycles / td.latency_cycles:.2f}; weight memory ratio "
                     f"{tb.weight_words / td.weight_words:.3f} (words), {_ratio(tb.bram_18k, td.bram_18k)} (BRAM_18K).")
    else:
        lines.append(f"Estimated latency: as built {cycles_to_us(tb.latency_cycles, mhz):,.1f} us at {mhz:g} MHz.")
    return "\n".join(lines) + "\n"


def _row(what: str, built, dense_value, fmt: str = "{:,}") -> str:
    return f"| {what} | {fmt.format(built)} | {fmt.format(dense_value)} | {_ratio(built, dense_value)} |"


def _ratio(a, b) -> str:
    return f"{a / b:.3f}" if b else "-"


def _short(t: FixedType) -> str:
    return f"{'ap_fixed' if t.signed else 'ap_ufixed'}<{t.width},{t.integer}>"


def _pct(used: int, cap: int) -> str:
    return f"{used:,}/{cap:,} ({100.0 * used / cap:.0f}%)"
