"""``memory``: the allocator peak of one training step, split into activations and parameter state."""
from __future__ import annotations

from typing import Any

from .context import CellContext, merge_metrics, peak_rss_bytes
from .registry import MEASUREMENTS, Metrics


@MEASUREMENTS.register("memory")
def measure_memory(ctx: CellContext) -> Metrics:
    """Peak bytes of one training step after ``warmup_steps`` warm-up steps, activations and parameter state.

    ``param_state_bytes`` counts the parameters, their gradients and the optimizer's state after the measured step
    (Adam: two moments per parameter; RMSprop: one), the part of the peak that depth cannot avoid.
    """
    from harness.meter import measure_step_memory, tensor_bytes

    report = measure_step_memory(ctx.step, ctx.device, warmup_steps=ctx.settings.warmup_steps)
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


def _is_tensor(value: Any) -> bool:
    import torch

    return isinstance(value, torch.Tensor)
