"""Loopback radio: bounded ring buffer, backpressure, no sample dropped or repeated (issue 13)."""

from __future__ import annotations

import resource
import threading
import tracemalloc

import numpy as np
import pytest

from radio_drivers import LoopbackRadio, RadioError, RadioTimeout

FS = 1.92e6
F_C = 770e6
CHUNK = 1 << 16


def _ramp(t0: int, n: int) -> np.ndarray:
    """Samples that name their own receive time t: re = t mod 2^20, im = t >> 20 (both exact in float32)."""
    t = np.arange(t0, t0 + n, dtype=np.int64)
    return ((t & 0xFFFFF) + 1j * (t >> 20)).astype(np.complex64)


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def _stream(n_total: int, capacity: int) -> tuple[LoopbackRadio, int, int]:
    """Stream n_total samples through, one CHUNK written then read; checks every sample; returns
    (radio, tracemalloc peak growth in bytes, peak RSS growth in MiB)."""
    r = LoopbackRadio(FS, F_C, capacity_samples=capacity, overflow="error")
    # warm-up, then measure the steady state from here
    r.tx(_ramp(0, CHUNK))
    assert np.array_equal(r.rx(CHUNK).samples, _ramp(0, CHUNK))
    rss0 = _rss_mib()
    tracemalloc.start()
    base, _ = tracemalloc.get_traced_memory()
    t = CHUNK
    got_t = CHUNK
    while t < n_total:
        m = min(CHUNK, n_total - t)
        r.tx(_ramp(t, m), timestamp=t)
        t += m
        while got_t < t:
            s, ts = r.rx(CHUNK)
            assert ts == got_t, "a gap or a repeat at the receive cursor"
            assert np.array_equal(s, _ramp(ts, len(s))), "a sample changed, dropped or repeated"
            got_t += len(s)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return r, peak - base, _rss_mib() - rss0


def _check_bounded(n_total: int) -> None:
    capacity = 1 << 18
    r, traced_growth, rss_growth = _stream(n_total, capacity)
    assert r.counters.samples_tx == n_total and r.counters.samples_rx == n_total
    assert r.counters.overflows == 0 and r.counters.late_bursts == 0
    assert r.high_water_samples <= capacity
    # a few chunks' worth of temporaries, independent of n_total (the old driver grew by 8 bytes a sample)
    assert traced_growth < 16 * CHUNK * 8, f"traced memory grew by {traced_growth / 2**20:.1f} MiB"
    assert rss_growth < 32, f"peak RSS grew by {rss_growth:.1f} MiB"


def test_hundred_million_samples_in_bounded_memory():
    # issue 13: the old driver concatenated its buffer on every block (800 MB for 10^8 samples, 0.13x
    # real time); through the ring 10^8 samples take about 2 s and a few chunks of memory
    _check_bounded(10**8)


def test_full_ring_raises_without_queuing_with_overflow_error():
    r = LoopbackRadio(FS, F_C, capacity_samples=100, overflow="error")
    r.tx(_ramp(0, 80))
    with pytest.raises(RadioError, match="receiver fell behind.*capacity_samples"):
        r.tx(_ramp(80, 30))
    assert r.counters.overflows == 1 and r.counters.samples_tx == 80
    assert np.array_equal(r.rx(50).samples, _ramp(0, 50))
    r.tx(_ramp(80, 30))  # the retry after reading fits, nothing lost or repeated
    assert np.array_equal(r.rx(1000).samples, _ramp(50, 60))


def test_full_ring_blocks_the_writer_until_the_reader_catches_up():
    r = LoopbackRadio(FS, F_C, capacity_samples=1000, overflow="block", timeout_s=10.0)
    n_total = 50_000
    received = []

    def reader():
        t = 0
        while t < n_total:
            s, ts = r.rx(700, timeout_s=10.0)
            assert ts == t
            received.append(s)
            t += len(s)

    th = threading.Thread(target=reader)
    th.start()
    for t in range(0, n_total, 2500):  # each call is larger than the ring: it must wait part-way
        r.tx(_ramp(t, 2500), timestamp=t)
    th.join(timeout=30)
    assert not th.is_alive()
    assert np.array_equal(np.concatenate(received), _ramp(0, n_total))
    assert r.writer_waits > 0 and r.counters.overflows == 0
    assert r.high_water_samples <= 1000


def test_blocked_writer_times_out_with_a_clear_error_and_keeps_what_it_queued():
    r = LoopbackRadio(FS, F_C, capacity_samples=100, overflow="block", timeout_s=0.05)
    with pytest.raises(RadioTimeout, match="receiver fell behind.*100 samples of this call were queued"):
        r.tx(_ramp(0, 150))
    assert r.counters.overflows == 1 and r.counters.samples_tx == 100
    assert np.array_equal(r.rx(1000).samples, _ramp(0, 100))


def test_delay_gap_and_wraparound_read_as_silence():
    r = LoopbackRadio(FS, F_C, delay_samples=7, capacity_samples=16, overflow="error")
    r.tx(_ramp(1, 4))  # receive times 7..10
    s, ts = r.rx(100)
    assert ts == 0 and np.array_equal(s, np.concatenate([np.zeros(7), _ramp(1, 4)]).astype(np.complex64))
    r.tx(_ramp(20, 3), timestamp=10)  # transmit gap n = 4..9 -> receive 11..16, across the ring's wrap
    s, ts = r.rx(100)
    assert ts == 11 and np.array_equal(s, np.concatenate([np.zeros(6), _ramp(20, 3)]).astype(np.complex64))
    r.tx(_ramp(5, 1), timestamp=15)  # gap again after the wrap: the freed slots were zeroed
    s, _ = r.rx(100)
    assert np.array_equal(s, np.array([0, 0, _ramp(5, 1)[0]], np.complex64))


def test_detached_receiver_counts_without_storing():
    r = LoopbackRadio(FS, F_C, capacity_samples=10)
    r.detach_receiver()
    for t in range(0, 1000, 100):
        r.tx(_ramp(t, 100), timestamp=t)
    assert r.counters.samples_tx == 1000 and r.counters.overflows == 0
    with pytest.raises(RadioError, match="detached"):
        r.rx(1)


@pytest.mark.parametrize(
    "kwargs, match",
    [({"capacity_samples": 0}, "capacity_samples"), ({"overflow": "drop"}, "overflow"), ({"timeout_s": 0}, "timeout")],
)
def test_bad_settings_are_refused(kwargs, match):
    with pytest.raises(RadioError, match=match):
        LoopbackRadio(FS, F_C, **kwargs)
