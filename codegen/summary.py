"""The build summary table (``summary.md`` and the end of ``hashhls build``): ESTIMATES, dense vs hashed."""

from __future__ import annotations

from .boards import Board
from .estimate import LayerEstimate, cycles_to_us, dense, hashed_dense, per_pixel
from .fixed import FixedType
from .manifest import BuildManifest
from .precision import LayerSpec, PrecisionPlan


def layer_estimates(spec: LayerSpec, width: int, reuse: int) -> tuple[LayerEstimate, LayerEstimate]:
    """(as built, dense equivalent) estimates of one weighted layer."""
    n_in, n_out = spec.fan_in, spec.virtual_weights // spec.fan_in
    dense_est = dense(n_in, n_out, width, reuse)
    built = hashed_dense(n_in, n_out, spec.hash.buckets, width, reuse) if spec.hash is not None else dense_est
    if spec.window is not None:
        pixels = spec.window.out_h * spec.window.out_w
        return per_pixel(built, pixels), per_pixel(dense_est, pixels)
    return built, dense_est


def summary_markdown(manifest: BuildManifest, board: Board, specs: list[LayerSpec], plan: PrecisionPlan) -> str:
    """Markdown summary: per layer N*M, K, precision, estimated BRAM_18K / DSP / latency, totals vs the board."""
    reuse = manifest.reuse_factor
    rows = []
    tot_b = [0, 0, 0]
    tot_d = [0, 0, 0]
    for sp in specs:
        if not sp.weighted:
            continue
        p = plan.layers[sp.name]
        built, dense_eq = layer_estimates(sp, p.weight.width, reuse)
        k = sp.stored_weights
        for tot, e in ((tot_b, built), (tot_d, dense_eq)):
            tot[0] += e.bram_18k
            tot[1] += e.dsp
            tot[2] += e.latency_cycles
        rows.append(f"| {sp.name} | {sp.kind} | {sp.virtual_weights:,} | {k:,} | `{_short(p.weight)}` / "
                    f"`{_short(p.result)}` | {built.bram_18k} | {built.dsp} | {built.latency_cycles:,} | "
                    f"{dense_eq.bram_18k} | {dense_eq.dsp} | {dense_eq.latency_cycles:,} |")
    head = [
        f"# hashhls build: {manifest.source}",
        "",
        f"Board `{board.name}` (part `{board.part}`, {board.clock_mhz:g} MHz), hls4ml backend "
        f"`{manifest.backend}`, {manifest.io_type}, reuse factor {reuse}. Input `{manifest.input_precision}`.",
        "",
        "**Resource and latency figures are analytic ESTIMATES (hashhls.codegen.estimate), not synthesis "
        "results.** Latency in clock cycles.",
        "",
        "The `est.` columns are the layer as built (hashed where hashed); `dense:` is the same layer with its "
        "N*M weights stored (hls4ml's stock Dense / Conv2D).",
        "",
        "| layer | kind | virtual N*M | stored | weight / result type | est. BRAM_18K | est. DSP | est. latency "
        "| dense: est. BRAM_18K | dense: est. DSP | dense: est. latency |",
        "|---|---|---:|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    lat_b, lat_d = tot_b[2], tot_d[2]
    total = (f"| **total** | | {sum(s.virtual_weights for s in specs):,} | "
             f"{sum(s.stored_weights for s in specs):,} | | "
             f"{tot_b[0]} | {tot_b[1]} | {lat_b:,} | {tot_d[0]} | {tot_d[1]} | {lat_d:,} |")
    lines = head + rows + [total, ""]
    if board.resources is not None:
        r = board.resources
        lines += [
            f"Against `{board.name}` capacity (BRAM_18K {r.bram_18k}, DSP {r.dsp}): as built "
            f"{_pct(tot_b[0], r.bram_18k)} BRAM_18K, {_pct(tot_b[1], r.dsp)} DSP; dense equivalent "
            f"{_pct(tot_d[0], r.bram_18k)} BRAM_18K, {_pct(tot_d[1], r.dsp)} DSP (estimates).",
            "",
        ]
    lines.append(f"Estimated latency: as built {cycles_to_us(lat_b, board.clock_mhz):,.1f} us, dense equivalent "
                 f"{cycles_to_us(lat_d, board.clock_mhz):,.1f} us at {board.clock_mhz:g} MHz.")
    return "\n".join(lines) + "\n"


def _short(t: FixedType) -> str:
    return f"{'ap_fixed' if t.signed else 'ap_ufixed'}<{t.width},{t.integer}>"


def _pct(used: int, cap: int) -> str:
    return f"{used}/{cap} ({100.0 * used / cap:.0f}%)"
