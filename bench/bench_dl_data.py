"""Real-time factor of a fully loaded downlink data subframe (one core): PDCCH + PDSCH at MCS 28 on
every PRB (1 port, CFI 1, subframe 3), transmit side (build_subframe + add_dl_data + ofdm_modulate),
and the handset's receive side (FFT + CRS channel estimate + PDCCH blind decoding + PDSCH decoding,
noiseless so the turbo decoder stops after one iteration; the 8-iteration worst case is shown apart).

RTF = 1 ms of signal / CPU seconds per subframe; > 1 is faster than real time. `python -m bench dl_data`.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from bench.timing import cpu_seconds
from phy import dci as D
from phy.channels.pdsch import dlsch_decode, grant_from_dci, pdsch_llr
from phy.dl_data import DlAssignment, add_dl_data
from phy.downlink import build_subframe
from phy.ofdm import ofdm_demodulate, ofdm_modulate
from phy.regs import control_regs
from phy.resource_allocation import n_rbg
from phy.search_space import ue_candidates
from phy.ue.pdsch_rx import decode_subframe

BANDWIDTHS = ((25, "5"), (50, "10"), (100, "20"))
RNTI, SUBFRAME = 0x4321, 3


def _setup(n_rb: int):
    cell = SimpleNamespace(
        n_rb_dl=n_rb, pci=77, n_ports=1, cfi=1, n_ctrl_symbols=1, phich_duration="normal", phich_resource="one"
    )
    dci = D.Dci1(rb_assignment=(1 << n_rbg(n_rb)) - 1, mcs=28)
    grant = grant_from_dci(dci, n_rb, RNTI)
    tb = np.random.default_rng(0).integers(0, 2, grant.tbs).astype(np.uint8)
    cand = next(c for c in ue_candidates(control_regs(cell, SUBFRAME).n_cce, RNTI, SUBFRAME) if c.aggregation <= 2)
    assign = [DlAssignment(dci, RNTI, cand.aggregation, cand.first_cce, tb)]
    return cell, grant, assign


def _transmit(cell, assign):
    sf = build_subframe(cell, 0, SUBFRAME)
    return ofdm_modulate(add_dl_data(sf.grid, cell, 0, SUBFRAME, assign))


def main() -> None:
    print(f"{'MHz':>4} {'TBS':>6} | {'tx RTF':>7} {'rx RTF':>7} {'rx RTF 8 it':>11}")
    for n_rb, mhz in BANDWIDTHS:
        cell, grant, assign = _setup(n_rb)
        samples = _transmit(cell, assign)[0]
        t_tx = cpu_seconds(lambda c=cell, a=assign: _transmit(c, a), repeat=3, number=3)

        def rx(s=samples, c=cell, n=n_rb):
            got = decode_subframe(ofdm_demodulate(s, n), c, SUBFRAME, c_rnti=RNTI)
            assert got and got[0].result.crc_ok

        t_rx = cpu_seconds(rx, repeat=3, number=3)
        noisy = np.random.default_rng(1).standard_normal(grant.tbs * 2).astype(np.float32)  # never decodes
        g_bits = pdsch_llr(
            ofdm_demodulate(samples, n_rb), np.ones((1, 14, 12 * n_rb), np.complex64), 1.0, grant, cell.pci, 1, SUBFRAME
        ).size
        noisy = np.resize(noisy, g_bits)  # pure noise: the turbo decoder runs all 8 iterations
        t_dec8 = cpu_seconds(lambda x=noisy, g=grant: dlsch_decode(x, g.tbs, g.q_m, 0, n_iter=8), repeat=1, number=2)
        print(f"{mhz:>4} {grant.tbs:>6} | {1e-3 / t_tx:7.2f} {1e-3 / t_rx:7.2f} {1e-3 / (t_dec8 + t_rx):11.3f}")


if __name__ == "__main__":
    main()
