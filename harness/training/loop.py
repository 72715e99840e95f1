"""``train``: epochs of training steps, evaluation, best-validation model selection, a progress bar.

Protocol: every ``eval_every`` epochs (and after the last) the model predicts every node (whole graph, or
``eval_parts`` random parts) and is scored on train/valid/test with the data set's metric; the epoch with the highest
validation metric is selected (the first one on ties) and its test metric reported — never the best test. With
``eval_views > 1`` the selected weights are evaluated once more with that many random partitions averaged.

A run tells its caller how it goes: ``on_epoch`` receives an :class:`EpochProgress` after every epoch (loss, the
validation metric where evaluated, the best so far, seconds), which the ``train`` measurement writes to the cell's
log and the console. The model's prepared graph (the normalised adjacency) is built once per graph for the whole run
and reused by every training step and evaluation (:meth:`models.DeepGNN.reusing_prepared_graphs`).
"""
from __future__ import annotations

import contextlib
import math
import time
from dataclasses import dataclass
from typing import Callable, Optional

import torch
from torch import nn
from tqdm.auto import tqdm

from harness.datasets.base import GraphDataset

from .config import TrainConfig, TrainResult
from .evaluate import evaluate_splits, model_predictor, multi_view_predictions
from .seeding import deterministic_algorithms, seed_everything
from .step import build_train_step, training_graph


@dataclass(frozen=True)
class EpochProgress:
    """Where a run stands after one epoch (metrics in [0, 1]; ``valid`` None on an epoch that was not evaluated)."""

    epoch: int
    epochs: int
    loss: float
    valid: Optional[float]
    best_valid: Optional[float]
    best_epoch: int
    seconds: float  # this epoch's training steps (evaluation not included)
    metric: str

    def line(self) -> str:
        valid = "-" if self.valid is None else f"{self.valid:.4f}"
        best = "-" if self.best_valid is None else f"{self.best_valid:.4f} (epoch {self.best_epoch})"
        return (f"epoch {self.epoch}/{self.epochs}  loss {self.loss:.4f}  valid {self.metric} {valid}  "
                f"best {best}  {self.seconds:.3f} s/epoch")


OnEpoch = Callable[[EpochProgress], None]


def train(model: nn.Module, ds: GraphDataset, cfg: TrainConfig, device: torch.device | str,
          progress: bool = True, on_epoch: Optional[OnEpoch] = None) -> TrainResult:
    """Train ``model`` on ``ds`` as ``cfg`` says; the model ends with the best-validation weights when
    ``cfg.restore_best``. Seeds everything from ``cfg.seed`` first (build the model after seeding for its init to
    follow the seed too). ``progress``: a tqdm bar; ``on_epoch``: called after every epoch."""
    device = torch.device(device)
    model = model.to(device)
    reuse = getattr(model, "reusing_prepared_graphs", None)  # a model of another library builds its own graph
    with deterministic_algorithms(cfg.deterministic), (reuse() if reuse else contextlib.nullcontext()):
        seed_everything(cfg.seed)
        return _run(model, ds, cfg, device, progress, on_epoch)


def _run(model: nn.Module, ds: GraphDataset, cfg: TrainConfig, device: torch.device, progress: bool,
         on_epoch: Optional[OnEpoch]) -> TrainResult:
    step = build_train_step(model, ds, cfg, device)
    eval_graph = training_graph(ds)
    eval_generator = torch.Generator().manual_seed(cfg.seed + 1)
    predict = model_predictor(model, device)
    result = TrainResult(metric=ds.metric)
    best_state: Optional[dict[str, torch.Tensor]] = None

    bar = tqdm(range(1, cfg.epochs + 1), desc=ds.name, unit="epoch", disable=not progress, leave=False,
               dynamic_ncols=True)
    for epoch in bar:
        start = time.perf_counter()
        losses = [step() for _ in range(step.steps_per_epoch)]
        result.epoch_seconds.append(time.perf_counter() - start)
        result.epoch_loss.append(sum(losses) / len(losses))
        result.epochs_run = epoch
        if epoch % cfg.eval_every and epoch != cfg.epochs:
            bar.set_postfix(loss=f"{result.epoch_loss[-1]:.4f}")
            _report(on_epoch, result, cfg.epochs, None)
            continue
        scores = evaluate_splits(ds, multi_view_predictions(predict, eval_graph, cfg.eval_parts, 1, eval_generator))
        result.eval_epochs.append(epoch)
        result.epoch_train_metric.append(scores["train"])
        result.epoch_valid_metric.append(scores["valid"])
        result.epoch_test_metric.append(scores["test"])
        if result.best_valid is None or (not math.isnan(scores["valid"]) and
                                         (math.isnan(result.best_valid) or scores["valid"] > result.best_valid)):
            result.best_epoch, result.best_valid = epoch, scores["valid"]
            result.train_at_best_valid, result.test_at_best_valid = scores["train"], scores["test"]
            if cfg.restore_best or cfg.eval_views > 1:
                best_state = {key: value.detach().to("cpu", copy=True) for key, value in model.state_dict().items()}
        bar.set_postfix(loss=f"{result.epoch_loss[-1]:.4f}", valid=f"{scores['valid']:.4f}",
                        best=f"{result.best_valid:.4f}")
        _report(on_epoch, result, cfg.epochs, scores["valid"])
    bar.close()

    if best_state is not None and (cfg.restore_best or cfg.eval_views > 1):
        model.load_state_dict(best_state)
    if cfg.eval_views > 1:
        logits = multi_view_predictions(predict, eval_graph, cfg.eval_parts, cfg.eval_views, eval_generator)
        scores = evaluate_splits(ds, logits)
        result.multi_view_valid, result.multi_view_test = scores["valid"], scores["test"]
        result.test_at_best_valid = scores["test"]
    return result


def _report(on_epoch: Optional[OnEpoch], result: TrainResult, epochs: int, valid: Optional[float]) -> None:
    if on_epoch is not None:
        on_epoch(EpochProgress(epoch=result.epochs_run, epochs=epochs, loss=result.epoch_loss[-1], valid=valid,
                               best_valid=result.best_valid, best_epoch=result.best_epoch,
                               seconds=result.epoch_seconds[-1], metric=result.metric))
