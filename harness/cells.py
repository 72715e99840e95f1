"""From a resolved :class:`~harness.spec.Suite` to the list of cells it measures.

A cell is one fully resolved configuration (every :class:`~harness.config.CellConfig` field, defaults filled in, plus
the device it runs on) and a stable identifier: the SHA-256 of its canonical JSON. The identifier names the record
file, so resuming a run and comparing two runs both match cells by configuration, whatever the suite, profile or
order they came from.

A grid is refused before it is expanded when the product of its axis lengths exceeds ``max_cells``
(:data:`MAX_CELLS` unless lifted): 200,000 cells take minutes to validate, and no one means to run that many. Each
cell's model options are checked as it is expanded (:func:`harness.model_options.check_model`).
"""
from __future__ import annotations

import hashlib
import itertools
import json
import math
import tomllib
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from pydantic import ValidationError

from .config import OPTION_TABLES, CellConfig, TrainOptions
from .model_options import check_model
from .records import cell_value, with_cell_values
from .spec import SpecError, Suite, describe

ID_LENGTH = 16
#: Cells a suite profile may have before ``--max-cells`` must say more are meant (the largest suite has ~100).
MAX_CELLS = 5000


@dataclass(frozen=True)
class Cell:
    """One point of the matrix."""

    id: str
    config: dict[str, Any]  # CellConfig fields + "device"
    label: str  # the grid-axis values, for progress lines and tables

    @property
    def settings(self) -> CellConfig:
        return CellConfig.model_validate({k: v for k, v in self.config.items() if k != "device"})


def config_hash(config: Mapping[str, Any]) -> str:
    """A stable identifier of a configuration: independent of key order, Python version and process."""
    canonical = json.dumps(config, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode()).hexdigest()[:ID_LENGTH]


def expand(suite: Suite, device: str, max_cells: int = MAX_CELLS) -> list[Cell]:
    """The cartesian product of the suite's axes over its base, minus excluded and duplicate cells, in file order."""
    names = list(suite.axes)
    size = math.prod(len(suite.axes[name]) for name in names)
    if size > max_cells:
        lengths = " x ".join(f"{len(suite.axes[name])} {name}" for name in names)
        raise SpecError(f"{suite.path}: grid: {size:,} cells ({lengths}) in profile {suite.profile!r}, more than "
                        f"{max_cells:,}; pass --max-cells {size} if that many are meant")
    cells: dict[str, Cell] = {}
    for values in itertools.product(*(suite.axes[name] for name in names)):
        raw = with_cell_values(suite.base, dict(zip(names, values)))
        config = {**_validate(suite, raw).model_dump(mode="json"), "device": device}
        if any(_matches(rule, config) for rule in suite.excludes):
            continue
        cell_id = config_hash(config)
        label = " ".join(f"{name.rsplit('.', 1)[-1]}={value}" for name, value in zip(names, values))
        cells.setdefault(cell_id, Cell(id=cell_id, config=config, label=label or "base"))
    if not cells:
        raise SpecError(f"{suite.path}: exclude: every cell of profile {suite.profile!r} is excluded; nothing to run")
    return list(cells.values())


def parse_selection(items: Sequence[str]) -> dict[str, list[Any]]:
    """``["layers=112", "channels=80,224"]`` → {"layers": [112], "channels": [80, 224]} (values read as TOML).

    A dotted key names an option (``model.aggr=max``); the same key twice widens the choice.
    """
    selection: dict[str, list[Any]] = {}
    for item in items:
        key, sep, values = item.partition("=")
        key = key.strip()
        if not sep or not key or not values.strip():
            raise SpecError(f"--only {item!r}: expected KEY=VALUE[,VALUE...], e.g. layers=112")
        selection.setdefault(key, []).extend(_toml_value(value.strip()) for value in values.split(","))
    return selection


def select(cells: Sequence[Cell], selection: Mapping[str, Sequence[Any]]) -> list[Cell]:
    """The cells whose configuration has one of the selected values for every selected key, in their order."""
    if not cells or not selection:
        return list(cells)
    fields = cells[0].config
    for key in selection:
        table, _, option = key.partition(".")
        if table not in fields or (option and not isinstance(fields[table], Mapping)):
            raise SpecError(f"--only {key}: not a cell field; fields: {', '.join(sorted(fields))}")
    rule: dict[str, Any] = {}  # the selection as an exclude-style rule, matched by the same code
    for key, values in selection.items():
        table, _, option = key.partition(".")
        if option:
            rule.setdefault(table, {})[option] = list(values)
        else:
            rule[key] = list(values)
    chosen = [cell for cell in cells if _matches(rule, cell.config)]
    if not chosen:
        wanted = " ".join(f"{key}={','.join(map(str, values))}" for key, values in selection.items())
        raise SpecError(f"--only {wanted}: no cell of this profile matches")
    return chosen


def _toml_value(text: str) -> Any:
    try:
        return tomllib.loads(f"value = {text}")["value"]
    except tomllib.TOMLDecodeError:
        return text  # a bare word: a name (gcn, rev, synthetic-arxiv)


def _validate(suite: Suite, raw: dict[str, Any]) -> CellConfig:
    try:
        config = CellConfig.model_validate(raw)
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        field = ".".join(str(part) for part in error["loc"])
        if error["type"] == "missing":
            raise SpecError(f"{suite.path}: base.{field}: missing; set it in [base] or as a [grid] axis") from None
        raise SpecError(f"{suite.path}: {describe(exc, CellConfig)}") from None
    try:
        check_model(config)
    except ValueError as exc:
        raise SpecError(f"{suite.path}: {exc}") from None
    return config


def _matches(rule: Mapping[str, Any], config: Mapping[str, Any]) -> bool:
    for key, wanted in rule.items():
        if key in OPTION_TABLES:
            if not all(_value_matches(value, _option(config, f"{key}.{option}")) for option, value in wanted.items()):
                return False
        elif not _value_matches(wanted, config[key]):
            return False
    return True


def _option(config: Mapping[str, Any], key: str) -> Any:
    """An option's value in a cell; a training option the cell leaves at its default (and so does not write) has
    its default value."""
    value = cell_value(config, key)
    table, _, option = key.partition(".")
    if value is None and table == "train" and option in TrainOptions.model_fields:
        return TrainOptions.model_fields[option].default
    return value


def _value_matches(wanted: Any, actual: Any) -> bool:
    return actual in wanted if isinstance(wanted, list) else actual == wanted
