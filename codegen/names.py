"""The one place where a name from an ONNX file becomes a C++/Tcl identifier."""

from __future__ import annotations

import re

_MAX_IDENT = 48
_CPP_RESERVED = frozenset(
    "alignas alignof and asm auto bitand bitor bool break case catch char class compl const constexpr "
    "continue decltype default delete do double else enum explicit export extern false float for friend goto if "
    "inline int long mutable namespace new noexcept not nullptr operator or private protected public register "
    "return short signed sizeof static struct switch template this throw true try typedef typeid typename union "
    "unsigned using virtual void volatile while xor main std nnet input output myproject".split()
)

#: Identifiers hls4ml generates itself (types, variables, weights, configs): an ONNX name must not shadow them.
_HLS4ML_GENERATED = re.compile(r"^(input\d*_t|result_t|model_default_t|layer\d+_(t|out|index)|[wbs]\d+|config\d+"
                               r"|\w*_config\d+|\w*_t)$")


def sanitise_identifier(name: str, fallback: str = "n") -> str:
    """The one function that turns a name from an ONNX file into a C++/Tcl-safe identifier.

    Keeps ``[A-Za-z0-9_]``, collapses runs of anything else into ``_``, strips
    leading/trailing underscores (``__x``/``_X`` are reserved in C++), prefixes
    a leading digit with ``fallback``, suffixes ``_id`` to a C++ keyword or a
    name shaped like hls4ml's own (``input_t``, ``w2``, ``layer3_out``, any
    ``*_t``), and truncates. Idempotent. Uniqueness is the
    caller's job (:class:`SanitiseNames`).
    """
    ident = re.sub(r"[^A-Za-z0-9]+", "_", str(name)).strip("_")[:_MAX_IDENT].strip("_")
    fallback = re.sub(r"[^a-z0-9]+", "_", fallback.lower()).strip("_") or "n"
    if not fallback[0].isalpha():
        fallback = f"n_{fallback}"
    if not ident:
        return fallback
    if ident[0].isdigit():
        ident = f"{fallback}_{ident}"[:_MAX_IDENT].rstrip("_")
    if ident in _CPP_RESERVED or _HLS4ML_GENERATED.match(ident):
        ident = f"{ident[:_MAX_IDENT - 3]}_id"  # no reserved word or hls4ml pattern ends in "_id"
    return ident


#: Every identifier hls4ml derives from a name of the ONNX file (the input array, each layer's types
#: ``<layer>_weight_t`` ...) starts with this prefix, and nothing the firmware, hls4ml's headers or the C library
#: define does (``N_IN``, ``NULL``, ``errno``, ``M_PI``, ``WEIGHTS_DIR``, ``loaded_weights`` ...): no collision.
ONNX_PREFIX = "onnx_"
#: Identifiers hashhls itself adds to the hls4ml view (transposes): a second prefix, disjoint from the first.
GENERATED_PREFIX = "hashhls_"


def cpp_identifier(name: str) -> str:
    """The C++ identifier of a (sanitised) ONNX node or tensor name in the generated project."""
    return ONNX_PREFIX + sanitise_identifier(name)


def generated_identifier(*parts: str) -> str:
    """An identifier hashhls generates (never equal to a :func:`cpp_identifier`)."""
    return GENERATED_PREFIX + "_".join(sanitise_identifier(p) for p in parts)
