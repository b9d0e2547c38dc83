"""Wire sample formats: complex64 <-> cf32_le / ci16_le (DESIGN.md section 2).

Convention: 1.0 is full scale. A fully loaded LTE signal has unit RMS around -15 dBFS
(phy.numerology.SAMPLE_RMS_FULL_LOAD), so ci16 maps +-1.0 to +-32767 and clips beyond it.
cf32_le is little-endian interleaved float32 I/Q (numpy complex64 on little-endian hosts, srsRAN's
ZMQ radio and SigMF `cf32_le`); ci16_le is little-endian interleaved int16 I/Q (SigMF `ci16_le`).
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "SAMPLE_FORMATS",
    "CI16_FULL_SCALE",
    "bytes_per_sample",
    "check_format",
    "to_wire",
    "from_wire",
]

SAMPLE_FORMATS = ("cf32_le", "ci16_le")
CI16_FULL_SCALE = 32767.0  # 1.0 full scale -> int16 max
_CF32 = np.dtype("<c8")
_I16 = np.dtype("<i2")
_BYTES = {"cf32_le": 8, "ci16_le": 4}


def check_format(sample_format: str) -> str:
    """Return `sample_format` if known; ValueError naming the allowed formats otherwise."""
    if sample_format not in _BYTES:
        raise ValueError(f"unknown sample format {sample_format!r}; use one of {', '.join(SAMPLE_FORMATS)}")
    return sample_format


def bytes_per_sample(sample_format: str) -> int:
    """Bytes per complex sample on the wire: cf32_le 8, ci16_le 4."""
    return _BYTES[check_format(sample_format)]


def to_wire(samples: np.ndarray, sample_format: str) -> np.ndarray:
    """(N,) complex -> contiguous array whose raw bytes are the wire format.

    cf32_le: the complex64 samples themselves (no copy when already contiguous complex64 LE).
    ci16_le: (2N,) int16, round(x * 32767) clipped to [-32767, 32767] (1.0 = full scale).
    """
    check_format(sample_format)
    x = np.ascontiguousarray(samples, dtype=_CF32)
    if x.ndim != 1:
        raise ValueError(f"samples must be a 1-D array, got shape {x.shape}")
    if sample_format == "cf32_le":
        return x
    iq = x.view(np.float32) * np.float32(CI16_FULL_SCALE)
    np.clip(iq, -CI16_FULL_SCALE, CI16_FULL_SCALE, out=iq)
    return np.rint(iq).astype(_I16)


def from_wire(payload, sample_format: str) -> np.ndarray:
    """Raw bytes (bytes, memoryview, zmq.Frame buffer) in `sample_format` -> (N,) complex64.

    cf32_le returns a read-only view of the buffer when possible (no copy); ci16_le scales by 1/32767.
    """
    nbytes = bytes_per_sample(sample_format)
    buf = memoryview(payload).cast("B")
    if len(buf) % nbytes:
        raise ValueError(
            f"{len(buf)} bytes is not a whole number of {sample_format} samples ({nbytes} B each)"
        )
    if sample_format == "cf32_le":
        return np.frombuffer(buf, dtype=_CF32)
    iq = np.frombuffer(buf, dtype=_I16).astype(np.float32)
    iq *= np.float32(1.0 / CI16_FULL_SCALE)
    return iq.view(np.complex64)
