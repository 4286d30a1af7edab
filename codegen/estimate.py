"""Analytic resource and latency ESTIMATES per layer, dense vs hashed (not synthesis results).

The model, per weighted layer at reuse factor R (each multiplier used R times):

* hashed (``templates/nnet_hashed.h``): ``lanes = ceil(n_in / R)`` parallel
  MAC lanes per output, outputs one after another, so latency ~ ``n_out * R``
  cycles. Each lane computes one address per cycle with the hash's 3 constant
  multipliers (docs/hash-spec.md), counted as ``DSP_PER_HASH_MULT`` DSP slices
  each, plus one DSP for the MAC. The K stored words are read at random
  addresses: one BRAM_18K port per lane, i.e. ``ceil(lanes / 2)`` copies of
  the K-word memory.
* dense (hls4ml's stock ``Dense``): ``ceil(n_in * n_out / R)`` multipliers,
  latency ~ R cycles; the N*M weights fill ``N*M*W / 18 Kib`` BRAM_18K, and at
  least enough 36-bit-wide banks to read all multipliers' words each cycle.

* convolutions are the same per output pixel: a layer over ``P = out_h * out_w``
  pixels is the dense or hashed estimate of a ``fan_in x n_filt`` layer
  (``fan_in = C*kh*kw``), run ``P`` times (latency x P, same multipliers).

Numbers are order-of-magnitude guides for choosing R and K. Run Vivado HLS
(``build_prj.tcl``) for real figures.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

BRAM18_BITS = 18 * 1024
BRAM18_PORT_BITS = 36  #: read width of one BRAM_18K in simple dual-port mode
DSP_PER_HASH_MULT = 2  #: a 32-bit constant multiply (low or high half) on DSP48 slices
HASH_MULTS_PER_ADDRESS = 3
PIPELINE_DEPTH = 8  #: cycles of fill per layer (hash + multiply + add), a guess
SMALL_MEMORY_BITS = 1024  #: memories this small go to LUTRAM/registers, not BRAM


@dataclass(frozen=True)
class LayerEstimate:
    """Estimated cost of one weighted layer (labelled as an estimate wherever shown)."""

    bram_18k: int
    dsp: int
    latency_cycles: int
    multipliers: int


def _memory_brams(words: int, width: int) -> int:
    bits = words * width
    return 0 if bits <= SMALL_MEMORY_BITS else math.ceil(bits / BRAM18_BITS)


def hashed_dense(n_in: int, n_out: int, k: int, width: int, reuse: int) -> LayerEstimate:
    r = max(1, min(reuse, n_in))
    lanes = math.ceil(n_in / r)
    bram = _memory_brams(k, width) * math.ceil(lanes / 2)
    dsp = lanes * (1 + HASH_MULTS_PER_ADDRESS * DSP_PER_HASH_MULT)
    return LayerEstimate(bram, dsp, n_out * r + PIPELINE_DEPTH, lanes)


def dense(n_in: int, n_out: int, width: int, reuse: int) -> LayerEstimate:
    r = max(1, min(reuse, n_in * n_out))
    mults = math.ceil(n_in * n_out / r)
    bram = _memory_brams(n_in * n_out, width)
    if bram:
        bram = max(bram, math.ceil(mults * width / BRAM18_PORT_BITS))
    return LayerEstimate(bram, mults, r + PIPELINE_DEPTH, mults)


def cycles_to_us(cycles: int, clock_mhz: float) -> float:
    return cycles / clock_mhz


def per_pixel(est: LayerEstimate, pixels: int) -> LayerEstimate:
    """A convolution: the per-pixel layer estimate, run once per output pixel."""
    return LayerEstimate(est.bram_18k, est.dsp, est.latency_cycles * pixels, est.multipliers)
