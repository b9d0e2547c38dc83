"""Primary and secondary synchronization signals (TS 36.211 6.11, normal CP, FDD).

PSS d_u(n): Zadoff-Chu root u from Table 6.11.1.1-1, 62 values around DC (6.11.1.1).
SSS d(n): interleaved m-sequences s0/s1 scrambled by c0/c1 and z1 (6.11.2.1).
Both occupy the central 62 subcarriers k = n - 31 + N_RB*12/2 of the last (PSS, l' = 6) and
second-to-last (SSS, l' = 5) OFDM symbols of slots 0 and 10; REs n = -5..-1 and 62..66 are reserved
(6.11.1.2, 6.11.2.2) and written as zero.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from .numerology import N_SC_RB
from .sequences import zadoff_chu

__all__ = [
    "PSS_ROOTS",
    "PSS_SYMBOL",
    "SSS_SYMBOL",
    "pss_sequence",
    "sss_sequence",
    "sync_subcarriers",
    "map_sync",
]

PSS_ROOTS = (25, 29, 34)  # TS 36.211 Table 6.11.1.1-1, indexed by N_ID_2
PSS_SYMBOL = 6  # l' of the PSS in subframes 0 and 5 (l = N_symb_DL - 1 of slot 0 / 10)
SSS_SYMBOL = 5  # l' of the SSS (l = N_symb_DL - 2)


@lru_cache(maxsize=3)
def _pss(n_id_2: int) -> np.ndarray:
    zc = zadoff_chu(PSS_ROOTS[n_id_2], 63)
    d = np.delete(zc, 31)  # d_u(n) = x_u(n) for n <= 30, x_u(n + 1) for n >= 31 (6.11.1.1)
    d.setflags(write=False)
    return d


def pss_sequence(n_id_2: int) -> np.ndarray:
    """PSS d_u(n), n = 0..61 (TS 36.211 6.11.1.1, roots in Table 6.11.1.1-1). Returns (62,) complex128."""
    if n_id_2 not in (0, 1, 2):
        raise ValueError(f"n_id_2 must be 0, 1 or 2, got {n_id_2}")
    return _pss(n_id_2).copy()


def _m_sequence(taps: tuple[int, ...]) -> np.ndarray:
    """x(i + 5) = sum of x(i + t), x(0..3) = 0, x(4) = 1; returns the +-1 sequence 1 - 2 x(i), (31,)."""
    x = [0, 0, 0, 0, 1]
    for i in range(26):
        x.append(sum(x[i + t] for t in taps) % 2)
    return 1.0 - 2.0 * np.array(x, dtype=np.float64)


@lru_cache(maxsize=1)
def _sss_bases() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    s_tilde = _m_sequence((2, 0))  # x(i+5) = x(i+2) + x(i)
    c_tilde = _m_sequence((3, 0))  # x(i+5) = x(i+3) + x(i)
    z_tilde = _m_sequence((4, 2, 1, 0))  # x(i+5) = x(i+4) + x(i+2) + x(i+1) + x(i)
    return s_tilde, c_tilde, z_tilde


def sss_indices(n_id_1: int) -> tuple[int, int]:
    """(m0, m1) of N_ID_1 (TS 36.211 6.11.2.1, the formula behind Table 6.11.2.1-1)."""
    if not 0 <= n_id_1 <= 167:
        raise ValueError(f"n_id_1 must be in 0..167, got {n_id_1}")
    q_prime = n_id_1 // 30
    q = (n_id_1 + q_prime * (q_prime + 1) // 2) // 30
    m_prime = n_id_1 + q * (q + 1) // 2
    m0 = m_prime % 31
    m1 = (m0 + m_prime // 31 + 1) % 31
    return m0, m1


def sss_sequence(n_id_1: int, n_id_2: int, subframe: int) -> np.ndarray:
    """SSS d(n), n = 0..61, for subframe 0 or 5 (TS 36.211 6.11.2.1). Returns (62,) float64 of +-1."""
    if n_id_2 not in (0, 1, 2):
        raise ValueError(f"n_id_2 must be 0, 1 or 2, got {n_id_2}")
    if subframe not in (0, 5):
        raise ValueError(f"the SSS exists in subframes 0 and 5 only, got subframe {subframe}")
    m0, m1 = sss_indices(n_id_1)
    s_tilde, c_tilde, z_tilde = _sss_bases()
    n = np.arange(31)
    s0 = s_tilde[(n + m0) % 31]
    s1 = s_tilde[(n + m1) % 31]
    c0 = c_tilde[(n + n_id_2) % 31]
    c1 = c_tilde[(n + n_id_2 + 3) % 31]
    z1_m0 = z_tilde[(n + m0 % 8) % 31]
    z1_m1 = z_tilde[(n + m1 % 8) % 31]
    d = np.empty(62)
    if subframe == 0:
        d[0::2] = s0 * c0
        d[1::2] = s1 * c1 * z1_m0
    else:
        d[0::2] = s1 * c0
        d[1::2] = s0 * c1 * z1_m1
    return d


def sync_subcarriers(n_rb: int) -> np.ndarray:
    """Subcarriers k = n - 31 + N_RB*12/2 of d(n), n = 0..61 (6.11.1.2). Returns (62,) int64."""
    return np.arange(62) - 31 + n_rb * N_SC_RB // 2


def map_sync(grid: np.ndarray, n_rb: int, n_id_cell: int, subframe: int) -> None:
    """Write PSS and SSS into `grid` (n_ports, 14, 12*n_rb) in place for subframes 0 and 5.

    PSS and SSS go on antenna port 0 only (6.11.1.2 leaves the port to the implementation; one port
    keeps their power equal to one unit RE whatever the port count); on other ports those REs are zero.
    Reserved REs n = -5..-1, 62..66 are set to zero. Other subframes: nothing is written.
    """
    if subframe % 10 not in (0, 5):
        return
    if grid.shape[-1] != n_rb * N_SC_RB:
        raise ValueError(f"grid has {grid.shape[-1]} subcarriers, expected {n_rb * N_SC_RB} for n_rb={n_rb}")
    n_id_1, n_id_2 = divmod(n_id_cell, 3)
    k0 = n_rb * N_SC_RB // 2 - 31
    grid[..., PSS_SYMBOL, k0 - 5 : k0 + 67] = 0
    grid[..., SSS_SYMBOL, k0 - 5 : k0 + 67] = 0
    grid[0, PSS_SYMBOL, k0 : k0 + 62] = _pss(n_id_2)
    grid[0, SSS_SYMBOL, k0 : k0 + 62] = sss_sequence(n_id_1, n_id_2, subframe % 10)
