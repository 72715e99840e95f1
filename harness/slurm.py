"""``harness run --executor slurm``: every pending cell becomes one task of a SLURM job array, through submitit.

One run of this does, in order:

1. **reap**: a cell whose job (from the state file, :mod:`harness.slurm_state`) is gone without writing a record gets
   a record saying why — ``timeout`` (SLURM's time limit, or submitit's "timed-out" end), ``oom`` (SLURM's
   OUT_OF_MEMORY or an oom-kill in the log), ``error`` (the task raised: submitit's result says so), or ``killed``
   (cancelled, preempted past requeueing, or vanished: a plain resume measures it again) — with the path of
   submitit's log. A failure record never replaces an ``ok`` one, nor a record written after the submission;
2. **submit**: the cells a local run would measure (:func:`harness.runner.pending_cells`), less those whose job is
   still alive, as one array (:class:`harness.slurm_task.CellTask` per cell); their job ids go in the state file;
3. **watch** (unless ``detach``): the same progress bar and per-cell lines as a local run, as records land, until
   every watched job has ended; then reap again.

A task runs the local worker code and writes its own record (:mod:`harness.slurm_task`); this process only submits,
watches and writes failure records, under the cell's claim like any other writer. ``submitit-local`` is the same
path through submitit's ``LocalExecutor`` (real processes on this machine, no SLURM): the tests use it.
"""
from __future__ import annotations

import pickle
import shutil
import sys
import time
from collections import Counter
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Optional

from tqdm import tqdm

from .cells import Cell
from .claims import STALE_GRACE_S, claimed, lock_path, read_owner, remove_leftovers
from .environment import collect_environment
from .fingerprint import code_fingerprint
from .records import Metrics, MeasurementRun, Record, RecordError, read_record, record_path, write_record
from .runner import RunOptions, RunSummary, cell_line, pending_cells
from .slurm_options import SlurmOptions, submitit_parameters
from .slurm_state import (Entry, Executor, SchedulerError, alive_jobs, jobs_folder, mtime_ns, read_marker,
                          read_state, updating)
from .spec import Suite

#: How often the watcher asks the scheduler (s); SLURM's own accounting is not needed (squeue only).
POLL_S = {"slurm": 5.0, "submitit-local": 1.0}
#: What SLURM (slurmstepd) and submitit write into a job's stderr log when it ends for memory or for time.
OOM_SIGNS = ("oom-kill", "out_of_memory", "out of memory")
TIMEOUT_SIGNS = ("due to time limit", "timed-out")


@dataclass(frozen=True)
class ClusterOptions:
    executor: Executor
    slurm: SlurmOptions
    detach: bool = False


def check_tools(executor: Executor) -> None:
    """One line naming what is missing before anything is submitted."""
    if executor == "slurm":
        missing = [tool for tool in ("sbatch", "squeue", "srun") if shutil.which(tool) is None]
        if missing:
            raise SchedulerError(f"--executor slurm: {', '.join(missing)} not on PATH; run on a SLURM login node "
                                 f"(or use --executor local)")


def run_on_cluster(suite: Suite, cells: list[Cell], options: RunOptions, cluster: ClusterOptions) -> RunSummary:
    """Reap, submit, and (unless detached) watch; what a local run returns, counted from the records that landed."""
    import submitit  # only here: a local run needs none of it

    check_tools(cluster.executor)
    options = replace(options, out=options.out.resolve())
    out = options.out
    out.mkdir(parents=True, exist_ok=True)
    remove_leftovers(out)
    fingerprint = code_fingerprint(suite.path)
    by_id = {cell.id: cell for cell in cells}
    environment = collect_environment(options.device)
    reap(suite, by_id, options, cluster.executor, environment, fingerprint)

    pending = pending_cells(cells, suite, options, fingerprint)
    _, entries = read_state(out)
    alive = alive_jobs(cluster.executor, {c: entries[c] for c in by_id if c in entries})
    queued = [cell for cell in pending.cells if cell.id in entries and entries[cell.id].job_id in alive]
    todo = [cell for cell in pending.cells if cell not in queued]
    summary = RunSummary(total=len(cells), skipped=len(cells) - len(pending.cells), stale=pending.stale,
                         keep_stale=options.keep_stale)
    if todo:
        jobs = submit(suite, todo, options, cluster, pending.seen, submitit)
        print(f"submitted {len(todo)} cells as {_describe(jobs)}" + (f"; {len(queued)} still queued from before"
                                                                      if queued else ""), flush=True)
    elif queued:
        print(f"nothing to submit; {len(queued)} cells still queued from before", flush=True)
    if cluster.detach or not pending.cells:
        if pending.cells:
            print(f"detached: python -m harness status {out}", flush=True)
        return summary
    watch(suite, [*queued, *todo], options, cluster, summary, environment, fingerprint)
    return summary


def submit(suite: Suite, cells: list[Cell], options: RunOptions, cluster: ClusterOptions,
           seen: dict[str, Optional[int]], submitit) -> list:
    from .claims import process_start
    from .slurm_task import CellTask, TaskSpec

    folder = jobs_folder(options.out)
    if cluster.executor == "slurm":
        executor = submitit.SlurmExecutor(folder=folder, max_num_timeout=0)
        executor.update_parameters(**submitit_parameters(cluster.slurm, suite.timeout_s,
                                                         f"gnn1000-{suite.name}-{suite.profile}"))
    else:
        executor = submitit.LocalExecutor(folder=folder, max_num_timeout=0)
        executor.update_parameters(timeout_min=submitit_parameters(cluster.slurm, suite.timeout_s, "")["time"])
    tasks = [CellTask(TaskSpec(suite=suite, cell=cell, options=options, seen_mtime_ns=seen.get(cell.id)))
             for cell in cells]
    with updating(options.out, cluster.executor) as entries:
        try:
            with executor.batch():
                jobs = [executor.submit(task) for task in tasks]
        except (submitit.core.utils.FailedJobError, submitit.core.utils.FailedSubmissionError) as exc:
            lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
            raise SchedulerError(f"sbatch refused the array: {lines[-1] if lines else exc}") from None
        now = time.time()
        for cell, job in zip(cells, jobs):
            pid_start = process_start(int(job.job_id)) if cluster.executor == "submitit-local" else None
            entries[cell.id] = Entry(job_id=str(job.job_id), submitted_at=now, seen_mtime_ns=seen.get(cell.id),
                                     pid_start=pid_start)
    return jobs


def _describe(jobs: list) -> str:
    ids = [str(job.job_id) for job in jobs]
    arrays = sorted({job_id.split("_")[0] for job_id in ids if "_" in job_id})
    return f"job array {', '.join(arrays)}" if arrays else f"jobs {ids[0]}…{ids[-1]}" if len(ids) > 1 else \
        f"job {ids[0]}"


def watch(suite: Suite, cells: list[Cell], options: RunOptions, cluster: ClusterOptions, summary: RunSummary,
          environment, fingerprint: Optional[str]) -> None:
    """Progress as records land; a job gone without one is reaped at once."""
    out = options.out
    _, entries = read_state(out)
    watched = {cell.id: cell for cell in cells}
    with tqdm(total=summary.total, initial=summary.skipped, unit="cell", desc=f"{suite.name}/{suite.profile}",
              disable=not options.progress, dynamic_ncols=True) as bar:
        try:
            while watched:
                alive = alive_jobs(cluster.executor, {c: entries[c] for c in watched})  # before the records
                for cell_id, cell in list(watched.items()):
                    entry = entries[cell_id]
                    ended = entry.job_id not in alive
                    if mtime_ns(record_path(out, cell_id)) == entry.seen_mtime_ns and not ended:
                        continue
                    if mtime_ns(record_path(out, cell_id)) == entry.seen_mtime_ns:
                        write_failure(suite, cell, entry, options, cluster.executor, environment, fingerprint)
                    del watched[cell_id]
                    bar.update()
                    try:
                        record = read_record(record_path(out, cell_id))
                    except RecordError:
                        record = None
                    if record is None or mtime_ns(record_path(out, cell_id)) == entry.seen_mtime_ns:
                        summary.elsewhere += 1  # the task left it (another run held it) and wrote nothing
                        continue
                    summary.statuses[record.status] += 1
                    tqdm.write(cell_line(record, cell.label), file=sys.stdout)
                if watched:
                    time.sleep(POLL_S[cluster.executor])
        except KeyboardInterrupt:  # the jobs are SLURM's now: leaving only stops the watching
            tqdm.write(f"stopped watching; {len(watched)} jobs go on: python -m harness status {out}",
                       file=sys.stderr)


def reap(suite: Suite, cells: dict[str, Cell], options: RunOptions, executor: Executor, environment,
         fingerprint: Optional[str]) -> int:
    """Write the failure record of every cell of ``cells`` whose job ended without one; return how many."""
    kind, entries = read_state(options.out)
    mine = {cell_id: entry for cell_id, entry in entries.items() if cell_id in cells}
    if not mine:
        return 0
    alive = alive_jobs(kind or executor, mine)
    written = 0
    for cell_id, entry in mine.items():
        if entry.job_id not in alive and mtime_ns(record_path(options.out, cell_id)) == entry.seen_mtime_ns:
            written += write_failure(suite, cells[cell_id], entry, options, kind or executor, environment,
                                     fingerprint)
    return written


def write_failure(suite: Suite, cell: Cell, entry: Entry, options: RunOptions, executor: Executor, environment,
                  fingerprint: Optional[str]) -> bool:
    """The record of a job that ended without one; False when there is nothing to say (the task left the cell to
    another run) or it is not ours to write (a record landed, the existing one is ``ok``, the cell is claimed)."""
    from .slurm_task import task_log

    out = options.out
    log = task_log(out, entry.job_id)
    ending = job_ending(entry.job_id, log, executor)
    if ending is None:
        return False
    status, message = ending
    _release_dead_task(out, cell.id, entry.job_id)
    with claimed(out, cell.id, suite.timeout_s + STALE_GRACE_S) as ours:
        path = record_path(out, cell.id)
        if not ours or mtime_ns(path) != entry.seen_mtime_ns:
            return False
        try:
            if path.exists() and read_record(path).status == "ok":
                return False  # a stale ok record stays until a task replaces it
        except RecordError:
            pass
        relative = str(log.relative_to(out)) if log.is_relative_to(out) else str(log)
        error = f"SLURM job {entry.job_id}: {message} (submitit log: {relative})"
        seconds = max(0.0, time.time() - entry.submitted_at)
        runs = {name: MeasurementRun(status=status, seconds=seconds, error=error, log_path=relative)
                for name in suite.measurements}  # which one was running is not known: none of them finished
        write_record(out, Record(
            suite=suite.name, profile=suite.profile, cell_id=cell.id, cell=cell.config,
            measurements=list(suite.measurements), status=status, error=error, metrics=Metrics(), runs=runs,
            memory_budget_bytes=options.memory_budget_bytes, environment=environment,
            started_at=datetime.fromtimestamp(entry.submitted_at, timezone.utc), seconds=seconds,
            code_fingerprint=fingerprint, training_step=cell.settings.train_config().step_description(),
            log_path=relative))
    return True


def job_ending(job_id: str, log: Path, executor: Executor) -> Optional[tuple[str, str]]:
    """``(status, why)`` for a job that ended without a record; None when its task chose not to run the cell."""
    result = _result(log)
    if result is not None:
        outcome, value = result
        if outcome == "success":
            return None if str(value).startswith("skipped") else ("error", f"ended '{value}' but wrote no record")
        text = str(value).lower()
        if "uncompletedjoberror" in text and "timed-out" in text:
            return "timeout", "out of its SLURM time limit (not requeued)"
        lines = [line for line in str(value).strip().splitlines() if line.strip()]
        return "error", f"the task raised {lines[-1].strip() if lines else 'an exception'}"
    state = _sacct_state(job_id) if executor == "slurm" else None
    try:
        text = log.read_text(errors="replace").lower()
    except OSError:
        text = ""
    if (state or "").startswith("OUT_OF_ME") or any(sign in text for sign in OOM_SIGNS):
        return "oom", "killed by SLURM for memory (OUT_OF_MEMORY)"
    if (state or "").startswith("TIMEOUT") or any(sign in text for sign in TIMEOUT_SIGNS):
        return "timeout", "killed by SLURM at its time limit"
    if (state or "").startswith("FAILED"):
        return "error", "FAILED without a result"
    why = f"{state.lower()}" if state else "cancelled" if "cancelled" in text else "gone"
    return "killed", f"{why} without a record or a result; a plain resume measures it again"


def _result(log: Path) -> Optional[tuple[str, object]]:
    """submitit's ``<job>_0_result.pkl`` beside the log: ``("success", value)`` or ``("error", traceback)``."""
    path = log.with_name(log.name.replace("_log.err", "_result.pkl"))
    try:
        with open(path, "rb") as handle:
            return pickle.load(handle)
    except (OSError, pickle.UnpicklingError, EOFError, ValueError):
        return None


def _sacct_state(job_id: str) -> Optional[str]:
    """SLURM's accounting state, where accounting is kept (a cluster without slurmdbd has none: None)."""
    import subprocess

    if shutil.which("sacct") is None:
        return None
    try:
        done = subprocess.run(["sacct", "-n", "-X", "-P", "-o", "State", "-j", job_id], capture_output=True,
                              text=True, timeout=60)
    except subprocess.TimeoutExpired:
        return None
    lines = [line.strip() for line in done.stdout.splitlines() if line.strip()]
    return lines[0].upper() if done.returncode == 0 and lines else None


def _release_dead_task(out: Path, cell_id: str, job_id: str) -> None:
    """The lock of a task whose job SLURM says has ended: its owner is provably gone, on whatever node it ran."""
    marker = read_marker(out, cell_id)
    owner = read_owner(lock_path(out, cell_id))
    if marker is not None and owner is not None and marker.get("job_id") == job_id \
            and (owner.host, owner.pid, owner.started) == (marker.get("host"), marker.get("pid"), marker.get("started")):
        lock_path(out, cell_id).unlink(missing_ok=True)
