"""The seeded bad-file test (issue 15): mutants of the project's own checkpoint, .npy, adversarial .npz, MNIST IDX
and build-directory files (manifest, weight files, sources, model.onnx) through the command that reads each.
Every case is a clean refusal (exit 2, one printable ``hashhls: error:`` line, nothing written) or a successful
run: no traceback, no multi-line error, no partial output. The mutator is sw_tests/file_fuzz.py."""

from __future__ import annotations

import collections
import shutil
from pathlib import Path

import pytest

from file_fuzz import KINDS, SLOW_KINDS, cases, make_bases, run_case

CI_CASES = 140  #: 20 per kind, about a minute


@pytest.fixture(scope="module")
def bases(tmp_path_factory):
    return make_bases(tmp_path_factory.mktemp("fuzz-bases"))


def _run(bases, tmp_path: Path, n: int, seed: int, kinds=KINDS):
    counts, failures = collections.Counter(), []
    for i, case in enumerate(cases(n, seed, kinds)):
        work = tmp_path / f"case{i}"
        work.mkdir()
        o = run_case(case, bases, work)
        counts[(case.kind, o.status)] += 1
        if o.status == "failure":
            failures.append(f"{case.label}: {o.detail}")
        shutil.rmtree(work, ignore_errors=True)
    return counts, failures


def test_bad_files_are_refused_cleanly_or_run(bases, tmp_path):
    counts, failures = _run(bases, tmp_path, CI_CASES, seed=0)
    assert failures == []
    for kind in KINDS:  # every kind exercised, and refused at least once (the mutants are not all harmless)
        assert counts[(kind, "refused")] > 0, (kind, counts)
    # both outcomes occur overall: the harness tells a refusal from a run
    assert sum(v for (k, s), v in counts.items() if s == "ran") > 0


def test_the_harness_reports_a_traceback_as_a_failure(bases, tmp_path, monkeypatch):
    """The test above would pass vacuously if run_case could not see a traceback: plant one."""
    import file_fuzz

    import hashhls.frontend.checkpoint as ckpt

    def boom(path):
        raise KeyError("planted")

    monkeypatch.setattr(ckpt, "read_checkpoint", boom)
    case = next(c for c in cases(50, 3) if c.kind == "checkpoint")
    work = tmp_path / "w"
    work.mkdir()
    o = file_fuzz.run_case(case, bases, work)
    assert o.status == "failure" and "KeyError" in o.detail


@pytest.mark.slow
def test_bad_files_more_cases_and_csim_executables(bases, tmp_path):
    counts, failures = _run(bases, tmp_path, 300, seed=1)
    slow_counts, slow_failures = _run(bases, tmp_path, 6, seed=2, kinds=SLOW_KINDS)
    assert failures + slow_failures == []
