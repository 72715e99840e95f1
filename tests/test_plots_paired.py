"""The paired overhead table and Fig. 6 from fabricated paired records with known intervals: each verdict is taken
from the interval (met / missed / not decided), the ideal is shown beside the ratio, memory comes from the
overhead suite's record of the same cell."""
from __future__ import annotations

import re
from pathlib import Path

from harness.records import write_record
from plots.report import build_report
from tests.test_plots_overhead import MIB, make_record


def pair(numerator: str, denominator: str, median: float, low: float, high: float, ideal: float,
         over: tuple[float, float, float]) -> dict:
    return {"numerator": numerator, "denominator": denominator, "median": median, "low": low, "high": high,
            "ideal": ideal, "ideal_formula": "(F0 + F + B + U) / (F + B + U)", "over_ideal_median": over[0],
            "over_ideal_low": over[1], "over_ideal_high": over[2]}


def paired_record(layers: int, ratios: list[dict]):
    samples = [1.0, 1.1, 0.9]
    paired = {"connections": ["res", "rev", "rev-pyg"], "rounds": 3, "threads": 1, "confidence_level": 0.95,
              "order_seed": 0, "step_seconds": {c: samples for c in ("res", "rev", "rev-pyg")},
              "reference_forward_seconds": samples, "reference_backward_seconds": samples,
              "reference_update_seconds": samples, "reference_forward_nograd_seconds": samples,
              "step_cost": {"res": [0, 1, 1], "rev": [1, 1, 1], "rev-pyg": [2, 1, 1]}, "ratios": ratios}
    return make_record("overhead-paired", "cpu", {"connection": "res", "layers": layers},
                       {"paired_time": paired}, ["paired-time"])


def test_verdicts_come_from_intervals_and_memory_from_the_memory_suite(tmp_path: Path) -> None:
    results = tmp_path / "results"
    write_record(results / "overhead-paired" / "cpu", paired_record(28, [
        pair("rev", "res", 1.40, 1.38, 1.42, 1.36, (1.03, 1.01, 1.04)),  # within 1.05 x ideal: met
        pair("rev", "rev-pyg", 0.84, 0.80, 0.88, 0.79, (1.06, 1.0, 1.1)),  # straddles 0.85: not decided
    ]))
    write_record(results / "overhead-paired" / "cpu", paired_record(112, [
        pair("rev", "res", 1.60, 1.50, 1.70, 1.38, (1.16, 1.10, 1.20)),  # above 1.05 x ideal: missed
        pair("rev", "rev-pyg", 0.80, 0.78, 0.82, 0.79, (1.01, 0.99, 1.03)),  # met, and below 1.0
    ]))
    for connection, mib in (("rev", 20), ("rev-pyg", 25)):
        write_record(results / "overhead" / "cpu", make_record(
            "overhead", "cpu", {"connection": connection, "layers": 28}, {"peak_allocated_bytes": mib * MIB},
            ["memory"]))
    built = build_report(results, tmp_path / "report")
    table = (built.out / "tables" / "table-overhead-paired__cpu-cpu.md").read_text()
    plain = re.sub(r"\]\([^)]*\)", "]", table)
    rows = {tuple(cell.strip() for cell in line.strip("|").split("|")[1:4]): line for line in plain.splitlines()
            if line.startswith("| synthetic-arxiv")}
    assert "| met |" in rows[("GCN", "28", "rev/res")] and "[1.360]" in rows[("GCN", "28", "rev/res")]
    assert "| not decided |" in rows[("GCN", "28", "rev/rev-pyg")]
    assert "[0.800]" in rows[("GCN", "28", "rev/rev-pyg")]  # peak 20 / 25 MiB from the overhead suite
    assert "| missed |" in rows[("GCN", "112", "rev/res")]
    assert "| met |" in rows[("GCN", "112", "rev/rev-pyg")]
    assert "*needs rev and rev-pyg in suite overhead" in rows[("GCN", "112", "rev/rev-pyg")]
    assert "±1.4% met" in rows[("GCN", "28", "rev/res")] and "±6.2% missed" in rows[("GCN", "112", "rev/res")]
    assert "Verdicts: 2 met, 1 missed, 1 not decided of 4 targets" in table
    figure = next(a for a in built.drawn if a.name == "fig6-overhead-time__cpu-cpu")
    assert all(path.stat().st_size > 1000 for path in figure.files)
    assert "GCN L=112 (synthetic-arxiv ×0.02): rev/res 1.60 [1.50, 1.70], ideal 1.38, 1.16× ideal " \
           "(measured/ideal ≤ 1.05: missed)" in figure.caption


def test_a_panel_lacking_a_graph_labels_its_series_like_its_neighbours() -> None:
    """The first GPU run timed GCN on two graphs and SAGE on one: SAGE's series must still name their graph."""
    import matplotlib.pyplot as plt

    from plots.figures.fig6_overhead_time import _draw_operator, _legend
    from plots.paired import paired_rows
    from plots.records import Origin, RecordSet, SourcedRecord

    ratios = [pair("rev", "res", 1.4, 1.3, 1.5, 1.36, (1.03, 1.0, 1.1))]
    records = [paired_record(28, ratios), paired_record(112, ratios)]
    arxiv = paired_record(28, ratios)
    arxiv = arxiv.model_copy(update={"cell": {**arxiv.cell, "dataset": "ogbn-arxiv-nofeat", "scale": 1.0}})
    sage = paired_record(28, ratios)
    sage = sage.model_copy(update={"cell": {**sage.cell, "operator": "sage"}})
    rows = paired_rows(RecordSet([SourcedRecord(record, Path(f"{i}.json"), Origin("test", committed=False))
                                     for i, record in enumerate([*records, arxiv, sage])]))
    graphs = list(dict.fromkeys(row.graph for row in rows))
    assert len(graphs) == 2
    figure, axes = plt.subplots(1, 2)
    for axis, operator in zip(axes, ("gcn", "sage")):
        _draw_operator(axis, [row for row in rows if row.operator == operator], graphs)
    _, labels = _legend(axes)
    plt.close(figure)
    assert labels and all(", " in label for label in labels), labels  # every series names its graph
