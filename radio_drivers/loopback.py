"""In-process loopback radio: what tx() sends at sample n comes back at rx() at n + delay_samples.

A stand-in for the air in demos and tests (the real channel simulator comes later). Times that were
never transmitted read as zeros, as silence on the air would. rx() returns the samples whose
transmit time is already covered by tx(); with none at all it raises RadioTimeout at once (there is
no other thread that could still transmit).
"""

from __future__ import annotations

import numpy as np

from .base import Radio, RadioError, RadioTimeout, RxBlock, register_driver
from .iqframe import FrameFlags

__all__ = ["LoopbackRadio"]


class LoopbackRadio(Radio):
    """tx(x, n) then rx() -> x at n + delay_samples; samples are copied (the caller may reuse buffers)."""

    name = "loopback"

    def __init__(self, sample_rate_hz: float, center_frequency_hz: float, *, delay_samples: int = 0):
        super().__init__(sample_rate_hz, center_frequency_hz)
        if delay_samples < 0:
            raise RadioError(f"loopback delay_samples must be >= 0, got {delay_samples}")
        self.delay_samples = int(delay_samples)
        self._buffer = np.zeros(0, np.complex64)  # received-side samples from _buffer_start on
        self._buffer_start = 0  # receive sample counter of _buffer[0]
        self._tx_next_ts = 0
        self._rx_next_ts = 0

    def tx(
        self, samples: np.ndarray, timestamp: int | None = None, flags: FrameFlags = FrameFlags.NONE
    ) -> int:
        """Queue samples for reception at timestamp + delay_samples; a late timestamp is counted and
        the late part dropped (it would overwrite what was already sent)."""
        x = np.asarray(samples, dtype=np.complex64)
        n_in = len(x)
        ts = self._tx_next_ts if timestamp is None else int(timestamp)
        if ts < self._tx_next_ts:
            late = min(n_in, self._tx_next_ts - ts)
            self.count("late_bursts", f"tx at n={ts} is before the next free sample n={self._tx_next_ts}")
            x, ts = x[late:], ts + late
        # receive time of x[0], and where it lands in the buffer (zeros fill a transmit gap)
        rx_ts = ts + self.delay_samples
        end = rx_ts + len(x) - self._buffer_start
        if end > len(self._buffer):
            self._buffer = np.concatenate([self._buffer, np.zeros(end - len(self._buffer), np.complex64)])
        offset = rx_ts - self._buffer_start
        self._buffer[offset : offset + len(x)] = x
        self._tx_next_ts = ts + len(x)
        self.counters.samples_tx += len(x)
        return n_in

    def rx(self, n: int, timeout_s: float | None = None) -> RxBlock:
        """Up to n samples from the receive cursor; the first delay_samples are zeros (the air's delay)."""
        available = self._tx_next_ts + self.delay_samples - self._rx_next_ts
        if available <= 0:
            raise RadioTimeout("loopback: nothing transmitted yet for the next receive sample")
        take = min(int(n), available)
        start = self._rx_next_ts - self._buffer_start
        out = np.zeros(take, np.complex64)
        lo = max(start, 0)
        hi = min(start + take, len(self._buffer))
        if hi > lo:
            out[lo - start : hi - start] = self._buffer[lo:hi]
        ts = self._rx_next_ts
        self._rx_next_ts += take
        # drop what has been read
        consumed = self._rx_next_ts - self._buffer_start
        if consumed > 0:
            self._buffer = (
                self._buffer[consumed:].copy() if consumed < len(self._buffer) else self._buffer[:0]
            )
            self._buffer_start = self._rx_next_ts
        self.counters.samples_rx += take
        return RxBlock(out, ts)


@register_driver("loopback")
def _open_loopback(radio_config, sample_rate_hz: float, center_frequency_hz: float) -> LoopbackRadio:
    return LoopbackRadio(
        sample_rate_hz, center_frequency_hz, delay_samples=radio_config.loopback.delay_samples
    )
