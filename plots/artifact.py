"""What one figure or table module hands to the report: files, a caption, the records behind it, or why it is empty.

A builder gets a :class:`BuildContext` (the records, the paper's values, the output folder) and returns an
:class:`Artifact`. An artifact with ``skipped`` set drew nothing and says why (e.g. "no records of suite
'products'; run tox -e reproduce-products"), so a missing experiment is a sentence in the report, never a crash.
"""
from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Optional

from .records import RecordSet, SourcedRecord
from .reference import PaperReference


@dataclass
class BuildContext:
    records: RecordSet
    paper: PaperReference
    out: Path

    @property
    def figures_dir(self) -> Path:
        return self.out / "figures"

    @property
    def tables_dir(self) -> Path:
        return self.out / "tables"

    @property
    def records_dir(self) -> Path:
        return self.out / "records"

    def cite(self, item: SourcedRecord, relative_to: Optional[Path] = None) -> str:
        """The path of ``item``'s copy under ``<out>/records/``, relative to ``relative_to`` (default: ``out``).

        The report cites copies, not the originals, so that a committed report set stays traceable when the
        results folders it was built from are not committed.
        """
        record = item.record
        copy = self.records_dir / record.suite / record.profile / f"{record.cell_id}.json"
        if not copy.exists():
            copy.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(item.path, copy)
        return Path(os.path.relpath(copy, relative_to or self.out)).as_posix()


@dataclass
class Artifact:
    """One figure or one table of the report."""

    name: str
    title: str
    kind: Literal["figure", "table"]
    caption: str = ""
    files: list[Path] = field(default_factory=list)
    body: str = ""  # Markdown for REPORT.md (an image, or a table whose links are relative to out/)
    sources: list[SourcedRecord] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    skipped: Optional[str] = None

    @classmethod
    def skip(cls, name: str, title: str, kind: Literal["figure", "table"], why: str) -> "Artifact":
        return cls(name=name, title=title, kind=kind, skipped=why)
