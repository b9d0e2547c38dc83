"""PCFICH reception: CFI of one subframe (TS 36.211 6.7, TS 36.212 5.3.4).

The 16 PCFICH REs of symbol l' = 0 (4 REGs placed by N_ID_cell, 6.7.4) are equalised with the CRS
channel (SFBC combining for 2 ports, 6.3.4.3), turned into 32 QPSK LLRs and correlated with the three
CFI codewords (36.212 Table 5.3.4-1) after descrambling, by phy.channels.pcfich.pcfich_decode.
"""

from __future__ import annotations

import numpy as np

from phy.channels.pcfich import pcfich_decode, pcfich_re_indices
from phy.mimo import tx_diversity_decode
from phy.modulation import demodulate_llr

from .chest import ChannelEstimate

__all__ = ["decode_cfi"]


def decode_cfi(
    grid: np.ndarray, est: ChannelEstimate, n_id_cell: int, n_rb: int, n_ports: int, subframe: int
) -> tuple[int, float]:
    """(cfi 1..3, metric) of subframe grid (14, 12*n_rb) with the channel of `n_ports` ports."""
    k = np.asarray(pcfich_re_indices(n_id_cell, n_rb))
    y = grid[0, k]
    h = est.h[:n_ports, 0, k]
    symbols, nv_eff = tx_diversity_decode(y, h, est.noise_var)
    llr = demodulate_llr(symbols, 2, nv_eff)
    cfi, metric = pcfich_decode(llr, n_id_cell, subframe % 10)
    return int(cfi), float(metric)
