"""What one cell is (:class:`CellConfig`), how it trains (:class:`TrainConfig`) and how it is measured
(:class:`MeasurementSettings`): the typed parameters every other part of the harness reads.

One training configuration serves every measurement: a ``memory`` or ``time`` cell measures exactly the step a
``train`` cell trains with (:meth:`CellConfig.train_config`), with the optimizer, clipping and input dropout its
``[train]`` table names. The fields a cell shares with a training run (``epochs``, ``lr``, ``mode``, ``num_parts``,
``seed``) are declared once, in :class:`RunFields`; the rest of a run's options are :class:`TrainOptions`, the
cell's ``train`` table, validated when the suite is loaded (a misspelled key is one line naming it).

Names (operator, connection, data set) are checked against the registries that own them, imported only when a
value is validated, so importing this module stays cheap (pydantic, no torch).
"""
from __future__ import annotations

from typing import Annotated, Any, Callable, Collection, Literal, Optional

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    NonNegativeFloat,
    PositiveFloat,
    PositiveInt,
    ValidationError,
    ValidationInfo,
    field_serializer,
    model_validator,
)

#: Optimizers by name → their class in ``torch.optim`` (Adam for most of the paper, RMSprop for RevGAT).
OPTIMIZERS = {"adam": "Adam", "adamw": "AdamW", "rmsprop": "RMSprop", "sgd": "SGD"}

#: Modes that sample each step's computation graph with DGL's samplers (:mod:`harness.training.sampling`).
SAMPLED_MODES = ("neighbor", "layerwise", "variance-reduced")

Probability = Annotated[float, Field(ge=0.0, lt=1.0)]

#: Upper bounds far beyond any real run (the paper's deepest network has 1001 layers, its widest 448 channels), low
#: enough that nothing computed from a value overflows: a count, a width, a seed NumPy accepts, a learning rate.
MAX_COUNT = 10**6
MAX_WIDTH = 2**16
Count = Annotated[int, Field(gt=0, le=MAX_COUNT)]
Width = Annotated[int, Field(gt=0, le=MAX_WIDTH)]
Seed = Annotated[int, Field(ge=0, le=2**32 - 1)]
LearningRate = Annotated[float, Field(gt=0.0, le=100.0)]


class Frozen(BaseModel):
    """Strict: a bool is not a number and a string is neither (``layers = true`` or ``seed = "0"`` is an error,
    not 1 or 0); an int is a float (``lr = 1``); inf and nan are no number at all."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, allow_inf_nan=False)


# --- names owned by other packages -----------------------------------------------------------------------------------


def _operators() -> Collection[str]:
    from models.operators import OPERATORS

    return OPERATORS


def _connections() -> Collection[str]:
    from models.connections import CONNECTIONS

    return CONNECTIONS


def _datasets() -> Collection[str]:
    from harness.datasets import DATASETS

    return DATASETS


#: kind → function returning its registry (the suite's measurement names are checked in harness.spec). A name is
#: checked by membership, a dictionary lookup, and the registry is listed only for an error: listing a data set
#: registry scans the data root, which for a 10,000-cell suite was most of its expansion.
NAME_SOURCES: dict[str, Callable[[], Collection[str]]] = {
    "operator": _operators,
    "connection": _connections,
    "dataset": _datasets,
    "optimizer": lambda: OPTIMIZERS,
}


def _registry(kind: str) -> Collection[str]:
    try:
        return NAME_SOURCES[kind]()
    except ImportError as exc:  # a broken install is one line, not a traceback
        raise ValueError(f"cannot check {kind} names: {exc}") from None


def registered_names(kind: str) -> tuple[str, ...]:
    """The names a registry accepts now (plugins included)."""
    return tuple(sorted(_registry(kind)))


#: Validation context key: check names later (``harness.spec`` checks a suite's structure, types and ranges first,
#: without importing the registries, and so torch, so that those errors come at once).
NAMES_LATER = "names_later"


def registered(kind: str) -> AfterValidator:
    def check(name: str, info: ValidationInfo) -> str:
        if info.context and info.context.get(NAMES_LATER):
            return name
        if name not in _registry(kind):
            raise ValueError(f"unknown {kind} {name!r}; allowed: {', '.join(registered_names(kind))}")
        return name

    return AfterValidator(check)


OperatorName = Annotated[str, registered("operator")]
ConnectionName = Annotated[str, registered("connection")]
DatasetName = Annotated[str, registered("dataset")]
OptimizerName = Annotated[str, registered("optimizer")]


# --- training ------------------------------------------------------------------------------------------------------


class RunFields(Frozen):
    """What a cell and a training run share: they name the run, so the cell (and its id) holds them."""

    mode: Literal["full", "mini", "neighbor", "layerwise", "variance-reduced"] = "full"
    num_parts: Count = 10
    seed: Seed = 0
    epochs: Count = 1
    lr: LearningRate = 1e-3


class TrainOptions(Frozen):
    """A cell's ``train`` table: how every step is taken and how a training run evaluates.

    ``optimizer`` (with ``weight_decay``), ``grad_clip`` (max total gradient norm), ``input_dropout`` (input
    features dropped in training: GCN's recipe on Planetoid) and ``dropout`` (overrides the model's rate when set)
    shape the step every measurement takes; ``deterministic`` runs it with ``torch.use_deterministic_algorithms``
    (warn-only), so a seed gives the same loss curve. ``foreach`` picks the optimizer's multi-tensor update (None:
    torch's choice, on for CUDA parameters and off on the CPU); the paper-scale estimates set it on, as the paper's
    GPU steps ran, which also makes a fake step several times cheaper to dispatch. ``eval_*`` and ``restore_best``
    concern ``train`` only. ``fanout`` (R) and ``batch_size`` (B) set the sampled modes (``neighbor``,
    ``layerwise``, ``variance-reduced``; see :mod:`harness.training.sampling`): B seed nodes per step, and R
    neighbours per node (``neighbor``, ``variance-reduced``) or R nodes per layer (``layerwise``).
    """

    optimizer: OptimizerName = "adam"
    weight_decay: NonNegativeFloat = 0.0
    foreach: Optional[bool] = None
    grad_clip: Optional[PositiveFloat] = None
    dropout: Optional[Probability] = None
    input_dropout: Probability = 0.0
    deterministic: bool = True
    eval_parts: Count = 1
    eval_views: Count = 1
    eval_every: Count = 1
    restore_best: bool = True
    fanout: Count = 10
    batch_size: Count = 512


class TrainConfig(RunFields, TrainOptions):
    """One training run, and the step every measurement takes.

    ``mode="full"`` takes one optimiser step per epoch on the whole graph; ``mode="mini"`` partitions the nodes at
    random into ``num_parts`` parts, re-drawn every epoch, and takes one step per part (the paper's protocol for
    ogbn-proteins and ogbn-products). Evaluation runs on the whole graph when ``eval_parts == 1``, otherwise on
    ``eval_parts`` random parts; at the end the best-validation weights are evaluated again with ``eval_views``
    random partitions whose predictions are averaged (the paper's multi-view test: proteins uses 5 parts).

    A bad value is one ``ValueError`` line naming the field: ``TrainConfig.epochs: Input should be greater than 0``.
    """

    def __init__(self, **values: Any) -> None:
        try:
            super().__init__(**values)
        except ValidationError as exc:
            error = exc.errors(include_url=False)[0]
            field = ".".join(str(part) for part in error["loc"])
            message = error["msg"].removeprefix("Value error, ")
            raise ValueError(f"TrainConfig.{field}: {message} (got {error.get('input')!r})") from None

    def step_description(self) -> dict[str, Any]:
        """What a record keeps of the step its measurements took (every option, resolved)."""
        return self.model_dump(mode="json")


# --- measuring -----------------------------------------------------------------------------------------------------


class MeasurementSettings(Frozen):
    """How a suite's measurements run (the same for all its cells; not part of a cell's identity).

    ``gradient_cosine_max_layers``: the deepest cell whose gradients the ``fidelity`` measurement compares with a
    float64 plain-autograd reference. That reference keeps every activation in float64 (O(L·N·D) memory, the very
    cost a reversible network avoids), so a 1001-layer cell can measure its reconstruction without paying for it.
    None: compared at every depth.

    ``threads``: torch's intra-op threads in every measurement process (None: torch's default, one per core, except
    that on a machine of at most 4 cores a measurement that declares ``small_machine_threads``, as ``train`` does
    with 1, runs with that many); fixed per suite so that times compare, and written in each record.
    ``compared_connections``, ``rounds`` and
    ``round_budget_s`` set the ``paired-time`` measurement: the connections whose steps it times side by side (the
    cell's own connection first, the reference), and how long it goes on: at least ``rounds`` rounds and at least
    ``round_budget_s`` seconds, whichever ends later.
    """

    time_steps: Count = 5
    warmup_steps: Annotated[int, Field(ge=0, le=MAX_COUNT)] = 1
    gradient_cosine_max_layers: Optional[Count] = None
    threads: Optional[PositiveInt] = None
    compared_connections: list[ConnectionName] = Field(default_factory=list)
    rounds: PositiveInt = 15
    round_budget_s: NonNegativeFloat = 0.0


# --- one cell ------------------------------------------------------------------------------------------------------


class CellConfig(RunFields):
    """Everything that defines one measured configuration: the model, the data, the training run.

    The fields before ``model`` are ``build_model`` arguments (``in_channels``/``out_channels``/``edge_dim`` come
    from the dataset); ``model`` holds further operator or connection options, passed through untouched, so a new
    operator needs no change here. ``train`` holds the :class:`TrainOptions`; only the options set away from their
    defaults are written out, so a cell's id is the same whether a default is spelled out or not.
    """

    operator: OperatorName
    connection: ConnectionName
    layers: Count
    channels: Width
    groups: Width = 2
    heads: Width = 1
    dropout: Probability = 0.0
    norm: str = "layer"
    backend: Literal["pyg", "dgl"] = "pyg"
    memory_efficient: bool = True
    model: dict[str, Any] = Field(default_factory=dict)

    dataset: DatasetName
    scale: Annotated[float, Field(gt=0.0, le=1.0)] = 1.0  # a twin's share of the real graph (1: the real size)

    train: TrainOptions = TrainOptions()

    @model_validator(mode="after")
    def _sampled_modes_need_dgl(self) -> "CellConfig":
        if self.mode in SAMPLED_MODES and self.backend != "dgl":
            raise ValueError(f"mode {self.mode!r} samples with DGL: it needs backend = \"dgl\", got {self.backend!r}")
        return self

    @field_serializer("train")
    def _changed_options(self, options: TrainOptions) -> dict[str, Any]:
        return options.model_dump(mode="json", exclude_defaults=True)

    def model_arguments(self) -> dict[str, Any]:
        """The ``build_model`` keyword arguments this cell sets (the data set supplies the channel counts)."""
        return {**{name: getattr(self, name) for name in MODEL_FIELDS}, **self.model}

    def train_config(self) -> TrainConfig:
        """The training run (and step) of this cell: its run fields and its ``train`` table."""
        run = {name: getattr(self, name) for name in RunFields.model_fields}
        return TrainConfig(**run, **self.train.model_dump())


#: CellConfig fields that are sub-tables of options (their grid axes are ``grid.<table>.<key>``).
OPTION_TABLES = ("model", "train")

#: ``build_model`` keyword arguments taken from a cell (the rest of its kwargs come from the dataset and ``model``).
MODEL_FIELDS = ("operator", "connection", "layers", "channels", "groups", "heads", "dropout", "norm", "backend",
                "memory_efficient")
