"""The IQ frame of DESIGN.md section 2: one ZeroMQ message = [header, payload] (two parts).

Header (52 bytes, little-endian), defined once here with `construct`:

    offset size field
    0      4    magic            b"SGIQ"
    4      1    version          1
    5      1    flags            bit0 start of burst, bit1 end of burst, bit2 time valid,
                                 bit3 underflow seen, bit4 overflow seen (by the sender)
    6      1    sample_format    0 = cf32_le, 1 = ci16_le
    7      1    reserved         0
    8      4    stream_id        uint32, chosen by the sender
    12     8    sequence         uint64, +1 per frame of a stream, 0 at the first frame
    20     8    timestamp        uint64 sample counter n of the first sample (the stream's clock)
    28     8    sample_rate_hz   float64
    36     8    center_freq_hz   float64
    44     4    sample_count     uint32, samples in the payload
    48     4    reserved         0

The payload part is the raw samples in `sample_format` (radio_drivers.formats), sample_count of them.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass

from construct import (
    Bytes,
    Const,
    ConstructError,
    Enum,
    FlagsEnum,
    Float64l,
    Int8ul,
    Int32ul,
    Int64ul,
    Struct,
)

__all__ = [
    "MAGIC",
    "VERSION",
    "HEADER_SIZE",
    "IQ_HEADER",
    "FrameFlags",
    "IQHeader",
    "FrameError",
    "pack_header",
    "unpack_header",
]

MAGIC = b"SGIQ"
VERSION = 1


class FrameFlags(enum.IntFlag):
    """Per-frame flags; the same bits are the `flags` argument of Radio.tx()."""

    NONE = 0
    START_OF_BURST = 0x01
    END_OF_BURST = 0x02
    TIME_VALID = 0x04
    UNDERFLOW = 0x08
    OVERFLOW = 0x10


_FORMAT_CODES = {"cf32_le": 0, "ci16_le": 1}

# DESIGN.md 2: IQ frame header
IQ_HEADER = Struct(
    "magic" / Const(MAGIC),
    "version" / Int8ul,
    "flags"
    / FlagsEnum(
        Int8ul,
        start_of_burst=FrameFlags.START_OF_BURST.value,
        end_of_burst=FrameFlags.END_OF_BURST.value,
        time_valid=FrameFlags.TIME_VALID.value,
        underflow=FrameFlags.UNDERFLOW.value,
        overflow=FrameFlags.OVERFLOW.value,
    ),
    "sample_format" / Enum(Int8ul, **_FORMAT_CODES),
    "reserved0" / Const(b"\x00"),
    "stream_id" / Int32ul,
    "sequence" / Int64ul,
    "timestamp" / Int64ul,
    "sample_rate_hz" / Float64l,
    "center_frequency_hz" / Float64l,
    "sample_count" / Int32ul,
    "reserved1" / Bytes(4),
)
HEADER_SIZE = IQ_HEADER.sizeof()
_IQ_HEADER_FAST = IQ_HEADER.compile()  # same structure, compiled to Python code (~10x faster per frame)
_FLAG_NAMES = ("start_of_burst", "end_of_burst", "time_valid", "underflow", "overflow")
_ALL_FLAGS = 0x1F


class FrameError(ValueError):
    """A malformed frame; `kind` is a short counter name (bad_magic, bad_version, short_header, ...)."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True)
class IQHeader:
    """Decoded IQ frame header (see the module docstring for the layout)."""

    stream_id: int
    sequence: int
    timestamp: int
    sample_rate_hz: float
    center_frequency_hz: float
    sample_count: int
    sample_format: str = "cf32_le"
    flags: FrameFlags = FrameFlags.NONE
    version: int = VERSION


def pack_header(h: IQHeader) -> bytes:
    """IQHeader -> 52 header bytes."""
    flags = {name: bool(h.flags & getattr(FrameFlags, name.upper())) for name in _FLAG_NAMES}
    return _IQ_HEADER_FAST.build(
        dict(
            version=h.version,
            flags=flags,
            sample_format=h.sample_format,
            stream_id=h.stream_id,
            sequence=h.sequence,
            timestamp=h.timestamp,
            sample_rate_hz=h.sample_rate_hz,
            center_frequency_hz=h.center_frequency_hz,
            sample_count=h.sample_count,
            reserved1=b"\x00" * 4,
        )
    )


def unpack_header(data) -> IQHeader:
    """Header bytes -> IQHeader; FrameError(kind, message) when the bytes are not a valid header."""
    raw = bytes(data)
    if len(raw) != HEADER_SIZE:
        kind = "short_header" if len(raw) < HEADER_SIZE else "long_header"
        raise FrameError(kind, f"header is {len(raw)} bytes, expected {HEADER_SIZE}")
    if raw[:4] != MAGIC:
        raise FrameError("bad_magic", f"bad magic {raw[:4]!r}, expected {MAGIC!r} (not a Soragate IQ frame)")
    if raw[4] != VERSION:
        raise FrameError("bad_version", f"IQ frame version {raw[4]}, this receiver speaks version {VERSION}")
    try:
        c = _IQ_HEADER_FAST.parse(raw)
    except ConstructError as exc:
        raise FrameError("bad_header", f"undecodable IQ frame header: {exc}") from None
    if not isinstance(c.sample_format, str) or c.sample_format not in _FORMAT_CODES:
        raise FrameError("bad_format", f"unknown sample format code {int(c.sample_format)}")
    if not (math.isfinite(c.sample_rate_hz) and c.sample_rate_hz > 0 and math.isfinite(c.center_frequency_hz)):
        raise FrameError(
            "bad_header", f"sample rate {c.sample_rate_hz!r} / centre frequency {c.center_frequency_hz!r} not finite"
        )
    if raw[5] & ~_ALL_FLAGS:
        raise FrameError("bad_flags", f"flags {raw[5]:#04x} set undefined bits (defined: {_ALL_FLAGS:#04x})")
    flags = FrameFlags.NONE
    for name in _FLAG_NAMES:
        if c.flags[name]:
            flags |= getattr(FrameFlags, name.upper())
    return IQHeader(
        stream_id=c.stream_id,
        sequence=c.sequence,
        timestamp=c.timestamp,
        sample_rate_hz=c.sample_rate_hz,
        center_frequency_hz=c.center_frequency_hz,
        sample_count=c.sample_count,
        sample_format=str(c.sample_format),
        flags=flags,
        version=c.version,
    )
