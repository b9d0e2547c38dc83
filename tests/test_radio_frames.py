"""IQ frame header (construct) both directions, and the wire sample formats."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from radio_drivers.formats import bytes_per_sample, from_wire, to_wire
from radio_drivers.iqframe import HEADER_SIZE, FrameError, FrameFlags, IQHeader, pack_header, unpack_header

pytestmark = pytest.mark.timeout(30)


def _by_hand(h: IQHeader) -> bytes:
    # the layout of the iqframe docstring, written with struct (independent of construct)
    fmt_code = {"cf32_le": 0, "ci16_le": 1}[h.sample_format]
    return struct.pack(
        "<4sBBBBIQQddII",
        b"SGIQ",
        1,
        int(h.flags),
        fmt_code,
        0,
        h.stream_id,
        h.sequence,
        h.timestamp,
        h.sample_rate_hz,
        h.center_frequency_hz,
        h.sample_count,
        0,
    )


@pytest.mark.parametrize(
    "h",
    [
        IQHeader(0, 0, 0, 1.92e6, 770e6, 1920),
        IQHeader(
            7,
            2**40 + 3,
            2**50 + 5,
            30.72e6,
            2.6e9,
            30720,
            "ci16_le",
            FrameFlags.START_OF_BURST | FrameFlags.TIME_VALID | FrameFlags.OVERFLOW,
        ),
        IQHeader(
            2**32 - 1, 1, 1, 23.04e6, -1.5e6, 1, "cf32_le", FrameFlags.END_OF_BURST | FrameFlags.UNDERFLOW
        ),
    ],
)
def test_header_build_and_parse_match_the_documented_layout(h):
    raw = _by_hand(h)
    assert HEADER_SIZE == 52 == len(raw)
    assert pack_header(h) == raw
    assert unpack_header(raw) == h


@pytest.mark.parametrize(
    "mutate, kind",
    [
        (lambda b: b"XGIQ" + b[4:], "bad_magic"),
        (lambda b: b[:4] + b"\x02" + b[5:], "bad_version"),
        (lambda b: b[:6] + b"\x07" + b[7:], "bad_format"),
        (lambda b: b[:51], "short_header"),
        (lambda b: b + b"\x00", "long_header"),
        (lambda b: b[:7] + b"\x01" + b[8:], "bad_header"),
    ],
)
def test_malformed_headers_are_named(mutate, kind):
    raw = pack_header(IQHeader(1, 2, 3, 1.92e6, 770e6, 10))
    with pytest.raises(FrameError) as err:
        unpack_header(mutate(raw))
    assert err.value.kind == kind


def test_cf32_is_the_raw_complex64_bytes_and_round_trips_bit_exact():
    x = np.array([1 + 2j, -0.5 - 0.25j, 3e-9 + 1e9j], np.complex64)
    wire = to_wire(x, "cf32_le")
    assert wire.tobytes() == struct.pack("<6f", 1, 2, -0.5, -0.25, 3e-9, 1e9)
    assert np.array_equal(from_wire(wire.tobytes(), "cf32_le"), x)
    assert bytes_per_sample("cf32_le") == 8 and bytes_per_sample("ci16_le") == 4


def test_ci16_full_scale_is_one_and_clips():
    x = np.array([1 + -1j, 0.5 + 0j, 2.0 - 3.0j, 1 / 32767 + 0j], np.complex64)
    wire = to_wire(x, "ci16_le")
    assert wire.tobytes() == struct.pack("<8h", 32767, -32767, 16384, 0, 32767, -32767, 1, 0)
    back = from_wire(wire.tobytes(), "ci16_le")
    assert back.dtype == np.complex64
    np.testing.assert_allclose(back[[0, 1, 3]], x[[0, 1, 3]], atol=0.5 / 32767)
    rng = np.random.default_rng(1)
    y = (rng.standard_normal(1000) * 0.1 + 1j * rng.standard_normal(1000) * 0.1).astype(np.complex64)
    err = from_wire(to_wire(y, "ci16_le"), "ci16_le") - y
    assert np.max(np.abs(err.real)) <= 0.5 / 32767 + 1e-9


def test_from_wire_rejects_partial_samples():
    with pytest.raises(ValueError, match="whole number"):
        from_wire(b"\x00" * 12, "cf32_le")
    with pytest.raises(ValueError, match="unknown sample format"):
        to_wire(np.zeros(1, np.complex64), "cu8")


def test_nonfinite_count_counts_nan_and_inf_parts_and_nothing_else():
    from radio_drivers.base import nonfinite_count

    x = np.ones(1000, np.complex64)
    assert nonfinite_count(x) == 0
    x[3] = complex(np.nan, 0)
    x[7] = complex(1, np.inf)
    x[9] = complex(-np.inf, np.nan)
    assert nonfinite_count(x) == 3
    # finite samples whose sum overflows float32 take the exact path and are not counted
    big = np.full(64, 3e38, np.float32).view(np.complex64)
    assert nonfinite_count(big) == 0
    assert nonfinite_count(x[1::2]) == 3 and nonfinite_count(x[0::2]) == 0  # strided views: exact path
    assert nonfinite_count(np.zeros(0, np.complex64)) == 0
