"""Handsets' and the gateway's random access machines joined over the round trip, one subframe at a time.

No PHY: the handsets' PDUs reach the gateway `late_sf` subframes after their UL subframe (2D + processing),
the gateway's DL subframe k reaches each handset as its DL subframe k. The air is modelled only where random
access depends on it: preambles on one occasion are detected with each handset's timing (the TA it needs);
Msg3s on the same grant in the same subframe collide, and the strongest is decoded (capture) when it leads
the others by `capture_margin_db`, else none is.

    late = gateway_late_subframes(round_trip_s=16.778e-3)                       # 20
    enb = GatewayRandomAccess(SpeculativeRaConfig(), late_sf=late)
    hs = [RaHandset(UeRandomAccess(RachConfig(), sdu, random.Random(1)), ta_needed_s=52e-6)]
    run_random_access(hs, enb, first_subframe=0, n_subframes=300)
    hs[0].ue.state                                                               # 'done'
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

from mac.enb_ra import GatewayRandomAccess, PrachRx, PuschRx
from mac.ue_ra import PreambleTx, UeRandomAccess, UlschTx

__all__ = ["RaHandset", "deliver_uplink", "gateway_late_subframes", "run_random_access", "ta_needed_at"]


def gateway_late_subframes(round_trip_s: float, processing_s: float = 2e-3) -> int:
    """DL subframes after a handset's UL subframe k before the gateway can act on it: the UL subframe ends at
    k + 1 (ms, handset labels), arrives 2D later and needs `processing_s`: ceil(1 ms + 2D + processing)."""
    return math.ceil((1e-3 + round_trip_s + processing_s) / 1e-3 - 1e-9)


@dataclass
class RaHandset:
    """A handset's random access machine and what the air does to it."""

    ue: UeRandomAccess
    ta_needed_s: float | Callable[[int], float] = 0.0  # arrival after the UL reference with N_TA = 0 (s;
    # what its preamble shows), or a function of the subframe when the residual delay drifts
    rx_power_db: float = 0.0  # received power at the gateway, for the capture rule


def ta_needed_at(h, k: int) -> float:
    """The timing advance handset `h` needs in UL subframe k: its `ta_needed_s`, a number or a function of k
    (a drifting residual delay)."""
    t = h.ta_needed_s
    return float(t(k)) if callable(t) else float(t)


def deliver_uplink(k: int, sent: list, enb, capture_margin_db: float = 3.0,
                   pusch_lost: Callable[[UlschTx], bool] | None = None) -> None:
    """Hand what the handsets sent in UL subframe k to the gateway (`enb.receive`), as the air does.

    `sent`: (handset, PreambleTx | UlschTx) pairs; a handset has `ta_needed_s` and `rx_power_db`. Preambles:
    one detection per preamble index (the strongest handset's timing). PUSCHs on the same grant (same first
    PRB) collide: the strongest is decoded when it leads by `capture_margin_db` and `pusch_lost` spares it; the
    gateway measures its timing error (TA needed minus TA applied, TS 36.213 4.2.3)."""
    preambles = [(h, tx) for h, tx in sent if isinstance(tx, PreambleTx)]
    if preambles:
        detected: dict[int, float] = {}
        for h, tx in sorted(preambles, key=lambda x: -x[0].rx_power_db):  # one peak per preamble: strongest
            detected.setdefault(tx.preamble_index, ta_needed_at(h, k))
        enb.receive(PrachRx(k, detected))
    on_grant: dict[int, list[tuple[object, UlschTx]]] = defaultdict(list)
    for h, tx in sent:
        if isinstance(tx, UlschTx):
            on_grant[tx.grant.prb_start].append((h, tx))
    for prb_start, group in on_grant.items():
        group = sorted(group, key=lambda x: -x[0].rx_power_db)
        lead_db = group[0][0].rx_power_db - group[1][0].rx_power_db if len(group) > 1 else math.inf
        h, winner = group[0]
        ok = lead_db >= capture_margin_db and not (pusch_lost and pusch_lost(winner))
        enb.receive(PuschRx(k, prb_start, winner.pdu if ok else None,
                            timing_error_s=ta_needed_at(h, k) - winner.timing_advance_s if ok else None))


def run_random_access(handsets: list[RaHandset], enb: GatewayRandomAccess, first_subframe: int, n_subframes: int,
                      capture_margin_db: float = 3.0, pusch_lost: Callable[[UlschTx], bool] | None = None) -> int:
    """Run subframes [first, first + n); stop early when every handset is done or failed. Returns the last
    subframe run. `pusch_lost(tx)` -> True drops that PUSCH (CRC failure) whatever else is on its grant."""
    k = first_subframe
    for k in range(first_subframe, first_subframe + n_subframes):
        dl = enb.downlink(k)
        for h in handsets:
            h.ue.downlink(k, dl)
        sent = [(h, tx) for h in handsets for tx in h.ue.uplink(k)]
        deliver_uplink(k, sent, enb, capture_margin_db, pusch_lost)
        if all(h.ue.state in ("done", "failed") for h in handsets):
            break
    return k
