"""GEN's three implementations (``impl = "pyg" | "paper" | "ours"``) compute the same function with the same
gradients; they differ only in what they keep for backward (``tests/test_fake_meter.py`` measures that)."""
from __future__ import annotations

import pytest
import torch

import models
from models.operators import get_operator
from models.operators.pyg.scatter_max import scatter_max


@pytest.fixture
def graph() -> tuple[torch.Tensor, int]:
    torch.manual_seed(0)
    return torch.randint(0, 40, (2, 240)), 40


def _gradients(model: torch.nn.Module, x: torch.Tensor, edge_index: torch.Tensor) -> list[torch.Tensor]:
    return list(torch.autograd.grad(model(x, edge_index).square().sum(), [x, *model.parameters()]))


@pytest.mark.parametrize("impl", ["paper", "ours"])
@pytest.mark.parametrize("aggr", ["softmax", "max"])
@pytest.mark.parametrize("connection", ["res", "rev"])
def test_every_impl_has_pygs_outputs_and_gradients_in_float64(impl, aggr, connection, graph, float64):
    edge_index, n = graph
    torch.manual_seed(1)
    # 9 blocks: deep enough that the paper's softmax res stack checkpoints (DeeperGCN: L > 7)
    reference = models.build_model("gen", connection, 9, 8, 5, 3, aggr=aggr, impl="pyg")
    model = models.build_model("gen", connection, 9, 8, 5, 3, aggr=aggr, impl=impl)
    model.load_state_dict(reference.state_dict())
    x = torch.randn(n, 5, requires_grad=True)
    torch.testing.assert_close(model(x, edge_index), reference(x, edge_index))
    for got, want in zip(_gradients(model, x, edge_index), _gradients(reference, x, edge_index)):
        torch.testing.assert_close(got, want)


def test_paper_softmax_checkpoints_as_deepergcn_and_nothing_else_does():
    paper = get_operator("gen", aggr="softmax", impl="paper")
    assert paper.checkpointed_blocks(28) == frozenset(range(28)) - {0, 14}
    assert paper.checkpointed_blocks(7) == frozenset()
    for options in ({"aggr": "max", "impl": "paper"}, {"aggr": "softmax", "impl": "ours"},
                    {"aggr": "softmax", "impl": "pyg"}):
        assert get_operator("gen", **options).checkpointed_blocks(28) == frozenset()
    model = models.build_model("gen", "res", 28, 8, 5, 3, aggr="softmax", impl="paper")
    assert [i for i, block in enumerate(model.blocks.blocks) if block.checkpoint_conv] == \
        sorted(set(range(28)) - {0, 14})


def test_scatter_max_matches_torch_and_keeps_only_the_argmax(float64):
    torch.manual_seed(0)
    src = torch.randn(50, 6, requires_grad=True)
    index = torch.randint(0, 9, (50,))
    index[index == 8] = 7  # node 8 has no in-edge: 0 and no gradient
    out = scatter_max(src, index, 9)
    expected = src.new_zeros(9, 6).scatter_reduce(0, index.view(-1, 1).expand(-1, 6), src, "amax",
                                                   include_self=False)
    torch.testing.assert_close(out, expected)
    assert out[8].abs().sum() == 0
    torch.autograd.gradcheck(lambda s: scatter_max(s, index, 9), (src,))
    saved = []
    with torch.autograd.graph.saved_tensors_hooks(lambda t: saved.append(t) or t, lambda t: t):
        scatter_max(src, index, 9)
    assert [tuple(t.shape) for t in saved] == [(9, 6)]  # the argmax, never the [E, D] source


@pytest.mark.parametrize("operator, options, message", [
    ("gcn", {"impl": "bogus"}, "impl must be one of ours, paper"),
    ("sage", {"impl": "pyg"}, "impl must be one of ours, paper"),
    ("gen", {"impl": "bogus"}, "impl must be one of pyg, paper, ours"),
    ("gen", {"impl": "ours", "aggr": "mean"}, "impl='ours' aggregates with softmax or max"),
])
def test_a_bad_impl_is_a_one_line_error(operator, options, message):
    with pytest.raises(ValueError, match=message) as info:
        get_operator(operator, **options)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("impl", ["paper", "ours"])
@pytest.mark.parametrize("connection", ["res", "rev", "wt-rev"])
def test_edge_features_per_group_copies_change_nothing_but_memory(impl, connection, graph, float64):
    """The paper's reversible stacks read one copy of the encoded edge features per group; values and gradients
    (edge features included) stay PyG's."""
    edge_index, n = graph
    torch.manual_seed(2)
    edge_attr = torch.rand(edge_index.size(1), 8, requires_grad=True)
    reference = models.build_model("gen", connection, 3, 8, 5, 3, aggr="max", impl="pyg", edge_dim=8)
    model = models.build_model("gen", connection, 3, 8, 5, 3, aggr="max", impl=impl, edge_dim=8)
    model.load_state_dict(reference.state_dict())
    x = torch.randn(n, 5)
    grads = [torch.autograd.grad(m(x, edge_index, edge_attr).square().sum(), [edge_attr, *m.parameters()])
             for m in (model, reference)]
    for got, want in zip(*grads):
        torch.testing.assert_close(got, want)
    _, _, edges = model.embed(x, edge_index, edge_attr)
    copies = 2 if impl == "paper" and connection != "res" else 1
    assert edges.shape == (edge_index.size(1), 8 * copies)
