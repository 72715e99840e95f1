"""One of each extension point from outside the project (tests/outside_plugins.py, through GNN1000_PLUGINS): an
operator, a connection kind, a data set, a measurement and a figure, each one definition plus one registry call,
found by suite validation, measured in the harness's cell processes, and drawn by the report."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from harness.records import load_records

REPOSITORY = Path(__file__).resolve().parents[1]
TESTS = Path(__file__).resolve().parent

SUITE = """
[suite]
name = "plugins"
measurements = ["memory", "module-count"]
timeout_s = 300

[base]
operator = "graphconv"
connection = "res-scaled"
model = { connection_options = { alpha = 0.25 } }
channels = 8
dataset = "ring-of-cliques"
scale = 0.1

[grid]
layers = [1, 3]

[profiles.smoke]
[profiles.full]
"""


def run(*args: object) -> subprocess.CompletedProcess:
    env = {**os.environ, "GNN1000_PLUGINS": "outside_plugins",
           "PYTHONPATH": os.pathsep.join([str(TESTS), str(REPOSITORY), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([sys.executable, "-m", *map(str, args)], cwd=REPOSITORY, env=env, capture_output=True,
                          text=True, timeout=600)


def test_one_of_each_from_outside_is_measured_and_drawn(tmp_path):
    suite, results = tmp_path / "plugins.toml", tmp_path / "results"
    suite.write_text(SUITE)
    measured = run("harness", "run", suite, "--out", results / "plugins" / "smoke", "--device", "cpu",
                   "--no-progress")
    assert measured.returncode == 0, measured.stdout + measured.stderr
    records = load_records(results / "plugins" / "smoke")
    assert len(records) == 2 and {r.status for r in records.values()} == {"ok"}
    by_depth = {r.cell["layers"]: r for r in records.values()}
    assert by_depth[3].metrics.peak_allocated_bytes > by_depth[1].metrics.peak_allocated_bytes  # res keeps more
    assert by_depth[3].metric("module_count") > by_depth[1].metric("module_count")

    built = run("plots", "build", results)
    assert built.returncode == 0, built.stdout + built.stderr
    assert (results / "report" / "figures" / "fig-plugin-modules.png").is_file()
    assert "Modules against depth (a figure from outside the project)" in (results / "report" / "REPORT.md").read_text()


def test_without_the_plugin_the_names_are_unknown(tmp_path):
    suite = tmp_path / "plugins.toml"
    suite.write_text(SUITE)
    done = subprocess.run([sys.executable, "-m", "harness", "list", suite], cwd=REPOSITORY, capture_output=True,
                          text=True, env={**os.environ, "GNN1000_PLUGINS": ""}, timeout=300)
    assert done.returncode == 2
    assert "unknown measurement 'module-count'" in done.stderr and "\n" not in done.stderr.strip()
