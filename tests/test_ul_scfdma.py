"""SC-FDMA modulation (TS 36.211 5.6): round trips at every bandwidth, scaling, the half-subcarrier shift,
FFT-window offsets inside the CP, and the srsRAN PUSCH vector's occupied subcarriers."""

from __future__ import annotations

import numpy as np
import pytest

from phy.numerology import N_RB_VALUES, SAMPLE_RMS_FULL_LOAD, numerology
from phy.scfdma import scfdma_demodulate, scfdma_modulate, ul_subcarrier_freqs_hz


def _qpsk_grid(n_rb: int, rng: np.random.Generator, lead: tuple[int, ...] = ()) -> np.ndarray:
    shape = (*lead, 14, 12 * n_rb)
    return ((rng.choice([-1.0, 1.0], shape) + 1j * rng.choice([-1.0, 1.0], shape)) / np.sqrt(2)).astype(np.complex64)


@pytest.mark.parametrize("n_rb", N_RB_VALUES)
def test_round_trip_every_bandwidth(n_rb: int) -> None:
    rng = np.random.default_rng(n_rb)
    grid = _qpsk_grid(n_rb, rng)
    x = scfdma_modulate(grid)
    num = numerology(n_rb)
    assert x.shape == (num.samples_per_subframe,) and x.dtype == np.complex64
    # full load of unit REs: RMS of the useful parts is SAMPLE_RMS_FULL_LOAD (CP samples are copies)
    assert np.sqrt(np.mean(np.abs(x) ** 2)) == pytest.approx(SAMPLE_RMS_FULL_LOAD, rel=0.02)
    for off in (0, 3, int(num.cp_lengths.min())):
        back = scfdma_demodulate(x, n_rb, fft_offset=off)
        assert back.dtype == np.complex64
        np.testing.assert_allclose(back, grid, atol=2e-6)


def test_batch_axis() -> None:
    rng = np.random.default_rng(1)
    grids = _qpsk_grid(6, rng, (3,))
    x = scfdma_modulate(grids)
    assert x.shape == (3, 1920)
    np.testing.assert_allclose(x[1], scfdma_modulate(grids[1]), atol=1e-7)
    np.testing.assert_allclose(scfdma_demodulate(x, 6), grids, atol=2e-6)


@pytest.mark.parametrize(("n_rb", "k"), [(6, 0), (6, 36), (25, 149), (25, 150), (100, 1199)])
def test_single_tone_is_at_half_subcarrier_offset(n_rb: int, k: int) -> None:
    """One RE at grid subcarrier k in symbol l is exp(j 2 pi f (n - N_CP) / fs) over the whole symbol,
    CP included, with f = (k - 6 N_RB + 1/2) 15 kHz: the half-subcarrier shift of 5.6."""
    num = numerology(n_rb)
    for sym in (0, 5):
        grid = np.zeros((14, 12 * n_rb), np.complex64)
        grid[sym, k] = 1.0
        x = scfdma_modulate(grid)
        f_hz = (k - 6 * n_rb + 0.5) * 15e3
        assert ul_subcarrier_freqs_hz(n_rb)[k] == f_hz
        start, cp = int(num.symbol_starts[sym]), int(num.cp_lengths[sym])
        seg = x[start : start + cp + num.fft_size]
        n = np.arange(-cp, num.fft_size)
        amp = SAMPLE_RMS_FULL_LOAD / np.sqrt(12 * n_rb)
        expected = amp * np.exp(2j * np.pi * f_hz * n / num.sample_rate_hz)
        np.testing.assert_allclose(seg, expected, atol=1e-6 * amp * 10)
        # nothing leaks into other symbols
        rest = np.delete(x, np.arange(start, start + cp + num.fft_size))
        assert np.max(np.abs(rest)) < 1e-6 * amp
        # and the spectrum peak of the useful part, zero-padded 8x, lies at f
        spec = np.abs(np.fft.fft(seg[cp:], 8 * num.fft_size))
        f_peak = np.fft.fftfreq(8 * num.fft_size, 1 / num.sample_rate_hz)[np.argmax(spec)]
        assert f_peak == pytest.approx(f_hz, abs=1.0)


def test_bad_input_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="14, 12"):
        scfdma_modulate(np.zeros((13, 72)))
    with pytest.raises(ValueError, match="one subframe"):
        scfdma_demodulate(np.zeros(100, np.complex64), 6)
    with pytest.raises(ValueError, match="fft_offset"):
        scfdma_demodulate(np.zeros(1920, np.complex64), 6, fft_offset=50)


def test_srsran_pusch_vector_occupies_subcarriers_60_to_179(vectors_dir) -> None:
    """The srsRAN PUSCH subframe demodulates onto grid subcarriers 60..179 only (README: PRBs 5..14),
    after the README's scale A the DMRS REs (symbols 3, 10) have unit modulus and the transform-precoded
    data symbols unit mean energy: same subcarrier convention, half shift and scale as the reference."""
    path = vectors_dir / "uplink" / "pusch_pci1_rnti0x46_sf4_prb5-14_mcs10_rv0_25prb_7.68Msps.cf32"
    x = np.fromfile(path, dtype="<c8")
    grid = scfdma_demodulate(x, 25)
    a_re = 6.9877e-3
    per_re = SAMPLE_RMS_FULL_LOAD / np.sqrt(300)  # our modulator's amplitude of a unit RE
    grid = grid * (per_re / a_re)
    inside = np.abs(grid[:, 60:180])
    assert np.abs(inside[[3, 10]] - 1).max() < 1e-3
    np.testing.assert_allclose(np.mean(inside**2, axis=1), 1.0, rtol=1e-3)
    outside = np.concatenate([grid[:, :60], grid[:, 180:]], axis=1)
    assert np.abs(outside).max() < 1e-4
