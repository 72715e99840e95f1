"""Table cells for measured values: the number with its record, or a sentence saying why there is none.

A "why" names what is missing and how to get it: no record at all (which suite to run), a cell that ran out of
memory (at which budget), failed (its error), timed out or was killed from outside, a score that needs training on real data.
"""
from __future__ import annotations

from typing import Callable, Optional

from .records import RecordSet, SourcedRecord
from .reference import PaperValue, format_count
from .style import GIB
from .table import Cell

SCORE = "test_at_best_valid"


def not_run(run_hint: str) -> Cell:
    return Cell.why(f"not measured: run {run_hint}")


def brief(error: Optional[str], limit: int = 300) -> str:
    """A record's error on one line, for a table cell: a record keeps every line of a message (a Markdown row
    cannot hold a newline)."""
    text = " ".join((error or "no detail").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def failed(item: SourcedRecord) -> Cell:
    if item.status == "oom":
        budget = item.record.memory_budget_bytes
        return Cell(f"OOM (> {budget / GIB:.0f} GiB)" if budget else "OOM", source=item)
    if item.status == "timeout":
        return Cell.why(f"timed out ({brief(item.record.error)})")
    if item.status == "killed":
        return Cell.why(f"killed from outside, not out of memory (run it again: {brief(item.record.error)})")
    return Cell.why(f"error: {brief(item.record.error)}")


def memory_cell(item: Optional[SourcedRecord], run_hint: str) -> Cell:
    if item is None:
        return not_run(run_hint)
    if not item.ok:
        return failed(item)
    peak = item.metric("peak_allocated_bytes")
    return Cell(f"{peak / GIB:.2f}", source=item) if peak is not None else Cell.why("no memory measurement")


def params_cell(item: Optional[SourcedRecord], run_hint: str) -> Cell:
    if item is None:
        return not_run(run_hint)
    params = item.metric("params")
    if params is None:
        return failed(item) if not item.ok else Cell.why("no parameter count")
    return Cell(format_count(params), source=item)


def score_cell(item: Optional[SourcedRecord], why_missing: str) -> Cell:
    if item is None:
        return Cell.why(why_missing)
    value = item.metric(SCORE)
    if value is None:
        return failed(item) if not item.ok else Cell.why(why_missing)
    return Cell(f"{value * 100 if value <= 1 else value:.2f}", source=item)


def ratio_cell(numerator: Optional[SourcedRecord], denominator: Optional[SourcedRecord]) -> Cell:
    """Memory of ``numerator`` over ``denominator`` (both must be ``ok``), cited from the numerator's record."""
    if numerator is None or denominator is None:
        return Cell.why("needs both measurements")
    if denominator.status == "oom" and numerator.ok:
        return Cell("< " + f"{numerator.metric('peak_allocated_bytes') / denominator.record.memory_budget_bytes:.2f}"
                    if denominator.record.memory_budget_bytes else "Res OOM", source=numerator)
    if not (numerator.ok and denominator.ok):
        return Cell.why("needs both measurements ok")
    top, bottom = numerator.metric("peak_allocated_bytes"), denominator.metric("peak_allocated_bytes")
    if not top or not bottom:
        return Cell.why("needs both memory measurements")
    return Cell(f"{top / bottom:.2f}", source=numerator)


def paper_cell(value: PaperValue) -> Cell:
    return Cell(value.label()) if value.present else Cell.why("not in the paper")


def pick(records: RecordSet, predicate: Callable[[SourcedRecord], bool] | None = None,
         **cell: object) -> Optional[SourcedRecord]:
    """The best record for a configuration: an ok one of the most faithful profile, else any failure."""
    return records.where(predicate, **cell).first()


def pick_scored(records: RecordSet, **cell: object) -> Optional[SourcedRecord]:
    return records.where(lambda r: r.metric(SCORE) is not None, **cell).first()
