"""The project's error types: what the command line turns into a one-line error.

Every user-facing problem raises :class:`HashhlsError` or one of its subclasses;
the CLI prints ``hashhls: error: <message>`` and exits 2, without a traceback.
Raise the most specific class with a message that names the problem and the
thing (file, node, option) it is about; tests match the class, not the text.
"""

from __future__ import annotations


class HashhlsError(Exception):
    """A user-facing problem (bad input, missing file, unsupported model)."""


class UsageError(HashhlsError):
    """A bad command-line argument or option value, or an output path that may not be written."""


class InvalidFileError(HashhlsError):
    """A file the user handed in is missing, unreadable, of the wrong kind or inconsistent."""


class UnsupportedModelError(HashhlsError):
    """A model (ONNX graph, checkpoint, layer) that hashhls cannot train, export, build or attack."""


class PrecisionError(HashhlsError):
    """A fixed-point type that is malformed or cannot represent what it must hold."""


class CsimError(HashhlsError):
    """The C simulation failed: compile error, crash, exit(), timeout or inconsistent output."""


class ToolchainError(HashhlsError):
    """An external tool (g++, vivado_hls, vivado, yosys, ...) is missing or failed."""
