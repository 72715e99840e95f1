"""Deep models against published baselines on real graphs (suite ``real-data``): a row per configuration.

Each row: the test score at the best validation epoch, mean ± unbiased std over its seeds (a heterophilous data
set's seed is its split), beside the data set's control (the published architecture run through our loop) and the
published score; the gaps say how far the control sits from the publication and each deep model from the control.
Seconds per training epoch and one step's peak memory come from the same records.
"""
from __future__ import annotations

import statistics

from ..artifact import Artifact, BuildContext
from ..published_baselines import CONTROL_LAYERS, PUBLISHED, tolerance
from ..records import RecordSet, SourcedRecord
from ..registry import register
from ..table import Cell, Table, measured_on, table_artifact

NAME = "table-real-data"
TITLE = "Deep models against published baselines on real graphs (Cora, tolokers, minesweeper)"
SCORE = "test_at_best_valid"
MIB = 1024**2


def _mean_std(group: RecordSet) -> tuple[float, float]:
    scores = [100 * item.metric(SCORE) for item in group]
    return statistics.fmean(scores), statistics.stdev(scores) if len(scores) > 1 else float("nan")


def _is_control(item: SourcedRecord) -> bool:
    return item.get("connection") == "res" and item.get("layers") == CONTROL_LAYERS.get(item.get("dataset"))


def _epoch_seconds(group: RecordSet) -> Cell | str:
    """Mean seconds per epoch, marked ×N where the cells trained N at a time (``cells_side_by_side``)."""
    epochs = [statistics.fmean(item.metric("epoch_seconds")) for item in group if item.metric("epoch_seconds")]
    if not epochs:
        return Cell.why("–")
    side_by_side = max(item.record.environment.cells_side_by_side or 1 for item in group)
    return f"{statistics.fmean(epochs):.3f}" + (f" ×{side_by_side}" if side_by_side > 1 else "")


@register(NAME, "table", TITLE)
def build(ctx: BuildContext) -> list[Artifact]:
    trained = ctx.records.where(lambda item: item.ok and item.metric(SCORE) is not None, suites=("real-data",))
    if not len(trained):
        return [Artifact.skip(NAME, TITLE, "table", "no trained records of suite 'real-data': "
                              "`python -m harness run suites/real-data.toml --profile cpu` (and real-data-cora*.toml)")]
    table = Table(["data set", "model", "L", "n", "test % (mean ± std)", "control %", "published %",
                   "control − published", "gap to control", "s/epoch", "peak MiB", "params"])
    configuration = ("dataset", "operator", "connection", "layers", "channels")
    groups = trained.best_profile_per(*configuration).groups(*configuration)
    controls = {(key[0], key[1]): _mean_std(group) for key, group in groups.items() if _is_control(group.first())}
    for key in sorted(groups, key=lambda k: (k[0], k[1], k[2] != "res", k[2], k[3])):
        dataset, operator, connection, layers, channels = key
        group = groups[key]
        mean, std = _mean_std(group)
        control = controls.get((dataset, operator))
        published = PUBLISHED.get((dataset, operator))
        first = group.first()
        peaks = [item.metric("peak_allocated_bytes") for item in group if item.metric("peak_allocated_bytes")]
        if _is_control(first) and published is not None:
            off = mean - published[0]
            verdict = "within" if abs(off) <= (tolerance(dataset, operator) or 0) else "outside"
            against_published = Cell(f"{off:+.2f} ({verdict} ±{tolerance(dataset, operator):.2f})", source=first)
        else:
            against_published = Cell.why("–")
        table.add(dataset, f"{operator.upper()} {connection} ({channels} ch)", str(layers), str(len(group)),
                  Cell(f"{mean:.2f} ± {std:.2f}", source=first),
                  Cell.why("no control run") if control is None else f"{control[0]:.2f} ± {control[1]:.2f}",
                  Cell.why("not published") if published is None else
                  f"{published[0]:.2f}" + ("" if published[1] is None else f" ± {published[1]:.2f}"),
                  against_published,
                  Cell.why("–") if control is None or _is_control(first) else f"{mean - control[0]:+.2f}",
                  _epoch_seconds(group),
                  f"{max(peaks) / MIB:.1f}" if peaks else Cell.why("not measured"),
                  f"{first.metric('params'):,}" if first.metric("params") else Cell.why("–"))
    sources = sorted({source for _, _, source in PUBLISHED.values()})
    caption = (f"{TITLE}. Test score (accuracy on Cora, ROC-AUC otherwise) at the best validation epoch, mean ± "
               f"std over seeds (tolokers and minesweeper: seed = standard split). Control: the published "
               f"architecture through our loop (Cora: 2-layer GCN; tolokers, minesweeper: 4-layer residual GCN/SAGE "
               f"with layer norm); target: within 2 std of the published mean (1.5 points without a std). "
               f"Published: {'; '.join(sources)}. s/epoch: one cell at a time, except where marked ×N (N cells "
               f"trained side by side, harness run --jobs N: each was slower for sharing the machine). "
               f"Measured on {measured_on(list(trained))}.")
    return [table_artifact(ctx, NAME, TITLE, caption, table)]
