"""Cell claims and owned leftovers (harness.claims), and how a SIGKILL is named (harness.failures).

Owners are real processes: a child that has exited is provably gone, a sleeping one is alive.
"""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from harness.claims import Owner, claim, lock_path, owner_tag, process_start, release, remove_leftovers
from harness.failures import died


def finished_process() -> Owner:
    """An owner whose process has exited (and been reaped): provably gone."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return Owner(socket.gethostname(), child.pid, None)


def write_lock(out: Path, cell_id: str, owner: Owner, age_s: float = 0.0) -> Path:
    path = lock_path(out, cell_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"host": owner.host, "pid": owner.pid, "started": owner.started}))
    if age_s:
        os.utime(path, (time.time() - age_s, time.time() - age_s))
    return path


def test_a_claim_is_exclusive_and_released_only_by_its_owner(tmp_path):
    assert claim(tmp_path, "cell", 60.0)
    assert not claim(tmp_path, "cell", 60.0)  # held by a live owner (this process): a second claim fails
    release(tmp_path, "cell")
    assert not lock_path(tmp_path, "cell").exists()


def test_a_live_owner_keeps_its_claim(tmp_path):
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        write_lock(tmp_path, "cell", Owner(socket.gethostname(), sleeper.pid, process_start(sleeper.pid)))
        assert not claim(tmp_path, "cell", 60.0)
        release(tmp_path, "cell")  # not ours: left alone
        assert lock_path(tmp_path, "cell").exists()
    finally:
        sleeper.kill()
        sleeper.wait()
    assert claim(tmp_path, "cell", 60.0)  # its owner is gone now: taken over


def test_a_reused_pid_does_not_keep_a_claim(tmp_path):
    me = os.getpid()
    write_lock(tmp_path, "cell", Owner(socket.gethostname(), me, (process_start(me) or 0) + 1))
    assert claim(tmp_path, "cell", 60.0)


def test_another_hosts_lock_is_taken_only_after_the_stale_age(tmp_path):
    write_lock(tmp_path, "cell", Owner("elsewhere.invalid", 1, None), age_s=30)
    assert not claim(tmp_path, "cell", 60.0)
    write_lock(tmp_path, "cell", Owner("elsewhere.invalid", 1, None), age_s=120)
    assert claim(tmp_path, "cell", 60.0)


def test_leftovers_are_removed_only_when_their_owner_is_gone(tmp_path):
    gone, live = finished_process(), Owner(socket.gethostname(), os.getpid(), process_start(os.getpid()))
    mine = tmp_path / f".abc.{owner_tag(live)}.x1y2.tmp"
    dead = tmp_path / f".abc.{owner_tag(gone)}.x1y2.tmp"
    other_host = tmp_path / f".abc.{owner_tag(Owner('elsewhere.invalid', gone.pid))}.x1y2.tmp"
    untagged = tmp_path / ".abc.x1y2.tmp"
    for path in (mine, dead, other_host, untagged):
        path.write_text("{ half a rec")
    assert remove_leftovers(tmp_path) == 1
    assert not dead.exists() and mine.exists() and other_host.exists() and untagged.exists()


def test_sigkill_is_oom_only_when_memory_says_so(tmp_path):
    log = tmp_path / "cell.log"
    assert died(-signal.SIGKILL, log)["status"] == "killed"
    assert died(-signal.SIGKILL, log, oom_killed=True)["status"] == "oom"
    assert died(-signal.SIGKILL, log, peak_rss_bytes=2048, budget_bytes=1024)["status"] == "oom"
    assert died(-signal.SIGKILL, log, peak_rss_bytes=512, budget_bytes=1024)["status"] == "killed"
    assert died(-signal.SIGSEGV, log)["status"] == "error"
