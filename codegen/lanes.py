"""How many multiply lanes each weighted layer's kernel runs: its reuse factor, the one definition of it.

hls4ml's reuse factor R says how often each multiplier is used per output. For a
stock layer and a hash-version-1 layer the build takes it from ``--reuse-factor``
(default :data:`DEFAULT_REUSE_FACTOR`; a stock convolution is capped at its
``C*kh*kw``, which hls4ml's conv kernels require). A hash-version-2 layer has P
banks fixed at training, and its banked kernel runs exactly P lanes, so its
reuse factor is ``ceil(fan_in / P)`` (:func:`banked_reuse_factor`): a
``--reuse-factor`` that says otherwise cannot be honoured and is refused,
naming the layer and the value that works, before any C++ is written.

The build (:mod:`hashhls.codegen.project`), the hls4ml layers and the estimate
all read the reuse factors from :func:`reuse_factors`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from ..core.errors import UsageError

#: --reuse-factor when none is given (stock and hash-version-1 layers).
DEFAULT_REUSE_FACTOR = 64
#: Version-2 address units build their range-reduction multiply from LUTs (0 DSP48E1 per address; the
#: kernel says so with a RESOURCE pragma), so that every hashed lane costs one DSP48E1: its MAC.
ADDRESS_IN_FABRIC = True


def banked_reuse_factor(fan_in: int, banks: int) -> int:
    """R of a hash-version-2 layer: P lanes over ``fan_in`` products per output."""
    return math.ceil(int(fan_in) / int(banks))


def reuse_factors(specs: Iterable, requested: int | None) -> dict[str, int]:
    """Per weighted layer (by name), the reuse factor the build gives it, from its op table entry
    (``fixed_reuse_factor``, else ``reuse_factor`` of ``--reuse-factor``).

    Args:
        specs: :class:`hashhls.codegen.ops.spec.LayerSpec` of the model.
        requested: ``--reuse-factor``, or None when the user gave none.

    Raises:
        UsageError: a hash-version-2 layer whose banks need another reuse factor than ``requested``.
    """
    from .ops.registry import op_for_kind

    out: dict[str, int] = {}
    given = DEFAULT_REUSE_FACTOR if requested is None else int(requested)
    fixed: dict[str, int] = {}
    for sp in specs:
        if not sp.weighted:
            continue
        op = op_for_kind(sp.kind)
        own = op.fixed_reuse_factor(sp)
        if own is not None:
            fixed[sp.name] = out[sp.name] = own
        else:
            out[sp.name] = op.reuse_factor(sp, given)
    if requested is not None:
        for sp in specs:
            if sp.name in fixed and fixed[sp.name] != int(requested):
                others = ", ".join(f"{n} {r}" for n, r in fixed.items())
                raise UsageError(f"--reuse-factor {requested} cannot be honoured for layer {sp.name!r}: its "
                                 f"{sp.hash.banks} hash banks (fixed at training) run {sp.hash.banks} lanes over "
                                 f"{sp.fan_in} inputs, i.e. reuse factor {fixed[sp.name]}; give --reuse-factor "
                                 f"{fixed[sp.name]} or leave it out (banked layers then use their own: {others})")
    return out
