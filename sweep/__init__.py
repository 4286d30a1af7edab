"""Studies at scale: a grid of train -> build -> craft -> replay experiments, cached and resumable.

    from hashhls.sweep import load_study, sweep
    outcome = sweep(load_study("studies/smoke.toml"), "results/", engine="local", workers=2)

:mod:`.study` parses and validates the study file, :mod:`.stages` turns it into a DAG of content-addressed
stages, :mod:`.cache` stores and verifies them, :mod:`.engine` runs the DAG (a local process pool or Ray),
:mod:`.results` writes ``results.parquet`` and :mod:`.report` the report. Nothing else in hashhls imports it.
"""

from __future__ import annotations

from .run import sweep
from .study import load_study, parse_study

__all__ = ["load_study", "parse_study", "sweep"]
