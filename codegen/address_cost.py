"""Per-address cost of the on-chip hash, MEASURED by ``bench/address_unit.py`` (generated; do not edit).

Yosys ``synth_xilinx -family xc7`` cell counts of one lane's address unit, written as Verilog from
docs/hash-spec.md and checked against the committed vectors by simulation; the same numbers as the grid of
``bench/results/address_unit.md`` (``sw_tests/test_estimate.py`` checks that they agree).
"""

#: (hash version, width W, constant bits, DSP48E1, LUT, CARRY4, FF, then the same with -nodsp)
ADDRESS_UNIT_GRID: tuple[tuple[int, ...], ...] = (
    (1, 32, 8, 8, 46, 0, 9, 0, 1429, 26, 9),
    (1, 32, 12, 8, 46, 0, 13, 0, 1609, 27, 13),
    (1, 32, 15, 8, 46, 0, 16, 0, 1777, 28, 16),
    (1, 32, 20, 10, 80, 9, 21, 0, 2183, 29, 21),
    (1, 32, 24, 10, 84, 10, 25, 0, 2286, 30, 25),
    (2, 8, 4, 1, 34, 5, 5, 0, 49, 8, 5),
    (2, 12, 4, 1, 52, 9, 5, 0, 72, 13, 5),
    (2, 12, 8, 1, 52, 9, 9, 0, 134, 14, 9),
    (2, 16, 4, 1, 80, 11, 5, 0, 102, 16, 5),
    (2, 16, 8, 1, 80, 11, 9, 0, 205, 17, 9),
    (2, 16, 12, 1, 80, 11, 13, 0, 301, 18, 13),
    (2, 20, 4, 1, 103, 13, 5, 0, 135, 19, 5),
    (2, 20, 8, 1, 103, 13, 9, 0, 266, 20, 9),
    (2, 20, 12, 1, 103, 13, 13, 0, 368, 21, 13),
    (2, 20, 16, 1, 103, 13, 17, 0, 471, 22, 17),
    (2, 24, 4, 1, 117, 16, 5, 0, 150, 23, 5),
    (2, 24, 8, 1, 117, 16, 9, 0, 301, 24, 9),
    (2, 24, 12, 1, 117, 16, 13, 0, 440, 25, 13),
    (2, 24, 16, 1, 117, 16, 17, 0, 572, 26, 17),
    (2, 28, 4, 2, 138, 17, 5, 0, 180, 25, 5),
    (2, 28, 8, 2, 138, 17, 9, 0, 371, 26, 9),
    (2, 28, 12, 2, 138, 17, 13, 0, 512, 27, 13),
    (2, 28, 16, 2, 138, 17, 17, 0, 671, 28, 17),
    (2, 32, 4, 2, 155, 20, 5, 0, 205, 29, 5),
    (2, 32, 8, 2, 155, 20, 9, 0, 408, 30, 9),
    (2, 32, 12, 2, 155, 20, 13, 0, 580, 31, 13),
    (2, 32, 16, 2, 155, 20, 17, 0, 781, 32, 17),
)
#: One 16x16 multiply-accumulate lane (40-bit accumulator): (DSP48E1, LUT, CARRY4, FF)
MAC_LANE: tuple[int, int, int, int] = (1, 0, 0, 0)
