"""``python -m harness compare BASE NEW``: did any cell get worse? The CI memory-regression gate.

Cells are matched by configuration (the record's cell id), whatever suite or profile produced them. For each metric
the ratio new/base is checked against the tolerance in the direction that is worse (more bytes or seconds; a lower
validation or test score). A cell that was ``ok`` in the base and is missing or failed in the new run also counts
as a regression: the gate cannot vouch for what it did not measure. Cells only in the new run are listed, not judged.

The gate never passes on nothing (:func:`coverage_problem`): it fails when it compared no value, when it compared
fewer values of a metric than BASE has ``ok`` cells holding that metric (NEW lacks the metric in some cell), and when
no record of BASE holds a metric at all (a typo in ``--metric`` or a wrong BASE path). A tolerance must be a finite
number >= 0 (:func:`check_tolerance`): ``nan`` compares false with everything and would pass every ratio.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from .records import Record, load_records
from .show import flat_config, format_table, sort_key, varying_keys

#: Metrics where a larger value is better; every other metric (bytes, seconds, params) is better smaller.
HIGHER_IS_BETTER = frozenset({"best_valid", "test_at_best_valid"})


@dataclass(frozen=True)
class Row:
    cell_id: str
    config: dict[str, Any]
    metric: str
    base: float | None
    new: float | None
    verdict: str  # ok | better | REGRESSION | FAILED | MISSING | new | n/a

    @property
    def ratio(self) -> float | None:
        if self.base is None or self.new is None:
            return None
        if self.base == 0:
            return 1.0 if self.new == 0 else math.inf
        return self.new / self.base

    @property
    def is_regression(self) -> bool:
        return self.verdict in ("REGRESSION", "FAILED", "MISSING")


def compare_records(base: dict[str, Record], new: dict[str, Record], metrics: Sequence[str],
                    tolerance: float) -> list[Row]:
    rows = []
    for cell_id in list(dict.fromkeys([*base, *new])):
        for metric in metrics:
            rows.append(_judge(cell_id, base.get(cell_id), new.get(cell_id), metric, tolerance))
    return rows


def compare_dirs(base_dir: Path, new_dir: Path, metrics: Sequence[str], tolerance: float) -> list[Row]:
    return compare_records(load_records(base_dir), load_records(new_dir), metrics, tolerance)


class GateError(ValueError):
    """The comparison cannot vouch for NEW (nothing or too little compared, a bad tolerance): one line, exit 1."""


def check_tolerance(tolerance: float) -> float:
    if not (math.isfinite(tolerance) and tolerance >= 0):
        raise GateError(f"--tolerance must be a finite number >= 0, got {tolerance!r}")
    return tolerance


def coverage_problem(base: dict[str, Record], rows: Sequence[Row], metrics: Sequence[str]) -> str | None:
    """Why ``rows`` cannot vouch for NEW, or None: every metric must have been compared in every ``ok`` cell of
    BASE that holds it, and BASE must hold every metric somewhere."""
    if not base:
        return "BASE has no records: nothing to compare against"
    for metric in metrics:
        expected = {cell_id for cell_id, record in base.items()
                    if record.status == "ok" and _number(record, metric) is not None}
        if not expected:
            return f"no ok record in BASE has the metric {metric!r}: nothing to compare (a misspelled --metric?)"
        compared = {row.cell_id for row in rows if row.metric == metric and row.ratio is not None}
        judged = {row.cell_id for row in rows if row.metric == metric and row.is_regression}
        unvouched = sorted(expected - compared - judged)
        if unvouched:
            return (f"compared {len(expected & compared)} of the {len(expected)} values of {metric!r} that BASE has: "
                    f"NEW lacks it in cell(s) {', '.join(cell_id[:8] for cell_id in unvouched[:5])}"
                    + (" …" if len(unvouched) > 5 else ""))
    if not any(row.ratio is not None for row in rows):
        return "0 values compared"
    return None


def _judge(cell_id: str, base: Record | None, new: Record | None, metric: str, tolerance: float) -> Row:
    config = (base or new).cell  # type: ignore[union-attr]
    base_value = _number(base, metric)
    new_value = _number(new, metric)
    row = Row(cell_id, config, metric, base_value, new_value, "n/a")
    if base is None:
        return Row(cell_id, config, metric, None, new_value, "new")
    if new is None:
        return Row(cell_id, config, metric, base_value, None, "MISSING" if base.status == "ok" else "n/a")
    if base.status == "ok" and new.status != "ok":
        return Row(cell_id, config, metric, base_value, new_value, "FAILED")
    if base_value is None or new_value is None:
        return row
    ratio = row.ratio
    assert ratio is not None
    worse = ratio < 1 - tolerance if metric in HIGHER_IS_BETTER else ratio > 1 + tolerance
    better = ratio > 1 + tolerance if metric in HIGHER_IS_BETTER else ratio < 1 - tolerance
    return Row(cell_id, config, metric, base_value, new_value, "REGRESSION" if worse else "better" if better else "ok")


def _number(record: Record | None, metric: str) -> float | None:
    if record is None:
        return None
    value = record.metric(metric)
    if value is None or isinstance(value, bool):
        return None
    if not isinstance(value, (int, float)):
        raise ValueError(f"metric {metric!r} of cell {record.cell_id} is not a number ({type(value).__name__}); "
                         f"name a scalar, e.g. step_seconds.median")
    return float(value)


def comparison_table(rows: Sequence[Row]) -> str:
    keys = varying_keys([row.config for row in rows])
    table = []
    for row in sorted(rows, key=lambda r: (sort_key(r.config, keys), r.metric)):
        flat = flat_config(row.config)
        ratio = "-" if row.ratio is None else f"{row.ratio:.4f}"
        table.append([row.cell_id[:8], *(flat.get(key, "-") for key in keys), row.metric,
                      _value(row.base), _value(row.new), ratio, row.verdict])
    return format_table(["cell", *keys, "metric", "base", "new", "new/base", "verdict"], table)


def _value(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.6g}" if not float(value).is_integer() else f"{int(value):,}"


def summary_line(rows: Sequence[Row], tolerance: float) -> str:
    bad = [row for row in rows if row.is_regression]
    compared = sum(row.ratio is not None for row in rows)
    if bad:
        return (f"{len(bad)} regression(s) beyond {tolerance:.1%} "
                f"({', '.join(sorted({row.verdict for row in bad}))}) in {compared} compared values")
    return f"no regression beyond {tolerance:.1%} in {compared} compared values"
