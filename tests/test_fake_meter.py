"""The ``estimate`` measurement (fake tensors) held to the exact meter, cell by cell, on twins small enough to measure.

``suites/estimate-validation*.toml`` (smoke) runs every cell twice through the harness, each measurement in its own
worker process: ``memory`` (the profiler replay) and ``estimate``. What is bounded, and why:

- what was live before the step (``baseline_bytes``), the bytes the forward pass keeps (``activation_bytes``) and
  the parameter state agree to the byte for every operator and connection kind;
- the peak agrees to the byte where no kernel allocates a buffer inside one call (GEN with softmax aggregation,
  GCN/SAGE through edge_index message passing); PyG's scatter max (GEN, max aggregation) and the CSR product (our
  GCN/SAGE) have such buffers, which the estimate cannot see: there the peak must agree within 5 %.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from harness.records import load_records

REPOSITORY = Path(__file__).resolve().parent.parent
SUITES = ("estimate-validation.toml", "estimate-validation-proteins.toml")
KERNEL_BUFFER_TOLERANCE = 0.05

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def records(tmp_path_factory: pytest.TempPathFactory) -> dict:
    out = tmp_path_factory.mktemp("estimate-validation")
    for suite in SUITES:
        run = subprocess.run([sys.executable, "-m", "harness", "run", f"suites/{suite}", "--profile", "smoke",
                              "--device", "cpu", "--out", str(out), "--no-progress"], cwd=REPOSITORY,
                             env={**os.environ, "PYTHONPATH": str(REPOSITORY)}, capture_output=True, text=True,
                             timeout=900)
        assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    loaded = load_records(out)
    assert len(loaded) == 11 and all(r.status == "ok" for r in loaded.values()), \
        [(r.cell_id, r.status, r.error) for r in loaded.values()]
    return loaded


def _no_kernel_buffer(cell: dict) -> bool:
    if cell["operator"] == "gen":
        return cell["model"].get("aggr", "softmax") == "softmax"
    return cell["model"].get("sparse", True) is False


def test_resident_activation_and_parameter_bytes_are_exact(records: dict) -> None:
    for record in records.values():
        metrics = record.metrics.model_dump()
        label = f"{record.cell['operator']}/{record.cell['connection']}"
        assert metrics["estimated_baseline_bytes"] == metrics["baseline_bytes"], label
        assert metrics["estimated_activation_bytes"] == metrics["activation_bytes"], label
        assert metrics["estimated_param_state_bytes"] == metrics["param_state_bytes"], label


def test_peak_is_exact_without_kernel_buffers_and_within_them_otherwise(records: dict) -> None:
    exact = 0
    for record in records.values():
        metrics, cell = record.metrics.model_dump(), record.cell
        ratio = metrics["estimated_peak_bytes"] / metrics["peak_allocated_bytes"]
        label = f"{cell['operator']}/{cell['connection']}: estimate/meter = {ratio:.4f}"
        if _no_kernel_buffer(cell):
            assert ratio == 1.0, label
            exact += 1
        else:
            assert abs(ratio - 1.0) <= KERNEL_BUFFER_TOLERANCE, label
    assert exact == 2, "the arxiv GEN cells (softmax aggregation) must be among the exact ones"
