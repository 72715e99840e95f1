"""Table cells for the ``estimate`` measurement: a step's peak memory on fake tensors at the paper's own scale.

The exact meter can only measure twins small enough for this machine, whose GiB do not compare with the paper's;
the estimate runs the paper's configuration at full size, so its GiB are the same quantity as the paper's
(``torch.cuda.max_memory_allocated() / 1024**3``) and a ratio estimate/paper says how far the two agree. Only
records at the paper's scale (``scale`` 1) count here: an estimate of a twin is the validation table's business.

Each cell names its implementation (``model.impl``): ``paper`` is the authors' released code, like-for-like with the
paper's numbers, so the ratio is taken on it; ``ours`` is this project's leaner implementation, shown beside it.
"""
from __future__ import annotations

from typing import Callable, Optional, Sequence

from .measured import failed
from .records import RecordSet, SourcedRecord
from .reference import UNVERIFIED_MARK, PaperValue
from .style import GIB
from .table import Cell

ESTIMATE = "estimated_peak_bytes"
IMPLS = ("paper", "ours")
HEADERS = ["estimated GiB at the paper's scale (impl paper)", "estimated/paper (impl paper)",
           "estimated GiB at the paper's scale (impl ours)"]
NOTE = ("estimated: the `estimate` measurement, the peak of one training step computed on fake tensors at the "
        "paper's full scale (no GPU needed), in GiB as the paper's; impl paper = the authors' released "
        "implementation (like-for-like with the paper, hence the ratio), impl ours = this project's.")


def is_estimate(item: SourcedRecord) -> bool:
    return "estimate" in item.record.measurements


def at_paper_scale(item: SourcedRecord) -> bool:
    """The paper's graph at full size: the real OGB graph, or a twin (or its drawn parts) at scale 1."""
    return item.get("scale") in (None, 1)


def paper_scale_estimates(records: RecordSet, suites: Sequence[str],
                          select: Optional[Callable[[SourcedRecord], bool]] = None) -> RecordSet:
    """The estimate records of ``suites`` at the paper's scale (and matching ``select``)."""
    return records.where(lambda r: is_estimate(r) and at_paper_scale(r) and (select is None or select(r)),
                         suites=suites)


def estimated_gib(item: Optional[SourcedRecord]) -> Optional[float]:
    if item is None or not item.ok or item.metric(ESTIMATE) is None:
        return None
    return item.metric(ESTIMATE) / GIB


def estimate_cell(item: Optional[SourcedRecord], run_hint: str) -> Cell:
    if item is None:
        return Cell.why(f"not estimated: run {run_hint}")
    if not item.ok:
        return failed(item)
    gib = estimated_gib(item)
    return Cell(f"{gib:.2f}", source=item) if gib is not None else Cell.why("no estimate in the record")


def estimate_ratio_cell(item: Optional[SourcedRecord], paper: PaperValue) -> Cell:
    """Estimate over the paper's GiB, cited from the estimate's record; unverified (†) when the paper's value is."""
    gib = estimated_gib(item)
    if gib is None:
        return Cell.why("–")
    if paper.oom:
        return Cell.why("paper: OOM")
    if paper.value is None or paper.value == 0:
        return Cell.why("not in the paper")
    return Cell(f"{gib / paper.value:.2f}" + ("" if paper.verified else UNVERIFIED_MARK), source=item)


def estimate_cells(estimates: RecordSet, paper: PaperValue, run_hint: str, why_none: Optional[str] = None,
                   **config: object) -> list[Cell]:
    """The three :data:`HEADERS` cells of one table row: impl paper, its ratio to the paper, impl ours.

    ``why_none`` replaces "not estimated: run …" where no estimate is meant to exist (e.g. a full-batch row that
    only the exact meter on a GPU can measure)."""
    picked = {impl: estimates.where(model__impl=impl, **config).first() for impl in IMPLS}

    def cell(impl: str) -> Cell:
        if picked[impl] is None and why_none is not None:
            return Cell.why(why_none)
        return estimate_cell(picked[impl], run_hint)

    return [cell("paper"), estimate_ratio_cell(picked["paper"], paper), cell("ours")]
