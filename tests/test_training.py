"""Training protocols: random partitions, multi-view evaluation, the evaluator wrapper, seeding and selection."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch_geometric.data import Data

import models
from harness.datasets import GraphDataset, load_dataset
from harness.evaluation import mean_rocauc, score
from harness.meter import FORWARD_MARKER
from harness.training import (TrainConfig, build_train_step, mean_std, multi_view_predictions, random_node_partition,
                              train)


def small_model(ds: GraphDataset, connection: str = "res", layers: int = 3, dropout: float = 0.3) -> torch.nn.Module:
    return models.build_model("gcn" if ds.edge_dim is None else "gen", connection, layers=layers, channels=16,
                              in_channels=ds.num_features, out_channels=ds.num_outputs, edge_dim=ds.edge_dim,
                              dropout=dropout)


@pytest.fixture(scope="module")
def arxiv_twin() -> GraphDataset:
    return load_dataset("synthetic-arxiv", scale=0.005, seed=0)


@pytest.mark.parametrize("num_nodes,num_parts", [(10, 1), (10, 3), (101, 10), (7, 7)])
def test_random_partition_covers_every_node_exactly_once(num_nodes, num_parts):
    parts = random_node_partition(num_nodes, num_parts, torch.Generator().manual_seed(0))
    assert len(parts) == num_parts
    assert torch.equal(torch.cat(parts).sort().values, torch.arange(num_nodes))
    sizes = [part.numel() for part in parts]
    assert max(sizes) - min(sizes) <= 1
    again = random_node_partition(num_nodes, num_parts, torch.Generator().manual_seed(0))
    assert all(torch.equal(a, b) for a, b in zip(parts, again))


def test_random_partition_is_random_and_validates():
    first = random_node_partition(1000, 10, torch.Generator().manual_seed(0))
    other = random_node_partition(1000, 10, torch.Generator().manual_seed(1))
    assert not torch.equal(first[0], other[0])
    for bad in (0, 11):
        with pytest.raises(ValueError, match="num_parts must be in"):
            random_node_partition(10, bad, torch.Generator())


def test_multi_view_averages_each_nodes_own_part_predictions():
    """Each call of the predictor returns, for every node of the part, ``1000 · call + original node id``
    (the id travels as a feature through the relabelling); the result must be the mean over views of the value
    from the part that held the node, which the test recomputes from the same partitions."""
    n, parts, views = 23, 4, 3
    data = Data(x=torch.arange(n, dtype=torch.float).view(-1, 1), edge_index=torch.randint(0, n, (2, 60)),
                num_nodes=n)
    calls = []

    def predictor(graph: Data) -> torch.Tensor:
        calls.append(graph.num_nodes)
        return torch.stack([1000.0 * (len(calls) - 1) + graph.x[:, 0], -graph.x[:, 0]], dim=1)

    logits = multi_view_predictions(predictor, data, parts, views, torch.Generator().manual_seed(5))
    replay = torch.Generator().manual_seed(5)
    expected = torch.zeros(n)
    for view in range(views):
        for index, nodes in enumerate(random_node_partition(n, parts, replay)):
            expected[nodes] += 1000.0 * (view * parts + index) + nodes.float()
    assert len(calls) == parts * views and sum(calls) == n * views
    assert torch.allclose(logits[:, 0], expected / views)
    assert torch.allclose(logits[:, 1], -torch.arange(n, dtype=torch.float))

    calls.clear()
    whole = multi_view_predictions(predictor, data, 1, views)
    assert calls == [n] and torch.equal(whole[:, 0], torch.arange(n, dtype=torch.float))  # one pass, whole graph


def fake_dataset(y: torch.Tensor, task: str, metric: str, ogb_name: str | None) -> GraphDataset:
    n = y.size(0)
    index = torch.arange(n)
    return GraphDataset(name="fake", data=Data(x=torch.zeros(n, 1), edge_index=torch.zeros(2, 0, dtype=torch.long),
                                               y=y, num_nodes=n),
                        split={"train": index, "valid": index, "test": index}, num_features=1,
                        num_outputs=y.size(1) if y.dim() == 2 else int(y.max()) + 1, task=task, metric=metric,
                        edge_dim=None, synthetic=True, source="test", ogb_name=ogb_name)


def test_evaluator_wrapper_agrees_with_ogb_on_known_inputs():
    from ogb.nodeproppred import Evaluator

    # accuracy: 3 of 4 arg-maxes right
    known = fake_dataset(torch.tensor([0, 1, 2, 39]), "multiclass", "acc", "ogbn-arxiv")
    logits = torch.nn.functional.one_hot(torch.tensor([0, 1, 2, 5]), 40).float()
    assert score(known, logits, torch.arange(4)) == 0.75
    assert score(known, logits, torch.tensor([3])) == 0.0

    generator = torch.Generator().manual_seed(0)
    y = torch.randint(0, 40, (200,), generator=generator)
    logits = torch.randn(200, 40, generator=generator)
    index = torch.randperm(200, generator=generator)[:120]
    ours = score(fake_dataset(y, "multiclass", "acc", "ogbn-arxiv"), logits, index)
    theirs = Evaluator("ogbn-arxiv").eval({"y_true": y[index].view(-1, 1).numpy(),
                                           "y_pred": logits[index].argmax(1, keepdim=True).numpy()})["acc"]
    by_hand = float((logits[index].argmax(1) == y[index]).float().mean())
    assert ours == pytest.approx(theirs) and ours == pytest.approx(by_hand)
    assert score(fake_dataset(y, "multiclass", "acc", None), logits, index) == pytest.approx(theirs)  # Planetoid path

    # ROC-AUC over 112 tasks, one task with a single class (skipped by ogb), a perfectly ranked task
    y = torch.randint(0, 2, (300, 112), generator=generator).float()
    y[:, 0] = 1.0
    scores = torch.randn(300, 112, generator=generator)
    scores[:, 1] = y[:, 1] + 0.1 * torch.rand(300, generator=generator)
    proteins = fake_dataset(y, "multilabel", "rocauc", "ogbn-proteins")
    ours = score(proteins, scores, torch.arange(300))
    theirs = Evaluator("ogbn-proteins").eval({"y_true": y.numpy(), "y_pred": scores.numpy()})["rocauc"]
    assert ours == pytest.approx(theirs)
    from sklearn.metrics import roc_auc_score
    by_hand = np.mean([roc_auc_score(y[:, t].numpy(), scores[:, t].numpy()) for t in range(1, 112)])
    assert theirs == pytest.approx(by_hand) and roc_auc_score(y[:, 1].numpy(), scores[:, 1].numpy()) == 1.0
    assert mean_rocauc(y, scores) == pytest.approx(theirs)  # the non-OGB path (tolokers) computes the same
    assert math.isnan(score(proteins, scores, torch.tensor([], dtype=torch.long)))


def test_train_step_marks_its_forward_and_updates(arxiv_twin):
    model = small_model(arxiv_twin)
    step = build_train_step(model, arxiv_twin, TrainConfig(lr=1e-2), "cpu")
    before = [p.detach().clone() for p in model.parameters()]
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as profiler:
        loss = step()
    assert isinstance(loss, float) and loss > 0
    assert FORWARD_MARKER in {event.name for event in profiler.events()}
    assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters()))


def test_mini_batch_redraws_the_partition_every_epoch(arxiv_twin, monkeypatch):
    import harness.training.step as step_module

    drawn = []
    original = step_module.random_node_partition
    monkeypatch.setattr(step_module, "random_node_partition",
                        lambda *args: drawn.append(original(*args)) or drawn[-1])
    model = small_model(arxiv_twin)
    step = build_train_step(model, arxiv_twin, TrainConfig(mode="mini", num_parts=4), "cpu")
    assert step.steps_per_epoch == 4
    batches = [step.next_batch().num_nodes for _ in range(8)]
    assert len(drawn) == 2 and not torch.equal(drawn[0][0], drawn[1][0])
    assert sum(batches[:4]) == sum(batches[4:]) == arxiv_twin.num_nodes
    with pytest.raises(ValueError, match="num_parts must be in"):
        build_train_step(model, arxiv_twin, TrainConfig(mode="mini", num_parts=arxiv_twin.num_nodes + 1), "cpu")


@pytest.mark.parametrize("mode", ["full", "mini"])
def test_same_seed_same_loss_curve_on_cpu(arxiv_twin, mode):
    def run(seed: int) -> list[float]:
        torch.manual_seed(seed)
        cfg = TrainConfig(epochs=3, lr=1e-2, mode=mode, num_parts=3, seed=seed, input_dropout=0.2)
        return train(small_model(arxiv_twin), arxiv_twin, cfg, "cpu", progress=False).epoch_loss

    first = run(0)
    assert run(0) == first  # bit-identical
    assert run(1) != first


def test_best_validation_selection_and_multi_view_test():
    ds = load_dataset("synthetic-proteins", scale=0.005, seed=0)
    torch.manual_seed(0)
    model = small_model(ds, layers=2)
    cfg = TrainConfig(epochs=4, lr=5e-3, mode="mini", num_parts=3, eval_parts=2, eval_views=3, grad_clip=1.0)
    result = train(model, ds, cfg, "cpu", progress=False)
    assert result.epochs_run == 4 and len(result.epoch_loss) == 4 and result.eval_epochs == [1, 2, 3, 4]
    best = int(np.argmax(result.epoch_valid_metric))
    assert result.best_epoch == result.eval_epochs[best] and result.best_valid == result.epoch_valid_metric[best]
    assert result.metric == "rocauc" and 0.0 <= result.multi_view_test <= 1.0
    assert result.test_at_best_valid == result.multi_view_test  # the multi-view test of the selected weights


def test_eval_every_and_restoring_the_best_weights(arxiv_twin):
    torch.manual_seed(0)
    model = small_model(arxiv_twin)
    result = train(model, arxiv_twin, TrainConfig(epochs=5, lr=1e-2, eval_every=2), "cpu", progress=False)
    assert result.eval_epochs == [2, 4, 5] and len(result.epoch_test_metric) == 3
    index = result.eval_epochs.index(result.best_epoch)
    assert result.test_at_best_valid == result.epoch_test_metric[index]
    from harness.training.evaluate import evaluate_splits, model_predictor
    restored = evaluate_splits(arxiv_twin, model_predictor(model, torch.device("cpu"))(arxiv_twin.data))
    assert restored["valid"] == pytest.approx(result.best_valid)  # the model now holds the selected weights


@pytest.mark.parametrize("bad", [dict(epochs=0), dict(mode="sideways"), dict(lr=0), dict(dropout=1.0),
                                 dict(grad_clip=-1.0), dict(eval_views=0)])
def test_bad_train_config_is_a_one_line_value_error(bad):
    with pytest.raises(ValueError, match=r"^TrainConfig\.\w+: ") as error:
        TrainConfig(**bad)
    assert "\n" not in str(error.value)


def test_unknown_optimizer_is_a_one_line_error():
    with pytest.raises(ValueError, match="unknown optimizer 'adamx'; allowed: adam, adamw, rmsprop, sgd"):
        TrainConfig(optimizer="adamx")


def test_mean_and_unbiased_std():
    summary = mean_std([1.0, 2.0, 3.0, 4.0])
    assert summary.mean == 2.5 and summary.std == pytest.approx(1.2909944487) and summary.n == 4
    assert math.isnan(mean_std([0.8]).std)
    assert str(mean_std([0.80, 0.82])) == "81.00 ± 1.41 (n=2)"


@pytest.mark.parametrize("foreach", [None, True, False])
def test_foreach_reaches_the_optimizer(arxiv_twin, foreach):
    model = models.build_model("gcn", "res", 2, 8, arxiv_twin.num_features, arxiv_twin.num_outputs)
    step = build_train_step(model, arxiv_twin, TrainConfig(foreach=foreach), "cpu")
    assert step.optimizer.defaults["foreach"] is foreach
