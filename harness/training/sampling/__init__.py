"""The sampled training modes of the DGL backend, one module each, selected by ``TrainConfig.mode``:

- ``neighbor`` (:mod:`.neighbor`): GraphSAGE's node-wise neighbour sampling, fanout R per layer;
- ``layerwise`` (:mod:`.layerwise`): FastGCN's layer-wise importance sampling, R nodes per layer;
- ``variance-reduced`` (:mod:`.variance_reduced`): VR-GCN's sampled neighbours plus per-layer histories.

All three take B seeds per step (``batch_size``) and run the model's res stack on one DGL block per layer
(:mod:`.base`). Importing this package imports dgl: the harness imports it only for these modes.
"""
from __future__ import annotations

import torch
from torch import nn

from harness.config import SAMPLED_MODES, TrainConfig
from harness.datasets.base import GraphDataset

from .base import SampledBatch, SampledStep, forward_on_blocks
from .layerwise import LayerwiseSamplingStep
from .neighbor import NeighborSamplingStep
from .variance_reduced import VarianceReducedStep

#: mode → its step
SAMPLED_STEPS: dict[str, type[SampledStep]] = {
    "neighbor": NeighborSamplingStep,
    "layerwise": LayerwiseSamplingStep,
    "variance-reduced": VarianceReducedStep,
}
assert set(SAMPLED_STEPS) == set(SAMPLED_MODES)


def build_sampled_step(model: nn.Module, dataset: GraphDataset, cfg: TrainConfig, device: torch.device,
                       optimizer: torch.optim.Optimizer) -> SampledStep:
    """The step of sampled mode ``cfg.mode``."""
    return SAMPLED_STEPS[cfg.mode](model, dataset, cfg, device, optimizer)


__all__ = ["SAMPLED_STEPS", "SampledBatch", "SampledStep", "build_sampled_step", "forward_on_blocks"]
