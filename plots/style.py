"""One look for every figure: seaborn's ticks style, one colour per connection kind, units on every axis.

Colours follow the connection, not the figure, so ResGNN is the same colour in the memory-depth plot, the DEQ plot
and the bubble chart; line style follows the width (channels). Figures are saved as PNG (for the Markdown report)
and PDF (for papers) side by side.
"""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # plots are files; never open a window (CI has no display)

import matplotlib.pyplot as plt  # noqa: E402
import seaborn as sns  # noqa: E402

GIB = 1024**3
DPI = 150

#: Connection kind → colour (seaborn's colour-blind palette) and the paper's name for it.
CONNECTION_COLOURS = dict(zip(["res", "rev", "wt-res", "wt-rev", "deq", "rev-pyg", "rev-dgl"],
                              sns.color_palette("colorblind", 7)))
CONNECTION_NAMES = {"res": "ResGNN", "rev": "RevGNN", "wt-res": "WT-ResGNN", "wt-rev": "WT-RevGNN",
                    "deq": "DEQ-GNN", "rev-pyg": "RevGNN (PyG GroupAddRev)", "rev-dgl": "RevGNN (DGL GroupRevRes)"}
MODE_NAMES = {"full": "full-batch", "mini": "mini-batch"}
LINE_STYLES = ["-", "--", ":", "-."]
MARKERS = ["o", "s", "^", "D", "v", "P"]
OOM_MARKER = "X"
PAPER_MARKER = "*"


def apply_style() -> None:
    """The suite's seaborn theme; called once per build, before any figure is made."""
    sns.set_theme(context="paper", style="ticks", font_scale=1.1,
                  rc={"axes.grid": True, "grid.alpha": 0.3, "figure.dpi": DPI, "savefig.bbox": "tight",
                      "legend.frameon": False, "pdf.fonttype": 42})


def colour(connection: str) -> tuple[float, float, float]:
    return CONNECTION_COLOURS.get(connection, (0.3, 0.3, 0.3))


def connection_name(connection: str) -> str:
    return CONNECTION_NAMES.get(connection, connection)


def save_figure(figure: plt.Figure, folder: Path, stem: str) -> list[Path]:
    """Write ``stem.png`` and ``stem.pdf`` under ``folder``; close the figure (builds make many)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"{stem}.png", folder / f"{stem}.pdf"]
    for path in paths:
        # a fixed date keeps the PDF's bytes stable across rebuilds of the same records
        metadata = {"CreationDate": None} if path.suffix == ".pdf" else {"Software": None}
        figure.savefig(path, dpi=DPI, metadata=metadata)
    plt.close(figure)
    return paths
