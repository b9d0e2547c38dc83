"""Physical hybrid-ARQ indicator channel, normal CP, normal PHICH duration (TS 36.212 5.3.5,
TS 36.211 6.9, TS 36.213 9.1.2).

One PHICH = (group n_group, sequence n_seq) carries one HI bit: repetition code 000 / 111 (36.212
5.3.5) -> BPSK (36.211 7.1.1) -> orthogonal sequence w of Table 6.9.1-2 (N_SF = 4) and cell-specific
scrambling, c_init = (floor(n_s/2) + 1)(2 N_ID_cell + 1) 2^9 + N_ID_cell (6.9.1) -> layer mapping and
precoding (6.9.2: one port, or transmit diversity on two) -> sum of the group's PHICHs -> quadruplet i
of the group on REG i of the group (6.9.3, REG positions from phy.regs).

Receive: the group's 12 REs are combined (transmit diversity), despread with the sequence's w and c,
and the three repetitions summed into one LLR (positive = HI 0 = NACK).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..mimo import tx_diversity_decode, tx_diversity_encode
from ..regs import ControlRegs
from ..sequences import gold_sequence

__all__ = [
    "N_SF",
    "ORTHOGONAL_SEQUENCES",
    "PhichTx",
    "phich_c_init",
    "phich_index",
    "phich_symbols",
    "phich_map",
    "phich_decode",
]

N_SF = 4  # spreading factor, normal CP (TS 36.211 Table 6.9.1-1)
# TS 36.211 Table 6.9.1-2, normal CP: sequence index n_seq -> [w(0) .. w(3)]
ORTHOGONAL_SEQUENCES = np.array(
    [
        [1, 1, 1, 1],
        [1, -1, 1, -1],
        [1, 1, -1, -1],
        [1, -1, -1, 1],
        [1j, 1j, 1j, 1j],
        [1j, -1j, 1j, -1j],
        [1j, 1j, -1j, -1j],
        [1j, -1j, -1j, 1j],
    ],
    dtype=np.complex64,
)
_INV_SQRT2 = np.float32(1 / np.sqrt(2))


@dataclass(frozen=True)
class PhichTx:
    """One HI to send: group n_group (0..N_group-1), orthogonal sequence n_seq (0..7),
    hi 1 = ACK, 0 = NACK."""

    n_group: int
    n_seq: int
    hi: int


def phich_c_init(n_id_cell: int, subframe: int) -> int:
    """c_init = (floor(n_s/2) + 1)(2 N_ID_cell + 1) 2^9 + N_ID_cell (TS 36.211 6.9.1)."""
    return (subframe + 1) * (2 * n_id_cell + 1) * 2**9 + n_id_cell


def phich_index(i_prb_ra_lowest: int, n_dmrs: int, n_group_total: int) -> tuple[int, int]:
    """(n_group, n_seq) of the PUSCH transmission whose lowest PRB is I_PRB_RA with DMRS cyclic shift
    n_DMRS (TS 36.213 9.1.2, FDD): n_group = (I + n_DMRS) mod N_group, n_seq = (floor(I/N_group) +
    n_DMRS) mod 2 N_SF."""
    return (i_prb_ra_lowest + n_dmrs) % n_group_total, (i_prb_ra_lowest // n_group_total + n_dmrs) % (
        2 * N_SF
    )


def phich_symbols(hi: int, n_seq: int, n_id_cell: int, subframe: int) -> np.ndarray:
    """The 12 symbols d(0..11) of one PHICH before precoding (36.212 5.3.5, 36.211 6.9.1). (12,) complex64."""
    if hi not in (0, 1):
        raise ValueError(f"hi must be 0 (NACK) or 1 (ACK), got {hi}")
    if not 0 <= n_seq < 2 * N_SF:
        raise ValueError(f"n_seq must be 0..{2 * N_SF - 1}, got {n_seq}")
    b = np.full(3, hi, dtype=np.float32)  # HI coding: repetition (36.212 5.3.5)
    z = (1 - 2 * b) * (1 + 1j) * _INV_SQRT2  # BPSK (36.211 7.1.1)
    i = np.arange(3 * N_SF)
    c = gold_sequence(phich_c_init(n_id_cell, subframe), i.size).astype(np.float32)
    return (ORTHOGONAL_SEQUENCES[n_seq][i % N_SF] * (1 - 2 * c) * z[i // N_SF]).astype(np.complex64)


def phich_map(
    grid: np.ndarray, phichs: Sequence[PhichTx], regs: ControlRegs, n_id_cell: int, subframe: int
) -> None:
    """Add the PHICHs of one subframe to `grid` (n_ports, 14, 12 n_rb) in place (TS 36.211 6.9.2, 6.9.3).

    Each PHICH has unit energy per RE; PHICHs sharing a group add up. Groups with no PHICH stay as they are.
    """
    n_ports = grid.shape[0]
    if n_ports not in (1, 2):
        raise ValueError(f"n_ports must be 1 or 2, got {n_ports}")
    if regs.phich_l.size and (regs.phich_l != 0).any():
        raise ValueError("only the normal PHICH duration is implemented (all PHICH REGs in symbol 0)")
    groups: dict[int, np.ndarray] = {}
    seen: set[tuple[int, int]] = set()
    for p in phichs:
        if not 0 <= p.n_group < regs.n_phich_groups:
            raise ValueError(f"n_group must be 0..{regs.n_phich_groups - 1}, got {p.n_group}")
        if (p.n_group, p.n_seq) in seen:
            raise ValueError(f"PHICH ({p.n_group}, {p.n_seq}) given twice")
        seen.add((p.n_group, p.n_seq))
        d = phich_symbols(p.hi, p.n_seq, n_id_cell, subframe)
        y = d[None, :] if n_ports == 1 else tx_diversity_encode(d)
        groups[p.n_group] = groups.get(p.n_group, 0) + y
    for m, y in groups.items():
        grid[:, regs.phich_l[m].repeat(4), regs.phich_k[m].reshape(-1)] = y


def phich_decode(
    rx_grid: np.ndarray,
    h: np.ndarray,
    noise_var: float,
    regs: ControlRegs,
    n_id_cell: int,
    subframe: int,
    n_group: int,
    n_seq: int,
) -> tuple[int, float]:
    """(hi, llr) of PHICH (n_group, n_seq) in a received grid (14, 12 n_rb); h: (n_ports, 14, 12 n_rb).
    llr = log P(HI=0)/P(HI=1) summed over the 3 repetitions; hi = 1 (ACK) when llr < 0."""
    l_re = regs.phich_l[n_group].repeat(4)
    k_re = regs.phich_k[n_group].reshape(-1)
    h = np.asarray(h)
    d, nv = tx_diversity_decode(np.asarray(rx_grid)[l_re, k_re], h[:, l_re, k_re], noise_var)
    i = np.arange(3 * N_SF)
    c = gold_sequence(phich_c_init(n_id_cell, subframe), i.size).astype(np.float32)
    despread = d * np.conj(ORTHOGONAL_SEQUENCES[n_seq][i % N_SF]) * (1 - 2 * c)
    # BPSK +-a, a = (1 + j)/sqrt(2): LLR = (|y + a|^2 - |y - a|^2)/nv = 2 sqrt(2)(Re y + Im y)/nv per chip
    llr = float(np.sum(2 * np.sqrt(2) * (despread.real + despread.imag) / nv))
    return int(llr < 0), llr
