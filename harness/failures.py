"""How a failed measurement is named: out of memory or not, its message, a process that died.

Shared by the worker (an exception inside a cell), the runner (a process that left no result) and measurements that
must tell an out-of-memory error from any other. It imports nothing from the harness, so any module may use it.

A SIGKILL is ``oom`` only when something says memory ran out: the kernel's OOM killer counted a kill in this
process's memory cgroup while the cell ran (:func:`oom_kills`), or the process's peak resident size, as the runner
saw it, exceeded the memory budget. Any other SIGKILL (an operator's ``kill -9``, a job scheduler, a watchdog) is
``killed``, which a plain resume measures again: it says nothing about the cell. A record keeps an exception's whole
message, every line of it (the "how to get the data" hint is often not the last), up to :data:`MESSAGE_LIMIT`.
"""
from __future__ import annotations

import signal
import sys
from pathlib import Path
from typing import Any, Optional

#: A message in a record is cut to this many characters: a whole traceback message, not a log.
MESSAGE_LIMIT = 4096
#: A progress line shows this much of it.
LINE_LIMIT = 300


def is_out_of_memory(exc: BaseException) -> bool:
    """CUDA OOM, MemoryError, or the CPU allocator failing under the address-space cap."""
    if isinstance(exc, MemoryError):
        return True
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(exc, getattr(torch, "OutOfMemoryError", ())):
        return True
    text = str(exc).lower()
    return isinstance(exc, RuntimeError) and any(
        sign in text for sign in ("out of memory", "can't allocate memory", "cannot allocate memory", "bad_alloc"))


def one_line(exc: BaseException, limit: int = LINE_LIMIT) -> str:
    """``Type: message`` on one line (the last line a traceback prints), shortened to ``limit`` characters."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    text = f"{type(exc).__name__}: {lines[-1]}" if lines else type(exc).__name__
    return shorten(text, limit)


def full_message(exc: BaseException, limit: int = MESSAGE_LIMIT) -> str:
    """``Type: message`` with every line of the message (as a traceback ends), shortened to ``limit`` characters."""
    lines = [line.rstrip() for line in str(exc).strip().splitlines()]
    text = f"{type(exc).__name__}: " + "\n".join(lines) if any(lines) else type(exc).__name__
    return shorten(text, limit)


def shorten(text: str, limit: int = MESSAGE_LIMIT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def outcome(status: str, error: str | None, exit_code: int | None = None) -> dict[str, Any]:
    """What the runner keeps of one measurement process: ``{"status", "metrics", "error", "exit_code"}``."""
    return {"status": status, "metrics": {}, "error": error, "exit_code": exit_code}


def died(exit_code: int | None, log: Path, oom_killed: bool = False, peak_rss_bytes: Optional[int] = None,
         budget_bytes: Optional[int] = None) -> dict[str, Any]:
    """A process that left no result. SIGKILL is ``oom`` when the OOM killer counted a kill while it ran
    (``oom_killed``) or its peak resident size passed the budget, and ``killed`` otherwise; any other end an error."""
    if exit_code is not None and exit_code < 0:
        name = signal.Signals(-exit_code).name
        if -exit_code != signal.SIGKILL:
            return outcome("error", f"killed by {name}", exit_code)
        if oom_killed:
            return outcome("oom", "killed by SIGKILL: the kernel's OOM killer counted a kill in this cgroup",
                           exit_code)
        if budget_bytes is not None and peak_rss_bytes is not None and peak_rss_bytes > budget_bytes:
            return outcome("oom", f"killed by SIGKILL after its resident size reached {peak_rss_bytes:,} bytes, "
                                  f"over the budget of {budget_bytes:,}", exit_code)
        return outcome("killed", "killed by SIGKILL from outside (no OOM kill counted, no budget passed); "
                                 "a plain resume measures it again", exit_code)
    return outcome("error", f"exited with code {exit_code}: {last_line(log)}", exit_code)


def memory_cgroup_counter() -> Optional[Path]:
    """The file counting this process's OOM kills: ``memory.events`` (cgroup v2) or ``memory.oom_control`` (v1,
    whose ``oom_kill`` line newer kernels keep); None where there is neither (macOS, a container without them)."""
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        _, controllers, path = line.split(":", 2)
        relative = path.lstrip("/")
        if controllers == "":  # v2: one unified hierarchy
            candidate = Path("/sys/fs/cgroup") / relative / "memory.events"
        elif "memory" in controllers.split(","):
            candidate = Path("/sys/fs/cgroup/memory") / relative / "memory.oom_control"
        else:
            continue
        if oom_kills(candidate) is not None:
            return candidate
    return None


def oom_kills(counter: Optional[Path]) -> Optional[int]:
    """The ``oom_kill`` count in ``counter`` now; None when it cannot be read."""
    if counter is None:
        return None
    try:
        for line in counter.read_text().splitlines():
            key, _, value = line.partition(" ")
            if key == "oom_kill":
                return int(value)
    except (OSError, ValueError):
        return None
    return None


def last_line(log: Path) -> str:
    """The last non-empty line of a cell's log (what a dying process printed last)."""
    try:
        lines = [line.strip() for line in log.read_text(errors="replace").splitlines() if line.strip()]
    except OSError:
        return "(no log)"
    return shorten(lines[-1]) if lines else "(empty log)"
