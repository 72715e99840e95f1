"""What a SLURM job array asks for: a profile's ``[profiles.NAME.slurm]`` table, overridable from the command line.

Every cell is one task of the array; each task gets what one cell needs::

    [profiles.full.slurm]
    partition = "gpu"          # sbatch --partition
    gpus_per_cell = 1          # --gpus-per-node (one task per node slot)
    cpus_per_cell = 8          # --cpus-per-task
    mem = "64GiB"              # --mem (a size as --memory-budget takes it)
    time_min = 90              # --time in minutes; default: the suite's timeout_s + STARTUP_S, rounded up
    array_parallelism = 16     # at most this many tasks of the array at once (--array=0-N%16)
    sbatch = { qos = "high", account = "lab" }   # any other sbatch option, verbatim: --qos=high --account=lab

Types are strict as in the rest of the suite file (``gpus_per_cell = "1"`` or ``= true`` is an error), an unknown
key is one line naming it. :func:`submitit_parameters` turns the table into submitit's ``SlurmExecutor`` parameters.
"""
from __future__ import annotations

import math
import re
from typing import Annotated, Any, Optional

from pydantic import AfterValidator, Field

from .config import Frozen
from .units import parse_size

#: What a task needs beyond the cell's own deadline: Python, the fork server's imports, writing the record.
STARTUP_S = 300.0
#: sbatch option names: lower-case words joined by ``-`` (``qos``, ``mail-type``); never one this table owns.
SBATCH_KEY = re.compile(r"[a-z][a-z0-9]*(-[a-z0-9]+)*")
OWNED_KEYS = {"partition", "gpus-per-node", "cpus-per-task", "mem", "time", "array", "output", "error",
              "open-mode", "signal", "job-name"}


def _size(text: str) -> str:
    parse_size(text)  # one line naming what is wrong
    return text


def _sbatch(flags: dict[str, str]) -> dict[str, str]:
    for key in flags:
        if not SBATCH_KEY.fullmatch(key):
            raise ValueError(f"{key!r} is not an sbatch option name (lower-case words joined by '-', e.g. qos)")
        if key in OWNED_KEYS:
            raise ValueError(f"{key!r} is set by the harness or by another key of this table; not in sbatch")
    return flags


class SlurmOptions(Frozen):
    """One profile's SLURM request per cell; every field optional (the cluster's defaults apply)."""

    partition: Optional[Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.,-]+$")]] = None
    gpus_per_cell: Optional[Annotated[int, Field(ge=0, le=64)]] = None
    cpus_per_cell: Optional[Annotated[int, Field(ge=1, le=1024)]] = None
    mem: Optional[Annotated[str, AfterValidator(_size)]] = None
    time_min: Optional[Annotated[int, Field(ge=1, le=30 * 24 * 60)]] = None
    array_parallelism: Optional[Annotated[int, Field(ge=1, le=100_000)]] = None
    sbatch: Annotated[dict[str, Annotated[str, Field(max_length=1024)]], AfterValidator(_sbatch)] = {}

    def merged(self, **overrides: Any) -> "SlurmOptions":
        """These options with the command line's (those not None) on top; validated again."""
        chosen = {key: value for key, value in overrides.items() if value is not None and value != {}}
        sbatch = {**self.sbatch, **chosen.pop("sbatch", {})}
        return SlurmOptions.model_validate({**self.model_dump(exclude_none=True), **chosen, "sbatch": sbatch})


def time_limit_min(options: SlurmOptions, timeout_s: float) -> int:
    """The task's time limit: the option, else the cell's deadline plus :data:`STARTUP_S`, in whole minutes."""
    return options.time_min or math.ceil((timeout_s + STARTUP_S) / 60)


def submitit_parameters(options: SlurmOptions, timeout_s: float, job_name: str) -> dict[str, Any]:
    """``SlurmExecutor.update_parameters(**this)``: one task per cell (one node, one task), stdout and stderr apart."""
    parameters: dict[str, Any] = {"job_name": job_name, "time": time_limit_min(options, timeout_s),
                                  "ntasks_per_node": 1, "nodes": 1}
    if options.partition is not None:
        parameters["partition"] = options.partition
    if options.gpus_per_cell:
        parameters["gpus_per_node"] = options.gpus_per_cell
    if options.cpus_per_cell is not None:
        parameters["cpus_per_task"] = options.cpus_per_cell
    if options.mem is not None:
        parameters["mem"] = f"{max(1, parse_size(options.mem) // 1024**2)}M"  # sbatch's M is MiB
    if options.array_parallelism is not None:
        parameters["array_parallelism"] = options.array_parallelism
    if options.sbatch:
        parameters["additional_parameters"] = dict(options.sbatch)
    return parameters
