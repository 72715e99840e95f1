"""A test-only measurement, ``probe``, that misbehaves on request: the runner must record each failure correctly.

Registered when the harness imports the modules named in ``GNN1000_PLUGINS`` (tests set it to
``harness_probes``), with the ``probe`` operator whose options they are. The cell's ``model.probe`` option says
what to do; nothing here is faked: allocations go through torch's allocator and the real meter, the hang really
hangs, the exit really exits.
"""
from __future__ import annotations

import os
import subprocess
import time

import torch
from torch.profiler import record_function

from harness.measurements import MEASUREMENTS, CellContext
from harness.meter import FORWARD_MARKER, measure_step_memory
from models.operators import register_operator
from models.operators.pyg.gcn import GCNOperator

GIB = 1024**3


@register_operator("probe", backend="pyg")
class ProbeOperator(GCNOperator):
    """gcn, declaring the probe's instructions as its options: a cell's model options are checked against what its
    operator's constructor declares, so the plugin declares them like any operator."""

    def __init__(self, probe: str = "ok", sleep: float = 0.0, bytes: int = 1024, impl: str = "ours",
                 pid_file: str = "") -> None:
        super().__init__(impl)


@MEASUREMENTS.register("probe")
def probe(ctx: CellContext) -> dict:
    options = ctx.config.model
    action = options.get("probe", "ok")
    time.sleep(float(options.get("sleep", 0.0)))
    if action == "raise":
        raise ValueError("planted failure\nsecond line of the message")
    if action == "hang":
        time.sleep(3600)
    if action == "orphan":  # a child of the cell (a DataLoader worker, say), then a hang: the timeout must take both
        child = subprocess.Popen(["sleep", "3600"])
        with open(options["pid_file"], "w") as handle:
            handle.write(str(child.pid))
        time.sleep(3600)
    if action == "exit":
        os._exit(3)
    if action == "hog":  # far past any small budget; without the address-space cap this would succeed untouched
        torch.empty(8 * GIB, dtype=torch.uint8)
    nbytes = int(options.get("bytes", 1024))
    if action == "alloc":  # past the budget, as measured by the meter
        nbytes = 2 * (ctx.memory_budget_bytes or nbytes)

    def step() -> None:
        with record_function(FORWARD_MARKER):
            buffer = torch.ones(nbytes, dtype=torch.uint8)
        del buffer

    report = measure_step_memory(step, ctx.device)
    return {"peak_allocated_bytes": report.peak_allocated_bytes, "baseline_bytes": report.baseline_bytes,
            "activation_bytes": report.activation_bytes, "probe_action": action}
