"""OFDM modulation and demodulation of whole subframes, normal CP (TS 36.211 6.12).

s_l(t) = sum_k a_{k,l} exp(j 2 pi k' df (t - N_CP,l Ts)), k' = k - N_sc/2 (k < N_sc/2) or
k - N_sc/2 + 1 (k >= N_sc/2): one inverse FFT per symbol, cyclic prefix prepended.
Scaling: a fully loaded grid of unit-energy REs gives time-domain RMS SAMPLE_RMS_FULL_LOAD
(-15 dBFS, DESIGN.md 2); ofdm_demodulate applies the inverse scale, so a round trip returns the grid.
"""

from __future__ import annotations

import threading
from functools import cache

import numpy as np

try:  # ducc0's FFT is about twice as fast as numpy's pocketfft for the (14, N_fft) complex64 batch
    from ducc0.fft import c2c as _ducc_c2c
except ImportError:  # pragma: no cover - ducc0 is a dependency; numpy keeps an old environment working
    _ducc_c2c = None

from .grid import subcarrier_offsets
from .numerology import N_SYMB_SUBFRAME, SAMPLE_RMS_FULL_LOAD, numerology

__all__ = ["ofdm_modulate", "ofdm_demodulate", "ofdm_gain"]


# Per-thread scratch arrays for the FFT input/output, reused across calls. Allocating and freeing several
# 0.5 MB temporaries per subframe made glibc hand the pages back to the OS and fault them in again on
# every call (3x slower at 20 MHz, 2 ports). Results never alias the scratch: every return is a new array.
_scratch = threading.local()


def _buffers(use: str, shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """(a, b) complex64 scratch arrays of `shape` for this thread and `use`; `a` starts zero-filled."""
    key = (use, shape)
    bufs = getattr(_scratch, "bufs", None)
    if bufs is None:
        bufs = _scratch.bufs = {}
    if key not in bufs:
        if len(bufs) > 8:
            bufs.clear()
        bufs[key] = (np.zeros(shape, dtype=np.complex64), np.empty(shape, dtype=np.complex64))
    return bufs[key]


def ofdm_gain(n_rb: int) -> float:
    """Time-domain amplitude of the modulator relative to numpy's normalised inverse FFT.

    x = gain * ifft(A): full load of unit REs -> mean |x|^2 = gain^2 * N_sc / N_fft^2 = RMS^2.
    """
    num = numerology(n_rb)
    return SAMPLE_RMS_FULL_LOAD * num.fft_size / np.sqrt(num.n_subcarriers)


def _add_cp(td: np.ndarray, n_rb: int) -> np.ndarray:
    """Prepend the cyclic prefixes: (..., 14, N_fft) -> (..., samples_per_subframe), slot by slot.

    In a slot, symbol 0 has the long CP and symbols 1..6 share the short one, so each slot is a few
    block copies (strided slices, no fancy indexing).
    """
    num = numerology(n_rb)
    n_fft = num.fft_size
    cp0, cp1 = int(num.cp_lengths[0]), int(num.cp_lengths[1])
    lead = td.shape[:-2]
    out = np.empty((*lead, 2, num.samples_per_slot), dtype=np.complex64)
    for slot in (0, 1):
        first = td[..., 7 * slot, :]
        rest = td[..., 7 * slot + 1 : 7 * slot + 7, :]
        o = out[..., slot, :]
        o[..., :cp0] = first[..., n_fft - cp0 :]
        o[..., cp0 : cp0 + n_fft] = first
        body = o[..., cp0 + n_fft :].reshape(*lead, 6, cp1 + n_fft)  # a view: the slot is contiguous
        body[..., :cp1] = rest[..., n_fft - cp1 :]
        body[..., cp1:] = rest
    return out.reshape(*lead, num.samples_per_subframe)


def _n_rb_of(n_sc: int) -> int:
    if n_sc % 12:
        raise ValueError(f"grid last axis must be 12*n_rb subcarriers, got {n_sc}")
    return n_sc // 12


def ofdm_modulate(grid: np.ndarray) -> np.ndarray:
    """Time-domain samples of one subframe per leading index (TS 36.211 6.12).

    grid: (..., 14, 12*n_rb) complex. Returns (..., samples_per_subframe) complex64 at the cell's
    standard rate (numerology(n_rb)), symbol l' starting at numerology(n_rb).symbol_starts[l'].
    """
    grid = np.asarray(grid)
    if grid.ndim < 2 or grid.shape[-2] != N_SYMB_SUBFRAME:
        raise ValueError(f"grid must be (..., 14, 12*n_rb), got shape {grid.shape}")
    n_rb = _n_rb_of(grid.shape[-1])
    num = numerology(n_rb)
    n_fft, half = num.fft_size, num.n_subcarriers // 2
    freq, td = _buffers("mod", (*grid.shape[:-1], n_fft))
    # bins outside the occupied band (and DC, bin 0) are never written, so they stay zero; the
    # amplitude gain is applied while copying the N_sc occupied bins in (fewer than N_fft)
    scale = np.complex64(ofdm_gain(n_rb) / (n_fft if _ducc_c2c is not None else 1))
    np.multiply(grid[..., :half], scale, out=freq[..., n_fft - half :])  # negative frequencies
    np.multiply(grid[..., half:], scale, out=freq[..., 1 : half + 1])  # positive frequencies
    if _ducc_c2c is not None:  # unnormalised inverse transform: the 1/N_fft is in `scale`
        _ducc_c2c(freq, axes=(freq.ndim - 1,), forward=False, inorm=0, nthreads=1, out=td)
    else:  # numpy's inverse FFT divides by N_fft itself
        np.fft.ifft(freq, axis=-1, out=td)
    return _add_cp(td, n_rb)


@cache
def _fft_window_index(n_rb: int, fft_offset: int) -> np.ndarray:
    num = numerology(n_rb)
    starts = num.symbol_starts + num.cp_lengths - fft_offset
    idx = starts[:, None] + np.arange(num.fft_size)[None, :]
    idx.setflags(write=False)
    return idx


@cache
def _offset_phase(n_rb: int, fft_offset: int) -> np.ndarray:
    """exp(+j 2 pi f k' fft_offset / N_fft) per grid subcarrier: undoes the window's early start."""
    freq = subcarrier_offsets(n_rb)
    ph = np.exp(2j * np.pi * freq * fft_offset / numerology(n_rb).fft_size).astype(np.complex64)
    ph.setflags(write=False)
    return ph


def ofdm_demodulate(samples: np.ndarray, n_rb: int, fft_offset: int = 0) -> np.ndarray:
    """Resource grid of one subframe per leading index: the inverse of ofdm_modulate (6.12).

    samples: (..., samples_per_subframe) complex, subframe-aligned. fft_offset: samples (0..CP of the
    short symbols) by which the FFT window starts earlier inside the cyclic prefix; the resulting
    linear phase over subcarriers is removed, so an ideal channel returns the transmitted grid for any
    offset. Returns (..., 14, 12*n_rb) complex64.
    """
    num = numerology(n_rb)
    samples = np.asarray(samples)
    if samples.shape[-1] != num.samples_per_subframe:
        raise ValueError(
            f"samples last axis must be {num.samples_per_subframe} (one subframe at n_rb={n_rb}), "
            f"got {samples.shape[-1]}"
        )
    if not 0 <= fft_offset <= int(num.cp_lengths.min()):
        raise ValueError(f"fft_offset must be 0..{int(num.cp_lengths.min())} samples, got {fft_offset}")
    half = num.n_subcarriers // 2
    n_fft = num.fft_size
    windows, spec = _buffers("demod", (*samples.shape[:-1], N_SYMB_SUBFRAME, n_fft))
    window_index = _fft_window_index(n_rb, int(fft_offset))
    np.take(samples.astype(np.complex64, copy=False), window_index, axis=-1, out=windows)
    np.fft.fft(windows, axis=-1, out=spec)
    grid = np.concatenate([spec[..., n_fft - half :], spec[..., 1 : half + 1]], axis=-1)
    grid *= np.float32(1.0 / ofdm_gain(n_rb))
    if fft_offset:
        grid *= _offset_phase(n_rb, int(fft_offset))
    return grid.astype(np.complex64, copy=False)
