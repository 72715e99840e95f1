"""``fidelity``: how exactly a reversible stack rebuilds what its forward freed (needs a connection that declares
:class:`models.connections.ReversibleConnection`: rev, wt-rev), and bfloat16's availability on the device."""
from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from harness.failures import is_out_of_memory, one_line

from .context import CellContext, merge_metrics, peak_rss_bytes
from .registry import MEASUREMENTS, Metrics

if TYPE_CHECKING:
    import torch

#: Dtypes the input is rebuilt in: float64 is the round-off floor, float32 what training uses, bfloat16 the
#: low-precision case (measured only where the device computes it natively, see :func:`bfloat16_unsupported`).
FIDELITY_DTYPES = ("float64", "float32", "bfloat16")


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
    cap = ctx.settings.gradient_cosine_max_layers
    if cap is not None and ctx.config.layers > cap:
        metrics["gradient_cosine_skipped"] = (
            f"{ctx.config.layers} layers > gradient_cosine_max_layers = {cap}: the float64 reference would keep "
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
