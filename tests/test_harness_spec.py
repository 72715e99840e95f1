"""Suite files: validation errors are one line naming file, field and allowed values; grids expand as written."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import models
from harness.cells import config_hash, expand, parse_selection, select
from harness.datasets import DATASETS
from harness.spec import SpecError, load_suite

REPOSITORY = Path(__file__).resolve().parents[1]

MINIMAL = """
[suite]
measurements = ["memory"]

[base]
operator = "gcn"
connection = "res"
layers = 3
channels = 8
dataset = "DATASET"

[grid]
connection = ["res", "rev"]
layers = [3, 7]

[profiles.smoke]
[profiles.full]
"""


@pytest.fixture(scope="module")
def dataset_name() -> str:
    return DATASETS.names()[0]


@pytest.fixture
def write_suite(tmp_path, dataset_name):
    def write(text: str) -> Path:
        path = tmp_path / "suite.toml"
        path.write_text(text.replace("DATASET", dataset_name))
        return path

    return write


def load_error(path: Path, profile: str = "smoke") -> str:
    with pytest.raises(SpecError) as caught:
        expand(load_suite(path, profile), "cpu")
    message = str(caught.value)
    assert "\n" not in message and message.startswith(f"{path}: ")
    return message


# --- every error path is one line -------------------------------------------------------------------------------------

ALLOWED_CELL_KEYS = "backend, channels, connection, dataset, dropout, epochs, groups"


@pytest.mark.parametrize("old, new, expected", [
    ("layers = 3\n", "layerz = 3\n", f"base.layerz: unknown key; allowed: {ALLOWED_CELL_KEYS}"),
    ('measurements = ["memory"]', 'measurements = ["memory"]\nsteps = 3', "suite.steps: unknown key; allowed: compared"),
    ("layers = 3\n", "layers = 3\ntrain = { optimzer = \"adam\" }\n", "base.train.optimzer: unknown key; allowed: "),
    ("layers = 3\n", "layers = 3\ntrain = { optimizer = \"adamx\" }\n",
     "base.train.optimizer: unknown optimizer 'adamx'; allowed: adam, adamw, rmsprop, sgd"),
    ("[profiles.smoke]", "[profiles.smoke]\ngrid = { train = { grad_clip = [1.0, -1.0] } }",
     "profiles.smoke.grid.train.grad_clip[1]: Input should be greater than 0"),
    ("[profiles.smoke]", "[profiles.smoke]\nbase = { chanels = 8 }",
     f"profiles.smoke.base.chanels: unknown key; allowed: {ALLOWED_CELL_KEYS}"),
    ("[grid]", "[gird]", "gird: unknown key; allowed: base, exclude, grid, profiles, suite"),
    ("layers = 3\n", 'layers = "three"\n', "base.layers: Input should be a valid integer"),
    ("layers = [3, 7]", 'layers = [3, "seven"]', "grid.layers[1]: Input should be a valid integer"),
    ("layers = 3\n", "layers = 0\n", "base.layers: Input should be greater than 0"),
    ('operator = "gcn"', 'operator = "gin"', "base.operator: unknown operator 'gin'; allowed: gat, gcn, gen, sage"),
    ('connection = ["res", "rev"]', 'connection = ["res", "revnet"]',
     "grid.connection[1]: unknown connection 'revnet'; allowed: deq, res, rev, rev-dgl, rev-pyg, wt-res, wt-rev"),
    ('dataset = "DATASET"', 'dataset = "imagenet"', "base.dataset: unknown dataset 'imagenet'; allowed: "),
    ('measurements = ["memory"]', 'measurements = ["speed"]',
     "suite.measurements[0]: unknown measurement 'speed'; allowed: estimate, fidelity, memory, paired-time, time, train"),
    ("layers = [3, 7]", "layers = []", "grid.layers: empty list; give at least one value"),
    ('measurements = ["memory"]', "measurements = []", "suite.measurements: empty list; give at least one value"),
    ("channels = 8\n", 'channels = 8\nmode = "half"\n', "base.mode: Input should be 'full', 'mini', 'neighbor', 'layerwise' or 'variance-reduced' (got 'half')"),
    ('operator = "gcn"\n', "", "base.operator: missing; set it in [base] or as a [grid] axis"),
    ("[profiles.smoke]\n[profiles.full]", "[profiles]", "profiles: none defined; a suite defines at least one [profiles.NAME]"),
    ("[profiles.full]", '[profiles.full]\n[[exclude]]\nconnection = ["res", "rev"]',
     "exclude: every cell of profile 'smoke' is excluded; nothing to run"),
    ("[profiles.full]", '[profiles.full]\n[[exclude]]\noperater = "gcn"', "exclude[0].operater: unknown key"),
    ("layers = 3\n", "layers = = 3\n", "not valid TOML: "),
])
def test_invalid_suite_is_one_line(write_suite, old, new, expected):
    assert old in MINIMAL
    message = load_error(write_suite(MINIMAL.replace(old, new, 1)))
    assert expected in message


def test_unknown_profile_lists_the_defined_ones(write_suite):
    path = write_suite(MINIMAL)
    with pytest.raises(SpecError, match=r"profile 'gpu' is not defined; allowed: full, smoke$"):
        load_suite(path, "gpu")


def test_missing_file(tmp_path):
    with pytest.raises(SpecError, match="no such suite file"):
        load_suite(tmp_path / "absent.toml", "smoke")


def test_cli_reports_a_bad_suite_in_one_line_without_traceback(write_suite):
    path = write_suite(MINIMAL.replace('operator = "gcn"', 'operator = "gin"'))
    done = subprocess.run([sys.executable, "-m", "harness", "list", str(path)], cwd=REPOSITORY,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "base.operator: unknown operator 'gin'" in errors[0]
    assert "Traceback" not in done.stderr


# --- expansion ---------------------------------------------------------------------------------------------------------


def test_grid_is_the_product_in_file_order(write_suite):
    cells = expand(load_suite(write_suite(MINIMAL), "smoke"), "cpu")
    assert [(c.config["connection"], c.config["layers"]) for c in cells] == [
        ("res", 3), ("res", 7), ("rev", 3), ("rev", 7)]
    assert all(c.config["device"] == "cpu" and c.config["groups"] == 2 for c in cells)  # defaults resolved
    assert len({c.id for c in cells}) == 4


def test_excludes_match_values_lists_and_defaults(write_suite):
    text = MINIMAL + '\n[[exclude]]\nconnection = "rev"\nlayers = [7, 99]\n\n[[exclude]]\nmode = "full"\nlayers = 3\nconnection = "res"\n'
    cells = expand(load_suite(write_suite(text), "smoke"), "cpu")
    assert [(c.config["connection"], c.config["layers"]) for c in cells] == [("res", 7), ("rev", 3)]


def test_option_tables_are_axes_and_reach_the_cell(write_suite):
    # gen, whose constructor declares aggr and mlp_layers: a cell's options are checked against its operator
    text = MINIMAL.replace('"gcn"', '"gen"').replace("[grid]", '[base.model]\naggr = "softmax"\n\n[grid]') + \
        '\n[grid.model]\nmlp_layers = [1, 2]\n\n[[exclude]]\nmodel = { mlp_layers = 2 }\nconnection = "rev"\n'
    cells = expand(load_suite(write_suite(text), "smoke"), "cpu")
    assert len(cells) == 8 - 2
    assert all(c.config["model"]["aggr"] == "softmax" for c in cells)
    assert {c.config["model"]["mlp_layers"] for c in cells} == {1, 2}
    assert "mlp_layers=1" in cells[0].label


def test_profiles_override_base_grid_and_settings(write_suite):
    text = MINIMAL.replace("[profiles.full]", """[profiles.full]
suite = { timeout_s = 5, time_steps = 9 }
base = { channels = 64 }
grid = { layers = [3, 28, 112] }
exclude = [{ connection = "res", layers = 112 }]
""")
    path = write_suite(text)
    smoke, full = load_suite(path, "smoke"), load_suite(path, "full")
    assert (smoke.timeout_s, smoke.time_steps) == (600.0, 5)
    assert (full.timeout_s, full.time_steps) == (5.0, 9)
    cells = expand(full, "cpu")
    assert len(cells) == 2 * 3 - 1
    assert {c.config["channels"] for c in cells} == {64}
    assert len(expand(smoke, "cpu")) == 4


def test_only_selects_cells_by_value_in_file_order(write_suite):
    cells = expand(load_suite(write_suite(MINIMAL), "smoke"), "cpu")
    chosen = select(cells, parse_selection(["layers=7"]))
    assert [(c.config["connection"], c.config["layers"]) for c in chosen] == [("res", 7), ("rev", 7)]
    chosen = select(cells, parse_selection(["layers=3,7", "connection=rev"]))  # every key must hold
    assert [(c.config["connection"], c.config["layers"]) for c in chosen] == [("rev", 3), ("rev", 7)]
    assert select(cells, {}) == cells
    assert [c.id for c in select(cells, parse_selection(["layers=3"]))] == [cells[0].id, cells[2].id]  # same ids


@pytest.mark.parametrize("only,expected", [
    (["layers"], "expected KEY=VALUE"),
    (["layer=3"], "--only layer: not a cell field; fields: backend, channels"),
    (["connection=deq"], "--only connection=deq: no cell of this profile matches"),
    (["groups.x=1"], "--only groups.x: not a cell field"),
])
def test_only_errors_are_one_line(write_suite, only, expected):
    cells = expand(load_suite(write_suite(MINIMAL), "smoke"), "cpu")
    with pytest.raises(SpecError, match=expected.replace(".", r"\.")) as caught:
        select(cells, parse_selection(only))
    assert "\n" not in str(caught.value)


def test_duplicate_axis_values_give_one_cell(write_suite):
    cells = expand(load_suite(write_suite(MINIMAL.replace("layers = [3, 7]", "layers = [3, 3]")), "smoke"), "cpu")
    assert len(cells) == 2


def test_config_hash_is_stable_and_order_free():
    config = {"operator": "gcn", "layers": 3, "model": {"b": 1, "a": 2.5}, "device": "cpu"}
    reordered = {"device": "cpu", "model": {"a": 2.5, "b": 1}, "layers": 3, "operator": "gcn"}
    assert config_hash(config) == config_hash(reordered)
    assert config_hash(config) != config_hash({**config, "layers": 4})
    # the same in a fresh interpreter (no hash randomisation can leak in)
    code = f"from harness.cells import config_hash; print(config_hash({config!r}))"
    done = subprocess.run([sys.executable, "-c", code], cwd=REPOSITORY, capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == config_hash(config)


def test_device_is_part_of_the_cell(write_suite):
    suite = load_suite(write_suite(MINIMAL), "smoke")
    assert {c.id for c in expand(suite, "cpu")}.isdisjoint(c.id for c in expand(suite, "cuda"))


# --- the shipped smoke suite -------------------------------------------------------------------------------------------


def test_smoke_suite_covers_the_matrix():
    suite = load_suite(REPOSITORY / "suites" / "smoke.toml", "smoke")
    cells = expand(suite, "cpu")
    assert len(cells) >= 32
    assert {c.config["operator"] for c in cells} == set(models.OPERATORS.names())
    assert {c.config["connection"] for c in cells} >= {"res", "rev", "wt-res", "wt-rev", "deq"}
    assert {c.config["mode"] for c in cells} == {"full", "mini"}
    assert {"memory", "time"} <= set(suite.measurements)
    assert all(DATASETS.names() and c.config["dataset"].startswith("synthetic-") for c in cells)
    assert expand(load_suite(REPOSITORY / "suites" / "smoke.toml", "full"), "cpu")


def test_a_suite_needs_only_the_profile_it_runs(write_suite):
    suite = load_suite(write_suite(MINIMAL.replace("[profiles.smoke]\n[profiles.full]", "[profiles.cpu]")), "cpu")
    assert suite.profile == "cpu"
    assert "profile 'smoke' is not defined; allowed: cpu" in load_error(
        write_suite(MINIMAL.replace("[profiles.smoke]\n[profiles.full]", "[profiles.cpu]")))


def test_the_papers_recipes_are_in_their_profiles():
    """The recipe is data in the suite: what a GPU user runs is what the paper trained (its code's settings)."""
    proteins = {c.config["connection"]: c.config for c in expand(load_suite(REPOSITORY / "suites" / "proteins.toml",
                                                                              "train"), "cuda")}
    assert set(proteins) == {"res", "rev", "wt-res", "wt-rev", "deq"}
    for config in proteins.values():
        assert (config["layers"], config["epochs"], config["lr"], config["mode"], config["num_parts"]) == (
            112, 2000, 1e-3, "mini", 10)
        assert config["train"] == {"grad_clip": 1.0, "eval_parts": 3, "eval_views": 10}  # the rest at defaults
    for name in ("arxiv", "arxiv-gen", "arxiv-gat"):
        suite = load_suite(REPOSITORY / "suites" / f"{name}.toml", "full")
        assert "train" in suite.measurements
        for cell in expand(suite, "cuda"):
            assert (cell.config["dataset"], cell.config["epochs"], cell.config["mode"]) == ("ogbn-arxiv", 2000, "full")
            assert cell.settings.train.optimizer == "adam" and cell.settings.train.restore_best


def test_the_real_data_cpu_profile_holds_the_claims_and_cpu_all_the_whole_grid():
    path = REPOSITORY / "suites" / "real-data.toml"
    claims = {(c.config["dataset"], c.config["operator"], c.config["connection"], c.config["layers"])
              for c in expand(load_suite(path, "cpu"), "cpu")}
    everything = {(c.config["dataset"], c.config["operator"], c.config["connection"], c.config["layers"])
                  for c in expand(load_suite(path, "cpu-all"), "cpu")}
    for dataset in ("tolokers", "minesweeper"):
        assert {(dataset, "gcn", "res", 4), (dataset, "sage", "res", 4)} <= claims  # the controls
        assert {(dataset, "sage", "rev", layers) for layers in (4, 16, 64)} <= claims
        assert {(dataset, "sage", kind, 64) for kind in ("res", "wt-rev", "deq")} <= everything
    assert claims < everything and {c for c in claims if c[2] not in ("res", "rev")} == set()


@pytest.mark.parametrize("path", sorted((REPOSITORY / "suites").glob("*.toml")), ids=lambda path: path.stem)
def test_every_committed_suite_loads_and_expands_in_every_profile(path):
    """A suite file is data a user runs hours later (or on a GPU): each of its profiles must load and give cells."""
    import tomllib

    for profile in tomllib.loads(path.read_text())["profiles"]:
        cells = expand(load_suite(path, profile), "cpu")
        assert cells, f"{path.name} profile {profile}: no cells"
        assert len({cell.id for cell in cells}) == len(cells), f"{path.name} profile {profile}: repeated cells"
