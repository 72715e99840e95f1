"""Normalisation layers by name (``"layer"``, ``"batch"``, ``"none"``)."""
from __future__ import annotations

from torch import nn

NORMS = ("layer", "batch", "none")


def make_norm(kind: str, channels: int) -> nn.Module:
    if kind == "layer":
        return nn.LayerNorm(channels)
    if kind == "batch":
        return nn.BatchNorm1d(channels)
    if kind == "none":
        return nn.Identity()
    raise ValueError(f"unknown norm {kind!r}; choose one of: {', '.join(NORMS)}")
