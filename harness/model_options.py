"""A cell's model options, checked when its suite is expanded, against what its operator and connection declare.

What a piece accepts is what its constructor declares, so a new operator or connection is checked with no change
here and the harness names none of them:

- the network's own options (``encoder``, ``head``, ``connection_options``): the keyword parameters of
  :func:`models.build_model` that neither a cell field nor the data set sets;
- the operator's options (every other key of the cell's ``model`` table): its class's constructor parameters;
- ``connection_options``: the connection class's constructor parameters, less those the network passes itself.

Names are checked first (an unknown key is one line listing the allowed ones), then types, strictly, against the
constructors' type hints (``mlp_layers = "2"`` or ``learn_t = 1`` is an error), and then values the only way that
cannot drift from the code: the model is built on the ``meta`` device, where no tensor is allocated, at a depth of
at most :data:`PROBE_LAYERS`. That build runs every check the constructors make (a norm name, an aggregation,
``groups`` dividing ``channels``, ``heads`` dividing a convolution's width, a solver name). A backend this
environment cannot import (DGL under another torch) is left to the cell's own process.
"""
from __future__ import annotations

import functools
import importlib
import inspect
import json
import typing
from typing import Any, Callable

from pydantic import ConfigDict, ValidationError, create_model

from .config import MODEL_FIELDS, CellConfig

#: Filled in from the data set when a cell runs; any positive width builds the same checks.
DATASET_ARGUMENTS = ("in_channels", "out_channels", "edge_dim")
#: The probe's depth: a conv encoder and a conv head take one layer each, so a depth of min(layers, 3) fails
#: exactly when the real one does; one more for margin. Deeper layers repeat the first ones' checks.
PROBE_LAYERS = 4
#: Input width of the probe: more than any encoder's fixed part (the species encoder splits off 8 columns).
PROBE_IN_CHANNELS = 64
#: Parameters a connection's constructor takes from the network, not from ``connection_options``.
CONNECTION_PASSED = ("layers", "channels", "factory", "groups", "memory_efficient")


def check_model(config: CellConfig) -> None:
    """Raise a one-line ``ValueError`` (``model.KEY: …``) if the cell's model cannot be built as configured."""
    taken = sorted(set(config.model) & {*MODEL_FIELDS, *DATASET_ARGUMENTS})
    if taken:
        raise ValueError(f"model.{taken[0]}: not an option: it is set by the cell's own field or by the data set")
    arguments = config.model_arguments()
    # the probe is built at most PROBE_LAYERS deep, so deeper cells share one check (and one meta build): a grid of
    # many depths expands in the time of a few
    arguments["layers"] = min(arguments["layers"], PROBE_LAYERS)
    _check(json.dumps(arguments, sort_keys=True, default=repr))


@functools.lru_cache(maxsize=4096)
def _check(arguments_json: str) -> None:
    import models

    arguments = json.loads(arguments_json)
    own = _keyword_parameters(models.build_model, exclude=(*MODEL_FIELDS, *DATASET_ARGUMENTS))
    options = {key: arguments[key] for key in arguments if key not in MODEL_FIELDS}
    network = {key: value for key, value in options.items() if key in own}
    operator_options = {key: value for key, value in options.items() if key not in own}

    operator_class = _operator_class(arguments["operator"], arguments["backend"])
    if operator_class is None:
        return  # this environment cannot import the backend: the cell's process checks it
    accepted = _keyword_parameters(operator_class.__init__)
    unknown = sorted(set(operator_options) - set(accepted))
    if unknown:
        raise ValueError(f"model.{unknown[0]}: unknown option of operator {arguments['operator']!r} "
                         f"({arguments['backend']}); allowed: {', '.join(sorted({*own, *accepted}))}")
    _check_types("model", network, own)
    _check_types("model", operator_options, accepted)

    connection_options = network.get("connection_options") or {}
    connection_class = _connection_class(arguments["connection"])
    declared = _keyword_parameters(connection_class.__init__, exclude=CONNECTION_PASSED)
    unknown = sorted(set(connection_options) - set(declared))
    if unknown:
        raise ValueError(f"model.connection_options.{unknown[0]}: unknown option of connection "
                         f"{arguments['connection']!r}; allowed: {', '.join(sorted(declared)) or 'none'}")
    _check_types("model.connection_options", connection_options, declared)
    _check_norm_and_groups(arguments, connection_class)
    _build_on_meta(models.build_model, arguments)


def _check_norm_and_groups(arguments: dict[str, Any], connection_class: Any) -> None:
    """The two cell fields the build would refuse without naming the field: ``norm`` and ``groups``."""
    from models.connections.base import group_channels
    from models.norms import NORMS

    if arguments["norm"] not in NORMS:
        raise ValueError(f"norm: unknown norm {arguments['norm']!r}; allowed: {', '.join(NORMS)}")
    if "groups" in _keyword_parameters(connection_class.__init__):  # a connection that splits channels into groups
        try:
            group_channels(arguments["channels"], arguments["groups"])
        except ValueError as exc:
            raise ValueError(f"groups: {exc} (connection {arguments['connection']!r} splits channels into "
                             f"groups)") from None


def _build_on_meta(build: Callable[..., Any], arguments: dict[str, Any]) -> None:
    import torch

    probe = {**arguments, "layers": min(arguments["layers"], PROBE_LAYERS)}
    try:
        with torch.device("meta"):
            build(**probe, in_channels=PROBE_IN_CHANNELS, out_channels=2, edge_dim=None)
    except ImportError:
        return  # a connection that wraps another library (DGL's GroupRevRes): checked where it runs
    except Exception as exc:  # noqa: BLE001 - any constructor's refusal is this cell's configuration error
        message = " ".join(str(exc).split()) or type(exc).__name__
        raise ValueError(f"model: {arguments['operator']}/{arguments['connection']} cannot be built: "
                         f"{_short(message)}") from None


def _operator_class(name: str, backend: str) -> Any:
    from models.operators import _BACKEND_MODULES, OPERATORS

    try:
        importlib.import_module(_BACKEND_MODULES[backend])
    except Exception:  # noqa: BLE001 - an optional backend that does not import here (DGL's native libraries)
        return None
    per_backend = OPERATORS.get(name)
    if backend not in per_backend:
        raise ValueError(f"operator: {name!r} has no {backend} implementation; "
                         f"backends: {', '.join(sorted(per_backend))}")
    return per_backend[backend]


def _connection_class(name: str) -> Any:
    from models.connections import CONNECTIONS

    return CONNECTIONS.get(name)


def _keyword_parameters(function: Callable[..., Any], exclude: tuple[str, ...] = ()) -> dict[str, Any]:
    """Name → type hint of the keyword parameters ``function`` declares (``Any`` where it has none)."""
    hints = typing.get_type_hints(function)
    kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    return {name: hints.get(name, Any) for name, parameter in inspect.signature(function).parameters.items()
            if parameter.kind in kinds and name not in ("self", *exclude)}


def _check_types(table: str, values: dict[str, Any], hints: dict[str, Any]) -> None:
    if not values:
        return
    fields: dict[str, Any] = {key: (hints[key], ...) for key in values}
    model = create_model("Options", __config__=ConfigDict(strict=True, allow_inf_nan=False,
                                                          arbitrary_types_allowed=True), **fields)
    try:
        model.model_validate(values)
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        key = ".".join(str(part) for part in error["loc"][:1])
        raise ValueError(f"{table}.{key}: {error['msg']} (got {_short(repr(values[key]))})") from None


def _short(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
