"""Fig. 6 (step time against depth), the overhead table and Fig. 7 (fidelity), from fabricated records.

The records are written by hand with known numbers, so that the ratios, verdicts and captions can be checked
exactly; tests/test_plots.py covers records made by a real harness run.
"""
from __future__ import annotations

import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from harness.cells import config_hash
from harness.records import Environment, MeasurementRun, Metrics, Record, write_record
from plots.report import build_report

MIB = 1024**2
ENVIRONMENT = Environment(git_commit="0" * 40, git_dirty=False, python="3.11", torch="2.13.0", torch_geometric="2.6",
                          dgl=None, ogb=None, device="test cpu", cpu_count=2, cuda=None, platform="linux")

#: (operator, layers) → connection → (median step seconds, peak MiB); min/max are ±10 % of the median.
OVERHEAD = {
    ("gcn", 28): {"res": (1.0, 100), "rev": (1.1, 20), "rev-pyg": (1.5, 22)},  # every target met
    ("gcn", 112): {"res": (4.0, 400), "rev": (5.0, 25), "rev-pyg": (5.5, 24)},  # every target missed
    ("gen", 28): {"res": (2.0, 300), "rev": (2.2, 40), "rev-pyg": (3.0, 40)},
    ("gen", 112): {"res": (8.0, 1200), "rev": (9.0, 50.2), "rev-pyg": (12.0, 50)},  # memory 1.004: missed
}


def make_record(suite: str, profile: str, cell: dict[str, Any], metrics: dict[str, Any],
                measurements: list[str], status: str = "ok") -> Record:
    config = {"operator": "gcn", "channels": 128, "groups": 2, "dataset": "synthetic-arxiv", "scale": 0.02,
              "mode": "full", "device": "cpu", "backend": "pyg", **cell}
    return Record(suite=suite, profile=profile, cell_id=config_hash(config), cell=config, measurements=measurements,
                  status=status, error=None if status == "ok" else f"{status}: details", metrics=Metrics(**metrics),
                  runs={name: MeasurementRun(status=status, seconds=1.0) for name in measurements},
                  environment=ENVIRONMENT, started_at=datetime(2025, 1, 1, tzinfo=timezone.utc), seconds=1.0)


#: The DGL environment's run (backend dgl, torch 2.2): its own group, with DGL's GroupRevRes beside the others.
OVERHEAD_DGL = {"res": (0.8, 90), "rev": (1.0, 20), "rev-pyg": (1.3, 21), "rev-dgl": (1.4, 21)}


def overhead_record(operator: str, layers: int, connection: str, seconds: float, mib: float,
                    backend: str = "pyg") -> Record:
    return make_record("overhead", "cpu", {"operator": operator, "connection": connection, "layers": layers,
                                           "backend": backend},
                       {"step_seconds": {"median": seconds, "min": 0.9 * seconds, "max": 1.1 * seconds},
                        "peak_allocated_bytes": int(mib * MIB)}, ["memory", "time"])


def fidelity_record(connection: str, layers: int, float32: float, cosine: float | None,
                    profile: str = "cpu") -> Record:
    metrics: dict[str, Any] = {
        "reconstruction_error": {"float64": float32 * 1e-9, "float32": float32, "bfloat16": min(float32 * 5e4, 3.0)},
        "reconstruction_skipped": {},
    }
    if cosine is None:
        metrics["gradient_cosine_skipped"] = f"{layers} layers > gradient_cosine_max_layers = 100"
    else:
        metrics["gradient_cosine"] = cosine
    return make_record("fidelity", profile, {"connection": connection, "layers": layers, "scale": 0.01,
                                           "channels": 64}, metrics, ["fidelity"])


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory):
    results = tmp_path_factory.mktemp("results")
    for (operator, layers), connections in OVERHEAD.items():
        for connection, (seconds, mib) in connections.items():
            write_record(results / "overhead" / "cpu", overhead_record(operator, layers, connection, seconds, mib))
    for connection, (seconds, mib) in OVERHEAD_DGL.items():
        write_record(results / "overhead" / "cpu", overhead_record("gcn", 28, connection, seconds, mib, "dgl"))
    for connection in ("rev", "wt-rev"):
        for layers, error, cosine in ((1, 3e-8, 1 - 1e-14), (10, 3e-7, 1 - 1e-13), (100, 3e-6, 1 - 5e-13),
                                      (1001, 5e-5 if connection == "rev" else 2e-4, None)):
            write_record(results / "fidelity" / "cpu", fidelity_record(connection, layers, error, cosine))
    return build_report(results, tmp_path_factory.mktemp("report"))


def drawn(report, name: str):
    artifacts = {artifact.name: artifact for artifact in report.drawn}
    assert name in artifacts, sorted(artifacts)
    return artifacts[name]


def test_overhead_figure_is_drawn_per_profile_with_every_connection(report) -> None:
    figure = drawn(report, "fig6-overhead-time-unpaired__cpu-cpu")
    assert sorted(path.suffix for path in figure.files) == [".pdf", ".png"]
    assert all(path.stat().st_size > 1000 for path in figure.files)
    assert {item.get("connection") for item in figure.sources} == {"res", "rev", "rev-pyg"}


def test_each_backend_gets_its_own_table_and_figure_with_its_wrappers(report) -> None:
    """The DGL environment's records are never divided by the PyG environment's (another torch, another backend);
    their table adds DGL's GroupRevRes and its two targets, which the PyG table (no rev-dgl) leaves out."""
    figure = drawn(report, "fig6-overhead-time-unpaired__cpu-cpu-dgl")
    assert {item.get("connection") for item in figure.sources} == {"res", "rev", "rev-pyg", "rev-dgl"}
    assert "rev/rev-dgl time (unpaired) 0.71 (≤ 0.8: met), rev/rev-dgl memory 0.95 (≤ 1: met)" in figure.caption
    table = (report.out / "tables" / "table-overhead__cpu-cpu-dgl.md").read_text()
    row = next(line for line in table.splitlines() if line.startswith("| GCN | 28 | 128 |"))
    cells = [re.sub(r"\]\(.*\)", "]", cell.strip()) for cell in row.strip("|").split("|")]
    assert cells[3:] == ["[0.8]", "[1]", "[1.3]", "[1.4]", "[90]", "[20]", "[21]", "[21]", "[0.77 met]",
                         "[0.95 met]", "[0.71 met]", "[0.95 met]", "[1.25 missed]"]
    assert "rev-dgl" not in (report.out / "tables" / "table-overhead__cpu-cpu.md").read_text()


def test_overhead_figure_caption_states_the_ratios_against_the_targets(report) -> None:
    caption = drawn(report, "fig6-overhead-time-unpaired__cpu-cpu").caption
    assert "GCN L=28: rev/rev-pyg time (unpaired) 0.73 (≤ 0.8: met), rev/rev-pyg memory 0.91 (≤ 1: met), " \
           "rev/res time (unpaired) 1.10 (≤ 1.2: met)" in caption
    assert "GCN L=112: rev/rev-pyg time (unpaired) 0.91 (≤ 0.8: missed), rev/rev-pyg memory 1.04 (≤ 1: missed), " \
           "rev/res time (unpaired) 1.25 (≤ 1.2: missed)" in caption
    assert caption.index("GCN L=112") < caption.index("GEN L=28: rev/rev-pyg time (unpaired) 0.73")  # the paper's order


def test_overhead_table_marks_each_ratio_met_or_missed_and_links_it(report) -> None:
    table = (report.out / "tables" / "table-overhead__cpu-cpu.md").read_text()
    row = next(line for line in table.splitlines() if line.startswith("| GCN | 28 | 128 |"))
    cells = [cell.strip() for cell in row.strip("|").split("|")]
    assert [re.sub(r"\]\(.*\)", "]", cell) for cell in cells[3:]] == [
        "[1]", "[1.1]", "[1.5]", "[100]", "[20]", "[22]", "[0.73 met]", "[0.91 met]", "[1.10 met]"]
    missed = next(line for line in table.splitlines() if line.startswith("| GCN | 112 | 128 |"))
    assert missed.count(" missed](") == 3
    assert "Targets met: 8 of 12 measured ratios" in table  # GCN-28 and GEN-28 meet all three, GCN-112 none
    big = next(line for line in table.splitlines() if line.startswith("| GEN | 112 | 128 |"))
    assert "[1,200](" in big  # MiB throughout, whole numbers with separators
    assert "[1.004 missed](" in big  # not "1.00 missed"
    links = re.findall(r"\]\(([^)]+\.json)\)", drawn(report, "table-overhead__cpu-cpu").body)
    assert links and all((report.out / link).exists() for link in links)
    assert all((report.out / link).resolve().parent.parts[-2:] == ("overhead", "cpu") for link in links)


def test_fidelity_figure_shows_the_drift_against_its_target_and_the_cosine(report) -> None:
    figure = drawn(report, "fig7-fidelity__cpu-cpu")
    assert sorted(path.suffix for path in figure.files) == [".pdf", ".png"]
    assert len(figure.sources) == 8
    caption = figure.caption
    assert "RevGNN: float32 drift 5.00e-05 at 1001 layers (target ≤ 0.0001: met)" in caption
    assert "WT-RevGNN: float32 drift 2.00e-04 at 1001 layers (target ≤ 0.0001: missed)" in caption
    assert "RevGNN: gradient cosine at 100 layers = 1 − 5.0e-13" in caption


def test_missing_records_skip_the_new_items_with_the_command_to_run(tmp_path: Path) -> None:
    results = tmp_path / "results"
    write_record(results / "fidelity" / "smoke", fidelity_record("rev", 10, 3e-7, 1.0, profile="smoke"))
    built = build_report(results, tmp_path / "report")
    skipped = {artifact.name: artifact.skipped for artifact in built.skipped}
    assert skipped["fig6-overhead-time"] == "no records of suite 'overhead-paired'; run `tox -e overhead`"
    assert skipped["table-overhead-paired"] == "no records of suite 'overhead-paired'; run `tox -e overhead`"
    assert skipped["table-overhead"] == "no records of suite 'overhead'; run `tox -e overhead`"
    caption = drawn(built, "fig7-fidelity__smoke-cpu").caption
    assert "RevGNN: no float32 record at 1001 layers" in caption  # drawn, and says what it lacks
    (tmp_path / "nothing").mkdir()
    empty = build_report(tmp_path / "nothing", tmp_path / "empty-report")  # no records at all
    assert {a.name for a in empty.skipped} >= {"fig6-overhead-time", "fig7-fidelity", "table-overhead"}
    assert "run `tox -e fidelity`" in {a.name: a.skipped for a in empty.skipped}["fig7-fidelity"]


def test_a_failed_cell_has_no_ratio_and_says_why(tmp_path: Path) -> None:
    results = tmp_path / "results" / "overhead" / "cpu"
    write_record(results, overhead_record("sage", 112, "res", 3.0, 500).model_copy(
        update={"status": "oom", "error": "oom: details", "metrics": Metrics()}))
    write_record(results, overhead_record("sage", 112, "rev", 3.3, 50))
    built = build_report(tmp_path / "results", tmp_path / "report")
    table = (built.out / "tables" / "table-overhead__cpu-cpu.md").read_text()
    row = next(line for line in table.splitlines() if line.startswith("| SAGE | 112 |"))
    assert "OOM" in row and "*needs rev and res measured ok*" in row and "*not measured: run `tox -e overhead`*" in row


def test_two_graphs_in_one_profile_are_never_divided_by_each_other(tmp_path: Path) -> None:
    results = tmp_path / "results" / "overhead" / "cpu"
    write_record(results, overhead_record("gcn", 28, "res", 1.0, 100))
    write_record(results, overhead_record("gcn", 28, "rev", 1.1, 20))
    bigger = make_record("overhead", "cpu", {"operator": "gcn", "connection": "rev-pyg", "layers": 28, "scale": 0.05},
                         {"step_seconds": {"median": 3.0, "min": 2.9, "max": 3.1},
                          "peak_allocated_bytes": 50 * MIB}, ["memory", "time"])
    write_record(results, bigger)
    built = build_report(tmp_path / "results", tmp_path / "report")
    table = (built.out / "tables" / "table-overhead__cpu-cpu.md").read_text()
    small = next(line for line in table.splitlines() if line.startswith("| GCN (synthetic-arxiv ×0.02) | 28 |"))
    assert "*needs rev and rev-pyg measured ok*" in small and "1.10 met" in small
    assert "| GCN (synthetic-arxiv ×0.05) | 28 |" in table
    assert drawn(built, "fig6-overhead-time-unpaired__cpu-cpu").files  # drawn, one line per graph


def test_a_cell_whose_time_run_was_killed_keeps_its_measured_peak(tmp_path: Path) -> None:
    results = tmp_path / "results" / "overhead" / "cpu"
    killed = overhead_record("gen", 112, "res", 1.0, 15_000).model_copy(update={
        "status": "oom", "error": "time: killed by SIGKILL (out of memory?)",
        "metrics": Metrics(peak_allocated_bytes=15_000 * MIB),
        "runs": {"memory": MeasurementRun(status="ok", seconds=1.0),
                 "time": MeasurementRun(status="oom", seconds=1.0)}})
    write_record(results, killed)
    write_record(results, overhead_record("gen", 112, "rev", 10.0, 190))
    built = build_report(tmp_path / "results", tmp_path / "report")
    table = (built.out / "tables" / "table-overhead__cpu-cpu.md").read_text()
    row = next(line for line in table.splitlines() if line.startswith("| GEN | 112 |"))
    assert "[15,000 (time run: oom)](" in row  # the peak is known; only the step time is not
    assert "[OOM (> " not in row.split("|")[7]
    assert "*needs rev and res measured ok*" in row
