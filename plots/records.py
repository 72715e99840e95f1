"""The records a report is built from: every valid record file under a results folder, each with its path.

Plots never run a model. They read what ``python -m harness run`` wrote, through :mod:`harness.records` (the same
schema check the harness applies on write), and remember the file each record came from, so that every number in a
figure or a table can be traced back to one JSON file.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Optional, Sequence

from harness.records import Record, RecordError, read_record

#: Folders under a results folder that hold no records (reference values, pytest-benchmark output).
NOT_RECORD_FOLDERS = frozenset({"reference", "benchmarks", "logs"})

#: When the same configuration was measured under several profiles, the most faithful one is preferred.
PROFILE_PRIORITY = ("full", "train", "cpu", "smoke")

GIB = 1024**3


@dataclass(frozen=True)
class SourcedRecord:
    """A validated record and the file it was read from."""

    record: Record
    path: Path

    @property
    def cell(self) -> dict[str, Any]:
        return self.record.cell

    @property
    def status(self) -> str:
        return self.record.status

    @property
    def ok(self) -> bool:
        return self.record.status == "ok"

    def get(self, key: str) -> Any:
        """A cell value by name (``layers``), or an option (``model.aggr``)."""
        table, _, option = key.partition(".")
        if option:
            return (self.cell.get(table) or {}).get(option)
        return self.cell.get(key)

    def metric(self, name: str) -> Any:
        return self.record.metric(name)


@dataclass
class RecordSet:
    """Records found under a folder, and the files that looked like records but did not validate."""

    records: list[SourcedRecord]
    rejected: list[str] = field(default_factory=list)

    def __iter__(self) -> Iterator[SourcedRecord]:
        return iter(self.records)

    def __len__(self) -> int:
        return len(self.records)

    def where(self, predicate: Optional[Callable[[SourcedRecord], bool]] = None, *,
              suites: Optional[Sequence[str]] = None, **cell: Any) -> "RecordSet":
        """The records of ``suites`` whose cell matches every ``cell`` key (a value, or a tuple/list of values)."""
        chosen = []
        for item in self.records:
            if suites is not None and item.record.suite not in suites:
                continue
            if not all(_matches(item.get(key.replace("__", ".")), wanted) for key, wanted in cell.items()):
                continue
            if predicate is not None and not predicate(item):
                continue
            chosen.append(item)
        return RecordSet(chosen)

    def groups(self, *keys: str) -> dict[tuple[Any, ...], "RecordSet"]:
        """Records grouped by the values of ``keys`` (``suite`` and ``profile`` name the record's, not the cell's)."""
        grouped: dict[tuple[Any, ...], list[SourcedRecord]] = {}
        for item in self.records:
            grouped.setdefault(tuple(_key_value(item, key) for key in keys), []).append(item)
        return {key: RecordSet(items) for key, items in grouped.items()}

    def profiles(self) -> list[str]:
        """The profiles present, most faithful first."""
        present = {item.record.profile for item in self.records}
        return sorted(present, key=profile_rank)

    def best_profile(self) -> "RecordSet":
        """Only the records of the most faithful profile present (full, then train, cpu, smoke, then others)."""
        profiles = self.profiles()
        return self.where(lambda item: item.record.profile == profiles[0]) if profiles else self

    def first(self) -> Optional[SourcedRecord]:
        """The record of the most faithful profile, ``ok`` records before failed ones."""
        ranked = sorted(self.records, key=lambda item: (not item.ok, profile_rank(item.record.profile)))
        return ranked[0] if ranked else None

    def values(self, key: str) -> list[Any]:
        return sorted({item.get(key) for item in self.records}, key=_sortable)


def profile_rank(profile: str) -> tuple[int, str]:
    return (PROFILE_PRIORITY.index(profile) if profile in PROFILE_PRIORITY else len(PROFILE_PRIORITY), profile)


def _key_value(item: SourcedRecord, key: str) -> Any:
    if key in ("suite", "profile"):
        return getattr(item.record, key)
    return item.get(key)


def _matches(actual: Any, wanted: Any) -> bool:
    return actual in wanted if isinstance(wanted, (list, tuple, set, frozenset)) else actual == wanted


def _sortable(value: Any) -> tuple[int, Any]:
    return (0, value) if isinstance(value, (int, float)) else (1, str(value))


def _looks_like_record(path: Path) -> bool:
    """A JSON object with a ``schema_version``: anything else (paper.json, benchmark output) is not ours to judge."""
    try:
        with path.open("rb") as handle:
            head = handle.read(4096)
        return head.lstrip().startswith(b"{") and b'"schema_version"' in head
    except OSError:
        return False


def record_candidates(root: Path, exclude: Iterable[Path] = ()) -> list[Path]:
    """JSON files under ``root`` that claim to be records, outside ``exclude`` and the non-record folders."""
    root = Path(root)
    excluded = [Path(path).resolve() for path in exclude]
    found = []
    for path in sorted(root.rglob("*.json")):
        relative = path.relative_to(root).parts
        if path.name.startswith(".") or any(part in NOT_RECORD_FOLDERS for part in relative[:-1]):
            continue
        resolved = path.resolve()
        if any(resolved.is_relative_to(folder) for folder in excluded):
            continue
        if _looks_like_record(path):
            found.append(path)
    return found


def load_record_set(root: Path, exclude: Iterable[Path] = ()) -> RecordSet:
    """Every record under ``root`` (recursively), validated; invalid files are listed, not fatal.

    The same cell measured by the same suite and profile in two folders (a copy) counts once.
    """
    root = Path(root)
    if not root.is_dir():
        raise RecordError(f"{root}: no such results folder")
    records: list[SourcedRecord] = []
    rejected: list[str] = []
    seen: set[tuple[str, str, str]] = set()
    for path in record_candidates(root, exclude):
        try:
            record = read_record(path)
        except RecordError as exc:
            rejected.append(str(exc))
            continue
        key = (record.suite, record.profile, record.cell_id)
        if key in seen:
            continue
        seen.add(key)
        records.append(SourcedRecord(record, path))
    return RecordSet(records, rejected)


def read_json(path: Path) -> Any:
    return json.loads(Path(path).read_text())
