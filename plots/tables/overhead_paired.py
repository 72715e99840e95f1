"""The reversible overhead, timed in pairs: each ratio with its 95 % interval, beside its ideal and its target.

One row per (graph, operator, depth, pair) of the ``overhead-paired`` suite (see :mod:`plots.paired`): the median of
the per-round ratios and its bootstrap interval, the interval's half width against ±5 %, the ideal ratio from the
reference's own F0, F, B and U, measured/ideal with its interval, the target and the verdict ("not decided" where
the interval straddles the target), and the pair's peak-memory ratio from the ``overhead`` suite's records of the
same cells. A table per (profile, device, backend).
"""
from __future__ import annotations

from ..artifact import Artifact, BuildContext
from ..paired import (RUN, SUITE, PairedRow, describe, failed_cells, memory_ratio, paired_groups, paired_rows,
                      WIDTH_TARGET)
from ..measured import brief
from ..registry import register
from ..table import Cell, Table, measured_on, table_artifact
from .overhead import group_stem

NAME = "table-overhead-paired"
TITLE = "Reversible overhead, timed in pairs: step-time ratios with 95 % intervals, beside their ideals"


@register(NAME, "table", TITLE)
def build(ctx: BuildContext) -> list[Artifact]:
    groups = paired_groups(ctx.records)
    if not groups:
        return [Artifact.skip(NAME, TITLE, "table", f"no records of suite '{SUITE}'; run {RUN}")]
    artifacts = []
    for (profile, device, backend), group in groups.items():
        table = Table(["graph", "operator", "L", "pair", "ratio [95 % interval]", f"± (≤ {WIDTH_TARGET:.0%})",
                       "ideal", "measured / ideal [95 %]", "target", "verdict", "peak ratio", "rounds"])
        rows = paired_rows(group)
        for row in rows:
            table.add(row.graph, row.operator_name, str(row.layers), row.label, _ratio_cell(row), _width_cell(row),
                      _ideal_cell(row), _over_ideal_cell(row), row.target.label if row.target else "—",
                      row.verdict() or "—", _memory_cell(ctx, row), str(row.rounds))
        for item in failed_cells(ctx.records, profile, device, backend):
            table.add(item.get("dataset"), item.get("operator"), str(item.get("layers")), "all",
                      Cell.why(f"{item.status}: {brief(item.record.error)}"), "—", "—", "—", "—", "—", "—",
                      "—")
        verdicts = [row.verdict() for row in rows if row.verdict() is not None]
        counts = {name: verdicts.count(name) for name in ("met", "missed", "not decided")}
        narrow = sum(row.width_verdict() == "met" for row in rows)
        table.footnotes.append(
            "Every model of a row was timed in the same process, in rounds of one full training step each (zero_grad, "
            "forward, loss, backward, update) in a seeded shuffled order; ratio = median over rounds of the two steps' "
            "ratio in the same round, interval = scipy.stats.bootstrap (BCa) of that median. ideal = the two "
            "connections' step costs on the reference's (res) F0 (forward under no_grad), F, B and U of the same "
            "rounds: rev = F0 + F + B + U, res = F + B + U, the libraries' wrappers = 2F0 + F + B + U. A verdict is "
            "'met' only when the whole interval is within the target, 'missed' when all of it is beyond, otherwise "
            "'not decided'. peak ratio = the two connections' allocator peaks (suite overhead, a process per cell).")
        name = group_stem(NAME, profile, device, backend)
        title = f"{TITLE} — {profile}/{device}, {backend} backend"
        caption = (f"{title}. Verdicts: {counts['met']} met, {counts['missed']} missed, {counts['not decided']} not "
                   f"decided of {len(verdicts)} targets; {narrow} of {len(rows)} intervals within ±"
                   f"{WIDTH_TARGET:.0%}. Measured: {measured_on(table.sources)}. "
                   + " ".join(f"{row.operator_name} L={row.layers} ({row.graph}): {describe(row)}." for row in rows
                              if row.target is not None))
        artifacts.append(table_artifact(ctx, name, title, caption, table))
    return artifacts


def _ratio_cell(row: PairedRow) -> Cell:
    ratio = row.ratio
    return Cell(f"{ratio.median:.3f} [{ratio.low:.3f}, {ratio.high:.3f}]", source=row.record)


def _width_cell(row: PairedRow) -> str:
    return f"±{row.ratio.half_width():.1%} {row.width_verdict()}"


def _ideal_cell(row: PairedRow) -> Cell:
    if row.pair.ideal is None:
        return Cell.why("no step cost declared")
    return Cell(f"{row.pair.ideal:.3f}", source=row.record)


def _over_ideal_cell(row: PairedRow) -> Cell:
    over = row.over_ideal
    if over is None:
        return Cell.why("no ideal")
    return Cell(f"{over.median:.3f} [{over.low:.3f}, {over.high:.3f}]", source=row.record)


def _memory_cell(ctx: BuildContext, row: PairedRow) -> Cell:
    found = memory_ratio(ctx.records, row)
    if found is None:
        return Cell.why(f"needs {row.pair.numerator} and {row.pair.denominator} in suite overhead: run {RUN}")
    ratio, source = found
    return Cell(f"{ratio:.3f}", source=source)
