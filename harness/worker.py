"""The inside of a cell's process: set the limits, run one measurement, classify the outcome, write it down.

The runner starts this in a fresh process per (cell, measurement). Whatever happens here — an exception, an
out-of-memory error, a crash — ends as a small JSON result file or as an exit status the runner can read, so one
cell can never take the matrix down with it. The process holds the read end of a pipe whose write end only the
runner holds ("lifeline"): when the runner dies, even by SIGKILL, the pipe closes and the process exits, so killing
the runner leaves no orphan computing in the background.

The process leads a process group of its own (``setpgid`` first thing), so whatever it starts (a DataLoader worker,
a subprocess) can be ended with it: the runner kills the whole group on a timeout and after every exit, and the
lifeline kills the group when the runner is gone.
"""
from __future__ import annotations

import json
import os
import signal
import sys
import threading
import traceback
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, Optional, TextIO

from .config import CellConfig, MeasurementSettings
from .failures import full_message, is_out_of_memory
from .measurements import MEASUREMENTS, CellContext
from .units import format_bytes

#: On the CPU the process's address space is capped at its size at start + this many bytes per byte of budget +
#: a fixed slack (thread stacks, allocator arenas): a safety net against runaway cells, not the measurement.
ADDRESS_SPACE_FACTOR = 2
ADDRESS_SPACE_SLACK = 1024**3
ARENA_SLACK_PER_CPU = 128 * 1024**2


@dataclass(frozen=True)
class Job:
    """One measurement of one cell, as the runner hands it to a worker process."""

    cell: dict[str, Any]  # the cell's configuration (CellConfig fields + "device")
    measurement: str
    settings: dict[str, Any]  # the suite's MeasurementSettings
    memory_budget_bytes: int | None
    result_path: str
    log_path: str
    console: bool = True  # progress lines (a train cell's epochs) to the runner's console; the log has them anyway


def run_in_child(job: Job, lifeline: Connection) -> None:
    """Process entry point: everything after this writes to the cell's log file, the result to its JSON file."""
    _lead_own_process_group()
    console = _console() if job.console else None
    _redirect_output(job.log_path)
    threading.Thread(target=_exit_when_closed, args=(lifeline,), daemon=True).start()
    result = execute(job, console)
    sys.stdout.flush()
    sys.stderr.flush()
    _write_json(job.result_path, result)


def ready() -> None:
    """A process that does nothing: starting one waits until the fork server has done its imports."""


def execute(job: Job, console: Optional[TextIO] = None) -> dict[str, Any]:
    """Run ``job`` here and return ``{"status", "metrics", "error"}``; never raises. ``console``: where a
    measurement may write progress lines for the person running the suite (None: nowhere)."""
    try:
        import torch

        config = CellConfig.model_validate({k: v for k, v in job.cell.items() if k != "device"})
        device = torch.device(job.cell["device"])
        settings = MeasurementSettings(**job.settings)
        apply_memory_budget(device, job.memory_budget_bytes)
        if device.type == "cpu" and job.measurement == "memory":
            pin_malloc_mmap_threshold()
        threads = settings.threads if settings.threads is not None else default_threads(job.measurement)
        if threads is not None:  # fixed per suite, so that times of one suite compare
            torch.set_num_threads(threads)
        measurement = MEASUREMENTS.get(job.measurement)
        context = CellContext(config=config, device=device, settings=settings,
                              memory_budget_bytes=job.memory_budget_bytes, console=console,
                              label=f"{Path(job.log_path).name.split('.')[0][:8]} {job.measurement}")
        metrics = measurement(context)
    except BaseException as exc:  # noqa: BLE001 - every failure must become a record, including SystemExit
        traceback.print_exc()
        status = "oom" if is_out_of_memory(exc) else "error"
        return {"status": status, "metrics": {}, "error": full_message(exc)}
    return judge_budget(metrics, job.memory_budget_bytes)


#: A machine of at most this many cores is small: a measurement that declares ``small_machine_threads`` runs with
#: that many threads there unless its suite sets ``threads`` (``train``: 1, see harness.measurements.training).
SMALL_MACHINE_CORES = 4


def default_threads(measurement: str) -> int | None:
    """The threads ``measurement`` runs with when its suite sets none: its declared count on a small machine, else
    torch's default (None)."""
    declared = MEASUREMENTS.attributes(measurement).get("small_machine_threads")
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return declared if declared is not None and cores <= SMALL_MACHINE_CORES else None


def _console() -> Optional[TextIO]:
    """A line-buffered copy of this process's stderr before it is sent to the log (the runner's console)."""
    try:
        return os.fdopen(os.dup(2), "w", buffering=1)
    except OSError:
        return None


def judge_budget(metrics: dict[str, Any], budget: int | None) -> dict[str, Any]:
    """A peak above the budget is an OOM point, as it would have been on a device of that size; metrics are kept."""
    peak = metrics.get("peak_allocated_bytes")
    if budget is not None and peak is not None and peak > budget:
        error = f"peak {format_bytes(peak)} exceeds the memory budget {format_bytes(budget)}"
        return {"status": "oom", "metrics": metrics, "error": error}
    return {"status": "ok", "metrics": metrics, "error": None}


def apply_memory_budget(device: Any, budget: int | None) -> None:
    """Make a cell that goes far past ``budget`` fail fast instead of taking the machine down."""
    if budget is None:
        return
    if device.type == "cuda":
        import torch

        total = torch.cuda.get_device_properties(device).total_memory
        torch.cuda.set_per_process_memory_fraction(min(1.0, budget / total), device)
        return
    import resource

    cap = _address_space_bytes() + ADDRESS_SPACE_FACTOR * budget + ADDRESS_SPACE_SLACK
    cap += ARENA_SLACK_PER_CPU * (os.cpu_count() or 1)
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        cap = min(cap, hard)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))


#: Blocks at least this large come straight from mmap and go straight back to the system when freed.
MMAP_THRESHOLD_BYTES = 1024**2
_M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter


def pin_malloc_mmap_threshold() -> bool:
    """Fix glibc's mmap threshold for a memory-measurement process; False where there is no glibc.

    glibc raises its threshold each time a large mmapped block is freed, after which blocks of that size come from
    the heap and stay resident when freed. A reversible backward frees and re-allocates edge-sized tensors in every
    layer, so the process's resident size grew to 2.4 GiB after ONE step of a 28-layer reversible GEN on 3,387 nodes
    (0.68 GiB with the threshold fixed) while its live tensors peaked at 148 MiB, and deeper cells were killed by the
    kernel at 24 GB. The meter replays the allocator's tensor events, which this does not change; it only keeps the
    process alive. Time runs keep glibc's default: mmapping every large block costs page faults (1.7x on that step).
    """
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
        return bool(libc and libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES))
    except (OSError, AttributeError):
        return False


def _address_space_bytes() -> int:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _redirect_output(log_path: str) -> None:
    Path(log_path).parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    sys.stdout.flush()
    sys.stderr.flush()
    os.dup2(descriptor, 1)
    os.dup2(descriptor, 2)
    os.close(descriptor)


def _exit_when_closed(lifeline: Connection) -> None:
    """Block until the runner's end of ``lifeline`` closes (the runner exited or was killed), then exit at once."""
    try:
        lifeline.recv()
    except (EOFError, OSError):
        pass
    if os.getpgid(0) == os.getpid():  # our own group (never the runner's): take our children with us
        os.killpg(0, signal.SIGKILL)
    os._exit(1)


def _lead_own_process_group() -> None:
    """Become the leader of a new process group; a process the fork server started is in the server's group."""
    try:
        os.setpgid(0, 0)
    except OSError:  # already a group or session leader: its group is its own
        pass


def _write_json(path: str, value: dict[str, Any]) -> None:
    temporary = f"{path}.tmp"
    with open(temporary, "w") as handle:
        json.dump(value, handle, default=_jsonable)
    os.replace(temporary, path)


def _jsonable(value: Any) -> Any:
    """Tensors and numpy scalars that slipped into metrics become plain numbers or lists."""
    if hasattr(value, "tolist"):
        return value.tolist()
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"metric value {value!r} of type {type(value).__name__} is not JSON")
