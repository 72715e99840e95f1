"""What a cell can measure: ``memory``, ``time`` and ``train``, each a function of a :class:`CellContext`.

A measurement returns a dict of metrics and runs in its own process (see :mod:`harness.worker`), so memory and time
are never taken in the same run: the profiler that measures memory would slow the steps being timed. The context
builds the data set, the model, the optimizer and the training step on first use, through the contracts of
:mod:`models`, :mod:`harness.datasets` and :mod:`harness.training`, and nothing here names an operator or a
connection: whatever ``model.extra_metrics()`` reports (a DEQ's solver statistics) is merged as it comes.

More measurements can be registered from other modules (``MEASUREMENTS.register("name")``); modules listed in the
environment variable ``GNN1000_MEASUREMENT_PLUGINS`` (comma-separated) are imported before names are looked up.
"""
from __future__ import annotations

import dataclasses
import importlib
import inspect
import os
import resource
import statistics
import sys
import time
from functools import cached_property
from typing import TYPE_CHECKING, Any, Callable

from .spec import MODEL_FIELDS, CellConfig

if TYPE_CHECKING:
    import torch

PLUGINS_VARIABLE = "GNN1000_MEASUREMENT_PLUGINS"

Metrics = dict[str, Any]
Measurement = Callable[["CellContext"], Metrics]


class MeasurementRegistry:
    def __init__(self) -> None:
        self._entries: dict[str, Measurement] = {}

    def register(self, name: str) -> Callable[[Measurement], Measurement]:
        def add(function: Measurement) -> Measurement:
            self._entries[name] = function
            return function

        return add

    def get(self, name: str) -> Measurement:
        load_plugins()
        if name not in self._entries:
            raise ValueError(f"unknown measurement {name!r}; allowed: {', '.join(self.names())}")
        return self._entries[name]

    def names(self) -> list[str]:
        load_plugins()
        return sorted(self._entries)


MEASUREMENTS = MeasurementRegistry()


def load_plugins() -> None:
    for module in filter(None, (name.strip() for name in os.environ.get(PLUGINS_VARIABLE, "").split(","))):
        importlib.import_module(module)


@dataclasses.dataclass
class CellContext:
    """One cell inside its worker process; the expensive parts are built when a measurement first asks for them."""

    config: CellConfig
    device: torch.device
    time_steps: int = 5
    warmup_steps: int = 1
    memory_budget_bytes: int | None = None

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
        model = models.build_model(
            **{name: getattr(self.config, name) for name in MODEL_FIELDS},
            in_channels=dataset.num_features,
            out_channels=dataset.num_outputs,
            edge_dim=dataset.edge_dim,
            **self.config.model,
        )
        return model.to(self.device).train()

    @cached_property
    def optimizer(self) -> Any:
        import torch

        return torch.optim.Adam(self.model.parameters(), lr=self.config.lr)

    @cached_property
    def step(self) -> Callable[[], float]:
        from harness.training import build_train_step

        return build_train_step(self.model, self.dataset, mode=self.config.mode, num_parts=self.config.num_parts,
                                optimizer=self.optimizer, device=self.device, seed=self.config.seed)

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


@MEASUREMENTS.register("memory")
def measure_memory(ctx: CellContext) -> Metrics:
    """Peak bytes of one training step after ``warmup_steps`` warm-up steps, activations and parameter state."""
    from .meter import measure_step_memory, tensor_bytes

    report = measure_step_memory(ctx.step, ctx.device, warmup_steps=ctx.warmup_steps)
    parameters = list(ctx.model.parameters())
    optimizer_state = [value for state in ctx.optimizer.state.values() for value in state.values()
                       if _is_tensor(value)]
    grads = [p.grad for p in parameters if p.grad is not None]
    metrics: Metrics = {
        "peak_allocated_bytes": report.peak_allocated_bytes,
        "baseline_bytes": report.baseline_bytes,
        "activation_bytes": report.activation_bytes,
        "param_state_bytes": tensor_bytes([*parameters, *grads, *optimizer_state]),
        "peak_rss_bytes": peak_rss_bytes(),
    }
    if report.peak_reserved_bytes is not None:
        metrics["peak_reserved_bytes"] = report.peak_reserved_bytes
    return merge_metrics(metrics, ctx.model_metrics())


@MEASUREMENTS.register("time")
def measure_time(ctx: CellContext) -> Metrics:
    """Median, min and max wall time of ``time_steps`` training steps after the warm-up steps."""
    from .meter import synchronize

    step = ctx.step
    for _ in range(ctx.warmup_steps):
        step()
    seconds = []
    for _ in range(ctx.time_steps):
        synchronize(ctx.device)
        start = time.perf_counter()
        step()
        synchronize(ctx.device)
        seconds.append(time.perf_counter() - start)
    measured = {
        "step_seconds": {"median": statistics.median(seconds), "min": min(seconds), "max": max(seconds)},
        "peak_rss_bytes": peak_rss_bytes(),
    }
    return merge_metrics(measured, ctx.model_metrics())


@MEASUREMENTS.register("train")
def measure_training(ctx: CellContext) -> Metrics:
    """A full training run (``harness.training.train``): every field of its result becomes a metric."""
    from harness.training import TrainConfig, train

    result = train(ctx.model, ctx.dataset, train_config(ctx.config, TrainConfig), ctx.device, progress=False)
    return merge_metrics(_as_dict(result), ctx.model_metrics())


def train_config(config: CellConfig, config_class: type) -> Any:
    """A ``TrainConfig`` from the cell's fields that it declares, then the cell's ``train`` table (which wins)."""
    declared = set(inspect.signature(config_class).parameters)
    from_cell = {name: value for name, value in config.model_dump().items()
                 if name in declared and name not in ("model", "train")}
    return config_class(**{**from_cell, **config.train})


def _as_dict(result: Any) -> Metrics:
    if dataclasses.is_dataclass(result):
        return dataclasses.asdict(result)
    if hasattr(result, "model_dump"):
        return result.model_dump()
    return dict(vars(result))


def _is_tensor(value: Any) -> bool:
    import torch

    return isinstance(value, torch.Tensor)
