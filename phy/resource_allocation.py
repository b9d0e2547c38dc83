"""Downlink resource allocation: which PRBs a DCI's resource-block field names (TS 36.213 7.1.6,
TS 36.211 6.2.3).

- Type 0 (7.1.6.1): bitmap over resource block groups of P consecutive PRBs, P from Table 7.1.6.1-1.
- Type 1 (7.1.6.2): bitmap over the PRBs of one RBG subset, with a shift.
- Type 2 (7.1.6.3): contiguous virtual resource blocks given by a resource indication value (RIV);
  localized VRBs are PRBs (6.2.3.1), distributed VRBs are interleaved and hopped between the two
  slots with the gap N_gap (6.2.3.2, Table 6.2.3.2-1).

Allocations are returned as `(2, n) int64` PRB indices, row = slot of the subframe (0, 1): PRB n of
slot 0 and PRB n of slot 1 carry the same VRB (only distributed VRBs differ between the slots).
"""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "rbg_size",
    "n_rbg",
    "type0_prbs",
    "type0_bitmap",
    "type1_prbs",
    "riv_bits",
    "riv_encode",
    "riv_decode",
    "n_gap",
    "n_vrb_dl",
    "n_step_rb_1c",
    "n_vrb_1c",
    "vrb_to_prb_distributed",
    "type2_prbs",
    "type2_1c_prbs",
]


def _check_n_rb(n_rb_dl: int) -> None:
    if not 6 <= n_rb_dl <= 110:
        raise ValueError(f"n_rb_dl must be 6..110 (TS 36.211 Table 6.2.1-1), got {n_rb_dl}")


def rbg_size(n_rb_dl: int) -> int:
    """RBG size P (TS 36.213 Table 7.1.6.1-1): 1 (<=10 RB), 2 (11-26), 3 (27-63), 4 (64-110)."""
    _check_n_rb(n_rb_dl)
    if n_rb_dl <= 10:
        return 1
    if n_rb_dl <= 26:
        return 2
    if n_rb_dl <= 63:
        return 3
    return 4


def n_rbg(n_rb_dl: int) -> int:
    """Number of RBGs N_RBG = ceil(N_RB_DL / P) = bits of a type 0 bitmap (TS 36.213 7.1.6.1)."""
    return -(-n_rb_dl // rbg_size(n_rb_dl))


def _both_slots(prbs: np.ndarray) -> np.ndarray:
    prbs = np.asarray(prbs, dtype=np.int64)
    return np.stack([prbs, prbs])


def type0_prbs(bitmap: int, n_rb_dl: int) -> np.ndarray:
    """PRBs of a type 0 allocation (TS 36.213 7.1.6.1): bit N_RBG-1-i of `bitmap` (MSB first =
    RBG 0) set allocates RBG i = PRBs i*P .. min((i+1)*P, N_RB_DL)-1. Returns (2, n) int64."""
    p, n = rbg_size(n_rb_dl), n_rbg(n_rb_dl)
    if not 0 <= bitmap < (1 << n):
        raise ValueError(f"type 0 bitmap must fit in N_RBG={n} bits for n_rb_dl={n_rb_dl}, got {bitmap}")
    rbg_on = (bitmap >> (n - 1 - np.arange(n))) & 1
    prb = np.arange(n_rb_dl)
    return _both_slots(prb[rbg_on[prb // p] == 1])


def type0_bitmap(prbs, n_rb_dl: int) -> int:
    """Inverse of `type0_prbs`: bitmap of the RBGs covering `prbs`; every RBG must be taken whole."""
    p, n = rbg_size(n_rb_dl), n_rbg(n_rb_dl)
    prbs = np.unique(np.asarray(prbs, dtype=np.int64))
    if prbs.size and (prbs[0] < 0 or prbs[-1] >= n_rb_dl):
        raise ValueError(f"PRBs must lie in 0..{n_rb_dl - 1}")
    rbgs = np.unique(prbs // p)
    bitmap = int(sum(1 << (n - 1 - int(i)) for i in rbgs))
    if not np.array_equal(type0_prbs(bitmap, n_rb_dl)[0], prbs):
        raise ValueError(f"type 0 allocates whole RBGs of P={p} PRBs; {prbs.tolist()} is not a union of RBGs")
    return bitmap


def type1_prbs(field: int, n_rb_dl: int) -> np.ndarray:
    """PRBs of a type 1 allocation field of N_RBG bits (TS 36.213 7.1.6.2): ceil(log2 P) bits of RBG
    subset p, 1 shift bit, then an N_RB_TYPE1 bit bitmap (MSB first) over the subset's PRBs."""
    p_size, n = rbg_size(n_rb_dl), n_rbg(n_rb_dl)
    if p_size == 1:
        raise ValueError(f"type 1 allocation needs N_RB_DL > 10, got {n_rb_dl}")
    n_sub_bits = math.ceil(math.log2(p_size))
    n_rb_type1 = n - n_sub_bits - 1
    if not 0 <= field < (1 << n):
        raise ValueError(f"type 1 field must fit in {n} bits, got {field}")
    subset = field >> (n - n_sub_bits)
    shift = (field >> n_rb_type1) & 1
    bitmap = field & ((1 << n_rb_type1) - 1)
    if subset >= p_size:
        raise ValueError(f"RBG subset {subset} must be < P={p_size}")
    # N_RB^RBG_subset(p): PRBs in subset p
    full, last = (n_rb_dl - 1) // (p_size * p_size), ((n_rb_dl - 1) // p_size) % p_size
    if subset < last:
        n_subset = full * p_size + p_size
    elif subset == last:
        n_subset = full * p_size + (n_rb_dl - 1) % p_size + 1
    else:
        n_subset = full * p_size
    delta_shift = n_subset - n_rb_type1 if shift else 0
    i = np.nonzero((bitmap >> (n_rb_type1 - 1 - np.arange(n_rb_type1))) & 1)[0] + delta_shift
    prbs = (i // p_size) * p_size * p_size + subset * p_size + i % p_size
    if prbs.size and prbs.max() >= n_rb_dl:
        raise ValueError(f"type 1 field {field:#x} addresses PRBs beyond N_RB_DL={n_rb_dl}")
    return _both_slots(prbs)


def riv_bits(n_rb: int) -> int:
    """Bits of a type 2 RIV field: ceil(log2(N_RB (N_RB + 1) / 2)) (TS 36.212 5.3.3.1.3)."""
    return math.ceil(math.log2(n_rb * (n_rb + 1) // 2))


def riv_encode(rb_start: int, l_crbs: int, n_rb: int) -> int:
    """Resource indication value of L_CRBs contiguous RBs from RB_start (TS 36.213 7.1.6.3)."""
    if not (l_crbs >= 1 and rb_start >= 0 and rb_start + l_crbs <= n_rb):
        raise ValueError(f"need L_CRBs >= 1 and RB_start + L_CRBs <= {n_rb}, got start {rb_start} L {l_crbs}")
    if l_crbs - 1 <= n_rb // 2:
        return n_rb * (l_crbs - 1) + rb_start
    return n_rb * (n_rb - l_crbs + 1) + (n_rb - 1 - rb_start)


def riv_decode(riv: int, n_rb: int) -> tuple[int, int]:
    """(RB_start, L_CRBs) of a RIV (inverse of TS 36.213 7.1.6.3); raises on an invalid RIV."""
    if not 0 <= riv < n_rb * (n_rb + 1) // 2:
        raise ValueError(f"RIV {riv} out of range 0..{n_rb * (n_rb + 1) // 2 - 1} for N_RB={n_rb}")
    l_crbs, rb_start = riv // n_rb + 1, riv % n_rb
    if rb_start + l_crbs > n_rb:  # the second branch of the RIV formula
        l_crbs, rb_start = n_rb + 1 - l_crbs + 1, n_rb - 1 - rb_start
    return rb_start, l_crbs


def n_gap(n_rb_dl: int, gap: int = 1) -> int:
    """Gap N_gap,1 or N_gap,2 between the two slots' PRBs of a distributed VRB (TS 36.211
    Table 6.2.3.2-1); N_gap,2 exists only for N_RB_DL >= 50."""
    _check_n_rb(n_rb_dl)
    if gap not in (1, 2):
        raise ValueError(f"gap must be 1 or 2, got {gap}")
    if gap == 2 and n_rb_dl < 50:
        raise ValueError(f"N_gap,2 is defined only for N_RB_DL >= 50, got {n_rb_dl}")
    if n_rb_dl <= 10:
        return -(-n_rb_dl // 2)
    table = (
        (11, 4, None),
        (19, 8, None),
        (26, 12, None),
        (44, 18, None),
        (49, 27, None),
        (63, 27, 9),
        (79, 32, 16),
        (110, 48, 16),
    )
    for n_max, gap1, gap2 in table:
        if n_rb_dl <= n_max:
            return gap1 if gap == 1 else gap2
    raise AssertionError("unreachable")


def n_vrb_dl(n_rb_dl: int, gap: int = 1) -> int:
    """Number of distributed VRBs N_VRB_DL (TS 36.211 6.2.3.2): 2 min(N_gap, N_RB - N_gap) for
    gap 1, floor(N_RB / 2N_gap) 2N_gap for gap 2."""
    g = n_gap(n_rb_dl, gap)
    if gap == 1:
        return 2 * min(g, n_rb_dl - g)
    return (n_rb_dl // (2 * g)) * 2 * g


def vrb_to_prb_distributed(n_vrb, n_rb_dl: int, gap: int = 1) -> np.ndarray:
    """PRB of distributed VRB(s) n_vrb in slot 0 and slot 1 of a subframe (TS 36.211 6.2.3.2).

    Returns (2, len(n_vrb)) int64: row 0 = even slot n_s, row 1 = odd slot.
    """
    n_vrb = np.atleast_1d(np.asarray(n_vrb, dtype=np.int64))
    if n_vrb.size and (n_vrb.min() < 0 or n_vrb.max() >= n_vrb_dl(n_rb_dl, gap)):
        raise ValueError(
            f"distributed VRBs must be 0..{n_vrb_dl(n_rb_dl, gap) - 1} for N_RB_DL={n_rb_dl} gap {gap}"
        )
    g = n_gap(n_rb_dl, gap)
    n_tilde = n_vrb_dl(n_rb_dl, 1) if gap == 1 else 2 * g  # interleaving unit Ñ_VRB_DL
    p = rbg_size(n_rb_dl)
    n_row = -(-n_tilde // (4 * p)) * p
    n_null = 4 * n_row - n_tilde
    nt_vrb = n_vrb % n_tilde
    base = n_tilde * (n_vrb // n_tilde)
    nt_prb1 = 2 * n_row * (nt_vrb % 2) + nt_vrb // 2 + base  # ñ'_PRB
    nt_prb2 = n_row * (nt_vrb % 4) + nt_vrb // 4 + base  # ñ''_PRB
    tail = (n_null != 0) & (nt_vrb >= n_tilde - n_null)
    even = np.where(
        tail & (nt_vrb % 2 == 1),
        nt_prb1 - n_row,
        np.where(
            tail & (nt_vrb % 2 == 0),
            nt_prb1 - n_row + n_null // 2,
            np.where((n_null != 0) & ~tail & (nt_vrb % 4 >= 2), nt_prb2 - n_null // 2, nt_prb2),
        ),
    )
    odd = (even + n_tilde // 2) % n_tilde + base
    nt = np.stack([even, odd])
    return np.where(nt < n_tilde // 2, nt, nt + g - n_tilde // 2)


def type2_prbs(riv: int, n_rb_dl: int, distributed: bool = False, gap: int = 1) -> np.ndarray:
    """PRBs of a type 2 allocation of DCI format 1A/1B/1D (TS 36.213 7.1.6.3): RIV over N_RB_DL;
    localized VRB n = PRB n (TS 36.211 6.2.3.1), distributed VRBs per 6.2.3.2. Returns (2, L) int64."""
    rb_start, l_crbs = riv_decode(riv, n_rb_dl)
    vrbs = np.arange(rb_start, rb_start + l_crbs)
    if not distributed:
        return _both_slots(vrbs)
    if rb_start + l_crbs > n_vrb_dl(n_rb_dl, gap):
        raise ValueError(
            f"distributed allocation RB {rb_start}+{l_crbs} exceeds "
            f"N_VRB_DL={n_vrb_dl(n_rb_dl, gap)} (gap {gap})"
        )
    return vrb_to_prb_distributed(vrbs, n_rb_dl, gap)


def n_step_rb_1c(n_rb_dl: int) -> int:
    """N_step_RB of DCI format 1C (TS 36.213 Table 7.1.6.3-1): 2 for 6-49 RB, 4 for 50-110."""
    _check_n_rb(n_rb_dl)
    return 2 if n_rb_dl < 50 else 4


def n_vrb_1c(n_rb_dl: int) -> int:
    """N'_VRB_DL = floor(N_VRB_DL,gap1 / N_step_RB), the RIV range unit of format 1C (7.1.6.3)."""
    return n_vrb_dl(n_rb_dl, 1) // n_step_rb_1c(n_rb_dl)


def type2_1c_prbs(riv: int, n_rb_dl: int, gap: int = 1) -> np.ndarray:
    """PRBs of a DCI format 1C allocation (TS 36.213 7.1.6.3): RIV over N'_VRB_DL, RB_start and
    L_CRBs in steps of N_step_RB, always distributed VRBs. Returns (2, L) int64."""
    step = n_step_rb_1c(n_rb_dl)
    start_p, l_p = riv_decode(riv, n_vrb_1c(n_rb_dl))
    vrbs = np.arange(start_p * step, (start_p + l_p) * step)
    if vrbs[-1] >= n_vrb_dl(n_rb_dl, gap):
        raise ValueError(f"format 1C allocation exceeds N_VRB_DL={n_vrb_dl(n_rb_dl, gap)} for gap {gap}")
    return vrb_to_prb_distributed(vrbs, n_rb_dl, gap)
