"""The hashhls version: the one place it is defined (pyproject.toml reads it from here)."""

__version__ = "0.2.0"
