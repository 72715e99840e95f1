"""The paper's memory points for the ogbn-proteins figures, from paper.json (112-layer table and headline rows)."""
from __future__ import annotations

from typing import Iterable

from .draw import PaperPoint
from .reference import PaperReference


def proteins_points(paper: PaperReference, connections: Iterable[str]) -> list[PaperPoint]:
    wanted = set(connections)
    points = []
    section = paper.section("proteins_112_layers")
    for row in paper.rows("proteins_112_layers"):
        if row["connection"] not in wanted:
            continue
        memory = paper.value("proteins_112_layers", row, "memory_gb")
        points.append(PaperPoint(x=section["layers"], memory_gib=memory.value, connection=row["connection"],
                                 label=row['model'] + (" OOM" if memory.oom else ""),
                                 verified=memory.verified))
    for row in paper.rows("proteins_headline"):
        if row["connection"] not in wanted:
            continue
        memory = paper.value("proteins_headline", row, "memory_gb")
        points.append(PaperPoint(x=row["layers"], memory_gib=memory.value, connection=row["connection"],
                                 label=f"{row['model']} ({row['layers']}×{row['channels']})",
                                 verified=memory.verified))
    return points
