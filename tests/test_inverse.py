"""A reversible stack can be undone: the input is recovered from the output, up to float32 round-off."""
from __future__ import annotations

import pytest
import torch

import models
from tests.conftest import random_graph

# Measured relative errors (float32, 500 nodes, 32 channels): ~1e-7 (3 layers), ~3e-6 (100), ~4e-5 (1000).
BOUNDS = {3: 1e-6, 100: 1e-4, 1000: 5e-4}


@pytest.mark.parametrize("layers", sorted(BOUNDS))
def test_inverse_reconstructs_input(layers):
    torch.manual_seed(0)
    num_nodes = 500
    edge_index = random_graph(num_nodes, 2500)
    model = models.build_model("gcn", "rev", layers=layers, channels=32, in_channels=32, out_channels=4).eval()
    graph = model.operator.prepare_graph(edge_index, num_nodes)
    x = torch.randn(num_nodes, 32)
    with torch.no_grad():
        h = x
        for layer in model.blocks.layers:
            h = layer(h, graph)
        for layer in reversed(model.blocks.layers):
            h = layer.inverse(h, graph)
    error = ((h - x).norm() / x.norm()).item()
    print(f"inverse through {layers} reversible layers: relative error {error:.2e}")
    assert error < BOUNDS[layers]
