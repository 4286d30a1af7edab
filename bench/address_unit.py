"""Measured cost of one on-chip address unit per hash version: Verilog from the spec, simulated, synthesised.

For each hash version (docs/hash-spec.md) this script

1. writes the address unit of one lane as Verilog (combinational, registered output; every per-layer
   constant -- key, round keys, K or the bank size -- folded in, as the code generator folds them),
2. checks it against the committed test vectors (docs/hash-test-vectors*.json) by simulation with
   Icarus Verilog (``iverilog``/``vvp``), every case of both files,
3. synthesises it with Yosys for the Xilinx 7-series (``synth_xilinx -family xc7``, with and without
   ``-nodsp``) and counts DSP48E1 / LUT / CARRY4 / FF (MUXF7/8 noted),

for the hashed layers of the bundled models and a grid of widths, plus one 16x16 multiply-accumulate lane
for scale. Results: ``bench/results/address_unit.md`` and ``codegen/address_cost.py`` (the constants
``hashhls.codegen.estimate`` uses; ``sw_tests/test_estimate.py`` checks the two agree).

Tools from Debian's packages: ``apt-get install yosys iverilog``. A benchmark, not a CI step.

    python bench/address_unit.py [--jobs 2]
"""

from __future__ import annotations

import argparse
import json
import math
import re
import shutil
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results" / "address_unit.md"
CONSTANTS = REPO / "codegen" / "address_cost.py"
VECTORS = {1: REPO / "docs" / "hash-test-vectors.json", 2: REPO / "docs" / "hash-test-vectors-v2.json"}
YOSYS_CELLS = ("DSP48E1", "LUT", "CARRY4", "FF", "MUXF")
#: The v2 grid: mixer width W x bank-size bits; the v1 grid: bits of K.
V2_WIDTHS = (8, 12, 16, 20, 24, 28, 32)
V2_SIZE_BITS = (4, 8, 12, 16)
V1_K_BITS = (8, 12, 15, 20, 24)


# -- the spec, in plain integers (as scripts/make_hash_vectors.py; only to fold constants) -------------

def fmix32(h: int) -> int:
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & 0xFFFFFFFF
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & 0xFFFFFFFF
    return h ^ (h >> 16)


def key(seed: int) -> int:
    return fmix32(seed ^ 0x9E3779B9)


def v2_width(n: int) -> int:
    return max(8, (n - 1).bit_length() + 2)


def v2_shifts(w: int) -> list[tuple[int, int]]:
    return [(min(w - 1, max(1, (w * a + 8) // 16)), min(w - 1, max(1, (w * b + 8) // 16)))
            for a, b in ((7, 6), (9, 3), (4, 5), (7, 9))]


def v2_keys(seed: int, w: int) -> list[int]:
    return [fmix32((key(seed) + j * 0x9E3779B9) & 0xFFFFFFFF) & ((1 << w) - 1) for j in range(4)]


# -- Verilog ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Unit:
    """One lane's address unit: the module text and what it computes."""

    name: str
    verilog: str
    index_bits: int
    out_bits: int


def v1_unit(name: str, seed: int, k: int, index_bits: int) -> Unit:
    """Hash version 1: fmix32(f ^ key) (two 32x32 constant multiplies), then ((h >> 1) * K) >> 31."""
    kb = max(1, (k - 1).bit_length())
    v = f"""module {name} (input clk, input [{index_bits - 1}:0] f, output reg [{kb - 1}:0] bucket, output reg neg);
  wire [31:0] x = {{{{{32 - index_bits}{{1'b0}}}}, f}} ^ 32'd{key(seed)};
  wire [31:0] a1 = x ^ (x >> 16);
  wire [31:0] a2 = a1 * 32'h85EBCA6B;
  wire [31:0] a3 = a2 ^ (a2 >> 13);
  wire [31:0] a4 = a3 * 32'hC2B2AE35;
  wire [31:0] h = a4 ^ (a4 >> 16);
  wire [{30 + kb}:0] p = h[31:1] * {31 + kb}'d{k};
  always @(posedge clk) begin bucket <= p[{30 + kb}:31]; neg <= h[0]; end
endmodule
"""
    return Unit(name, v, index_bits, kb)


def v2_unit(name: str, seed: int, n: int, size: int) -> Unit:
    """Hash version 2, one lane: the 4-round W-bit mixer, then ((h >> 1) * size) >> (W - 1) into its bank."""
    w = v2_width(n)
    index_bits = max(1, (n - 1).bit_length())
    sb = max(1, (size - 1).bit_length())  # local address bits
    mb = max(1, size.bit_length())       # bits of the constant
    lines = [f"module {name} (input clk, input [{index_bits - 1}:0] f, output reg [{sb - 1}:0] local_addr, "
             f"output reg neg);",
             f"  wire [{w - 1}:0] x0 = {{{{{w - index_bits}{{1'b0}}}}, f}};"]
    x = "x0"
    for j, ((a, b), k) in enumerate(zip(v2_shifts(w), v2_keys(seed, w))):
        lines += [f"  wire [{w - 1}:0] k{j} = {x} ^ {w}'d{k};",
                  f"  wire [{w - 1}:0] s{j} = k{j} + (k{j} << {a});",
                  f"  wire [{w - 1}:0] r{j} = s{j} ^ (s{j} >> {b});"]
        x = f"r{j}"
    lines += [f"  wire [{w - 2 + mb}:0] p = {x}[{w - 1}:1] * {w - 1 + mb}'d{size};",
              f"  always @(posedge clk) begin local_addr <= p[{w - 2 + sb}:{w - 1}]; neg <= {x}[0]; end",
              "endmodule", ""]
    return Unit(name, "\n".join(lines), index_bits, sb)


def mac_unit(name: str = "mac16") -> Unit:
    """For scale: one 16x16 signed multiply-accumulate lane with a 40-bit accumulator."""
    v = f"""module {name} (input clk, input signed [15:0] a, input signed [15:0] b, output reg signed [39:0] acc);
  always @(posedge clk) acc <= acc + a * b;
endmodule
"""
    return Unit(name, v, 32, 40)


# -- simulation against the vectors ----------------------------------------------------------------------

def _sim(units: list[Unit], tb_body: str, workdir: Path) -> list[str]:
    src = workdir / "sim.v"
    src.write_text("".join(u.verilog for u in units) + tb_body)
    exe = workdir / "sim.vvp"
    subprocess.run(["iverilog", "-g2005", "-o", str(exe), str(src)], check=True, capture_output=True, text=True)
    out = subprocess.run(["vvp", "-n", str(exe)], check=True, capture_output=True, text=True).stdout
    return [ln for ln in out.splitlines() if ln and not ln.startswith("VCD")]


def check_v1_vectors(workdir: Path) -> int:
    """Simulate a v1 unit per vector case; return the number of vectors checked (raises on a mismatch)."""
    cases = json.loads(VECTORS[1].read_text())["cases"]
    checked = 0
    for n, c in enumerate(cases):
        nv = math.prod(c["shape"])
        u = v1_unit(f"v1c{n}", c["seed"], c["buckets"], max(1, (nv - 1).bit_length()))
        drive = "\n".join(f"    f = {f}; #1 clk = 1; #1 clk = 0; $display(\"%0d %0d\", bucket, neg);"
                          for f in c["index"])
        tb = (f"module tb; reg clk = 0; reg [{u.index_bits - 1}:0] f; wire [{u.out_bits - 1}:0] bucket; wire neg;\n"
              f"  {u.name} dut(clk, f, bucket, neg);\n  initial begin\n{drive}\n  end\nendmodule\n")
        got = [tuple(map(int, ln.split())) for ln in _sim([u], tb, workdir)]
        want = [(b, int(s < 0)) for b, s in zip(c["bucket"], c["sign"])]
        if got != want:
            raise SystemExit(f"v1 Verilog disagrees with the vectors for case {n} {c['shape']}")
        checked += len(want)
    return checked


def check_v2_vectors(workdir: Path) -> int:
    """Simulate the v2 units (one per distinct bank size) per vector case; bucket = bank * B + local."""
    cases = json.loads(VECTORS[2].read_text())["cases"]
    checked = 0
    for n, c in enumerate(cases):
        nv = math.prod(c["shape"])
        fan_in, k, p = nv // c["shape"][0], c["buckets"], c["banks"]
        b = k // p
        sizes = sorted({b, k - (p - 1) * b})
        units = [v2_unit(f"v2c{n}s{j}", c["seed"], nv, s) for j, s in enumerate(sizes)]
        decl = "".join(f"  wire [{u.out_bits - 1}:0] l{j}; wire n{j}; {u.name} d{j}(clk, f, l{j}, n{j});\n"
                       for j, u in enumerate(units))
        lines = []
        for f in c["index"]:
            bank = (f % fan_in) % p
            j = sizes.index(b if bank < p - 1 else k - (p - 1) * b)
            lines.append(f"    f = {f}; #1 clk = 1; #1 clk = 0; $display(\"%0d %0d\", {bank * b} + l{j}, n{j});")
        tb = (f"module tb; reg clk = 0; reg [{units[0].index_bits - 1}:0] f;\n{decl}  initial begin\n"
              + "\n".join(lines) + "\n  end\nendmodule\n")
        got = [tuple(map(int, ln.split())) for ln in _sim(units, tb, workdir)]
        want = [(bk, int(s < 0)) for bk, s in zip(c["bucket"], c["sign"])]
        if got != want:
            raise SystemExit(f"v2 Verilog disagrees with the vectors for case {n} {c['shape']} P={p}")
        checked += len(want)
    return checked


# -- synthesis -------------------------------------------------------------------------------------------

def synth(unit: Unit, nodsp: bool, workdir: Path) -> dict[str, int]:
    """Yosys synth_xilinx -family xc7 cell counts of one unit (LUT = LUT1..LUT6 incl. INV)."""
    src = workdir / f"{unit.name}.v"
    src.write_text(unit.verilog)
    stat = workdir / f"{unit.name}{'-nodsp' if nodsp else ''}.stat"
    cmd = (f"read_verilog {src}; synth_xilinx -family xc7 -top {unit.name}{' -nodsp' if nodsp else ''}; "
           f"tee -q -o {stat} stat")
    subprocess.run(["yosys", "-q", "-p", cmd], check=True, capture_output=True, text=True)
    out = stat.read_text()
    cells: dict[str, int] = {}
    for name, count in re.findall(r"^\s+(\w+)\s+(\d+)\s*$", out, re.M):
        cells[name] = cells.get(name, 0) + int(count)
    return {
        "DSP48E1": cells.get("DSP48E1", 0),
        "LUT": sum(v for k, v in cells.items() if re.fullmatch(r"LUT\d|INV", k)),
        "CARRY4": cells.get("CARRY4", 0),
        "FF": sum(v for k, v in cells.items() if re.fullmatch(r"FD\w+", k)),
        "MUXF": cells.get("MUXF7", 0) + cells.get("MUXF8", 0),
    }


def bundled_layers() -> list[tuple[str, int, int, int, int, int]]:
    """(model, layer, n, fan-in, K, P) of every hashed layer of the bundled checkpoints."""
    from hashhls.frontend.checkpoint import load_checkpoint
    from hashhls.frontend.layers import HashedConv2d, HashedLinear
    from hashhls.frontend.zoo import default_checkpoint, lenet5_checkpoint

    rows = []
    for ckpt in (default_checkpoint(), lenet5_checkpoint()):
        model, cfg = load_checkpoint(ckpt)
        for i, m in enumerate(x for x in model.modules() if isinstance(x, (HashedLinear, HashedConv2d))):
            rows.append((cfg.name, f"layer {i}", m.hash.n_virtual, m.hash.fan_in, m.hash.buckets, m.hash.banks,
                         m.hash.version, m.hash.seed))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jobs", type=int, default=2, help="parallel yosys runs (default 2)")
    args = ap.parse_args()
    for tool in ("yosys", "iverilog", "vvp"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is not installed (apt-get install yosys iverilog)")
    yosys_version = subprocess.run(["yosys", "-V"], capture_output=True, text=True).stdout.strip()
    iverilog_version = subprocess.run(["iverilog", "-V"], capture_output=True, text=True).stdout.splitlines()[0]

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        n1, n2 = check_v1_vectors(work), check_v2_vectors(work)
        print(f"simulation: {n1} v1 and {n2} v2 vectors match", flush=True)

        jobs: list[tuple[str, dict, Unit]] = []  # (kind, key fields, unit)
        for bits in V1_K_BITS:
            k = (1 << bits) - 3
            jobs.append(("v1-grid", {"version": 1, "width": 32, "size_bits": bits}, v1_unit(f"g1k{bits}", 1, k, 18)))
        for w in V2_WIDTHS:
            for sb in V2_SIZE_BITS:
                if sb > w - 2:
                    continue
                size = (1 << sb) - 3 if sb > 2 else (1 << sb) - 1
                n = 1 << (w - 2)  # the largest layer of width w
                jobs.append(("v2-grid", {"version": 2, "width": w, "size_bits": sb}, v2_unit(f"g2w{w}s{sb}", 1, n, size)))
        layers = bundled_layers()
        for model, layer, n, fan_in, k, p, version, seed in layers:
            name = f"{model.replace('-', '_')}_{layer.replace(' ', '')}"
            if version == 2:
                size = k // p
                unit = v2_unit(name, seed, n, size)
                fields = {"version": 2, "width": v2_width(n), "size_bits": max(1, size.bit_length())}
            else:
                unit = v1_unit(name, seed, k, max(1, (n - 1).bit_length()))
                fields = {"version": 1, "width": 32, "size_bits": max(1, k.bit_length())}
            jobs.append(("layer", {**fields, "model": model, "layer": layer, "n": n, "K": k, "P": p}, unit))
        # the v1 unit of the issue / notes, for comparison: K = 29,400, an 18-bit index
        jobs.append(("note", {"version": 1, "width": 32, "size_bits": 15}, v1_unit("v1_k29400", 0, 29400, 18)))
        jobs.append(("mac", {}, mac_unit()))

        def run(job):
            kind, fields, unit = job
            return kind, fields, unit, synth(unit, False, work), synth(unit, True, work)

        with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
            results = list(pool.map(run, jobs))
    print(f"synthesised {len(results)} units x 2", flush=True)
    write_results(results, n1, n2, yosys_version, iverilog_version)
    write_constants(results)


def _cells(c: dict) -> str:
    return f"{c['DSP48E1']} | {c['LUT']} | {c['CARRY4']} | {c['FF']} | {c['MUXF']}"


def write_results(results, n1: int, n2: int, yosys_version: str, iverilog_version: str) -> None:
    head = "| DSP48E1 | LUT | CARRY4 | FF | MUXF7/8 | -nodsp: DSP48E1 | LUT | CARRY4 | FF | MUXF7/8 |"
    sep = "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    lines = [
        "# Address unit cost per hash version, measured",
        "",
        "Written by `python bench/address_unit.py`. Each unit is one lane's address computation written as",
        "Verilog from docs/hash-spec.md (every per-layer constant folded in, registered outputs), simulated with",
        f"Icarus Verilog against every committed test vector ({n1:,} version-1 and {n2:,} version-2 vectors: all",
        "match), and synthesised by Yosys for the Xilinx 7-series (xc7z020 of the PYNQ-Z2):",
        "`yosys -p \"read_verilog unit.v; synth_xilinx -family xc7 -top UNIT [-nodsp]; stat\"`. LUT counts every",
        "LUT1..LUT6 and INV cell; FF the output registers; MUXF7/8 are noted, not counted as LUTs.",
        "",
        f"Tools: {yosys_version}; {iverilog_version}.",
        "",
        "## The bundled models' hashed layers (one lane's unit)",
        "",
        "Version 2 outputs the address inside the lane's bank (the bank is the lane: its base is the start of",
        "the partition, no adder); version 1 the bucket in all K.",
        "",
        "| model | layer | hash | N*M | K | P | W | " + head[2:],
        "|---|---|---|---:|---:|---:|---:" + sep,
    ]
    for kind, f, unit, dsp, nodsp in results:
        if kind == "layer":
            lines.append(f"| {f['model']} | {f['layer']} | v{f['version']} | {f['n']:,} | {f['K']:,} | {f['P']} | "
                         f"{f['width']} | {_cells(dsp)} | {_cells(nodsp)} |")
    lines += ["", "## Reference units", "", "| unit | " + head[2:], "|---" + sep]
    for kind, f, unit, dsp, nodsp in results:
        if kind == "note":
            lines.append(f"| hash v1, K = 29,400 (fmix32 + 31x15 multiply-high), 18-bit index | {_cells(dsp)} | "
                         f"{_cells(nodsp)} |")
        elif kind == "mac":
            lines.append(f"| one 16x16 multiply-accumulate lane, 40-bit accumulator | {_cells(dsp)} | "
                         f"{_cells(nodsp)} |")
    lines += ["", "## Grid (what the build's estimate looks up)", "",
              "`hashhls.codegen.estimate` takes, for a layer, the smallest grid row of its hash version whose width",
              "and constant bits cover the layer's (v2: W and bitlen(bank size); v1: bitlen(K)).",
              "",
              "| hash | W | constant bits | " + head[2:], "|---|---:|---:" + sep]
    for kind, f, unit, dsp, nodsp in results:
        if kind in ("v1-grid", "v2-grid"):
            lines.append(f"| v{f['version']} | {f['width']} | {f['size_bits']} | {_cells(dsp)} | {_cells(nodsp)} |")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text("\n".join(lines) + "\n")
    print(f"wrote {RESULTS}")


def write_constants(results) -> None:
    rows = []
    for kind, f, unit, dsp, nodsp in results:
        if kind in ("v1-grid", "v2-grid"):
            rows.append((f["version"], f["width"], f["size_bits"], dsp["DSP48E1"], dsp["LUT"], dsp["CARRY4"],
                         dsp["FF"], nodsp["DSP48E1"], nodsp["LUT"], nodsp["CARRY4"], nodsp["FF"]))
        if kind == "mac":
            mac = (dsp["DSP48E1"], dsp["LUT"], dsp["CARRY4"], dsp["FF"])
    body = "\n".join(f"    {r}," for r in rows)
    CONSTANTS.write_text(f'''"""Per-address cost of the on-chip hash, MEASURED by ``bench/address_unit.py`` (generated; do not edit).

Yosys ``synth_xilinx -family xc7`` cell counts of one lane's address unit, written as Verilog from
docs/hash-spec.md and checked against the committed vectors by simulation; the same numbers as the grid of
``bench/results/address_unit.md`` (``sw_tests/test_estimate.py`` checks that they agree).
"""

#: (hash version, width W, constant bits, DSP48E1, LUT, CARRY4, FF, then the same with -nodsp)
ADDRESS_UNIT_GRID: tuple[tuple[int, ...], ...] = (
{body}
)
#: One 16x16 multiply-accumulate lane (40-bit accumulator): (DSP48E1, LUT, CARRY4, FF)
MAC_LANE: tuple[int, int, int, int] = {mac}
''')
    print(f"wrote {CONSTANTS}")


if __name__ == "__main__":
    main()
