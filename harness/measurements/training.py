"""``train``: a whole training run (:func:`harness.training.train`); every field of its result becomes a metric."""
from __future__ import annotations

import dataclasses

from .context import CellContext, merge_metrics
from .registry import MEASUREMENTS, Metrics


@MEASUREMENTS.register("train")
def measure_training(ctx: CellContext) -> Metrics:
    """Train the cell's model with the cell's :class:`~harness.config.TrainConfig` (the step ``memory`` measures)."""
    from harness.training import train

    result = train(ctx.model, ctx.dataset, ctx.train_config, ctx.device, progress=False)
    return merge_metrics(dataclasses.asdict(result), ctx.model_metrics())
