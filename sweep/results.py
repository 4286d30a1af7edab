"""The results table: one row per (cell, evaluation target), with full provenance, as ``results.parquet``.

Columns (in this order): the study's settings, every axis value of the cell, the evaluation target and the
measured values, the stage keys (content addresses in ``cache/``), versions, and last the per-run columns
(:data:`RUN_COLUMNS`: timings and whether the cell came from the cache), which two runs of the same study
need not share. A failed cell is one row with ``target`` null and its one-line ``error``.
"""

from __future__ import annotations

import json
from pathlib import Path

from .engine import Outcome, Status
from .stages import Plan
from .study import Study

RESULTS_FILE = "results.parquet"
#: Columns that differ between two runs of the same study, excluded when comparing: timings, cache use, and the
#: build's project hash (hls4ml writes a random stamp into every project it writes).
RUN_COLUMNS = ("train_seconds", "build_seconds", "craft_seconds", "replay_seconds", "cached", "project_hash")
STAGES = ("train", "build", "craft", "replay")
#: ``status`` of a finished cell (computed now or earlier: the ``cached`` column says which); else failed.
OK = "ok"


def _versions() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    from ..core.version import __version__

    out = {"hashhls_version": __version__}
    for pkg in ("torch", "hls4ml", "numpy"):
        try:
            out[f"{pkg}_version"] = version(pkg)
        except PackageNotFoundError:
            out[f"{pkg}_version"] = None
    return out


def _replay(results: Path, key: str) -> dict:
    return json.loads((results / "cache" / "replay" / key / "replay.json").read_text())


def rows(study: Study, plan: Plan, outcome: Outcome, results: Path) -> list[dict]:
    versions = _versions()
    out = []
    for cell, keys in plan.cells:
        axes = cell.axis_values()
        axes["attack_hparams"] = json.dumps(axes["attack_hparams"], sort_keys=True)
        base = {"study": study.name, "cell": cell.id, **axes, "n_images": study.n_images, "board": study.board,
                "train_epochs": study.train.epochs, "train_limit": study.train.limit,
                "attack_seed": study.attack_seed,
                **{f"{k}_key": keys[k] for k in STAGES}, **versions}
        status = outcome.cell_status(keys)
        timings = {f"{k}_seconds": outcome.records.get(keys[k], {}).get("seconds") for k in STAGES}
        run = {**timings, "cached": status == Status.CACHED}
        if status not in (Status.DONE, Status.CACHED):
            out.append({**base, "status": status.value, "error": outcome.cell_error(keys), "target": None, **run})
            continue
        train_info = outcome.records[keys["train"]]["info"]
        build_info = outcome.records[keys["build"]]["info"]
        crafted = outcome.records[keys["craft"]]["info"]["success_where_crafted"][0]
        rep = _replay(results, keys["replay"])
        for t in rep["targets"]:
            out.append({
                **base, "status": OK, "error": None, "target": t["name"],
                "success_rate": t["success_rate"][0], "successes": t["successes"][0], "eligible": t["eligible"][0],
                "clean_accuracy": t["clean_accuracy"], "agreement_with_csim": rep["agreement"].get(t["name"]),
                "linf": rep["linf"][0], "l2": rep["l2"][0], "l0": rep["l0"][0],
                "queries": None if rep["queries"] is None else rep["queries"][0],
                "success_where_crafted": crafted[0],
                "float_test_accuracy": build_info["float_test_accuracy"],
                "trained_test_accuracy": train_info["test_accuracy"],
                "stored_weights": train_info["stored_weights"],
                "build_precision": json.dumps(build_info["precision"], sort_keys=True),
                # per weighted layer, as built (entries cached before this column existed lack it)
                "build_reuse_factors": json.dumps(build_info.get("reuse_factors"), sort_keys=True),
                "build_warnings": "; ".join(outcome.records[keys["build"]].get("warnings", [])) or None,
                "project_hash": build_info["project_hash"], **run})
    return out


def write_table(table_rows: list[dict], path: Path) -> Path:
    """Write the rows as Parquet, atomically (columns in first-seen order; nulls where a row lacks one)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from ..core.atomic import atomic_file

    columns: list[str] = []
    for r in table_rows:
        columns.extend(c for c in r if c not in columns)
    columns = [c for c in columns if c not in RUN_COLUMNS] + [c for c in RUN_COLUMNS if c in columns]
    table = pa.table({c: [r.get(c) for r in table_rows] for c in columns})
    with atomic_file(path) as tmp:
        pq.write_table(table, tmp)
    return path


def read_table(results: str | Path):
    """The results table of a sweep directory, as a pandas-free list of dicts (``pyarrow.Table.to_pylist``)."""
    import pyarrow.parquet as pq

    from ..core.errors import InvalidFileError

    path = Path(results) / RESULTS_FILE
    if not path.is_file():
        raise InvalidFileError(f"{results} has no {RESULTS_FILE} (is it the output directory of 'hashhls sweep'?)")
    return pq.read_table(path).to_pylist()


def comparable(table_rows: list[dict]) -> list[dict]:
    """Rows without the per-run columns, sorted: two engines' tables for one study must be equal as these."""
    rows_ = [{k: v for k, v in r.items() if k not in RUN_COLUMNS} for r in table_rows]
    return sorted(rows_, key=lambda r: (r["cell"], r.get("target") or ""))
