"""Suite files: TOML → a validated, profile-resolved :class:`Suite`.

A suite is one TOML file with five parts::

    [suite]          name, description, measurements, timeout_s, time_steps, warmup_steps
    [base]           one cell's configuration (every :class:`CellConfig` field; ``[base.model]`` holds extra
                     ``build_model`` options, ``[base.train]`` extra ``TrainConfig`` options)
    [grid]           axes: a list per field (``[grid.model]`` for operator options); cells are their product
    [[exclude]]      rules: a cell matching every key of a rule (a value, or a list of values) is dropped
    [profiles.NAME]  overrides: ``suite``, ``base``, ``grid`` tables merged over the file's, ``exclude`` appended

Validation is pydantic's, with models derived from :class:`CellConfig` so that a field added there is accepted by
``base``, ``grid``, ``exclude`` and every profile at once. Operator, connection, dataset and measurement names are
checked against the registries that own them (imported only when a suite is validated). Every problem becomes one
:class:`SpecError` line — ``FILE: FIELD: what is wrong; allowed: …`` — never a traceback.
"""
from __future__ import annotations

import functools
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Callable, Literal, Optional, Union

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    NonNegativeInt,
    PositiveFloat,
    PositiveInt,
    ValidationError,
    create_model,
)

REQUIRED_PROFILES = ("smoke", "full")


class SpecError(ValueError):
    """A suite file is invalid; the message is one line naming the file, the field and the allowed values."""


# --- names owned by other packages -----------------------------------------------------------------------------------


def _operator_names() -> list[str]:
    import models

    return models.OPERATORS.names()


def _connection_names() -> list[str]:
    import models

    return models.CONNECTIONS.names()


def _dataset_names() -> list[str]:
    from harness.datasets import DATASETS

    return DATASETS.names()


def _measurement_names() -> list[str]:
    from harness.measurements import MEASUREMENTS

    return MEASUREMENTS.names()


#: kind → function listing the registered names; tests and plugins read the same registries as build_model does.
NAME_SOURCES: dict[str, Callable[[], list[str]]] = {
    "operator": _operator_names,
    "connection": _connection_names,
    "dataset": _dataset_names,
    "measurement": _measurement_names,
}


@functools.cache
def registered_names(kind: str) -> tuple[str, ...]:
    """The names a registry accepts, imported on first use so that loading this module stays cheap."""
    try:
        return tuple(NAME_SOURCES[kind]())
    except ImportError as exc:  # a broken install must still give one line, not a traceback
        raise ValueError(f"cannot check {kind} names: {exc}") from None


def _registered(kind: str) -> AfterValidator:
    def check(name: str) -> str:
        allowed = registered_names(kind)
        if name not in allowed:
            raise ValueError(f"unknown {kind} {name!r}; allowed: {', '.join(allowed)}")
        return name

    return AfterValidator(check)


OperatorName = Annotated[str, _registered("operator")]
ConnectionName = Annotated[str, _registered("connection")]
DatasetName = Annotated[str, _registered("dataset")]
MeasurementName = Annotated[str, _registered("measurement")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=False, frozen=True)


# --- one cell ----------------------------------------------------------------------------------------------------------


class CellConfig(_Strict):
    """Everything that defines one measured configuration: the model, the data, the training mode.

    The fields before ``model`` are ``build_model`` arguments (``in_channels``/``out_channels``/``edge_dim`` come
    from the dataset); ``model`` holds further operator or connection options, passed through untouched, so a new
    operator needs no change here. ``train`` likewise holds extra :class:`harness.training.TrainConfig` fields.
    """

    operator: OperatorName
    connection: ConnectionName
    layers: PositiveInt
    channels: PositiveInt
    groups: PositiveInt = 2
    heads: PositiveInt = 1
    dropout: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.0
    norm: str = "layer"
    backend: Literal["pyg", "dgl"] = "pyg"
    memory_efficient: bool = True
    model: dict[str, Any] = Field(default_factory=dict)

    dataset: DatasetName
    scale: PositiveFloat = 1.0
    mode: Literal["full", "mini"] = "full"
    num_parts: PositiveInt = 10
    seed: NonNegativeInt = 0

    epochs: PositiveInt = 1
    lr: PositiveFloat = 1e-3
    train: dict[str, Any] = Field(default_factory=dict)


#: CellConfig fields that are sub-tables of free-form options (their grid axes are ``grid.<table>.<key>``).
OPTION_TABLES = ("model", "train")

#: ``build_model`` keyword arguments taken from a cell (the rest of its kwargs come from the dataset and ``model``).
MODEL_FIELDS = ("operator", "connection", "layers", "channels", "groups", "heads", "dropout", "norm", "backend",
                "memory_efficient")


def _derived(name: str, wrap: Callable[[Any], Any], options: Any) -> type[BaseModel]:
    """A model with every CellConfig field optional, its type transformed by ``wrap`` (e.g. into a list)."""
    fields: dict[str, Any] = {}
    for key, info in CellConfig.model_fields.items():
        annotation = options if key in OPTION_TABLES else wrap(_annotated(info))
        fields[key] = (Optional[annotation], None)
    return create_model(name, __base__=_Strict, **fields)


def _annotated(info: Any) -> Any:
    """A field's type with its constraints and validators, reusable inside ``list[...]``."""
    return Annotated[(info.annotation, *info.metadata)] if info.metadata else info.annotation


def NonEmptyList(item: Any) -> Any:  # noqa: N802 - used like a type
    return Annotated[list[item], Field(min_length=1)]


PartialCell = _derived("PartialCell", lambda t: t, dict[str, Any])
GridAxes = _derived("GridAxes", NonEmptyList, dict[str, NonEmptyList(Any)])
ExcludeRule = _derived("ExcludeRule", lambda t: Union[t, NonEmptyList(t)], dict[str, Any])


# --- the file ----------------------------------------------------------------------------------------------------------


class SuiteSettings(_Strict):
    """What every cell of the suite measures and how long it may take."""

    name: Optional[str] = None
    description: str = ""
    measurements: Annotated[list[MeasurementName], Field(min_length=1)] = ["memory"]
    timeout_s: PositiveFloat = 600.0
    time_steps: PositiveInt = 5
    warmup_steps: NonNegativeInt = 1


SuiteOverrides = create_model(
    "SuiteOverrides", __base__=_Strict,
    **{key: (Optional[_annotated(info)], None) for key, info in SuiteSettings.model_fields.items()},
)


class Profile(_Strict):
    description: str = ""
    suite: SuiteOverrides = SuiteOverrides()
    base: PartialCell = PartialCell()
    grid: GridAxes = GridAxes()
    exclude: list[ExcludeRule] = []


class SuiteFile(_Strict):
    suite: SuiteSettings = SuiteSettings()
    base: PartialCell = PartialCell()
    grid: GridAxes = GridAxes()
    exclude: list[ExcludeRule] = []
    profiles: dict[str, Profile]


@dataclass(frozen=True)
class Suite:
    """A suite with one profile applied: the settings, the base cell, the axes and the exclusion rules."""

    path: Path
    name: str
    profile: str
    description: str
    measurements: tuple[str, ...]
    timeout_s: float
    time_steps: int
    warmup_steps: int
    base: dict[str, Any]
    axes: dict[str, list[Any]]  # "layers" → [...], "model.aggr" → [...]
    excludes: list[dict[str, Any]] = field(default_factory=list)


# --- loading -----------------------------------------------------------------------------------------------------------


def load_suite(path: str | Path, profile: str) -> Suite:
    """Read, validate and resolve ``path`` under ``profile``; any problem is a one-line :class:`SpecError`."""
    path = Path(path)
    raw = _read_toml(path)
    try:
        parsed = SuiteFile.model_validate(raw)
    except ValidationError as exc:
        raise SpecError(f"{path}: {_describe(exc, SuiteFile)}") from None
    except ValueError as exc:  # a registry that cannot be imported
        raise SpecError(f"{path}: {exc}") from None

    missing = [name for name in REQUIRED_PROFILES if name not in parsed.profiles]
    if missing:
        raise SpecError(f"{path}: profiles: missing [profiles.{missing[0]}]; every suite defines at least "
                        f"{', '.join(REQUIRED_PROFILES)}")
    if profile not in parsed.profiles:
        raise SpecError(f"{path}: profile {profile!r} is not defined; allowed: {', '.join(sorted(parsed.profiles))}")
    chosen = parsed.profiles[profile]

    overrides = raw.get("profiles", {}).get(profile, {})
    settings = {**_set_fields(parsed.suite, raw.get("suite")), **_set_fields(chosen.suite, overrides.get("suite"))}
    settings = SuiteSettings.model_validate(settings)
    base = _merge_options(_set_fields(parsed.base, raw.get("base")), _set_fields(chosen.base, overrides.get("base")))
    axes = {**_flatten_axes(parsed.grid, raw.get("grid")), **_flatten_axes(chosen.grid, overrides.get("grid"))}
    excludes = [_set_fields(rule, raw_rule) for rule, raw_rule in
                zip([*parsed.exclude, *chosen.exclude], [*raw.get("exclude", []), *overrides.get("exclude", [])])]
    return Suite(
        path=path,
        name=settings.name or path.stem,
        profile=profile,
        description=chosen.description or settings.description,
        measurements=tuple(dict.fromkeys(settings.measurements)),
        timeout_s=settings.timeout_s,
        time_steps=settings.time_steps,
        warmup_steps=settings.warmup_steps,
        base=base,
        axes=axes,
        excludes=excludes,
    )


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise SpecError(f"{path}: no such suite file") from None
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"{path}: not valid TOML: {exc}") from None


def _set_fields(model: BaseModel, raw: dict[str, Any] | None) -> dict[str, Any]:
    """The fields the file sets, validated, in the file's order (the order of grid axes is the order of cells)."""
    return {key: getattr(model, key) for key in (raw or {}) if getattr(model, key, None) is not None}


def _merge_options(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = {**base, **override}
    for table in OPTION_TABLES:
        if table in base and table in override:
            merged[table] = {**base[table], **override[table]}
    return merged


def _flatten_axes(grid: BaseModel, raw: dict[str, Any] | None) -> dict[str, list[Any]]:
    axes: dict[str, list[Any]] = {}
    for key, values in _set_fields(grid, raw).items():
        if key in OPTION_TABLES:
            axes.update({f"{key}.{option}": list(option_values) for option, option_values in values.items()})
        else:
            axes[key] = list(values)
    return axes


# --- one-line errors ---------------------------------------------------------------------------------------------------


def _describe(exc: ValidationError, model: type[BaseModel]) -> str:
    """``FIELD: problem`` for the first error of ``exc``, listing the allowed keys or values where there are some."""
    error = exc.errors(include_url=False)[0]
    loc = _loc(error["loc"])
    kind = error["type"]
    if kind == "extra_forbidden":
        allowed = _allowed_keys(model, error["loc"][:-1])
        return f"{loc}: unknown key; allowed: {', '.join(allowed)}"
    if kind == "too_short":
        return f"{loc}: empty list; give at least one value"
    if kind == "missing":
        return f"{loc}: missing"
    message = error["msg"].removeprefix("Value error, ")
    if kind != "value_error" and "input" in error and not isinstance(error["input"], dict):
        message += f" (got {error['input']!r})"
    return f"{loc}: {message}"


def _loc(parts: tuple[Any, ...]) -> str:
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        elif not _is_union_tag(part):
            text += f".{part}" if text else str(part)
    return text or "(top level)"


def _is_union_tag(part: str) -> bool:
    """pydantic names union branches in locations (``list[...]``, ``function-after[...]``); they mean nothing here."""
    return "[" in part and part.endswith("]")


def _allowed_keys(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    current: Any = model
    for part in loc:
        if isinstance(part, int) or _is_union_tag(part):
            continue
        if isinstance(current, type) and issubclass(current, BaseModel) and part in current.model_fields:
            current = _inner_model(current.model_fields[part].annotation)
        elif current is None:
            break
        else:  # a dict of profiles: the key names a profile, the value is a Profile
            current = Profile if current is dict else current
    if isinstance(current, type) and issubclass(current, BaseModel):
        return sorted(current.model_fields)
    return []


def _inner_model(annotation: Any) -> Any:
    """The BaseModel inside ``Optional[M]``, ``list[M]`` or ``dict[str, M]``; ``dict`` for a dict of profiles."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        inner = _inner_model(arg)
        if inner is not None:
            return dict if getattr(annotation, "__origin__", None) is dict else inner
    return None
