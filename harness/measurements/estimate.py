"""``estimate``: the ``memory`` measurement's numbers computed on fake tensors (:mod:`harness.fake_meter`).

The same cell, the same training step and warm-up as ``memory``; only the model, its optimizer state and every
activation are fake, so a step far larger than this machine's memory is estimated in seconds. The data set is loaded
for real first, so its tensors count as resident exactly as the exact meter counts them. ``estimated_*`` metrics have
the meaning of the meter's ``peak_allocated_bytes``, ``activation_bytes``, ``baseline_bytes`` and ``param_state_bytes`` on the CPU (the
graph counts as resident in mini-batch mode too); ``tests/test_fake_meter.py`` holds them to the meter on small twins.
"""
from __future__ import annotations

import math

from .context import CellContext, merge_metrics
from .registry import MEASUREMENTS, Metrics


@MEASUREMENTS.register("estimate")
def measure_estimate(ctx: CellContext) -> Metrics:
    """Estimated peak, activation and baseline bytes of one training step after ``warmup_steps`` warm-up steps."""
    from harness.fake_meter import fake_session, real_structure

    ctx.dataset  # real, before the fake session: counted as resident
    with fake_session() as session:
        model = ctx.model
        operator = getattr(model, "operator", None)
        if operator is not None:  # the graph's structure is built for real (a CSR matrix cannot be fake)
            operator.prepare_graph = real_structure(operator.prepare_graph)
        report = session.measure(ctx.step, warmup_steps=ctx.settings.warmup_steps)
        parameters = list(model.parameters())
        state = [value for values in ctx.optimizer.state.values() for value in values.values()
                 if hasattr(value, "untyped_storage")]
        param_state = session.tensor_bytes([*parameters, *(p.grad for p in parameters if p.grad is not None),
                                            *state])
        # solver statistics read fake values (NaN: see harness.fake_meter); they are not estimates, so drop them
        extra = {key: value for key, value in ctx.model_metrics().items()
                 if not (isinstance(value, float) and math.isnan(value))}
    metrics: Metrics = {
        "estimated_peak_bytes": report.peak_allocated_bytes,
        "estimated_baseline_bytes": report.baseline_bytes,
        "estimated_activation_bytes": report.activation_bytes,
        "estimated_param_state_bytes": param_state,
    }
    return merge_metrics(metrics, extra)
