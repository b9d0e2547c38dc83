"""Cell-specific reference signals, antenna ports 0..3, normal CP (TS 36.211 6.10.1).

r_{l,ns}(m) = (1 - 2 c(2m) + j (1 - 2 c(2m+1))) / sqrt(2), m = 0..2 N_RB_max - 1 (6.10.1.1), with
c_init = 2^10 (7 (n_s + 1) + l + 1)(2 N_ID_cell + 1) + 2 N_ID_cell + N_CP, N_CP = 1 (normal CP).
Mapping (6.10.1.2): k = 6 m + (v + v_shift) mod 6, m' = m + N_RB_max - N_RB, v_shift = N_ID_cell mod 6;
ports 0/1 in symbols l = 0 and 4 of each slot, ports 2/3 in l = 1. REs of one port's CRS carry
nothing on the other ports.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from .numerology import N_SC_RB, N_SYMB_SLOT
from .sequences import gold_sequence

__all__ = [
    "N_RB_MAX",
    "crs_sequence",
    "crs_positions",
    "crs_values",
    "crs_symbols",
    "crs_grid",
    "map_crs",
]

N_RB_MAX = 110  # N_RB^max,DL of TS 36.211 6.10.1.1
_N_CP = 1  # normal cyclic prefix
_CRS_L = {0: (0, 4), 1: (0, 4), 2: (1,), 3: (1,)}  # symbols l in a slot, normal CP (6.10.1.2)


def _check_port(port: int) -> None:
    if port not in (0, 1, 2, 3):
        raise ValueError(f"CRS antenna port must be 0..3, got {port}")


def crs_sequence(n_s: int, l: int, n_id_cell: int, n_rb_max: int = N_RB_MAX) -> np.ndarray:
    """r_{l,n_s}(m), m = 0..2*n_rb_max-1 (TS 36.211 6.10.1.1). Returns (2*n_rb_max,) complex128."""
    if not 0 <= n_s <= 19:
        raise ValueError(f"slot number n_s must be 0..19, got {n_s}")
    if not 0 <= n_id_cell <= 503:
        raise ValueError(f"n_id_cell must be 0..503, got {n_id_cell}")
    c_init = 2**10 * (7 * (n_s + 1) + l + 1) * (2 * n_id_cell + 1) + 2 * n_id_cell + _N_CP
    c = gold_sequence(c_init, 4 * n_rb_max).astype(np.float64)
    return ((1 - 2 * c[0::2]) + 1j * (1 - 2 * c[1::2])) / np.sqrt(2)


def _v(port: int, l: int, n_s: int) -> int:
    """Frequency offset v of 6.10.1.2 (normal CP)."""
    if port == 0:
        return 0 if l == 0 else 3
    if port == 1:
        return 3 if l == 0 else 0
    if port == 2:
        return 3 * (n_s % 2)
    return 3 + 3 * (n_s % 2)


def crs_positions(port: int, l: int, n_s: int, n_id_cell: int, n_rb: int) -> np.ndarray:
    """Subcarriers k of port `port`'s CRS in symbol l of slot n_s (6.10.1.2). Returns (2*n_rb,) int64."""
    _check_port(port)
    if l not in _CRS_L[port]:
        raise ValueError(f"port {port} has CRS in slot symbols {_CRS_L[port]}, not l={l}")
    v_shift = n_id_cell % 6
    return 6 * np.arange(2 * n_rb) + (_v(port, l, n_s) + v_shift) % 6


def crs_values(port: int, l: int, n_s: int, n_id_cell: int, n_rb: int) -> np.ndarray:
    """a_{k,l} = r(m + N_RB_max - N_RB), m = 0..2 n_rb - 1, at crs_positions(...) (6.10.1.2).

    Returns (2*n_rb,) complex128.
    """
    _check_port(port)
    if l not in _CRS_L[port]:
        raise ValueError(f"port {port} has CRS in slot symbols {_CRS_L[port]}, not l={l}")
    r = crs_sequence(n_s, l, n_id_cell)
    return r[N_RB_MAX - n_rb : N_RB_MAX + n_rb]


def crs_symbols(port: int) -> tuple[int, ...]:
    """OFDM symbols l' (0..13) of a subframe that carry port `port`'s CRS (normal CP)."""
    _check_port(port)
    return tuple(slot * N_SYMB_SLOT + l for slot in (0, 1) for l in _CRS_L[port])


@lru_cache(maxsize=64)
def _crs_grid_cached(n_id_cell: int, n_rb: int, subframe: int, n_ports: int) -> tuple[np.ndarray, np.ndarray]:
    grid = np.zeros((n_ports, 2 * N_SYMB_SLOT, n_rb * N_SC_RB), dtype=np.complex64)
    mask = np.zeros(grid.shape[1:], dtype=bool)
    for port in range(n_ports):
        for slot in (0, 1):
            n_s = 2 * subframe + slot
            for l in _CRS_L[port]:
                k = crs_positions(port, l, n_s, n_id_cell, n_rb)
                grid[port, slot * N_SYMB_SLOT + l, k] = crs_values(port, l, n_s, n_id_cell, n_rb)
                mask[slot * N_SYMB_SLOT + l, k] = True
    grid.setflags(write=False)
    mask.setflags(write=False)
    return grid, mask


def crs_grid(n_id_cell: int, n_rb: int, subframe: int, n_ports: int) -> tuple[np.ndarray, np.ndarray]:
    """CRS of all ports of one subframe, cached: (grid (n_ports, 14, 12 n_rb) complex64 read-only,
    mask (14, 12 n_rb) bool of every CRS RE of any port)."""
    if n_ports not in (1, 2, 4):
        raise ValueError(f"n_ports must be 1, 2 or 4, got {n_ports}")
    if not 0 <= subframe <= 9:
        raise ValueError(f"subframe must be 0..9, got {subframe}")
    return _crs_grid_cached(int(n_id_cell), int(n_rb), int(subframe), int(n_ports))


def map_crs(grid: np.ndarray, n_id_cell: int, n_rb: int, subframe: int) -> None:
    """Write the CRS of ports 0..n_ports-1 (n_ports = grid.shape[0]) into `grid` in place.

    `grid`: (n_ports, 14, 12*n_rb) complex. On every CRS RE of any port, the ports that do not send
    a reference symbol there are set to zero (6.10.1.2).
    """
    if grid.ndim != 3 or grid.shape[1:] != (2 * N_SYMB_SLOT, n_rb * N_SC_RB):
        raise ValueError(f"grid must be (n_ports, 14, {n_rb * N_SC_RB}), got {grid.shape}")
    values, mask = crs_grid(n_id_cell, n_rb, subframe, grid.shape[0])
    grid[:, mask] = values[:, mask]
