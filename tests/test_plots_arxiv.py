"""The arxiv ablation table from fabricated records: each row names the graph it was measured on."""
from __future__ import annotations

from pathlib import Path

from harness.records import write_record
from plots.report import build_report
from tests.test_plots_overhead import make_record

GIB = 1024**3


def arxiv_record(connection: str, channels: int, gib: float, dataset: str, scale: float):
    return make_record("arxiv", "cpu", {"operator": "gen", "connection": connection, "layers": 28,
                                        "channels": channels, "dataset": dataset, "scale": scale},
                       {"peak_allocated_bytes": int(gib * GIB), "params": 262_112}, ["memory"])


def test_rows_on_a_part_of_the_twin_say_so_and_take_their_ratio_on_that_graph(tmp_path: Path) -> None:
    results = tmp_path / "results" / "arxiv" / "cpu"
    write_record(results, arxiv_record("res", 128, 14.0, "synthetic-arxiv", 0.08))
    write_record(results, arxiv_record("rev", 128, 0.7, "synthetic-arxiv", 0.08))
    built = build_report(tmp_path / "results", tmp_path / "report")
    table = (built.out / "tables" / "table-arxiv-ablation.md").read_text()
    rev = next(line for line in table.splitlines() if line.startswith("| RevGEN | 28 | 128 |"))
    cells = [cell.strip() for cell in rev.strip("|").split("|")]
    assert cells[5] == "synthetic-arxiv ×0.08"
    assert cells[7].startswith("[0.05](")  # 0.7 / 14 on the same graph
    assert "| ResGCN | 28 | 128 | 11.15 | *not measured" in table  # and an unmeasured row has no graph
    assert "do not compare with the paper's whole-graph figures" in table
