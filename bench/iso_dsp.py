"""The hashed accelerator against the dense design at the same DSP budget, per bundled model (estimates).

Builds (no C simulation) the bundled hash-version-2 models and the hash-version-1 checkpoints they replaced
(kept in ``hw_tests/data/v1/``) for the pynq-z2, and records what each build's summary says
(``hashhls.codegen.summary``: the analytic estimate, per-address costs from ``bench/results/address_unit.md``):
resources against the board, latency and II, BRAM, DSP, LUT and weight memory beside the dense design given
the DSPs the hashed design uses, and the ratios issue 10 sets targets for (latency within 2x of that dense
design, weight memory at most 1/6 of it). A benchmark of the estimate, not a synthesis result.

    python bench/iso_dsp.py     # prints the table, writes bench/results/iso_dsp.md
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

from hashhls.codegen.estimate import cycles_to_us
from hashhls.codegen.project import BuildConfig, build
from hashhls.codegen.summary import Comparison, load_summary

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results" / "iso_dsp.md"
BOARD = "pynq-z2"
#: (label, checkpoint) in table order
MODELS = (
    ("mnist-mlp 1/8, hash v2 (bundled)", REPO / "frontend" / "pretrained" / "mnist-mlp-c8.pt"),
    ("mnist-mlp 1/8, hash v1", REPO / "hw_tests" / "data" / "v1" / "mnist-mlp-c8-v1.pt"),
    ("lenet5 1/8, hash v2 (bundled)", REPO / "frontend" / "pretrained" / "lenet5-c8.pt"),
    ("lenet5 1/8, hash v1", REPO / "hw_tests" / "data" / "v1" / "lenet5-c8-v1.pt"),
)


def _row(label: str, ckpt: Path, tmp: Path) -> str:
    out = tmp / ckpt.stem
    build(BuildConfig(output_dir=out, model=ckpt, board=BOARD, compile_csim=False, progress=False))
    s = load_summary(out)
    b, d, r, mhz = s.built, s.dense_total, s.board.resources, s.board.clock_mhz
    fit = "yes" if s.fits() else "NO"
    if d is None:
        return (f"| {label} | {b.dsp} | {b.bram_18k} | {b.lut:,} | {fit} | {cycles_to_us(b.latency_cycles, mhz):,.1f} "
                f"| - | - | - | - | - |")
    return (f"| {label} | {b.dsp}/{r.dsp} | {b.bram_18k}/{r.bram_18k} | {b.lut:,}/{r.lut:,} | {fit} | "
            f"{cycles_to_us(b.latency_cycles, mhz):,.1f} | {Comparison.interval([row.built for row in s.rows]):,} | "
            f"{d.dsp} | {d.bram_18k} | {cycles_to_us(d.latency_cycles, mhz):,.1f} | "
            f"{Comparison.interval(list(s.dense)):,} | {b.latency_cycles / d.latency_cycles:.2f} | "
            f"{b.weight_words / d.weight_words:.3f} |")


def main() -> None:
    logging.basicConfig(level=logging.ERROR)
    with tempfile.TemporaryDirectory() as tmp:
        rows = [_row(label, ckpt, Path(tmp)) for label, ckpt in MODELS]
    lines = [
        "# Hashed accelerator vs the dense design at the same DSP budget (estimates)",
        "",
        f"Written by `python bench/iso_dsp.py`: `hashhls build CHECKPOINT --board {BOARD} --no-csim` per row, "
        "figures from the build's summary (`hashhls.codegen.estimate`; per-address costs measured by "
        "`bench/address_unit.py`, `bench/results/address_unit.md`). Analytic ESTIMATES, not synthesis results. "
        "The dense design is the same network with its N*M weights stored (hls4ml's stock Dense / Conv2D, "
        "Resource strategy), each layer's reuse factor chosen for the least latency within the DSP48E1 the "
        "hashed design uses. Latency per image at the board's clock; II = cycles between images (DATAFLOW: the "
        "slowest layer). Weight memory counts words, replicas included (v1: one copy per two lanes).",
        "",
        "| model | DSP | BRAM_18K | LUT | fits | latency (us) | II (cycles) | dense: DSP | dense: BRAM_18K "
        "| dense: latency (us) | dense: II | latency ratio | weight memory ratio |",
        "|---|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        *rows,
        "",
        "Issue 10's targets for the bundled 1/8 models: fit the board, latency ratio <= 2, weight memory ratio "
        "<= 1/6 (0.167).",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    RESULTS.write_text(text)
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
