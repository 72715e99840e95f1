"""The CI memory gate (tox -e memory-regression) fails on a planted regression and passes an honest re-measure.

Two smoke cells (rev, full- and mini-batch) are re-measured through ``python -m harness run`` and compared with
their committed baseline records in results/baselines/cpu/ by ``python -m harness compare`` at 2 %: once with the
real code (must pass: the CPU meter is deterministic), once with ``rev`` swapped, inside the cell processes only,
for a version that keeps four extra activations (tests/planted_regression.py; must fail).
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from harness.records import load_records

REPOSITORY = Path(__file__).resolve().parent.parent
TESTS = Path(__file__).resolve().parent
BASELINE = REPOSITORY / "results" / "baselines" / "cpu"
SMOKE = REPOSITORY / "suites" / "smoke.toml"

pytestmark = pytest.mark.slow


def _suite_for_rev_cells(folder: Path) -> Path:
    """smoke.toml's smoke profile narrowed to the gcn/rev cells (same cell ids), memory only."""
    text = SMOKE.read_text()
    text = text.replace('measurements = ["memory", "time"]', 'measurements = ["memory"]')
    text = text.replace('operator = ["gcn", "sage", "gat", "gen"]', 'operator = ["gcn"]')
    text = text.replace('connection = ["res", "rev", "wt-res", "wt-rev", "deq"]', 'connection = ["rev"]')
    path = folder / "smoke.toml"
    path.write_text(text)
    return path


def _harness(*args: object, plugins: str = "") -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS), str(REPOSITORY)]),
           "GNN1000_PLUGINS": plugins}
    return subprocess.run([sys.executable, "-m", "harness", *map(str, args)], cwd=REPOSITORY, env=env,
                          capture_output=True, text=True, timeout=600)


def test_gate_passes_a_remeasure_and_fails_a_planted_regression(tmp_path: Path) -> None:
    assert BASELINE.is_dir(), "results/baselines/cpu/ is missing: see README, 'Refreshing the memory baseline'"
    suite = _suite_for_rev_cells(tmp_path)
    base = tmp_path / "base"
    base.mkdir()
    baseline = load_records(BASELINE)
    for name in ("honest", "planted"):
        out = tmp_path / name
        run = _harness("run", suite, "--profile", "smoke", "--device", "cpu", "--out", out, "--no-progress",
                       plugins="planted_regression" if name == "planted" else "")
        assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    measured = load_records(tmp_path / "honest")
    assert len(measured) == 2 and set(measured) <= set(baseline), "the narrowed suite's cells must be in the baseline"
    for cell_id in measured:
        shutil.copy(BASELINE / f"{cell_id}.json", base / f"{cell_id}.json")

    honest = _harness("compare", base, tmp_path / "honest", "--metric", "peak_allocated_bytes", "--tolerance", "0.02")
    assert honest.returncode == 0, honest.stdout
    planted = _harness("compare", base, tmp_path / "planted", "--metric", "peak_allocated_bytes", "--tolerance",
                       "0.02")
    assert planted.returncode == 1, planted.stdout
    assert "REGRESSION" in planted.stdout
