"""Who owns a file in a results folder: cells are claimed before they run, and a run removes only its own leftovers.

Two runs on one ``--out`` (two terminals, or two machines sharing a folder) split the work: before a cell runs, its
lock ``<out>/locks/<cell id>.lock`` is created with ``O_CREAT | O_EXCL`` (atomic on a local file system and on NFS
v3+), holding the owner's host, pid and process start time. A run that finds a cell locked leaves it to the owner.

A lock is taken over only when its owner is provably gone:

- same host: the pid is not alive, or it is alive but started at another time (the pid was reused);
- another host: a process there cannot be asked, so only once the lock is older than the cell's timeout plus
  :data:`STALE_GRACE_S`: by then the owner's own deadline has ended the cell (a machine whose clock is far off, or a
  run that was stopped with SIGSTOP, can break this; that is the price of not needing a server).

Taking over is itself claimed (``<lock>.takeover``, also ``O_EXCL``) and the lock re-read under that claim, so two
runs that both see a stale lock cannot both take it. Temporary files carry their owner in the name
(:func:`owner_tag`), and :func:`remove_leftovers` deletes only those whose owner is gone: a starting run never
breaks another run's atomic rename.
"""
from __future__ import annotations

import contextlib
import json
import os
import socket
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterator, Optional

LOCKS = "locks"
#: Beyond a cell's timeout, how long a lock from another host is still trusted (its runner writing the record).
STALE_GRACE_S = 600.0


@dataclass(frozen=True)
class Owner:
    host: str
    pid: int
    started: Optional[int] = None  # the process's start time in clock ticks since boot (Linux), to catch pid reuse

    def is_gone(self, age_s: float, stale_after_s: float) -> bool:
        """Provably ended: see the module's rules."""
        if self.host != socket.gethostname():
            return age_s > stale_after_s
        if not _pid_alive(self.pid):
            return True
        started = process_start(self.pid)
        return self.started is not None and started is not None and started != self.started


def this_process() -> Owner:
    return Owner(socket.gethostname(), os.getpid(), process_start(os.getpid()))


def process_start(pid: int) -> Optional[int]:
    """Field 22 of ``/proc/<pid>/stat`` (after the parenthesised name, which may hold spaces); None elsewhere."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
        return int(text.rsplit(")", 1)[1].split()[19])
    except (OSError, IndexError, ValueError):
        return None


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    return True


# --- cell locks ------------------------------------------------------------------------------------------------------


def lock_path(out: Path, cell_id: str) -> Path:
    return Path(out) / LOCKS / f"{cell_id}.lock"


def _create(path: Path, owner: Owner) -> bool:
    """Create ``path`` holding ``owner`` if it does not exist; False if it does."""
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        return False
    with os.fdopen(descriptor, "w") as handle:
        json.dump(asdict(owner), handle)
        handle.flush()
        os.fsync(handle.fileno())
    return True


def read_owner(path: Path) -> Optional[Owner]:
    """The owner written in a lock; None when it is gone or unreadable (half-written by a killed run)."""
    try:
        data = json.loads(path.read_text())
        return Owner(str(data["host"]), int(data["pid"]), data.get("started"))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _age_s(path: Path) -> float:
    try:
        return time.time() - path.stat().st_mtime
    except OSError:
        return 0.0


def _abandoned(path: Path, stale_after_s: float) -> bool:
    owner = read_owner(path)
    age = _age_s(path)
    if owner is None:  # unreadable: its writer died between create and write, or it is being written right now
        return age > 60.0
    return owner.is_gone(age, stale_after_s)


def claim(out: Path, cell_id: str, stale_after_s: float) -> bool:
    """Claim ``cell_id`` for this process: True if it is now ours, False if another live run holds it."""
    path = lock_path(out, cell_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    me = this_process()
    if _create(path, me):
        return True
    if not _abandoned(path, stale_after_s):
        return False
    takeover = path.with_name(path.name + ".takeover")
    if not _create(takeover, me):
        if _abandoned(takeover, stale_after_s):  # a run died while taking over: clear the way for the next try
            takeover.unlink(missing_ok=True)
        return False
    try:
        if not _abandoned(path, stale_after_s):  # re-read under the takeover claim: someone may have been faster
            return False
        path.unlink(missing_ok=True)
        return _create(path, me)
    finally:
        takeover.unlink(missing_ok=True)


def release(out: Path, cell_id: str) -> None:
    """Remove the lock of ``cell_id`` if this process holds it (never another run's)."""
    path = lock_path(out, cell_id)
    if read_owner(path) == this_process():
        path.unlink(missing_ok=True)


@contextlib.contextmanager
def claimed(out: Path, cell_id: str, stale_after_s: float) -> Iterator[bool]:
    """``with claimed(...) as ours:`` — the cell is ours inside the block when ``ours``; released at the end."""
    ours = claim(out, cell_id, stale_after_s)
    try:
        yield ours
    finally:
        if ours:
            release(out, cell_id)


# --- temporary files -------------------------------------------------------------------------------------------------


def owner_tag(owner: Optional[Owner] = None) -> str:
    """``pid<pid>-<start>@<host>``: a temporary file's owner, in its name (host names hold no ``@``)."""
    owner = owner or this_process()
    return f"pid{owner.pid}-{owner.started if owner.started is not None else 'x'}@{owner.host}"


def parse_tag(name: str) -> Optional[Owner]:
    """The owner in a name holding :func:`owner_tag` between dots; None if it holds none."""
    for part in _tag_candidates(name):
        head, _, host = part.partition("@")
        if not head.startswith("pid") or not host or "-" not in head:
            continue
        pid, _, started = head[3:].partition("-")
        if pid.isdigit():
            return Owner(host, int(pid), int(started) if started.isdigit() else None)
    return None


def _tag_candidates(name: str) -> list[str]:
    """``.<cell>.<tag>.<random>.tmp``: the tag is the dotted run between the cell id and the random part."""
    parts = name.strip(".").split(".")
    return [".".join(parts[1:-2])] if len(parts) >= 4 else []


def remove_leftovers(folder: Path, pattern: str = ".*.tmp") -> int:
    """Delete the temporary files in ``folder`` whose owner (in their name) is provably gone; return how many.
    Files naming no owner, or another host's, are left alone: they may be a live write."""
    removed = 0
    for path in Path(folder).glob(pattern):
        owner = parse_tag(path.name)
        if owner is not None and owner.host == socket.gethostname() and owner.is_gone(0.0, float("inf")):
            path.unlink(missing_ok=True)
            removed += 1
    return removed
