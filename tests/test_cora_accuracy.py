"""Real data: deep GCNs reach GCN-level accuracy on Cora's public split (GCN, Kipf and Welling 2017: 81.5 %).

A 7-layer and a 56-layer reversible GCN and a 7-layer residual GCN, 64 channels, each trained for 3 seeds with
best-validation selection; the mean test accuracy must be at least 78 %. The recipe is the suite's, read from
``suites/real-data-cora-deep.toml`` (profile ``cpu``), where its reasons are written: GCN's in spirit (Adam, dropout
on the row-normalised input features, weight decay 1e-2 on every parameter) with a light dropout (0.2) inside the
stack, 150 epochs.
The numbers (mean ± unbiased std, epoch time) are printed with ``-s`` and recorded as junit properties; about
8 minutes on 2 cores, most of it the 56-layer model (~0.6 s per epoch).

The data come from ``../shared/datasets/Cora`` relative to the project root, copied to a temporary root (the shared
folder is read-only and PyG writes processed files next to the raw ones).
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import models
from harness.config import CellConfig
from harness.datasets import load_dataset
from harness.spec import load_suite
from harness.training import train_seeds

REPOSITORY = Path(__file__).resolve().parents[1]
CORA = REPOSITORY.parent / "shared" / "datasets" / "Cora"
CELL = CellConfig(**load_suite(REPOSITORY / "suites" / "real-data-cora-deep.toml", "cpu").base)
RECIPE = CELL.train_config()
SEEDS = range(3)
TARGET = 0.78

pytestmark = pytest.mark.skipif(not (CORA / "raw").is_dir(), reason=f"the real Cora files are not at {CORA}")


@pytest.fixture(scope="module")
def cora(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    shutil.copytree(CORA / "raw", root / "Cora" / "raw")
    ds = load_dataset("cora", root=root)
    assert (ds.num_nodes, ds.num_edges, ds.num_features, ds.num_outputs) == (2708, 10556, 1433, 7)
    assert [ds.split[key].numel() for key in ("train", "valid", "test")] == [140, 500, 1000]
    return ds


@pytest.mark.slow
@pytest.mark.parametrize("connection,layers", [("res", 7), ("rev", 7), ("rev", 56)])
def test_deep_gcn_reaches_gcn_accuracy_on_cora(cora, connection, layers, record_property):
    summary = train_seeds(lambda: models.build_model(CELL.operator, connection, layers=layers, channels=CELL.channels,
                                                     dropout=CELL.dropout, norm=CELL.norm,
                                                     in_channels=cora.num_features, out_channels=cora.num_outputs),
                          cora, RECIPE, SEEDS, "cpu", progress=False)
    line = (f"cora {connection}-{layers} gcn 64ch: test {summary.test}, valid {summary.valid}, "
            f"epoch {1000 * summary.epoch_seconds.mean:.0f} ± {1000 * summary.epoch_seconds.std:.0f} ms, "
            f"best epochs {[result.best_epoch for result in summary.results]}")
    print(line)
    record_property("cora", line)
    assert summary.test.mean >= TARGET, line
