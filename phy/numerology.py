"""LTE FDD numerology, normal cyclic prefix (TS 36.211 4, 6.2.3, 6.12; TS 36.104 5.6).

Subframe = 2 slots x 7 OFDM symbols; Ts = 1/(15000*2048) s; N_CP = 160 Ts for symbol 0 of a slot,
144 Ts for symbols 1..6 (Table 6.12-1), scaled to the FFT size N: 160*N/2048 and 144*N/2048.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np

__all__ = [
    "Numerology",
    "numerology",
    "N_RB_VALUES",
    "SUBCARRIER_SPACING_HZ",
    "N_SC_RB",
    "N_SYMB_SLOT",
    "N_SYMB_SUBFRAME",
    "SAMPLE_RMS_FULL_LOAD",
]

N_RB_VALUES = (6, 15, 25, 50, 75, 100)
SUBCARRIER_SPACING_HZ = 15_000.0
N_SC_RB = 12  # subcarriers per resource block
N_SYMB_SLOT = 7  # normal CP
N_SYMB_SUBFRAME = 14
# RMS of the time-domain signal for a fully loaded grid of unit-energy REs: -15 dBFS (DESIGN.md 2),
# leaving headroom for the OFDM peak-to-average ratio before int16 conversion.
SAMPLE_RMS_FULL_LOAD = 10 ** (-15 / 20)

_FFT_SIZE = {6: 128, 15: 256, 25: 512, 50: 1024, 75: 1536, 100: 2048}


@dataclass(frozen=True)
class Numerology:
    """Sizes of one bandwidth at its standard sample rate.

    cp_lengths: (14,) int CP samples of each symbol of a subframe.
    symbol_starts: (14,) int offset of each symbol's CP start inside the subframe.
    """

    n_rb: int
    fft_size: int
    sample_rate_hz: float
    n_subcarriers: int
    samples_per_slot: int
    samples_per_subframe: int
    cp_lengths: np.ndarray
    symbol_starts: np.ndarray

    @property
    def samples_per_frame(self) -> int:
        return 10 * self.samples_per_subframe


@cache
def numerology(n_rb: int) -> Numerology:
    """Numerology for N_RB_DL in {6, 15, 25, 50, 75, 100} (FFT 128 ... 2048, 1.92 ... 30.72 Msps)."""
    if n_rb not in _FFT_SIZE:
        raise ValueError(f"n_rb must be one of {N_RB_VALUES}, got {n_rb}")
    n_fft = _FFT_SIZE[n_rb]
    cp_first, cp_other = 160 * n_fft // 2048, 144 * n_fft // 2048  # TS 36.211 Table 6.12-1
    cp_slot = np.array([cp_first] + [cp_other] * 6)
    cp = np.concatenate([cp_slot, cp_slot])
    starts = np.concatenate([[0], np.cumsum(cp + n_fft)[:-1]])
    spslot = int(np.sum(cp_slot + n_fft))
    for arr in (cp, starts):
        arr.setflags(write=False)
    return Numerology(
        n_rb=n_rb,
        fft_size=n_fft,
        sample_rate_hz=n_fft * SUBCARRIER_SPACING_HZ,
        n_subcarriers=N_SC_RB * n_rb,
        samples_per_slot=spslot,
        samples_per_subframe=2 * spslot,
        cp_lengths=cp,
        symbol_starts=starts,
    )
