"""Real-time factor of the full eNodeB downlink subframe (one core): scheduler (mac/scheduler.py) +
broadcast channels + PDCCH/PDSCH (phy.dl_data.add_dl_data) + OFDM, as gateway/enodeb.py runs it.

The loopback profile's cell at 5, 10, 20 MHz (1 port, CFI 2), SIB1/SIB2 on their schedule, one
full-buffer C-RNTI on every PRB left, at the profile's MCS (16) and at MCS 28. Averaged over the
first 40 subframes (4 frames: SIB1 twice, the SIB2 window, paging/RAR reservations), after one
warm-up frame (SIB encodings, caches). RTF = 1 ms of signal / CPU seconds per subframe; > 1 is
faster than real time. `python -m bench enodeb`.
"""

from __future__ import annotations

import time
from dataclasses import replace

from gateway.config import load_config
from gateway.enodeb import ENodeB

BANDWIDTHS = ((25, "5"), (50, "10"), (100, "20"))
N_SUBFRAMES = 40


def _rtf(cfg) -> tuple[float, float]:
    """(RTF of the whole subframe, share of CPU time in the scheduler)."""
    enb = ENodeB(cfg)
    for k in range(10):  # warm-up: caches, numba
        enb.subframe(k)
    t0 = time.process_time()
    for k in range(N_SUBFRAMES):
        enb.subframe(k)
    total = time.process_time() - t0
    sched = ENodeB(cfg).scheduler
    t1 = time.process_time()
    for k in range(N_SUBFRAMES):
        sched.schedule(k // 10, k % 10)
    t_sched = time.process_time() - t1
    return N_SUBFRAMES * 1e-3 / total, t_sched / total


def main() -> None:
    base = load_config("hw_configs/loopback.yaml")
    print(f"{'MHz':>4} {'MCS':>4} | {'RTF':>6} {'scheduler share':>16}")
    for n_rb, mhz in BANDWIDTHS:
        for mcs in (base.scheduler.user_mcs, 28):
            cfg = replace(base, cell=replace(base.cell, n_rb_dl=n_rb), scheduler=replace(base.scheduler, user_mcs=mcs))
            rtf, share = _rtf(cfg)
            print(f"{mhz:>4} {mcs:>4} | {rtf:6.2f} {100 * share:15.0f}%")


if __name__ == "__main__":
    main()
