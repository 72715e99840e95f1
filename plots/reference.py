"""The paper's numbers, read from ``results/reference/paper.json``, each with where it came from.

Every value the report shows next to a measurement carries its provenance tag from paper.json. Values tagged
``transcribed`` come from a third-party transcription of the paper's tables that nobody checked against the PDF:
they are shown, but always marked unverified, so a reader never mistakes them for the paper's own figures.
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Iterable, Optional

#: The project's copy of the reference values (tests check it is identical to ../shared/reference/paper.json).
DEFAULT_PATH = Path(__file__).resolve().parent.parent / "results" / "reference" / "paper.json"

#: Provenance tags whose values were not checked against the paper; shown with :data:`UNVERIFIED_MARK`.
UNVERIFIED_TAGS = frozenset({"transcribed"})
UNVERIFIED_MARK = "†"
UNVERIFIED_NOTE = (f"{UNVERIFIED_MARK} transcribed: from a third-party transcription of the paper's tables, "
                   "not checked against the PDF (unverified).")

_COUNT = re.compile(r"^\s*([\d.]+)\s*([kKmM]?)\s*$")
_SUFFIX = {"": 1, "k": 1_000, "m": 1_000_000}


@dataclass(frozen=True)
class PaperValue:
    """One number from the paper: its value (None where the paper has none), how it is printed, its provenance."""

    value: Optional[float]
    text: str
    tag: str
    oom: bool = False

    @property
    def verified(self) -> bool:
        return self.tag not in UNVERIFIED_TAGS

    @property
    def present(self) -> bool:
        return self.value is not None or self.oom

    def label(self) -> str:
        """The printed value, with the unverified mark where its tag calls for one."""
        if not self.present:
            return "–"
        return self.text + ("" if self.verified else UNVERIFIED_MARK)


MISSING = PaperValue(None, "–", "none")


def parse_count(value: Any) -> Optional[float]:
    """``"491k"`` → 491000, ``"3.87M"`` → 3870000, ``2374584`` → 2374584; None for None."""
    if value is None:
        return None
    if isinstance(value, (int, float)):
        return float(value)
    match = _COUNT.match(str(value))
    if not match:
        raise ValueError(f"paper.json: cannot read the count {value!r}")
    return float(match.group(1)) * _SUFFIX[match.group(2).lower()]


def format_count(value: float) -> str:
    """Parameter counts the way the paper prints them: 262k, 2.10M."""
    if value >= 1e6:
        return f"{value / 1e6:.2f}M"
    if value >= 1e3:
        return f"{value / 1e3:.0f}k" if value >= 1e5 else f"{value / 1e3:.1f}k"
    return f"{value:.0f}"


def _tag_of(section: dict[str, Any], row: dict[str, Any], field: str) -> str:
    """A row's own tag wins over its section's. Mixed tags ("leaderboard (scores); transcribed (memory)") are split
    per field; a section tag like "transcribed (params ... confirmed by 'computed')" makes params computed."""
    tag = str(row.get("tag", section.get("tag", "")))
    first = tag.split("(")[0].split(";")[0].strip()
    if field == "params" and "confirmed by 'computed'" in tag:
        # exact integer counts are the ones recomputed from the model definitions; rounded strings are not
        return "computed" if isinstance(row.get("params"), int) else first
    if row.get("tag") is not None and ";" in tag:  # per-field tags: "leaderboard (scores, params); slides (2.86 GB…)"
        for part in tag.split(";"):
            name, _, fields = part.strip().partition("(")
            family = field_family(field)
            if family in fields or (family == "memory" and "GB" in fields):
                return name.strip()
    return first


def field_family(field: str) -> str:
    """The word a paper.json tag uses for a field: 'memory', 'params' or 'scores'."""
    if field.startswith("memory"):
        return "memory"
    if field == "params":
        return "params"
    return "scores"


class PaperReference:
    """paper.json, queried by section and model configuration."""

    def __init__(self, path: Path = DEFAULT_PATH) -> None:
        self.path = Path(path)

    @cached_property
    def data(self) -> dict[str, Any]:
        return json.loads(self.path.read_text())

    def section(self, name: str) -> dict[str, Any]:
        return self.data[name]

    def rows(self, section: str) -> list[dict[str, Any]]:
        return list(self.data[section]["rows"])

    def value(self, section: str, row: dict[str, Any], field: str) -> PaperValue:
        """``row[field]`` of ``section`` as a :class:`PaperValue`: memory in GiB, params as a count, scores in %."""
        raw = row.get(field)
        tag = _tag_of(self.data[section], row, field)
        if raw is None:
            return PaperValue(None, "–", tag)
        if isinstance(raw, str) and raw.upper() == "OOM":
            return PaperValue(None, "OOM", tag, oom=True)
        if field == "params":
            count = parse_count(raw)
            return PaperValue(count, raw if isinstance(raw, str) else f"{raw:,}", tag)
        number = float(raw)
        std = row.get(f"{field}_std")
        text = f"{number:.2f}" + (f" ± {std:.2f}" if std is not None else "")
        return PaperValue(number, text, tag)

    def find(self, section: str, **match: Any) -> Optional[dict[str, Any]]:
        """The first row of ``section`` whose fields equal ``match`` (fields a row lacks are taken from the section)."""
        defaults = {k: v for k, v in self.data[section].items() if not isinstance(v, (list, dict))}
        for row in self.rows(section):
            merged = {**defaults, **row}
            if all(merged.get(key) == value for key, value in match.items()):
                return row
        return None

    def complexity(self) -> list[dict[str, str]]:
        return self.rows("complexity_table")

    def tags_used(self, values: Iterable[PaperValue]) -> set[str]:
        return {value.tag for value in values if value.present}


def memory_ratio(numerator: PaperValue, denominator: PaperValue) -> PaperValue:
    """Rev/Res memory from two paper values; unverified if either is."""
    if numerator.value is None or denominator.value is None or denominator.value == 0:
        return MISSING
    ratio = numerator.value / denominator.value
    tag = numerator.tag if not numerator.verified else denominator.tag
    return PaperValue(ratio, f"{ratio:.2f}", tag)


def is_finite(value: Optional[float]) -> bool:
    return value is not None and math.isfinite(value)
