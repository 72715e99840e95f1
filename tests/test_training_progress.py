"""A training run a user can follow: per-epoch progress, the prepared graph built once, threads recorded, a summary.

The prepared graph (GCN's normalised adjacency) must be built once per graph for a whole run, not once per forward,
and give the very same run; each epoch reaches ``on_epoch``, the cell's log and (throttled) the console; ``harness
show --summary`` pools seeds into mean ± std.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import torch

import models
from harness.datasets import load_dataset
from harness.datasets.files import MIRRORS_VARIABLE
from harness.training import EpochProgress, TrainConfig, train
from harness.worker import default_threads

from test_datasets_formats import write_heterophilous

REPOSITORY = Path(__file__).resolve().parents[1]


def tiny(tmp_path: Path, classes: int = 3):
    write_heterophilous(tmp_path, "tiny_graph.npz", classes=classes, n=80)
    return load_dataset("tiny-graph", root=tmp_path)


def test_the_prepared_graph_is_built_once_per_run_and_changes_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv(MIRRORS_VARIABLE, "")
    ds = tiny(tmp_path)
    cfg = TrainConfig(epochs=4, lr=0.01)
    results, builds = [], []
    for reuse in (True, False):
        torch.manual_seed(0)
        model = models.build_model("gcn", "rev", layers=4, channels=8, in_channels=ds.num_features,
                                   out_channels=ds.num_outputs)
        calls = []
        prepare = model.operator.prepare_graph
        model.operator.prepare_graph = lambda *args: (calls.append(1), prepare(*args))[1]
        if not reuse:
            model.reusing_prepared_graphs = None  # the loop then builds the graph in every forward
        results.append(train(model, ds, cfg, "cpu", progress=False))
        builds.append(len(calls))
    assert builds[0] == 1  # 4 training forwards and 4 evaluations on one graph
    assert builds[1] == 8
    assert results[0].epoch_loss == results[1].epoch_loss
    assert results[0].epoch_valid_metric == results[1].epoch_valid_metric


def test_every_epoch_reaches_on_epoch_with_the_best_so_far(tmp_path, monkeypatch):
    monkeypatch.setenv(MIRRORS_VARIABLE, "")
    ds = tiny(tmp_path)
    seen: list[EpochProgress] = []
    model = models.build_model("sage", "res", layers=2, channels=8, in_channels=ds.num_features,
                               out_channels=ds.num_outputs)
    result = train(model, ds, TrainConfig(epochs=5, lr=0.01, eval_every=2), "cpu", progress=False,
                   on_epoch=seen.append)
    assert [p.epoch for p in seen] == [1, 2, 3, 4, 5] and all(p.epochs == 5 for p in seen)
    assert [p.valid is None for p in seen] == [True, False, True, False, False]
    assert seen[-1].best_valid == result.best_valid and seen[-1].best_epoch == result.best_epoch
    assert [p.loss for p in seen] == result.epoch_loss and [p.seconds for p in seen] == result.epoch_seconds
    assert "epoch 5/5  loss " in seen[-1].line() and " s/epoch" in seen[-1].line()


SUITE = """
[suite]
measurements = ["train"]
[base]
operator = "gcn"
connection = "res"
layers = 2
channels = 8
dataset = "tiny-graph"
epochs = 3
[grid]
seed = [0, 1, 2]
[profiles.cpu]
"""


def test_a_run_shows_its_epochs_records_threads_and_summarises_seeds(tmp_path):
    root = tmp_path / "data"
    write_heterophilous(root, "tiny_graph.npz", classes=2, n=80)
    (tmp_path / "tiny.toml").write_text(SUITE)
    env = {**os.environ, MIRRORS_VARIABLE: ""}
    out = tmp_path / "out"

    def harness_run(out: Path, *options: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "harness", "run", str(tmp_path / "tiny.toml"), "--profile", "cpu",
                               "--device", "cpu", "--out", str(out), "--data-root", str(root), *options],
                              cwd=REPOSITORY, capture_output=True, text=True, env=env, timeout=300)

    run = harness_run(out)
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stderr.count("epoch 3/3  loss ") == 3  # the last epoch of each cell reaches the console
    assert "s/epoch" in run.stdout  # each cell's line: its scores and epoch time, not "peak - step -"
    logs = sorted((out / "logs").glob("*.train.log"))
    assert len(logs) == 3 and all(log.read_text().count("epoch ") >= 3 for log in logs)
    import json

    records = [json.loads(path.read_text()) for path in out.glob("*.json")]
    threads = default_threads("train") or torch.get_num_threads()
    assert [record["metrics"]["threads"] for record in records] == [threads] * 3
    assert [record["environment"]["cells_side_by_side"] for record in records] == [1] * 3
    # train cells may run side by side (their result is a score), each record saying so; --no-progress silences the
    # epoch lines on the console, never in the logs
    quiet = harness_run(tmp_path / "side", "--jobs", "2", "--no-progress")
    assert quiet.returncode == 0, quiet.stdout + quiet.stderr
    assert "epoch 3/3" not in quiet.stderr + quiet.stdout and quiet.stdout.count("s/epoch") == 3
    assert all(log.read_text().count("epoch ") >= 3 for log in (tmp_path / "side" / "logs").glob("*.train.log"))
    side = [json.loads(path.read_text()) for path in (tmp_path / "side").glob("*.json")]
    assert [record["environment"]["cells_side_by_side"] for record in side] == [2] * 3
    shown = subprocess.run([sys.executable, "-m", "harness", "show", str(out), "--summary"], cwd=REPOSITORY,
                           capture_output=True, text=True, env=env, timeout=120)
    assert shown.returncode == 0, shown.stderr
    header, _, row, counts = shown.stdout.splitlines()
    assert header.split()[:2] == ["dataset", "operator"] and "s/epoch" in header
    assert row.split()[0] == "tiny-graph" and " 3 " in row and row.count("±") >= 2 and counts == "3 records: 3 ok"
