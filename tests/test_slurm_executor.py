"""``harness run --executor submitit-local``: the SLURM path (harness.slurm) through submitit's LocalExecutor.

Real processes, no mocks: submitit starts a controller and a task process per cell, the task runs the local worker
code and writes the record. Covered: records of the same schema and peaks as a local run, a failure's record, a task
killed mid-run (SIGKILL) recorded as ``killed`` and measured again by a plain resume with no record lost, a live job
not resubmitted, ``harness status``, a late task that never overwrites, and the one-line errors.
"""
from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from harness.records import load_records, read_record, record_files
from test_harness_runner import PROBE_SUITE, REPOSITORY, harness, harness_env

#: One call of the CLI: the task processes import torch and PyG (~10-40 s on 2 busy cores), so generous.
CALL_S = 400


def write_suite(tmp_path: Path, probes: list[str], sleep: float = 0.0, extra: str = "") -> Path:
    path = tmp_path / "probes.toml"
    path.write_text(PROBE_SUITE.replace("DATASET", "synthetic-arxiv").replace("TIMEOUT", "120")
                    .replace("SLEEP", str(sleep)).replace("PROBES", repr(probes)) + extra)
    return path


def by_probe(out: Path) -> dict:
    return {record.cell["model"]["probe"]: record for record in load_records(out).values()}


def test_cells_as_tasks_write_the_local_records(tmp_path):
    suite = write_suite(tmp_path, ["ok", "raise"])
    local, tasks = tmp_path / "local", tmp_path / "tasks"
    assert harness("run", suite, "--out", local, "--device", "cpu", timeout=CALL_S).returncode == 1
    done = harness("run", suite, "--out", tasks, "--executor", "submitit-local", "--no-progress", timeout=CALL_S)
    assert done.returncode == 1, done.stdout + done.stderr  # one cell ended in "error", as locally
    assert "submitted 2 cells" in done.stdout and "2 cells: ran 2 (1 error, 1 ok)" in done.stdout
    assert sum(line.split()[:1] in (["ok"], ["error"]) for line in done.stdout.splitlines()) == 2  # per-cell lines
    ours, theirs = by_probe(tasks), by_probe(local)
    assert ours["ok"].metrics.peak_allocated_bytes == theirs["ok"].metrics.peak_allocated_bytes
    assert ours["raise"].error == theirs["raise"].error  # the worker's own message, every line
    assert ours["raise"].log_path == theirs["raise"].log_path and (tasks / ours["raise"].log_path).is_file()
    assert set(ours["ok"].model_dump()) == set(theirs["ok"].model_dump())  # one schema

    shown = harness("status", tasks)
    assert shown.returncode == 0 and "2 cells: 0 submitted, 0 running, 1 done, 1 failed, 0 lost" in shown.stdout
    # --keep-stale: the resume must not depend on whether the tree was edited meanwhile (a fingerprint change)
    again = harness("run", suite, "--out", tasks, "--executor", "submitit-local", "--keep-stale", timeout=CALL_S)
    assert "2 cells: ran 0 (nothing), 2 already recorded" in again.stdout and "submitted" not in again.stdout


def detached(*args: object) -> subprocess.CompletedProcess:
    """``harness run ... --detach`` with its output in files: submitit's local controllers inherit the submitter's
    stdout, so a pipe would stay open (and ``subprocess.run`` wait) until every job has ended."""
    with open(os.devnull, "rb") as stdin, tempfile_pair() as (out, err):
        done = subprocess.run([sys.executable, "-m", "harness", "run", *map(str, args), "--detach"], cwd=REPOSITORY,
                              env=harness_env(), stdin=stdin, stdout=out, stderr=err, timeout=CALL_S)
        out.seek(0)
        err.seek(0)
        return subprocess.CompletedProcess(done.args, done.returncode, out.read(), err.read())


@contextlib.contextmanager
def tempfile_pair():
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        yield out, err


def wait_for(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


def test_a_task_killed_mid_run_is_recorded_and_resumed(tmp_path):
    # two ok probes, one sleeping 45 s: time to be seen running, then killed
    suite = write_suite(tmp_path, ["ok"])
    suite.write_text(suite.read_text().replace("sleep = 0.0\n", "").replace("probe = ['ok']", "sleep = [0.0, 45.0]"))
    out = tmp_path / "out"
    first = detached(suite, "--out", out, "--executor", "submitit-local")
    assert first.returncode == 0 and "submitted 2 cells" in first.stdout and "detached" in first.stdout, first.stderr
    state = json.loads((out / "slurm" / "state.json").read_text())["cells"]
    records = {}

    def slow_running():  # the fast cell recorded, the slow one started and not recorded
        if len(record_files(out)) != 1:
            return None
        for cell_id in state:
            marker = out / "slurm" / "started" / f"{cell_id}.json"
            if marker.exists() and not (out / f"{cell_id}.json").exists():
                records.update({p.name: p.read_bytes() for p in record_files(out)})
                return cell_id, json.loads(marker.read_text())
        return None

    slow, marker = wait_for(slow_running, CALL_S, "the fast cell's record and the slow cell running")
    again = detached(suite, "--out", out, "--executor", "submitit-local")
    assert "nothing to submit; 1 cells still queued from before" in again.stdout, again.stdout + again.stderr
    shown = harness("status", out)
    assert "1 running" in shown.stdout and "1 done" in shown.stdout, shown.stdout

    os.kill(marker["pid"], signal.SIGKILL)  # the task itself, mid-run
    wait_for(lambda: "1 lost" in harness("status", out).stdout, 60, "the job to end")
    before = {p.name: p.read_bytes() for p in record_files(out)}
    assert len(before) == 1 and before == records

    resumed = harness("run", suite, "--out", out, "--executor", "submitit-local", "--no-progress", "--keep-stale",
                      timeout=CALL_S)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert "submitted 1 cells" in resumed.stdout and "2 cells: ran 1 (1 ok), 1 already recorded" in resumed.stdout
    after = {p.name: p.read_bytes() for p in record_files(out)}
    assert set(after) == {*before, f"{slow}.json"}
    assert all(after[name] == data for name, data in before.items())  # nothing written before was touched
    assert all(read_record(out / name).status == "ok" for name in after)


def test_a_late_task_never_overwrites(tmp_path):
    """A task whose cell got a record after its submission leaves it alone (run in this process: the real task)."""
    from harness.cells import expand
    from harness.runner import RunOptions
    from harness.slurm_task import CellTask, TaskSpec
    from harness.spec import load_suite

    path = tmp_path / "gcn.toml"  # a real operator: the probe plugin is not loaded in this process
    path.write_text(PROBE_SUITE.replace('"probe"', '"gcn"').replace("DATASET", "synthetic-arxiv")
                    .replace("TIMEOUT", "60").split("[base.model]")[0].replace('["gcn"]', '["memory"]')
                    + "[profiles.smoke]\n[profiles.full]\n")
    suite = load_suite(path, "smoke")
    cell = expand(suite, "cpu")[0]
    out = tmp_path / "out"
    out.mkdir()
    record = out / f"{cell.id}.json"
    record.write_text("written by another run since the submission\n")
    task = CellTask(TaskSpec(suite=suite, cell=cell, options=RunOptions(out=out), seen_mtime_ns=None))
    assert task().startswith("skipped")
    assert record.read_text() == "written by another run since the submission\n"


def test_bad_input_is_one_line(tmp_path):
    suite = write_suite(tmp_path, ["ok"])
    empty = tmp_path / "bin"
    empty.mkdir()
    no_slurm = subprocess.run([sys.executable, "-m", "harness", "run", str(suite), "--executor", "slurm", "--out",
                               str(tmp_path / "o")], cwd=REPOSITORY, env={**harness_env(), "PATH": str(empty)},
                              capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert no_slurm.returncode == 2 and no_slurm.stderr.count("\n") == 1, no_slurm.stderr
    assert "sbatch" in no_slurm.stderr and "not on PATH" in no_slurm.stderr

    status = harness("status", tmp_path / "nothing-here")
    assert status.returncode == 2 and "no slurm/state.json" in status.stderr and status.stderr.count("\n") == 1

    for table, words in [('gpus_per_cell = "1"', "profiles.smoke.slurm.gpus_per_cell"),
                         ("nodes = 2", "profiles.smoke.slurm.nodes: unknown key"),
                         ('mem = "lots"', "cannot read the size"),
                         ('sbatch = { time = "5" }', "'time' is set by the harness")]:
        path = tmp_path / "bad.toml"
        path.write_text(suite.read_text().replace("[profiles.smoke]", f"[profiles.smoke.slurm]\n{table}"))
        done = harness("list", path)
        assert done.returncode == 2 and words in done.stderr and done.stderr.count("\n") == 1, done.stderr
    flag = harness("run", suite, "--executor", "submitit-local", "--gpus-per-cell", "-1", "--out", tmp_path / "o")
    assert flag.returncode == 2 and "gpus_per_cell" in flag.stderr and flag.stderr.count("\n") == 1, flag.stderr
