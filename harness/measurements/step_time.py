"""``time``: wall time of the cell's training step (median, min, max over ``time_steps`` steps)."""
from __future__ import annotations

import statistics
import time

from .context import CellContext, merge_metrics, peak_rss_bytes
from .registry import MEASUREMENTS, Metrics


@MEASUREMENTS.register("time")
def measure_time(ctx: CellContext) -> Metrics:
    """Median, min and max wall time of ``time_steps`` training steps after the warm-up steps."""
    import torch

    from harness.meter import synchronize

    step = ctx.step
    for _ in range(ctx.settings.warmup_steps):
        step()
    seconds = []
    for _ in range(ctx.settings.time_steps):
        synchronize(ctx.device)
        start = time.perf_counter()
        step()
        synchronize(ctx.device)
        seconds.append(time.perf_counter() - start)
    measured = {
        "step_seconds": {"median": statistics.median(seconds), "min": min(seconds), "max": max(seconds)},
        "peak_rss_bytes": peak_rss_bytes(),
        "threads": torch.get_num_threads(),
    }
    return merge_metrics(measured, ctx.model_metrics())
