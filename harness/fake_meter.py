"""The fake-tensor meter: the peak bytes of a training step, computed from shapes alone.

Memory depends only on shapes, and ``FakeTensorMode`` runs every operator on tensors without data: each output gets
its real size, nothing is allocated. :class:`LiveStorages` is a ``TorchDispatchMode`` on top of it that keeps the live
bytes of every untyped storage it sees created (each storage once, freed through ``weakref.finalize``, resized through
``UntypedStorage.resize_``, which the reversible Function uses), and the running maximum: the counterpart of the
profiler replay of :mod:`harness.meter`, for a step that would not fit here.

What fake mode cannot hold runs for real, decided op by op:

- an operator whose tensor inputs are all real (the graph's structure: ``edge_index``, self-loops, partitions,
  normalisations, the CSR adjacency) runs on the real tensors, and its outputs are counted like any other;
- a factory without tensor inputs runs for real when it makes integers or booleans (``arange`` for self-loops);
  floating-point factories (parameters, masks, buffers) are fake;
- a sparse (CSR) matrix times a fake dense tensor gets a fake output of the product's shape (fake mode cannot hold a
  sparse tensor; the product's output is its only allocation on the CPU);
- indexing with a real boolean mask is indexing with the mask's ``nonzero()`` (a data-dependent shape, known here);
- a scalar read of a fake value (``float(loss)``, a solver's convergence test) is NaN: every such test fails, so a
  solver runs to its iteration cap.

Kernel-internal buffers (workspace a kernel allocates and frees inside one call) are invisible here, as they are to
autograd; that is the documented difference from the exact meter, and ``tests/test_fake_meter.py`` bounds it.
Written by hand because torch's ``MemTracker`` crashes on sparse CSR storages and scales with modules x ops.
"""
from __future__ import annotations

import gc
import weakref
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Callable, Iterator

import torch
from torch._subclasses.fake_tensor import FakeTensorMode, is_fake, unset_fake_temporarily
from torch.utils._python_dispatch import TorchDispatchMode, _disable_current_modes
from torch.utils._pytree import tree_flatten

from harness.meter import FORWARD_MARKER, MemoryReport

_SPARSE = (torch.sparse_csr, torch.sparse_csc, torch.sparse_coo, torch.sparse_bsr, torch.sparse_bsc)
_INTEGRAL = (torch.bool, torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64)
_aten = torch.ops.aten
_DEVICE_QUERY = torch.ops.prim.device.default
_SPARSE_PRODUCTS = {_aten.mm.default, _aten.addmm.default, _aten._sparse_mm.default, _aten.matmul.default}


class LiveStorages(TorchDispatchMode):
    """Live bytes of the storages created while active, their running peak and the forward pass's span."""

    def __init__(self, fake_mode: FakeTensorMode, block_bytes: int = 1) -> None:
        super().__init__()
        self.fake_mode = fake_mode
        self.block_bytes = block_bytes  # allocation granularity: 512 as CUDA's caching allocator, 1 on the CPU
        self.sizes: dict[int, int] = {}
        self.excluded: set[int] = set()  # storages that do not count (a host-resident graph on a GPU)
        self.current = self.peak = 0
        self.forward_start: int | None = None
        self.forward_bytes: list[int] = []

    # --- accounting --------------------------------------------------------------------------------------------------

    def track(self, tensor: torch.Tensor) -> None:
        for storage in _storages(tensor):
            key = storage._cdata
            nbytes = self.rounded(storage.nbytes())
            if key in self.sizes:
                self._resize(key, nbytes)
                continue
            self.sizes[key] = 0
            self._resize(key, nbytes)
            weakref.finalize(storage, self._free, key)

    def rounded(self, nbytes: int) -> int:
        return -(-nbytes // self.block_bytes) * self.block_bytes

    def _resize(self, key: int, nbytes: int) -> None:
        if key in self.excluded:
            return
        self.current += nbytes - self.sizes[key]
        self.sizes[key] = nbytes
        self.peak = max(self.peak, self.current)

    def _free(self, key: int) -> None:
        size = self.sizes.pop(key, 0)
        if key not in self.excluded:
            self.current -= size
        self.excluded.discard(key)

    def exclude(self, tensors: list[torch.Tensor]) -> None:
        """Stop counting these tensors' storages (what a GPU would keep on the host)."""
        for tensor in tensors:
            for storage in _storages(tensor):
                key = storage._cdata
                if key in self.sizes and key not in self.excluded:
                    self.current -= self.sizes[key]
                    self.excluded.add(key)

    def adopt_live_tensors(self) -> None:
        """Count every reachable tensor created before the meter was on (a data set loaded for real)."""
        gc.collect()  # unreachable cycles are not live
        for obj in gc.get_objects():
            if isinstance(obj, torch.Tensor) and obj.device.type == "cpu":
                self.track(obj)

    # --- dispatch ----------------------------------------------------------------------------------------------------

    def __torch_dispatch__(self, func: Any, types: Any, args: tuple = (), kwargs: dict | None = None) -> Any:
        if func is _DEVICE_QUERY:  # ``tensor.device`` (half of all calls in an optimizer step): no storage
            return func(*args)
        kwargs = kwargs or {}
        if func is torch.ops.profiler._record_function_enter_new.default and args and args[0] == FORWARD_MARKER:
            self.forward_start = self.current
        elif func is torch.ops.profiler._record_function_exit._RecordFunction and self.forward_start is not None:
            self.forward_bytes.append(self.current - self.forward_start)
            self.forward_start = None
        out = self._run(func, args, kwargs)
        for value in tree_flatten(out)[0]:
            if isinstance(value, torch.Tensor):
                self.track(value)
        return out

    def _run(self, func: Any, args: tuple, kwargs: dict) -> Any:
        tensors = [v for v in tree_flatten((args, kwargs))[0] if isinstance(v, torch.Tensor)]
        fakes = [t for t in tensors if is_fake(t)]
        if func is _aten._local_scalar_dense.default and fakes:
            return float("nan")
        if not fakes and tensors:
            with unset_fake_temporarily():
                return func(*args, **kwargs)
        if not tensors:  # a factory: integers (indices, partitions) are structure, made for real
            out = func(*args, **kwargs)
            if isinstance(out, torch.Tensor) and out.dtype in _INTEGRAL:
                with unset_fake_temporarily():
                    return func(*args, **kwargs)
            return out
        sparse = [t for t in tensors if not is_fake(t) and t.layout in _SPARSE]
        if sparse and func in _SPARSE_PRODUCTS:
            left, right = args[-2], args[-1]
            return torch.empty(left.size(0), right.size(1), dtype=fakes[0].dtype)
        if func is _aten.index.Tensor and any(_real_mask(i) for i in args[1]):
            with unset_fake_temporarily():
                indices = [part for i in args[1] for part in (i.nonzero().unbind(1) if _real_mask(i) else [i])]
            return func(args[0], indices)
        return func(*args, **kwargs)


def _real_mask(value: Any) -> bool:
    return isinstance(value, torch.Tensor) and not is_fake(value) and value.dtype == torch.bool


def _storages(tensor: torch.Tensor) -> Iterator[Any]:
    if tensor.layout == torch.strided:
        yield tensor.untyped_storage()
    elif tensor.layout in (torch.sparse_csr, torch.sparse_bsr):
        for part in (tensor.crow_indices(), tensor.col_indices(), tensor.values()):
            yield from _storages(part)
    elif tensor.layout in (torch.sparse_csc, torch.sparse_bsc):
        for part in (tensor.ccol_indices(), tensor.row_indices(), tensor.values()):
            yield from _storages(part)
    elif tensor.layout == torch.sparse_coo:
        for part in (tensor._indices(), tensor._values()):
            yield from _storages(part)


@contextmanager
def _tracked_resizes(meter: LiveStorages) -> Iterator[None]:
    """``UntypedStorage.resize_`` changes a storage's size without an operator the mode would see."""
    original = torch.UntypedStorage.resize_

    def resize_(storage: Any, nbytes: int) -> Any:
        result = original(storage, nbytes)
        key = storage._cdata
        if key in meter.sizes:
            meter._resize(key, meter.rounded(storage.nbytes()))
        return result

    torch.UntypedStorage.resize_ = resize_
    try:
        yield
    finally:
        torch.UntypedStorage.resize_ = original


def real_structure(prepare: Callable[..., Any]) -> Callable[..., Any]:
    """``prepare`` (an operator's ``prepare_graph``: the graph's structure from ``edge_index``) run on real tensors,
    values included: a CSR adjacency cannot be fake, and its size depends on the edges' values (duplicates merge)."""

    def run(*args: Any, **kwargs: Any) -> Any:
        with unset_fake_temporarily():
            return prepare(*args, **kwargs)

    return run


def real_data(meter: LiveStorages, load: Callable[..., Any]) -> Callable[..., Any]:
    """``load`` (a data set drawing a mini-batch part) run for real with every mode off, so that its generator's
    scratch tensors are not counted; what it returns is then counted as live from that moment, like a part copied
    to the device."""

    def run(*args: Any, **kwargs: Any) -> Any:
        with _disable_current_modes():
            out = load(*args, **kwargs)
        values = out.to_dict().values() if hasattr(out, "to_dict") else tree_flatten(out)[0]
        for value in values:
            if isinstance(value, torch.Tensor):
                meter.track(value)
        return out

    return run


@dataclass
class FakeSession:
    """Fake mode and the meter, entered together; build the model and the step inside, then :meth:`measure`."""

    fake_mode: FakeTensorMode
    meter: LiveStorages

    def measure(self, step: Callable[[], Any], warmup_steps: int = 1) -> MemoryReport:
        """Like :func:`harness.meter.measure_step_memory`: warm-up steps, then the measured step's peak."""
        for _ in range(warmup_steps):
            step()
        gc.collect()
        baseline = self.meter.current
        self.meter.peak, self.meter.forward_bytes = baseline, []
        step()
        activation = max(self.meter.forward_bytes) if self.meter.forward_bytes else None
        return MemoryReport(peak_allocated_bytes=self.meter.peak, baseline_bytes=baseline,
                            activation_bytes=activation)

    def tensor_bytes(self, tensors: list[torch.Tensor]) -> int:
        """Bytes of the distinct storages behind ``tensors`` (fake ones included)."""
        seen: dict[int, int] = {}
        for tensor in tensors:
            for storage in _storages(tensor):
                seen[storage._cdata] = storage.nbytes()
        return sum(seen.values())


@contextmanager
def fake_session(block_bytes: int = 1) -> Iterator[FakeSession]:
    """Everything created inside is fake unless it is the graph's structure (see the module docstring);
    ``block_bytes`` rounds every storage up as the target device's allocator does (CUDA: 512)."""
    fake_mode = FakeTensorMode(allow_non_fake_inputs=True)
    meter = LiveStorages(fake_mode, block_bytes)
    with fake_mode, meter, _tracked_resizes(meter):
        meter.adopt_live_tensors()
        yield FakeSession(fake_mode, meter)


__all__ = ["FakeSession", "LiveStorages", "fake_session", "real_data", "real_structure"]
