"""Downlink resource grid of one subframe (TS 36.211 6.2, 6.12), normal CP.

Convention (project-wide): a subframe grid is (n_ports, 14, 12*n_rb) complex64; axis 1 is the OFDM
symbol l' of the subframe (slot 0: 0..6, slot 1: 7..13), axis 2 the subcarrier k = 0..12*n_rb-1 counted
from the lowest subcarrier. The DC subcarrier is not part of the grid: k < N_sc/2 sits at frequency
bin k - N_sc/2, k >= N_sc/2 at bin k - N_sc/2 + 1 (6.12, k(-) and k(+)).
"""

from __future__ import annotations

from functools import cache

import numpy as np

from .numerology import N_SC_RB, N_SYMB_SUBFRAME, numerology

__all__ = ["new_grid", "subcarrier_offsets", "subcarrier_bins", "put_res", "put_res_masked"]


def new_grid(n_ports: int, n_rb: int) -> np.ndarray:
    """Zero subframe grid, (n_ports, 14, 12*n_rb) complex64."""
    numerology(n_rb)  # validates n_rb
    if n_ports < 1:
        raise ValueError(f"n_ports must be >= 1, got {n_ports}")
    return np.zeros((n_ports, N_SYMB_SUBFRAME, n_rb * N_SC_RB), dtype=np.complex64)


@cache
def subcarrier_offsets(n_rb: int) -> np.ndarray:
    """Signed frequency index k' (in subcarrier spacings) of each grid subcarrier k, DC skipped (6.12).

    k' = k - N_sc/2 for k < N_sc/2, k - N_sc/2 + 1 otherwise. Returns (12*n_rb,) int64 (read-only).
    """
    n_sc = numerology(n_rb).n_subcarriers
    k = np.arange(n_sc)
    offsets = np.where(k < n_sc // 2, k - n_sc // 2, k - n_sc // 2 + 1)
    offsets.setflags(write=False)
    return offsets


@cache
def subcarrier_bins(n_rb: int) -> np.ndarray:
    """FFT bin (0..N_fft-1) of each grid subcarrier k (6.12, DC skipped). Returns (12*n_rb,) int64."""
    bins = subcarrier_offsets(n_rb) % numerology(n_rb).fft_size
    bins.setflags(write=False)
    return bins


def put_res(grid: np.ndarray, flat: np.ndarray, symbols: np.ndarray) -> None:
    """grid[:, l', k] = symbols for the REs at flat indices l' * n_sc + k; grid (n_ports, 14, n_sc),
    symbols (n_ports, n_re). One 1-D scatter per port when the grid is C-contiguous (about twice as
    fast as one 2-D fancy assignment)."""
    if grid.flags.c_contiguous:
        ports = grid.reshape(grid.shape[0], -1)
        symbols = np.asarray(symbols)
        if symbols.shape != (grid.shape[0], flat.size):
            symbols = np.broadcast_to(symbols, (grid.shape[0], flat.size))
        for p in range(grid.shape[0]):
            ports[p][flat] = symbols[p]
    else:
        l_re, k_re = np.divmod(flat, grid.shape[2])
        grid[:, l_re, k_re] = symbols


def put_res_masked(grid: np.ndarray, mask: np.ndarray, symbols: np.ndarray) -> None:
    """grid[:, l', k] = symbols for the REs where `mask` (14, n_sc) bool is True, taken in increasing
    l' n_sc + k (k first, then l': the PDSCH mapping order, TS 36.211 6.3.5); grid (n_ports, 14, n_sc),
    symbols (n_ports, n_re). A 1-D boolean assignment per port: faster than a scatter through indices."""
    symbols = np.asarray(symbols)
    n_ports = grid.shape[0]
    if symbols.shape != (n_ports, symbols.shape[-1]):
        symbols = np.broadcast_to(symbols, (n_ports, symbols.shape[-1]))
    if not grid.flags.c_contiguous:
        put_res(grid, np.flatnonzero(mask), symbols)
        return
    ports = grid.reshape(n_ports, -1)
    flat_mask = mask.reshape(-1)
    for p in range(n_ports):
        ports[p][flat_mask] = symbols[p]
