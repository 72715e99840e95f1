"""The memory meter against allocations whose size is known to the byte."""
from __future__ import annotations

import pytest
import torch
from torch.profiler import record_function

from harness.meter import FORWARD_MARKER, live_tensor_bytes, measure_step_memory, tensor_bytes

KNOWN = 3 * 1024 * 1024 + 17  # an odd size, so that no rounding can hide an error


def make_step(extra_bytes: int, device: str = "cpu", keep_for_backward: bool = False, set_to_none: bool = True):
    """A small training step; ``extra_bytes`` more are allocated in its forward (and held until backward)."""
    torch.manual_seed(0)
    weight = torch.nn.Parameter(torch.randn(64, 64, device=device))
    x = torch.randn(256, 64, device=device)
    optimizer = torch.optim.Adam([weight])

    def step() -> None:
        optimizer.zero_grad(set_to_none=set_to_none)
        with record_function(FORWARD_MARKER):
            out = (x @ weight).relu()
            if extra_bytes:
                extra = torch.ones(extra_bytes, dtype=torch.uint8, device=device)
                if not keep_for_backward:
                    del extra
        out.sum().backward()
        optimizer.step()

    return step


def test_peak_grows_by_exactly_a_known_allocation():
    plain = measure_step_memory(make_step(0), "cpu")
    bigger = measure_step_memory(make_step(KNOWN, keep_for_backward=True), "cpu")  # alive across the peak
    assert bigger.peak_allocated_bytes - plain.peak_allocated_bytes == KNOWN
    assert bigger.baseline_bytes == plain.baseline_bytes


def test_activation_bytes_count_what_the_forward_leaves_alive():
    plain = measure_step_memory(make_step(0), "cpu")
    freed = measure_step_memory(make_step(KNOWN), "cpu")
    held = measure_step_memory(make_step(KNOWN, keep_for_backward=True), "cpu")
    assert freed.activation_bytes == plain.activation_bytes
    assert held.activation_bytes - plain.activation_bytes == KNOWN
    # the forward's output (256 × 64 floats) is held for backward: at least that much
    assert plain.activation_bytes >= 256 * 64 * 4


def test_baseline_counts_tensors_alive_before_the_step():
    before = measure_step_memory(make_step(0), "cpu")
    resident = torch.empty(KNOWN, dtype=torch.uint8)
    after = measure_step_memory(make_step(0), "cpu")
    assert after.baseline_bytes - before.baseline_bytes == KNOWN
    assert after.peak_allocated_bytes - before.peak_allocated_bytes == KNOWN
    del resident


def test_baseline_includes_parameters_gradients_and_optimizer_state():
    report = measure_step_memory(make_step(0), "cpu")
    weight_bytes = 64 * 64 * 4
    # weight + its gradient + Adam's two moments + x, at least
    assert report.baseline_bytes >= 4 * weight_bytes + 256 * 64 * 4


def test_freed_gradients_are_not_counted_twice():
    """zero_grad(set_to_none=True) frees gradients allocated in the warm-up; the replay must see those frees."""
    to_none = measure_step_memory(make_step(0, set_to_none=True), "cpu")
    to_zero = measure_step_memory(make_step(0, set_to_none=False), "cpu")
    assert to_none.peak_allocated_bytes <= to_zero.peak_allocated_bytes


def test_measurement_is_deterministic():
    reports = {measure_step_memory(make_step(KNOWN), "cpu") for _ in range(2)}
    assert len(reports) == 1


def test_missing_forward_marker_is_an_error():
    weight = torch.nn.Parameter(torch.randn(8, 8))

    def step() -> None:
        (weight * 2).sum().backward()

    with pytest.raises(ValueError, match="gnn1000::forward"):
        measure_step_memory(step, "cpu")
    assert measure_step_memory(step, "cpu", forward_end_marker=False).activation_bytes is None


@pytest.mark.filterwarnings("ignore:Sparse CSR tensor support is in beta")
def test_tensor_bytes_counts_each_storage_once():
    base = torch.empty(1000, dtype=torch.float32)
    assert tensor_bytes([base, base[10:20], base.view(10, 100)]) == 4000
    crow, col, values = torch.arange(11), torch.arange(10), torch.ones(10)
    sparse = torch.sparse_csr_tensor(crow, col, values, (10, 10))
    assert tensor_bytes([sparse]) == 11 * 8 + 10 * 8 + 10 * 4  # crow_indices, col_indices, values
    assert tensor_bytes([sparse, values]) == tensor_bytes([sparse])


def test_live_tensor_bytes_sees_a_new_tensor():
    before = live_tensor_bytes("cpu")
    resident = torch.empty(KNOWN, dtype=torch.uint8)
    assert live_tensor_bytes("cpu") - before == KNOWN
    del resident


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_peak_and_activations_grow_by_a_known_allocation():
    plain = measure_step_memory(make_step(0, device="cuda"), "cuda")
    held = measure_step_memory(make_step(KNOWN, device="cuda", keep_for_backward=True), "cuda")
    rounded = -(-KNOWN // 512) * 512  # the caching allocator rounds blocks up to 512 bytes
    assert held.peak_allocated_bytes - plain.peak_allocated_bytes == rounded
    assert held.activation_bytes - plain.activation_bytes == rounded
    assert held.peak_reserved_bytes >= held.peak_allocated_bytes


class _MicrosecondEvent:
    """A profiler event as torch 2.2 (the DGL environment's torch) has it: microsecond stamps, no ``start_ns``."""

    def __init__(self, start_us: int, duration_us: int) -> None:
        self._start, self._duration = start_us, duration_us

    def start_us(self) -> int:
        return self._start

    def duration_us(self) -> int:
        return self._duration


def test_event_times_fall_back_to_microseconds_without_start_ns():
    from harness.meter import _span_ns

    assert _span_ns(_MicrosecondEvent(12, 5)) == (12_000, 17_000)


def test_replay_keeps_the_recorded_order_within_one_time_stamp():
    """Coarse (microsecond) stamps tie often; an allocation and its free in the same stamp must not swap places,
    or the peak would miss the allocation."""
    from harness.meter import STEP_MARKER, _MEMORY_EVENT, _Replay

    class Event(_MicrosecondEvent):
        def __init__(self, name: str, start_us: int, duration_us: int = 0, nbytes: int = 0) -> None:
            super().__init__(start_us, duration_us)
            self._name, self._nbytes = name, nbytes

        def name(self) -> str:
            return self._name

        def nbytes(self) -> int:
            return self._nbytes

        def device_type(self):
            return torch.autograd.DeviceType.CPU

    events = [Event(STEP_MARKER, 10, 10), Event(_MEMORY_EVENT, 12, nbytes=KNOWN), Event(_MEMORY_EVENT, 12, nbytes=-KNOWN)]
    assert _Replay(events, torch.device("cpu")).peak == KNOWN
