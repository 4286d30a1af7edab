"""Text that reaches the terminal: names and paths from the user's files, with control characters escaped.

A file name, an ONNX node name or a string field of an ``.npz`` can hold terminal escape sequences
(``\\x1b[2J`` clears the screen); every line the CLI prints that may contain one goes through :func:`safe`.
Light on purpose (no numpy, onnx or torch): the CLI's error path imports it.
"""

from __future__ import annotations

import re

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_CONTROL_BUT_NEWLINE = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]")


def _escape(m: re.Match) -> str:
    return f"\\x{ord(m.group()):02x}"


def safe(text: object, newlines: bool = False) -> str:
    """``text`` with control characters shown as ``\\xNN`` (newlines kept when ``newlines``, for tables)."""
    return (_CONTROL_BUT_NEWLINE if newlines else _CONTROL).sub(_escape, str(text))
