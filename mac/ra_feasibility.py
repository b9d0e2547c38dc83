"""What the satellite round trip allows a Rel-8 handset: causal RAR, timing advance, HARQ throughput.

Pure arithmetic on round trips (no orbit; `python -m gateway feasibility` feeds it a pass). Timing as in
DESIGN.md 3: the handset's DL subframe m is the gateway's subframe m heard D later; its UL subframe m
leaves at (its DL time of m) - TA and reaches the gateway 2D later than the gateway sent DL subframe m.

    fits = causal_rar_fits(round_trip_s=16.8e-3, window_sf=10)     # False: the RAR would come too late
    ta_s = timing_advances_s(extra_round_trip_s)                     # >= 0 for every point of the beam
    harq_fractions(round_trip_s=16.8e-3, bler=0.1).dl_stop_and_wait  # 8 / 25 x 0.9 = 0.288
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from mac.rar import RAR_TA_MAX, TA_STEP_S

__all__ = [
    "HARQ_PROCESSES_FDD",
    "HarqFractions",
    "TA_MAX_S",
    "causal_rar_fits",
    "causal_rar_max_round_trip_s",
    "harq_fractions",
    "late_subframes",
    "timing_advances_s",
]

SUBFRAME_S = 1e-3
HARQ_PROCESSES_FDD = 8  # TS 36.213 7 (DL, FDD: 8 processes), 8.0 (UL, FDD: 8 synchronous processes)
TA_MAX_S = RAR_TA_MAX * TA_STEP_S  # TS 36.213 4.2.3: 1282 x 16 T_s = 0.6677 ms
# TS 36.321 5.1.4: the RAR window starts at the subframe that contains the end of the preamble plus three
# subframes; an eNodeB answers a preamble ending at the end of subframe n in n + 3 at the earliest, i.e. it
# has 2 ms: the default processing time of the feasibility report.
ENB_RAR_PROCESSING_S = 2e-3
# UL HARQ: PUSCH in n, PHICH / PDCCH in n + 4 (TS 36.213 8.3, 9.1.2): 3 ms after the PUSCH ends
ENB_PUSCH_PROCESSING_S = 3e-3


def late_subframes(round_trip_s) -> np.ndarray:
    """Whole subframes by which the gateway hears a handset's UL later than a zero-delay eNodeB: ceil(2D / 1 ms)."""
    return np.ceil(np.asarray(round_trip_s, dtype=float) / SUBFRAME_S - 1e-9).astype(int)


def causal_rar_max_round_trip_s(window_sf: int, enb_processing_s: float = ENB_RAR_PROCESSING_S,
                                preamble_sf: int = 1) -> float:
    """Largest round trip 2D for which a RAR sent after hearing the preamble lands in the window (TS 36.321 5.1.4).

    The preamble occupies subframes n .. n + preamble_sf - 1 (format 0: one); the handset monitors
    subframes n_last + 3 .. n_last + 2 + W, W = ra-ResponseWindowSize 2..10. The gateway hears the preamble's
    end at n_last + 1 + 2D (ms, on its own clock), needs `enb_processing_s`, and must start the RAR in a DL
    subframe m <= n_last + 2 + W (its DL subframe m is the handset's m): 2D + processing <= W + 1 ms.
    (Counted from the preamble's start to the window's end, the same bound reads 2D + processing + the
    preamble and the RAR subframe <= 3 + W ms.)
    """
    if not 2 <= window_sf <= 10:
        raise ValueError(f"ra-ResponseWindowSize must be 2..10 subframes (TS 36.331), got {window_sf}")
    if preamble_sf not in (1, 2, 3):
        raise ValueError(f"a preamble lasts 1, 2 or 3 subframes (TS 36.211 5.7.1), got {preamble_sf}")
    return (window_sf + 1) * SUBFRAME_S - enb_processing_s


def causal_rar_fits(round_trip_s, window_sf: int = 10, enb_processing_s: float = ENB_RAR_PROCESSING_S) -> np.ndarray:
    """Whether a RAR caused by hearing the preamble reaches the handset inside its window, per round trip.

    In whole subframes (the gateway's DL is subframe-aligned): the earliest RAR subframe after the
    preamble's last subframe n_last is n_last + ceil(1 ms + 2D + processing); it must be <= n_last + 2 + W.
    """
    earliest = np.ceil((SUBFRAME_S + np.asarray(round_trip_s, dtype=float) + enb_processing_s) / SUBFRAME_S - 1e-9)
    causal_rar_max_round_trip_s(window_sf, enb_processing_s)  # validates the window
    return earliest <= 2 + window_sf


def timing_advances_s(extra_round_trip_s) -> np.ndarray:
    """Timing advance each point needs when the gateway's UL reference is the earliest arrival (DESIGN.md 3).

    extra_round_trip_s: (..., n_points) round trip of each point of the beam minus the beam centre's
    (DL residual + UL residual after the pre/post-compensation), with TA 0. The UL reference is the
    arrival of the point heard first (the nearest to the satellite), so every point needs
    TA = extra - min(extra) >= 0 (TS 36.211 8.1: a handset transmits (N_TA + N_TA,offset) T_s before its
    DL timing; it cannot transmit later). Raises if a point needs more than 0.667 ms (TS 36.213 4.2.3).
    """
    extra = np.asarray(extra_round_trip_s, dtype=float)
    ta = extra - extra.min(axis=-1, keepdims=True)
    if ta.max(initial=0.0) > TA_MAX_S:
        raise ValueError(
            f"the beam needs up to {ta.max() * 1e3:.3f} ms of timing advance, more than a Rel-8 handset's "
            f"{TA_MAX_S * 1e3:.4f} ms (TS 36.213 4.2.3): make the beam smaller"
        )
    return ta


@dataclass(frozen=True)
class HarqFractions:
    """Fractions of subframes that deliver a new transport block, full buffer, per direction and policy.

    bler: each transmission's block error rate (independent, no soft-combining gain: a bound from below).
    stop_and_wait: a process waits for its own feedback (8 processes); keep_sending: every subframe carries
    data, and a late NACK is followed by a retransmission. residual_*: MAC-level loss after `max_tx`
    transmissions (what RLC AM must recover).
    """

    round_trip_s: float
    bler: float
    dl_harq_rtt_sf: int
    ul_harq_rtt_sf: int
    dl_stop_and_wait: float
    dl_keep_sending: float
    ul_stop_and_wait: float
    ul_keep_sending: float
    residual_stop_and_wait: float
    residual_dl_keep_sending: float
    residual_ul_keep_sending: float


def harq_fractions(round_trip_s: float, bler: float, max_tx: int = 4,
                   n_processes: int = HARQ_PROCESSES_FDD) -> HarqFractions:
    """HARQ throughput fractions over a round trip 2D (TS 36.213 7.3, 8.3, 10.1; TS 36.321 5.3.2, 5.4.2).

    k = ceil(2D / 1 ms) late subframes.
    DL stop-and-wait: PDSCH in n, ACK/NACK sent in the handset's n + 4, heard in n + 4 + 2D; the process
    is reused 4 subframes after hearing it, as a terrestrial eNodeB reuses it in n + 8: HARQ RTT 8 + k;
    with 8 processes a fraction min(1, 8 / (8 + k)) of subframes is used.
    UL stop-and-wait: the PUSCH processes are synchronous (process of n recurs in n + 8 j); PHICH ACK in n + 4
    on time (the handset suspends the process, TS 36.321 5.4.2.2), the gateway decodes 2D later and grants
    (PDCCH in m, PUSCH in m + 4, m >= n + 4 + k) on the process's next occurrence: RTT 8 ceil((8 + k) / 8).
    Keep sending: new data in every subframe (NDI toggled); a DL NACK heard 2D late is followed by a fresh
    transmission of the same data on a free process (the old soft buffer is gone), so every subframe is
    used and each transmission delivers with 1 - BLER; residual loss BLER^max_tx. In the UL the handset's
    HARQ buffer is overwritten 8 ms later, before the decode, so a failed TB is left to RLC: residual BLER.
    Goodput = used fraction x (1 - BLER) in every case (E[transmissions] = (1 - p^N) / (1 - p)).
    """
    if not 0 <= bler < 1:
        raise ValueError(f"BLER must be in [0, 1), got {bler}")
    if max_tx < 1:
        raise ValueError(f"max_tx must be >= 1, got {max_tx}")
    k = int(late_subframes(round_trip_s))
    dl_rtt = 8 + k
    ul_rtt = 8 * math.ceil((8 + k) / 8)
    ok = 1.0 - bler
    return HarqFractions(
        round_trip_s=float(round_trip_s), bler=float(bler), dl_harq_rtt_sf=dl_rtt, ul_harq_rtt_sf=ul_rtt,
        dl_stop_and_wait=min(1.0, n_processes / dl_rtt) * ok, dl_keep_sending=ok,
        ul_stop_and_wait=min(1.0, n_processes / ul_rtt) * ok, ul_keep_sending=ok,
        residual_stop_and_wait=bler**max_tx, residual_dl_keep_sending=bler**max_tx, residual_ul_keep_sending=bler,
    )
