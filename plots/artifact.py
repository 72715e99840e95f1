"""What one figure or table module hands to the report: files, a caption, the records behind it, or why it is empty.

A builder gets a :class:`BuildContext` (the records, the paper's values, the output folder) and returns an
:class:`Artifact`. An artifact with ``skipped`` set drew nothing and says why (e.g. "no records of suite
'products'; run tox -e reproduce-products"), so a missing experiment is a sentence in the report, never a crash.
"""
from __future__ import annotations

import os
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

    def cite(self, item: SourcedRecord, relative_to: Optional[Path] = None) -> str:
        """The path of ``item``'s own file, relative to ``relative_to`` (default: ``out``), for a link.

        The report cites the records where they are kept (the committed store, a baseline, the user's run folder),
        never copies: a committed report then links to committed records, and nothing is duplicated.
        """
        start = Path(relative_to) if relative_to is not None else self.out
        return Path(os.path.relpath(Path(item.path).absolute(), start.absolute())).as_posix()


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
