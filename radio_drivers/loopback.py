"""In-process loopback radio: what tx() sends at sample n comes back at rx() at n + delay_samples.

A stand-in for the air in demos and tests. It is an ideal wire: the relay emulator (channel/relay.py:
orbit delay, Doppler, path loss, fading) exists but is not attached to this driver yet; `gateway run`
applies its channel on the handset side. Times that were never transmitted read as zeros, as silence
on the air would.

The samples in flight live in a bounded ring buffer of `capacity_samples` (memory does not grow with
the length of the stream). When the receiver falls behind by more than the capacity, the transmitter
is held back (backpressure), never a sample is dropped or repeated:

    overflow="block"  tx() waits for rx() (another thread) to free room, up to timeout_s, then raises
                      RadioTimeout; the samples accepted so far are kept and counted.
    overflow="error"  tx() raises RadioError at once and accepts none of that call's samples
                      (the caller may read and retry).

rx() returns the samples whose transmit time is already covered by tx(); with none it waits up to
timeout_s for a transmitting thread (None: raises RadioTimeout at once, as a single thread could never
be served). A process that only transmits (`gateway transmit`) calls detach_receiver(): nobody listens
on this air, so samples are counted and not stored.
"""

from __future__ import annotations

import threading
import time

import numpy as np

from .base import Radio, RadioError, RadioTimeout, RxBlock, register_driver
from .iqframe import FrameFlags

__all__ = ["LoopbackRadio", "DEFAULT_CAPACITY_SAMPLES", "OVERFLOW_POLICIES"]

DEFAULT_CAPACITY_SAMPLES = 1 << 21  # 16 MiB of complex64: 68 ms at 30.72 Msps (20 MHz), 1.1 s at 1.92 Msps
OVERFLOW_POLICIES = ("block", "error")


class LoopbackRadio(Radio):
    """tx(x, n) then rx() -> x at n + delay_samples, through a bounded ring (see the module docstring).

    Counters: counters.samples_tx / samples_rx (every sample once), counters.overflows (a tx refused or
    timed out), counters.late_bursts; writer_waits / writer_wait_s (backpressure applied) and
    high_water_samples (most samples ever in flight) on the radio itself.
    """

    name = "loopback"

    def __init__(
        self,
        sample_rate_hz: float,
        center_frequency_hz: float,
        *,
        delay_samples: int = 0,
        capacity_samples: int = DEFAULT_CAPACITY_SAMPLES,
        overflow: str = "block",
        timeout_s: float = 2.0,
    ):
        super().__init__(sample_rate_hz, center_frequency_hz)
        if delay_samples < 0:
            raise RadioError(f"loopback delay_samples must be >= 0, got {delay_samples}")
        if capacity_samples < 1:
            raise RadioError(f"loopback capacity_samples must be >= 1, got {capacity_samples}")
        if overflow not in OVERFLOW_POLICIES:
            raise RadioError(f"loopback overflow must be one of {OVERFLOW_POLICIES}, got {overflow!r}")
        if not timeout_s > 0:
            raise RadioError(f"loopback timeout_s must be > 0, got {timeout_s!r}")
        self.delay_samples = int(delay_samples)
        self.capacity_samples = int(capacity_samples)
        self.overflow = overflow
        self.timeout_s = float(timeout_s)
        # ring[t % capacity] holds receive time t for t in [_rx_next_ts, _rx_next_ts + capacity);
        # invariant: every slot not holding a written, unread sample is zero (silence)
        self._ring = np.zeros(self.capacity_samples, np.complex64)
        self._tx_next_ts = 0  # transmit sample counter of the next free sample
        self._rx_next_ts = 0  # receive cursor
        self._cond = threading.Condition()
        self._receiver = True
        self.writer_waits = 0
        self.writer_wait_s = 0.0
        self.high_water_samples = 0

    # --- state ---------------------------------------------------------------------------------
    @property
    def _write_end_ts(self) -> int:
        """Receive time up to which the stream is defined (transmitted, or the leading delay's silence)."""
        return self._tx_next_ts + self.delay_samples

    @property
    def in_flight_samples(self) -> int:
        """Samples transmitted (plus the delay's silence) and not yet received."""
        return self._write_end_ts - self._rx_next_ts

    def detach_receiver(self) -> None:
        """Nobody will call rx(): from now on tx() counts its samples without storing them."""
        with self._cond:
            self._receiver = False
            self._cond.notify_all()

    # --- transmit ------------------------------------------------------------------------------
    def tx(
        self, samples: np.ndarray, timestamp: int | None = None, flags: FrameFlags = FrameFlags.NONE
    ) -> int:
        """Queue samples for reception at timestamp + delay_samples; a late timestamp is counted and
        the late part dropped (it would overwrite what was already sent). Returns len(samples)."""
        x = np.asarray(samples, dtype=np.complex64).reshape(-1)
        n_in = len(x)
        with self._cond:
            ts = self._tx_next_ts if timestamp is None else int(timestamp)
            if ts < self._tx_next_ts:
                late = min(n_in, self._tx_next_ts - ts)
                self.count("late_bursts", f"tx at n={ts} is before the next free sample n={self._tx_next_ts}")
                x, ts = x[late:], ts + late
            if not self._receiver:
                self._tx_next_ts = ts + len(x)
                self.counters.samples_tx += len(x)
                return n_in
            rx_ts = ts + self.delay_samples  # receive time of x[0]; the gap before it is already zeros
            if self.overflow == "error" and rx_ts + len(x) > self._rx_next_ts + self.capacity_samples:
                self.count("overflows", self._overflow_text(rx_ts + len(x)))
                raise RadioError(self._overflow_text(rx_ts + len(x)) + "; nothing of this call was queued")
            done = 0
            while done < len(x):
                room_end = self._rx_next_ts + self.capacity_samples
                if rx_ts + done >= room_end:  # full: wait for the receiver
                    self._wait_for_room(rx_ts + done + 1, rx_ts + len(x), done)
                    continue
                m = min(len(x) - done, room_end - (rx_ts + done))
                self._ring_put(rx_ts + done, x[done : done + m])
                done += m
                self._tx_next_ts = ts + done
                self.counters.samples_tx += m
                self.high_water_samples = max(self.high_water_samples, self.in_flight_samples)
                self._cond.notify_all()
            self._tx_next_ts = ts + len(x)
        return n_in

    def _overflow_text(self, end_ts: int) -> str:
        return (
            f"loopback: the receiver fell behind: receive time {end_ts} is beyond the ring's "
            f"{self.capacity_samples} samples after the receive cursor n={self._rx_next_ts}; read with rx() "
            "or raise radio.loopback.capacity_samples"
        )

    def _wait_for_room(self, need_end_ts: int, end_ts: int, done: int) -> None:
        """Block (lock held by the caller) until the ring can take receive time need_end_ts - 1."""
        t0 = time.perf_counter()
        self.writer_waits += 1
        ok = self._cond.wait_for(
            lambda: not self._receiver or need_end_ts <= self._rx_next_ts + self.capacity_samples,
            timeout=self.timeout_s,
        )
        self.writer_wait_s += time.perf_counter() - t0
        if not ok:
            self.count("overflows", self._overflow_text(end_ts))
            raise RadioTimeout(
                f"{self._overflow_text(end_ts)} (waited {self.timeout_s} s; {done} samples of this call "
                "were queued)"
            )
        if not self._receiver:
            raise RadioError("loopback: the receiver was detached while tx() waited for room")

    def _ring_put(self, t: int, x: np.ndarray) -> None:
        """Write x at receive times t.. (len(x) <= capacity, room checked by the caller)."""
        i = t % self.capacity_samples
        first = min(len(x), self.capacity_samples - i)
        self._ring[i : i + first] = x[:first]
        self._ring[: len(x) - first] = x[first:]

    # --- receive -------------------------------------------------------------------------------
    def rx(self, n: int, timeout_s: float | None = None) -> RxBlock:
        """Up to n samples from the receive cursor; the first delay_samples are zeros (the air's delay)."""
        if int(n) < 1:
            raise RadioError(f"loopback rx: n must be >= 1, got {n}")
        with self._cond:
            if not self._receiver:
                raise RadioError("loopback rx: the receiver was detached (detach_receiver)")
            if self.in_flight_samples <= 0:
                if timeout_s is None or not self._cond.wait_for(lambda: self.in_flight_samples > 0, timeout_s):
                    raise RadioTimeout("loopback: nothing transmitted yet for the next receive sample")
            take = min(int(n), self.in_flight_samples, self.capacity_samples)
            i = self._rx_next_ts % self.capacity_samples
            first = min(take, self.capacity_samples - i)
            out = np.empty(take, np.complex64)
            out[:first] = self._ring[i : i + first]
            out[first:] = self._ring[: take - first]
            self._ring[i : i + first] = 0  # keep the invariant: free slots read as silence
            self._ring[: take - first] = 0
            ts = self._rx_next_ts
            self._rx_next_ts += take
            self.counters.samples_rx += take
            self._cond.notify_all()
        return RxBlock(out, ts)


@register_driver("loopback")
def _open_loopback(radio_config, sample_rate_hz: float, center_frequency_hz: float) -> LoopbackRadio:
    lb = radio_config.loopback
    return LoopbackRadio(
        sample_rate_hz,
        center_frequency_hz,
        delay_samples=lb.delay_samples,
        capacity_samples=lb.capacity_samples,
        overflow=lb.overflow,
        timeout_s=lb.timeout_s,
    )
