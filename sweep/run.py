"""``sweep(study, RESULTS)``: plan the DAG, run it on an engine with a progress bar, write the results table."""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from ..core.errors import UsageError
from .engine import Engine, Outcome, Status, run_plan
from .results import RESULTS_FILE, rows, write_table
from .stages import Plan, plan
from .study import Study, load_study

STUDY_RECORD = "study.json"


@dataclass
class SweepResult:
    """What a sweep did: the plan, every stage's outcome, the table's rows and where they were written."""

    plan: Plan
    outcome: Outcome
    rows: list[dict]
    table: Path

    def counts(self) -> dict[str, int]:
        out = {s.value: 0 for s in (Status.DONE, Status.CACHED, Status.FAILED)}
        for _, keys in self.plan.cells:
            s = self.outcome.cell_status(keys)
            out[s.value] = out.get(s.value, 0) + 1
        return out


def check_results_dir(results: Path) -> Path:
    """A new directory, or one an earlier sweep wrote (resumed); never a file or an unrelated directory."""
    if results.exists() and not results.is_dir():
        raise UsageError(f"results {results} is a file, expected a directory")
    if results.is_dir() and any(results.iterdir()) and not (results / "cache").is_dir():
        raise UsageError(f"results directory {results} exists and was not written by 'hashhls sweep' "
                         "(no cache/ in it): choose a new one")
    results.mkdir(parents=True, exist_ok=True)
    return results


class _Progress:
    """One tqdm bar over cells: done / running / cached / failed, with tqdm's ETA; failures as log lines."""

    def __init__(self, plan_: Plan, enabled: bool) -> None:
        from tqdm import tqdm

        self.plan = plan_
        self.bar = tqdm(total=len(plan_.cells), unit="cell", desc="sweep", disable=None if enabled else True,
                        dynamic_ncols=True)
        self.reported: set[str] = set()
        self.finished = 0

    def __call__(self, outcome: Outcome) -> None:
        counts = {s: 0 for s in Status}
        for cell, keys in self.plan.cells:
            s = outcome.cell_status(keys)
            counts[s] += 1
            if s == Status.FAILED and cell.id not in self.reported:
                self.reported.add(cell.id)
                self.bar.write(f"failed: {cell.id}: {outcome.cell_error(keys)}", file=sys.stderr)
        finished = counts[Status.DONE] + counts[Status.CACHED] + counts[Status.FAILED]
        self.bar.set_postfix_str(f"done {counts[Status.DONE]}, running {counts[Status.RUNNING]}, "
                                 f"cached {counts[Status.CACHED]}, failed {counts[Status.FAILED]}", refresh=False)
        self.bar.update(finished - self.finished)
        self.finished = finished

    def close(self) -> None:
        self.bar.close()


def sweep(study: Study | str | Path, results: str | Path, engine: str | Engine = Engine.LOCAL, workers: int = 1,
          address: str | None = None, progress: bool = True) -> SweepResult:
    """Run ``study`` into ``results`` (resuming from its cache) and write ``results/results.parquet``."""
    if not isinstance(study, Study):
        study = load_study(study)
    try:
        engine = Engine(engine)
    except ValueError:
        raise UsageError(f"--engine must be local or ray, got {engine!r}") from None
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise UsageError(f"--workers must be a positive integer, got {workers!r}")
    if address and engine != Engine.RAY:
        raise UsageError("--address is the address of a Ray cluster: use it with --engine ray")
    results = check_results_dir(Path(results))
    dag = plan(study)
    bar = _Progress(dag, progress)
    t0 = time.time()
    try:
        outcome = run_plan(dag, results, engine, workers, address, progress=bar)
    finally:
        bar.close()
    table_rows = rows(study, dag, outcome, results)
    table = write_table(table_rows, results / RESULTS_FILE)
    record = {"study": study.name, "source": study.source, "cells": len(dag.cells), "stages": len(dag.stages),
              "engine": engine.value, "workers": workers, "started": t0, "wall_seconds": outcome.wall_seconds,
              "corrupted_entries_recomputed": outcome.corrupted,
              "stages_computed": sum(s == Status.DONE for s in outcome.status.values()),
              "stages_cached": sum(s == Status.CACHED for s in outcome.status.values()),
              "stages_failed": sum(s == Status.FAILED for s in outcome.status.values())}
    (results / STUDY_RECORD).write_text(json.dumps(record, indent=1, sort_keys=True))
    return SweepResult(dag, outcome, table_rows, table)
