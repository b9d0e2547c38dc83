"""Simple loopback channel impairments on the stream clock: integer delay, carrier offset, AWGN.

This is the terrestrial-style bench channel of the first-light demo (no orbit): the handset sees
y[n] = x[n - d] * exp(j 2 pi f_o n / fs) + w[n], the phase computed from the absolute sample
counter so consecutive blocks join without a phase step.
"""

from __future__ import annotations

import numpy as np

from phy.awgn import add_awgn

__all__ = ["apply_cfo", "delay_samples", "SimpleChannel"]


def apply_cfo(samples: np.ndarray, cfo_hz: float, sample_rate_hz: float, n0: int = 0) -> np.ndarray:
    """Multiply by exp(j 2 pi cfo n / fs) for absolute sample counters n = n0 .. n0+N-1 (float64 phase)."""
    n = np.arange(n0, n0 + samples.shape[-1], dtype=np.float64)
    phase = np.mod(cfo_hz / sample_rate_hz * n, 1.0) * (2 * np.pi)
    return (samples * np.exp(1j * phase)).astype(np.complex64)


def delay_samples(samples: np.ndarray, delay: int) -> np.ndarray:
    """Prepend `delay` zero samples (an integer propagation delay at the stream rate)."""
    if delay < 0:
        raise ValueError(f"delay must be >= 0 samples, got {delay}")
    return np.concatenate([np.zeros(delay, np.complex64), samples.astype(np.complex64, copy=False)])


class SimpleChannel:
    """Delay, CFO and per-RE-SNR AWGN (phy/awgn.py convention) applied to a whole capture."""

    def __init__(self, snr_db: float, cfo_hz: float, delay: int, n_rb: int, sample_rate_hz: float, seed: int):
        self.snr_db, self.cfo_hz, self.delay = snr_db, cfo_hz, delay
        self.n_rb, self.sample_rate_hz = n_rb, sample_rate_hz
        self.rng = np.random.default_rng(seed)

    def __call__(self, samples: np.ndarray) -> np.ndarray:
        y = apply_cfo(delay_samples(samples, self.delay), self.cfo_hz, self.sample_rate_hz)
        return add_awgn(y, self.snr_db, self.n_rb, self.rng, self.sample_rate_hz)
