"""Which job holds which cell: the small state file beside the records, the scheduler's view, each cell's status.

``<out>/slurm/state.json`` maps each submitted cell to its job (``{"cells": {cell id: {"job_id", "submitted_at",
"seen_mtime_ns", "pid_start"}}, "executor": ...}``). Only the submitting ``harness run`` writes it (atomically, under
an ``flock``); a task writes only its record and a marker ``<out>/slurm/started/<cell id>.json`` (its job id, host,
pid) when it starts. A cell's status is read from those three and the scheduler:

- ``done`` / ``failed``: its record was written after the submission (``ok`` / anything else);
- ``running``: its job is alive and its task has started; ``submitted``: alive, not started;
- ``lost``: its job is gone and left no record (the next ``harness run`` writes why, then resubmits or not).

A job is alive when ``squeue`` lists it in a live state (SLURM) or when its controller process, checked by pid and
start time, still runs (submitit's local executor, whose job id is that pid).
"""
from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import subprocess
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterator, Literal, Optional

from .claims import process_start
from .records import read_record, record_path, RecordError

Executor = Literal["slurm", "submitit-local"]
STATE_DIR = "slurm"
#: squeue states in which a job may still write its record.
LIVE_STATES = {"PENDING", "RUNNING", "CONFIGURING", "COMPLETING", "SUSPENDED", "REQUEUED", "REQUEUE_HOLD",
               "REQUEUE_FED", "RESIZING", "SIGNALING", "STAGE_OUT", "STOPPED"}
CellStatus = Literal["submitted", "running", "done", "failed", "lost"]


class SchedulerError(RuntimeError):
    """The scheduler cannot be asked (one line)."""


@dataclass(frozen=True)
class Entry:
    job_id: str
    submitted_at: float
    seen_mtime_ns: Optional[int]  # the cell's record when it was submitted (None: there was none)
    pid_start: Optional[int] = None  # submitit-local: the controller's start time, against pid reuse


def state_dir(out: Path) -> Path:
    return Path(out) / STATE_DIR


def state_path(out: Path) -> Path:
    return state_dir(out) / "state.json"


def jobs_folder(out: Path) -> Path:
    """submitit's folder: pickles and the ``<job>_0_log.{out,err}`` logs."""
    return state_dir(out) / "jobs" / "%j"


def marker_path(out: Path, cell_id: str) -> Path:
    return state_dir(out) / "started" / f"{cell_id}.json"


def read_state(out: Path) -> tuple[Optional[Executor], dict[str, Entry]]:
    try:
        data = json.loads(state_path(out).read_text())
        return data.get("executor"), {cell: Entry(**entry) for cell, entry in data.get("cells", {}).items()}
    except FileNotFoundError:
        return None, {}
    except (OSError, ValueError, TypeError) as exc:
        raise SchedulerError(f"{state_path(out)}: unreadable state file ({exc}); remove it to start over") from None


@contextlib.contextmanager
def updating(out: Path, executor: Executor) -> Iterator[dict[str, Entry]]:
    """``with updating(out, kind) as cells:`` — change ``cells`` in place; written atomically at the end."""
    folder = state_dir(out)
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "state.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        _, cells = read_state(out)
        yield cells
        temporary = folder / f".state.{os.getpid()}.tmp"
        temporary.write_text(json.dumps({"executor": executor, "cells": {c: asdict(e) for c, e in cells.items()}},
                                        indent=1))
        os.replace(temporary, state_path(out))


def write_marker(out: Path, cell_id: str, job_id: str, owner: dict) -> None:
    path = marker_path(out, cell_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(json.dumps({"job_id": job_id, **owner}))
    os.replace(temporary, path)


def read_marker(out: Path, cell_id: str) -> Optional[dict]:
    try:
        return json.loads(marker_path(out, cell_id).read_text())
    except (OSError, ValueError):
        return None


# --- the scheduler's view --------------------------------------------------------------------------------------------


def alive_jobs(executor: Executor, entries: dict[str, Entry]) -> set[str]:
    """The job ids among ``entries`` that are still alive."""
    if executor == "submitit-local":
        return {e.job_id for e in entries.values() if _controller_alive(int(e.job_id), e.pid_start)}
    if not entries:
        return set()
    if shutil.which("squeue") is None:
        raise SchedulerError("squeue is not on PATH: cannot tell which SLURM jobs are alive")
    try:
        listing = subprocess.run(["squeue", "--me", "--noheader", "--array", "--format=%i|%T"],
                                 capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired:
        raise SchedulerError("squeue did not answer within 60 s") from None
    if listing.returncode != 0:
        raise SchedulerError(f"squeue failed: {(listing.stderr or listing.stdout).strip()}")
    alive = set()
    for line in listing.stdout.splitlines():
        job, _, state = line.strip().partition("|")
        if state.split()[0:1] and state.split()[0] in LIVE_STATES:
            alive.add(job)
    return alive & {e.job_id for e in entries.values()}


def _controller_alive(pid: int, started: Optional[int]) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    if stat.rsplit(")", 1)[1].split()[0] == "Z":  # exited, not yet reaped by its parent
        return False
    return started is None or process_start(pid) == started


# --- one cell --------------------------------------------------------------------------------------------------------


def cell_status(out: Path, cell_id: str, entry: Entry, alive: set[str]) -> tuple[CellStatus, str]:
    """The cell's status and a word on it (the record's status, or the job's)."""
    path = record_path(out, cell_id)
    mtime = mtime_ns(path)
    if mtime is not None and mtime != entry.seen_mtime_ns:
        try:
            record = read_record(path)
        except RecordError as exc:
            return "failed", str(exc)
        return ("done" if record.status == "ok" else "failed"), record.status
    if entry.job_id in alive:
        marker = read_marker(out, cell_id)
        if marker is not None and marker.get("job_id") == entry.job_id:
            return "running", f"on {marker.get('host')} since {_ago(marker.get('at'))}"
        return "submitted", f"queued {_ago(entry.submitted_at)}"
    return "lost", "job gone without a record"


def mtime_ns(path: Path) -> Optional[int]:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return None


def _ago(at: Optional[float]) -> str:
    if at is None:
        return "?"
    seconds = max(0.0, time.time() - at)
    return f"{seconds:.0f} s ago" if seconds < 120 else f"{seconds / 60:.0f} min ago"


def report(out: Path) -> tuple[list[list[str]], str]:
    """``harness status OUT``: a row per submitted cell (cell, job, status, detail) and the summary line."""
    executor, entries = read_state(out)
    if executor is None:
        raise SchedulerError(f"{out}: no {STATE_DIR}/state.json: nothing was submitted to this folder with "
                             f"--executor slurm")
    alive = alive_jobs(executor, entries)
    rows, counts = [], {status: 0 for status in ("submitted", "running", "done", "failed", "lost")}
    for cell_id, entry in sorted(entries.items()):
        status, detail = cell_status(out, cell_id, entry, alive)
        counts[status] += 1
        rows.append([cell_id, entry.job_id, status, detail])
    line = f"{len(entries)} cells: " + ", ".join(f"{count} {status}" for status, count in counts.items())
    if counts["lost"]:
        line += " (harness run records why and resubmits)"
    return rows, line
