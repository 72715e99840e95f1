"""The memory-efficient reversible backward gives the same gradients as plain autograd on the same mathematics."""
from __future__ import annotations

import pytest
import torch

import models

OPERATORS = ["gcn", "sage", "gat", "gen"]


def gradients(model: torch.nn.Module, x: torch.Tensor, edge_index: torch.Tensor,
              edge_attr: torch.Tensor | None) -> list[torch.Tensor]:
    x = x.clone().requires_grad_(True)
    edge_attr = None if edge_attr is None else edge_attr.clone().requires_grad_(True)
    torch.manual_seed(1234)  # the same shared dropout mask for both models
    model(x, edge_index, edge_attr).square().sum().backward()
    extra = [x.grad] + ([edge_attr.grad] if edge_attr is not None else [])
    return [p.grad.clone() for p in model.parameters()] + extra


@pytest.mark.parametrize("operator", OPERATORS)
@pytest.mark.parametrize("connection", ["rev", "wt-rev", "res", "wt-res"])
@pytest.mark.parametrize("groups", [2, 3, 4])
def test_gradients_match_plain_autograd(operator, connection, groups, small_graph, float64):
    edge_index, num_nodes = small_graph
    edge_dim = 4 if operator == "gen" else None  # also exercises per-edge arguments through the Function
    config = dict(operator=operator, connection=connection, layers=4, channels=24, in_channels=5, out_channels=3,
                  groups=groups, dropout=0.2, heads=2 if operator == "gat" else 1, edge_dim=edge_dim)
    torch.manual_seed(0)
    efficient = models.build_model(**config, memory_efficient=True)
    reference = models.build_model(**config, memory_efficient=False)
    reference.load_state_dict(efficient.state_dict())
    x = torch.randn(num_nodes, 5)
    edge_attr = torch.randn(edge_index.size(1), 4) if edge_dim else None

    got_all = gradients(efficient, x, edge_index, edge_attr)
    want_all = gradients(reference, x, edge_index, edge_attr)
    # Absolute slack relative to the model's largest gradient: some are exactly zero in exact arithmetic (GAT's
    # destination attention cancels in the softmax) and show only float64 round-off on both sides.
    scale = max(g.abs().max().item() for g in want_all)
    assert scale > 0
    for got, want in zip(got_all, want_all, strict=True):
        torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-10 * scale)


def test_gradients_with_batchnorm_do_not_double_update_running_stats(small_graph, float64):
    edge_index, num_nodes = small_graph
    config = dict(operator="sage", connection="rev", layers=3, channels=8, in_channels=5, out_channels=3,
                  norm="batch")
    torch.manual_seed(0)
    efficient, reference = models.build_model(**config), models.build_model(**config, memory_efficient=False)
    reference.load_state_dict(efficient.state_dict())
    x = torch.randn(num_nodes, 5)
    for got, want in zip(gradients(efficient, x, edge_index, None), gradients(reference, x, edge_index, None)):
        torch.testing.assert_close(got, want)
    for (name, got), want in zip(efficient.state_dict().items(), reference.state_dict().values()):
        torch.testing.assert_close(got, want, msg=f"{name} differs after one step")


def test_repeated_forward_and_backward(small_graph):
    edge_index, num_nodes = small_graph
    torch.manual_seed(0)
    model = models.build_model("gcn", "rev", layers=5, channels=8, in_channels=5, out_channels=3, dropout=0.1)
    x = torch.randn(num_nodes, 5)
    for _ in range(3):
        model.zero_grad()
        model(x, edge_index).sum().backward()
        assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())


def test_backward_twice_is_a_clear_error(small_graph):
    edge_index, num_nodes = small_graph
    model = models.build_model("gcn", "rev", layers=2, channels=8, in_channels=5, out_channels=3)
    out = model(torch.randn(num_nodes, 5), edge_index).sum()
    out.backward(retain_graph=True)
    with pytest.raises(RuntimeError, match="twice"):
        out.backward()
