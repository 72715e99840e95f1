"""Shared fixtures: small random graphs, seeded."""
from __future__ import annotations

import pytest
import torch


def random_graph(num_nodes: int, num_edges: int, seed: int = 0) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.randint(0, num_nodes, (2, num_edges), generator=generator)


@pytest.fixture
def small_graph() -> tuple[torch.Tensor, int]:
    return random_graph(60, 300), 60


@pytest.fixture
def float64():
    """Gradient comparisons in double precision, so that only real differences show."""
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(previous)
