"""``harness compare``: flags a planted 5 % regression, passes an identical copy."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from harness.compare import compare_dirs
from harness.records import read_record, write_record
from tests.test_records import make_record

REPOSITORY = Path(__file__).resolve().parents[1]
MIB = 1024**2


@pytest.fixture
def base(tmp_path) -> Path:
    folder = tmp_path / "base"
    for layers in (3, 30, 300):
        for connection, peak in (("res", 10 * MIB * layers), ("rev", 10 * MIB)):
            write_record(folder, make_record(connection=connection, layers=layers, peak_allocated_bytes=peak,
                                             step_seconds={"median": 0.1, "min": 0.1, "max": 0.2},
                                             best_valid=0.7))
    return folder


def copy_with(base: Path, folder: Path, **changes) -> Path:
    """A copy of ``base``; ``changes`` maps a layers/connection key to new metric values for that one cell."""
    shutil.copytree(base, folder)
    for path in folder.glob("*.json"):
        record = read_record(path)
        key = f"{record.cell['connection']}{record.cell['layers']}"
        if key in changes:
            metrics = type(record.metrics).model_validate({**record.metrics.model_dump(), **changes[key]})
            write_record(folder, record.model_copy(update={"metrics": metrics}))
    return folder


def cli(*args: object) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "harness", "compare", *map(str, args)], cwd=REPOSITORY,
                          capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)


def test_identical_copy_passes(base, tmp_path):
    new = copy_with(base, tmp_path / "new")
    rows = compare_dirs(base, new, ["peak_allocated_bytes"], 0.02)
    assert len(rows) == 6 and all(row.verdict == "ok" and row.ratio == 1.0 for row in rows)
    done = cli(base, new)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no regression beyond 2.0%" in done.stdout


def test_planted_five_percent_regression_fails(base, tmp_path):
    new = copy_with(base, tmp_path / "new", rev300={"peak_allocated_bytes": int(10 * MIB * 1.05)})
    rows = compare_dirs(base, new, ["peak_allocated_bytes"], 0.02)
    flagged = [row for row in rows if row.is_regression]
    assert len(flagged) == 1 and flagged[0].config["layers"] == 300 and flagged[0].ratio == pytest.approx(1.05, 1e-6)
    done = cli(base, new, "--metric", "peak_allocated_bytes", "--tolerance", "0.02")
    assert done.returncode == 1
    assert "REGRESSION" in done.stdout and "1.0500" in done.stdout
    assert cli(base, new, "--tolerance", "0.06").returncode == 0  # within a looser tolerance


def test_small_changes_and_improvements_pass(base, tmp_path):
    new = copy_with(base, tmp_path / "new", res3={"peak_allocated_bytes": int(30 * MIB * 1.01)},
                    res300={"peak_allocated_bytes": 1500 * MIB})
    verdicts = {row.config["layers"]: row.verdict for row in compare_dirs(base, new, ["peak_allocated_bytes"], 0.02)
                if row.config["connection"] == "res"}
    assert verdicts == {3: "ok", 30: "ok", 300: "better"}
    assert cli(base, new).returncode == 0


def test_higher_is_better_for_scores(base, tmp_path):
    new = copy_with(base, tmp_path / "new", rev3={"best_valid": 0.6}, rev30={"best_valid": 0.8})
    verdicts = {row.config["layers"]: row.verdict for row in compare_dirs(base, new, ["best_valid"], 0.02)
                if row.config["connection"] == "rev"}
    assert verdicts == {3: "REGRESSION", 30: "better", 300: "ok"}


def test_dotted_metric(base, tmp_path):
    new = copy_with(base, tmp_path / "new", res30={"step_seconds": {"median": 0.2, "min": 0.1, "max": 0.3}})
    rows = [row for row in compare_dirs(base, new, ["step_seconds.median"], 0.02) if row.is_regression]
    assert [(row.config["connection"], row.config["layers"], row.ratio) for row in rows] == [("res", 30, 2.0)]


def test_missing_or_failed_cell_is_a_regression(base, tmp_path):
    new = copy_with(base, tmp_path / "new")
    victims = sorted(new.glob("*.json"))
    victims[0].unlink()
    failed = read_record(victims[1])
    write_record(new, failed.model_copy(update={"status": "oom"}))
    verdicts = sorted(row.verdict for row in compare_dirs(base, new, ["peak_allocated_bytes"], 0.02))
    assert verdicts == ["FAILED", "MISSING", "ok", "ok", "ok", "ok"]
    assert cli(base, new).returncode == 1


def test_cell_only_in_new_is_listed_not_judged(base, tmp_path):
    new = copy_with(base, tmp_path / "new")
    write_record(new, make_record(connection="rev", layers=1000, peak_allocated_bytes=10 * MIB))
    rows = compare_dirs(base, new, ["peak_allocated_bytes"], 0.02)
    assert sorted(row.verdict for row in rows).count("new") == 1
    assert cli(base, new).returncode == 0


def test_bad_input_is_one_line(base, tmp_path):
    done = cli(base, tmp_path / "absent")
    assert done.returncode == 2 and done.stderr.strip().count("\n") == 0 and "no such results folder" in done.stderr
    done = cli(base, base, "--metric", "step_seconds")
    assert done.returncode == 2 and "not a number" in done.stderr and "Traceback" not in done.stderr


def one_line_failure(done: subprocess.CompletedProcess, *words: str) -> None:
    """The gate failed (exit 1) with one line on stderr holding ``words``, nothing on stdout, no traceback."""
    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stdout == "" and done.stderr.count("\n") == 1 and "Traceback" not in done.stderr, done.stderr
    assert all(word in done.stderr for word in words), done.stderr


def test_empty_base_fails_the_gate(base, tmp_path):
    (tmp_path / "empty").mkdir()
    one_line_failure(cli(tmp_path / "empty", base), "BASE has no records")


def test_metric_no_record_has_fails_the_gate(base, tmp_path):
    new = copy_with(base, tmp_path / "new")
    one_line_failure(cli(base, new, "--metric", "peak_alocated_bytes"), "'peak_alocated_bytes'", "misspelled")
    # one good metric does not cover for a misspelled one
    one_line_failure(cli(base, new, "--metric", "peak_allocated_bytes", "--metric", "activation_byte"),
                     "'activation_byte'")


@pytest.mark.parametrize("tolerance", ["nan", "inf", "-0.01", "-inf"])
def test_tolerance_must_be_finite_and_non_negative(base, tmp_path, tolerance):
    new = copy_with(base, tmp_path / "new", rev300={"peak_allocated_bytes": 100 * MIB})  # a 10x regression
    one_line_failure(cli(base, new, f"--tolerance={tolerance}"), "--tolerance", "finite")


def test_new_lacking_the_metric_in_an_ok_cell_fails_the_gate(base, tmp_path):
    new = copy_with(base, tmp_path / "new")
    victim = read_record(sorted(new.glob("*.json"))[2])
    metrics = type(victim.metrics).model_validate({**victim.metrics.model_dump(), "peak_allocated_bytes": None})
    write_record(new, victim.model_copy(update={"metrics": metrics}))
    rows = compare_dirs(base, new, ["peak_allocated_bytes"], 0.02)
    assert not any(row.is_regression for row in rows)  # the verdicts alone would pass: coverage must not
    one_line_failure(cli(base, new), "compared 5 of the 6 values", victim.cell_id[:8])


def test_invalid_file_stops_compare_unless_skipped(base, tmp_path):
    new = copy_with(base, tmp_path / "new")
    (new / "corrupt.json").write_text('{"schema_version": 1, "suite": ')
    done = cli(base, new)
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "corrupt.json" in done.stderr, done.stderr
    done = cli(base, new, "--skip-invalid")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "warning: skipped" in done.stderr and "corrupt.json" in done.stderr and "1 invalid file(s)" in done.stderr
    assert "no regression beyond 2.0% in 6 compared values" in done.stdout
