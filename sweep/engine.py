"""Running a study's DAG: one scheduler, two executors (a local process pool, or Ray tasks).

The scheduler (:func:`run_plan`) owns the DAG: it first checks every stage's cache entry (verified by the
sha256 of its files; a corrupted one is discarded and recomputed), then submits a stage as soon as its
upstream stages finished, later stages first so that cells complete early, never more stages than the
executor has slots (so the priority holds). A failing stage records its one-line error; the cells that
need it fail with it, the others go on. Ctrl-C stops submitting, cancels what has not started and leaves
the cache as it is: the next run resumes, recomputing nothing that finished.

Both executors run the same function (:func:`hashhls.sweep.stages.run_stage`) on the same stage dicts, so
the two engines produce the same cache entries and the same results table.
"""

from __future__ import annotations

import concurrent.futures as cf
import enum
import multiprocessing
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..core.errors import UsageError
from .cache import entry_dir, read_record, verify
from .stages import PRIORITY, RESOURCES, Plan, run_stage, worker_setup


class Engine(str, enum.Enum):
    LOCAL = "local"
    RAY = "ray"


class Status(str, enum.Enum):
    PENDING = "pending"
    RUNNING = "running"
    CACHED = "cached"  #: a verified entry from an earlier run
    DONE = "done"  #: computed by this run
    FAILED = "failed"


@dataclass
class Outcome:
    """What became of every stage: its status, its completion record, or its one-line error."""

    status: dict[str, Status] = field(default_factory=dict)
    records: dict[str, dict] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    corrupted: list[str] = field(default_factory=list)  #: entries found corrupted and recomputed
    wall_seconds: float = 0.0

    def cell_status(self, keys: dict[str, str]) -> Status:
        states = [self.status[k] for k in keys.values()]
        if Status.FAILED in states:
            return Status.FAILED
        if all(s == Status.CACHED for s in states):
            return Status.CACHED
        if all(s in (Status.CACHED, Status.DONE) for s in states):
            return Status.DONE
        return Status.RUNNING if Status.RUNNING in states else Status.PENDING

    def cell_error(self, keys: dict[str, str]) -> str | None:
        for kind, k in keys.items():
            if k in self.errors:
                return f"{kind}: {self.errors[k]}"
        return None


def one_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return f"{type(e).__name__}: {text[0] if text else ''}"[:500]


class LocalExecutor:
    """A pool of worker processes (spawned: no torch or OpenMP state is forked); one stage per worker."""

    def __init__(self, workers: int) -> None:
        self.slots = workers
        self.pool = self._new_pool()

    def _new_pool(self) -> cf.ProcessPoolExecutor:
        return cf.ProcessPoolExecutor(max_workers=self.slots, mp_context=multiprocessing.get_context("spawn"),
                                      initializer=worker_setup)

    def submit(self, spec, results: str):
        try:
            return self.pool.submit(run_stage, spec.to_dict(), results)
        except cf.process.BrokenProcessPool:
            # a worker died (killed, out of memory): its stages failed; the others get a fresh pool
            self.pool.shutdown(wait=False, cancel_futures=True)
            self.pool = self._new_pool()
            return self.pool.submit(run_stage, spec.to_dict(), results)

    def wait(self, handles: list):
        done, _ = cf.wait(handles, return_when=cf.FIRST_COMPLETED)
        return [(h, h.exception(), None if h.exception() else h.result()) for h in done]

    def shutdown(self, cancel: bool = False) -> None:
        if cancel:  # interrupted: stop the running stages now (their temporary directories are cleaned next run)
            for proc in list(getattr(self.pool, "_processes", {}).values()):
                proc.terminate()
        self.pool.shutdown(wait=not cancel, cancel_futures=cancel)


class RayExecutor:
    """The same stages as Ray tasks with per-stage resources; a local cluster unless ``address`` is given."""

    def __init__(self, workers: int | None, address: str | None) -> None:
        try:
            import ray
        except ImportError:
            raise UsageError("--engine ray needs Ray: pip install ray") from None
        self.ray = ray
        env = {"env_vars": {"OMP_WAIT_POLICY": "PASSIVE", "OMP_NUM_THREADS": "1"}}
        if address:
            ray.init(address=address, runtime_env=env, log_to_driver=False)
        else:
            ray.init(num_cpus=workers or os.cpu_count(), include_dashboard=False, runtime_env=env,
                     log_to_driver=False)
        self.slots = max(1, int(ray.cluster_resources().get("CPU", 1)))
        self.task = ray.remote(run_stage)

    def submit(self, spec, results: str):
        res = RESOURCES[spec.kind]
        return self.task.options(num_cpus=res.cpus, memory=res.memory_mb * 1024 * 1024,
                                 max_retries=0).remote(spec.to_dict(), results)

    def wait(self, handles: list):
        done, _ = self.ray.wait(handles, num_returns=1)
        out = []
        for h in done:
            try:
                out.append((h, None, self.ray.get(h)))
            except self.ray.exceptions.RayTaskError as e:
                cause = e.cause if isinstance(getattr(e, "cause", None), BaseException) else e
                out.append((h, cause, None))
            except Exception as e:  # noqa: BLE001 - a lost worker, out of memory: the stage failed
                out.append((h, e, None))
        return out

    def shutdown(self, cancel: bool = False) -> None:
        self.ray.shutdown()


def check_cache(plan: Plan, results: Path, outcome: Outcome) -> None:
    """Mark every stage with a verified entry as cached; discard corrupted entries (they are recomputed)."""
    from .cache import discard

    for key, spec in plan.stages.items():
        entry = entry_dir(results, spec.kind.value, key)
        rec = verify(entry, key)
        if rec is not None:
            outcome.status[key], outcome.records[key] = Status.CACHED, rec
        else:
            if entry.exists():
                outcome.corrupted.append(f"{spec.kind.value}/{key}")
                discard(entry)
            outcome.status[key] = Status.PENDING


def clean_partials(results: Path) -> None:
    """Remove the temporary directories an interrupted run left in the cache (never a committed entry)."""
    import shutil

    root = results / "cache"
    if root.is_dir():
        for p in root.glob("*/.*.part"):
            shutil.rmtree(p, ignore_errors=True)


def run_plan(plan: Plan, results: Path, engine: Engine = Engine.LOCAL, workers: int = 1,
             address: str | None = None, progress=None) -> Outcome:
    """Run every stage of ``plan`` not already cached; ``progress(outcome)`` is called after every change."""
    results = results.resolve()
    outcome = Outcome()
    clean_partials(results)
    check_cache(plan, results, outcome)
    t0 = time.perf_counter()
    notify = progress or (lambda o: None)
    notify(outcome)
    pending = {k for k, s in outcome.status.items() if s == Status.PENDING}
    if not pending:
        return outcome
    executor = LocalExecutor(workers) if engine == Engine.LOCAL else RayExecutor(workers, address)
    dependents = plan.dependents()
    running: dict = {}
    cancelled = True
    try:
        while pending or running:
            ready = sorted((k for k in pending if all(outcome.status[d] in (Status.CACHED, Status.DONE)
                                                      for d in plan.stages[k].deps)),
                           key=lambda k: (PRIORITY[plan.stages[k].kind], k))
            for k in ready[:max(0, executor.slots - len(running))]:
                pending.discard(k)
                outcome.status[k] = Status.RUNNING
                running[executor.submit(plan.stages[k], str(results))] = k
            notify(outcome)
            if not running:
                break  # what is left waits on failed stages
            for handle, error, record in executor.wait(list(running)):
                k = running.pop(handle)
                if error is None:
                    outcome.status[k], outcome.records[k] = Status.DONE, record
                else:
                    outcome.status[k], outcome.errors[k] = Status.FAILED, one_line(error)
                    _fail_downstream(k, dependents, outcome, pending)
            notify(outcome)
        cancelled = False
    finally:
        executor.shutdown(cancel=cancelled)
        outcome.wall_seconds = time.perf_counter() - t0
    return outcome


def _fail_downstream(key: str, dependents: dict[str, list[str]], outcome: Outcome, pending: set[str]) -> None:
    stack = list(dependents[key])
    while stack:
        k = stack.pop()
        if k in pending:
            pending.discard(k)
            outcome.status[k] = Status.FAILED
            outcome.errors[k] = f"upstream stage failed ({outcome.errors[key]})"
            stack.extend(dependents[k])


__all__ = ["Engine", "Outcome", "Status", "read_record", "run_plan"]
