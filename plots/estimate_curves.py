"""Estimated memory against depth at the paper's scale, drawn on the same axes as the paper's points.

The exact meter measures a small twin, whose MiB sit in a panel of their own; the ``estimate`` measurement computes
the paper's own configuration at full size on fake tensors, so its GiB are the paper's quantity and belong beside
the paper's stars. A series is one (connection, channels, implementation): impl ``paper`` (the authors' code, the
like-for-like one) solid, impl ``ours`` dashed; a depth measured under several profiles counts once (the most
faithful profile's record). The panel holds a 3-layer sweep beside 1001-layer models and 1.5 GiB beside the
~90 GiB of a ResGNN the paper ran out of memory on: where the depths span more than a decade both axes are
logarithmic, so neither end is crushed, and growth in depth reads as a slope (1 for linear, 0 for flat), the
exponent that the complexity table fits.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

from .estimated import ESTIMATE, IMPLS
from .records import RecordSet, SourcedRecord, profile_rank
from .style import GIB, MARKERS, colour, connection_name

LEGEND_TITLE = "estimated at paper scale (fake tensors)"
IMPL_STYLES = {"paper": "-", "ours": "--"}
#: Depths spanning more than this factor get log-log axes.
LOG_SPAN = 10


@dataclass
class EstimateSeries:
    connection: str
    channels: int
    impl: str
    points: list[tuple[float, float, SourcedRecord]] = field(default_factory=list)  # x, GiB, record

    @property
    def label(self) -> str:
        return f"{connection_name(self.connection)}-{self.channels}, impl {self.impl}"

    @property
    def records(self) -> list[SourcedRecord]:
        return [item for _, _, item in self.points]


def collect_estimates(records: RecordSet, x_of: Any) -> list[EstimateSeries]:
    """A series per (connection, channels, impl) of the ok estimate records; one point per x (``x_of(record)``),
    the most faithful profile's."""
    chosen: dict[tuple[str, int, str, float], SourcedRecord] = {}
    for item in sorted(records, key=lambda r: profile_rank(r.record.profile)):
        if not item.ok or item.metric(ESTIMATE) is None:
            continue
        key = (item.get("connection"), item.get("channels"), item.get("model.impl") or "default", x_of(item))
        chosen.setdefault(key, item)
    by_series: dict[tuple[str, int, str], EstimateSeries] = {}
    for (connection, channels, impl, x), item in chosen.items():
        series = by_series.setdefault((connection, channels, impl), EstimateSeries(connection, channels, impl))
        series.points.append((x, item.metric(ESTIMATE) / GIB, item))
    for series in by_series.values():
        series.points.sort(key=lambda point: point[0])
    return sorted(by_series.values(), key=lambda s: (s.connection, s.channels, _impl_rank(s.impl)))


def _impl_rank(impl: str) -> int:
    return IMPLS.index(impl) if impl in IMPLS else len(IMPLS)


def draw_estimates(axis: Any, series: Sequence[EstimateSeries], per_gib: float, prefix: str = "") -> None:
    """Lines in the connection's colour, solid for impl paper and dashed for ours, a marker per width. ``prefix``
    goes before each legend label (on axes shared with measured lines, "estimated: ")."""
    widths = sorted({s.channels for s in series})
    for s in series:
        marker = MARKERS[widths.index(s.channels) % len(MARKERS)]
        axis.plot([x for x, _, _ in s.points], [gib * per_gib for _, gib, _ in s.points],
                  linestyle=IMPL_STYLES.get(s.impl, ":"), marker=marker, markersize=3.5, linewidth=1.2,
                  color=colour(s.connection), label=prefix + s.label, zorder=7)


def log_axes(xs: Sequence[float]) -> bool:
    """Whether a panel with these depths is drawn log-log (see the module's docstring)."""
    return min(xs) > 0 and max(xs) / min(xs) > LOG_SPAN


def set_axes(axis: Any, xs: Sequence[float], ys: Sequence[float]) -> None:
    """Log-log where :func:`log_axes`, else linear from 0; room right of the last point for the paper's labels."""
    if log_axes(xs):
        axis.set_xscale("log")
        axis.set_yscale("log")
        axis.set_xlim(min(xs) / 1.5, max(xs) * 3.0)
        axis.set_ylim(min(ys) / 1.5, max(ys) * 1.6)
    else:
        axis.set_xlim(0, max(xs) * 1.35)
        axis.set_ylim(bottom=0)


def sources(series: Sequence[EstimateSeries]) -> list[SourcedRecord]:
    return [item for s in series for item in s.records]
