"""CRS-based channel estimation, delay and phase tracking for the handset (TS 36.211 6.10.1).

Per subframe grid (14, 12*n_rb) complex64 from ofdm_demodulate:
- LS estimates on the pilots of each port: h = y * conj(r) (|r| = 1, TS 36.211 6.10.1.1/6.10.1.2);
- frequency: moving average over `freq_window` pilots (5, or 12 below 5 dB per RE; at the band edges a
  straight-line fit over the nearest pilots, so a timing phase ramp stays unbiased), then linear
  interpolation to every subcarrier;
- time: least-squares straight line through the port's CRS symbols (l' = 0, 4, 7, 11) evaluated at
  every symbol l' = 0..13 (tracks a slowly rotating phase, averages noise);
- noise variance from the pilot residuals |h_ls - h_smoothed|^2, corrected by the smoother's own
  share of each pilot (1 - 1/L for an L-pilot average that contains the pilot itself).
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
FREQ_WINDOW_LOW_SNR = 12  # below LOW_SNR_DB per RE (72 subcarriers = 1.08 MHz)
LOW_SNR_DB = 5.0


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


@lru_cache(maxsize=32)
def _smoother(n: int, window: int) -> tuple[np.ndarray, np.ndarray]:
    """Linear frequency smoother over n pilots and its residual noise factor.

    Row i: the least-squares straight line through the `window` pilots centred on i (shifted inward at
    the band edges), evaluated at i. Inside the band this is the moving average; at the edges the line
    keeps a phase ramp (timing offset) unbiased. Returns (S (n, n) float64, factor (n,) float64) with
    E|h_ls - S h_ls|^2 = factor * noise_var for white noise: factor = 1 - 2 S_ii + sum_j S_ij^2.
    """
    w = min(window, n)
    s = np.zeros((n, n))
    for i in range(n):
        lo = min(max(i - w // 2, 0), n - w)
        t = np.arange(lo, lo + w, dtype=np.float64)
        if w >= 2:
            a = np.stack([np.ones(w), t - i], axis=1)
            s[i, lo : lo + w] = np.linalg.pinv(a)[0]  # intercept of the line centred on i
        else:
            s[i, lo] = 1.0
    factor = 1.0 - 2.0 * np.diag(s) + np.sum(s**2, axis=1)
    s.setflags(write=False)
    factor.setflags(write=False)
    return s, factor


def _interp_linear(x: np.ndarray, xp: np.ndarray, fp: np.ndarray) -> np.ndarray:
    """Complex piecewise-linear interpolation of fp(xp) at x, extended linearly beyond both ends."""
    out = np.interp(x, xp, fp.real) + 1j * np.interp(x, xp, fp.imag)
    if xp.size >= 2:
        lo, hi = x < xp[0], x > xp[-1]
        out[lo] = fp[0] + (x[lo] - xp[0]) * (fp[1] - fp[0]) / (xp[1] - xp[0])
        out[hi] = fp[-1] + (x[hi] - xp[-1]) * (fp[-1] - fp[-2]) / (xp[-1] - xp[-2])
    return out


def _time_weights(pilot_symbols: tuple[int, ...]) -> np.ndarray:
    """(14, n_sym) weights of a least-squares line through the pilot symbols, evaluated at l' = 0..13."""
    t = np.asarray(pilot_symbols, dtype=np.float64)
    a = np.stack([np.ones_like(t), t], axis=1)
    out = np.stack([np.ones(N_SYMB_SUBFRAME), np.arange(N_SYMB_SUBFRAME, dtype=np.float64)], axis=1)
    return out @ np.linalg.pinv(a)


def estimate_channel(
    grid: np.ndarray, n_id_cell: int, n_rb: int, n_ports: int, subframe: int, freq_window: int | None = None
) -> ChannelEstimate:
    """Channel of ports 0..n_ports-1 over one subframe grid (14, 12*n_rb) (see module docstring).

    freq_window: pilots averaged in frequency; None (default) picks it from the SNR measured with
    FREQ_WINDOW pilots: FREQ_WINDOW at LOW_SNR_DB per RE and above, FREQ_WINDOW_LOW_SNR below (at low SNR
    the estimate's noise costs more than a frequency-selective channel's curvature over 1 MHz).
    Noise variance and RSRP always come from the FREQ_WINDOW pass.
    """
    grid = np.asarray(grid)
    n_sc = 12 * n_rb
    if grid.shape != (N_SYMB_SUBFRAME, n_sc):
        raise ValueError(f"grid must be (14, {n_sc}) for n_rb={n_rb}, got {grid.shape}")
    if n_ports not in (1, 2):
        raise ValueError(f"n_ports must be 1 or 2, got {n_ports}")
    pilots = [crs_ls(grid, n_id_cell, n_rb, subframe, port) for port in range(n_ports)]
    res_energy, res_dof = 0.0, 0.0
    smoothed = []
    for _, _, h_ls in pilots:
        smoother, factor = _smoother(h_ls.shape[-1], FREQ_WINDOW)
        h_sm = h_ls.astype(np.complex128) @ smoother.T
        res_energy += float(np.sum(np.abs(h_ls - h_sm) ** 2))
        res_dof += float(h_ls.shape[0] * np.sum(factor))
        smoothed.append(h_sm)
    noise_var = max(res_energy / max(res_dof, 1.0), 1e-12)
    rsrp = max(float(np.mean(np.abs(pilots[0][2]) ** 2)) - noise_var, 1e-12)
    if freq_window is None:
        freq_window = FREQ_WINDOW if rsrp >= noise_var * 10 ** (LOW_SNR_DB / 10) else FREQ_WINDOW_LOW_SNR
    h = np.empty((n_ports, N_SYMB_SUBFRAME, n_sc), dtype=np.complex64)
    f_all = _bin_freq(n_rb).astype(np.float64)  # interpolate on true frequency: DC is skipped
    for port, (syms, k, h_ls) in enumerate(pilots):
        h_sm = smoothed[port]
        if freq_window != FREQ_WINDOW:
            h_sm = h_ls.astype(np.complex128) @ _smoother(h_ls.shape[-1], freq_window)[0].T
        h_f = np.stack([_interp_linear(f_all, f_all[k[i]], h_sm[i]) for i in range(len(syms))])
        h[port] = _time_weights(syms) @ h_f
    return ChannelEstimate(h=h, noise_var=noise_var, rsrp=rsrp)


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
