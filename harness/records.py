"""Records: one JSON file per cell, schema-validated on write and on read, written atomically.

A record is the only thing that leaves a run: tables, figures, ``show`` and ``compare`` read records and nothing else.
It is written to a temporary file in the same folder and renamed over its final name, so a run killed at any moment
leaves either the complete previous record or the complete new one, never half a file.
"""
from __future__ import annotations

import json
import os
import stat
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, Mapping, Optional, Union

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .claims import owner_tag

SCHEMA_VERSION = 1
#: ``killed``: ended by a SIGKILL that no OOM kill and no budget explain (see :mod:`harness.failures`); a plain
#: resume measures it again, as it says nothing about the cell.
STATUSES = ("ok", "oom", "error", "timeout", "killed")
Status = Literal["ok", "oom", "error", "timeout", "killed"]

JSONScalar = Union[int, float, str, bool, None]
ExtraMetric = Union[JSONScalar, list[JSONScalar], dict[str, JSONScalar]]


class RecordError(ValueError):
    """A record file is missing, unreadable or does not match the schema (one line)."""


class StepSeconds(BaseModel):
    model_config = ConfigDict(extra="forbid")
    median: float
    min: float
    max: float


class PairedRatio(BaseModel):
    """One pair of a paired timing: the per-round ratio numerator/denominator, beside its ideal."""

    model_config = ConfigDict(extra="forbid")
    numerator: str
    denominator: str
    median: float  # median over rounds of (numerator's step) / (denominator's step, same round)
    low: float  # the bootstrap interval of that median (confidence_level)
    high: float
    # the cost model's ratio, median over rounds, from the reference's F0, F, B and U of each round; None where a
    # compared connection declares no step cost (deq)
    ideal: Optional[float] = None
    ideal_formula: Optional[str] = None  # e.g. "(F0 + F + B + U) / (F + B + U)"
    over_ideal_median: Optional[float] = None  # median over rounds of ratio / ideal, and its bootstrap interval
    over_ideal_low: Optional[float] = None
    over_ideal_high: Optional[float] = None


class PairedTiming(BaseModel):
    """The ``paired-time`` measurement: every compared model's step in each round, in one process."""

    model_config = ConfigDict(extra="forbid")
    connections: list[str]  # the reference first
    rounds: int
    threads: int
    confidence_level: float
    order_seed: int
    step_seconds: dict[str, list[float]]  # connection -> one full training step per round
    reference_forward_seconds: list[float]  # F: the reference's forward (with the loss) inside its step
    reference_backward_seconds: list[float]  # B
    reference_forward_nograd_seconds: list[float]  # F0: the same forward under torch.no_grad()
    reference_update_seconds: list[float]  # U: the rest of the reference's step (zero_grad, clipping, update)
    step_cost: dict[str, Optional[list[int]]]  # connection -> [no-grad forwards, forwards, backwards] of one step
    ratios: list[PairedRatio]


class Metrics(BaseModel):
    """The harness's metrics, typed; anything else (``model.extra_metrics()``) is kept as a JSON value."""

    model_config = ConfigDict(extra="allow")
    __pydantic_extra__: dict[str, ExtraMetric] = Field(init=False)

    params: Optional[int] = None
    peak_allocated_bytes: Optional[int] = None
    baseline_bytes: Optional[int] = None
    activation_bytes: Optional[int] = None
    param_state_bytes: Optional[int] = None
    peak_reserved_bytes: Optional[int] = None
    peak_rss_bytes: Optional[int] = None
    # the ``estimate`` measurement: the four above computed on fake tensors (harness.fake_meter)
    estimated_peak_bytes: Optional[int] = None
    estimated_baseline_bytes: Optional[int] = None
    estimated_activation_bytes: Optional[int] = None
    estimated_param_state_bytes: Optional[int] = None
    step_seconds: Optional[StepSeconds] = None
    paired_time: Optional[PairedTiming] = None
    epoch_loss: Optional[list[float]] = None
    best_valid: Optional[float] = None
    test_at_best_valid: Optional[float] = None
    epochs_run: Optional[int] = None


class Environment(BaseModel):
    """Where a record was measured: enough to tell two machines or two checkouts apart."""

    model_config = ConfigDict(extra="forbid")
    git_commit: Optional[str]
    git_dirty: Optional[bool]
    python: str
    torch: Optional[str]
    torch_geometric: Optional[str]
    dgl: Optional[str]
    ogb: Optional[str]
    device: str
    cpu_count: int
    cuda: Optional[str]
    platform: str
    # torch's intra-op threads (OMP_NUM_THREADS): time depends on it, and allocator peaks slightly (per-thread
    # buffers); None in records written before it was kept
    torch_threads: Optional[int] = None
    # the machine's name (GNN1000_MACHINE, else the host name): the report says which machine each series is from;
    # None in records written before it was kept
    machine: Optional[str] = None
    # how many cells the run measured at once (harness run --jobs): a train cell's seconds per epoch are slower when
    # it shared the cores; None in records written before it was kept (they ran one at a time)
    cells_side_by_side: Optional[int] = None


class MeasurementRun(BaseModel):
    """One subprocess of a cell (memory, time, train, …)."""

    model_config = ConfigDict(extra="forbid")
    status: Status
    seconds: float
    error: Optional[str] = None
    exit_code: Optional[int] = None
    # the process's stdout and stderr, relative to the results folder (logs/<cell>.<measurement>.log); None in
    # records written before it was kept
    log_path: Optional[str] = None


class Record(BaseModel):
    model_config = ConfigDict(extra="forbid")

    schema_version: Literal[1] = SCHEMA_VERSION
    suite: str
    profile: str
    cell_id: str
    cell: dict[str, Any]
    measurements: list[str]
    status: Status
    error: Optional[str] = None
    metrics: Metrics
    runs: dict[str, MeasurementRun]
    memory_budget_bytes: Optional[int] = None
    environment: Environment
    started_at: datetime
    seconds: float
    # a hash of the code the measurement ran (harness.fingerprint): a run re-measures a record of another one;
    # None in records written before fingerprints were kept
    code_fingerprint: Optional[str] = None
    # the training step every measurement of the cell ran (optimizer, lr, clipping, input dropout, mode, ...), all
    # options resolved: memory and time cells measure the step that train cells train with
    training_step: Optional[dict[str, JSONScalar]] = None
    # the log of the measurement that decided the status (the failed one, else the last), relative to the results
    # folder: a failure's traceback is there; None in records written before it was kept
    log_path: Optional[str] = None

    def metric(self, path: str) -> Any:
        """A metric by dotted path, e.g. ``peak_allocated_bytes`` or ``step_seconds.median``; None when absent."""
        value: Any = self.metrics.model_dump()
        for part in path.split("."):
            if not isinstance(value, dict) or part not in value:
                return None
            value = value[part]
        return value


def cell_value(cell: Mapping[str, Any], key: str) -> Any:
    """A cell field by name (``layers``), or an option of one of its tables by dotted name (``model.aggr``);
    None when absent. The one reader of dotted keys: suites' axes, ``--only``, ``list`` and the report use it."""
    table, _, option = key.partition(".")
    if option:
        options = cell.get(table)
        return options.get(option) if isinstance(options, Mapping) else None
    return cell.get(key)


def with_cell_values(cell: Mapping[str, Any], values: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``cell`` with each (possibly dotted) key of ``values`` set; option tables are copied, not shared."""
    updated = {key: dict(value) if isinstance(value, Mapping) else value for key, value in cell.items()}
    for key, value in values.items():
        table, _, option = key.partition(".")
        if option:
            updated.setdefault(table, {})[option] = value
        else:
            updated[key] = value
    return updated


def record_path(folder: Path, cell_id: str) -> Path:
    return Path(folder) / f"{cell_id}.json"


def write_record(folder: Path, record: Record) -> Path:
    """Validate and write ``record`` as ``<folder>/<cell_id>.json``, atomically."""
    record = Record.model_validate(record.model_dump())  # re-check: a record built field by field is not validated
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    target = record_path(folder, record.cell_id)
    # the owner in the name: a starting run removes only the leftovers of runs that are gone (harness.claims)
    fd, temporary = tempfile.mkstemp(prefix=f".{record.cell_id}.{owner_tag()}.", suffix=".tmp", dir=folder)
    try:
        data = record.model_dump(mode="json")
        data["metrics"] = {name: value for name, value in data["metrics"].items() if value is not None}
        with os.fdopen(fd, "w") as handle:
            json.dump(data, handle, indent=2)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return target


#: A record is a few KiB (a paired timing some hundred); anything far larger is not one, and is not read whole.
RECORD_MAX_BYTES = 64 * 1024**2


def read_record(path: Path) -> Record:
    try:
        # stat before open: opening a FIFO or a device named *.json would block or never end
        if not stat.S_ISREG(os.stat(path).st_mode):
            raise RecordError(f"{path}: not a regular file")
        with open(path, "rb") as handle:
            data = handle.read(RECORD_MAX_BYTES + 1)
        if len(data) > RECORD_MAX_BYTES:
            raise RecordError(f"{path}: larger than {RECORD_MAX_BYTES // 1024**2} MiB: not a record")
        return Record.model_validate_json(data)
    except OSError as exc:
        raise RecordError(f"{path}: cannot read: {exc.strerror}") from None
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        where = ".".join(str(part) for part in error["loc"]) or "(file)"
        raise RecordError(f"{path}: {where}: {error['msg']}") from None


def record_files(folder: Path) -> list[Path]:
    """The record files of a results folder (temporary files of an interrupted write are not records)."""
    return sorted(path for path in Path(folder).glob("*.json") if not path.name.startswith("."))


def load_records(folder: Path, strict: bool = True, skipped: Optional[list[str]] = None) -> dict[str, Record]:
    """All records of ``folder`` by cell id. ``strict=False`` skips invalid files instead of raising, appending the
    one-line reason of each to ``skipped`` (when given) so that the caller can say what it left out."""
    folder = Path(folder)
    if not folder.is_dir():
        raise RecordError(f"{folder}: no such results folder")
    records: dict[str, Record] = {}
    for path in record_files(folder):
        try:
            record = read_record(path)
        except RecordError as exc:
            if strict:
                raise
            if skipped is not None:
                skipped.append(str(exc))
            continue
        records[record.cell_id] = record
    return records


def json_schema() -> dict[str, Any]:
    """The record schema as JSON Schema, for readers outside Python."""
    return Record.model_json_schema()
