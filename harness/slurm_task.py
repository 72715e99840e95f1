"""One cell as one SLURM task: what runs on the node, exactly what a local run does for that cell.

The task claims the cell (:mod:`harness.claims`), runs :func:`harness.runner.run_cell` — every measurement in a fresh
process from the same fork server, under the same deadline, through the same worker code
(:func:`harness.worker.execute`) — and writes the record with :func:`harness.records.write_record` (a temporary
file renamed over the final name). A record of a task run and of a local run differ only in their environment.

A late task never overwrites: it runs only if the cell's record is still the one seen when it was submitted, and
checks again, under its claim, just before it writes. A preempted task (SIGUSR2 from SLURM) releases its claim and
is requeued by submitit (:meth:`CellTask.checkpoint`); a task out of time is not requeued (``max_num_timeout=0``).
"""
from __future__ import annotations

import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import submitit

from .cells import Cell
from .claims import STALE_GRACE_S, claimed, process_start, release
from .environment import collect_environment
from .fingerprint import code_fingerprint
from .records import record_path, write_record
from .runner import RunOptions, _Processes, run_cell
from .slurm_state import mtime_ns, write_marker
from .spec import Suite


@dataclass(frozen=True)
class TaskSpec:
    suite: Suite
    cell: Cell
    options: RunOptions
    seen_mtime_ns: Optional[int]  # the cell's record when submitted; anything else means someone wrote it since


class CellTask(submitit.helpers.Checkpointable):
    """``CellTask(spec)()`` → the record's status, or ``"skipped: …"`` when the cell was not this task's to run."""

    def __init__(self, spec: TaskSpec) -> None:
        self.spec = spec

    def __call__(self) -> str:
        spec, out = self.spec, self.spec.options.out
        if mtime_ns(record_path(out, spec.cell.id)) != spec.seen_mtime_ns:
            return "skipped: recorded since it was submitted"
        with claimed(out, spec.cell.id, spec.suite.timeout_s + STALE_GRACE_S) as ours:
            if not ours:
                return "skipped: another run holds the cell"
            job_id = submitit.JobEnvironment().job_id
            write_marker(out, spec.cell.id, job_id, {"host": socket.gethostname(), "pid": os.getpid(),
                                                     "started": process_start(os.getpid()), "at": time.time()})
            environment = collect_environment(spec.options.device)
            fingerprint = code_fingerprint(spec.suite.path)
            with _Processes(spec.options.device) as processes:
                record = run_cell(spec.cell, spec.suite, spec.options, environment, processes, fingerprint)
            if mtime_ns(record_path(out, spec.cell.id)) != spec.seen_mtime_ns:
                return "skipped: recorded by another run while this one measured"
            write_record(out, record)
            return record.status

    def checkpoint(self, *args: Any, **kwargs: Any) -> submitit.helpers.DelayedSubmission:
        """Preempted: let the requeued task (maybe on another node) claim the cell, then requeue this one."""
        release(self.spec.options.out, self.spec.cell.id)
        return super().checkpoint(*args, **kwargs)


def task_log(out: Path, job_id: str) -> Path:
    """submitit's stderr log of ``job_id`` (``A_i`` for an array task), where a task that died says why."""
    from .slurm_state import jobs_folder

    return submitit.core.utils.JobPaths(jobs_folder(out), job_id, 0).stderr
