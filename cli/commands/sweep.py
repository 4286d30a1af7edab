"""`hashhls sweep`: run a study (a grid of train -> build -> craft -> replay cells), or report on one."""

from __future__ import annotations

import argparse

from ...core.terminal import safe

NAME = "sweep"
HELP = ("Run a study file (model x compression x GI x precision x attack x site ...), cached and resumable, "
        "locally or on Ray; 'hashhls sweep report RESULTS/' writes its report")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("study", metavar="STUDY.toml",
                        help="the study file (see studies/); or 'report' followed by a results directory")
    parser.add_argument("report_dir", metavar="RESULTS", nargs="?",
                        help="with 'report': the results directory of a sweep")
    parser.add_argument("-o", "--output", metavar="RESULTS",
                        help="results directory (created; an existing one from a sweep is resumed)")
    parser.add_argument("--engine", choices=("local", "ray"), default="local",
                        help="local: a process pool on this machine (default); ray: Ray tasks")
    parser.add_argument("--address", metavar="ADDR",
                        help="with --engine ray: the address of an existing Ray cluster (default: start a local one)")
    parser.add_argument("--workers", type=int, default=1, metavar="N",
                        help="worker processes (local) or CPUs of the local Ray cluster (default 1)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    from ...core.errors import UsageError

    from ...core.inputs import check_input_file

    if args.study == "report":
        if not args.report_dir:
            raise UsageError("usage: hashhls sweep report RESULTS/")
        from pathlib import Path

        if not Path(args.report_dir).is_dir():
            raise UsageError(f"{args.report_dir} is not a directory, expected the results directory of a sweep")
        from ...sweep.report import write_report

        path = write_report(args.report_dir)
        print(f"report: {safe(path)}")
        return 0
    if args.report_dir:
        raise UsageError(f"unexpected argument {args.report_dir!r} (the results directory goes to -o)")
    if not args.output:
        raise UsageError("hashhls sweep STUDY.toml needs -o RESULTS/ (the results directory)")
    check_input_file(args.study, (".toml",), "a study file (.toml, see studies/)", "study")
    from pathlib import Path

    results = Path(args.output)  # a new directory or an earlier sweep's (resumed): sweep.run.check_results_dir,
    if results.exists() and not results.is_dir():  # whose refusals are repeated here before any work
        raise UsageError(f"results {results} is a file, expected a directory")
    from ...core.atomic import check_creatable

    check_creatable(results, "results")
    if results.is_dir() and any(results.iterdir()) and not (results / "cache").is_dir():
        raise UsageError(f"results directory {results} exists and was not written by 'hashhls sweep' "
                         "(no cache/ in it): choose a new one")
    import signal

    from ...sweep import load_study, sweep

    study = load_study(args.study)

    def _terminate(signum, frame):  # SIGTERM (a batch scheduler, kill) stops the sweep as Ctrl-C does
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _terminate)
    result = sweep(study, args.output, engine=args.engine, workers=args.workers, address=args.address,
                   progress=not args.no_progress)
    c = result.counts()
    print(f"{len(result.plan.cells)} cells ({c['done']} computed, {c['cached']} cached, {c['failed']} failed), "
          f"{len(result.plan.stages)} stages, {result.outcome.wall_seconds:.1f} s")
    print(f"results: {safe(result.table)}")
    return 1 if c["failed"] else 0
