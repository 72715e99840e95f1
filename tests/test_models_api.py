"""build_model's contract: errors, caller safety, weight tying, per-edge arguments, the sparse GCN/SAGE path."""
from __future__ import annotations

import pytest
import torch

import models
from models.connections.reversible import GroupedReversibleLayer
from tests.conftest import random_graph


def build(connection="rev", **overrides):
    config = dict(operator="gcn", connection=connection, layers=3, channels=8, in_channels=5, out_channels=3)
    return models.build_model(**{**config, **overrides})


def test_registries_list_every_kind():
    assert models.OPERATORS.names() == ["gat", "gcn", "gen", "sage"]
    assert set(models.CONNECTIONS.names()) >= {"res", "rev", "wt-res", "wt-rev", "deq"}


@pytest.mark.parametrize("overrides, message", [
    (dict(groups=1), "groups >= 2"),
    (dict(connection="wt-rev", groups=0), "groups >= 2"),
    (dict(channels=9, groups=2), "not divisible"),
    (dict(operator="gin"), "unknown operator 'gin'; choose one of: gat, gcn, gen, sage"),
    (dict(connection="dense"), "unknown connection 'dense'"),
    (dict(backend="jax"), "unknown backend"),
    (dict(aggr="max"), "unknown option"),
    (dict(edge_dim=4), "does not take edge features"),
    (dict(dropout=1.0), "dropout"),
    (dict(layers=0), "layers"),
])
def test_bad_input_is_a_one_line_value_error(overrides, message):
    with pytest.raises(ValueError, match=message) as error:
        build(**overrides)
    assert "\n" not in str(error.value)


@pytest.mark.parametrize("connection", ["rev", "wt-rev"])
def test_callers_input_is_left_intact(connection, small_graph):
    edge_index, num_nodes = small_graph
    model = build(connection)
    x = torch.randn(num_nodes, 5)
    h = torch.randn(num_nodes, 8, requires_grad=True)  # straight into the stack, as a user might
    h_copy = h.detach().clone()
    out = model.blocks(h, model.operator.prepare_graph(edge_index, num_nodes))
    out.sum().backward()
    assert torch.equal(h.detach(), h_copy)
    model(x, edge_index).sum().backward()
    assert x.untyped_storage().nbytes() == x.numel() * x.element_size()


def test_no_grad_inference_keeps_tensors_and_matches_training_forward(small_graph):
    edge_index, num_nodes = small_graph
    model = build().eval()
    x = torch.randn(num_nodes, 5)
    with torch.no_grad():
        first = model(x, edge_index)
        second = model(x, edge_index)
    torch.testing.assert_close(first, second)
    torch.testing.assert_close(first, model(x, edge_index))  # eval mode with grad: same values


def test_rev_layer_does_not_split_per_edge_arguments():
    num_nodes, num_edges = 40, 301  # 301 edges: not divisible by any group count
    edge_index = random_graph(num_nodes, num_edges)
    model = models.build_model("gen", "rev", layers=2, channels=12, in_channels=5, out_channels=3, groups=3,
                               edge_dim=7)
    edge_attr = torch.randn(num_edges, 7, requires_grad=True)
    model(torch.randn(num_nodes, 5), edge_index, edge_attr).sum().backward()
    assert edge_attr.grad.shape == (num_edges, 7) and edge_attr.grad.abs().sum() > 0


def test_weight_tied_parameters_do_not_depend_on_depth():
    for connection in ("wt-res", "wt-rev"):
        counts = {sum(p.numel() for p in build(connection, layers=layers).parameters()) for layers in (2, 20, 200)}
        assert len(counts) == 1, connection
    untied = [sum(p.numel() for p in build("rev", layers=layers).parameters()) for layers in (2, 20)]
    assert untied[1] > untied[0]


def test_groups_below_two_is_rejected_by_the_layer_itself():
    with pytest.raises(ValueError, match="groups >= 2"):
        GroupedReversibleLayer([torch.nn.Identity()])


@pytest.mark.parametrize("operator", ["gcn", "sage"])
@pytest.mark.parametrize("connection", ["res", "rev"])
def test_prepared_adjacency_equals_edge_index_message_passing(operator, connection, small_graph, float64):
    """GCN and SAGE multiply by a prepared sparse adjacency; PyG's own edge_index path (``impl="paper"``) on the same
    weights is the reference, for the output and every gradient (the adjacency's backward has its own transpose)."""
    edge_index, num_nodes = small_graph
    torch.manual_seed(0)
    sparse = build(connection, operator=operator, impl="ours")
    reference = build(connection, operator=operator, impl="paper")
    reference.load_state_dict(sparse.state_dict())
    x = torch.randn(num_nodes, 5, requires_grad=True)
    outputs, grads = [], []
    for model in (sparse, reference):
        out = model(x, edge_index)
        outputs.append(out)
        grads.append(torch.autograd.grad(out.square().sum(), [x, *model.parameters()]))
    torch.testing.assert_close(outputs[0], outputs[1])
    for got, want in zip(*grads):
        torch.testing.assert_close(got, want)


def test_edge_attr_required_exactly_when_built_with_edge_dim(small_graph):
    edge_index, num_nodes = small_graph
    model = models.build_model("gen", "res", layers=2, channels=8, in_channels=5, out_channels=3, edge_dim=4)
    with pytest.raises(ValueError, match="edge_attr"):
        model(torch.randn(num_nodes, 5), edge_index)


def test_gen_convolution_rejects_edge_features_that_do_not_match_how_it_was_built(small_graph):
    from models.operators import get_operator

    edge_index, num_nodes = small_graph
    operator = get_operator("gen")
    graph, x = operator.prepare_graph(edge_index, num_nodes), torch.randn(num_nodes, 8)
    with pytest.raises(ValueError, match="built with edge_dim, so it needs edge_attr"):
        operator.make_conv(8, 8, edge_dim=4)(x, graph)
    with pytest.raises(ValueError, match="edge_attr given but the model was built without edge_dim"):
        operator.make_conv(8, 8)(x, graph, torch.randn(edge_index.size(1), 8))
