"""Records: schema-checked on write and read, atomic, named by the cell's hash, with the environment filled in."""
from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest
import torch

from harness.cells import config_hash
from harness.environment import collect_environment
from harness.records import (SCHEMA_VERSION, Environment, MeasurementRun, Metrics, Record, RecordError, load_records,
                             read_record, record_files, write_record)

ENVIRONMENT = Environment(git_commit="0" * 40, git_dirty=False, python="3.11.7", torch="2.13.0", torch_geometric="2.8.1",
                          dgl=None, ogb="1.3.6", device="test cpu", cpu_count=2, cuda=None, platform="linux")


def make_record(status: str = "ok", suite: str = "unit", **cell_and_metrics) -> Record:
    """A valid record; keywords that are metric names become metrics, the others cell fields."""
    metric_names = set(Metrics.model_fields) | {"solver_iterations"}
    metrics = {k: v for k, v in cell_and_metrics.items() if k in metric_names}
    cell = {"operator": "gcn", "connection": "rev", "layers": 3, "channels": 8, "device": "cpu",
            **{k: v for k, v in cell_and_metrics.items() if k not in metric_names}}
    return Record(suite=suite, profile="smoke", cell_id=config_hash(cell), cell=cell, measurements=["memory"],
                  status=status, error=None if status == "ok" else f"{status}: details", metrics=Metrics(**metrics),
                  runs={"memory": MeasurementRun(status=status, seconds=0.5)}, environment=ENVIRONMENT,
                  started_at=datetime.now(timezone.utc), seconds=0.5)


def test_round_trip_keeps_every_field(tmp_path):
    record = make_record(peak_allocated_bytes=123, step_seconds={"median": 0.2, "min": 0.1, "max": 0.3},
                         epoch_loss=[1.0, 0.5], solver_iterations=12)
    path = write_record(tmp_path, record)
    assert path == tmp_path / f"{record.cell_id}.json"
    again = read_record(path)
    assert again == record
    assert again.schema_version == SCHEMA_VERSION
    assert again.metric("step_seconds.median") == 0.2 and again.metric("solver_iterations") == 12
    assert again.metric("activation_bytes") is None and again.metric("no.such") is None


def test_write_leaves_no_temporary_file(tmp_path):
    write_record(tmp_path, make_record())
    write_record(tmp_path, make_record(peak_allocated_bytes=5))  # overwrite in place
    assert [p.name for p in tmp_path.iterdir()] == [f"{make_record().cell_id}.json"]


def test_interrupted_write_is_not_a_record(tmp_path):
    write_record(tmp_path, make_record())
    (tmp_path / ".abc.123.tmp").write_text("{ half a rec")
    (tmp_path / ".hidden.json").write_text("{ half a rec")
    assert len(record_files(tmp_path)) == 1 and len(load_records(tmp_path)) == 1


def test_invalid_record_is_refused_on_write(tmp_path):
    broken = make_record().model_copy(update={"status": "crashed"})  # model_copy does not validate
    with pytest.raises(ValueError):
        write_record(tmp_path, broken)
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("change, where", [
    (lambda d: d.pop("environment"), "environment"),
    (lambda d: d.update(status="crashed"), "status"),
    (lambda d: d.update(schema_version=99), "schema_version"),
    (lambda d: d.update(surprise=1), "surprise"),
    (lambda d: d["metrics"].update(peak_allocated_bytes="lots"), "metrics.peak_allocated_bytes"),
    (lambda d: d["environment"].update(cpu_count="two"), "environment.cpu_count"),
])
def test_invalid_record_is_refused_on_read_in_one_line(tmp_path, change, where):
    path = write_record(tmp_path, make_record(peak_allocated_bytes=1))
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))
    with pytest.raises(RecordError) as caught:
        read_record(path)
    assert str(caught.value).startswith(f"{path}: {where}") and "\n" not in str(caught.value)
    with pytest.raises(RecordError):
        load_records(tmp_path)
    assert load_records(tmp_path, strict=False) == {}


def test_unreadable_or_missing(tmp_path):
    (tmp_path / "x.json").write_text("not json")
    with pytest.raises(RecordError, match="x.json"):
        read_record(tmp_path / "x.json")
    with pytest.raises(RecordError, match="no such results folder"):
        load_records(tmp_path / "absent")


def test_environment_describes_this_machine():
    environment = collect_environment("cpu")
    assert environment.torch and environment.torch_geometric and environment.python
    assert environment.cpu_count >= 1 and environment.device
    assert environment.torch_threads == torch.get_num_threads()
    assert (environment.git_commit is None) == (environment.git_dirty is None)
