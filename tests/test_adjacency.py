"""The prepared sparse adjacency: its product, its hand-written backward, and when its transpose is shared."""
from __future__ import annotations

import torch

from harness.meter import tensor_bytes
from models.operators.pyg.adjacency import Adjacency
from tests.conftest import random_graph


def dense(adjacency: Adjacency) -> torch.Tensor:
    return adjacency.matrix.to_dense()


def test_matrix_maps_sources_into_targets_and_the_transpose_is_exact():
    edge_index = torch.tensor([[0, 0, 2], [1, 2, 1]])  # 0 -> 1, 0 -> 2, 2 -> 1 (directed)
    adjacency = Adjacency.from_edges(edge_index, torch.tensor([1.0, 2.0, 3.0]), 3)
    want = torch.zeros(3, 3)
    want[1, 0], want[2, 0], want[1, 2] = 1.0, 2.0, 3.0
    torch.testing.assert_close(dense(adjacency), want)
    torch.testing.assert_close(adjacency.transpose.to_dense(), want.T)
    assert not adjacency.symmetric


def test_duplicate_edges_add_up_as_in_message_passing():
    adjacency = Adjacency.from_edges(torch.tensor([[0, 0], [1, 1]]), torch.tensor([1.0, 0.5]), 2)
    assert dense(adjacency)[1, 0] == 1.5


def test_backward_is_the_transpose_product_on_a_directed_graph():
    edge_index = random_graph(40, 200)
    weight = torch.rand(edge_index.size(1), dtype=torch.float64)
    adjacency = Adjacency.from_edges(edge_index, weight, 40)
    assert not adjacency.symmetric
    x = torch.randn(40, 6, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: adjacency @ t, (x,))
    reference = x.detach().clone().requires_grad_(True)
    (dense(adjacency) @ reference).sin().sum().backward()
    (adjacency @ x).sin().sum().backward()
    torch.testing.assert_close(x.grad, reference.grad)


def test_a_symmetric_matrix_is_its_own_transpose_and_stored_once():
    edge_index = random_graph(40, 200)
    edge_index = torch.cat([edge_index, edge_index.flip(0)], dim=1)
    adjacency = Adjacency.from_edges(edge_index, torch.ones(edge_index.size(1)), 40)
    assert adjacency.symmetric
    assert tensor_bytes([adjacency.matrix, adjacency.transpose]) == tensor_bytes([adjacency.matrix])
    assert adjacency.to(torch.float64).symmetric


def test_a_model_of_another_dtype_gets_the_adjacency_in_its_dtype():
    adjacency = Adjacency.from_edges(torch.tensor([[0, 1], [1, 0]]), torch.ones(2), 2)
    out = adjacency @ torch.ones(2, 3, dtype=torch.float64)
    assert out.dtype == torch.float64
    torch.testing.assert_close(out, torch.ones(2, 3, dtype=torch.float64))


def test_an_undirected_graph_with_asymmetric_weights_shares_the_index_arrays():
    """SAGE's mean (1 / in-degree of the target) on an undirected graph: the transpose differs only in its values,
    so it costs one value per edge, and its product is still exact."""
    edge_index = random_graph(40, 200)
    edge_index = torch.cat([edge_index, edge_index.flip(0)], dim=1)
    weight = torch.rand(edge_index.size(1), dtype=torch.float64)
    adjacency = Adjacency.from_edges(edge_index, weight, 40)
    assert not adjacency.symmetric
    extra = tensor_bytes([adjacency.matrix, adjacency.transpose]) - tensor_bytes([adjacency.matrix])
    assert extra == adjacency.matrix.values().numel() * 8
    torch.testing.assert_close(adjacency.transpose.to_dense(), dense(adjacency).T)
    for candidate in (adjacency, adjacency.to(torch.float32).to(torch.float64)):
        x = torch.randn(40, 6, dtype=torch.float64, requires_grad=True)
        assert torch.autograd.gradcheck(lambda t: candidate @ t, (x,))
