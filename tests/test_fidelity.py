"""The ``fidelity`` measurement on a tiny graph, and the ``fidelity`` and ``overhead`` suites as they expand."""
from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from harness.cells import expand
from harness.config import CellConfig, MeasurementSettings
from harness.measurements import MEASUREMENTS, CellContext
from harness.measurements.fidelity import bfloat16_unsupported
from harness.records import Metrics
from harness.spec import load_suite

SUITES = Path(__file__).resolve().parents[1] / "suites"


def tiny_cell(gradient_cosine_max_layers: int | None = None, **overrides: object) -> CellContext:
    settings = dict(operator="gcn", connection="rev", layers=3, channels=8, dataset="synthetic-arxiv", scale=0.002,
                    model={"impl": "paper"}, seed=0)
    settings.update(overrides)
    return CellContext(config=CellConfig(**settings), device=torch.device("cpu"),
                       settings=MeasurementSettings(gradient_cosine_max_layers=gradient_cosine_max_layers))


def measure(**overrides: object) -> dict:
    metrics = MEASUREMENTS.get("fidelity")(tiny_cell(**overrides))
    Metrics.model_validate(metrics)  # the record schema accepts what the measurement returns
    return metrics


@pytest.mark.parametrize("connection", ["rev", "wt-rev"])
def test_a_few_layers_rebuild_the_input_and_agree_with_float64(connection: str) -> None:
    metrics = measure(connection=connection)
    errors = metrics["reconstruction_error"]
    assert all(math.isfinite(value) for value in errors.values())
    assert errors["float64"] < 1e-12
    assert 0 < errors["float32"] < 1e-5
    assert metrics["gradient_cosine"] == pytest.approx(1.0, abs=1e-6)
    assert "gradient_cosine_skipped" not in metrics
    assert metrics["params"] > 0


def test_bfloat16_is_measured_exactly_where_the_device_supports_it() -> None:
    metrics = measure()
    reason = bfloat16_unsupported(torch.device("cpu"))
    if reason is None:
        # bfloat16 keeps 8 significant bits: its drift is finite and far above float32's
        assert metrics["reconstruction_error"]["bfloat16"] > 10 * metrics["reconstruction_error"]["float32"]
        assert "bfloat16" not in metrics["reconstruction_skipped"]
    else:
        assert metrics["reconstruction_skipped"]["bfloat16"] == reason
        assert "bfloat16" not in metrics["reconstruction_error"]


def test_a_cpu_without_bfloat16_instructions_skips_it_and_says_why(monkeypatch: pytest.MonkeyPatch) -> None:
    for probe in ("_is_avx512_bf16_supported", "_is_amx_tile_supported"):
        monkeypatch.setattr(torch.cpu, probe, lambda: False, raising=False)
    metrics = measure()
    assert "no bfloat16 instructions" in metrics["reconstruction_skipped"]["bfloat16"]
    assert set(metrics["reconstruction_error"]) == {"float64", "float32"}


def test_a_dtype_the_operator_cannot_compute_is_skipped_with_the_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from models import fidelity

    real = fidelity.reconstruction_error

    def no_bfloat16_kernel(*args, dtype=torch.float32, **kwargs):
        if dtype is torch.bfloat16:
            raise NotImplementedError('"addmm_out_sparse_csr_impl_mkl" not implemented for \'BFloat16\'')
        return real(*args, dtype=dtype, **kwargs)

    monkeypatch.setattr(fidelity, "reconstruction_error", no_bfloat16_kernel)
    monkeypatch.setattr("harness.measurements.fidelity.bfloat16_unsupported", lambda device: None)
    metrics = measure()
    assert metrics["reconstruction_skipped"]["bfloat16"].startswith("not computable in bfloat16 on cpu: ")
    assert "addmm_out_sparse_csr" in metrics["reconstruction_skipped"]["bfloat16"]


def test_the_float64_gradient_reference_is_capped_by_the_suite_setting() -> None:
    metrics = measure(layers=3, gradient_cosine_max_layers=2)
    assert "gradient_cosine" not in metrics
    assert "3 layers > gradient_cosine_max_layers = 2" in metrics["gradient_cosine_skipped"]
    assert metrics["reconstruction_error"]["float32"] < 1e-5  # the reconstruction is still measured


def test_fidelity_needs_a_reversible_connection() -> None:
    with pytest.raises(ValueError, match="reversible connection"):
        measure(connection="res")


def test_the_fidelity_cap_is_a_suite_setting_not_a_training_option() -> None:
    with pytest.raises(ValueError, match="gradient_cosine_max_layers"):
        CellConfig(operator="gcn", connection="rev", layers=2, channels=8, dataset="synthetic-arxiv",
                   train={"gradient_cosine_max_layers": 100})
    suite = load_suite(SUITES / "fidelity.toml", "cpu")
    assert suite.settings.gradient_cosine_max_layers == 100


# --- the suites ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("profile, depths, cells", [("smoke", {1, 10, 100}, 6), ("cpu", {1, 10, 100, 1001}, 8),
                                                   ("full", {1, 10, 100, 1001}, 8)])
def test_fidelity_suite_expands_to_rev_and_wt_rev_at_every_depth(profile: str, depths: set, cells: int) -> None:
    suite = load_suite(SUITES / "fidelity.toml", profile)
    expanded = expand(suite, "cpu")
    assert suite.measurements == ("fidelity",)
    assert len(expanded) == cells
    assert {(c.config["connection"], c.config["layers"]) for c in expanded} == \
        {(connection, layers) for connection in ("rev", "wt-rev") for layers in depths}
    cap = suite.settings.gradient_cosine_max_layers
    for cell in expanded:
        assert cap >= 100  # the 100-layer cosine is always measured …
        assert cell.config["layers"] <= cap or cell.config["layers"] == 1001  # … the 1001-layer reference never


@pytest.mark.parametrize("profile, depths, graphs", [
    ("smoke", {2, 8}, 1), ("cpu", {28, 112}, 2), ("full", {28, 112}, 2)])
def test_overhead_suites_expand_to_operators_connections_depths_and_graphs(profile: str, depths: set,
                                                                           graphs: int) -> None:
    memory = [load_suite(SUITES / name, profile) for name in ("overhead.toml", "overhead-gen.toml")]
    paired = [load_suite(SUITES / name, profile) for name in ("overhead-paired.toml", "overhead-paired-gen.toml")]
    assert {s.measurements for s in memory} == {("memory",)} and {s.measurements for s in paired} == {("paired-time",)}
    assert all(s.settings.compared_connections == ["res", "rev", "rev-pyg"] for s in paired)
    memory_cells = [c for s in memory for c in expand(s, "cpu")]
    paired_cells = [c for s in paired for c in expand(s, "cpu")]
    # the paired cell is the reference (res); rev and rev-pyg are timed beside it, and every paired cell's three
    # connections have a memory cell of the same configuration
    assert {c.config["connection"] for c in paired_cells} == {"res"}
    key = ("operator", "layers", "dataset", "scale", "channels", "groups", "mode", "model")
    memory_keys = {(c.config["connection"], *(str(c.config[k]) for k in key)) for c in memory_cells}
    for cell in paired_cells:
        for connection in ("res", "rev", "rev-pyg"):
            assert (connection, *(str(cell.config[k]) for k in key)) in memory_keys, cell.label
    assert {c.config["operator"] for c in paired_cells} == {"gcn", "sage", "gen"}
    assert {c.config["layers"] for c in paired_cells} == depths
    assert len({(c.config["dataset"], c.config["scale"]) for c in paired_cells}) == graphs
    if profile != "smoke":
        assert {c.config["channels"] for c in paired_cells} == {128}
        assert all(s.settings.rounds >= 15 for s in paired)
