"""The real OGB loader on tiny data sets written in OGB's genuine raw layout, and its failure without files.

The tiny sets have the shapes of ogbn-arxiv (128 features, 40 classes, time split) and ogbn-proteins (8 edge features,
species, 112 tasks, species split) and a few dozen nodes; they go through ``PygNodePropPredDataset`` processing
unchanged, then through the paper's preprocessing. Without files and without a network, loading must fail in under a
second with one line, whether stdin is closed or an open pipe (ogb's ``input()`` prompt would hang on the latter),
and leave the root clean for the next run.
"""
from __future__ import annotations

import gzip
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from harness.datasets import DatasetUnavailable, load_dataset
from harness.datasets.files import OFFLINE_VARIABLE, host_reachable
from harness.evaluation import score

REPOSITORY = Path(__file__).resolve().parents[1]
SPECIES = [3702, 4932, 6239, 7227, 7955, 9606, 10090, 511145]


def write_csv(path: Path, rows: np.ndarray) -> None:
    """A headerless gzip CSV, as OGB ships its files."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = rows.reshape(len(rows), -1)
    with gzip.open(path, "wt") as f:
        for row in rows:
            f.write(",".join(str(value) for value in row) + "\n")


def write_split(folder: Path, num_nodes: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    order = rng.permutation(num_nodes)
    split = {"train": order[: num_nodes // 2], "valid": order[num_nodes // 2: 3 * num_nodes // 4],
             "test": order[3 * num_nodes // 4:]}
    for name, index in split.items():
        write_csv(folder / f"{name}.csv.gz", index)
    return split


def write_ogb_layout(folder: Path, name: str, raw: dict[str, np.ndarray], split: str, num_nodes: int,
                     rng: np.random.Generator) -> dict[str, np.ndarray]:
    """OGB's raw layout: ``raw/<stem>.csv.gz`` per array, ``split/<split>/``, and the release note that stops ogb
    from asking to update; returns the arrays written, splits included as ``split_<part>``."""
    for stem, rows in raw.items():
        write_csv(folder / "raw" / f"{stem}.csv.gz", rows)
    splits = write_split(folder / "split" / split, num_nodes, rng)
    (folder / "RELEASE_v1.txt").write_text(f"# Release note for {name}\n\n### v1: Initial release\n")
    return {**raw, **{f"split_{key}": value for key, value in splits.items()}}


def write_tiny_arxiv(root: Path, num_nodes: int = 30, num_edges: int = 70, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    folder = root / "ogbn_arxiv"
    edges = rng.integers(0, num_nodes, size=(num_edges, 2))
    edges = edges[edges[:, 0] != edges[:, 1]]
    arrays = {"edge": edges, "node-feat": rng.normal(size=(num_nodes, 128)).astype(np.float32).round(4),
              "node_year": rng.integers(2010, 2021, size=num_nodes), "node-label": rng.integers(0, 40, size=num_nodes),
              "num-node-list": np.array([num_nodes]), "num-edge-list": np.array([len(edges)])}
    return write_ogb_layout(folder, "ogbn-arxiv", arrays, "time", num_nodes, rng)


def write_tiny_proteins(root: Path, num_nodes: int = 24, num_edges: int = 50, seed: int = 1) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    folder = root / "ogbn_proteins"
    pairs = {tuple(sorted(pair)) for pair in rng.integers(0, num_nodes, size=(num_edges, 2)).tolist()
             if pair[0] != pair[1]}
    edges = np.array(sorted(pairs))
    arrays = {"edge": edges, "edge-feat": rng.uniform(0.001, 1.0, size=(len(edges), 8)).round(3),
              "node_species": rng.choice(SPECIES[:5], size=num_nodes),
              "node-label": rng.integers(0, 2, size=(num_nodes, 112)),
              "num-node-list": np.array([num_nodes]), "num-edge-list": np.array([len(edges)])}
    return write_ogb_layout(folder, "ogbn-proteins", arrays, "species", num_nodes, rng)


def test_tiny_arxiv_goes_through_the_real_ogb_loader(tmp_path):
    arrays = write_tiny_arxiv(tmp_path)
    ds = load_dataset("ogbn-arxiv", root=tmp_path)
    n = len(arrays["node-feat"])
    assert (tmp_path / "ogbn_arxiv" / "processed" / "geometric_data_processed.pt").is_file()  # ogb processed it
    assert torch.allclose(ds.data.x, torch.from_numpy(arrays["node-feat"]))
    assert torch.equal(ds.data.y, torch.from_numpy(arrays["node-label"]).long())
    for key in ("train", "valid", "test"):
        assert torch.equal(ds.split[key], torch.from_numpy(arrays[f"split_{key}"]).long())

    # undirected, exactly one self-loop per node
    pairs = {tuple(sorted(pair)) for pair in arrays["edge"].tolist()}
    edges = set(map(tuple, ds.data.edge_index.t().tolist()))
    assert edges == {(u, v) for u, v in pairs} | {(v, u) for u, v in pairs} | {(i, i) for i in range(n)}
    assert ds.num_edges == len(edges) == 2 * len(pairs) + n
    assert (ds.num_features, ds.num_outputs, ds.task, ds.metric, ds.edge_dim) == (128, 40, "multiclass", "acc", None)
    assert not ds.synthetic and "PygNodePropPredDataset" in ds.source

    # the second load reads ogb's processed file (weights-only unpickling under torch >= 2.6) and agrees
    again = load_dataset("ogbn-arxiv", root=tmp_path)
    assert torch.equal(again.data.edge_index, ds.data.edge_index) and torch.equal(again.data.x, ds.data.x)
    logits = torch.nn.functional.one_hot(ds.data.y, 40).float()
    assert score(ds, logits, ds.split["test"]) == 1.0


def test_tiny_proteins_goes_through_the_real_ogb_loader(tmp_path):
    arrays = write_tiny_proteins(tmp_path)
    ds = load_dataset("ogbn-proteins", root=tmp_path)
    n, m = len(arrays["node_species"]), len(arrays["edge"])
    assert ds.num_edges == 2 * m  # ogb adds the inverse edges; no self-loops for proteins
    assert ds.data.edge_attr.shape == (2 * m, 8) and ds.edge_dim == 8
    assert ds.data.y.shape == (n, 112) and ds.data.y.dtype == torch.float32
    assert (ds.num_features, ds.num_outputs, ds.task, ds.metric) == (16, 112, "multilabel", "rocauc")

    # x = [sum of incident edge features | one-hot species], computed here independently of the loader
    summed = np.zeros((n, 8))
    for (u, v), feat in zip(arrays["edge"], arrays["edge-feat"]):
        summed[u] += feat
        summed[v] += feat
    assert torch.allclose(ds.data.x[:, :8], torch.from_numpy(summed).float(), atol=1e-5)
    species_ids = sorted(set(arrays["node_species"].tolist()))
    expected = np.zeros((n, 8))
    expected[np.arange(n), [species_ids.index(s) for s in arrays["node_species"]]] = 1
    assert torch.equal(ds.data.x[:, 8:], torch.from_numpy(expected).float())
    assert 0.0 <= score(ds, torch.randn(n, 112), ds.split["valid"]) <= 1.0


def test_incomplete_folder_is_reported_not_overwritten(tmp_path, monkeypatch):
    monkeypatch.setenv(OFFLINE_VARIABLE, "1")
    write_tiny_arxiv(tmp_path)
    (tmp_path / "ogbn_arxiv" / "raw" / "node-feat.csv.gz").unlink()
    with pytest.raises(DatasetUnavailable, match="incomplete, missing raw/node-feat.csv.gz"):
        load_dataset("ogbn-arxiv", root=tmp_path)
    assert (tmp_path / "ogbn_arxiv" / "raw" / "edge.csv.gz").is_file()  # nothing of the user's was deleted


CHILD = """
import sys, time
from harness.datasets import DatasetUnavailable, load_dataset
start = time.perf_counter()
try:
    load_dataset(sys.argv[1], root=sys.argv[2])
except DatasetUnavailable as exc:
    print(f"{time.perf_counter() - start:.3f}")
    print(exc, file=sys.stderr)
    sys.exit(3)
"""


def assert_one_line_naming_files_and_fix(message: str, folder: Path) -> None:
    assert "\n" not in message.strip(), message
    assert str(folder) in message and "raw/edge.csv.gz" in message and "RELEASE_v1.txt" in message
    assert "snap.stanford.edu/ogb/data/nodeproppred" in message  # how to get it


@pytest.mark.parametrize("stdin", ["closed", "open pipe"])
def test_no_files_no_network_fails_fast_in_a_fresh_process(tmp_path, stdin):
    """A fresh interpreter, as the runner's workers are: ogb's input() prompt must be unreachable."""
    (tmp_path / "ogbn_arxiv" / "raw").mkdir(parents=True)  # what a failed ogb download leaves behind
    env = {**os.environ, OFFLINE_VARIABLE: "1", "PYTHONPATH": str(REPOSITORY)}
    command = [sys.executable, "-c", CHILD, "ogbn-arxiv", str(tmp_path)]
    if stdin == "closed":
        done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120, cwd=REPOSITORY,
                              stdin=subprocess.DEVNULL, preexec_fn=lambda: os.close(0))
    else:
        with subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, env=env, cwd=REPOSITORY) as process:
            stdout, stderr = process.communicate(timeout=120)  # the pipe stays open: a prompt would hang here
            done = subprocess.CompletedProcess(command, process.returncode, stdout, stderr)
    assert done.returncode == 3, done.stderr
    assert float(done.stdout.strip()) < 1.0  # seconds inside load_dataset (interpreter start-up excluded)
    assert_one_line_naming_files_and_fix(done.stderr, tmp_path / "ogbn_arxiv")
    assert not (tmp_path / "ogbn_arxiv").exists()  # the empty folder was cleaned up: the root is usable


@pytest.mark.parametrize("name,folder", [("ogbn-arxiv", "ogbn_arxiv"), ("ogbn-proteins", "ogbn_proteins"),
                                         ("ogbn-products", "ogbn_products")])
def test_every_ogb_data_set_fails_fast_without_files(tmp_path, monkeypatch, name, folder):
    monkeypatch.setenv(OFFLINE_VARIABLE, "1")
    (tmp_path / folder / "raw").mkdir(parents=True)
    start = time.perf_counter()
    with pytest.raises(DatasetUnavailable) as error:
        load_dataset(name, root=tmp_path)
    assert time.perf_counter() - start < 1.0
    assert_one_line_naming_files_and_fix(str(error.value), tmp_path / folder)
    assert not (tmp_path / folder).exists()


def test_root_is_usable_after_a_failed_attempt(tmp_path, monkeypatch):
    monkeypatch.setenv(OFFLINE_VARIABLE, "1")
    (tmp_path / "ogbn_arxiv" / "raw").mkdir(parents=True)
    with pytest.raises(DatasetUnavailable):
        load_dataset("ogbn-arxiv", root=tmp_path)
    write_tiny_arxiv(tmp_path)
    assert load_dataset("ogbn-arxiv", root=tmp_path).num_nodes == 30


def test_root_comes_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv(OFFLINE_VARIABLE, "1")
    monkeypatch.setenv("GNN1000_DATA_ROOT", str(tmp_path))
    write_tiny_arxiv(tmp_path)
    assert load_dataset("ogbn-arxiv").num_nodes == 30


def test_network_probe_answers_and_gives_up_within_its_timeout(monkeypatch):
    import socket

    with socket.socket() as server:  # a local listener: the probe connects
        server.bind(("127.0.0.1", 0))
        server.listen()
        assert host_reachable("127.0.0.1", server.getsockname()[1], timeout=0.5)
    with socket.socket() as closed:  # a port nobody listens on: refused at once
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    assert not host_reachable("127.0.0.1", port, timeout=0.5)

    def stalled(*args, **kwargs):  # a DNS lookup or connect that hangs, which no socket timeout would bound
        time.sleep(5)
        raise OSError("stalled connect finally failed")  # as a real one would, long after the probe gave up

    monkeypatch.setattr(socket, "create_connection", stalled)
    start = time.perf_counter()
    assert not host_reachable("snap.stanford.edu", 80, timeout=0.3)
    assert time.perf_counter() - start < 2.5  # gave up on its own timeout, not at the end of the 5 s stall
    monkeypatch.setenv(OFFLINE_VARIABLE, "1")
    assert not host_reachable("127.0.0.1", 1, timeout=0.3)
