"""Several seeds of one configuration, summarised as the OGB protocol reports them: mean ± unbiased std."""
from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from typing import Callable, Iterable, Sequence

import torch
from torch import nn

from harness.datasets.base import GraphDataset

from .config import TrainConfig, TrainResult
from .loop import train
from .seeding import seed_everything


@dataclass(frozen=True)
class MeanStd:
    mean: float
    std: float  # unbiased (n - 1); NaN for a single value
    n: int

    def __str__(self) -> str:
        return f"{100 * self.mean:.2f} ± {100 * self.std:.2f} (n={self.n})"


def mean_std(values: Iterable[float]) -> MeanStd:
    values = [float(value) for value in values]
    if not values:
        raise ValueError("mean_std needs at least one value")
    std = statistics.stdev(values) if len(values) > 1 else math.nan
    return MeanStd(statistics.fmean(values), std, len(values))


@dataclass(frozen=True)
class SeedSummary:
    results: list[TrainResult]
    valid: MeanStd  # best validation metric per seed
    test: MeanStd  # test metric at the best validation epoch per seed
    epoch_seconds: MeanStd  # mean epoch time per seed


def summarize(results: Sequence[TrainResult]) -> SeedSummary:
    return SeedSummary(list(results), mean_std(r.best_valid for r in results),
                       mean_std(r.test_at_best_valid for r in results),
                       mean_std(statistics.fmean(r.epoch_seconds) for r in results))


def train_seeds(build_model: Callable[[], nn.Module], ds: GraphDataset, cfg: TrainConfig, seeds: Iterable[int],
                device: torch.device | str = "cpu", progress: bool = True) -> SeedSummary:
    """Train a fresh model per seed (built after seeding, so its initialisation follows the seed) and summarise.
    The OGB protocol is seeds ``range(10)``."""
    results = []
    for seed in seeds:
        seed_everything(seed)
        results.append(train(build_model(), ds, cfg.model_copy(update={"seed": seed}), device, progress))
    return summarize(results)
