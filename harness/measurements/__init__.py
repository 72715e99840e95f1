"""What a cell can measure (``memory``, ``time``, ``paired-time``, ``train``, ``fidelity``, ``estimate``), each a
function of a :class:`CellContext`.

A measurement returns a dict of metrics and runs in its own process (see :mod:`harness.worker`), so memory and time
are never taken in the same run: the profiler that measures memory would slow the steps being timed. The context
builds the data set, the model and the training step on first use, through the contracts of :mod:`models`,
:mod:`harness.datasets` and :mod:`harness.training`; nothing here names an operator or a connection. Adding a
measurement is one module that registers one function in :data:`MEASUREMENTS`, plus its import below (or a module
named by ``GNN1000_PLUGINS``, for one defined outside the project).
"""
from .context import CellContext, merge_metrics, peak_rss_bytes
from .registry import MEASUREMENTS, Measurement, Metrics

from . import estimate, fidelity, memory, paired_time, step_time, training  # noqa: E402,F401  (registration)

__all__ = ["MEASUREMENTS", "CellContext", "Measurement", "Metrics", "merge_metrics", "peak_rss_bytes"]
