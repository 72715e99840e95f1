"""The runner, through the command line: failures become records with the right status while the other cells finish,
a run killed with SIGKILL resumes where it stopped, and real cells measure real models.

Misbehaving cells use the test-only ``probe`` measurement (tests/harness_probes.py): it really raises, allocates,
hangs and exits. The end-to-end test at the bottom runs real models on a tiny synthetic graph.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

import models
from harness.datasets import DATASETS
from harness.records import load_records, read_record, record_files

REPOSITORY = Path(__file__).resolve().parents[1]
TESTS = Path(__file__).resolve().parent

PROBE_SUITE = """
[suite]
name = "probes"
measurements = ["probe"]
timeout_s = TIMEOUT

[base]
operator = "probe"
connection = "res"
layers = 2
channels = 8
dataset = "DATASET"

[base.model]
bytes = 4096
sleep = SLEEP

[grid.model]
probe = PROBES

[profiles.smoke]
[profiles.full]
"""


@pytest.fixture(scope="module")
def dataset_name() -> str:
    names = DATASETS.names()
    return next((name for name in names if name.startswith("synthetic-")), names[0])


@pytest.fixture
def probe_suite(tmp_path, dataset_name):
    def write(probes: list[str], timeout: float = 60, sleep: float = 0.0) -> Path:
        path = tmp_path / "probes.toml"
        text = (PROBE_SUITE.replace("DATASET", dataset_name).replace("TIMEOUT", str(timeout))
                .replace("SLEEP", str(sleep)).replace("PROBES", repr(probes)))
        path.write_text(text)
        return path

    return write


def harness_env() -> dict[str, str]:
    path = os.pathsep.join([str(TESTS), str(REPOSITORY), os.environ.get("PYTHONPATH", "")])
    return {**os.environ, "GNN1000_PLUGINS": "harness_probes", "PYTHONPATH": path}


def harness(*args: object, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "harness", *map(str, args)], cwd=REPOSITORY, env=harness_env(),
                          capture_output=True, text=True, timeout=timeout)


def statuses(out: Path) -> dict[str, str]:
    return {record.cell["model"]["probe"]: record.status for record in load_records(out).values()}


def test_failures_are_recorded_and_the_matrix_goes_on(probe_suite, tmp_path):
    out = tmp_path / "out"
    suite = probe_suite(["ok", "raise", "alloc", "hog", "hang", "exit", "ok-after"], timeout=8)
    done = harness("run", suite, "--out", out, "--memory-budget", "1MiB", "--device", "cpu")
    assert done.returncode == 1, done.stdout + done.stderr  # some cells ended in "error"
    assert statuses(out) == {
        "ok": "ok",
        "raise": "error",  # an exception
        "alloc": "oom",  # the meter's peak is above --memory-budget
        "hog": "oom",  # stopped by the address-space cap of the cell process
        "hang": "timeout",
        "exit": "error",  # the process died without a result
        "ok-after": "ok",
    }
    records = {r.cell["model"]["probe"]: r for r in load_records(out).values()}
    # every line of the message, not only the last
    assert records["raise"].error == "probe: ValueError: planted failure\nsecond line of the message"
    assert records["raise"].log_path == f"logs/{records['raise'].cell_id}.probe.log"
    assert (out / records["raise"].log_path).is_file()
    assert "exceeds the memory budget 1.0 MiB" in records["alloc"].error
    assert records["alloc"].metrics.peak_allocated_bytes > 1024**2  # metrics of an over-budget cell are kept
    assert "can't allocate memory" in records["hog"].error
    assert records["hang"].seconds < 30 and "still running after 8 s" in records["hang"].error
    assert "exited with code 3" in records["exit"].error
    assert records["ok"].metrics.peak_allocated_bytes - records["ok"].metrics.baseline_bytes == 4096
    assert all(r.memory_budget_bytes == 1024**2 for r in records.values())
    assert "7 cells: ran 7" in done.stdout
    assert sum(line.split()[0] in ("ok", "oom", "error", "timeout") for line in done.stdout.splitlines()) == 7

    shown = harness("show", out)
    assert shown.returncode == 0 and "timeout" in shown.stdout and "7 records: 2 error, 2 ok, 2 oom, 1 timeout" \
        in shown.stdout


def test_rerun_failed_retries_only_failures(probe_suite, tmp_path):
    out = tmp_path / "out"
    suite = probe_suite(["ok", "raise"])
    assert harness("run", suite, "--out", out).returncode == 1
    ok_file = next(p for p in record_files(out) if read_record(p).status == "ok")
    ok_bytes = ok_file.read_bytes()

    again = harness("run", suite, "--out", out)
    assert again.returncode == 0 and "2 cells: ran 0 (nothing), 2 already recorded" in again.stdout

    retried = harness("run", suite, "--out", out, "--rerun-failed")
    assert "2 cells: ran 1 (1 error), 1 already recorded" in retried.stdout
    assert ok_file.read_bytes() == ok_bytes


def descendants(pid: int) -> set[int]:
    """Every process below ``pid``, read from /proc."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    found, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads the process tree from /proc")
def test_records_of_other_code_are_stale_and_measured_again(probe_suite, tmp_path):
    """A record knows the code that made it: after an edit (here, to the suite file, which the fingerprint covers
    as it covers models/ and harness/) a run measures the cell again, unless --keep-stale."""
    suite, out = probe_suite(["ok", "raise"]), tmp_path / "out"
    harness("run", suite, "--out", out, "--no-progress")
    fingerprints = {record.code_fingerprint for record in load_records(out).values()}
    assert len(fingerprints) == 1 and None not in fingerprints
    same = harness("run", suite, "--out", out, "--no-progress")
    assert "2 cells: ran 0 (nothing), 2 already recorded" in same.stdout  # same code: nothing stale

    suite.write_text(suite.read_text() + "\n# an edit\n")
    kept = harness("run", suite, "--out", out, "--no-progress", "--keep-stale")
    assert "2 cells: ran 0 (nothing), 2 stale kept (--keep-stale), 2 already recorded" in kept.stdout
    again = harness("run", suite, "--out", out, "--no-progress")
    assert "2 cells: ran 2 (1 error, 1 ok) (2 stale: recorded by other code, measured again), 0 already recorded" \
        in again.stdout, again.stdout
    assert {record.code_fingerprint for record in load_records(out).values()} - fingerprints


def test_every_record_says_which_training_step_it_measured(probe_suite, tmp_path):
    out = tmp_path / "out"
    harness("run", probe_suite(["ok"]), "--out", out, "--no-progress")
    (record,) = load_records(out).values()
    assert record.training_step["optimizer"] == "adam" and record.training_step["grad_clip"] is None
    assert record.training_step["lr"] == record.cell["lr"] and record.cell["train"] == {}


def test_kill_9_loses_no_record_and_resumes_the_rest(probe_suite, tmp_path):
    out = tmp_path / "out"
    probes = [f"cell-{i}" for i in range(6)]
    suite = probe_suite(probes, sleep=1.0)
    command = [sys.executable, "-m", "harness", "run", str(suite), "--out", str(out), "--no-progress"]
    runner = subprocess.Popen(command, cwd=REPOSITORY, env=harness_env(), stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while len(record_files(out) if out.exists() else []) < 2:
        assert runner.poll() is None and time.monotonic() < deadline, "the runner ended before it could be killed"
        time.sleep(0.05)
    helpers = descendants(runner.pid)  # the fork server and the cell process running now
    assert helpers, "the runner should have started cell processes"
    runner.send_signal(signal.SIGKILL)
    runner.wait()
    deadline = time.monotonic() + 20
    while any(alive(pid) for pid in helpers):
        assert time.monotonic() < deadline, "processes of the killed runner are still running"
        time.sleep(0.1)
    before = {path.name: path.read_bytes() for path in record_files(out)}
    assert 2 <= len(before) < len(probes)
    for content in before.values():
        assert content.endswith(b"}\n")  # whole files only

    resumed = harness("run", suite, "--out", out, "--no-progress")
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    ran = len(probes) - len(before)
    assert f"6 cells: ran {ran} ({ran} ok), {len(before)} already recorded" in resumed.stdout
    after = {path.name: path.read_bytes() for path in record_files(out)}
    assert len(after) == len(probes)
    assert all(after[name] == content for name, content in before.items())
    assert set(statuses(out).values()) == {"ok"}


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error given when CUDA is absent")
def test_cuda_without_cuda_is_one_line():
    done = harness("run", "suites/smoke.toml", "--device", "cuda", "--out", "/nonexistent")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip().startswith("error: --device cuda: CUDA is not available")


def test_cuda_cells_are_spawned_never_forked():
    """The first GPU run failed every forked cell with "CUDA error: initialization error": CUDA cells must spawn."""
    from harness.runner import process_context

    assert process_context("cuda").get_start_method() == "spawn"
    assert process_context("cuda:1").get_start_method() == "spawn"
    import multiprocessing

    if "forkserver" in multiprocessing.get_all_start_methods():
        assert process_context("cpu").get_start_method() == "forkserver"


def test_jobs_run_cells_side_by_side_and_are_refused_for_timed_suites(probe_suite, tmp_path):
    out = tmp_path / "out"
    done = harness("run", probe_suite(["ok", "ok-after"], sleep=3.0), "--out", out, "--device", "cpu", "--jobs", "2")
    assert done.returncode == 0, done.stdout + done.stderr
    records = list(load_records(out).values())
    assert [r.status for r in records] == ["ok", "ok"]
    spans = sorted((r.started_at.timestamp(), r.started_at.timestamp() + r.seconds) for r in records)
    assert spans[1][0] < spans[0][1], "with --jobs 2 the two cells must overlap in time"
    refused = harness("run", "suites/smoke.toml", "--jobs", "2", "--out", tmp_path / "never")
    assert refused.returncode == 2 and "smoke measures time, which cells running side by side would distort" \
        in refused.stderr and "Traceback" not in refused.stderr


def test_bad_memory_budget_is_one_line():
    done = harness("run", "suites/smoke.toml", "--memory-budget", "lots", "--out", "/nonexistent")
    assert done.returncode == 2 and "--memory-budget: cannot read the size 'lots'" in done.stderr


# --- real models -------------------------------------------------------------------------------------------------------

REAL_SUITE = """
[suite]
name = "tiny"
measurements = ["memory", "time", "train"]
timeout_s = 300
time_steps = 2

[base]
operator = "gcn"
connection = "rev"
layers = 3
channels = 8
heads = 2
dataset = "DATASET"
scale = SCALE
num_parts = 2
epochs = 2

[grid]
operator = ["gcn", "gen"]
connection = ["rev", "deq"]
mode = ["full", "mini"]

[[exclude]]
operator = "gcn"
connection = "deq"

[[exclude]]
operator = "gen"
connection = "rev"

[profiles.smoke]
[profiles.full]
"""


@pytest.mark.slow
def test_real_cells_measure_memory_time_and_training(tmp_path, dataset_name):
    suite = tmp_path / "tiny.toml"
    smoke_scale = __import__("tomllib").loads((REPOSITORY / "suites" / "smoke.toml").read_text())["base"]["scale"]
    suite.write_text(REAL_SUITE.replace("DATASET", dataset_name).replace("SCALE", str(smoke_scale)))
    out = tmp_path / "out"
    done = harness("run", suite, "--out", out, "--device", "cpu", timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    records = load_records(out)
    assert len(records) == 4
    for record in records.values():
        metrics = record.metrics
        assert record.status == "ok", record.error
        assert set(record.runs) == {"memory", "time", "train"}
        assert metrics.params > 0 and metrics.peak_allocated_bytes > metrics.baseline_bytes > 0
        assert 0 < metrics.activation_bytes < metrics.peak_allocated_bytes
        assert metrics.param_state_bytes >= 4 * 4 * metrics.params  # params, grads, two Adam moments (float32)
        assert 0 < metrics.step_seconds.min <= metrics.step_seconds.median <= metrics.step_seconds.max
        assert metrics.epochs_run == 2 and len(metrics.epoch_loss) == 2
        assert metrics.best_valid is not None and metrics.test_at_best_valid is not None
        assert record.environment.torch == torch.__version__

        # whatever the model reports about itself after a forward is in the record, under its own name
        config = record.cell
        model = models.build_model(config["operator"], config["connection"], layers=config["layers"],
                                   channels=config["channels"], in_channels=4, out_channels=2, heads=config["heads"])
        model(torch.randn(20, 4), torch.randint(0, 20, (2, 60))).sum().backward()
        assert set(model.extra_metrics()) <= set(metrics.model_dump())
        if config["connection"] == "deq":
            assert model.extra_metrics(), "a DEQ reports solver statistics"

    shown = harness("show", out)
    assert shown.returncode == 0 and "4 records: 4 ok" in shown.stdout

    tight = harness("run", suite, "--out", tmp_path / "tight", "--memory-budget", "64KiB", timeout=600)
    tight_records = load_records(tmp_path / "tight").values()
    assert {record.status for record in tight_records} == {"oom"}
    assert all(set(record.runs) == {"memory"} for record in tight_records)  # no time or training after an OOM
    assert tight.returncode == 0


@pytest.mark.parametrize("measurement, pinned", [("memory", 1), ("time", 0)])
def test_only_memory_processes_pin_the_malloc_mmap_threshold(monkeypatch, tmp_path, measurement, pinned):
    """Pinning keeps a reversible backward's freed edge-sized blocks from staying resident (the kernel killed such
    cells); time runs keep glibc's default, which is what a user's training run gets."""
    from harness import worker

    calls = []
    monkeypatch.setattr(worker, "pin_malloc_mmap_threshold", lambda: calls.append(1) or True)
    cell = dict(operator="gcn", connection="rev", layers=2, channels=8, dataset="synthetic-arxiv", scale=0.002,
                seed=0, device="cpu")
    job = worker.Job(cell=cell, measurement=measurement, settings={"time_steps": 1, "warmup_steps": 0},
                     memory_budget_bytes=None,
                     result_path=str(tmp_path / "result.json"), log_path=str(tmp_path / "log"))
    result = worker.execute(job)
    assert result["status"] == "ok", result
    assert len(calls) == pinned


def test_pinning_the_threshold_works_on_this_libc():
    import platform

    from harness.worker import pin_malloc_mmap_threshold

    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        pytest.skip("mallopt is glibc's")
    assert pin_malloc_mmap_threshold() is True
