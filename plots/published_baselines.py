"""Published shallow baselines of the real-data suite, with their sources: the controls deep models are judged by.

Test scores in %, (mean, std over runs or None where none is published).
"""
from __future__ import annotations

from typing import Optional

#: (data set, operator) → (mean, std, source).
PUBLISHED: dict[tuple[str, str], tuple[float, Optional[float], str]] = {
    ("cora", "gcn"): (81.5, None, "Kipf and Welling 2017, Table 2 (accuracy, public split)"),
    ("tolokers", "gcn"): (83.64, 0.67, "Platonov et al. 2023, Table 4 (ROC-AUC, 10 splits)"),
    ("tolokers", "sage"): (82.43, 0.44, "Platonov et al. 2023, Table 4 (ROC-AUC, 10 splits)"),
    ("minesweeper", "gcn"): (89.75, 0.52, "Platonov et al. 2023, Table 4 (ROC-AUC, 10 splits)"),
    ("minesweeper", "sage"): (93.51, 0.57, "Platonov et al. 2023, Table 4 (ROC-AUC, 10 splits)"),
}

#: The control configuration per data set: the published architecture as this project builds it.
CONTROL_LAYERS = {"cora": 2, "tolokers": 4, "minesweeper": 4}


def tolerance(dataset: str, operator: str) -> Optional[float]:
    """How far a control may sit from the published mean: 2 std, or 1.5 points where no std is published."""
    if (dataset, operator) not in PUBLISHED:
        return None
    _, std, _ = PUBLISHED[(dataset, operator)]
    return 2 * std if std is not None else 1.5
