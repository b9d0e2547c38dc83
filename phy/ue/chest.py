"""CRS-based channel estimation, delay and phase tracking for the handset (TS 36.211 6.10.1).

Per subframe grid (14, 12*n_rb) complex64 from ofdm_demodulate:
- LS estimates on the pilots of each port: h = y * conj(r) (|r| = 1, TS 36.211 6.10.1.1/6.10.1.2);
- frequency: moving average over `freq_window` pilots (edges use the pilots that exist), then linear
  interpolation to every subcarrier;
- time: least-squares straight line through the port's CRS symbols (l' = 0, 4, 7, 11) evaluated at
  every symbol l' = 0..13 (tracks a slowly rotating phase, averages noise);
- noise variance from the pilot residuals |h_ls - h_smoothed|^2, corrected by the (1 - 1/L) bias of an
  L-pilot average that contains the pilot itself.
Grid units: a unit transmitted RE through an ideal channel gives h = 1 (at the cell's own rate).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from phy.grid import subcarrier_bins
from phy.numerology import N_SYMB_SLOT, N_SYMB_SUBFRAME, numerology
from phy.refsig import crs_positions, crs_symbols, crs_values

__all__ = [
    "ChannelEstimate",
    "crs_ls",
    "estimate_channel",
    "estimate_delay",
    "apply_delay",
    "crs_phase_track",
]

FREQ_WINDOW = 5  # pilots averaged in frequency (30 subcarriers = 450 kHz)


@dataclass(frozen=True)
class ChannelEstimate:
    """h: (n_ports, 14, n_sc) complex64 channel of each port on every RE of the subframe;
    noise_var: complex noise variance per RE (grid units); rsrp: mean |h|^2 of port 0's CRS REs minus
    the noise (linear, grid units)."""

    h: np.ndarray
    noise_var: float
    rsrp: float


@lru_cache(maxsize=256)
def _pilots(port: int, n_id_cell: int, n_rb: int, subframe: int) -> tuple[tuple[int, ...], np.ndarray, np.ndarray]:
    """(symbols l', positions (n_sym, 2 n_rb) int64, conj values (n_sym, 2 n_rb) complex64), cached."""
    syms = crs_symbols(port)
    ks, vs = [], []
    for lp in syms:
        n_s, l = 2 * subframe + lp // N_SYMB_SLOT, lp % N_SYMB_SLOT
        ks.append(crs_positions(port, l, n_s, n_id_cell, n_rb))
        vs.append(np.conj(crs_values(port, l, n_s, n_id_cell, n_rb)))
    k, v = np.array(ks), np.array(vs).astype(np.complex64)
    k.setflags(write=False)
    v.setflags(write=False)
    return syms, k, v


def crs_ls(grid: np.ndarray, n_id_cell: int, n_rb: int, subframe: int, port: int = 0):
    """LS channel on the CRS of `port`: (symbols l' tuple, k (n_sym, 2 n_rb) int64, h (..., n_sym, 2 n_rb)).

    grid: (..., 14, 12*n_rb) complex; leading axes (e.g. several subframes with the same subframe
    number) are kept.
    """
    syms, k, v = _pilots(int(port), int(n_id_cell), int(n_rb), int(subframe % 10))
    y = np.asarray(grid)[..., np.array(syms)[:, None], k]
    return syms, k, y * v


def _moving_average(h: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    """Centred moving average along the last axis, truncated at the edges. Returns (avg, counts)."""
    n = h.shape[-1]
    half = window // 2
    c = np.concatenate([np.zeros((*h.shape[:-1], 1), h.dtype), np.cumsum(h, axis=-1)], axis=-1)
    lo = np.clip(np.arange(n) - half, 0, n)
    hi = np.clip(np.arange(n) + half + 1, 0, n)
    counts = (hi - lo).astype(np.float64)
    return (c[..., hi] - c[..., lo]) / counts, counts


def _time_weights(pilot_symbols: tuple[int, ...]) -> np.ndarray:
    """(14, n_sym) weights of a least-squares line through the pilot symbols, evaluated at l' = 0..13."""
    t = np.asarray(pilot_symbols, dtype=np.float64)
    a = np.stack([np.ones_like(t), t], axis=1)
    out = np.stack([np.ones(N_SYMB_SUBFRAME), np.arange(N_SYMB_SUBFRAME, dtype=np.float64)], axis=1)
    return out @ np.linalg.pinv(a)


def estimate_channel(
    grid: np.ndarray, n_id_cell: int, n_rb: int, n_ports: int, subframe: int, freq_window: int = FREQ_WINDOW
) -> ChannelEstimate:
    """Channel of ports 0..n_ports-1 over one subframe grid (14, 12*n_rb) (see module docstring)."""
    grid = np.asarray(grid)
    n_sc = 12 * n_rb
    if grid.shape != (N_SYMB_SUBFRAME, n_sc):
        raise ValueError(f"grid must be (14, {n_sc}) for n_rb={n_rb}, got {grid.shape}")
    if n_ports not in (1, 2):
        raise ValueError(f"n_ports must be 1 or 2, got {n_ports}")
    h = np.empty((n_ports, N_SYMB_SUBFRAME, n_sc), dtype=np.complex64)
    k_all = np.arange(n_sc)
    res_energy, res_dof, rsrp_raw = 0.0, 0.0, 0.0
    for port in range(n_ports):
        syms, k, h_ls = crs_ls(grid, n_id_cell, n_rb, subframe, port)
        h_ls = h_ls.astype(np.complex128)
        h_sm, counts = _moving_average(h_ls, freq_window)
        res_energy += float(np.sum(np.abs(h_ls - h_sm) ** 2))
        res_dof += float(h_ls.shape[0] * np.sum(1.0 - 1.0 / counts))
        if port == 0:
            rsrp_raw = float(np.mean(np.abs(h_ls) ** 2))
        h_f = np.empty((len(syms), n_sc), dtype=np.complex128)
        for i in range(len(syms)):
            h_f[i] = np.interp(k_all, k[i], h_sm[i].real) + 1j * np.interp(k_all, k[i], h_sm[i].imag)
        h[port] = _time_weights(syms) @ h_f
    noise_var = max(res_energy / max(res_dof, 1.0), 1e-12)
    return ChannelEstimate(h=h, noise_var=noise_var, rsrp=max(rsrp_raw - noise_var, 1e-12))


def _bin_freq(n_rb: int) -> np.ndarray:
    """Signed FFT bin (subcarrier frequency / 15 kHz) of each grid subcarrier, (12*n_rb,) int64."""
    n_fft = numerology(n_rb).fft_size
    b = subcarrier_bins(n_rb)
    return np.where(b >= n_fft // 2, b - n_fft, b)


def estimate_delay(grids: np.ndarray, n_id_cell: int, n_rb: int, subframes: np.ndarray) -> float:
    """Delay of the signal behind the FFT windows, in samples at the n_rb cell rate (fine timing).

    grids: (n_sf, 14, 12*n_rb); subframes: (n_sf,) subframe numbers. A delay of tau samples turns the
    channel into h(k) exp(-j 2 pi f_k tau / N_fft); the phase between neighbouring port-0 pilots
    (6 bins apart, the pair across DC skipped) gives tau, unambiguous for |tau| < N_fft / 12.
    """
    n_fft = numerology(n_rb).fft_size
    f = _bin_freq(n_rb)
    acc = 0j
    for g, sf in zip(grids, subframes, strict=True):
        _, k, h = crs_ls(g, n_id_cell, n_rb, int(sf), 0)
        same_gap = (f[k[:, 1:]] - f[k[:, :-1]]) == 6
        acc += np.sum((h[:, 1:] * np.conj(h[:, :-1]))[same_gap])
    return -float(np.angle(acc)) * n_fft / (2 * np.pi * 6)


def apply_delay(grids: np.ndarray, delay_samples: float, n_rb: int) -> np.ndarray:
    """Undo a delay of `delay_samples` (cell-rate samples) on grids (..., 14, 12*n_rb): x exp(+j 2 pi f tau/N)."""
    n_fft = numerology(n_rb).fft_size
    ramp = np.exp(2j * np.pi * _bin_freq(n_rb) * delay_samples / n_fft).astype(np.complex64)
    return (np.asarray(grids) * ramp).astype(np.complex64, copy=False)


def crs_phase_track(
    grids: np.ndarray, n_id_cell: int, n_rb: int, subframes: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Port-0 CRS sums z = sum_k y conj(r) per CRS symbol, for carrier-phase tracking.

    Returns (index (n_sf * 4, 2) of (grid index, l'), z (n_sf * 4,) complex128, pilot-set flag
    (n_sf * 4,) int: 0 for l' = 0, 7 (v = 0), 1 for l' = 4, 11 (v = 3)), in time order.
    """
    idx, zs, kind = [], [], []
    for i, (g, sf) in enumerate(zip(grids, subframes, strict=True)):
        syms, _, h = crs_ls(g, n_id_cell, n_rb, int(sf), 0)
        for j, lp in enumerate(syms):
            idx.append((i, lp))
            zs.append(complex(np.sum(h[j].astype(np.complex128))))
            kind.append(0 if lp % N_SYMB_SLOT == 0 else 1)
    return np.array(idx, dtype=np.int64), np.array(zs), np.array(kind, dtype=np.int64)
