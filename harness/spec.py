"""Suite files: TOML → a validated, profile-resolved :class:`Suite`.

A suite is one TOML file with five parts::

    [suite]          name, description, measurements, timeout_s and the :class:`MeasurementSettings`
                     (time_steps, warmup_steps, gradient_cosine_max_layers)
    [base]           one cell's configuration (every :class:`CellConfig` field; ``[base.model]`` holds extra
                     ``build_model`` options, ``[base.train]`` the :class:`TrainOptions` of its training step)
    [grid]           axes: a list per field (``[grid.model]`` for operator options); cells are their product
    [[exclude]]      rules: a cell matching every key of a rule (a value, or a list of values) is dropped
    [profiles.NAME]  overrides: ``suite``, ``base``, ``grid`` tables merged over the file's, ``exclude`` appended;
                     ``[profiles.NAME.slurm]`` what each cell asks SLURM for (:mod:`harness.slurm_options`)

Validation is pydantic's, with models derived from :class:`CellConfig` (defined in :mod:`harness.config`, which the
measurements read too) so that a field added there is accepted by ``base``, ``grid``, ``exclude`` and every profile
at once. Operator, connection, dataset and measurement names are checked against the registries that own them
(imported only when a suite is validated, so that loading this module imports neither torch nor the measurements).
Every problem becomes one :class:`SpecError` line — ``FILE: FIELD: what is wrong; allowed: …`` — never a traceback.

What a suite file cannot do, checked in this order so that each answer comes at once (before torch is imported):

- be anything but a regular file of at most :data:`MAX_SUITE_BYTES` of UTF-8 TOML (a directory, a FIFO, ``/dev/zero``
  or a symlink loop is refused after one ``stat``, never opened or read to its end);
- nest tables or arrays deeper than :data:`MAX_DEPTH` or hold a non-finite number (``inf``, ``nan``) anywhere;
- hold a value of the wrong type (strict: no bool or string where a number is due) or out of range (the bounds in
  :mod:`harness.config`, ``timeout_s`` at most :data:`MAX_TIMEOUT_S`);
- name its suite or a profile with anything but :data:`SAFE_NAME` (they name the default results folder, which
  must stay inside ``results/``);
- then, with the registries imported: name an operator, connection, data set, optimizer or measurement that is not
  registered. Model options are checked per cell when the suite is expanded (:mod:`harness.model_options`).
"""
from __future__ import annotations

import math
import os
import re
import stat
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Callable, Optional, Union

from pydantic import AfterValidator, BaseModel, Field, ValidationError, ValidationInfo, create_model

from .config import NAMES_LATER, OPTION_TABLES, CellConfig, Frozen, MeasurementSettings, TrainOptions
from .slurm_options import SlurmOptions

__all__ = ["CellConfig", "Suite", "SpecError", "load_suite"]

#: The profile ``harness run`` and ``list`` take without ``--profile``; a suite may define only the ones it needs.
DEFAULT_PROFILE = "smoke"

#: A suite file is a page of text; a larger one is a mistake (a data file passed as the suite), not read whole.
MAX_SUITE_BYTES = 1024**2
#: Tables and arrays nest at most this deep (``profiles.P.grid.model.connection_options`` is 5 levels).
MAX_DEPTH = 10
#: 30 days: beyond the longest cell (proteins' full training, 14 days), and a deadline that ``time.monotonic() +
#: timeout_s`` holds exactly and ``Process.join`` accepts (1e300 overflows it).
MAX_TIMEOUT_S = 30 * 24 * 3600.0
#: Suite and profile names: they become folder names under ``results/``, so no separator, no leading dot.
SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


class SpecError(ValueError):
    """A suite file is invalid; the message is one line naming the file, the field and the allowed values."""


def _measurement_names() -> list[str]:
    from harness.measurements import MEASUREMENTS

    return MEASUREMENTS.names()


def _registered_measurement(name: str, info: ValidationInfo) -> str:
    if info.context and info.context.get(NAMES_LATER):
        return name
    allowed = _measurement_names()
    if name not in allowed:
        raise ValueError(f"unknown measurement {name!r}; allowed: {', '.join(allowed)}")
    return name


MeasurementName = Annotated[str, AfterValidator(_registered_measurement)]


def _safe_name(name: str) -> str:
    if not SAFE_NAME.fullmatch(name):
        raise ValueError(f"{name!r} is not a safe name: it names a results folder, so use 1-64 letters, digits, "
                         f"'.', '_' or '-', starting with a letter or digit")
    return name


SafeName = Annotated[str, AfterValidator(_safe_name)]


def _derived(name: str, wrap: Callable[[Any], Any], options: Any, model: type[BaseModel] = CellConfig
             ) -> type[BaseModel]:
    """A model with every field of ``model`` optional, its type transformed by ``wrap`` (e.g. into a list).

    The ``model`` table (operator options, free-form) becomes ``options``; the ``train`` table is derived from
    :class:`TrainOptions` in the same way, so a misspelled training option fails when the suite is loaded.
    """
    fields: dict[str, Any] = {}
    for key, info in model.model_fields.items():
        if key == "model":
            annotation = options
        elif key == "train":
            annotation = _derived(f"{name}Train", wrap, options, TrainOptions)
        else:
            annotation = wrap(_annotated(info))
        fields[key] = (Optional[annotation], None)
    return create_model(name, __base__=Frozen, **fields)


def _annotated(info: Any) -> Any:
    """A field's type with its constraints and validators, reusable inside ``list[...]``."""
    return Annotated[(info.annotation, *info.metadata)] if info.metadata else info.annotation


def NonEmptyList(item: Any) -> Any:  # noqa: N802 - used like a type
    return Annotated[list[item], Field(min_length=1)]


PartialCell = _derived("PartialCell", lambda t: t, dict[str, Any])
GridAxes = _derived("GridAxes", NonEmptyList, dict[str, NonEmptyList(Any)])
ExcludeRule = _derived("ExcludeRule", lambda t: Union[t, NonEmptyList(t)], dict[str, Any])


# --- the file ----------------------------------------------------------------------------------------------------------


class SuiteSettings(MeasurementSettings):
    """What every cell of the suite measures, how, and how long it may take."""

    name: Optional[SafeName] = None
    description: str = ""
    measurements: Annotated[list[MeasurementName], Field(min_length=1)] = ["memory"]
    timeout_s: Annotated[float, Field(gt=0.0, le=MAX_TIMEOUT_S)] = 600.0


SuiteOverrides = create_model(
    "SuiteOverrides", __base__=Frozen,
    **{key: (Optional[_annotated(info)], None) for key, info in SuiteSettings.model_fields.items()},
)


class Profile(Frozen):
    description: str = ""
    suite: SuiteOverrides = SuiteOverrides()
    base: PartialCell = PartialCell()
    grid: GridAxes = GridAxes()
    exclude: list[ExcludeRule] = []
    slurm: SlurmOptions = SlurmOptions()  # what each cell's task asks SLURM for (harness.slurm_options)


class SuiteFile(Frozen):
    suite: SuiteSettings = SuiteSettings()
    base: PartialCell = PartialCell()
    grid: GridAxes = GridAxes()
    exclude: list[ExcludeRule] = []
    profiles: dict[SafeName, Profile]


@dataclass(frozen=True)
class Suite:
    """A suite with one profile applied: the settings, the base cell, the axes and the exclusion rules."""

    path: Path
    name: str
    profile: str
    description: str
    measurements: tuple[str, ...]
    timeout_s: float
    settings: MeasurementSettings
    base: dict[str, Any]
    axes: dict[str, list[Any]]  # "layers" → [...], "model.aggr" → [...]
    excludes: list[dict[str, Any]] = field(default_factory=list)
    slurm: SlurmOptions = field(default_factory=SlurmOptions)

    @property
    def time_steps(self) -> int:
        return self.settings.time_steps

    @property
    def warmup_steps(self) -> int:
        return self.settings.warmup_steps


# --- loading -----------------------------------------------------------------------------------------------------------


def load_suite(path: str | Path, profile: str) -> Suite:
    """Read, validate and resolve ``path`` under ``profile``; any problem is a one-line :class:`SpecError`."""
    path = Path(path)
    raw = _read_toml(path)
    _check_values(path, raw, ())
    try:
        SuiteFile.model_validate(raw, context={NAMES_LATER: True})  # structure, types, ranges: no registry yet
        parsed = SuiteFile.model_validate(raw)
    except ValidationError as exc:
        raise SpecError(f"{path}: {describe(exc, SuiteFile)}") from None
    except ValueError as exc:  # a registry that cannot be imported
        raise SpecError(f"{path}: {exc}") from None

    if not parsed.profiles:
        raise SpecError(f"{path}: profiles: none defined; a suite defines at least one [profiles.NAME] (the "
                        f"default --profile is {DEFAULT_PROFILE!r})")
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
    name = settings.name or path.stem
    if not SAFE_NAME.fullmatch(name):
        raise SpecError(f"{path}: suite.name: the file name {path.stem!r} is not a safe suite name (it names the "
                        f"results folder); set [suite] name to letters, digits, '.', '_' or '-'")
    return Suite(
        path=path,
        name=name,
        profile=profile,
        description=chosen.description or settings.description,
        measurements=tuple(dict.fromkeys(settings.measurements)),
        timeout_s=settings.timeout_s,
        settings=MeasurementSettings(**{key: getattr(settings, key) for key in MeasurementSettings.model_fields}),
        base=base,
        axes=axes,
        excludes=excludes,
        slurm=chosen.slurm,
    )


def _read_toml(path: Path) -> dict[str, Any]:
    """The parsed file; a path that is not a regular file is refused before it is opened (a FIFO would block, a
    device would never end), and at most :data:`MAX_SUITE_BYTES` + 1 bytes are read."""
    try:
        mode = os.stat(path).st_mode
        if not stat.S_ISREG(mode):
            raise SpecError(f"{path}: not a regular file ({_file_kind(mode)}); give a suite's .toml file")
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK)  # no blocking even if swapped for a FIFO since
        with os.fdopen(descriptor, "rb") as handle:
            data = handle.read(MAX_SUITE_BYTES + 1)
    except FileNotFoundError:
        raise SpecError(f"{path}: no such suite file") from None
    except OSError as exc:  # unreadable, a symlink loop, a name too long ...
        raise SpecError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if len(data) > MAX_SUITE_BYTES:
        raise SpecError(f"{path}: larger than {MAX_SUITE_BYTES // 1024} KiB: not a suite file")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise SpecError(f"{path}: not UTF-8 text (byte {data[exc.start]:#04x} at line {line}); "
                        f"a suite file is UTF-8 TOML") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"{path}: not valid TOML: {exc}") from None
    except RecursionError:
        raise SpecError(f"{path}: arrays or tables nested too deeply (at most {MAX_DEPTH} levels)") from None


def _file_kind(mode: int) -> str:
    kinds = [(stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"),
             (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket")]
    return next((name for test, name in kinds if test(mode)), "not a file")


def _check_values(path: Path, value: Any, where: tuple[Any, ...]) -> None:
    """No deeper than :data:`MAX_DEPTH`, no inf or nan anywhere (the free-form ``model`` tables included)."""
    if len(where) > MAX_DEPTH:
        raise SpecError(f"{path}: {_loc(where[:MAX_DEPTH])}: nested deeper than {MAX_DEPTH} levels")
    if isinstance(value, float) and not math.isfinite(value):
        raise SpecError(f"{path}: {_loc(where)}: {value} is not a finite number")
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        _check_values(path, item, (*where, key))


def _set_fields(model: BaseModel, raw: dict[str, Any] | None) -> dict[str, Any]:
    """The fields the file sets, validated, in the file's order (the order of grid axes is the order of cells); a
    typed sub-table (``train``) becomes the dict of the options it sets."""
    fields = {}
    for key in raw or {}:
        value = getattr(model, key, None)
        if isinstance(value, BaseModel):
            value = _set_fields(value, raw[key])
        if value is not None:
            fields[key] = value
    return fields


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


def describe(exc: ValidationError, model: type[BaseModel]) -> str:
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
        message += f" (got {_shown(error['input'])})"
    return f"{loc}: {message}"


def _shown(value: Any, limit: int = 80) -> str:
    """A value as the error shows it: its repr, cut to ``limit`` characters (a line, not a page)."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


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
