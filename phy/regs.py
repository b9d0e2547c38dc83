"""Resource-element groups of the downlink control region (TS 36.211 6.2.4, 6.7.4, 6.8.5, 6.9.3), FDD.

A REG is 4 usable REs of one OFDM symbol, represented by (k', l') with k' its lowest subcarrier
(6.2.4): in symbol 0 (and symbol 1 with 4 CRS ports) two REGs of 6 subcarriers per PRB, skipping the
CRS REs k = v_shift mod 3 (with one CRS port, port 1's REs are assumed used too, 6.2.4); in other
symbols three REGs of 4 subcarriers per PRB.

- PCFICH (6.7.4): 4 REGs of symbol 0 at k = k_bar + floor(i N_RB / 2) * 6, k_bar = 6 (N_ID_cell mod 2 N_RB).
- PHICH (6.9.3): N_group = ceil(Ng N_RB / 8) groups (normal CP) of 3 REGs each, REG n_i of symbol l'_i
  (l'_i = 0 for normal duration, i for extended) among the REGs not used by PCFICH, with
  n_i = (floor(N_ID_cell n'_l'_i / n'_0) + m' + floor(i n'_l'_i / 3)) mod n'_l'_i.
- PDCCH (6.8.5): the remaining REGs, ordered by k' (outer loop) then l' = 0..L-1 (inner loop).
FDD subframes are all alike here (m_i = 1 in every subframe, no MBSFN), so `subframe` does not matter.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from functools import cached_property, lru_cache
from math import ceil

import numpy as np

from .numerology import N_SC_RB

__all__ = [
    "NG_VALUES",
    "ControlRegs",
    "control_regs",
    "control_regs_for",
    "n_phich_groups",
    "pcfich_reg_starts",
    "symbol_regs",
]

NG_VALUES = {"one_sixth": Fraction(1, 6), "half": Fraction(1, 2), "one": Fraction(1), "two": Fraction(2)}


def n_phich_groups(n_rb: int, phich_resource: str) -> int:
    """N_group^PHICH = ceil(Ng (N_RB / 8)), normal CP (TS 36.211 6.9)."""
    if phich_resource not in NG_VALUES:
        raise ValueError(f"phich_resource must be one of {tuple(NG_VALUES)}, got {phich_resource!r}")
    return ceil(NG_VALUES[phich_resource] * Fraction(n_rb, 8))


def symbol_regs(l: int, n_rb: int, n_id_cell: int, n_ports: int) -> tuple[np.ndarray, np.ndarray]:
    """REGs of control symbol l' (0..3): (starts k' (n,), data subcarriers (n, 4)) in increasing k (6.2.4)."""
    n_sc = n_rb * N_SC_RB
    has_crs = l == 0 or (l == 1 and n_ports == 4)
    if has_crs:
        starts = np.arange(0, n_sc, 6)
        res = starts[:, None] + np.arange(6)[None, :]
        keep = res % 3 != (n_id_cell % 6) % 3  # ports 0/1 (or 2/3) CRS at k = v_shift mod 3
        res = res[keep].reshape(-1, 4)
    else:
        starts = np.arange(0, n_sc, 4)
        res = starts[:, None] + np.arange(4)[None, :]
    return starts, res


def pcfich_reg_starts(n_id_cell: int, n_rb: int) -> np.ndarray:
    """k' of the 4 PCFICH REGs in symbol 0, in quadruplet order i = 0..3 (TS 36.211 6.7.4). (4,) int64.

    k = k_bar + floor(i N_RB / 2) N_sc/2, k_bar = (N_sc/2)(N_ID_cell mod 2 N_RB), taken modulo 12 N_RB.
    """
    half = N_SC_RB // 2
    k_bar = half * (n_id_cell % (2 * n_rb))
    return np.array([(k_bar + (i * n_rb // 2) * half) % (n_rb * N_SC_RB) for i in range(4)], dtype=np.int64)


@dataclass(frozen=True)
class ControlRegs:
    """REG layout of the control region of one subframe. All arrays are int64 and read-only.

    pcfich_k: (4, 4) subcarriers of the 4 PCFICH REGs (symbol 0), quadruplet order.
    phich_l: (n_group, 3) symbol l' of REG i of each PHICH group; phich_k: (n_group, 3, 4).
    pdcch_l: (n_reg,) symbol of each PDCCH REG in 6.8.5 order; pdcch_k: (n_reg, 4).
    """

    n_ctrl_symbols: int
    pcfich_k: np.ndarray
    phich_l: np.ndarray
    phich_k: np.ndarray
    pdcch_l: np.ndarray
    pdcch_k: np.ndarray

    @property
    def n_phich_groups(self) -> int:
        return self.phich_l.shape[0]

    @property
    def n_pdcch_regs(self) -> int:
        return self.pdcch_l.shape[0]

    @property
    def n_cce(self) -> int:
        """N_CCE = floor(N_REG / 9) (TS 36.211 6.8.1)."""
        return self.n_pdcch_regs // 9

    def pdcch_re(self) -> tuple[np.ndarray, np.ndarray]:
        """(l', k) of every PDCCH RE in REG order (4 per REG), each (4 n_reg,) int64, read-only."""
        return self._pdcch_re

    @cached_property
    def _pdcch_re(self) -> tuple[np.ndarray, np.ndarray]:
        """`pdcch_re`, computed once per layout (the layouts themselves are cached)."""
        l_re = np.repeat(self.pdcch_l, 4)
        l_re.setflags(write=False)
        return l_re, self.pdcch_k.reshape(-1)

    def phich_re(self) -> tuple[np.ndarray, np.ndarray]:
        """(l', k) of every PHICH RE, group-major, each (12 n_group,) int64."""
        return np.repeat(self.phich_l.reshape(-1), 4), self.phich_k.reshape(-1)


@lru_cache(maxsize=128)
def control_regs_for(
    n_rb: int, n_id_cell: int, n_ports: int, n_ctrl_symbols: int, phich_duration: str, phich_resource: str
) -> ControlRegs:
    """ControlRegs from plain keys (cached). n_ctrl_symbols: control region length L (1..4)."""
    if not 1 <= n_ctrl_symbols <= 4:
        raise ValueError(f"n_ctrl_symbols must be 1..4, got {n_ctrl_symbols}")
    if phich_duration not in ("normal", "extended"):
        raise ValueError(f"phich_duration must be 'normal' or 'extended', got {phich_duration!r}")
    extended = phich_duration == "extended"
    if extended and n_ctrl_symbols < 3:
        raise ValueError(
            f"extended PHICH duration needs a control region of 3 symbols, got {n_ctrl_symbols} "
            "(raise cfi: TS 36.213 9.1.2 / 36.211 Table 6.9.3-1)"
        )
    per_symbol = [symbol_regs(l, n_rb, n_id_cell, n_ports) for l in range(n_ctrl_symbols)]

    # PCFICH (6.7.4): REGs of symbol 0 at the computed starts
    starts0, res0 = per_symbol[0]
    pc_starts = pcfich_reg_starts(n_id_cell, n_rb)
    pc_idx = pc_starts // 6
    pcfich_k = res0[pc_idx]

    # PHICH (6.9.3): per symbol, the REGs not used by PCFICH, numbered by increasing frequency
    free = []
    for l, (starts, _res) in enumerate(per_symbol):
        idx = np.arange(starts.size)
        if l == 0:
            idx = np.setdiff1d(idx, pc_idx)
        free.append(idx)
    n_group = n_phich_groups(n_rb, phich_resource)
    n0 = free[0].size
    phich_l = np.zeros((n_group, 3), dtype=np.int64)
    phich_reg = np.zeros((n_group, 3), dtype=np.int64)
    for m in range(n_group):  # normal CP: mapping unit m' = group m
        for i in range(3):
            li = i if extended else 0
            n_li = free[li].size
            n_bar = (n_id_cell * n_li // n0 + m + (i * n_li) // 3) % n_li
            phich_l[m, i] = li
            phich_reg[m, i] = free[li][n_bar]
    phich_k = np.zeros((n_group, 3, 4), dtype=np.int64)
    for m in range(n_group):
        for i in range(3):
            phich_k[m, i] = per_symbol[phich_l[m, i]][1][phich_reg[m, i]]

    # PDCCH (6.8.5): every other REG, ordered by k' then l'
    used = [set() for _ in range(n_ctrl_symbols)]
    used[0].update(pc_idx.tolist())
    for m in range(n_group):
        for i in range(3):
            used[phich_l[m, i]].add(int(phich_reg[m, i]))
    all_l, all_start, all_res = [], [], []
    for l, (starts, res) in enumerate(per_symbol):
        keep = np.ones(starts.size, dtype=bool)
        keep[list(used[l])] = False
        all_l.append(np.full(int(keep.sum()), l))
        all_start.append(starts[keep])
        all_res.append(res[keep])
    l_cat, s_cat, r_cat = np.concatenate(all_l), np.concatenate(all_start), np.concatenate(all_res)
    order = np.lexsort((l_cat, s_cat))  # primary key k', secondary l'
    out = ControlRegs(
        n_ctrl_symbols=n_ctrl_symbols,
        pcfich_k=pcfich_k,
        phich_l=phich_l,
        phich_k=phich_k,
        pdcch_l=l_cat[order].astype(np.int64),
        pdcch_k=r_cat[order].astype(np.int64),
    )
    for arr in (out.pcfich_k, out.phich_l, out.phich_k, out.pdcch_l, out.pdcch_k):
        arr.setflags(write=False)
    return out


def control_regs(cell, subframe: int) -> ControlRegs:
    """REG layout of `cell`'s control region in `subframe` (a phy.cell.DlCell or any object like it).

    Uses cell.n_rb_dl, cell.pci, cell.n_ports, cell.n_ctrl_symbols, cell.phich_duration and
    cell.phich_resource. FDD: the layout is the same in every subframe.
    """
    if not 0 <= subframe <= 9:
        raise ValueError(f"subframe must be 0..9, got {subframe}")
    return control_regs_for(
        int(cell.n_rb_dl),
        int(cell.pci),
        int(cell.n_ports),
        int(cell.n_ctrl_symbols),
        str(cell.phich_duration),
        str(cell.phich_resource),
    )
