"""What a cell can measure: ``memory``, ``time``, ``train``, ``fidelity``, each a function of a :class:`CellContext`.

A measurement returns a dict of metrics and runs in its own process (see :mod:`harness.worker`), so memory and time
are never taken in the same run: the profiler that measures memory would slow the steps being timed. The context
builds the data set, the model, the optimizer and the training step on first use, through the contracts of
:mod:`models`, :mod:`harness.datasets` and :mod:`harness.training`, and nothing here names an operator or a
connection: whatever ``model.extra_metrics()`` reports (a DEQ's solver statistics) is merged as it comes.
``fidelity`` asks :mod:`models.fidelity` and so needs a connection that exposes reversible layers (rev, wt-rev).

More measurements can be registered from other modules (``MEASUREMENTS.register("name")``); modules listed in the
environment variable ``GNN1000_MEASUREMENT_PLUGINS`` (comma-separated) are imported before names are looked up.
"""
from __future__ import annotations

import dataclasses
import importlib
import inspect
import math
import os
import resource
import statistics
import sys
import time
from functools import cached_property
from typing import TYPE_CHECKING, Any, Callable

from .spec import MODEL_FIELDS, CellConfig

if TYPE_CHECKING:
    import torch

PLUGINS_VARIABLE = "GNN1000_MEASUREMENT_PLUGINS"

Metrics = dict[str, Any]
Measurement = Callable[["CellContext"], Metrics]


class MeasurementRegistry:
    def __init__(self) -> None:
        self._entries: dict[str, Measurement] = {}

    def register(self, name: str) -> Callable[[Measurement], Measurement]:
        def add(function: Measurement) -> Measurement:
            self._entries[name] = function
            return function

        return add

    def get(self, name: str) -> Measurement:
        load_plugins()
        if name not in self._entries:
            raise ValueError(f"unknown measurement {name!r}; allowed: {', '.join(self.names())}")
        return self._entries[name]

    def names(self) -> list[str]:
        load_plugins()
        return sorted(self._entries)


MEASUREMENTS = MeasurementRegistry()


def load_plugins() -> None:
    for module in filter(None, (name.strip() for name in os.environ.get(PLUGINS_VARIABLE, "").split(","))):
        importlib.import_module(module)


@dataclasses.dataclass
class CellContext:
    """One cell inside its worker process; the expensive parts are built when a measurement first asks for them."""

    config: CellConfig
    device: torch.device
    time_steps: int = 5
    warmup_steps: int = 1
    memory_budget_bytes: int | None = None

    @cached_property
    def dataset(self) -> Any:
        from harness.datasets import load_dataset

        return load_dataset(self.config.dataset, scale=self.config.scale, seed=self.config.seed)

    @cached_property
    def model(self) -> Any:
        import torch

        import models

        dataset = self.dataset
        torch.manual_seed(self.config.seed)
        model = models.build_model(
            **{name: getattr(self.config, name) for name in MODEL_FIELDS},
            in_channels=dataset.num_features,
            out_channels=dataset.num_outputs,
            edge_dim=dataset.edge_dim,
            **self.config.model,
        )
        return model.to(self.device).train()

    @cached_property
    def optimizer(self) -> Any:
        import torch

        return torch.optim.Adam(self.model.parameters(), lr=self.config.lr)

    @cached_property
    def step(self) -> Callable[[], float]:
        from harness.training import build_train_step

        return build_train_step(self.model, self.dataset, mode=self.config.mode, num_parts=self.config.num_parts,
                                optimizer=self.optimizer, device=self.device, seed=self.config.seed)

    def model_metrics(self) -> Metrics:
        """``params`` and the model's own ``extra_metrics()`` (e.g. a DEQ's solver iterations and residual)."""
        return {"params": sum(p.numel() for p in self.model.parameters()), **self.model.extra_metrics()}


def merge_metrics(measured: Metrics, extra: Metrics) -> Metrics:
    clashes = sorted(set(measured) & set(extra) - {"params"})
    if clashes:
        raise ValueError(f"model.extra_metrics() reports {', '.join(clashes)}, a name the harness measures itself")
    return {**extra, **measured}


def peak_rss_bytes() -> int:
    """The process's peak resident set (secondary: it measures glibc's heap, not tensors)."""
    scale = 1 if sys.platform == "darwin" else 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale


@MEASUREMENTS.register("memory")
def measure_memory(ctx: CellContext) -> Metrics:
    """Peak bytes of one training step after ``warmup_steps`` warm-up steps, activations and parameter state."""
    from .meter import measure_step_memory, tensor_bytes

    report = measure_step_memory(ctx.step, ctx.device, warmup_steps=ctx.warmup_steps)
    parameters = list(ctx.model.parameters())
    optimizer_state = [value for state in ctx.optimizer.state.values() for value in state.values()
                       if _is_tensor(value)]
    grads = [p.grad for p in parameters if p.grad is not None]
    metrics: Metrics = {
        "peak_allocated_bytes": report.peak_allocated_bytes,
        "baseline_bytes": report.baseline_bytes,
        "activation_bytes": report.activation_bytes,
        "param_state_bytes": tensor_bytes([*parameters, *grads, *optimizer_state]),
        "peak_rss_bytes": peak_rss_bytes(),
    }
    if report.peak_reserved_bytes is not None:
        metrics["peak_reserved_bytes"] = report.peak_reserved_bytes
    return merge_metrics(metrics, ctx.model_metrics())


@MEASUREMENTS.register("time")
def measure_time(ctx: CellContext) -> Metrics:
    """Median, min and max wall time of ``time_steps`` training steps after the warm-up steps."""
    from .meter import synchronize

    step = ctx.step
    for _ in range(ctx.warmup_steps):
        step()
    seconds = []
    for _ in range(ctx.time_steps):
        synchronize(ctx.device)
        start = time.perf_counter()
        step()
        synchronize(ctx.device)
        seconds.append(time.perf_counter() - start)
    measured = {
        "step_seconds": {"median": statistics.median(seconds), "min": min(seconds), "max": max(seconds)},
        "peak_rss_bytes": peak_rss_bytes(),
    }
    return merge_metrics(measured, ctx.model_metrics())


@MEASUREMENTS.register("train")
def measure_training(ctx: CellContext) -> Metrics:
    """A full training run (``harness.training.train``): every field of its result becomes a metric."""
    from harness.training import TrainConfig, train

    result = train(ctx.model, ctx.dataset, train_config(ctx.config, TrainConfig), ctx.device, progress=False)
    return merge_metrics(_as_dict(result), ctx.model_metrics())


def train_config(config: CellConfig, config_class: type) -> Any:
    """A ``TrainConfig`` from the cell's fields that it declares, then the cell's ``train`` table (which wins);
    the table's fidelity options are the ``fidelity`` measurement's, not the training loop's."""
    declared = set(inspect.signature(config_class).parameters)
    from_cell = {name: value for name, value in config.model_dump().items()
                 if name in declared and name not in ("model", "train")}
    options = {name: value for name, value in config.train.items() if name not in FIDELITY_OPTIONS}
    return config_class(**{**from_cell, **options})


# --- fidelity ------------------------------------------------------------------------------------------------------

#: Dtypes the input is rebuilt in: float64 is the round-off floor, float32 what training uses, bfloat16 the
#: low-precision case (measured only where the device computes it natively, see :func:`bfloat16_unsupported`).
FIDELITY_DTYPES = ("float64", "float32", "bfloat16")

#: ``train`` table option: the deepest cell whose gradients are compared with a float64 plain-autograd reference.
#: That reference keeps every activation in float64 (O(L·N·D) memory, the very cost a reversible network avoids),
#: so a 1001-layer cell can measure its reconstruction without paying for it. Absent: compared at every depth.
GRADIENT_MAX_LAYERS_OPTION = "gradient_cosine_max_layers"
FIDELITY_OPTIONS = (GRADIENT_MAX_LAYERS_OPTION,)


@MEASUREMENTS.register("fidelity")
def measure_fidelity(ctx: CellContext) -> Metrics:
    """How exactly a reversible stack rebuilds what its forward freed, on the cell's whole graph.

    ``reconstruction_error[dtype]``: ``||X̂ - X|| / ||X||`` for the stack's input X rebuilt from its output through
    all ``layers`` inverses, model and data cast to ``dtype``. ``reconstruction_skipped[dtype]``: why a dtype has no
    number (no native support on the device, an operation torch lacks in it, a result that is not finite).
    ``gradient_cosine``: cosine similarity of all parameter gradients of the memory-efficient model (its own dtype,
    our backward) and of a float64 copy through plain autograd; ``gradient_cosine_skipped`` says why it is absent.
    """
    from models import fidelity

    data = ctx.dataset.data
    x, edge_index = data.x.to(ctx.device), data.edge_index.to(ctx.device)
    edge_attr = data.edge_attr.to(ctx.device) if getattr(data, "edge_attr", None) is not None else None
    errors, skipped = reconstruction_errors(ctx.model, x, edge_index, edge_attr, ctx.device)
    metrics: Metrics = {"reconstruction_error": errors, "reconstruction_skipped": skipped}
    cap = ctx.config.train.get(GRADIENT_MAX_LAYERS_OPTION)
    if cap is not None and ctx.config.layers > cap:
        metrics["gradient_cosine_skipped"] = (
            f"{ctx.config.layers} layers > {GRADIENT_MAX_LAYERS_OPTION} = {cap}: the float64 reference would keep "
            f"every activation of all {ctx.config.layers} layers")
    else:
        metrics["gradient_cosine"] = fidelity.gradient_cosine(ctx.model, x, edge_index, edge_attr)
    metrics["peak_rss_bytes"] = peak_rss_bytes()
    return merge_metrics(metrics, ctx.model_metrics())


def reconstruction_errors(model: Any, x: torch.Tensor, edge_index: torch.Tensor, edge_attr: torch.Tensor | None,
                          device: torch.device) -> tuple[dict[str, float], dict[str, str]]:
    """``(error by dtype, reason by skipped dtype)`` over :data:`FIDELITY_DTYPES`; an out-of-memory error is raised
    (the cell is an OOM point), any other failure of one dtype only skips that dtype."""
    import torch

    from models import fidelity

    from .worker import is_out_of_memory, one_line

    errors: dict[str, float] = {}
    skipped: dict[str, str] = {}
    for name in FIDELITY_DTYPES:
        dtype = getattr(torch, name)
        reason = bfloat16_unsupported(device) if dtype is torch.bfloat16 else None
        if reason is None:
            try:
                error = fidelity.reconstruction_error(model, x, edge_index, edge_attr, dtype=dtype)
            except (RuntimeError, NotImplementedError) as exc:  # an operator torch does not implement in dtype
                if is_out_of_memory(exc):
                    raise
                reason = f"not computable in {name} on {device.type}: {one_line(exc, limit=200)}"
            else:
                if math.isfinite(error):
                    errors[name] = error
                else:
                    reason = f"diverged: the input rebuilt in {name} is not finite ({error})"
        if reason is not None:
            skipped[name] = reason
    return errors, skipped


def bfloat16_unsupported(device: torch.device) -> str | None:
    """None where ``device`` computes bfloat16 natively; otherwise why the dtype is skipped there.

    torch runs bfloat16 on any CPU, but without AVX512-BF16 or AMX it emulates it through float32 (slowly, rounding
    where a native kernel need not), which is not the precision a bfloat16 deployment would get: such a CPU skips
    the dtype and the record says why. The probes are torch's own CPU-feature checks.
    """
    import torch

    if device.type == "cuda":
        return None if torch.cuda.is_bf16_supported() else "this GPU has no native bfloat16"
    if device.type != "cpu":
        return f"no bfloat16 check for device type {device.type!r}"
    probes = [getattr(torch.cpu, name, None) for name in ("_is_avx512_bf16_supported", "_is_amx_tile_supported")]
    if any(probe() for probe in probes if probe is not None):
        return None
    return (f"this CPU has no bfloat16 instructions (no AVX512-BF16, no AMX; torch's CPU capability: "
            f"{torch.backends.cpu.get_cpu_capability()}), torch would only emulate bfloat16 through float32")


def _as_dict(result: Any) -> Metrics:
    if dataclasses.is_dataclass(result):
        return dataclasses.asdict(result)
    if hasattr(result, "model_dump"):
        return result.model_dump()
    return dict(vars(result))


def _is_tensor(value: Any) -> bool:
    import torch

    return isinstance(value, torch.Tensor)
