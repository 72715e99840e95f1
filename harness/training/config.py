"""What a training run is told (:class:`TrainConfig`, defined with the cell it belongs to in :mod:`harness.config`)
and what it reports (:class:`TrainResult`)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from harness.config import TrainConfig

__all__ = ["TrainConfig", "TrainResult"]


@dataclass
class TrainResult:
    """Per-epoch curves and the best-validation selection. Metrics are the data set's (accuracy or ROC-AUC, in [0, 1]).

    ``epoch_*_metric`` are measured at ``eval_epochs`` (1-based; every epoch unless ``eval_every > 1``).
    ``test_at_best_valid`` is the test metric of the weights with the best validation metric; with ``eval_views > 1``
    it is the multi-view test of those weights (``multi_view_test``).
    """

    metric: str
    epoch_loss: list[float] = field(default_factory=list)
    epoch_seconds: list[float] = field(default_factory=list)
    eval_epochs: list[int] = field(default_factory=list)
    epoch_train_metric: list[float] = field(default_factory=list)
    epoch_valid_metric: list[float] = field(default_factory=list)
    epoch_test_metric: list[float] = field(default_factory=list)
    best_epoch: int = 0
    best_valid: Optional[float] = None
    train_at_best_valid: Optional[float] = None
    test_at_best_valid: Optional[float] = None
    multi_view_valid: Optional[float] = None
    multi_view_test: Optional[float] = None
    epochs_run: int = 0
