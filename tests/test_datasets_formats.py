"""Data sets by format: tiny graphs written in each published format, dropped into a data root, found by name.

Planetoid's raw ``ind.<name>.*`` pickles, a heterophilous-graphs ``.npz`` (binary → ROC-AUC, more classes →
accuracy, under the published file names) and OGB's node-property raw layout; none of their names is known to the
code. Also: ``--data-root`` on the command line, a bad file as one line, and the mirror never written to.
"""
from __future__ import annotations

import pickle
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from harness.datasets import DATASETS, DatasetError, DatasetUnavailable, load_dataset
from harness.datasets.files import MIRRORS_VARIABLE, ROOT_VARIABLE
from harness.evaluation import score

from test_datasets_ogb import write_ogb_layout

REPOSITORY = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def no_mirrors(monkeypatch):
    """Only what a test writes is found (the project's mirror of real data sets is left out)."""
    monkeypatch.setenv(MIRRORS_VARIABLE, "")
    monkeypatch.delenv(ROOT_VARIABLE, raising=False)


def write_planetoid(root: Path, prefix: str, train: int = 12, valid: int = 500, test: int = 30, features: int = 9,
                    classes: int = 4, seed: int = 0) -> dict[str, np.ndarray]:
    """The eight raw files as Planetoid publishes them: scipy CSR features and one-hot labels pickled, an adjacency
    dict pickled, the test indices as text (PyG takes the ``valid`` nodes after the training ones: 500 of them)."""
    rng = np.random.default_rng(seed)
    known = train + valid + 8  # allx: labelled and unlabelled nodes before the test ones
    n = known + test
    x = (rng.random((n, features)) < 0.3).astype(np.float32)
    labels = rng.integers(0, classes, size=n)
    onehot = np.eye(classes, dtype=np.int64)[labels]
    test_index = np.arange(known, n)
    graph = defaultdict(list)
    for source, target in rng.integers(0, n, size=(3 * n, 2)):
        if source != target:
            graph[int(source)].append(int(target))
            graph[int(target)].append(int(source))
    raw = root / prefix.capitalize() / "raw"
    raw.mkdir(parents=True)
    arrays = {"x": sp.csr_matrix(x[:train]), "tx": sp.csr_matrix(x[known:]), "allx": sp.csr_matrix(x[:known]),
              "y": onehot[:train], "ty": onehot[known:], "ally": onehot[:known], "graph": dict(graph)}
    for suffix, value in arrays.items():
        (raw / f"ind.{prefix}.{suffix}").write_bytes(pickle.dumps(value))
    (raw / f"ind.{prefix}.test.index").write_text("\n".join(str(i) for i in test_index) + "\n")
    return {"x": x, "y": labels}


def write_heterophilous(root: Path, file_name: str, classes: int, n: int = 60, splits: int = 3,
                        seed: int = 0) -> dict[str, np.ndarray]:
    """One graph in the heterophilous-graphs ``.npz`` format, ``splits`` standard splits of 50/25/25 %."""
    rng = np.random.default_rng(seed)
    edges = rng.integers(0, n, size=(4 * n, 2))
    masks = {key: np.zeros((splits, n), dtype=bool) for key in ("train", "val", "test")}
    for s in range(splits):
        order = rng.permutation(n)
        masks["train"][s, order[: n // 2]] = True
        masks["val"][s, order[n // 2: 3 * n // 4]] = True
        masks["test"][s, order[3 * n // 4:]] = True
    arrays = {"node_features": rng.normal(size=(n, 5)).astype(np.float32), "node_labels": np.arange(n) % classes,
              "edges": edges[edges[:, 0] != edges[:, 1]], **{f"{key}_masks": m for key, m in masks.items()}}
    folder = root / "heterophilous"
    folder.mkdir(parents=True, exist_ok=True)
    np.savez(folder / file_name, **arrays)
    return arrays


def write_tiny_ogb(root: Path, folder_name: str, tasks: int, classes: int, num_nodes: int = 40,
                   seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    edges = rng.integers(0, num_nodes, size=(90, 2))
    edges = edges[edges[:, 0] != edges[:, 1]]
    labels = rng.integers(0, classes, size=(num_nodes, tasks))
    labels[:, 0] = np.arange(num_nodes) % classes  # every class present
    arrays = {"edge": edges, "node-feat": rng.normal(size=(num_nodes, 6)).astype(np.float32).round(4),
              "node-label": labels, "num-node-list": np.array([num_nodes]), "num-edge-list": np.array([len(edges)])}
    return write_ogb_layout(root / folder_name, folder_name, arrays, "random", num_nodes, rng)


# --- each format ---------------------------------------------------------------------------------------------------


def test_a_planetoid_file_set_of_any_name_is_found_and_read_like_cora(tmp_path):
    written = write_planetoid(tmp_path, "tinyplanet")
    ds = load_dataset("tinyplanet", root=tmp_path)
    assert (ds.task, ds.metric, ds.num_features, ds.num_outputs) == ("multiclass", "acc", 9, 4)
    assert [ds.split[key].numel() for key in ("train", "valid", "test")] == [12, 500, 30]
    assert torch.equal(ds.data.y, torch.from_numpy(written["y"]))
    rows = ds.data.x.sum(dim=1)
    assert torch.allclose(rows[rows > 0], torch.ones_like(rows[rows > 0]))  # row-normalised, as for Cora
    assert ds.data.edge_index.size(1) > 0 and not list(tmp_path.glob("*/processed"))  # read in place


def test_a_binary_npz_is_scored_by_rocauc_and_a_multiclass_one_by_accuracy(tmp_path):
    write_heterophilous(tmp_path, "roman_empire.npz", classes=5)
    binary = write_heterophilous(tmp_path, "my_binary_graph.npz", classes=2, seed=1)
    multi = load_dataset("roman-empire", root=tmp_path)  # a published name: registered before it is on disk
    assert (multi.task, multi.metric, multi.num_outputs, multi.data.y.dtype) == ("multiclass", "acc", 5, torch.long)
    two = load_dataset("my-binary-graph", root=tmp_path)  # a file the code has never heard of
    assert (two.task, two.metric, two.num_outputs, tuple(two.data.y.shape)) == ("multilabel", "rocauc", 1, (60, 1))
    perfect = two.data.y.clone()
    assert score(two, perfect, two.split["test"]) == pytest.approx(1.0)
    assert score(multi, torch.nn.functional.one_hot(multi.data.y, 5).float(), multi.split["test"]) == 1.0
    for seed in range(3):  # seed → split seed % splits
        split = load_dataset("my-binary-graph", root=tmp_path, seed=seed).split["train"]
        assert torch.equal(split, torch.from_numpy(binary["train_masks"][seed]).nonzero().view(-1))
    assert torch.equal(load_dataset("my-binary-graph", root=tmp_path, seed=3).split["train"],
                       load_dataset("my-binary-graph", root=tmp_path, seed=0).split["train"])


def test_an_ogb_raw_layout_of_an_unknown_name_is_found(tmp_path):
    write_tiny_ogb(tmp_path, "ogbn_tiny", tasks=1, classes=5)
    write_tiny_ogb(tmp_path, "ogbn_tinytasks", tasks=3, classes=2, seed=1)
    ds = load_dataset("ogbn-tiny", root=tmp_path)
    assert (ds.task, ds.metric, ds.num_outputs, ds.num_features, ds.ogb_name) == ("multiclass", "acc", 5, 6, None)
    assert ds.split["train"].numel() == 20 and ds.data.x.dtype == torch.float32
    src, dst = ds.data.edge_index
    assert {(int(a), int(b)) for a, b in zip(src, dst)} == {(int(b), int(a)) for a, b in zip(src, dst)}  # undirected
    tasks = load_dataset("ogbn-tinytasks", root=tmp_path)
    assert (tasks.task, tasks.metric, tasks.num_outputs) == ("multilabel", "rocauc", 3)


def test_a_file_of_the_wrong_arrays_is_one_line_naming_what_is_missing(tmp_path):
    (tmp_path / "heterophilous").mkdir()
    np.savez(tmp_path / "heterophilous" / "broken.npz", node_features=np.zeros((3, 2)))
    with pytest.raises(DatasetError) as error:
        load_dataset("broken", root=tmp_path)
    assert "\n" not in str(error.value) and "lacks node_labels" in str(error.value)
    (tmp_path / "heterophilous" / "cut.npz").write_bytes(b"PK\x03\x04 not a zip")
    with pytest.raises(DatasetError, match="truncated or corrupt"):
        load_dataset("cut", root=tmp_path)


def test_a_published_name_that_is_not_on_disk_says_where_to_get_it(tmp_path):
    with pytest.raises(DatasetUnavailable, match="amazon_ratings.npz.*yandex-research"):
        load_dataset("amazon-ratings", root=tmp_path)


def test_found_names_are_registered_for_the_suite_reader(tmp_path, monkeypatch):
    write_heterophilous(tmp_path, "fresh_graph.npz", classes=2)
    monkeypatch.setenv(ROOT_VARIABLE, str(tmp_path))
    assert "fresh-graph" in DATASETS.names() and DATASETS.attributes("fresh-graph")["format"].startswith("heterophil")


def test_a_data_set_found_in_a_mirror_is_read_there_and_the_root_wins(tmp_path, monkeypatch):
    mirror, root = tmp_path / "mirror", tmp_path / "root"
    write_heterophilous(mirror, "graph.npz", classes=3)
    monkeypatch.setenv(MIRRORS_VARIABLE, str(mirror))
    assert load_dataset("graph", root=root).num_outputs == 3
    write_heterophilous(root, "graph.npz", classes=4)
    assert load_dataset("graph", root=root).num_outputs == 4


# --- through the command line ----------------------------------------------------------------------------------------


SUITE = """
[suite]
measurements = ["train"]
[base]
operator = "gcn"
connection = "res"
layers = 2
channels = 8
dataset = "{dataset}"
epochs = 2
[profiles.cpu]
"""


def harness(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    import os

    return subprocess.run([sys.executable, "-m", "harness", *args], cwd=REPOSITORY, capture_output=True, text=True,
                          env={**os.environ, MIRRORS_VARIABLE: "", **(env or {})}, timeout=300)


def test_a_file_dropped_into_the_data_root_is_a_data_set_for_list_and_run(tmp_path):
    root = tmp_path / "data"
    write_heterophilous(root, "dropped_in.npz", classes=3)
    suite = tmp_path / "dropped.toml"
    suite.write_text(SUITE.format(dataset="dropped-in"))
    listed = harness("list", str(suite), "--profile", "cpu", "--device", "cpu", "--data-root", str(root))
    assert listed.returncode == 0, listed.stderr
    assert "1 cells, profile cpu" in listed.stdout  # one profile only: smoke and full are optional
    missing = harness("list", str(suite), "--profile", "cpu", "--device", "cpu")
    assert missing.returncode == 2 and missing.stderr.count("\n") == 1 and "dropped-in" in missing.stderr
    out = tmp_path / "out"
    ran = harness("run", str(suite), "--profile", "cpu", "--device", "cpu", "--no-progress", "--out", str(out),
                  env={ROOT_VARIABLE: str(root)})
    assert ran.returncode == 0, ran.stdout + ran.stderr
    shown = harness("show", str(out))
    assert shown.returncode == 0 and " ok " in shown.stdout, shown.stdout


def test_a_missing_data_root_is_one_line(tmp_path):
    result = harness("list", "suites/smoke.toml", "--data-root", str(tmp_path / "nowhere"))
    expected = f"error: --data-root {tmp_path / 'nowhere'}: no such folder"
    assert result.returncode == 2 and result.stderr.strip() == expected
