"""``train``: a whole training run (:func:`harness.training.train`); every field of its result becomes a metric.

Each epoch's line (epoch, loss, validation metric, best so far, seconds per epoch) goes to the cell's log, and to
the console of ``harness run`` at most every :data:`CONSOLE_SECONDS` (and for the last epoch), prefixed with the
cell, so a long run can be followed. ``threads`` (torch's intra-op threads the run used) is recorded: on a machine
of at most :data:`harness.worker.SMALL_MACHINE_CORES` cores a ``train`` cell runs with 1 thread unless the suite sets ``threads``
(torch's default of one per core ran about 6x slower than 1 thread on a 2-core machine shared with other work).
"""
from __future__ import annotations

import dataclasses
import time
from typing import TYPE_CHECKING, Optional, TextIO

from .context import CellContext, merge_metrics
from .registry import MEASUREMENTS, Metrics

if TYPE_CHECKING:
    from harness.training import EpochProgress

CONSOLE_SECONDS = 10.0


class EpochLines:
    """``on_epoch`` for :func:`harness.training.train`: every line to ``log``, throttled lines to ``console``."""

    def __init__(self, label: str, log: TextIO, console: Optional[TextIO], every_s: float = CONSOLE_SECONDS) -> None:
        self.label, self.log, self.console, self.every_s = label, log, console, every_s
        self.last_console = time.monotonic()

    def __call__(self, progress: EpochProgress) -> None:
        line = progress.line()
        print(line, file=self.log, flush=True)
        now = time.monotonic()
        if self.console is not None and (progress.epoch == progress.epochs or now - self.last_console >= self.every_s):
            self.last_console = now
            try:
                print(f"  {self.label}  {line}", file=self.console, flush=True)
            except OSError:  # the console went away (a closed terminal): the log still has every line
                self.console = None


@MEASUREMENTS.register("train", small_machine_threads=1)
def measure_training(ctx: CellContext) -> Metrics:
    """Train the cell's model with the cell's :class:`~harness.config.TrainConfig` (the step ``memory`` measures)."""
    import sys

    import torch

    from harness.training import train

    lines = EpochLines(ctx.label, sys.stdout, ctx.console)
    result = train(ctx.model, ctx.dataset, ctx.train_config, ctx.device, progress=False, on_epoch=lines)
    return merge_metrics({**dataclasses.asdict(result), "threads": torch.get_num_threads()}, ctx.model_metrics())
