"""A table of text cells that renders to Markdown (with links to records) and to LaTeX (booktabs).

Measured numbers carry the record they came from: in Markdown the number links to the record's own file (in the
committed store or the user's run folder), in LaTeX it carries a footnote-free plain value and the table's sources
are listed under it in the report. A missing value is a cell whose text says why ("needs the ogbn-arxiv data",
"OOM at 24.0 GiB"), never an empty cell.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Optional, Sequence

from .records import SourcedRecord

if TYPE_CHECKING:
    from .artifact import Artifact, BuildContext


@dataclass(frozen=True)
class Cell:
    text: str
    source: Optional[SourcedRecord] = None  # the record the number was read from
    missing: bool = False  # the text explains why there is no number

    @classmethod
    def why(cls, reason: str) -> "Cell":
        return cls(reason, missing=True)


@dataclass
class Table:
    headers: list[str]
    rows: list[list[Cell]] = field(default_factory=list)
    footnotes: list[str] = field(default_factory=list)

    def add(self, *cells: Cell | str) -> None:
        row = [cell if isinstance(cell, Cell) else Cell(str(cell)) for cell in cells]
        if len(row) != len(self.headers):
            raise ValueError(f"a row of {len(row)} cells in a table of {len(self.headers)} columns")
        self.rows.append(row)

    @property
    def sources(self) -> list[SourcedRecord]:
        seen: dict[str, SourcedRecord] = {}
        for row in self.rows:
            for cell in row:
                if cell.source is not None:
                    seen.setdefault(str(cell.source.path), cell.source)
        return list(seen.values())

    def to_markdown(self, link: Callable[[SourcedRecord], str]) -> str:
        """GitHub Markdown; ``link`` maps a record to the relative path the number links to."""
        def render(cell: Cell) -> str:
            text = _escape_markdown(cell.text)
            if cell.missing:
                return f"*{text}*"
            return f"[{text}]({link(cell.source)})" if cell.source is not None else text

        lines = ["| " + " | ".join(_escape_markdown(h) for h in self.headers) + " |",
                 "|" + "|".join(":---" if i == 0 else "---:" for i in range(len(self.headers))) + "|"]
        lines += ["| " + " | ".join(render(cell) for cell in row) + " |" for row in self.rows]
        if self.footnotes:
            lines += [""] + [f"{note}  " for note in self.footnotes]
        return "\n".join(lines)

    def to_latex(self, caption: str, label: str) -> str:
        """A booktabs ``table`` environment (needs ``\\usepackage{booktabs}``)."""
        spec = "l" + "r" * (len(self.headers) - 1)
        lines = [r"\begin{table}[t]", r"\centering", r"\small", rf"\begin{{tabular}}{{{spec}}}", r"\toprule",
                 " & ".join(_escape_latex(h) for h in self.headers) + r" \\", r"\midrule"]
        for row in self.rows:
            lines.append(" & ".join(rf"\textit{{{_escape_latex(c.text)}}}" if c.missing else _escape_latex(c.text)
                                    for c in row) + r" \\")
        lines += [r"\bottomrule", r"\end{tabular}", rf"\caption{{{_escape_latex(caption)}}}", rf"\label{{{label}}}",
                  r"\end{table}"]
        if self.footnotes:
            lines += ["% " + note for note in self.footnotes]
        return "\n".join(lines) + "\n"


def write_table(table: Table, folder: Path, stem: str, caption: str,
                link_from: Callable[[SourcedRecord, Path], str]) -> list[Path]:
    """``stem.md`` (links relative to ``folder``) and ``stem.tex`` under ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    markdown = folder / f"{stem}.md"
    latex = folder / f"{stem}.tex"
    markdown.write_text(f"{caption}\n\n" + table.to_markdown(lambda item: link_from(item, folder)) + "\n")
    latex.write_text(table.to_latex(caption, f"tab:{stem}"))
    return [markdown, latex]


_LATEX_SPECIAL = {"&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{", "}": r"\}",
                  "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "\\": r"\textbackslash{}",
                  "±": r"$\pm$", "†": r"$^\dagger$", "≈": r"$\approx$", "–": "--", "²": r"$^2$", "·": r"$\cdot$",
                  "×": r"$\times$", "≤": r"$\le$", "→": r"$\to$"}


def _escape_latex(text: str) -> str:
    return "".join(_LATEX_SPECIAL.get(ch, ch) for ch in text)


def _escape_markdown(text: str) -> str:
    return text.replace("|", "\\|")


def cells(values: Sequence[str]) -> list[Cell]:
    return [Cell(value) for value in values]


def table_artifact(ctx: "BuildContext", name: str, title: str, caption: str, table: Table) -> "Artifact":
    """Write ``tables/<name>.md`` and ``.tex`` and return the report's artifact (links relative to ``ctx.out``)."""
    from .artifact import Artifact

    files = write_table(table, ctx.tables_dir, name, caption, lambda item, folder: ctx.cite(item, folder))
    body = table.to_markdown(lambda item: ctx.cite(item))
    return Artifact(name=name, title=title, kind="table", caption=caption, files=files, body=body,
                    sources=table.sources)


def measured_on(sources: Sequence[SourcedRecord]) -> str:
    """"synthetic-arxiv ×0.1 (profile cpu, cpu; cpu-2core-24gib (committed))" for a caption: where the measured
    numbers come from, down to the machine."""
    settings = sorted({(item.get("dataset"), item.get("scale"), item.record.profile, item.record.environment.device,
                        item.origin.label) for item in sources}, key=str)
    if not settings:
        return "nothing measured yet"
    return "; ".join(f"{dataset}{'' if scale == 1 else f' ×{scale:g}'} (profile {profile}, {device}; {origin})"
                     for dataset, scale, profile, device, origin in settings)
