"""Physical control format indicator channel (TS 36.212 5.3.4, TS 36.211 6.7).

CFI 1..3 -> 32-bit codeword (36.212 Table 5.3.4-1) -> scrambling with
c_init = (floor(n_s/2) + 1)(2 N_ID_cell + 1) 2^9 + N_ID_cell (6.7.1) -> QPSK (6.7.2) -> transmit
diversity for 2 ports (6.7.3) -> 4 REGs of symbol 0 (6.7.4, positions from phy.regs).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from ..mimo import tx_diversity_encode
from ..modulation import modulate
from ..numerology import N_SC_RB
from ..regs import pcfich_reg_starts, symbol_regs
from ..scrambling import descramble_llr, scramble_bits

__all__ = [
    "CFI_CODEWORDS",
    "pcfich_c_init",
    "pcfich_re_indices",
    "pcfich_symbols",
    "pcfich_map",
    "pcfich_decode",
]

# TS 36.212 Table 5.3.4-1: <b0 .. b31> for CFI 1, 2, 3 (CFI 4 is reserved)
CFI_CODEWORDS = np.array(
    [
        [0, 1, 1, 0, 1, 1, 0, 1, 1, 0, 1, 1, 0, 1, 1, 0, 1, 1, 0, 1, 1, 0, 1, 1, 0, 1, 1, 0, 1, 1, 0, 1],
        [1, 0, 1, 1, 0, 1, 1, 0, 1, 1, 0, 1, 1, 0, 1, 1, 0, 1, 1, 0, 1, 1, 0, 1, 1, 0, 1, 1, 0, 1, 1, 0],
        [1, 1, 0, 1, 1, 0, 1, 1, 0, 1, 1, 0, 1, 1, 0, 1, 1, 0, 1, 1, 0, 1, 1, 0, 1, 1, 0, 1, 1, 0, 1, 1],
    ],
    dtype=np.uint8,
)
CFI_CODEWORDS.setflags(write=False)


def pcfich_c_init(n_id_cell: int, subframe: int) -> int:
    """Scrambling c_init = (floor(n_s/2) + 1)(2 N_ID_cell + 1) 2^9 + N_ID_cell, n_s = 2 subframe (6.7.1)."""
    return (subframe + 1) * (2 * n_id_cell + 1) * 2**9 + n_id_cell


@lru_cache(maxsize=64)  # one entry per (cell, bandwidth)
def _re_indices(n_id_cell: int, n_rb: int) -> np.ndarray:
    _starts, res = symbol_regs(0, n_rb, n_id_cell, 1)
    k = res[pcfich_reg_starts(n_id_cell, n_rb) // 6].reshape(-1)
    k.setflags(write=False)
    return k


def pcfich_re_indices(n_id_cell: int, n_rb: int) -> np.ndarray:
    """Subcarriers k (symbol l' = 0) of the 16 PCFICH REs in mapping order (6.7.4). (16,) int64."""
    if not 0 <= n_id_cell <= 503:
        raise ValueError(f"n_id_cell must be 0..503, got {n_id_cell}")
    return _re_indices(int(n_id_cell), int(n_rb))


@lru_cache(maxsize=256)  # one cell: 10 subframes x its CFI (256 B each)
def pcfich_symbols(cfi: int, n_id_cell: int, n_ports: int, subframe: int) -> np.ndarray:
    """Precoded PCFICH symbols per port (6.7.1-6.7.3). Returns (n_ports, 16) complex64 (read-only)."""
    if cfi not in (1, 2, 3):
        raise ValueError(f"cfi must be 1, 2 or 3, got {cfi}")
    if n_ports not in (1, 2):
        raise ValueError(f"n_ports must be 1 or 2, got {n_ports}")
    bits = scramble_bits(CFI_CODEWORDS[cfi - 1], pcfich_c_init(n_id_cell, subframe))
    d = modulate(bits, 2)
    y = d[None, :] if n_ports == 1 else tx_diversity_encode(d)
    y.setflags(write=False)
    return y


def pcfich_map(grid: np.ndarray, cfi: int, n_id_cell: int, n_rb: int, n_ports: int, subframe: int) -> None:
    """Write the PCFICH of `cfi` into symbol 0 of `grid` (n_ports, 14, 12*n_rb) in place (6.7)."""
    if grid.shape[0] != n_ports or grid.shape[-1] != n_rb * N_SC_RB:
        raise ValueError(f"grid must be ({n_ports}, 14, {n_rb * N_SC_RB}), got {grid.shape}")
    grid[:, 0, pcfich_re_indices(n_id_cell, n_rb)] = pcfich_symbols(
        int(cfi), int(n_id_cell), int(n_ports), subframe
    )


def pcfich_decode(llr: np.ndarray, n_id_cell: int, subframe: int) -> tuple[int, float]:
    """CFI from the 32 PCFICH LLRs (positive = bit 0) by correlation with the 3 codewords (5.3.4).

    Returns (cfi, metric): metric = sum(llr * (1 - 2 b)) / sum(|llr|) of the best codeword, in [-1, 1]
    (1: every LLR agrees; about 1/3 or less: no PCFICH).
    """
    llr = np.asarray(llr, dtype=np.float32).reshape(-1)
    if llr.size != 32:
        raise ValueError(f"PCFICH carries 32 bits, got {llr.size} LLRs")
    soft = descramble_llr(llr, pcfich_c_init(n_id_cell, subframe))
    scores = (1.0 - 2.0 * CFI_CODEWORDS.astype(np.float32)) @ soft
    best = int(np.argmax(scores))
    total = float(np.sum(np.abs(soft)))
    metric = float(scores[best]) / total if total > 0 else 0.0
    return best + 1, metric
