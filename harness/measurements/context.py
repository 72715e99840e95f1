"""One cell inside its worker process: the data set, the model and the training step, built on first use."""
from __future__ import annotations

import dataclasses
import resource
import sys
from functools import cached_property
from typing import TYPE_CHECKING, Any, Optional, TextIO

from harness.config import CellConfig, MeasurementSettings, TrainConfig

from .registry import Metrics

if TYPE_CHECKING:
    import torch

    from harness.training import TrainStep


@dataclasses.dataclass
class CellContext:
    """A cell, the device it runs on and the suite's measurement settings; the expensive parts are cached."""

    config: CellConfig
    device: torch.device
    settings: MeasurementSettings = MeasurementSettings()
    memory_budget_bytes: int | None = None
    label: str = "cell"  # names the cell in lines written to the console
    console: Optional[TextIO] = None  # the console of ``harness run`` (the process's own output goes to its log)

    @cached_property
    def train_config(self) -> TrainConfig:
        return self.config.train_config()

    @cached_property
    def dataset(self) -> Any:
        from harness.datasets import load_dataset

        return load_dataset(self.config.dataset, scale=self.config.scale, seed=self.config.seed)

    @cached_property
    def model(self) -> Any:
        import torch

        import models

        dataset = self.dataset
        torch.manual_seed(self.config.seed)
        model = models.build_model(**self.config.model_arguments(), in_channels=dataset.num_features,
                                   out_channels=dataset.num_outputs, edge_dim=dataset.edge_dim)
        if self.device.type != "cpu":  # fake parameters (the ``estimate`` measurement) cannot be swapped in place
            model = model.to(self.device)
        return model.train()

    @cached_property
    def step(self) -> TrainStep:
        """The cell's training step: the one ``train`` takes (same optimizer, clipping, input dropout)."""
        from harness.training import build_train_step

        return build_train_step(self.model, self.dataset, self.train_config, self.device)

    @property
    def optimizer(self) -> Any:
        return self.step.optimizer

    def model_metrics(self) -> Metrics:
        """``params`` and the model's own ``extra_metrics()`` (e.g. a DEQ's solver iterations and residual)."""
        return {"params": sum(p.numel() for p in self.model.parameters()), **self.model.extra_metrics()}


def merge_metrics(measured: Metrics, extra: Metrics) -> Metrics:
    clashes = sorted(set(measured) & set(extra) - {"params"})
    if clashes:
        raise ValueError(f"model.extra_metrics() reports {', '.join(clashes)}, a name the harness measures itself")
    return {**extra, **measured}


def peak_rss_bytes() -> int:
    """The process's peak resident set (secondary: it measures glibc's heap, not tensors)."""
    scale = 1 if sys.platform == "darwin" else 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale
