"""Optimisers by name (the suites and presets name them: Adam for most of the paper, RMSprop for RevGAT)."""
from __future__ import annotations

from typing import Iterable

import torch

OPTIMIZERS: dict[str, type[torch.optim.Optimizer]] = {
    "adam": torch.optim.Adam,
    "adamw": torch.optim.AdamW,
    "rmsprop": torch.optim.RMSprop,
    "sgd": torch.optim.SGD,
}


def build_optimizer(name: str, parameters: Iterable[torch.nn.Parameter], lr: float,
                    weight_decay: float = 0.0) -> torch.optim.Optimizer:
    if name not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {name!r}; choose one of: {', '.join(sorted(OPTIMIZERS))}")
    return OPTIMIZERS[name](parameters, lr=lr, weight_decay=weight_decay)
