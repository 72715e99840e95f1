"""How a failed measurement is named: out of memory or not, a one-line message, a process that died.

Shared by the worker (an exception inside a cell), the runner (a process that left no result) and measurements that
must tell an out-of-memory error from any other. It imports nothing from the harness, so any module may use it.
"""
from __future__ import annotations

import signal
import sys
from pathlib import Path
from typing import Any

#: A message in a record is cut to this many characters.
MESSAGE_LIMIT = 300


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


def one_line(exc: BaseException, limit: int = MESSAGE_LIMIT) -> str:
    """``Type: message`` on one line (the last line a traceback prints), shortened to ``limit`` characters."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    text = f"{type(exc).__name__}: {lines[-1]}" if lines else type(exc).__name__
    return shorten(text, limit)


def shorten(text: str, limit: int = MESSAGE_LIMIT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def outcome(status: str, error: str | None, exit_code: int | None = None) -> dict[str, Any]:
    """What the runner keeps of one measurement process: ``{"status", "metrics", "error", "exit_code"}``."""
    return {"status": status, "metrics": {}, "error": error, "exit_code": exit_code}


def died(exit_code: int | None, log: Path) -> dict[str, Any]:
    """A process that left no result: SIGKILL from outside is the kernel's OOM killer; anything else an error."""
    if exit_code is not None and exit_code < 0:
        name = signal.Signals(-exit_code).name
        status = "oom" if -exit_code == signal.SIGKILL else "error"
        return outcome(status, f"killed by {name}" + (" (out of memory?)" if status == "oom" else ""), exit_code)
    return outcome("error", f"exited with code {exit_code}: {last_line(log)}", exit_code)


def last_line(log: Path) -> str:
    """The last non-empty line of a cell's log (what a dying process printed last)."""
    try:
        lines = [line.strip() for line in log.read_text(errors="replace").splitlines() if line.strip()]
    except OSError:
        return "(no log)"
    return shorten(lines[-1]) if lines else "(empty log)"
