"""What a training run is told (:class:`TrainConfig`) and what it reports (:class:`TrainResult`)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Optional

Mode = Literal["full", "mini"]


@dataclass
class TrainConfig:
    """One training run.

    ``mode="full"`` takes one optimiser step per epoch on the whole graph; ``mode="mini"`` partitions the nodes at
    random into ``num_parts`` parts, re-drawn every epoch, and takes one step per part (the paper's protocol for
    ogbn-proteins and ogbn-products). Evaluation runs on the whole graph when ``eval_parts == 1``, otherwise on
    ``eval_parts`` random parts; at the end the best-validation weights are evaluated again with ``eval_views``
    random partitions whose predictions are averaged (the paper's multi-view test: proteins uses 5 parts).

    ``dropout`` overrides the model's own rate when set; ``input_dropout`` drops input features during training
    (GCN's recipe on Planetoid). ``grad_clip`` is the max total gradient norm. ``deterministic`` turns on
    ``torch.use_deterministic_algorithms`` (warn-only) for the run, so the same seed gives the same loss curve on CPU.
    """

    epochs: int = 1
    lr: float = 1e-3
    optimizer: str = "adam"
    weight_decay: float = 0.0
    grad_clip: Optional[float] = None
    dropout: Optional[float] = None
    input_dropout: float = 0.0
    mode: Mode = "full"
    num_parts: int = 10
    eval_parts: int = 1
    eval_views: int = 1
    eval_every: int = 1
    seed: int = 0
    deterministic: bool = True
    restore_best: bool = True

    def __post_init__(self) -> None:
        positive = {"epochs": self.epochs, "num_parts": self.num_parts, "eval_parts": self.eval_parts,
                    "eval_views": self.eval_views, "eval_every": self.eval_every}
        for name, value in positive.items():
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"TrainConfig.{name} must be a positive integer, got {value!r}")
        if self.mode not in ("full", "mini"):
            raise ValueError(f"TrainConfig.mode must be 'full' or 'mini', got {self.mode!r}")
        if not self.lr > 0:
            raise ValueError(f"TrainConfig.lr must be > 0, got {self.lr!r}")
        for name in ("dropout", "input_dropout"):
            value = getattr(self, name)
            if value is not None and not 0.0 <= value < 1.0:
                raise ValueError(f"TrainConfig.{name} must be in [0, 1), got {value!r}")
        if self.grad_clip is not None and not self.grad_clip > 0:
            raise ValueError(f"TrainConfig.grad_clip must be > 0 or None, got {self.grad_clip!r}")


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
