"""Memory shape, measured with the project's meter: rev is flat in depth, res grows linearly.

Activation memory is what the paper's complexity table is about, so parameters and gradients (which grow with
depth for both kinds, O(L·D²)) are subtracted from the peak.
"""
from __future__ import annotations

import pytest
import torch
from torch.profiler import record_function

import models
from harness.meter import FORWARD_MARKER, measure_step_memory
from tests.conftest import random_graph

NUM_NODES, NUM_EDGES, CHANNELS = 2000, 10_000, 32


def activation_peak_bytes(connection: str, layers: int) -> int:
    torch.manual_seed(0)
    edge_index = random_graph(NUM_NODES, NUM_EDGES)
    x = torch.randn(NUM_NODES, CHANNELS)
    model = models.build_model("gcn", connection, layers=layers, channels=CHANNELS, in_channels=CHANNELS,
                               out_channels=8)

    def step() -> None:
        model.zero_grad(set_to_none=False)
        with record_function(FORWARD_MARKER):
            out = model(x, edge_index)
        out.square().mean().backward()

    report = measure_step_memory(step, "cpu")
    param_and_grad_bytes = 2 * sum(p.numel() * p.element_size() for p in model.parameters())
    return report.peak_allocated_bytes - param_and_grad_bytes


@pytest.fixture(scope="module")
def peaks() -> dict[tuple[str, int], int]:
    result = {(c, l): activation_peak_bytes(c, l) for c in ("res", "rev") for l in (3, 300)}
    for (connection, layers), nbytes in sorted(result.items()):
        print(f"{connection:>3} {layers:>3} layers: {nbytes / 2**20:8.1f} MiB beyond parameters and gradients")
    return result


def test_rev_memory_is_flat_in_depth(peaks):
    assert peaks["rev", 300] < 1.05 * peaks["rev", 3]


def test_res_memory_grows_with_depth(peaks):
    assert peaks["res", 300] >= 20 * peaks["res", 3]
