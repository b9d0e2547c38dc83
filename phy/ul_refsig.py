"""Uplink reference signals (TS 36.211 5.5): base sequences, group and sequence hopping, PUSCH DMRS.

Base sequence r̄_{u,v}(n) of length M_sc^RS (5.5.1.2): exp(j phi(n) pi / 4) with phi from Table 5.5.1.2-1
(M_sc = 12) or Table 5.5.1.2-2 (M_sc = 24); for M_sc >= 36 the cyclic extension of the Zadoff-Chu
sequence x_q(m) = exp(-j pi q m (m + 1) / N_ZC), N_ZC the largest prime < M_sc (5.5.1.1), with
q = floor(q̄ + 1/2) + v (-1)^floor(2 q̄), q̄ = N_ZC (u + 1) / 31. Sequence group u = (f_gh(n_s) + f_ss) mod 30
(5.5.1.3), base sequence number v (5.5.1.4), PUSCH DMRS cyclic shift from n_DMRS^(1), n_DMRS^(2) and
n_PRS(n_s) (5.5.2.1.1).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from .numerology import N_SC_RB, N_SYMB_SLOT
from .sequences import gold_sequence, zadoff_chu

__all__ = [
    "PHI_12",
    "PHI_24",
    "N_DMRS1",
    "N_DMRS2",
    "PUSCH_DMRS_SYMBOLS",
    "largest_prime_below",
    "zc_q",
    "base_sequence",
    "cyclic_shifted",
    "group_hopping_f_gh",
    "sequence_group",
    "f_ss_pucch",
    "f_ss_pusch",
    "base_sequence_number",
    "pusch_n_prs",
    "pusch_dmrs_n_cs",
    "pusch_dmrs",
]

# TS 36.211 Table 5.5.1.2-1: phi(n), n = 0..11, for M_sc^RS = 12, rows u = 0..29
PHI_12 = np.array(
    [
        [-1, 1, 3, -3, 3, 3, 1, 1, 3, 1, -3, 3],
        [1, 1, 3, 3, 3, -1, 1, -3, -3, 1, -3, 3],
        [1, 1, -3, -3, -3, -1, -3, -3, 1, -3, 1, -1],
        [-1, 1, 1, 1, 1, -1, -3, -3, 1, -3, 3, -1],
        [-1, 3, 1, -1, 1, -1, -3, -1, 1, -1, 1, 3],
        [1, -3, 3, -1, -1, 1, 1, -1, -1, 3, -3, 1],
        [-1, 3, -3, -3, -3, 3, 1, -1, 3, 3, -3, 1],
        [-3, -1, -1, -1, 1, -3, 3, -1, 1, -3, 3, 1],
        [1, -3, 3, 1, -1, -1, -1, 1, 1, 3, -1, 1],
        [1, -3, -1, 3, 3, -1, -3, 1, 1, 1, 1, 1],
        [-1, 3, -1, 1, 1, -3, -3, -1, -3, -3, 3, -1],
        [3, 1, -1, -1, 3, 3, -3, 1, 3, 1, 3, 3],
        [1, -3, 1, 1, -3, 1, 1, 1, -3, -3, -3, 1],
        [3, 3, -3, 3, -3, 1, 1, 3, -1, -3, 3, 3],
        [-3, 1, -1, -3, -1, 3, 1, 3, 3, 3, -1, 1],
        [3, -1, 1, -3, -1, -1, 1, 1, 3, 1, -1, -3],
        [1, 3, 1, -1, 1, 3, 3, 3, -1, -1, 3, -1],
        [-3, 1, 1, 3, -3, 3, -3, -3, 3, 1, 3, -1],
        [-3, 3, 1, 1, -3, 1, -3, -3, -1, -1, 1, -3],
        [-1, 3, 1, 3, 1, -1, -1, 3, -3, -1, -3, -1],
        [-1, -3, 1, 1, 1, 1, 3, 1, -1, 1, -3, -1],
        [-1, 3, -1, 1, -3, -3, -3, -3, -3, 1, -1, -3],
        [1, 1, -3, -3, -3, -3, -1, 3, -3, 1, -3, 3],
        [1, 1, -1, -3, -1, -3, 1, -1, 1, 3, -1, 1],
        [1, 1, 3, 1, 3, 3, -1, 1, -1, -3, -3, 1],
        [1, -3, 3, 3, 1, 3, 3, 1, -3, -1, -1, 3],
        [1, 3, -3, -3, 3, -3, 1, -1, -1, 3, -1, -3],
        [-3, -1, -3, -1, -3, 3, 1, -1, 1, 3, -3, -3],
        [-1, 3, -3, 3, -1, 3, 3, -3, 3, 3, -1, -1],
        [3, -3, -3, -1, -1, -3, -1, 3, -3, 3, 1, -1],
    ],
    dtype=np.int8,
)
PHI_12.setflags(write=False)

# TS 36.211 Table 5.5.1.2-2: phi(n), n = 0..23, for M_sc^RS = 24, rows u = 0..29
PHI_24 = np.array(
    [
        [-1, 3, 1, -3, 3, -1, 1, 3, -3, 3, 1, 3, -3, 3, 1, 1, -1, 1, 3, -3, 3, -3, -1, -3],
        [-3, 3, -3, -3, -3, 1, -3, -3, 3, -1, 1, 1, 1, 3, 1, -1, 3, -3, -3, 1, 3, 1, 1, -3],
        [3, -1, 3, 3, 1, 1, -3, 3, 3, 3, 3, 1, -1, 3, -1, 1, 1, -1, -3, -1, -1, 1, 3, 3],
        [-1, -3, 1, 1, 3, -3, 1, 1, -3, -1, -1, 1, 3, 1, 3, 1, -1, 3, 1, 1, -3, -1, -3, -1],
        [-1, -1, -1, -3, -3, -1, 1, 1, 3, 3, -1, 3, -1, 1, -1, -3, 1, -1, -3, -3, 1, -3, -1, -1],
        [-3, 1, 1, 3, -1, 1, 3, 1, -3, 1, -3, 1, 1, -1, -1, 3, -1, -3, 3, -3, -3, -3, 1, 1],
        [1, 1, -1, -1, 3, -3, -3, 3, -3, 1, -1, -1, 1, -1, 1, 1, -1, -3, -1, 1, -1, 3, -1, -3],
        [-3, 3, 3, -1, -1, -3, -1, 3, 1, 3, 1, 3, 1, 1, -1, 3, 1, -1, 1, 3, -3, -1, -1, 1],
        [-3, 1, 3, -3, 1, -1, -3, 3, -3, 3, -1, -1, -1, -1, 1, -3, -3, -3, 1, -3, -3, -3, 1, -3],
        [1, 1, -3, 3, 3, -1, -3, -1, 3, -3, 3, 3, 3, -1, 1, 1, -3, 1, -1, 1, 1, -3, 1, 1],
        [-1, 1, -3, -3, 3, -1, 3, -1, -1, -3, -3, -3, -1, -3, -3, 1, -1, 1, 3, 3, -1, 1, -1, 3],
        [1, 3, 3, -3, -3, 1, 3, 1, -1, -3, -3, -3, 3, 3, -3, 3, 3, -1, -3, 3, -1, 1, -3, 1],
        [1, 3, 3, 1, 1, 1, -1, -1, 1, -3, 3, -1, 1, 1, -3, 3, 3, -1, -3, 3, -3, -1, -3, -1],
        [3, -1, -1, -1, -1, -3, -1, 3, 3, 1, -1, 1, 3, 3, 3, -1, 1, 1, -3, 1, 3, -1, -3, 3],
        [-3, -3, 3, 1, 3, 1, -3, 3, 1, 3, 1, 1, 3, 3, -1, -1, -3, 1, -3, -1, 3, 1, 1, 3],
        [-1, -1, 1, -3, 1, 3, -3, 1, -1, -3, -1, 3, 1, 3, 1, -1, -3, -3, -1, -1, -3, -3, -3, -1],
        [-1, -3, 3, -1, -1, -1, -1, 1, 1, -3, 3, 1, 3, 3, 1, -1, 1, -3, 1, -3, 1, 1, -3, -1],
        [1, 3, -1, 3, 3, -1, -3, 1, -1, -3, 3, 3, 3, -1, 1, 1, 3, -1, -3, -1, 3, -1, -1, -1],
        [1, 1, 1, 1, 1, -1, 3, -1, -3, 1, 1, 3, -3, 1, -3, -1, 1, 1, -3, -3, 3, 1, 1, -3],
        [1, 3, 3, 1, -1, -3, 3, -1, 3, 3, 3, -3, 1, -1, 1, -1, -3, -1, 1, 3, -1, 3, -3, -3],
        [-1, -3, 3, -3, -3, -3, -1, -1, -3, -1, -3, 3, 1, 3, -3, -1, 3, -1, 1, -1, 3, -3, 1, -1],
        [-3, -3, 1, 1, -1, 1, -1, 1, -1, 3, 1, -3, -1, 1, -1, 1, -1, -1, 3, 3, -3, -1, 1, -3],
        [-3, -1, -3, 3, 1, -1, -3, -1, -3, -3, 3, -3, 3, -3, -1, 1, 3, 1, -3, 1, 3, 3, -1, -3],
        [-1, -1, -1, -1, 3, 3, 3, 1, 3, 3, -3, 1, 3, -1, 3, -1, 3, 3, -3, 3, 1, -1, 3, 3],
        [1, -1, 3, 3, -1, -3, 3, -3, -1, -1, 3, -1, 3, -1, -1, 1, 1, 1, 1, -1, -1, -3, -1, 3],
        [1, -1, 1, -1, 3, -1, 3, 1, 1, -1, -1, -3, 1, 1, -3, 1, 3, -3, 1, 1, -3, -3, -1, -1],
        [-3, -1, 1, 3, 1, 1, -3, -1, -1, -3, 3, -3, 3, 1, -3, 3, -3, 1, -1, 1, -3, 1, 1, 1],
        [-1, -3, 3, 3, 1, 1, 3, -1, -3, -1, -1, -1, 3, 1, -3, -3, -1, 3, -3, -1, -3, -1, -3, -1],
        [-1, -3, -1, -1, 1, -3, -1, -1, 1, -1, -3, 1, 1, -3, 1, -3, -3, 3, 1, 1, -1, 3, -1, -1],
        [1, 1, -1, -1, -3, -1, 3, -1, 3, -1, 1, 3, 1, -1, 3, 1, 3, -3, -3, 1, -1, -1, 1, 3],
    ],
    dtype=np.int8,
)
PHI_24.setflags(write=False)

# TS 36.211 Table 5.5.2.1.1-2: cyclicShift (SIB2 pusch-ConfigCommon, 0..7) -> n_DMRS^(1)
N_DMRS1 = (0, 2, 3, 4, 6, 8, 9, 10)
# TS 36.211 Table 5.5.2.1.1-1: "cyclic shift for DMRS" field of DCI format 0 (000..111) -> n_DMRS^(2)
N_DMRS2 = (0, 6, 3, 4, 2, 8, 10, 9)
# TS 36.211 5.5.2.1.2: PUSCH DMRS in l = 3 of each slot (normal CP): subframe symbols 3 and 10
PUSCH_DMRS_SYMBOLS = (3, 10)


def largest_prime_below(m: int) -> int:
    """The largest prime N < m (N_ZC of 5.5.1.1)."""
    for n in range(m - 1, 1, -1):
        if all(n % d for d in range(2, int(n**0.5) + 1)):
            return n
    raise ValueError(f"no prime below {m}")


def zc_q(u: int, v: int, n_zc: int) -> int:
    """Root q = floor(q̄ + 1/2) + v (-1)^floor(2 q̄), q̄ = N_ZC (u + 1) / 31 (5.5.1.1), in exact integers."""
    num = n_zc * (u + 1)  # q̄ = num / 31
    return (2 * num + 31) // 62 + v * (-1) ** ((2 * num) // 31)


def _check_uv(u: int, v: int, m_sc: int) -> None:
    if not 0 <= u < 30:
        raise ValueError(f"sequence group u must be 0..29, got {u}")
    if v not in (0, 1):
        raise ValueError(f"base sequence number v must be 0 or 1, got {v}")
    if v and m_sc < 6 * N_SC_RB:
        raise ValueError(f"v = 1 exists only for M_sc >= 72 (5.5.1), got m_sc={m_sc}")


@lru_cache(maxsize=512)
def _base_sequence(u: int, v: int, m_sc: int) -> np.ndarray:
    if m_sc == 12:
        seq = np.exp(1j * np.pi / 4 * PHI_12[u].astype(np.float64))
    elif m_sc == 24:
        seq = np.exp(1j * np.pi / 4 * PHI_24[u].astype(np.float64))
    else:
        n_zc = largest_prime_below(m_sc)
        seq = zadoff_chu(zc_q(u, v, n_zc), n_zc)[np.arange(m_sc) % n_zc]  # cyclic extension (5.5.1.1)
    seq.setflags(write=False)
    return seq


def base_sequence(u: int, v: int, m_sc: int) -> np.ndarray:
    """r̄_{u,v}(n), n = 0..m_sc-1 (5.5.1.1, 5.5.1.2): (m_sc,) complex128.

    m_sc: 12, 24 (tables) or >= 36 (Zadoff-Chu); u = 0..29; v = 0, or 1 when m_sc >= 72.
    """
    u, v, m_sc = int(u), int(v), int(m_sc)
    if m_sc not in (12, 24) and m_sc < 36:
        raise ValueError(f"m_sc must be 12, 24 or >= 36, got {m_sc}")
    _check_uv(u, v, m_sc)
    return _base_sequence(u, v, m_sc).copy()


def cyclic_shifted(u: int, v: int, m_sc: int, alpha: float) -> np.ndarray:
    """r^(alpha)_{u,v}(n) = exp(j alpha n) r̄_{u,v}(n) (5.5.1): (m_sc,) complex128."""
    seq = base_sequence(u, v, m_sc)
    return np.exp(1j * alpha * np.arange(m_sc)) * seq


def _check_cell(n_id_cell: int) -> None:
    if not 0 <= n_id_cell <= 503:
        raise ValueError(f"n_id_cell must be 0..503, got {n_id_cell}")


@lru_cache(maxsize=64)
def _f_gh(n_id_cell: int) -> np.ndarray:
    c = gold_sequence(n_id_cell // 30, 8 * 20).reshape(20, 8).astype(np.int64)
    f = (c @ (1 << np.arange(8))) % 30
    f.setflags(write=False)
    return f


def group_hopping_f_gh(n_id_cell: int) -> np.ndarray:
    """Group-hopping pattern f_gh(n_s) = (sum_i c(8 n_s + i) 2^i) mod 30, n_s = 0..19, c_init = floor(N_ID/30)
    (5.5.1.3). Returns (20,) int64 (valid when group hopping is enabled; the caller passes the flag)."""
    _check_cell(n_id_cell)
    return _f_gh(int(n_id_cell)).copy()


def f_ss_pucch(n_id_cell: int) -> int:
    """Sequence-shift pattern of the PUCCH: f_ss = N_ID_cell mod 30 (5.5.1.3)."""
    _check_cell(n_id_cell)
    return n_id_cell % 30


def f_ss_pusch(n_id_cell: int, delta_ss: int) -> int:
    """Sequence-shift pattern of the PUSCH: (N_ID_cell + Delta_ss) mod 30, Delta_ss = 0..29 (5.5.1.3)."""
    _check_cell(n_id_cell)
    if not 0 <= delta_ss <= 29:
        raise ValueError(f"groupAssignmentPUSCH delta_ss must be 0..29, got {delta_ss}")
    return (n_id_cell + delta_ss) % 30


def _check_slot(n_s: int) -> None:
    if not 0 <= n_s < 20:
        raise ValueError(f"slot number n_s must be 0..19, got {n_s}")


def sequence_group(n_id_cell: int, n_s: int, group_hopping: bool, f_ss: int) -> int:
    """Sequence group u = (f_gh(n_s) + f_ss) mod 30, f_gh = 0 without group hopping (5.5.1.3)."""
    _check_slot(n_s)
    f_gh = int(group_hopping_f_gh(n_id_cell)[n_s]) if group_hopping else 0
    return (f_gh + int(f_ss)) % 30


def base_sequence_number(
    n_id_cell: int, n_s: int, m_sc: int, group_hopping: bool, sequence_hopping: bool, f_ss_pusch: int
) -> int:
    """Base sequence number v within the group (5.5.1.4): c(n_s) with c_init = floor(N_ID/30) 2^5 + f_ss^PUSCH
    when m_sc >= 6 N_sc^RB, group hopping is off and sequence hopping on; otherwise 0."""
    _check_cell(n_id_cell)
    _check_slot(n_s)
    if m_sc < 6 * N_SC_RB or group_hopping or not sequence_hopping:
        return 0
    return int(gold_sequence((n_id_cell // 30) * 32 + int(f_ss_pusch), 20)[n_s])


@lru_cache(maxsize=64)
def _n_prs(n_id_cell: int, f_ss: int) -> np.ndarray:
    c = gold_sequence((n_id_cell // 30) * 32 + f_ss, 8 * N_SYMB_SLOT * 20).astype(np.int64)
    idx = 8 * N_SYMB_SLOT * np.arange(20)[:, None] + np.arange(8)[None, :]
    n = c[idx] @ (1 << np.arange(8))
    n.setflags(write=False)
    return n


def pusch_n_prs(n_id_cell: int, f_ss_pusch: int) -> np.ndarray:
    """n_PRS(n_s) = sum_{i=0..7} c(8 N_symb^UL n_s + i) 2^i, c_init = floor(N_ID/30) 2^5 + f_ss^PUSCH
    (5.5.2.1.1). Returns (20,) int64, n_s = 0..19."""
    _check_cell(n_id_cell)
    if not 0 <= f_ss_pusch <= 29:
        raise ValueError(f"f_ss_pusch must be 0..29, got {f_ss_pusch}")
    return _n_prs(int(n_id_cell), int(f_ss_pusch)).copy()


def pusch_dmrs_n_cs(n_id_cell: int, n_s: int, cyclic_shift: int, n_dmrs2_field: int, delta_ss: int) -> int:
    """n_cs = (n_DMRS^(1) + n_DMRS^(2) + n_PRS(n_s)) mod 12 (5.5.2.1.1): cyclic_shift is SIB2's cyclicShift
    (Table 5.5.2.1.1-2), n_dmrs2_field the DCI-0 cyclic-shift field 0..7 (Table 5.5.2.1.1-1)."""
    _check_slot(n_s)
    if not 0 <= cyclic_shift <= 7 or not 0 <= n_dmrs2_field <= 7:
        raise ValueError(f"cyclic_shift and n_dmrs2_field must be 0..7, got {cyclic_shift}, {n_dmrs2_field}")
    n_prs = int(pusch_n_prs(n_id_cell, f_ss_pusch(n_id_cell, delta_ss))[n_s])
    return (N_DMRS1[cyclic_shift] + N_DMRS2[n_dmrs2_field] + n_prs) % 12


def pusch_dmrs(
    n_id_cell: int,
    subframe: int,
    n_prb: int,
    *,
    group_hopping: bool = False,
    sequence_hopping: bool = False,
    delta_ss: int = 0,
    cyclic_shift: int = 0,
    n_dmrs2_field: int = 0,
) -> np.ndarray:
    """PUSCH demodulation reference signal of one subframe (5.5.2.1): r^(alpha)_{u,v} of length 12 n_prb for
    slot 2 subframe and 2 subframe + 1, in subframe symbols 3 and 10 (PUSCH_DMRS_SYMBOLS), beta = 1.
    Returns (2, 12 n_prb) complex128, read-only (cached: a scheduler reuses a few allocations)."""
    return _pusch_dmrs(
        int(n_id_cell), int(subframe), int(n_prb), bool(group_hopping), bool(sequence_hopping), int(delta_ss),
        int(cyclic_shift), int(n_dmrs2_field),
    )  # fmt: skip


@lru_cache(maxsize=1024)
def _pusch_dmrs(
    n_id_cell: int, subframe: int, n_prb: int, group_hopping: bool, sequence_hopping: bool, delta_ss: int,
    cyclic_shift: int, n_dmrs2_field: int,
) -> np.ndarray:  # fmt: skip
    if not 0 <= subframe <= 9:
        raise ValueError(f"subframe must be 0..9, got {subframe}")
    if n_prb < 1:
        raise ValueError(f"n_prb must be >= 1, got {n_prb}")
    m_sc = N_SC_RB * n_prb
    fss = f_ss_pusch(n_id_cell, delta_ss)
    out = np.empty((2, m_sc), dtype=np.complex128)
    for i, n_s in enumerate((2 * subframe, 2 * subframe + 1)):
        u = sequence_group(n_id_cell, n_s, group_hopping, fss)
        v = base_sequence_number(n_id_cell, n_s, m_sc, group_hopping, sequence_hopping, fss)
        n_cs = pusch_dmrs_n_cs(n_id_cell, n_s, cyclic_shift, n_dmrs2_field, delta_ss)
        out[i] = cyclic_shifted(u, v, m_sc, 2 * np.pi * n_cs / 12)
    out.setflags(write=False)
    return out
