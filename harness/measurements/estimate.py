"""``estimate``: the ``memory`` measurement's numbers computed on fake tensors (:mod:`harness.fake_meter`).

The same cell, the same training step and warm-up as ``memory``; only the model, its optimizer state and every
activation are fake, so a step far larger than this machine's memory is estimated in seconds. The data set is loaded
for real first, so its tensors count as resident exactly as the exact meter counts them. A data set that draws its
mini-batch parts itself (``synthetic-*-parts``, the paper's scale) has no resident graph, so its estimate has a
GPU's meaning: the device holds the part, the model and its state, as in the paper's measurements. ``estimated_*`` metrics have
the meaning of the meter's ``peak_allocated_bytes``, ``activation_bytes``, ``baseline_bytes`` and ``param_state_bytes`` on the CPU (the
graph counts as resident in mini-batch mode too); ``tests/test_fake_meter.py`` holds them to the meter on small twins.
"""
from __future__ import annotations

import dataclasses
import math

from .context import CellContext, merge_metrics
from .registry import MEASUREMENTS, Metrics


CUDA_BLOCK_BYTES = 512  # the CUDA caching allocator rounds every block up to a multiple of this


@MEASUREMENTS.register("estimate")
def measure_estimate(ctx: CellContext) -> Metrics:
    """Estimated peak, activation and baseline bytes of one training step after ``warmup_steps`` warm-up steps."""
    from harness.fake_meter import fake_session, real_data, real_structure

    import torch

    on_gpu = ctx.device.type == "cuda"
    if on_gpu:  # fake tensors need no device: estimate on the CPU what the GPU would hold
        ctx = dataclasses.replace(ctx, device=torch.device("cpu"))
    dataset = ctx.dataset  # real, before the fake session: counted as resident
    with fake_session(block_bytes=CUDA_BLOCK_BYTES if on_gpu else 1) as session:
        if on_gpu and ctx.train_config.mode == "mini":  # a GPU keeps the whole graph on the host
            session.meter.exclude([*(value for value in dataset.data.to_dict().values()
                                     if isinstance(value, torch.Tensor)), *dataset.split.values()])
        model = ctx.model
        operator = getattr(model, "operator", None)
        if operator is not None:  # the graph's structure is built for real (a CSR matrix cannot be fake)
            operator.prepare_graph = real_structure(operator.prepare_graph)
        step = ctx.step
        if step.part_sampler is not None:  # a paper-scale twin draws its parts for real, counted once drawn
            step.part_sampler = real_data(session.meter, step.part_sampler)
        report = session.measure(step, warmup_steps=ctx.settings.warmup_steps)
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
