"""Sample-rate conversion for the handset: any input rate to a cell's standard rate or to 1.92 Msps.

Cell search runs on the central 6 PRB (72 subcarriers, +-540 kHz) at SEARCH_RATE_HZ = 1.92 Msps
(TS 36.211 6.11: PSS/SSS and PBCH occupy the central 72 subcarriers whatever the bandwidth). The
conversion is a polyphase FIR (scipy.signal.resample_poly): zero-phase, so sample n at the output rate
lines up with sample n * fs_in / fs_out of the input.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
from scipy import signal

__all__ = ["SEARCH_RATE_HZ", "resample", "to_search_rate"]

SEARCH_RATE_HZ = 1.92e6  # 128-point FFT x 15 kHz: the central 6 PRB


def _ratio(fs_in_hz: float, fs_out_hz: float) -> Fraction:
    if not (np.isfinite(fs_in_hz) and fs_in_hz > 0 and np.isfinite(fs_out_hz) and fs_out_hz > 0):
        raise ValueError(f"sample rates must be positive and finite, got {fs_in_hz} -> {fs_out_hz}")
    # Rates are whole Hz in practice (1.92e6 ... 30.72e6, SDR rates): exact rational ratio.
    ratio = Fraction(round(fs_out_hz), round(fs_in_hz))
    if ratio.denominator > 10_000 or ratio.numerator > 10_000:
        raise ValueError(
            f"cannot resample {fs_in_hz:g} Hz -> {fs_out_hz:g} Hz with a short polyphase filter "
            f"(ratio {ratio}); use a rate whose ratio to {fs_out_hz:g} Hz is a small fraction"
        )
    return ratio


def resample(samples: np.ndarray, fs_in_hz: float, fs_out_hz: float) -> np.ndarray:
    """(N,) complex -> (ceil(N * fs_out / fs_in),) complex64 at fs_out_hz.

    Low-pass (Kaiser-windowed FIR, cutoff at the lower of the two Nyquist frequencies) and polyphase
    up/down conversion; identity (a complex64 copy) when the rates are equal.
    """
    x = np.asarray(samples)
    if x.ndim != 1:
        raise ValueError(f"samples must be a 1-D array, got shape {x.shape}")
    ratio = _ratio(fs_in_hz, fs_out_hz)
    if ratio == 1:
        return x.astype(np.complex64, copy=True)
    up, down = ratio.numerator, ratio.denominator
    y = signal.resample_poly(x.astype(np.complex64, copy=False), up, down)
    return y.astype(np.complex64, copy=False)


def to_search_rate(samples: np.ndarray, fs_in_hz: float) -> np.ndarray:
    """Keep the central 6 PRB: (N,) complex at fs_in_hz -> complex64 at 1.92 Msps.

    The filter passes +-0.96 MHz (72 subcarriers = +-540 kHz plus room for a +-20 kHz carrier offset)
    and rejects what would alias onto it.
    """
    if fs_in_hz < SEARCH_RATE_HZ:
        raise ValueError(
            f"input rate {fs_in_hz:g} Hz is below the 1.92 Msps needed for the central 6 PRB (PSS/SSS/PBCH)"
        )
    return resample(samples, fs_in_hz, SEARCH_RATE_HZ)
