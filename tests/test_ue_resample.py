"""Handset resampling: any rate -> 1.92 Msps keeps the central 6 PRB and rejects what would alias."""

from __future__ import annotations

import numpy as np
import pytest

from phy.ue.resample import SEARCH_RATE_HZ, resample, to_search_rate


def _tone(freq_hz: float, fs_hz: float, n: int) -> np.ndarray:
    return np.exp(2j * np.pi * freq_hz * np.arange(n) / fs_hz).astype(np.complex64)


def _amplitude_at(x: np.ndarray, freq_hz: float, fs_hz: float) -> float:
    """|<x, tone>| / N over the middle of x (filter edges excluded)."""
    m = x[x.size // 4 : 3 * x.size // 4]
    ref = np.exp(-2j * np.pi * freq_hz * np.arange(x.size)[x.size // 4 : 3 * x.size // 4] / fs_hz)
    return float(np.abs(np.sum(m * ref)) / m.size)


@pytest.mark.parametrize("fs_hz", [3.84e6, 7.68e6, 15.36e6, 23.04e6, 30.72e6])
def test_central_subcarriers_pass_and_aliases_are_rejected(fs_hz):
    n = int(fs_hz * 0.004)
    # the outermost PSS/PBCH subcarrier (+-540 kHz) shifted by a 20 kHz crystal offset passes at unit gain
    for f in (-560e3, 0.0, 560e3):
        y = to_search_rate(_tone(f, fs_hz, n), fs_hz)
        assert y.dtype == np.complex64 and y.size == n * SEARCH_RATE_HZ // fs_hz
        assert abs(_amplitude_at(y, f, SEARCH_RATE_HZ) - 1.0) < 0.01
    # a tone 1.92 MHz away from a central subcarrier would fold onto it: at least 40 dB down
    if fs_hz > 2 * 1.5e6:
        y = to_search_rate(_tone(1.5e6, fs_hz, n), fs_hz)
        assert _amplitude_at(y, 1.5e6 - SEARCH_RATE_HZ, SEARCH_RATE_HZ) < 0.01


def test_time_alignment_is_zero_phase():
    """Sample n at 1.92 Msps lines up with input sample 16 n (no filter delay)."""
    fs = 30.72e6
    x = np.zeros(30720, np.complex64)
    x[16 * 700] = 1.0
    y = to_search_rate(x, fs)
    assert int(np.argmax(np.abs(y))) == 700


def test_rational_ratio_and_identity():
    x = _tone(100e3, 2e6, 20_000)
    y = resample(x, 2e6, 1.92e6)
    assert y.size == 19_200
    assert abs(_amplitude_at(y, 100e3, 1.92e6) - 1.0) < 0.01
    z = resample(x, 2e6, 2e6)
    assert np.array_equal(z, x) and z is not x


def test_bad_rates():
    with pytest.raises(ValueError, match="below the 1.92 Msps"):
        to_search_rate(np.zeros(100, np.complex64), 1e6)
    with pytest.raises(ValueError, match="positive"):
        resample(np.zeros(100, np.complex64), -1.0, 1.92e6)
    with pytest.raises(ValueError, match="1-D"):
        resample(np.zeros((2, 100), np.complex64), 3.84e6, 1.92e6)
