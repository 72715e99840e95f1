"""Optimisers by name (the suites and presets name them: Adam for most of the paper, RMSprop for RevGAT)."""
from __future__ import annotations

from typing import Iterable, Optional

import torch

from harness.config import OPTIMIZERS


def build_optimizer(name: str, parameters: Iterable[torch.nn.Parameter], lr: float,
                    weight_decay: float = 0.0, foreach: Optional[bool] = None) -> torch.optim.Optimizer:
    """``foreach=None`` leaves torch's per-device default (multi-tensor on CUDA, per-parameter on the CPU)."""
    if name not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {name!r}; choose one of: {', '.join(sorted(OPTIMIZERS))}")
    return getattr(torch.optim, OPTIMIZERS[name])(parameters, lr=lr, weight_decay=weight_decay, foreach=foreach)
