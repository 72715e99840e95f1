"""The real CLI on bad suite files: one line naming the file and the field, exit 2, no traceback, no hang.

Each call runs ``python -m harness list`` in a subprocess with stdin closed and a time bound (a FIFO or /dev/zero
as the suite must be refused, not read). Errors found before the registries are imported (the file, its types
and ranges) come within the short bound; model options need torch and get a longer one.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parents[1]
FAST_S = 20  # a subprocess bound, not a speed claim: only Python and pydantic are imported before these errors
SLOW_S = 120  # model options are checked with torch and the operators imported

BASE = """[base]
operator = "gcn"
connection = "rev"
layers = 2
channels = 4
dataset = "synthetic-arxiv"
scale = 0.01
{extra}
[profiles.smoke]
[profiles.full]
"""


def list_suite(path: Path, *args: str, timeout: float = FAST_S) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "harness", "list", str(path), "--device", "cpu", *args],
                          cwd=REPOSITORY, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)


def assert_refused(done: subprocess.CompletedProcess, *words: str) -> None:
    output = done.stdout + done.stderr
    assert done.returncode == 2, output
    assert "Traceback" not in output and len(output.strip().splitlines()) == 1, output
    assert all(word in done.stderr for word in words), done.stderr


def suite(tmp_path: Path, extra: str = "", before: str = "") -> Path:
    path = tmp_path / "suite.toml"
    path.write_text(before + BASE.format(extra=extra))
    return path


def test_a_directory_is_refused(tmp_path):
    (tmp_path / "dir.toml").mkdir()
    assert_refused(list_suite(tmp_path / "dir.toml"), "dir.toml", "not a regular file", "directory")


def test_a_fifo_and_dev_zero_are_refused_not_read(tmp_path):
    os.mkfifo(tmp_path / "fifo.toml")
    assert_refused(list_suite(tmp_path / "fifo.toml"), "fifo.toml", "FIFO")
    assert_refused(list_suite(Path("/dev/zero")), "/dev/zero", "character device")


def test_a_symlink_loop_is_refused(tmp_path):
    (tmp_path / "loop.toml").symlink_to(tmp_path / "loop.toml")
    assert_refused(list_suite(tmp_path / "loop.toml"), "loop.toml", "symbolic links")


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads a file whatever its mode")
def test_an_unreadable_file_is_refused(tmp_path):
    path = suite(tmp_path)
    path.chmod(0)
    assert_refused(list_suite(path), "suite.toml", "cannot read")


def test_non_utf8_bytes_are_refused(tmp_path):
    path = tmp_path / "bytes.toml"
    path.write_bytes(b"[suite]\n\xff\xfe = 1\n")
    assert_refused(list_suite(path), "bytes.toml", "not UTF-8", "line 2")


def test_deep_nesting_and_a_huge_file_are_refused(tmp_path):
    deep = tmp_path / "deep.toml"
    deep.write_text("x = " + "[" * 3000 + "]" * 3000 + "\n")
    assert_refused(list_suite(deep), "deep.toml", "nested")
    shallow_but_deep = suite(tmp_path, extra="[base.model]\nx = " + "[" * 20 + "]" * 20)
    assert_refused(list_suite(shallow_but_deep), "base.model.x", "nested deeper")
    huge = tmp_path / "huge.toml"
    huge.write_text("# " + "x" * (2 * 1024**2) + "\n")
    assert_refused(list_suite(huge), "huge.toml", "larger than")


@pytest.mark.parametrize("line, field, word", [
    ("timeout_s = inf", "suite.timeout_s", "finite"),
    ("timeout_s = 1e300", "suite.timeout_s", "less than or equal"),
    ("name = '../../x'", "suite.name", "not a safe name"),
    ("name = '/etc'", "suite.name", "not a safe name"),
])
def test_suite_settings_out_of_range(tmp_path, line, field, word):
    assert_refused(list_suite(suite(tmp_path, before=f"[suite]\n{line}\n")), field, word)


@pytest.mark.parametrize("line, field, word", [
    ("layers = true", "base.layers", "valid integer"),
    ("scale = true", "base.scale", "valid number"),
    ("seed = '0'", "base.seed", "valid integer"),
    ("memory_efficient = 'yes'", "base.memory_efficient", "valid boolean"),
    ("lr = inf", "base.lr", "finite"),
    ("channels = 9223372036854775807", "base.channels", "less than or equal"),
    ("scale = 2.0", "base.scale", "less than or equal to 1"),
    ("train = { optimzer = 'adam' }", "base.train.optimzer", "unknown key"),
])
def test_wrong_types_and_ranges_in_a_cell(tmp_path, line, field, word):
    key = line.split(" =")[0]
    lines = [entry for entry in BASE.format(extra="").splitlines() if not entry.startswith(f"{key} =")]
    lines.insert(lines.index("[base]") + 1, line)  # replaces the key's line (TOML refuses a key twice)
    path = tmp_path / "suite.toml"
    path.write_text("\n".join(lines) + "\n")
    assert_refused(list_suite(path), field, word)


def test_a_float_field_takes_a_toml_integer(tmp_path):
    done = list_suite(suite(tmp_path, extra="lr = 1\n"), timeout=SLOW_S)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("extra, words", [
    ('norm = "bogus"', ("norm:", "unknown norm 'bogus'", "layer")),
    ("groups = 3", ("groups:", "not divisible")),
    ("[base.model]\nbogus_option = 1", ("model.bogus_option", "unknown option of operator 'gcn'")),
    ("[base.model]\nconnection_options = { solver = 1 }", ("model.connection_options.solver", "unknown option")),
])
def test_model_options_are_checked_at_load_time(tmp_path, extra, words):
    assert_refused(list_suite(suite(tmp_path, extra=extra), timeout=SLOW_S), *words)


def test_a_grid_too_large_is_refused_before_expansion_unless_lifted(tmp_path):
    grid = "[grid]\nseed = [" + ", ".join(map(str, range(100))) + "]\nlayers = [" + ", ".join(
        map(str, range(1, 101))) + "]\n"
    path = suite(tmp_path, extra=grid)
    assert_refused(list_suite(path, timeout=SLOW_S), "grid: 10,000 cells", "--max-cells")
    done = list_suite(path, "--max-cells", "10000", timeout=SLOW_S)
    assert done.returncode == 0 and "10000 cells" in done.stdout, done.stderr


# --- failures, shared output folders and invalid records, through the real CLI ----------------------------------

def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as handle:  # a zombie waiting for its parent counts as gone
        return handle.read().split(") ", 1)[1][0] != "Z"


def test_a_timed_out_cell_takes_its_children_with_it(tmp_path):
    from tests.test_harness_runner import PROBE_SUITE, harness, statuses

    pid_file = tmp_path / "child.pid"
    text = (PROBE_SUITE.replace("DATASET", "synthetic-arxiv").replace("TIMEOUT", "8").replace("SLEEP", "0")
            .replace("PROBES", '["orphan"]').replace("[grid.model]", f'pid_file = "{pid_file}"\n\n[grid.model]'))
    (tmp_path / "orphan.toml").write_text(text)
    done = harness("run", tmp_path / "orphan.toml", "--out", tmp_path / "out", "--device", "cpu", "--no-progress")
    assert done.returncode == 0, done.stdout + done.stderr  # a failed cell is a record, not a failed run
    assert statuses(tmp_path / "out") == {"orphan": "timeout"}
    child = int(pid_file.read_text())
    deadline = time.monotonic() + 10
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _alive(child), f"the cell's child {child} outlived harness run"


def test_two_runs_on_one_out_measure_each_cell_once(tmp_path):
    from tests.test_harness_runner import PROBE_SUITE, harness_env, statuses

    out = tmp_path / "out"
    suite_path = tmp_path / "six.toml"
    suite_path.write_text(PROBE_SUITE.replace("DATASET", "synthetic-arxiv").replace("TIMEOUT", "60")
                          .replace("SLEEP", "1.0").replace("PROBES", repr([f"ok-{i}" for i in range(6)])))
    command = [sys.executable, "-m", "harness", "run", str(suite_path), "--out", str(out), "--device", "cpu",
               "--no-progress"]
    runs = [subprocess.Popen(command, cwd=REPOSITORY, env=harness_env(), stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL) for _ in range(2)]
    outputs = [run.communicate(timeout=300) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    ran = [int(re.search(r"ran (\d+)", stdout).group(1)) for stdout, _ in outputs]
    assert sum(ran) == 6, (ran, outputs)  # every cell once between the two runs, none twice
    assert set(statuses(out).values()) == {"ok"} and len(statuses(out)) == 6


@pytest.fixture
def one_good_one_corrupt(tmp_path):
    """A run folder with one valid record (committed GPU check) and one truncated JSON file."""
    import shutil

    folder = tmp_path / "results" / "gpu-check" / "arxiv"
    folder.mkdir(parents=True)
    good = next((REPOSITORY / "results" / "records" / "cpu-2core-24gib" / "memory").rglob("*.json"))
    shutil.copy(good, folder / good.name)
    (folder / "truncated.json").write_text('{"schema_version": 1, "suite": ')
    return folder


def test_plots_build_warns_on_a_corrupt_record_and_strict_fails(one_good_one_corrupt, tmp_path):
    results = one_good_one_corrupt.parents[1]
    build = [sys.executable, "-m", "plots", "build", str(results), "--out", str(tmp_path / "report")]
    plain = subprocess.run(build, cwd=REPOSITORY, capture_output=True, text=True, timeout=SLOW_S)
    assert plain.returncode == 0, plain.stderr
    assert "warning: skipped" in plain.stderr and "truncated.json" in plain.stderr
    strict = subprocess.run(build + ["--strict"], cwd=REPOSITORY, capture_output=True, text=True, timeout=SLOW_S)
    assert strict.returncode == 1 and "truncated.json" in strict.stderr and "Traceback" not in strict.stderr


def test_show_stops_at_a_corrupt_record_unless_told_to_skip(one_good_one_corrupt):
    show = [sys.executable, "-m", "harness", "show", str(one_good_one_corrupt)]
    stopped = subprocess.run(show, cwd=REPOSITORY, capture_output=True, text=True, timeout=SLOW_S)
    assert stopped.returncode == 2 and "Traceback" not in stopped.stderr
    assert stopped.stderr.startswith("error: ") and "truncated.json" in stopped.stderr
    skipped = subprocess.run(show + ["--skip-invalid"], cwd=REPOSITORY, capture_output=True, text=True,
                             timeout=SLOW_S)
    assert skipped.returncode == 0, skipped.stderr
    assert "warning: skipped" in skipped.stderr and "truncated.json" in skipped.stderr
    assert "1 records: 1 ok" in skipped.stdout


def test_a_reader_that_stops_early_gets_no_traceback(tmp_path):
    # ~250 KB of listing: well over what a pipe (64 KiB) and both ends' buffers (8 KiB each) hold, so the writer
    # cannot finish before the reader closes, and must meet the closed pipe (in a write or in the last flush)
    grid = "[grid]\nlayers = [" + ", ".join(str(n) for n in range(2, 10002)) + "]\n"
    path = tmp_path / "suite.toml"
    path.write_text(BASE.format(extra="") + grid)
    listing = subprocess.Popen([sys.executable, "-m", "harness", "list", str(path), "--device", "cpu",
                                "--max-cells", "10000"],
                               cwd=REPOSITORY, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    assert listing.stdout.readline()  # `| head -1`: one line read, then the pipe closed
    listing.stdout.close()
    stderr = listing.communicate(timeout=FAST_S)[1].decode()
    assert "Traceback" not in stderr and "BrokenPipeError" not in stderr, stderr
    assert listing.returncode == 1
