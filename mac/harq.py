"""HARQ over the satellite round trip, simulated subframe by subframe: DL and UL policies at a given BLER.

The handset is a Rel-8 phone: it sends DL HARQ feedback for PDSCH n in UL n + 4 and expects PHICH for PUSCH n
in DL n + 4 (TS 36.213 7.3, 8.3, 9.1.2). The gateway hears the UL `k = ceil(2D / 1 ms)` subframes late
(DESIGN.md 3), so feedback for DL n is heard at n + 4 + k, and a PUSCH sent in n is decoded at about n + 4 + k.
Each transmission fails independently with probability `bler` (no soft-combining gain: the same assumption
as mac/ra_feasibility.harq_fractions, whose figures these simulations check).

Policies:
- DL "stop_and_wait": 8 asynchronous processes (TS 36.321 5.3.2); a process waits for its feedback and is
  reused (retransmission after NACK, else new data) 4 subframes after hearing it: HARQ RTT 8 + k.
- DL "keep_sending": every subframe carries a transmission, process n mod 8 with NDI toggled (the handset
  flushes the buffer, TS 36.321 5.3.2.2); a NACK heard late puts the TB back in the queue, sent again as a new
  transmission from 4 subframes later, up to `max_tx` transmissions.
- UL "stop_and_wait": synchronous processes (process of PUSCH n is n mod 8, TS 36.213 8); PHICH says ACK on
  time (the handset suspends the process, TS 36.321 5.4.2.2), the gateway decodes 2D later and grants the
  process's next occurrence: a new TB (NDI toggled) or an adaptive retransmission (NDI not toggled).
- UL "keep_sending": a new-data grant every subframe; the handset's buffer is overwritten 8 subframes later,
  before the decode, so a failed TB is left to RLC (MAC residual loss = BLER).

    r = simulate_harq("dl", "keep_sending", round_trip_s=16.778e-3, bler=0.1, n_subframes=20000, seed=1)
    r.throughput_fraction, r.residual_loss        # ~0.900, ~1e-4
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import numpy as np

from mac.ra_feasibility import HARQ_PROCESSES_FDD, late_subframes

__all__ = ["POLICIES", "HarqResult", "simulate_harq"]

POLICIES = ("stop_and_wait", "keep_sending")
_SCHEDULING_SF = 4  # feedback heard in m -> (re)transmission from m + 4, as a terrestrial eNodeB's n + 8


@dataclass(frozen=True)
class HarqResult:
    """What one simulation measured. throughput_fraction: TBs delivered (first success) per subframe;
    used_fraction: subframes carrying a transmission; residual_loss: TBs given up at MAC / TBs finished;
    mean_delay_sf: first transmission to successful one, over delivered TBs."""

    direction: str
    policy: str
    round_trip_s: float
    bler: float
    n_subframes: int
    n_transmissions: int
    n_delivered: int
    n_lost: int
    used_fraction: float
    throughput_fraction: float
    residual_loss: float
    mean_delay_sf: float


def simulate_harq(direction: str, policy: str, round_trip_s: float, bler: float, n_subframes: int,
                  seed: int = 0, max_tx: int = 4, n_processes: int = HARQ_PROCESSES_FDD) -> HarqResult:
    """Simulate `n_subframes` of full-buffer traffic one way with a HARQ policy (module doc)."""
    if direction not in ("dl", "ul"):
        raise ValueError(f"direction must be 'dl' or 'ul', got {direction!r}")
    if policy not in POLICIES:
        raise ValueError(f"policy must be one of {POLICIES}, got {policy!r}")
    if not 0 <= bler < 1:
        raise ValueError(f"BLER must be in [0, 1), got {bler}")
    k = int(late_subframes(round_trip_s))
    fails = np.random.default_rng(seed).random(n_subframes) < bler  # outcome of the transmission in subframe n
    sim = {("dl", "stop_and_wait"): _dl_stop_and_wait, ("dl", "keep_sending"): _dl_keep_sending,
           ("ul", "stop_and_wait"): _ul_stop_and_wait, ("ul", "keep_sending"): _ul_keep_sending}[(direction, policy)]
    n_tx, delivered_delays, n_lost = sim(fails, k, max_tx, n_processes)
    n_delivered = len(delivered_delays)
    finished = n_delivered + n_lost
    return HarqResult(
        direction, policy, float(round_trip_s), float(bler), n_subframes, n_tx, n_delivered, n_lost,
        used_fraction=n_tx / n_subframes, throughput_fraction=n_delivered / n_subframes,
        residual_loss=n_lost / finished if finished else 0.0,
        mean_delay_sf=float(np.mean(delivered_delays)) if delivered_delays else math.nan,
    )


def _dl_stop_and_wait(fails, k, max_tx, n_processes):
    """Asynchronous DL processes, each reused 8 + k subframes after its transmission (TS 36.213 7.3)."""
    free_at = [0] * n_processes
    tb = [None] * n_processes  # (first tx subframe, transmissions so far) of a TB awaiting retransmission
    n_tx, delays, lost = 0, [], 0
    for n in range(len(fails)):
        p = next((i for i in range(n_processes) if free_at[i] <= n), None)
        if p is None:
            continue
        first, count = tb[p] if tb[p] is not None else (n, 0)
        count += 1
        n_tx += 1
        free_at[p] = n + 4 + k + _SCHEDULING_SF  # feedback sent in n + 4, heard k later, acted on 4 later
        if not fails[n]:
            delays.append(n - first)
            tb[p] = None
        elif count < max_tx:
            tb[p] = (first, count)
        else:
            lost += 1
            tb[p] = None
    return n_tx, delays, lost


def _dl_keep_sending(fails, k, max_tx, n_processes):
    """Every subframe transmits; NACKed TBs come back (as new transmissions) from n + 4 + k + 4."""
    retx: deque = deque()  # (eligible from, first tx subframe, transmissions so far)
    n_tx, delays, lost = 0, [], 0
    for n in range(len(fails)):
        if retx and retx[0][0] <= n:
            _, first, count = retx.popleft()
        else:
            first, count = n, 0
        count += 1
        n_tx += 1
        if not fails[n]:
            delays.append(n - first)
        elif count < max_tx:
            retx.append((n + 4 + k + _SCHEDULING_SF, first, count))
        else:
            lost += 1
    return n_tx, delays, lost


def _ul_stop_and_wait(fails, k, max_tx, n_processes):
    """Synchronous UL processes: PUSCH n, decode heard at n + 4 + k, grant at m >= that for PUSCH m + 4 on the
    process's next occurrence n' = n (mod 8): every 8 ceil((8 + k) / 8) subframes (TS 36.213 8.0)."""
    next_at = list(range(n_processes))
    tb = [None] * n_processes
    n_tx, delays, lost = 0, [], 0
    for n in range(len(fails)):
        p = n % n_processes
        if next_at[p] != n:
            continue
        first, count = tb[p] if tb[p] is not None else (n, 0)
        count += 1
        n_tx += 1
        earliest = n + 4 + k + 4  # grant (PDCCH) after the decode, PUSCH 4 subframes later
        next_at[p] = n + n_processes * math.ceil((earliest - n) / n_processes)
        if not fails[n]:
            delays.append(n - first)
            tb[p] = None
        elif count < max_tx:
            tb[p] = (first, count)  # adaptive retransmission grant, NDI not toggled
        else:
            lost += 1
            tb[p] = None
    return n_tx, delays, lost


def _ul_keep_sending(fails, k, max_tx, n_processes):
    """A new-data grant every subframe; a failed TB is gone from the handset's HARQ buffer before its decode."""
    n_tx = len(fails)
    ok = int((~fails).sum())
    return n_tx, [0] * ok, n_tx - ok
