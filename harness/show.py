"""``python -m harness show DIR``: the records of a results folder as one table, a row per cell; ``--summary``: a row
per configuration, its seeds (or a data set's standard splits, which ``seed`` picks) summarised as mean ± std."""
from __future__ import annotations

import math
import statistics
from typing import Any, Iterable, Sequence

from .records import Record
from .units import format_bytes, format_seconds

_DEFAULT_KEYS = ("operator", "connection", "layers", "channels", "mode")


def flat_config(config: dict[str, Any]) -> dict[str, Any]:
    """A cell's configuration with its option tables flattened (``model.aggr``)."""
    flat: dict[str, Any] = {}
    for key, value in config.items():
        if isinstance(value, dict):
            flat.update({f"{key}.{option}": option_value for option, option_value in value.items()})
        else:
            flat[key] = value
    return flat


def varying_keys(configs: Sequence[dict[str, Any]]) -> list[str]:
    """The configuration keys whose values differ between ``configs``: what tells the rows apart."""
    flats = [flat_config(config) for config in configs]
    keys = list(dict.fromkeys(key for flat in flats for key in flat))
    varying = [key for key in keys if len({repr(flat.get(key)) for flat in flats}) > 1]
    return varying or [key for key in _DEFAULT_KEYS if key in keys]


def sort_key(config: dict[str, Any], keys: Sequence[str]) -> tuple:
    flat = flat_config(config)
    return tuple((0, value, "") if isinstance(value, (int, float)) else (1, 0, str(value))
                 for value in (flat.get(key) for key in keys))


def format_table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A plain-text table: left-aligned text, right-aligned numbers."""
    rows = [[str(cell) for cell in row] for row in rows]
    widths = [max([len(header), *(len(row[i]) for row in rows)]) for i, header in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(cell.rjust(width) if _numeric(cell) else cell.ljust(width)
                         for cell, width in zip(cells, widths)).rstrip()

    return "\n".join([line(headers), line(["-" * width for width in widths]), *(line(row) for row in rows)])


def _numeric(text: str) -> bool:
    return bool(text) and (text[0].isdigit() or text[0] in "-+.") and text != "-"


def show_table(records: Sequence[Record]) -> str:
    """The main metrics of each record; the configuration columns are those that vary across the folder."""
    keys = varying_keys([record.cell for record in records])
    headers = ["cell", *keys, "status", "params", "peak", "activations", "param state", "step (median)",
               "valid", "test"]
    rows = []
    for record in sorted(records, key=lambda r: sort_key(r.cell, keys)):
        flat = flat_config(record.cell)
        metrics = record.metrics
        rows.append([
            record.cell_id[:8], *(flat.get(key, "-") for key in keys), record.status,
            "-" if metrics.params is None else f"{metrics.params:,}",
            format_bytes(metrics.peak_allocated_bytes), format_bytes(metrics.activation_bytes),
            format_bytes(metrics.param_state_bytes), format_seconds(record.metric("step_seconds.median")),
            _score(metrics.best_valid), _score(metrics.test_at_best_valid),
        ])
    return format_table(headers, rows)


def _score(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


def status_counts(records: Sequence[Record]) -> str:
    counts: dict[str, int] = {}
    for record in records:
        counts[record.status] = counts.get(record.status, 0) + 1
    return f"{len(records)} records: " + ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))


#: What varies between the runs that one summary row pools: the seed (which also picks a data set's split).
POOLED_KEYS = ("seed",)


def summary_table(records: Sequence[Record]) -> str:
    """A row per configuration (every cell field but :data:`POOLED_KEYS`) of the ``ok`` records that trained: n,
    mean ± std (unbiased; n - 1) of the best validation metric and the test metric at it (in %), the epoch of the
    best validation, seconds per training epoch, parameters and peak memory where measured."""
    trained = [record for record in records if record.status == "ok" and record.metrics.best_valid is not None]
    if not trained:
        return "no trained records (a 'train' measurement that ended ok) to summarise"
    groups: dict[str, list[Record]] = {}
    for record in trained:
        pooled = {key: value for key, value in flat_config(record.cell).items() if key not in POOLED_KEYS}
        groups.setdefault(repr(sorted(pooled.items(), key=lambda item: item[0])), []).append(record)
    keys = [key for key in varying_keys([group[0].cell for group in groups.values()]) if key not in POOLED_KEYS]
    keys = keys if "dataset" in keys else ["dataset", *keys]
    headers = [*keys, "n", "valid", "test", "best epoch", "s/epoch", "params", "peak"]
    rows = []
    for group in sorted(groups.values(), key=lambda g: sort_key(g[0].cell, keys)):
        flat = flat_config(group[0].cell)
        epoch_means = [statistics.fmean(r.metric("epoch_seconds")) for r in group if r.metric("epoch_seconds")]
        peaks = [r.metrics.peak_allocated_bytes for r in group if r.metrics.peak_allocated_bytes is not None]
        rows.append([
            *(flat.get(key, "-") for key in keys), len(group),
            _mean_std([r.metrics.best_valid for r in group], 100),
            _mean_std([r.metrics.test_at_best_valid for r in group], 100),
            _mean_std([r.metric("best_epoch") for r in group], 1, digits=0),
            _mean_std(epoch_means, 1, digits=3),
            "-" if group[0].metrics.params is None else f"{group[0].metrics.params:,}",
            format_bytes(max(peaks)) if peaks else "-",
        ])
    return format_table(headers, rows)


def _mean_std(values: Sequence[Any], scale: float, digits: int = 2) -> str:
    numbers = [scale * float(value) for value in values if value is not None and not math.isnan(float(value))]
    if not numbers:
        return "-"
    mean = statistics.fmean(numbers)
    if len(numbers) == 1:
        return f"{mean:.{digits}f}"
    return f"{mean:.{digits}f} ± {statistics.stdev(numbers):.{digits}f}"
