"""PBCH reception: blind port count and 40 ms phase, MIB out (TS 36.211 6.6, TS 36.212 5.3.1).

The handset knows neither the number of CRS ports nor SFN mod 4. For each hypothesis
n_ports in (1, 2) it equalises the 240 PBCH REs of subframe 0 (SFBC combining for 2 ports,
TS 36.211 6.3.4.3), forms QPSK LLRs and tries frame_phase 0..3 (the frame's 480 bits sit in quarter
SFN mod 4 of the scrambled 1920-bit buffer, 6.6.1). The CRC16 mask (36.212 Table 5.3.1.1-1) only
matches the true port count, so a CRC pass gives both the MIB and the port count.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from phy.channels.pbch import Mib, pbch_decode, pbch_re_indices
from phy.mimo import tx_diversity_decode
from phy.modulation import demodulate_llr

from .chest import ChannelEstimate

__all__ = ["MibDecode", "pbch_llr", "decode_mib"]

PORT_HYPOTHESES = (1, 2)


@dataclass(frozen=True)
class MibDecode:
    """A PBCH that passed its CRC: the MIB (sfn includes frame_phase), port count and SFN mod 4."""

    mib: Mib
    n_ports: int
    frame_phase: int


def pbch_llr(grid: np.ndarray, est: ChannelEstimate, n_id_cell: int, n_rb: int, n_ports: int) -> np.ndarray:
    """480 PBCH LLRs (positive = bit 0) of subframe-0 grid (14, 12*n_rb) assuming `n_ports` ports.

    est.h must hold at least n_ports ports. Returns (480,) float32.
    """
    l_idx, k_idx = pbch_re_indices(n_rb, n_id_cell)
    y = grid[l_idx, k_idx]
    h = est.h[:n_ports, l_idx, k_idx]
    symbols, nv_eff = tx_diversity_decode(y, h, est.noise_var)
    return demodulate_llr(symbols, 2, nv_eff)


def decode_mib(grid: np.ndarray, est: ChannelEstimate, n_id_cell: int, n_rb: int) -> MibDecode | None:
    """Blind PBCH decode of one subframe-0 grid: first (n_ports, frame_phase) whose CRC passes, or None.

    est: channel estimate with 2 ports (port 1 is used only under the 2-port hypothesis).
    """
    for n_ports in PORT_HYPOTHESES:
        if est.h.shape[0] < n_ports:
            continue
        llr = pbch_llr(grid, est, n_id_cell, n_rb, n_ports)
        for frame_phase in range(4):
            mib = pbch_decode(llr, n_id_cell, n_ports, frame_phase)
            if mib is not None:
                return MibDecode(mib=mib, n_ports=n_ports, frame_phase=frame_phase)
    return None
