"""What the fields of a random access response mean (TS 36.321 6.1.5, 6.2.2, 6.2.3, 7.2; TS 36.213 4.2.3, 6.1.1,
6.2): backoff values, timing advance in seconds, and the 20-bit UL grant as the Msg3 PUSCH it schedules.

The RAR PDU layout itself (E/T/RAPID and E/T/R/R/BI subheaders, 48-bit MAC RARs, padding) is construct
code in mac/pdu.py (`build_rar`, `parse_rar`); this module is the arithmetic both the gateway and the
handset apply to those fields:

    grant = rar_grant(rb_start=2, l_crbs=3, n_rb_ul=25, i_mcs=4, tpc_db=0)   # RarUlGrant for a Msg3
    msg3 = msg3_allocation(grant, n_rb_ul=25, tc_rnti=0x4601)              # Msg3Allocation: PRBs, TBS, dB
    msg3_subframe(rar_subframe=13, ul_delay=grant.ul_delay)                   # 19 (n + 6, FDD)
    backoff_parameter_s(5)                                                     # 0.060
"""

from __future__ import annotations

from dataclasses import dataclass

from mac.pdu import RarUlGrant
from phy.channels.pusch import PuschGrant, ul_mcs
from phy.resource_allocation import riv_bits, riv_decode, riv_encode
from phy.tbs import tbs

__all__ = [
    "BACKOFF_PARAMETER_S",
    "RAR_TA_MAX",
    "TA_STEP_S",
    "TPC_MSG3_DB",
    "Msg3Allocation",
    "backoff_indicator_for",
    "backoff_parameter_s",
    "msg3_allocation",
    "msg3_subframe",
    "rar_grant",
    "rar_timing_advance",
    "ta_command_adjustment_s",
    "ta_command_for",
    "timing_advance_s",
]

# TS 36.211 4: basic time unit T_s = 1 / (15000 * 2048) s
T_S_S = 1.0 / (15000.0 * 2048)
# TS 36.213 4.2.3: timing advance granularity 16 T_s (0.52 us); RAR T_A 0..1282 (11 bits), N_TA = 16 T_A
TA_STEP_S = 16 * T_S_S
RAR_TA_MAX = 1282

# TS 36.321 Table 7.2-1: Backoff Parameter values (ms) of BI 0..12; 13..15 are reserved (Rel-8)
BACKOFF_PARAMETER_S = (0.0, 0.010, 0.020, 0.030, 0.040, 0.060, 0.080, 0.120, 0.160, 0.240, 0.320, 0.480, 0.960)

# TS 36.213 Table 6.2-1: TPC command delta_msg2 (dB) for the scheduled Msg3 PUSCH, TPC field 0..7
TPC_MSG3_DB = (-6, -4, -2, 0, 2, 4, 6, 8)

_RAR_RB_FIELD_BITS = 10  # fixed-size resource block assignment (TS 36.213 6.2)
_RAR_MCS_MAX = 15  # truncated MCS: I_MCS 0..15 of Table 8.6.1-1 (TS 36.213 6.2)


def backoff_parameter_s(bi: int) -> float:
    """Backoff Parameter of a backoff indicator BI (TS 36.321 7.2, Table 7.2-1); BI 13..15 are reserved.

    The table's note: a reserved value received by a UE of this release is taken as 960 ms."""
    if not 0 <= bi <= 15:
        raise ValueError(f"backoff indicator {bi} is outside 0..15 (4 bits)")
    return BACKOFF_PARAMETER_S[min(bi, len(BACKOFF_PARAMETER_S) - 1)]


def backoff_indicator_for(backoff_s: float) -> int:
    """The smallest BI whose Backoff Parameter is >= backoff_s (TS 36.321 Table 7.2-1)."""
    for bi, value in enumerate(BACKOFF_PARAMETER_S):
        if value >= backoff_s - 1e-12:
            return bi
    raise ValueError(f"backoff {backoff_s * 1e3:g} ms exceeds the largest Backoff Parameter, 960 ms")


def timing_advance_s(t_a: int) -> float:
    """Initial timing advance N_TA T_s = 16 T_A T_s of a RAR's 11-bit T_A 0..1282 (TS 36.213 4.2.3, 36.211 8.1)."""
    if not 0 <= t_a <= RAR_TA_MAX:
        raise ValueError(f"RAR timing advance T_A={t_a} is outside 0..{RAR_TA_MAX} (TS 36.213 4.2.3)")
    return t_a * TA_STEP_S


def rar_timing_advance(advance_s: float) -> int:
    """RAR T_A (nearest 16 T_s step) for a wanted timing advance of 0 .. 0.667 ms (TS 36.213 4.2.3)."""
    t_a = round(advance_s / TA_STEP_S)
    if not 0 <= t_a <= RAR_TA_MAX:
        raise ValueError(
            f"timing advance {advance_s * 1e3:.4f} ms is outside 0 .. {RAR_TA_MAX * TA_STEP_S * 1e3:.4f} ms: a Rel-8 "
            "handset can only transmit earlier, by at most 1282 x 16 T_s (TS 36.213 4.2.3)"
        )
    return t_a


def ta_command_adjustment_s(t_a: int) -> float:
    """Change of timing advance of a 6-bit Timing Advance Command T_A 0..63: (T_A - 31) 16 T_s (TS 36.213 4.2.3)."""
    if not 0 <= t_a <= 63:
        raise ValueError(f"timing advance command T_A={t_a} is outside 0..63 (6 bits)")
    return (t_a - 31) * TA_STEP_S


def ta_command_for(adjustment_s: float) -> int:
    """Timing Advance Command T_A (0..63) closest to an adjustment, clipped to +-31/+32 steps (TS 36.213 4.2.3)."""
    return int(min(63, max(0, round(adjustment_s / TA_STEP_S) + 31)))


def rar_grant(rb_start: int, l_crbs: int, n_rb_ul: int, i_mcs: int, tpc_db: int = 0, ul_delay: bool = False,
              csi_request: bool = False) -> RarUlGrant:
    """The 20-bit RAR UL grant (TS 36.213 6.2) scheduling a Msg3 on L_CRBs PRBs from RB_start, no hopping.

    Fixed-size RB assignment: the DCI format 0 RIV (TS 36.213 8.1.1, 7.1.6.3); for N_RB_UL <= 44 it is
    the 10-bit field's b = ceil(log2(N(N+1)/2)) least significant bits, else the RIV with its b - 10 most
    significant bits zero (only RIVs < 1024 can be signalled). Truncated MCS: I_MCS 0..15. TPC: the
    delta_msg2 of Table 6.2-1.
    """
    if n_rb_ul < 6 or n_rb_ul > 110:
        raise ValueError(f"N_RB_UL must be 6..110, got {n_rb_ul}")
    riv = riv_encode(rb_start, l_crbs, n_rb_ul)
    if riv >= 2**_RAR_RB_FIELD_BITS:
        raise ValueError(
            f"RIV {riv} (start {rb_start}, {l_crbs} RBs at N_RB_UL={n_rb_ul}) needs more than the 10-bit fixed-size "
            "field: above 44 RBs the RAR grant can only address RIVs < 1024 (TS 36.213 6.2)"
        )
    if not 0 <= i_mcs <= _RAR_MCS_MAX:
        raise ValueError(f"the RAR grant's truncated MCS covers I_MCS 0..15, got {i_mcs} (TS 36.213 6.2)")
    if tpc_db not in TPC_MSG3_DB:
        raise ValueError(f"Msg3 TPC must be one of {TPC_MSG3_DB} dB (TS 36.213 Table 6.2-1), got {tpc_db}")
    return RarUlGrant(hopping=False, rb_assignment=riv, mcs=i_mcs, tpc=TPC_MSG3_DB.index(tpc_db),
                      ul_delay=bool(ul_delay), csi_request=bool(csi_request))


@dataclass(frozen=True)
class Msg3Allocation:
    """The Msg3 PUSCH a RAR UL grant schedules (TS 36.213 6.2, 8.6): the PUSCH grant, its power step, its delay."""

    pusch: PuschGrant  # PRBs, TBS (bits), Q_m, RV 0, n_RNTI = temporary C-RNTI, n_DMRS^(2) field 0
    delta_msg2_db: int  # TS 36.213 Table 6.2-1
    k1_subframes: int  # Msg3 in subframe n + k1 after the RAR in n (TS 36.213 6.1.1): 6, or 7 with UL delay
    csi_request: bool


def msg3_allocation(grant: RarUlGrant, n_rb_ul: int, tc_rnti: int) -> Msg3Allocation:
    """Interpret a RAR UL grant as a handset does (TS 36.213 6.2; MCS Table 8.6.1-1; TBS 7.1.7.2.1-1).

    The 10-bit fixed-size RB assignment becomes the DCI format 0 type 0 field: truncated to its
    b LSBs for N_RB_UL <= 44, else extended by b - 10 zero MSBs (no hopping bits: hopping flag 0).
    A grant with the hopping flag set is refused (the gateway never sends one).
    """
    if grant.hopping:
        raise ValueError("RAR grants with PUSCH hopping are not supported: the gateway sends hopping flag 0")
    b = riv_bits(n_rb_ul)
    riv = grant.rb_assignment & ((1 << b) - 1) if n_rb_ul <= 44 else grant.rb_assignment
    rb_start, l_crbs = riv_decode(riv, n_rb_ul)
    q_m, i_tbs, rv = ul_mcs(grant.mcs)
    pusch = PuschGrant(rb_start, l_crbs, tbs(i_tbs, l_crbs), q_m, rv, tc_rnti, 0)
    return Msg3Allocation(pusch, TPC_MSG3_DB[grant.tpc], msg3_subframe(0, grant.ul_delay), grant.csi_request)


def msg3_subframe(rar_subframe: int, ul_delay: bool) -> int:
    """Absolute subframe of the Msg3 PUSCH after a RAR detected in `rar_subframe` (TS 36.213 6.1.1, FDD):
    n + k1 with k1 = 6, or the next UL subframe after it (n + 7) when the UL delay field is 1."""
    return rar_subframe + 6 + (1 if ul_delay else 0)
