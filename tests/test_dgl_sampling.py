"""The sampled training modes (harness.training.sampling) on native DGL: each step against the full-batch res model.

- ``neighbor``, ``layerwise`` and ``variance-reduced`` with every neighbour sampled (fanout above every degree; for
  ``layerwise`` R >= N, every node drawn once): one step's loss and every parameter gradient equal those of the
  full-batch res model on the step's seeds (float64, 1e-9 relative).
- ``variance-reduced``: exact whatever stale values its histories hold when every neighbour is sampled, and exact
  in its forward for any fanout with fresh histories; its histories are [L, N, D] and take the computed nodes' z.
- Sampling itself: neighbour blocks hold at most R in-edges per node; ``layerwise`` draws R nodes per layer (the
  sources are the destinations and drawn nodes) and its importance weights make the mean unbiased.
- The sampled modes need backend = "dgl" (one-line error at load), and an operator exact on blocks.
"""
from __future__ import annotations

import copy
from typing import Optional

import pytest
import torch
from torch_geometric.data import Data

import models
from harness.config import CellConfig, TrainConfig
from harness.datasets.base import GraphDataset
from harness.training import build_train_step
from harness.training.losses import node_loss
from tests.conftest import random_graph

try:
    import dgl

    DGL_ERROR: Optional[str] = None
except Exception as error:  # not installed, or built for another torch
    DGL_ERROR = f"{type(error).__name__}: {error}".splitlines()[0]

pytestmark = [
    pytest.mark.dgl,
    pytest.mark.skipif(DGL_ERROR is not None,
                       reason=f"dgl is not importable under torch {torch.__version__} (run `tox -e dgl`): {DGL_ERROR}"),
]

N, E, D, LAYERS, ALL = 60, 300, 8, 3, 1000
MODES = ("neighbor", "layerwise", "variance-reduced")


def dataset(seed: int = 0) -> GraphDataset:
    edge_index = random_graph(N, E, seed)
    edge_index = torch.cat([edge_index, edge_index.flip(0)], dim=1)  # undirected, as every graph here
    generator = torch.Generator().manual_seed(seed)
    data = Data(x=torch.randn(N, 5, generator=generator, dtype=torch.get_default_dtype()), edge_index=edge_index,
                y=torch.randint(0, 3, (N,), generator=generator), num_nodes=N)
    order = torch.randperm(N, generator=generator)
    split = {"train": order[:40], "valid": order[40:50], "test": order[50:]}
    return GraphDataset(name="random", data=data, split=split, num_features=5, num_outputs=3, task="multiclass",
                        metric="acc", edge_dim=None, synthetic=True, source="test")


def res_model(layers: int = LAYERS) -> torch.nn.Module:
    torch.manual_seed(0)
    return models.build_model("sage", "res", layers, D, in_channels=5, out_channels=3, backend="dgl").train()


def step_for(mode: str, model: torch.nn.Module, ds: GraphDataset, fanout: int = ALL, batch_size: int = 16):
    cfg = TrainConfig(mode=mode, fanout=fanout, batch_size=batch_size, lr=1e-3)
    return build_train_step(model, ds, cfg, "cpu", optimizer=torch.optim.SGD(model.parameters(), lr=0.0))


def full_batch_reference(model: torch.nn.Module, ds: GraphDataset, seeds: torch.Tensor):
    reference = copy.deepcopy(model)
    logits = reference(ds.data.x, ds.data.edge_index)
    loss = node_loss(ds.task, logits[seeds], ds.data.y[seeds])
    loss.backward()
    return float(loss), {name: p.grad.clone() for name, p in reference.named_parameters()}


def peek_seeds(step) -> torch.Tensor:
    """The seeds the step's next call will use (its generator rewound afterwards)."""
    state = step.generator.get_state()
    seeds = step.next_seeds()
    step.generator.set_state(state)
    step._batches = iter(())
    return seeds


def captured_batches(step) -> list:
    """The batches the step samples from now on, appended as it draws them."""
    batches, sample = [], step.sample
    step.sample = lambda seeds: batches.append(sample(seeds)) or batches[-1]
    return batches


def assert_step_matches_full_batch(step, model, ds) -> None:
    seeds = peek_seeds(step)
    loss, grads = full_batch_reference(model, ds, seeds)
    assert step() == pytest.approx(loss, rel=1e-9)
    for name, p in model.named_parameters():
        torch.testing.assert_close(p.grad, grads[name], rtol=1e-9, atol=1e-12, msg=name)


@pytest.mark.parametrize("mode", MODES)
def test_every_neighbour_sampled_gives_the_full_batch_step(float64, mode: str) -> None:
    ds = dataset()
    model = res_model()
    assert_step_matches_full_batch(step_for(mode, model, ds), model, ds)


def test_variance_reduced_is_exact_with_stale_histories_when_every_neighbour_is_sampled(float64) -> None:
    ds = dataset(1)
    model = res_model()
    step = step_for("variance-reduced", model, ds)
    step.histories.normal_()  # stale values: the control variate must cancel them
    assert_step_matches_full_batch(step, model, ds)


def test_variance_reduced_forward_is_exact_for_any_fanout_with_fresh_histories(float64) -> None:
    ds = dataset(2)
    model = res_model()
    step = step_for("variance-reduced", model, ds, fanout=2)
    step.refresh_histories()
    seeds = peek_seeds(step)
    loss, _ = full_batch_reference(model, ds, seeds)
    assert step() == pytest.approx(loss, rel=1e-9)
    # and with a small fanout and no fresh histories it is an estimate, not the full-batch loss
    step = step_for("variance-reduced", res_model(), ds, fanout=2)
    step.histories.normal_()
    seeds = peek_seeds(step)
    loss, _ = full_batch_reference(step.model, ds, seeds)
    assert step() != pytest.approx(loss, rel=1e-6)


def test_variance_reduced_histories_are_every_layer_and_node_and_take_the_computed_nodes(float64) -> None:
    ds = dataset()
    # fanout 1 from 4 seeds reaches at most 4 * 2**LAYERS = 32 < N nodes, so some node is untouched whatever
    # DGL's sampler draws (fanout 2 from 16 seeds could cover all 60 and fail on an unlucky draw)
    step = step_for("variance-reduced", res_model(), ds, fanout=1, batch_size=4)
    assert 4 * 2 ** LAYERS < N
    assert step.histories.shape == (LAYERS, N, D)
    step.histories.fill_(-1.0)  # z = ReLU(...) >= 0: a -1 left means the node was not written
    batch = captured_batches(step)
    step()
    batch = batch[0]
    for layer, live in enumerate(batch.live_nodes):
        untouched = torch.ones(N, dtype=torch.bool)
        untouched[live] = False
        assert untouched.any() and step.histories[layer][live].ge(0).all()
        assert step.histories[layer][untouched].eq(-1).all()


def test_neighbour_blocks_hold_at_most_the_fanout_per_node() -> None:
    step = step_for("neighbor", res_model(), dataset(), fanout=2)
    batch = step.sample(peek_seeds(step))
    assert len(batch.blocks) == LAYERS
    assert all(int(block.in_degrees().max()) <= 2 for block in batch.blocks)
    assert torch.equal(batch.blocks[-1].dstdata[dgl.NID], batch.seeds)
    for lower, upper in zip(batch.blocks, batch.blocks[1:]):  # a layer's sources are the next one's destinations
        assert torch.equal(lower.dstdata[dgl.NID], upper.srcdata[dgl.NID])


def test_layerwise_draws_r_nodes_per_layer() -> None:
    step = step_for("layerwise", res_model(), dataset(), fanout=5)
    batch = step.sample(peek_seeds(step))
    for block in batch.blocks:
        src, _ = block.edges()
        drawn = block.srcdata[dgl.NID][src].unique()
        assert drawn.numel() <= 5  # every edge comes from one of at most R drawn nodes
        assert torch.equal(block.srcdata[dgl.NID][: block.num_dst_nodes()], block.dstdata[dgl.NID])


def test_layerwise_importance_weighted_mean_is_unbiased(float64) -> None:
    """The estimator is unbiased: each node's importance factor ``k_u / (R q(u))`` (0 when not drawn) averages to 1
    over draws, and each block edge carries ``c_v · factor_u / deg(v)``, so the operator's mean over the ``c_v``
    block edges has the exact mean as its expectation."""
    from models.operators.dgl.graph import EDGE_WEIGHT

    step = step_for("layerwise", res_model(1), dataset(), fanout=20)
    draws, total = 20000, torch.zeros(N, dtype=torch.float64)
    for _ in range(draws):
        nodes, factor = step.draw()
        total[nodes] += factor
    torch.testing.assert_close(total / draws, torch.ones(N, dtype=torch.float64), rtol=0.0, atol=0.1)

    drawn, draw = [], step.draw
    step.draw = lambda: drawn.append(draw()) or drawn[-1]
    block = step.sample(torch.arange(N)).blocks[0]
    nodes, factor = drawn[0]
    factor_of = torch.zeros(N, dtype=torch.float64).index_copy(0, nodes, factor)
    src, dst = block.edges()
    src_ids, dst_ids = block.srcdata[dgl.NID][src], block.dstdata[dgl.NID][dst]
    expected = block.in_degrees()[dst] * factor_of[src_ids] / step.graph.in_degrees()[dst_ids]
    assert src.numel() > 0 and bool((factor_of[src_ids] > 0).all())  # only drawn nodes send messages
    torch.testing.assert_close(block.edata[EDGE_WEIGHT].view(-1), expected)


def test_sampled_modes_need_the_dgl_backend() -> None:
    with pytest.raises(ValueError, match='needs backend = "dgl"'):
        CellConfig(operator="sage", connection="res", layers=2, channels=8, dataset="cora", mode="neighbor")
    ok = CellConfig(operator="sage", connection="res", layers=2, channels=8, dataset="cora", mode="neighbor",
                    backend="dgl")
    assert ok.train_config().mode == "neighbor"


def test_sampled_modes_refuse_an_operator_not_exact_on_blocks() -> None:
    torch.manual_seed(0)
    model = models.build_model("gcn", "res", 2, D, in_channels=5, out_channels=3, backend="dgl")
    with pytest.raises(ValueError, match="aggregates_on_blocks"):
        step_for("neighbor", model, dataset())
