"""The one exception type the command line turns into a one-line error."""

from __future__ import annotations


class HashhlsError(Exception):
    """A user-facing problem (bad input, missing file, unsupported model).

    The CLI prints ``hashhls: error: <message>`` and exits non-zero, without a
    traceback. Raise it with a message that names the problem and the thing
    (file, node, option) it is about.
    """
