"""DEQ: the implicit gradient at the fixed point equals backpropagation through the solver unrolled to convergence.

The gradient of a fixed point is only defined where one exists and (I - J_f) is invertible, so the cells here are
made contractive: small convolution weights and O(1) biases (with zero biases LayerNorm(ReLU(.)) of a near-zero row
amplifies noise and plain iteration does not converge). Tolerances: implicit vs unrolled agree to ~1e-9 at a solver
tolerance of 1e-9 (asserted at 1e-6); the phantom gradient is an approximation (measured ~1e-4, asserted at 1e-2).
"""
from __future__ import annotations

import pytest
import torch

import models

OPERATORS = ["gcn", "sage", "gat", "gen"]


def make_contractive(model: models.DeepGNN) -> None:
    with torch.no_grad():
        for conv in (model.blocks.cell.conv1, model.blocks.cell.conv2):
            for name, p in conv.named_parameters():
                if name.endswith("bias"):
                    p.copy_(torch.rand_like(p) + 0.5)
                else:
                    p.mul_(0.1)


def flat_gradients(model, x, edge_index):
    x = x.clone().requires_grad_(True)
    torch.manual_seed(7)
    model(x, edge_index).square().sum().backward()
    return torch.cat([p.grad.flatten() for p in model.parameters()] + [x.grad.flatten()])


@pytest.mark.parametrize("operator", OPERATORS)
@pytest.mark.parametrize("backward, tolerance", [("implicit", 1e-6), ("phantom", 1e-2)])
def test_deq_gradient_matches_unrolled_reference(operator, backward, tolerance, small_graph, float64):
    edge_index, num_nodes = small_graph
    config = dict(operator=operator, connection="deq", layers=100, channels=12, in_channels=5, out_channels=3,
                  dropout=0.2, heads=2 if operator == "gat" else 1,
                  connection_options=dict(tol=1e-9, backward=backward))
    torch.manual_seed(0)
    model = models.build_model(**config)
    make_contractive(model)
    reference = models.build_model(**config, memory_efficient=False)
    reference.load_state_dict(model.state_dict())
    x = torch.randn(num_nodes, 5)
    got, want = flat_gradients(model, x, edge_index), flat_gradients(reference, x, edge_index)
    assert reference.extra_metrics()["solver_residual"] < 1e-9, "the reference did not converge"
    error = ((got - want).norm() / want.norm()).item()
    print(f"{operator} {backward}: relative gradient error {error:.1e}")
    assert error < tolerance


def test_deq_converges_and_reports_solver_statistics(small_graph):
    edge_index, num_nodes = small_graph
    torch.manual_seed(0)
    model = models.build_model("gen", "deq", layers=50, channels=16, in_channels=5, out_channels=3,
                               connection_options=dict(tol=1e-5))
    make_contractive(model)
    model(torch.randn(num_nodes, 5), edge_index)
    stats = model.extra_metrics()
    print(stats)
    assert stats["solver_residual"] < 1e-5
    assert 1 <= stats["solver_iterations"] < 50


def test_deq_parameters_do_not_depend_on_iterations():
    counts = {sum(p.numel() for p in models.build_model("gcn", "deq", layers=layers, channels=16, in_channels=5,
                                                          out_channels=3).parameters()) for layers in (5, 50, 500)}
    assert len(counts) == 1


def test_unknown_deq_backward_is_a_clear_error():
    with pytest.raises(ValueError, match="backward"):
        models.build_model("gcn", "deq", layers=5, channels=8, in_channels=5, out_channels=3,
                           connection_options=dict(backward="magic"))
