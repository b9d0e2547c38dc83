"""PDCCH search spaces: the CCE candidates a handset monitors (TS 36.213 9.1.1).

Candidate m of aggregation level L occupies CCEs L ((Y_k + m) mod floor(N_CCE,k / L)) + i,
i = 0..L-1. Common space: Y_k = 0, L = 4 (4 candidates) and L = 8 (2). UE-specific space:
L = 1, 2 (6 candidates each), 4, 8 (2 each) with Y_k = (A Y_{k-1}) mod D, A = 39827, D = 65537,
Y_-1 = n_RNTI, k = floor(n_s / 2) = the subframe number.
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = [
    "Candidate",
    "n_cce",
    "y_k",
    "candidates",
    "common_candidates",
    "ue_candidates",
    "COMMON_LEVELS",
    "UE_LEVELS",
]

# TS 36.213 Table 9.1.1-1: aggregation level L -> number of PDCCH candidates M(L)
COMMON_LEVELS = {4: 4, 8: 2}
UE_LEVELS = {1: 6, 2: 6, 4: 2, 8: 2}
_A, _D = 39827, 65537


class Candidate(NamedTuple):
    """One PDCCH candidate: aggregation level L and its first CCE index (CCEs first_cce .. first_cce+L-1)."""

    aggregation: int
    first_cce: int


def n_cce(n_reg_pdcch: int) -> int:
    """N_CCE = floor(N_REG / 9), N_REG = REGs of the control region not used by PCFICH or PHICH
    (TS 36.211 6.8.1; TS 36.213 9.1.1)."""
    if n_reg_pdcch < 0:
        raise ValueError(f"REG count must be >= 0, got {n_reg_pdcch}")
    return n_reg_pdcch // 9


def y_k(n_rnti: int, subframe: int) -> int:
    """Y_k for k = subframe (TS 36.213 9.1.1): Y_-1 = n_RNTI, Y_k = (39827 Y_{k-1}) mod 65537."""
    if not 1 <= n_rnti <= 0xFFFF:
        raise ValueError(f"RNTI must be 1..65535, got {n_rnti}")
    if not 0 <= subframe <= 9:
        raise ValueError(f"subframe must be 0..9, got {subframe}")
    y = n_rnti
    for _ in range(subframe + 1):
        y = (_A * y) % _D
    return y


def candidates(n_cce_k: int, y: int, levels: dict[int, int]) -> list[Candidate]:
    """Candidates L ((y + m) mod floor(N_CCE / L)), m = 0..M(L)-1, for each level; repeated positions
    (when floor(N_CCE / L) < M(L)) are listed once; levels with floor(N_CCE / L) = 0 give none."""
    out: list[Candidate] = []
    for level, m_l in levels.items():
        n_pos = n_cce_k // level
        if n_pos == 0:
            continue
        seen = []
        for m in range(m_l):
            first = level * ((y + m) % n_pos)
            if first not in seen:
                seen.append(first)
                out.append(Candidate(level, first))
    return out


def common_candidates(n_cce_k: int) -> list[Candidate]:
    """Common search space (TS 36.213 9.1.1): L = 4 and 8 from CCE 0 (Y_k = 0)."""
    return candidates(n_cce_k, 0, COMMON_LEVELS)


def ue_candidates(n_cce_k: int, n_rnti: int, subframe: int) -> list[Candidate]:
    """UE-specific search space of `n_rnti` in `subframe` (TS 36.213 9.1.1)."""
    return candidates(n_cce_k, y_k(n_rnti, subframe), UE_LEVELS)
