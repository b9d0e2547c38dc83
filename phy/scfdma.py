"""SC-FDMA baseband signal generation and demodulation of whole uplink subframes, normal CP (TS 36.211 5.6).

s_l(t) = sum_k a_{k,l} exp(j 2 pi (k + 1/2) df (t - N_CP,l Ts)), k = -6 N_RB_UL .. 6 N_RB_UL - 1: unlike the
downlink there is no DC gap, every subcarrier sits half a subcarrier off the FFT grid. Grid subcarrier
k_grid = 0 .. 12 N_RB_UL - 1 (counted from the lowest) is at (k_grid - 6 N_RB_UL + 1/2) * 15 kHz.

Implementation: one inverse FFT per symbol with a_k in bin (k_grid - 6 N_RB_UL) mod N_fft, cyclic prefix
prepended, then the whole subframe multiplied by exp(j pi (n - N_CP,l) / N_fft) with n counted from each
symbol's CP start (the half-subcarrier shift; the CP is then exactly the spec's continuation, not a copy).
Sizes (FFT, CP) and scaling are those of the downlink (phy/numerology.py, phy/ofdm.py `ofdm_gain`): a fully
loaded grid of unit-energy REs gives RMS SAMPLE_RMS_FULL_LOAD, and scfdma_demodulate inverts it exactly.
"""

from __future__ import annotations

from functools import cache

import numpy as np

from .numerology import N_SC_RB, N_SYMB_SUBFRAME, numerology
from .ofdm import _add_cp, _fft_window_index, ofdm_gain

__all__ = ["scfdma_modulate", "scfdma_demodulate", "ul_subcarrier_freqs_hz", "scfdma_gain"]


@cache
def scfdma_gain(n_rb_ul: int) -> float:
    """Time-domain amplitude relative to numpy's normalised inverse FFT (the downlink's ofdm_gain)."""
    return ofdm_gain(n_rb_ul)


@cache
def ul_subcarrier_freqs_hz(n_rb_ul: int) -> np.ndarray:
    """Centre frequency of each uplink grid subcarrier relative to DC, (12 n_rb_ul,) float64 (5.6)."""
    k = np.arange(N_SC_RB * n_rb_ul)
    f = (k - 6 * n_rb_ul + 0.5) * 15_000.0
    f.setflags(write=False)
    return f


@cache
def _half_shift_ramp(n_rb_ul: int) -> np.ndarray:
    """exp(j pi (n - N_CP,l) / N_fft) for every sample n of a subframe (n from each symbol's CP start),
    (samples_per_subframe,) complex64, read-only."""
    num = numerology(n_rb_ul)
    n_fft = num.fft_size
    parts = [np.arange(-int(cp), n_fft) for cp in num.cp_lengths]
    ramp = np.exp(1j * np.pi * np.concatenate(parts) / n_fft).astype(np.complex64)
    ramp.setflags(write=False)
    return ramp


@cache
def _bins(n_rb_ul: int) -> np.ndarray:
    """FFT bin of each grid subcarrier: (k_grid - 6 N_RB_UL) mod N_fft, (12 n_rb_ul,) int64."""
    num = numerology(n_rb_ul)
    b = (np.arange(num.n_subcarriers) - 6 * n_rb_ul) % num.fft_size
    b.setflags(write=False)
    return b


def _n_rb_of(grid: np.ndarray) -> int:
    if grid.ndim < 2 or grid.shape[-2] != N_SYMB_SUBFRAME or grid.shape[-1] % N_SC_RB:
        raise ValueError(f"grid must be (..., 14, 12*n_rb_ul), got shape {grid.shape}")
    return grid.shape[-1] // N_SC_RB


def scfdma_modulate(grid: np.ndarray) -> np.ndarray:
    """Samples of one uplink subframe per leading index (TS 36.211 5.6).

    grid: (..., 14, 12*n_rb_ul) complex, axis -2 the SC-FDMA symbol l (slot 0: 0..6, slot 1: 7..13).
    Returns (..., samples_per_subframe) complex64 at the standard rate of n_rb_ul, symbol l starting at
    numerology(n_rb_ul).symbol_starts[l].
    """
    grid = np.asarray(grid)
    n_rb = _n_rb_of(grid)
    num = numerology(n_rb)
    n_fft, half = num.fft_size, 6 * n_rb
    freq = np.zeros((*grid.shape[:-1], n_fft), dtype=np.complex64)
    freq[..., n_fft - half :] = grid[..., :half]  # k = -6 N_RB .. -1
    freq[..., :half] = grid[..., half:]  # k = 0 .. 6 N_RB - 1
    td = np.fft.ifft(freq, axis=-1).astype(np.complex64, copy=False)
    td *= np.float32(scfdma_gain(n_rb))
    out = _add_cp(td, n_rb)
    out *= _half_shift_ramp(n_rb)
    return out


@cache
def _derotation(n_rb_ul: int, fft_offset: int) -> np.ndarray:
    """exp(-j pi (m - fft_offset) / N_fft), m = 0..N_fft-1: removes the half-subcarrier shift from a window
    starting fft_offset samples inside the CP. (N_fft,) complex64."""
    n_fft = numerology(n_rb_ul).fft_size
    d = np.exp(-1j * np.pi * (np.arange(n_fft) - fft_offset) / n_fft).astype(np.complex64)
    d.setflags(write=False)
    return d


@cache
def _offset_phase(n_rb_ul: int, fft_offset: int) -> np.ndarray:
    """exp(+j 2 pi k fft_offset / N_fft) per grid subcarrier (k = k_grid - 6 N_RB_UL): undoes the early window."""
    n_fft = numerology(n_rb_ul).fft_size
    k = np.arange(N_SC_RB * n_rb_ul) - 6 * n_rb_ul
    ph = np.exp(2j * np.pi * k * fft_offset / n_fft).astype(np.complex64)
    ph.setflags(write=False)
    return ph


def scfdma_demodulate(samples: np.ndarray, n_rb_ul: int, fft_offset: int = 0) -> np.ndarray:
    """Uplink resource grid of one subframe per leading index: the inverse of scfdma_modulate (5.6).

    samples: (..., samples_per_subframe) complex, subframe-aligned. fft_offset: samples (0 .. shortest CP)
    by which each FFT window starts earlier inside the cyclic prefix; its linear phase is removed, so an
    ideal channel returns the transmitted grid for any offset. Returns (..., 14, 12*n_rb_ul) complex64.
    """
    num = numerology(n_rb_ul)
    samples = np.asarray(samples)
    if samples.shape[-1] != num.samples_per_subframe:
        raise ValueError(
            f"samples last axis must be {num.samples_per_subframe} (one subframe at n_rb_ul={n_rb_ul}), "
            f"got {samples.shape[-1]}"
        )
    if not 0 <= fft_offset <= int(num.cp_lengths.min()):
        raise ValueError(f"fft_offset must be 0..{int(num.cp_lengths.min())} samples, got {fft_offset}")
    n_fft, half = num.fft_size, 6 * n_rb_ul
    windows = np.take(samples.astype(np.complex64, copy=False), _fft_window_index(n_rb_ul, int(fft_offset)), axis=-1)
    windows *= _derotation(n_rb_ul, int(fft_offset))
    spec = np.fft.fft(windows, axis=-1)
    grid = np.concatenate([spec[..., n_fft - half :], spec[..., :half]], axis=-1)
    grid *= 1.0 / scfdma_gain(n_rb_ul)
    if fft_offset:
        grid *= _offset_phase(n_rb_ul, int(fft_offset))
    return grid.astype(np.complex64, copy=False)
