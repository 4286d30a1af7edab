"""Analytic resource and latency ESTIMATES per layer: hashed (v1 or v2) and dense (not synthesis results).

Per-address costs are MEASURED, not guessed: ``hashhls.codegen.address_cost`` holds the Yosys
``synth_xilinx -family xc7`` cell counts of each hash version's address unit that ``bench/address_unit.py``
wrote as Verilog from docs/hash-spec.md, checked against the committed vectors by simulation and synthesised;
the same figures are in ``bench/results/address_unit.md`` (``sw_tests/test_estimate.py`` checks the two
agree). A layer takes the smallest measured unit of its version whose width and constant bits cover its own.

The model, per weighted layer with ``lanes`` multipliers (a convolution is the layer of one output pixel,
``fan_in = C*kh*kw`` by ``n_filt``, run once per output pixel):

* hash v2 (``templates/nnet_hashed.h``, ``hashed_dense_banked``): ``lanes = P`` banks, reuse factor
  ``R = ceil(fan_in / P)``, latency ``n_out * R`` cycles (+ pipeline fill). Lane l reads only bank l, so
  the K words are stored once: each bank (``floor(K/P)`` words, the last one the rest) is its own memory.
  DSP = one per lane (the MAC; the address unit's constant multiply is built in fabric, 0 DSP, see
  :data:`hashhls.codegen.lanes.ADDRESS_IN_FABRIC`); LUT = the measured address unit per lane.
* hash v1 (``hashed_dense``): ``lanes = ceil(fan_in / R)``, every lane reads the one K-word array at its own
  random address: one BRAM port per lane, i.e. ``ceil(lanes / 2)`` copies of the K words; DSP = the MAC
  and the measured address unit (8 DSP48E1) per lane.
* dense (hls4ml's stock ``Dense`` / ``Conv2D``, Resource strategy): ``ceil(N*M / R)`` multipliers,
  latency ``R`` cycles, the weights reshaped into ``R`` words of ``N*M/R`` weights (one memory read per
  cycle for all multipliers).
* memories: BRAM_18K as the best of its aspect ratios (16K x 1 ... 512 x 36); a memory of at most
  :data:`SMALL_MEMORY_BITS`, or at most 64 words deep, goes to LUTRAM (64 bits per LUT) instead.
* LUT: address units + one accumulator-width adder per lane (the adder tree / accumulation) + LUTRAM +
  :data:`CONTROL_LUT` per layer. Layers without weights (ReLU, pooling) are not counted.

:func:`dense_at_dsp_budget` is the comparison a hardware user asks for: the dense design given the same
DSP48s as the hashed one, per-layer reuse factors chosen (exactly, by dynamic programming) for the least
total latency. Latency sums the layers; with hls4ml's DATAFLOW top function the interval between images
(II) is about the slowest layer's latency.

Numbers are order-of-magnitude guides for choosing P, R and K. Run Vivado HLS (``build_prj.tcl``) for
real figures.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .address_cost import ADDRESS_UNIT_GRID, MAC_LANE
from .lanes import ADDRESS_IN_FABRIC

BRAM18_BITS = 18 * 1024
#: (depth, width) aspect ratios of one BRAM_18K (7-series, UG473).
BRAM18_SHAPES = ((16384, 1), (8192, 2), (4096, 4), (2048, 9), (1024, 18), (512, 36))
PIPELINE_DEPTH = 8  #: cycles of fill per layer (address + multiply + add), a guess
SMALL_MEMORY_BITS = 1024  #: memories this small go to LUTRAM/registers, not BRAM
LUTRAM_BITS_PER_LUT = 64  #: a 7-series LUT6 as RAM64X1S
CONTROL_LUT = 100  #: loop counters, index and control logic per layer, a guess


@dataclass(frozen=True)
class AddressCost:
    """One lane's address unit (measured): DSP48E1, LUT, CARRY4, FF."""

    dsp: int
    lut: int
    carry4: int
    ff: int


@dataclass(frozen=True)
class LayerEstimate:
    """Estimated cost of one weighted layer (labelled as an estimate wherever shown)."""

    bram_18k: int
    dsp: int
    latency_cycles: int
    multipliers: int
    lut: int = 0
    weight_words: int = 0  #: words of weight memory, replicas included
    reuse_factor: int = 1


def in_lutram(depth: int, width: int) -> bool:
    """A memory of at most SMALL_MEMORY_BITS, or one LUT deep (a shallow, wide reshaped word), is LUTRAM."""
    return depth * width <= SMALL_MEMORY_BITS or depth <= LUTRAM_BITS_PER_LUT


def memory_brams(depth: int, width: int) -> int:
    """BRAM_18K of one depth x width memory (0 when it goes to LUTRAM)."""
    if in_lutram(depth, width):
        return 0
    return min(math.ceil(depth / d) * math.ceil(width / w) for d, w in BRAM18_SHAPES)


def lutram_luts(depth: int, width: int) -> int:
    """LUTs of a memory in LUTRAM (0 for one in BRAM): one LUT6 per 64 words of each bit."""
    if not in_lutram(depth, width):
        return 0
    return math.ceil(depth / LUTRAM_BITS_PER_LUT) * width


def address_cost(version: int, width: int, constant_bits: int, fabric: bool) -> AddressCost:
    """The measured address unit of the smallest grid row covering (W, constant bits), for one lane.

    Beyond the grid, the largest row of the version is scaled by the width (LUT, CARRY4) -- never the case
    for layers up to 2^30 weights, which the grid covers.
    """
    rows = [r for r in ADDRESS_UNIT_GRID if r[0] == version]
    fits = [r for r in rows if r[1] >= width and r[2] >= constant_bits]
    row = min(fits, key=lambda r: (r[1], r[2])) if fits else max(rows, key=lambda r: (r[1], r[2]))
    dsp, lut, carry, ff = row[7:11] if fabric else row[3:7]
    if not fits:
        scale = max(width / row[1], constant_bits / row[2])
        lut, carry = math.ceil(lut * scale), math.ceil(carry * scale)
    return AddressCost(dsp, lut, carry, ff)


def _bits(x: int) -> int:
    return max(1, int(x).bit_length())


def _lane_lut(acc_width: int) -> int:
    """The MAC's fabric share per lane: its measured LUTs and one accumulator-width adder."""
    return MAC_LANE[1] + acc_width


def hashed_v2(n_in: int, n_out: int, k: int, banks: int, width: int, acc_width: int, hash_width: int,
              fabric: bool = ADDRESS_IN_FABRIC) -> LayerEstimate:
    """The banked kernel: P = banks lanes, each with its own bank of floor(K/P) words (the last: the rest)."""
    p = int(banks)
    r = math.ceil(n_in / p)
    size, last = k // p, k - (p - 1) * (k // p)
    addr = address_cost(2, hash_width, _bits(last), fabric)
    bram = (p - 1) * memory_brams(size, width) + memory_brams(last, width)
    lutram = (p - 1) * lutram_luts(size, width) + lutram_luts(last, width)
    dsp = p * (MAC_LANE[0] + addr.dsp)
    lut = p * (addr.lut + _lane_lut(acc_width)) + lutram + CONTROL_LUT
    return LayerEstimate(bram, dsp, n_out * r + PIPELINE_DEPTH, p, lut, k, r)


def hashed_v1(n_in: int, n_out: int, k: int, width: int, reuse: int, acc_width: int) -> LayerEstimate:
    """The v1 kernel: ceil(n_in/R) lanes reading one K-word array at random addresses (a copy per 2 lanes)."""
    r = max(1, min(reuse, n_in))
    lanes = math.ceil(n_in / r)
    copies = math.ceil(lanes / 2)  # one BRAM port per lane, two ports per memory
    addr = address_cost(1, 32, _bits(k), fabric=False)
    dsp = lanes * (MAC_LANE[0] + addr.dsp)
    lut = lanes * (addr.lut + _lane_lut(acc_width)) + copies * lutram_luts(k, width) + CONTROL_LUT
    return LayerEstimate(memory_brams(k, width) * copies, dsp, n_out * r + PIPELINE_DEPTH, lanes, lut, k * copies, r)


def dense(n_in: int, n_out: int, width: int, reuse: int, acc_width: int = 32) -> LayerEstimate:
    """hls4ml's stock dense (Resource strategy): ceil(N*M/R) multipliers, weights reshaped R deep."""
    r = max(1, min(reuse, n_in * n_out))
    mults = math.ceil(n_in * n_out / r)
    bram = memory_brams(r, mults * width)
    lut = mults * _lane_lut(acc_width) + lutram_luts(r, mults * width) + CONTROL_LUT
    return LayerEstimate(bram, mults * MAC_LANE[0], r + PIPELINE_DEPTH, mults, lut, n_in * n_out, r)


def cycles_to_us(cycles: int, clock_mhz: float) -> float:
    return cycles / clock_mhz


def per_pixel(est: LayerEstimate, pixels: int) -> LayerEstimate:
    """A convolution: the per-pixel layer estimate, run once per output pixel."""
    return LayerEstimate(est.bram_18k, est.dsp, est.latency_cycles * pixels, est.multipliers, est.lut,
                         est.weight_words, est.reuse_factor)


@dataclass(frozen=True)
class DenseLayer:
    """What the dense design of one weighted layer is: ``fan_in x n_out`` weights, run ``pixels`` times."""

    fan_in: int
    n_out: int
    pixels: int = 1  #: output pixels of a convolution, 1 for a dense layer
    max_reuse: int = 0  #: 0: N*M; a stock convolution needs R <= fan_in (hls4ml)

    @property
    def weights(self) -> int:
        return self.fan_in * self.n_out

    def reuse_limit(self) -> int:
        return self.max_reuse or self.weights


def dense_at_dsp_budget(layers: Sequence[DenseLayer], dsp_budget: int, width: int,
                        acc_width: int = 32) -> list[LayerEstimate] | None:
    """The dense design with at most ``dsp_budget`` multipliers, reuse factors chosen for the least latency.

    Exact over integer multiplier counts: dynamic programming over the layers, each layer trying every
    multiplier count ``d`` that is the smallest for its reuse factor ``R = ceil(N*M / d)``. None if even the
    slowest dense design (R = N*M, or C*kh*kw for a convolution) needs more DSPs than the budget.
    """
    budget = int(dsp_budget)
    inf = np.iinfo(np.int64).max // 4
    best = np.zeros(budget + 1, dtype=np.int64)  # best[t]: least latency of the layers so far with <= t DSPs
    t = np.arange(budget + 1)
    choices: list[tuple[np.ndarray, np.ndarray]] = []
    for lay in layers:
        w = lay.weights
        d_all = np.arange(1, min(budget, w) + 1, dtype=np.int64)
        r = np.unique(-(-w // d_all))  # the distinct reuse factors within the budget
        d = np.unique(-(-w // r))  # ... and the fewest multipliers giving each
        d = d[(d >= math.ceil(w / lay.reuse_limit())) & (d <= budget)]
        if d.size == 0:
            return None
        cost = lay.pixels * (-(-w // d) + PIPELINE_DEPTH)
        prev = np.where(d[None, :] <= t[:, None], best[np.clip(t[:, None] - d[None, :], 0, None)], inf)
        cand = np.where(prev < inf, prev + cost[None, :], inf)  # [t, candidate]
        pick = cand.argmin(axis=1)
        choices.append((d, pick))
        best = cand[t, pick]
    if best[budget] >= inf:
        return None
    out, left = [], budget
    for lay, (d, pick) in zip(reversed(layers), reversed(choices)):
        mults = int(d[pick[left]])
        est = dense(lay.fan_in, lay.n_out, width, math.ceil(lay.weights / mults), acc_width)
        out.append(per_pixel(est, lay.pixels) if lay.pixels > 1 else est)
        left -= mults
    return out[::-1]
