"""The memory meter: the peak bytes one training step allocates, on the CPU as exactly as on CUDA.

CUDA has an allocator-level peak (``torch.cuda.max_memory_allocated``). The CPU has none, and the process's peak RSS
measures glibc rather than tensors, so on the CPU the step runs under ``torch.profiler`` with ``profile_memory=True``
and its allocation and free events are replayed in time order, keeping the running maximum. The profiler only sees
frees of blocks it saw allocated, so the warm-up steps run under it too: everything a step frees (old gradients,
the previous mini-batch) was allocated while it was watching. What was live before the measured step is counted by
walking the tensors Python can reach (parameters, gradients, optimizer state, the graph), each storage once.

Event times are nanoseconds (``start_ns``) where the profiler has them; torch 2.2, which the DGL environment pins,
has only microseconds (``start_us`` / ``duration_us``). Events are replayed in the order the profiler recorded them
within a time stamp (a stable sort), so coarser stamps cannot reorder an allocation after its own free.

Bytes held for backward (activations) are the live bytes at the end of the forward minus those at its start. The
training step marks its forward with ``record_function(FORWARD_MARKER)``; custom autograd Functions that stash
tensors on ``ctx`` are counted like any saved tensor, because the replay sees allocations, not autograd's bookkeeping.
"""
from __future__ import annotations

import bisect
import gc
import warnings
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator

import torch
from torch.autograd import DeviceType
from torch.profiler import ProfilerActivity, profile, record_function

FORWARD_MARKER = "gnn1000::forward"
STEP_MARKER = "gnn1000::measured_step"
_MEMORY_EVENT = "[memory]"


@dataclass(frozen=True)
class MemoryReport:
    """Bytes of one step. ``peak_allocated_bytes`` includes ``baseline_bytes`` (what was live before the step)."""

    peak_allocated_bytes: int
    baseline_bytes: int
    activation_bytes: int | None
    peak_reserved_bytes: int | None = None

    @property
    def step_peak_bytes(self) -> int:
        """The step's own contribution: peak minus what was already live."""
        return self.peak_allocated_bytes - self.baseline_bytes


def measure_step_memory(
    step: Callable[[], Any],
    device: torch.device | str,
    forward_end_marker: bool = True,
    warmup_steps: int = 1,
) -> MemoryReport:
    """Run ``warmup_steps`` steps, then one measured step, and report the measured step's memory.

    With ``forward_end_marker`` the step must wrap its forward in ``record_function(FORWARD_MARKER)``; a step that
    does not is a ValueError (its activation bytes would silently be missing otherwise).
    """
    device = torch.device(device)
    is_cuda = device.type == "cuda"
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        for _ in range(warmup_steps):
            step()
        synchronize(device)
        gc.collect()
        if is_cuda:
            torch.cuda.reset_peak_memory_stats(device)
            baseline = torch.cuda.memory_allocated(device)
        else:
            baseline = live_tensor_bytes(device)
        with record_function(STEP_MARKER):
            step()
            synchronize(device)

    replay = _Replay(prof.profiler.kineto_results.events(), device)
    activation = replay.forward_bytes()
    if forward_end_marker and activation is None:
        raise ValueError(f"the step never entered record_function({FORWARD_MARKER!r}); mark its forward with it")
    if is_cuda:
        return MemoryReport(
            peak_allocated_bytes=torch.cuda.max_memory_allocated(device),
            baseline_bytes=baseline,
            activation_bytes=activation,
            peak_reserved_bytes=torch.cuda.max_memory_reserved(device),
        )
    return MemoryReport(peak_allocated_bytes=baseline + replay.peak, baseline_bytes=baseline,
                        activation_bytes=activation)


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


class _Replay:
    """The measured step's allocation events on one device, as a running total of live bytes over time."""

    def __init__(self, events: Iterable[Any], device: torch.device) -> None:
        events = list(events)
        window = [e for e in events if e.name() == STEP_MARKER]
        if not window:
            raise RuntimeError("the profiler recorded no measured step; is kineto available in this torch build?")
        self.start, self.end = _span_ns(window[-1])
        memory = sorted(
            ((_span_ns(e)[0], e.nbytes()) for e in events
             if e.name() == _MEMORY_EVENT and self._on(e, device) and self.start <= _span_ns(e)[0] <= self.end),
            key=lambda event: event[0],
        )
        self.times = [time for time, _ in memory]
        self.live: list[int] = []
        total = 0
        for _, nbytes in memory:
            total += nbytes
            self.live.append(total)
        self.peak = max([0, *self.live])
        self.forwards = [_span_ns(e) for e in events
                         if e.name() == FORWARD_MARKER and self.start <= _span_ns(e)[0] <= self.end]

    @staticmethod
    def _on(event: Any, device: torch.device) -> bool:
        if device.type == "cuda":
            index = device.index if device.index is not None else torch.cuda.current_device()
            return event.device_type() == DeviceType.CUDA and event.device_index() == index
        return event.device_type() == DeviceType.CPU

    def live_before(self, time: int) -> int:
        index = bisect.bisect_left(self.times, time)
        return self.live[index - 1] if index else 0

    def live_until(self, time: int) -> int:
        index = bisect.bisect_right(self.times, time)
        return self.live[index - 1] if index else 0

    def forward_bytes(self) -> int | None:
        """Live bytes at the end of the forward minus at its start (the largest, if the step runs several)."""
        if not self.forwards:
            return None
        return max(self.live_until(end) - self.live_before(start) for start, end in self.forwards)


def _span_ns(event: Any) -> tuple[int, int]:
    """An event's (start, end) in nanoseconds; from microsecond stamps where the profiler has no others."""
    if hasattr(event, "start_ns"):
        return event.start_ns(), event.end_ns()
    start = event.start_us() * 1000
    return start, start + event.duration_us() * 1000


# --- live tensors ------------------------------------------------------------------------------------------------------


def live_tensor_bytes(device: torch.device | str) -> int:
    """Bytes of every storage on ``device`` reachable from a Python tensor object, each storage counted once."""
    device = torch.device(device)
    with warnings.catch_warnings():  # isinstance() on deprecated torch objects warns
        warnings.simplefilter("ignore")
        tensors = [obj for obj in gc.get_objects() if _is_tensor(obj) and obj.device.type == device.type]
    return tensor_bytes(tensors)


def tensor_bytes(tensors: Iterable[torch.Tensor]) -> int:
    """Bytes of the distinct storages behind ``tensors`` (views and shared tensors count once)."""
    seen: set[int] = set()
    total = 0
    for tensor in tensors:
        for pointer, nbytes in _storages(tensor):
            if pointer and pointer not in seen:
                seen.add(pointer)
                total += nbytes
    return total


def _is_tensor(obj: object) -> bool:
    try:
        return isinstance(obj, torch.Tensor)
    except Exception:  # objects with exotic __class__ properties
        return False


def _storages(tensor: torch.Tensor) -> Iterator[tuple[int, int]]:
    try:
        layout = tensor.layout
        if layout == torch.strided:
            storage = tensor.untyped_storage()
            yield storage.data_ptr(), storage.nbytes()
        elif layout == torch.sparse_coo:
            for part in (tensor._indices(), tensor._values()):
                yield from _storages(part)
        elif layout in (torch.sparse_csr, torch.sparse_bsr):
            for part in (tensor.crow_indices(), tensor.col_indices(), tensor.values()):
                yield from _storages(part)
        elif layout in (torch.sparse_csc, torch.sparse_bsc):
            for part in (tensor.ccol_indices(), tensor.row_indices(), tensor.values()):
                yield from _storages(part)
    except (RuntimeError, NotImplementedError, TypeError, AttributeError):
        # wrapper subclasses without storage of their own: the tensors they wrap are visited separately
        return
