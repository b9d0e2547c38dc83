"""The one radio driver interface, its counters, and the registry of drivers by name.

Every driver (loopback, zmq, srsran_zmq, soapy, sigmf) is a `Radio`:

    radio.tx(samples, timestamp=None, flags=FrameFlags.NONE) -> int     samples accepted
    radio.rx(n, timeout_s=None) -> RxBlock(samples, timestamp)          up to n contiguous samples
    radio.sample_rate_hz, radio.center_frequency_hz, radio.set_gain(gain_db, direction)
    radio.counters (underflows, overflows, late_bursts, dropped_frames, ...), radio.close()

Time is the stream's integer sample counter n (DESIGN.md 2); `timestamp` is n of the first sample.
`rx` returns at most `n` samples that are contiguous in time: it returns fewer only at a
discontinuity (sequence gap, timestamp jump, new burst, overflow; a block that starts after one holds
what had arrived, so the caller learns of it at once) or when the peer went quiet after some samples
arrived, so a gap is never silently spliced. With nothing at all it raises RadioTimeout.
radio_drivers.rx_gaps.read_contiguous turns the blocks into one capture with its gaps marked.
"""

from __future__ import annotations

import abc
import dataclasses
import logging
import threading
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from .iqframe import FrameFlags

__all__ = [
    "Radio",
    "RadioCounters",
    "RxBlock",
    "RadioError",
    "RadioTimeout",
    "EndOfStream",
    "FrameFlags",
    "MAX_SEQUENCE_JUMP",
    "nonfinite_count",
    "register_driver",
    "get_driver",
    "driver_names",
]

log = logging.getLogger("soragate.radio")

# A forward sequence jump larger than this (frames) is not a loss a stream can have had (1 ms frames:
# 17 minutes): it is counted as a stream restart or corruption, not as that many dropped frames.
MAX_SEQUENCE_JUMP = 1 << 20


def nonfinite_count(samples: np.ndarray) -> int:
    """Number of samples with a NaN or inf part (a received payload must have none).

    Fast path: a NaN or inf anywhere makes the sum of all parts non-finite, so a finite sum means none
    (one pass, no temporary); a non-finite sum (a NaN, or finite parts that overflow) is counted exactly."""
    samples = np.asarray(samples)
    if samples.dtype.kind in "fc" and samples.flags.c_contiguous:
        parts = samples.view(samples.real.dtype) if samples.dtype.kind == "c" else samples
        with np.errstate(over="ignore", invalid="ignore"):
            total = np.add.reduce(parts, axis=None)
        if np.isfinite(total):
            return 0
    return int(samples.size - np.count_nonzero(np.isfinite(samples)))


class RadioError(RuntimeError):
    """A radio cannot do what was asked; the message says what to check or change."""


class RadioTimeout(RadioError):
    """Nothing arrived (or no peer took the samples) within the configured timeout."""


class EndOfStream(RadioError):
    """A finite source (a SigMF playback) has no more samples."""


class RxBlock(NamedTuple):
    """Received samples (N,) complex64 and the sample counter n of samples[0]."""

    samples: np.ndarray
    timestamp: int


@dataclasses.dataclass
class RadioCounters:
    """Event counters of one radio; every increment is also logged with the reason."""

    samples_tx: int = 0
    samples_rx: int = 0
    frames_tx: int = 0
    frames_rx: int = 0
    underflows: int = 0  # transmitter ran dry (hardware, or reported by the sending peer)
    overflows: int = 0  # receiver lost samples (hardware, or reported by the sending peer)
    late_bursts: int = 0  # timed transmission arrived after its time
    dropped_frames: int = 0  # frames missing (sequence gap) or rejected
    malformed_frames: int = 0  # bad magic / version / header / payload length
    sequence_gaps: int = 0
    timestamp_jumps: int = 0
    stream_changes: int = 0  # sample rate / centre frequency / format / stream id mismatch
    timeouts: int = 0
    reconnects: int = 0  # peer restarted (sequence restarted or jumped beyond MAX_SEQUENCE_JUMP) or socket re-created
    duplicate_frames: int = 0  # frames received again (sequence already seen within the window): dropped
    socket_resets: int = 0  # a socket re-created after a protocol error (srsRAN REQ/REP state, multipart)
    orphaned_replies: int = 0  # srsRAN: a requester left before its reply; the samples wait for the next request
    rx_holes: int = 0  # holes in a capture's timeline zero-filled and marked (radio_drivers.rx_gaps)
    hole_samples: int = 0  # zero samples inserted for them
    overlap_samples: int = 0  # samples received again for times already captured: dropped

    def as_dict(self) -> dict[str, int]:
        return dataclasses.asdict(self)


class Radio(abc.ABC):
    """Base class: sample rate, centre frequency, counters, context manager, close()."""

    name: str = "?"

    def __init__(self, sample_rate_hz: float, center_frequency_hz: float):
        if not sample_rate_hz > 0:
            raise RadioError(f"sample_rate_hz must be > 0, got {sample_rate_hz!r}")
        self.sample_rate_hz = float(sample_rate_hz)
        self.center_frequency_hz = float(center_frequency_hz)
        self.counters = RadioCounters()
        self.closed = False
        self._count_lock = threading.Lock()  # a driver may count from a receive thread too

    # --- the interface -------------------------------------------------------------------------
    @abc.abstractmethod
    def tx(
        self, samples: np.ndarray, timestamp: int | None = None, flags: FrameFlags = FrameFlags.NONE
    ) -> int:
        """Send (N,) complex64 samples; `timestamp` = sample counter of samples[0] (None: right after the
        previous call). Returns the number of samples accepted."""

    @abc.abstractmethod
    def rx(self, n: int, timeout_s: float | None = None) -> RxBlock:
        """Receive up to `n` time-contiguous samples (see the module docstring)."""

    def set_gain(self, gain_db: float, direction: str = "tx") -> None:
        """Set the tx or rx gain in dB; drivers without a gain stage ignore it."""
        if direction not in ("tx", "rx"):
            raise RadioError(f"direction must be 'tx' or 'rx', got {direction!r}")

    def close(self) -> None:
        """Release sockets / devices / files; safe to call twice."""
        self.closed = True

    # --- helpers -------------------------------------------------------------------------------
    def count(self, counter: str, message: str, *, by: int = 1, level: int = logging.WARNING) -> None:
        """Increment `counter` and log why (the one place events are reported)."""
        with self._count_lock:
            setattr(self.counters, counter, getattr(self.counters, counter) + by)
        log.log(level, "[%s] %s", self.name, message)

    def __enter__(self) -> Radio:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"<{type(self).__name__} {self.name} fs={self.sample_rate_hz / 1e6:g} Msps "
            f"fc={self.center_frequency_hz / 1e6:g} MHz>"
        )


# name -> factory(radio_config, sample_rate_hz, center_frequency_hz) -> Radio
_REGISTRY: dict[str, Callable[..., Radio]] = {}


def register_driver(name: str) -> Callable[[Callable[..., Radio]], Callable[..., Radio]]:
    """Decorator: register `factory(radio_config, sample_rate_hz, center_frequency_hz)` under `name`."""

    def deco(factory: Callable[..., Radio]) -> Callable[..., Radio]:
        if name in _REGISTRY and _REGISTRY[name] is not factory:
            raise RadioError(f"radio driver {name!r} is registered twice")
        _REGISTRY[name] = factory
        return factory

    return deco


def get_driver(name: str) -> Callable[..., Radio]:
    """The factory registered under `name`; RadioError listing the known names otherwise."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise RadioError(
            f"unknown radio driver {name!r}; known drivers: {', '.join(driver_names())}"
        ) from None


def driver_names() -> tuple[str, ...]:
    """Registered driver names, in registration order."""
    return tuple(_REGISTRY)
