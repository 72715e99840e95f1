"""The records a report is built from: the committed store, the committed baselines and a user's own runs.

Plots never run a model. They read what ``python -m harness run`` wrote, through :mod:`harness.records` (the same
schema check the harness applies on write), and remember the file each record came from, so that every number in a
figure or a table can be traced back to one JSON file, and where that file comes from (its :class:`Origin`):

- ``<results>/records/<machine>/<suite>/<profile>/``: the committed record store, one folder per machine (as asv
  commits its results per machine); a fresh clone has them, so a report built there still has every figure;
- ``<results>/baselines/<name>/``: the CI memory gate's committed baselines;
- anything else under ``<results>`` (by default ``<results>/<suite>/<profile>/``, not tracked): the user's own runs.

The same cell (suite, profile, cell id) counts once: a user's run replaces a committed record of it (it is the
newer measurement, made on purpose), and between two committed copies the first found is kept.
"""
from __future__ import annotations

import json
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Optional, Sequence

from harness.records import Record, RecordError, cell_value, read_record

#: Folders under a results folder that hold no records (the report, reference values, pytest-benchmark output).
NOT_RECORD_FOLDERS = frozenset({"report", "reference", "benchmarks", "logs"})
#: The committed record store (``<results>/records/<machine>/...``) and the committed baselines.
STORE = "records"
BASELINES = "baselines"
#: The machine of a user's run whose record does not name one (records written before ``environment.machine``).
THIS_MACHINE = "this machine"

#: When the same configuration was measured under several profiles, the most faithful one is preferred.
#: ``cpu-all`` (a suite's whole grid on a CPU) holds the cells of ``cpu`` and more, with the same recipe.
PROFILE_PRIORITY = ("full", "train", "cpu", "cpu-all", "smoke")

GIB = 1024**3


@dataclass(frozen=True)
class Origin:
    """Where a record comes from: a machine's folder of the committed store, a committed baseline, or a user's run."""

    machine: str
    committed: bool

    @property
    def label(self) -> str:
        """For captions and the inventory: "cpu-2core-24gib (committed)", "your run on gpu-box"."""
        return f"{self.machine} (committed)" if self.committed else f"your run on {self.machine}"

    @property
    def tag(self) -> str:
        """For legends, where the caption already says what is committed: "cpu-2core-24gib", "your run on …"."""
        return self.machine if self.committed else self.label


@dataclass(frozen=True)
class SourcedRecord:
    """A validated record, the file it was read from and where that file comes from."""

    record: Record
    path: Path
    origin: Origin

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
        return cell_value(self.cell, key)

    def metric(self, name: str) -> Any:
        return self.record.metric(name)

    @property
    def code_version(self) -> str:
        """The code the record measured: its fingerprint, or its commit for records made before fingerprints."""
        if self.record.code_fingerprint:
            return f"fingerprint {self.record.code_fingerprint[:12]}"
        environment = self.record.environment
        return f"commit {(environment.git_commit or '?')[:10]}" + ("+dirty" if environment.git_dirty else "")


@dataclass
class RecordSet:
    """Records found under a folder, and the JSON files skipped (each a one-line reason): records that do not
    validate, and JSON that is no record, outside the folders meant for other JSON."""

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

    def best_profile_per(self, *keys: str) -> "RecordSet":
        """Per group of ``keys``, the records of the group's most faithful profile: a configuration measured only by
        a wider profile (``cpu-all`` beside ``cpu``) is kept, where :meth:`best_profile` would drop it. A group
        measured only at ``smoke`` is left out when any other profile is present (3 epochs beside 200 mislead)."""
        chosen: list[SourcedRecord] = []
        serious = any(profile != "smoke" for profile in self.profiles())
        for group in self.groups(*keys).values():
            best = group.best_profile()
            if serious and best.profiles() == ["smoke"]:
                continue
            chosen.extend(best)
        return RecordSet(chosen)

    def first(self) -> Optional[SourcedRecord]:
        """The record of the most faithful profile, ``ok`` records before failed ones."""
        ranked = sorted(self.records, key=lambda item: (not item.ok, profile_rank(item.record.profile)))
        return ranked[0] if ranked else None

    def values(self, key: str) -> list[Any]:
        return sorted({item.get(key) for item in self.records}, key=_sortable)

    def origins(self) -> list[Origin]:
        """Where the records come from: committed ones first, then the user's runs, each by machine."""
        return sorted({item.origin for item in self.records}, key=lambda origin: (not origin.committed, origin.machine))

    def code_versions(self) -> list[str]:
        """The distinct code versions measured (see :attr:`SourcedRecord.code_version`): more than one means the
        numbers side by side did not all come from the same code."""
        return sorted({item.code_version for item in self.records})


def describe_origins(records: Iterable[SourcedRecord]) -> str:
    """"records: cpu-2core-24gib (committed); your run on gpu-box", for captions."""
    origins = RecordSet(list(records)).origins()
    return "records: " + ("; ".join(origin.label for origin in origins) if origins else "none")


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
    """A regular file holding a JSON object with a ``schema_version`` near its start (a FIFO is never opened)."""
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return False
        with path.open("rb") as handle:
            head = handle.read(4096)
        return head.lstrip().startswith(b"{") and b'"schema_version"' in head
    except OSError:
        return False


def record_candidates(root: Path, exclude: Iterable[Path] = (), foreign: Optional[list[Path]] = None) -> list[Path]:
    """JSON files under ``root`` that claim to be records, outside ``exclude`` and the non-record folders
    (``report``, ``reference``, ``benchmarks``, ``logs``: their JSON is not records). The other JSON files there
    (truncated before their ``schema_version``, or foreign) are appended to ``foreign``, when given."""
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
        elif foreign is not None:
            foreign.append(path)
    return found


def origin_of(relative: tuple[str, ...], record: Record) -> Origin:
    """The origin of the record at ``relative`` (its path's parts under the results folder)."""
    if len(relative) > 2 and relative[0] == STORE:
        return Origin(relative[1], committed=True)
    if len(relative) > 2 and relative[0] == BASELINES:
        return Origin(f"baseline {relative[1]}", committed=True)
    return Origin(record.environment.machine or THIS_MACHINE, committed=False)


def load_record_set(root: Path, exclude: Iterable[Path] = (), committed_only: bool = False) -> RecordSet:
    """Every record under ``root`` (recursively), validated, with its origin; invalid files are listed, not fatal.

    One record per (suite, profile, cell id): a user's run wins over a committed record, and otherwise the first
    one found (the store before the baselines, each in path order) is kept, in the place the first one had.
    ``committed_only`` reads the committed store and baselines alone, as a fresh clone would: a report meant to be
    committed then never links to a run folder that git ignores.
    """
    root = Path(root)
    if not root.is_dir():
        raise RecordError(f"{root}: no such results folder")
    chosen: dict[tuple[str, str, str], SourcedRecord] = {}
    foreign: list[Path] = []
    candidates = record_candidates(root, exclude, foreign)
    rejected = [f"{path}: not a record (no JSON object with a schema_version at its start: truncated, or another "
                f"tool's file)" for path in foreign]
    for path in sorted(candidates, key=lambda p: _search_order(p.relative_to(root).parts)):
        try:
            record = read_record(path)
        except RecordError as exc:
            rejected.append(str(exc))
            continue
        item = SourcedRecord(record, path, origin_of(path.relative_to(root).parts, record))
        if committed_only and not item.origin.committed:
            continue
        key = (record.suite, record.profile, record.cell_id)
        held = chosen.get(key)
        if held is None or (held.origin.committed and not item.origin.committed):
            chosen[key] = item
    return RecordSet(list(chosen.values()), rejected)


def _search_order(relative: tuple[str, ...]) -> tuple[int, tuple[str, ...]]:
    """The committed store first, then the baselines, then the user's runs; path order within each."""
    order = {STORE: 0, BASELINES: 1}
    return (order.get(relative[0], 2) if len(relative) > 2 else 2, relative)


def read_json(path: Path) -> Any:
    return json.loads(Path(path).read_text())
