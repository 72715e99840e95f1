"""``python -m harness {run,list,show,compare,status}``.

Every expected failure (a bad suite, a bad size, a missing folder, no CUDA) is one line on stderr and exit status 2;
``compare`` exits 1 on a regression and whenever it cannot vouch for NEW (nothing compared, fewer values than BASE
holds, a metric no record has, a tolerance that is not a finite number >= 0); ``run`` exits 1 when a cell ended in
``error`` (OOM and timeout points are results, not failures).
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Sequence

from .cells import MAX_CELLS
from .records import Record, RecordError, cell_value, load_records
from .spec import SpecError, load_suite
from .units import parse_size

DEFAULT_PROFILE = "smoke"
MAX_CELLS_HELP = f"refuse a grid of more cells than this, before expanding it (default {MAX_CELLS})"
DATA_ROOT_HELP = ("the folder data sets are read from (default $GNN1000_DATA_ROOT, else ~/.cache/gnn1000); any graph "
                  "of a known format in it is found by name (README: Data sets)")


class UsageError(ValueError):
    """Bad command-line input, reported as one line."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m harness", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="measure every cell of a suite (resumes an interrupted run)")
    run.add_argument("suite", type=Path)
    run.add_argument("--profile", default=DEFAULT_PROFILE)
    run.add_argument("--out", type=Path, help="results folder (default: results/<suite>/<profile>/)")
    run.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    run.add_argument("--memory-budget", metavar="SIZE", help="e.g. 32GiB: a cell whose peak exceeds it is 'oom'")
    run.add_argument("--rerun-failed", action="store_true", help="retry cells recorded as oom, error or timeout")
    run.add_argument("--keep-stale", action="store_true",
                     help="keep records made by other code (another code fingerprint) instead of measuring again")
    run.add_argument("--only", action="append", default=[], metavar="KEY=VALUE[,VALUE]",
                     help="run only the cells with one of these values (repeatable: all must hold), "
                          "e.g. --only layers=112 --only channels=80,224")
    run.add_argument("--no-progress", action="store_true", help="no progress bar and no per-epoch lines (per-cell lines stay; the cell logs keep every epoch)")
    run.add_argument("--jobs", type=int, default=1, metavar="N",
                     help="cells run at once (default 1); not for suites whose result is a time ('time', 'paired-time'); "
                          "records keep N as cells_side_by_side")
    run.add_argument("--max-cells", type=int, default=MAX_CELLS, metavar="N", help=MAX_CELLS_HELP)
    add_cluster_arguments(run)
    run.add_argument("--data-root", type=Path, metavar="DIR", help=DATA_ROOT_HELP)

    listing = commands.add_parser("list", help="print the cells of a suite without running them")
    listing.add_argument("suite", type=Path)
    listing.add_argument("--profile", default=DEFAULT_PROFILE)
    listing.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto",
                         help="the device the cell ids are computed for")
    listing.add_argument("--only", action="append", default=[], metavar="KEY=VALUE[,VALUE]",
                         help="list only the cells with one of these values (as for run)")
    listing.add_argument("--max-cells", type=int, default=MAX_CELLS, metavar="N", help=MAX_CELLS_HELP)
    listing.add_argument("--data-root", type=Path, metavar="DIR", help=DATA_ROOT_HELP)

    show = commands.add_parser("show", help="a table of the records in a results folder")
    show.add_argument("folder", type=Path)
    show.add_argument("--skip-invalid", action="store_true", help=SKIP_INVALID_HELP)
    show.add_argument("--summary", action="store_true",
                      help="a row per configuration: mean ± std over its seeds or splits, epochs to best, s/epoch")

    compare = commands.add_parser("compare", help="exit 1 if NEW is worse than BASE beyond the tolerance")
    compare.add_argument("base", type=Path)
    compare.add_argument("new", type=Path)
    compare.add_argument("--metric", action="append", help="dotted metric name, repeatable "
                         "(default: peak_allocated_bytes)")
    compare.add_argument("--tolerance", type=float, default=0.02, help="allowed relative change (default: 0.02)")
    compare.add_argument("--skip-invalid", action="store_true", help=SKIP_INVALID_HELP)

    status = commands.add_parser("status", help="submitted / running / done / failed per cell of a SLURM run")
    status.add_argument("folder", type=Path)
    return parser


def add_cluster_arguments(run: argparse.ArgumentParser) -> None:
    """``run``'s options for ``--executor slurm``; each overrides the profile's ``[profiles.NAME.slurm]`` key."""
    cluster = run.add_argument_group("cluster (--executor slurm; --out must be on a file system the nodes share)")
    cluster.add_argument("--executor", choices=["local", "slurm", "submitit-local"], default="local",
                         help="local: this machine (default); slurm: one job-array task per cell through submitit; "
                              "submitit-local: the slurm path on this machine (submitit's LocalExecutor)")
    cluster.add_argument("--detach", action="store_true", help="submit and return; see python -m harness status OUT")
    cluster.add_argument("--partition")
    cluster.add_argument("--gpus-per-cell", type=int, metavar="N")
    cluster.add_argument("--cpus-per-cell", type=int, metavar="N")
    cluster.add_argument("--mem", metavar="SIZE", help="memory per cell, e.g. 64GiB")
    cluster.add_argument("--time-min", type=int, metavar="MIN",
                         help="time limit per cell (default: the suite's timeout_s + 5 min)")
    cluster.add_argument("--array-parallelism", type=int, metavar="N", help="tasks of the array at once")
    cluster.add_argument("--sbatch", action="append", default=[], metavar="KEY=VALUE",
                         help="any other sbatch option, repeatable, e.g. --sbatch qos=high")


SKIP_INVALID_HELP = "skip record files that do not validate, with a warning line each (default: stop at the first)"


def load_folder(folder: Path, skip_invalid: bool) -> dict[str, Record]:
    """The records of ``folder``; with ``skip_invalid`` the invalid files are left out, each named on stderr."""
    skipped: list[str] = []
    records = load_records(folder, strict=not skip_invalid, skipped=skipped)
    for reason in skipped:
        print(f"warning: skipped {reason}", file=sys.stderr)
    if skipped:
        print(f"warning: {folder}: {len(skipped)} invalid file(s) skipped", file=sys.stderr)
    return records


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        use_data_root(getattr(args, "data_root", None))
        return COMMANDS[args.command](args)
    except (SpecError, RecordError, UsageError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def use_data_root(folder: Path | None) -> None:
    """``--data-root``: set for this process and every cell process it starts (they read the environment)."""
    if folder is None:
        return
    if not folder.expanduser().is_dir():
        raise UsageError(f"--data-root {folder}: no such folder")
    from .datasets.files import ROOT_VARIABLE

    os.environ[ROOT_VARIABLE] = str(folder.expanduser().resolve())


def resolve_device(choice: str) -> str:
    import torch

    if choice == "cuda" and not torch.cuda.is_available():
        raise UsageError("--device cuda: CUDA is not available here (torch "
                         f"{torch.__version__}, built with CUDA {torch.version.cuda}); use --device cpu")
    if choice == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return choice


def command_run(args: argparse.Namespace) -> int:
    from .cells import expand, parse_selection, select
    from .runner import TIMED_MEASUREMENTS, RunOptions, run_suite, start_process_server

    if args.executor != "local":
        return command_run_cluster(args)
    device = resolve_device(args.device)
    start_process_server(device)  # its imports overlap with the validation below
    suite = load_suite(args.suite, args.profile)
    selection = parse_selection(args.only)
    try:
        budget = parse_size(args.memory_budget) if args.memory_budget else None
    except ValueError as exc:
        raise UsageError(f"--memory-budget: {exc}") from None
    cells = select(expand(suite, device, args.max_cells), selection)
    out = args.out or Path("results") / suite.name / suite.profile
    timed = sorted(set(suite.measurements) & TIMED_MEASUREMENTS)
    if args.jobs < 1:
        raise UsageError(f"--jobs must be at least 1, got {args.jobs}")
    if args.jobs > 1 and timed:
        raise UsageError(f"--jobs {args.jobs}: {suite.name} measures {', '.join(timed)}, which cells running side by "
                         f"side would distort; run it with --jobs 1")
    options = RunOptions(out=out, device=device, memory_budget_bytes=budget, rerun_failed=args.rerun_failed,
                         keep_stale=args.keep_stale, progress=not args.no_progress, jobs=args.jobs)
    chosen = f" (--only {' '.join(args.only)})" if args.only else ""
    print(f"{suite.name}/{suite.profile}: {len(cells)} cells{chosen} on {device} → {out}", flush=True)
    summary = run_suite(suite, cells, options)
    print(summary.line())
    return 1 if summary.statuses.get("error") else 0


def command_run_cluster(args: argparse.Namespace) -> int:
    """``run --executor slurm|submitit-local``: the cells as tasks (harness.slurm), the same checks as a local run."""
    from pydantic import ValidationError

    from .cells import expand, parse_selection, select
    from .runner import RunOptions
    from .slurm import ClusterOptions, run_on_cluster
    from .slurm_options import SlurmOptions
    from .slurm_state import SchedulerError
    from .spec import describe

    if args.jobs != 1:
        raise UsageError(f"--jobs {args.jobs}: with --executor {args.executor} every cell is a task of its own; "
                         f"use --array-parallelism")
    bad = [flag for flag in args.sbatch if "=" not in flag]
    if bad:
        raise UsageError(f"--sbatch takes KEY=VALUE, got {bad[0]!r}")
    suite = load_suite(args.suite, args.profile)
    try:
        budget = parse_size(args.memory_budget) if args.memory_budget else None
    except ValueError as exc:
        raise UsageError(f"--memory-budget: {exc}") from None
    try:
        slurm = suite.slurm.merged(partition=args.partition, gpus_per_cell=args.gpus_per_cell,
                                   cpus_per_cell=args.cpus_per_cell, mem=args.mem, time_min=args.time_min,
                                   array_parallelism=args.array_parallelism,
                                   sbatch=dict(flag.split("=", 1) for flag in args.sbatch))
    except ValidationError as exc:
        raise UsageError(f"slurm options: {describe(exc, SlurmOptions)}") from None
    # the nodes' device, not this machine's: a login node often has no GPU
    device = {"auto": "cuda" if slurm.gpus_per_cell else "cpu"}.get(args.device, args.device)
    cells = select(expand(suite, device, args.max_cells), parse_selection(args.only))
    out = args.out or Path("results") / suite.name / suite.profile
    options = RunOptions(out=out, device=device, memory_budget_bytes=budget, rerun_failed=args.rerun_failed,
                         keep_stale=args.keep_stale, progress=not args.no_progress)
    chosen = f" (--only {' '.join(args.only)})" if args.only else ""
    print(f"{suite.name}/{suite.profile}: {len(cells)} cells{chosen} on {device} via {args.executor} → {out}",
          flush=True)
    try:
        summary = run_on_cluster(suite, cells, options, ClusterOptions(args.executor, slurm, args.detach))
    except SchedulerError as exc:
        raise UsageError(str(exc)) from None
    print(summary.line())
    return 1 if summary.statuses.get("error") else 0


def command_status(args: argparse.Namespace) -> int:
    from .show import format_table
    from .slurm_state import SchedulerError, report

    try:
        rows, line = report(args.folder)
    except SchedulerError as exc:
        raise UsageError(str(exc)) from None
    print(format_table(["cell", "job", "status", "detail"], rows))
    print(line)
    return 0


def command_list(args: argparse.Namespace) -> int:
    from .cells import expand, parse_selection, select
    from .show import format_table

    suite = load_suite(args.suite, args.profile)
    cells = select(expand(suite, resolve_device(args.device), args.max_cells), parse_selection(args.only))
    axes = list(suite.axes)
    rows = [[cell.id, *(cell_value(cell.config, axis) for axis in axes)] for cell in cells]
    print(format_table(["cell", *axes], rows))
    print(f"{len(cells)} cells, profile {suite.profile}, measurements {', '.join(suite.measurements)}, "
          f"timeout {suite.timeout_s:g} s per cell")
    return 0


def command_show(args: argparse.Namespace) -> int:
    from .show import show_table, status_counts, summary_table

    records = list(load_folder(args.folder, args.skip_invalid).values())
    if not records:
        raise UsageError(f"{args.folder}: no records")
    print(summary_table(records) if args.summary else show_table(records))
    print(status_counts(records))
    return 0


def command_compare(args: argparse.Namespace) -> int:
    from .compare import GateError, check_tolerance, comparison_table, compare_records, coverage_problem, summary_line

    metrics = args.metric or ["peak_allocated_bytes"]
    try:
        check_tolerance(args.tolerance)
        base = load_folder(args.base, args.skip_invalid)
        new = load_folder(args.new, args.skip_invalid)
        rows = compare_records(base, new, metrics, args.tolerance)
        problem = coverage_problem(base, rows, metrics)
    except GateError as exc:  # the gate cannot vouch for NEW: a failed gate (1), not a usage error
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except ValueError as exc:
        if isinstance(exc, (RecordError, SpecError)):
            raise
        raise UsageError(str(exc)) from None
    if problem is not None:
        print(f"error: {problem}", file=sys.stderr)
        return 1
    print(comparison_table(rows))
    print(summary_line(rows, args.tolerance))
    return 1 if any(row.is_regression for row in rows) else 0


COMMANDS = {"run": command_run, "list": command_list, "show": command_show, "compare": command_compare,
            "status": command_status}
