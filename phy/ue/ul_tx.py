"""The handset's uplink transmitter: one uplink subframe as a grid and as samples (TS 36.211 5.3, 5.6).

`ul_subframe_grid` assembles the (14, 12 N_RB_UL) grid: the PUSCH of a grant (data with HARQ-ACK / RI / CQI
on PUSCH when asked, its DMRS) and, through `grid_writers`, any other channel that maps into the grid (the
PUCCH of phy/channels/pucch.py: a callable writing into the grid in place). `ul_subframe_samples` turns it
into samples with `scfdma_modulate`, adds time-domain signals generated apart (the PRACH preamble of
phy/channels/prach.py: `extra_samples`), applies the handset's carrier frequency offset (phase continuous
over the sample counter n0) and its timing advance (integer + fractional delay; positive advance = earlier).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ..channels.pusch import PuschGrant, UciConfig, pusch_map
from ..numerology import N_SC_RB, N_SYMB_SUBFRAME, numerology
from ..scfdma import scfdma_modulate
from ..ul_config import UlCellConfig

__all__ = ["PuschTx", "ul_subframe_grid", "ul_subframe_samples", "apply_cfo", "fractional_delay"]

GridWriter = Callable[[np.ndarray], None]


@dataclass(frozen=True)
class PuschTx:
    """One PUSCH to send: its grant, the transport block (TBS,) 0/1 and the UCI to multiplex (or None)."""

    grant: PuschGrant
    tb_bits: np.ndarray
    uci: UciConfig | None = None


def ul_subframe_grid(
    cell: UlCellConfig, subframe: int, pusch: PuschTx | None = None, grid_writers: Sequence[GridWriter] = ()
) -> np.ndarray:
    """The handset's uplink grid of one subframe, (14, 12 n_rb_ul) complex64.

    pusch: the granted PUSCH (TS 36.211 5.3, DMRS 5.5.2.1 with SIB2's pusch-ConfigCommon), or None.
    grid_writers: further channels (PUCCH) as callables that write their REs into the grid in place.
    """
    numerology(cell.n_rb_ul)
    grid = np.zeros((N_SYMB_SUBFRAME, N_SC_RB * cell.n_rb_ul), dtype=np.complex64)
    if pusch is not None:
        rs = cell.pusch
        pusch_map(
            grid, pusch.tb_bits, pusch.grant, cell.n_id_cell, subframe, uci=pusch.uci,
            group_hopping=rs.group_hopping, sequence_hopping=rs.sequence_hopping,
            delta_ss=rs.group_assignment, cyclic_shift=rs.cyclic_shift,
        )  # fmt: skip
    for write in grid_writers:  # PUCCH (phy/channels/pucch.py) goes here
        write(grid)
    return grid


def apply_cfo(samples: np.ndarray, cfo_hz: float, sample_rate_hz: float, n0: int = 0) -> np.ndarray:
    """samples * exp(j 2 pi cfo (n0 + n) / fs): a carrier offset continuous across calls (n0 = the sample
    counter of samples[0]); the phase is reduced in float64 before the large n0 can cost precision."""
    n_total = np.shape(samples)[-1]
    fs_int = int(round(sample_rate_hz))
    start_cycles = (cfo_hz * (int(n0) % fs_int) / sample_rate_hz) % 1.0  # whole seconds of n0 drop out
    # exp(j w n) for n = k B + r as an outer product of two short tables (float64 phases, 2 small exps)
    block = 1024
    w = 2 * np.pi * cfo_hz / sample_rate_hz
    fine = np.exp(1j * w * np.arange(block))
    coarse = np.exp(1j * (2 * np.pi * start_cycles + w * block * np.arange(-(-n_total // block))))
    rot = (coarse[:, None] * fine[None, :]).reshape(-1)[:n_total].astype(np.complex64)
    return (samples * rot).astype(np.complex64)


_FD_HALF = 16  # the fractional-delay FIR has 2 * _FD_HALF taps


@lru_cache(maxsize=64)
def _fd_taps(frac_milli: int) -> np.ndarray:
    """Kaiser-windowed sinc (beta 8, 32 taps) delaying by frac_milli / 1000 sample: flat to < 1e-3 in
    amplitude up to 0.4 fs, which holds every LTE occupied band at its standard rate (at most 0.3 fs)."""
    frac = frac_milli / 1000.0
    m = np.arange(-_FD_HALF + 1, _FD_HALF + 1)
    taps = np.sinc(m - frac) * np.kaiser(2 * _FD_HALF, 8.0)
    taps /= taps.sum()
    taps = taps.astype(np.complex64)
    taps.setflags(write=False)
    return taps


def fractional_delay(samples: np.ndarray, delay_s: float, sample_rate_hz: float) -> np.ndarray:
    """y(n) = x(n - delay fs) with zeros shifted in: integer part by shifting, fractional part (rounded to
    1/1000 sample) by a 32-tap windowed-sinc FIR. Negative delays advance. Returns the same length,
    complex64 (a burst's edges get the filter's transient, as a real delayed burst does)."""
    x = np.asarray(samples, dtype=np.complex64)
    d = delay_s * sample_rate_hz
    n_int = int(np.floor(d))
    frac_milli = int(round((d - n_int) * 1000))
    if frac_milli == 1000:
        n_int, frac_milli = n_int + 1, 0
    n = x.size
    y = np.zeros_like(x)
    if abs(n_int) >= n:
        return y
    if n_int >= 0:
        y[n_int:] = x[: n - n_int]
    else:
        y[: n + n_int] = x[-n_int:]
    if frac_milli == 0:
        return y
    # y_frac(n) = sum_m h(m) y(n - m), m = -15..16
    full = np.convolve(y, _fd_taps(frac_milli), mode="full")
    return full[_FD_HALF - 1 : _FD_HALF - 1 + n].astype(np.complex64)


def ul_subframe_samples(
    grid: np.ndarray,
    n_rb_ul: int,
    *,
    cfo_hz: float = 0.0,
    timing_advance_s: float = 0.0,
    n0: int = 0,
    extra_samples: np.ndarray | None = None,
) -> np.ndarray:
    """Samples of one uplink subframe as the handset transmits them, (samples_per_subframe,) complex64.

    grid: from ul_subframe_grid. extra_samples: time-domain channels added before the impairments (PRACH).
    cfo_hz: the handset's carrier offset (a handset locked to a downlink with residual Doppler f_d sends
    with about 2 f_d as seen by the gateway); timing_advance_s: sends this much earlier than its UL subframe
    boundary (negative: later); n0: the stream's sample counter at this subframe, for phase continuity.
    """
    num = numerology(n_rb_ul)
    x = scfdma_modulate(grid)
    if extra_samples is not None:
        extra = np.asarray(extra_samples)
        if extra.shape != x.shape:
            raise ValueError(f"extra_samples must be {x.shape}, got {extra.shape}")
        x = (x + extra).astype(np.complex64)
    if cfo_hz:
        x = apply_cfo(x, cfo_hz, num.sample_rate_hz, n0)
    if timing_advance_s:
        x = fractional_delay(x, -timing_advance_s, num.sample_rate_hz)
    return x
