"""Pseudo-random and Zadoff-Chu sequences (TS 36.211 7.2, 5.5.1.1 / 6.11.1.1).

The length-31 Gold sequence c(n) = (x1(n + Nc) + x2(n + Nc)) mod 2, Nc = 1600, with
x1(n + 31) = (x1(n + 3) + x1(n)) mod 2, x1(0) = 1, x1(1..30) = 0 and
x2(n + 31) = (x2(n + 3) + x2(n + 2) + x2(n + 1) + x2(n)) mod 2, c_init = sum_i x2(i) 2^i.

x2 is linear in its initial state, so c(n) is x1(n + Nc) XOR the XOR of the basis sequences of the set
bits of c_init. x1 and the 31 basis sequences are computed once, for 2^17 outputs (more than the largest
scrambled block, a 100-PRB 64QAM PDSCH: G < 10^5), and every shorter sequence is a prefix of them.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

__all__ = ["gold_sequence", "gold_sequence_cached", "zadoff_chu", "N_C"]

N_C = 1600  # TS 36.211 7.2


def _lfsr31(init: np.ndarray, taps: tuple[int, ...], length: int) -> np.ndarray:
    """Run x(n + 31) = XOR of x(n + t) for t in taps over rows of `init` (R, 31); returns (R, length) uint8.

    The largest tap is 3, so 28 new bits depend only on bits already known: 28 per NumPy step.
    """
    rows = init.shape[0]
    n = max(length, 31)
    x = np.zeros((rows, n + 28), dtype=np.uint8)
    x[:, :31] = init
    for m in range(0, n - 31 + 1, 28):
        new = x[:, m + taps[0] : m + taps[0] + 28].copy()
        for t in taps[1:]:
            new ^= x[:, m + t : m + t + 28]
        x[:, m + 31 : m + 59] = new
    return x[:, :length]


@lru_cache(maxsize=2)
def _gold_tables(n_total: int) -> tuple[np.ndarray, np.ndarray]:
    """x1(Nc .. n_total) (L,) and x2 basis (31, L) for the unit initial states, L = n_total - Nc."""
    init1 = np.zeros((1, 31), dtype=np.uint8)
    init1[0, 0] = 1
    x1 = _lfsr31(init1, (3, 0), n_total)[0, N_C:]
    x2_basis = _lfsr31(np.eye(31, dtype=np.uint8), (3, 2, 1, 0), n_total)[:, N_C:]
    x1.setflags(write=False)
    x2_basis.setflags(write=False)
    return x1, x2_basis


def gold_sequence(c_init: int, length: int) -> np.ndarray:
    """Pseudo-random sequence c(n), n = 0..length-1 (TS 36.211 7.2). Returns (length,) uint8 of 0/1."""
    return gold_sequence_cached(c_init, length).copy()


def gold_sequence_cached(c_init: int, length: int) -> np.ndarray:
    """gold_sequence(c_init, length) as a shared read-only array, cached per c_init: the channels
    scramble with the same few c_init (RNTI, cell, subframe) every frame, at lengths G that change with
    the allocation. c(n) does not depend on the length asked for, so the sequence is made once per
    power-of-two length bucket and sliced."""
    c_init, length = int(c_init), int(length)
    if not 0 <= c_init < 2**31:
        raise ValueError(f"c_init must be in 0 .. 2^31-1, got {c_init}")
    if length < 0:
        raise ValueError(f"length must be >= 0, got {length}")
    return _gold_cached(c_init, 1 << max(10, (length - 1).bit_length()))[:length]


_TABLE_LENGTH = 1 << 17  # outputs held by the shared x1 / x2 basis tables (about 4 MB)


@lru_cache(maxsize=128)
def _gold_cached(c_init: int, bucket: int) -> np.ndarray:
    """c(0 .. bucket-1) for c_init, read-only."""
    x1, basis = _gold_tables(N_C + max(_TABLE_LENGTH, bucket))  # one table unless a longer one is asked
    bits = [i for i in range(31) if (c_init >> i) & 1]
    c = x1[:bucket].copy()
    if bits:
        c ^= np.bitwise_xor.reduce(basis[bits, :bucket], axis=0)
    c.setflags(write=False)
    return c


def zadoff_chu(u: int, n_zc: int) -> np.ndarray:
    """Zadoff-Chu sequence x_u(n) = exp(-j pi u n (n + 1) / N_ZC), n = 0..N_ZC-1 (TS 36.211 5.5.1.1).

    Returns (n_zc,) complex128. The phase is reduced modulo 2 N_ZC in integers to stay exact.
    """
    if n_zc <= 0 or not 0 < u < n_zc:
        raise ValueError(f"need 0 < u < n_zc, got u={u}, n_zc={n_zc}")
    n = np.arange(n_zc, dtype=np.int64)
    phase_num = (u * n * (n + 1)) % (2 * n_zc)
    return np.exp(-1j * np.pi * phase_num / n_zc)
