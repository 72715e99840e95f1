"""From a resolved :class:`~harness.spec.Suite` to the list of cells it measures.

A cell is one fully resolved configuration (every :class:`~harness.spec.CellConfig` field, defaults filled in, plus
the device it runs on) and a stable identifier: the SHA-256 of its canonical JSON. The identifier names the record
file, so resuming a run and comparing two runs both match cells by configuration, whatever the suite, profile or
order they came from.
"""
from __future__ import annotations

import hashlib
import itertools
import json
from dataclasses import dataclass
from typing import Any, Mapping

from pydantic import ValidationError

from .spec import OPTION_TABLES, CellConfig, SpecError, Suite

ID_LENGTH = 16


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


def expand(suite: Suite, device: str) -> list[Cell]:
    """The cartesian product of the suite's axes over its base, minus excluded and duplicate cells, in file order."""
    names = list(suite.axes)
    cells: dict[str, Cell] = {}
    for values in itertools.product(*(suite.axes[name] for name in names)):
        raw = _with_axes(suite.base, dict(zip(names, values)))
        config = {**_validate(suite, raw).model_dump(mode="json"), "device": device}
        if any(_matches(rule, config) for rule in suite.excludes):
            continue
        cell_id = config_hash(config)
        label = " ".join(f"{name.rsplit('.', 1)[-1]}={value}" for name, value in zip(names, values))
        cells.setdefault(cell_id, Cell(id=cell_id, config=config, label=label or "base"))
    if not cells:
        raise SpecError(f"{suite.path}: exclude: every cell of profile {suite.profile!r} is excluded; nothing to run")
    return list(cells.values())


def _with_axes(base: dict[str, Any], point: dict[str, Any]) -> dict[str, Any]:
    config = {key: dict(value) if key in OPTION_TABLES else value for key, value in base.items()}
    for name, value in point.items():
        table, _, option = name.partition(".")
        if option:
            config.setdefault(table, {})[option] = value
        else:
            config[name] = value
    return config


def _validate(suite: Suite, raw: dict[str, Any]) -> CellConfig:
    try:
        return CellConfig.model_validate(raw)
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        field = ".".join(str(part) for part in error["loc"])
        if error["type"] == "missing":
            raise SpecError(f"{suite.path}: base.{field}: missing; set it in [base] or as a [grid] axis") from None
        raise SpecError(f"{suite.path}: {field}: {error['msg'].removeprefix('Value error, ')}") from None


def _matches(rule: Mapping[str, Any], config: Mapping[str, Any]) -> bool:
    for key, wanted in rule.items():
        if key in OPTION_TABLES:
            if not all(_value_matches(value, config[key].get(option)) for option, value in wanted.items()):
                return False
        elif not _value_matches(wanted, config[key]):
            return False
    return True


def _value_matches(wanted: Any, actual: Any) -> bool:
    return actual in wanted if isinstance(wanted, list) else actual == wanted
