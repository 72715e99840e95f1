"""Run a suite's cells, each measurement in a fresh process, and write one record per cell as it finishes.

On the CPU, processes come from a ``multiprocessing`` fork server that imports torch, PyG and the project once (CUDA
cells are spawned: CUDA does not survive a fork): each cell still
runs in a process of its own — allocator peaks start clean, a crash or an OOM kill takes only that cell — without
paying the ~8 s import of torch_geometric per cell. A cell's measurements share one deadline (``timeout_s``);
after the first that does not end ``ok`` the others are skipped and the record carries that status.

Resuming is reading the output folder: a cell whose record is ``ok`` and carries this code's fingerprint
(:mod:`harness.fingerprint`) is skipped; a record of other code is stale and measured again unless ``keep_stale``; a
failed one is retried only with ``rerun_failed``, except a ``killed`` one (a SIGKILL that says nothing about the
cell), which a plain resume retries. Records are written atomically as each cell finishes, so a killed run loses no
finished cell.

Runs sharing an output folder split its cells: each cell is claimed (:mod:`harness.claims`) before it runs and
skipped when another live run holds it, or when a record appeared since this run looked (the other run finished it).
Every measurement process leads its own process group, killed whole on a timeout and after the process ends, so no
child of a cell outlives it. ``jobs > 1`` runs that many cells side by side (each still in its own process), for
suites whose result is no time: the ``estimate`` suites, whose cells are single-threaded Python, and ``train`` suites,
whose result is a score (a 2-core machine trains two 1-thread cells at once); every record says how many cells ran
at once (``cells_side_by_side``), since its seconds per epoch are slower for it.
"""
from __future__ import annotations

import itertools
import json
import multiprocessing
import os
import signal
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from tqdm import tqdm

from .cells import Cell
from .claims import STALE_GRACE_S, claimed, remove_leftovers
from .environment import collect_environment
from .failures import LINE_LIMIT, died, memory_cgroup_counter, oom_kills, outcome, shorten
from .fingerprint import code_fingerprint
from .records import Environment, MeasurementRun, Metrics, Record, RecordError, read_record, record_path, write_record
from .spec import Suite
from .units import format_bytes, format_seconds
from .worker import Job, ready, run_in_child

#: Imported once by the fork server, so that every cell process starts with them loaded.
PRELOAD = ["torch", "torch_geometric", "models", "harness.datasets", "harness.training", "harness.measurements"]
#: Measurements whose result is a time: their cells must not share the machine with other cells (``jobs = 1``).
TIMED_MEASUREMENTS = {"time", "paired-time"}


@dataclass(frozen=True)
class RunOptions:
    out: Path
    device: str = "cpu"
    memory_budget_bytes: int | None = None
    rerun_failed: bool = False
    keep_stale: bool = False  # keep records of other code (another fingerprint) instead of measuring them again
    progress: bool = True
    jobs: int = 1  # cells at once (suites without timed measurements only)


@dataclass
class RunSummary:
    total: int
    skipped: int
    stale: int = 0  # records of other code: measured again, or kept with keep_stale
    keep_stale: bool = False
    statuses: Counter = field(default_factory=Counter)
    elsewhere: int = 0  # cells another run held, or finished while this one ran

    def line(self) -> str:
        ran = sum(self.statuses.values())
        counts = ", ".join(f"{count} {status}" for status, count in sorted(self.statuses.items())) or "nothing"
        stale = ""
        if self.stale:
            stale = (f", {self.stale} stale kept (--keep-stale)" if self.keep_stale
                     else f" ({self.stale} stale: recorded by other code, measured again)")
        elsewhere = f", {self.elsewhere} left to another run on this folder" if self.elsewhere else ""
        return f"{self.total} cells: ran {ran} ({counts}){stale}, {self.skipped} already recorded{elsewhere}"


#: Statuses a plain resume measures again: they say nothing about the cell.
RETRIED = frozenset({"killed"})


@dataclass(frozen=True)
class Pending:
    cells: list[Cell]
    stale: int  # how many records were of another fingerprint (among the pending cells, or kept)
    seen: dict[str, int | None] = field(default_factory=dict)  # cell id → its record's mtime when looked at


def _mtime_ns(path: Path) -> int | None:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return None


def pending_cells(cells: list[Cell], suite: Suite, options: RunOptions, fingerprint: str | None = None) -> Pending:
    """The cells that still need a run: no valid record, a record missing a measurement, a record of other code
    (unless ``keep_stale``), or (on request) a failure."""
    pending, stale, seen = [], 0, {}
    for cell in cells:
        path = record_path(options.out, cell.id)
        seen[cell.id] = _mtime_ns(path)
        try:
            record = read_record(path) if path.exists() else None
        except RecordError as exc:
            tqdm.write(f"warning: {exc}; measuring the cell again", file=sys.stderr)
            record = None
        complete = record is not None and set(suite.measurements) <= set(record.runs)
        is_stale = complete and fingerprint is not None and record.code_fingerprint != fingerprint
        stale += is_stale
        if (not complete or (is_stale and not options.keep_stale) or record.status in RETRIED
                or (record.status != "ok" and options.rerun_failed)):
            pending.append(cell)
    return Pending(pending, stale, seen)


def run_suite(suite: Suite, cells: list[Cell], options: RunOptions) -> RunSummary:
    """Measure every pending cell of ``cells``; return what happened."""
    options.out.mkdir(parents=True, exist_ok=True)
    remove_leftovers(options.out)  # half-written records of killed runs (only theirs: another may be writing)
    fingerprint = code_fingerprint(suite.path)
    pending = pending_cells(cells, suite, options, fingerprint)
    todo = pending.cells
    summary = RunSummary(total=len(cells), skipped=len(cells) - len(todo), stale=pending.stale,
                         keep_stale=options.keep_stale)
    if not todo:
        return summary
    environment = collect_environment(options.device).model_copy(update={"cells_side_by_side": options.jobs})
    with _Processes(options.device) as processes, tqdm(total=len(cells), initial=summary.skipped, unit="cell",
                                         desc=f"{suite.name}/{suite.profile}", disable=not options.progress,
                                         dynamic_ncols=True) as bar:
        done = threading.Lock()

        def run_and_write(cell: Cell) -> None:
            # a lock from another host is trusted until the owner's own deadline has surely ended the cell
            with claimed(options.out, cell.id, suite.timeout_s + STALE_GRACE_S) as ours:
                if not ours or _mtime_ns(record_path(options.out, cell.id)) != pending.seen.get(cell.id):
                    with done:  # held by another run, or finished by one since we looked
                        summary.elsewhere += 1
                        bar.update()
                    return
                record = run_cell(cell, suite, options, environment, processes, fingerprint)
                with done:
                    write_record(options.out, record)
                    summary.statuses[record.status] += 1
                    tqdm.write(cell_line(record, cell.label), file=sys.stdout)
                    bar.update()

        if options.jobs <= 1:
            for cell in todo:
                run_and_write(cell)
        else:
            with ThreadPoolExecutor(max_workers=options.jobs) as pool:
                for future in [pool.submit(run_and_write, cell) for cell in todo]:
                    future.result()
    return summary


def run_cell(cell: Cell, suite: Suite, options: RunOptions, environment: Environment,
             processes: "_Processes", fingerprint: str | None = None) -> Record:
    """All measurements of one cell, each in its own process, under one deadline."""
    started_at = datetime.now(timezone.utc)
    start = time.monotonic()
    deadline = start + suite.timeout_s
    metrics: dict[str, Any] = {}
    runs: dict[str, MeasurementRun] = {}
    status, error, log = "ok", None, None
    for measurement in suite.measurements:
        log = f"logs/{cell.id}.{measurement}.log"  # relative to the results folder, as the record keeps it
        job = Job(cell=cell.config, measurement=measurement, settings=suite.settings.model_dump(),
                  memory_budget_bytes=options.memory_budget_bytes, result_path="",
                  log_path=str(options.out / log), console=options.progress)
        run_start = time.monotonic()
        result = processes.run(job, timeout=deadline - run_start, total_timeout=suite.timeout_s)
        runs[measurement] = MeasurementRun(status=result["status"], seconds=time.monotonic() - run_start,
                                           error=result["error"], exit_code=result.get("exit_code"), log_path=log)
        metrics.update(result["metrics"])
        if result["status"] != "ok":
            status, error = result["status"], f"{measurement}: {result['error']}"
            break
    try:
        checked = Metrics.model_validate(metrics)
    except ValidationError as exc:  # a measurement returned something the schema refuses: this cell is an error
        problem = exc.errors(include_url=False)[0]
        checked, status = Metrics(), "error"
        error = f"metric {'.'.join(map(str, problem['loc']))}: {problem['msg']}"
    return Record(
        suite=suite.name, profile=suite.profile, cell_id=cell.id, cell=cell.config,
        measurements=list(suite.measurements), status=status, error=error, metrics=checked, runs=runs,
        memory_budget_bytes=options.memory_budget_bytes, environment=environment, started_at=started_at,
        seconds=time.monotonic() - start, code_fingerprint=fingerprint,
        training_step=cell.settings.train_config().step_description(), log_path=log,
    )


def cell_line(record: Record, label: str) -> str:
    """One line per finished cell: status, peak (measured, or estimated where only estimated), step time, wall time."""
    step = record.metric("step_seconds.median")
    measured, estimated = record.metrics.peak_allocated_bytes, record.metrics.estimated_peak_bytes
    peak = (f"estimated peak {format_bytes(estimated)}" if measured is None and estimated is not None
            else f"peak {format_bytes(measured)}")
    timing = f"step {format_seconds(step)}"
    paired = record.metrics.paired_time
    if paired is not None and paired.ratios:  # the first pair: the subject over the reference
        first = paired.ratios[0]
        timing = (f"{first.numerator}/{first.denominator} {first.median:.3f} [{first.low:.3f}, {first.high:.3f}]"
                  + (f" (ideal {first.ideal:.3f})" if first.ideal is not None else ""))
        peak = f"{paired.rounds} rounds"
    if record.metrics.best_valid is not None:  # a train cell: its scores and epoch time
        seconds = record.metric("epoch_seconds") or []
        test = record.metrics.test_at_best_valid
        timing = (f"valid {record.metrics.best_valid:.4f} test {'-' if test is None else f'{test:.4f}'}  "
                  + (f"{sum(seconds) / len(seconds):.3f} s/epoch" if seconds else "-"))
    text = f"{record.status:<7} {label}  {peak}  {timing}  [{record.seconds:.1f} s]"
    return text + (f"  {error_line(record)}" if record.error else "")


def error_line(record: Record) -> str:
    """A record's error for a progress line: the record keeps every line of it; the line shows the first (which
    measurement, what type) joined to the last (the message's own last line), and where the log is."""
    lines = [line for line in (record.error or "").splitlines() if line.strip()]
    text = lines[0] if len(lines) == 1 else f"{lines[0]} … {lines[-1].strip()}"
    return shorten(text, LINE_LIMIT) + (f" (log: {record.log_path})" if record.log_path else "")


def process_context(device: str = "cpu") -> multiprocessing.context.BaseContext:
    """The fork server context, with the heavy imports preloaded; spawn for CUDA cells and where there is no fork.

    CUDA cannot be used in a process forked from one where the driver was initialised, and an import alone can do
    that (a device count at import time): on the first GPU run every forked cell failed with "CUDA error:
    initialization error". A spawned cell pays its own imports, which is small beside a GPU cell's work.
    """
    if device.startswith("cuda") or "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(PRELOAD)
    return context


def start_process_server(device: str = "cpu") -> None:
    """Start the fork server's imports now, in the background (e.g. while the suite is being validated)."""
    if process_context(device).get_start_method() == "forkserver":
        from multiprocessing import forkserver

        forkserver.ensure_running()


class _Processes:
    """Fresh processes for jobs, forked from a server that has the heavy imports done."""

    def __init__(self, device: str = "cpu") -> None:
        self.device = device

    def __enter__(self) -> "_Processes":
        self.context = process_context(self.device)
        self.scratch = tempfile.TemporaryDirectory(prefix="gnn1000-jobs-")
        self.count = itertools.count(1)  # thread-safe: cells may run side by side
        self.oom_counter = memory_cgroup_counter()
        self.groups: set[int] = set()  # process groups of running jobs, killed on exit whatever happens
        self.groups_lock = threading.Lock()
        warm_up = self.context.Process(target=ready)  # pays the server's imports here, not in a cell's timeout
        warm_up.start()
        warm_up.join()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        with self.groups_lock:
            for group in list(self.groups):
                _kill_group(group)
        self.scratch.cleanup()

    def run(self, job: Job, timeout: float, total_timeout: float) -> dict[str, Any]:
        """Run ``job`` in a new process; ``{"status", "metrics", "error", "exit_code"}`` whatever happens to it."""
        if timeout <= 0:
            return outcome("timeout", f"no time left of the cell's {total_timeout:g} s")
        result_path = Path(self.scratch.name) / f"{next(self.count)}.json"
        job = Job(**{**job.__dict__, "result_path": str(result_path)})
        lifeline, keep_alive = self.context.Pipe(duplex=False)  # the worker exits when keep_alive closes
        process = self.context.Process(target=run_in_child, args=(job, lifeline), name=f"gnn1000-{job.measurement}")
        kills_before = oom_kills(self.oom_counter)
        peak_rss = None
        try:
            process.start()
            assert process.pid is not None
            with self.groups_lock:
                self.groups.add(process.pid)  # the worker's first act is to lead the group of its own pid
            lifeline.close()
            peak_rss = _join_watching_peak(process, timeout)
            if process.is_alive():
                _kill_group(process.pid)
                process.kill()  # in case it had not made its group yet
                process.join()
                return outcome("timeout", f"still running after {total_timeout:g} s", process.exitcode)
        finally:
            keep_alive.close()
            if process.pid is not None:
                _kill_group(process.pid)  # whatever the job started and left behind
                with self.groups_lock:
                    self.groups.discard(process.pid)
        if result_path.exists():
            result = json.loads(result_path.read_text())
            return {**result, "exit_code": process.exitcode}
        kills_after = oom_kills(self.oom_counter)
        oom_killed = kills_before is not None and kills_after is not None and kills_after > kills_before
        return died(process.exitcode, Path(job.log_path), oom_killed=oom_killed, peak_rss_bytes=peak_rss,
                    budget_bytes=job.memory_budget_bytes)


#: How often the runner samples a running job's peak resident size (``VmHWM``, the kernel's own running maximum,
#: so a sample misses nothing but the last interval before a kill).
PEAK_POLL_S = 0.25


def _join_watching_peak(process: multiprocessing.process.BaseProcess, timeout: float) -> int | None:
    """Wait up to ``timeout`` s for ``process``; return the largest peak resident size seen (None: never read)."""
    deadline = time.monotonic() + timeout
    peak = None
    while process.is_alive():
        left = deadline - time.monotonic()
        if left <= 0:
            break
        seen = _peak_rss_bytes(process.pid)
        if seen is not None and (peak is None or seen > peak):
            peak = seen
        process.join(min(PEAK_POLL_S, left))
    return peak


def _peak_rss_bytes(pid: int | None) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _kill_group(group: int) -> None:
    """SIGKILL every process of the group ``group`` (gone already, or never made: nothing to do)."""
    try:
        os.killpg(group, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
