"""Additive white Gaussian noise at a per-resource-element SNR.

SNR convention (project-wide): `snr_db` = E_RE / N_RE, the energy of a unit resource element of a
fully loaded grid over the noise variance per resource element after the receiver's FFT. With the
OFDM scaling of phy/ofdm.py (full load -> RMS SAMPLE_RMS_FULL_LOAD) the time-domain complex noise
variance is sigma^2 = RMS^2 * N_fft / (N_sc * snr).
"""

from __future__ import annotations

import numpy as np

from .numerology import SAMPLE_RMS_FULL_LOAD, numerology

__all__ = ["noise_variance", "add_awgn"]


def noise_variance(snr_db: float, n_rb: int, sample_rate_hz: float | None = None) -> float:
    """Time-domain complex noise variance giving per-RE SNR `snr_db` for an `n_rb` cell.

    `sample_rate_hz` (default: the cell's standard rate) lets a receiver running at another rate
    (e.g. 1.92 Msps cell search) keep the same per-RE SNR: variance scales with the FFT size.
    """
    num = numerology(n_rb)
    fs = num.sample_rate_hz if sample_rate_hz is None else sample_rate_hz
    n_fft = fs / 15_000.0
    return SAMPLE_RMS_FULL_LOAD**2 * n_fft / (num.n_subcarriers * 10 ** (snr_db / 10))


def add_awgn(
    samples: np.ndarray, snr_db: float, n_rb: int, rng: np.random.Generator, sample_rate_hz: float | None = None
) -> np.ndarray:
    """samples + complex Gaussian noise at per-RE SNR `snr_db`; returns complex64 of the same shape."""
    sigma2 = noise_variance(snr_db, n_rb, sample_rate_hz)
    noise = rng.standard_normal((2, *samples.shape), dtype=np.float32)
    noise *= np.float32(np.sqrt(sigma2 / 2))
    return (samples + (noise[0] + 1j * noise[1])).astype(np.complex64)
