"""PHICH values from the scheduler (TS 36.213 9.1.2, TS 36.211 6.9): `DlScheduler.report_pusch` queues
the HI of a PUSCH in subframe n, the eNodeB sends it in subframe n + 4 on (n_group, n_seq) computed by
hand here, and the handset's phich_decode reads it back through OFDM + AWGN; refusals."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from gateway.config import CellConfig, SchedulerConfig, SystemInfoConfig, load_config
from gateway.enodeb import ENodeB, combine_ports
from mac.scheduler import DlScheduler
from phy.awgn import add_awgn
from phy.channels.phich import PhichTx, phich_decode
from phy.ofdm import ofdm_demodulate
from phy.regs import control_regs
from phy.ue.chest import estimate_channel

NG = {"one_sixth": 1 / 6, "half": 1 / 2, "one": 1, "two": 2}  # TS 36.211 6.9 (MIB phich-Resource)


def _n_group(n_rb: int, ng: str) -> int:
    return math.ceil(NG[ng] * n_rb / 8)  # N_group = ceil(Ng N_RB_DL / 8), normal CP (36.211 6.9)


def _index_by_hand(i_prb: int, n_dmrs: int, n_group: int) -> tuple[int, int]:
    # TS 36.213 9.1.2: n_group = (I_PRB_RA + n_DMRS) mod N_group, n_seq = (floor(I_PRB_RA / N_group)
    # + n_DMRS) mod 2 N_SF, N_SF = 4 (normal CP)
    return (i_prb + n_dmrs) % n_group, (i_prb // n_group + n_dmrs) % 8


@pytest.mark.parametrize("case", [("one_sixth", 1, 0.0), ("one_sixth", 1, 5.0), ("two", 1, 0.0), ("two", 2, 0.0),
                                  ("two", 2, 5.0), ("one_sixth", 2, 0.0)])
def test_hi_reported_for_pusch_n_is_decoded_at_n_plus_4(hw_configs_dir, case):
    """5 MHz, PCI 123, traffic on: 1..4 PUSCH reports per subframe over 24 subframes across the SFN
    wrap; the plan of subframe n + 4 holds exactly their HIs and the handset decodes each at the per-RE
    SNR of phy/awgn.py."""
    ng, n_ports, snr_db = case
    cfg = load_config(hw_configs_dir / "loopback.yaml")
    cfg = replace(cfg, cell=replace(cfg.cell, n_rb_dl=25, n_ports=n_ports, phich_resource=ng, pci=123, sfn_start=1022))
    n_group = _n_group(25, ng)
    assert n_group == {"one_sixth": 1, "two": 7}[ng]
    enb = ENodeB(cfg)
    rng = np.random.default_rng([len(ng), n_ports, int(snr_db)])
    expected: dict[int, dict[tuple[int, int], int]] = {}
    n_sub = 24  # crosses the SFN wrap 1023 -> 0
    errors = n_hi = 0
    for k in range(n_sub):
        sfn, sf = (1022 + k // 10) % 1024, k % 10
        # the uplink receiver reports the PUSCHs of subframe n = k (1..4 of them, distinct PHICHs)
        if k < n_sub - 4:
            want = expected.setdefault(k + 4, {})
            for _ in range(int(rng.integers(1, 5))):
                while True:
                    i_prb, n_dmrs = int(rng.integers(25)), int(rng.integers(8))
                    idx = _index_by_hand(i_prb, n_dmrs, n_group)
                    if idx not in want:
                        break
                ack = bool(rng.integers(2))
                tx = enb.scheduler.report_pusch(sfn, sf, 0x46, i_prb, n_dmrs, ack)
                assert tx == PhichTx(*idx, int(ack))
                want[idx] = int(ack)
        out = enb.subframe(k)
        assert (out.sfn, out.subframe) == (sfn, sf)
        want = expected.get(k, {})
        assert {(p.n_group, p.n_seq): p.hi for p in out.plan.phich} == want
        if not want:
            continue
        rx = ofdm_demodulate(add_awgn(combine_ports(out.samples), snr_db, 25, rng), 25)
        ce = estimate_channel(rx, cfg.cell.pci, 25, n_ports, sf)
        regs = control_regs(cfg.cell, sf)
        for (grp, seq), hi in want.items():
            n_hi += 1
            errors += phich_decode(rx, ce.h, ce.noise_var, regs, cfg.cell.pci, sf, grp, seq)[0] != hi
    assert n_hi >= 40 and errors == 0


def _sched(**cell):
    return DlScheduler.create(CellConfig(**{"n_rb_dl": 25, "phich_resource": "one", **cell}), SystemInfoConfig(),
                              SchedulerConfig(traffic=False))


def test_report_pusch_refuses_a_taken_phich_and_a_past_subframe():
    s = _sched()  # Ng = 1: N_group = ceil(25/8) = 4
    # I_PRB 9, n_DMRS 2: ((9 + 2) mod 4, (floor(9/4) + 2) mod 8) = (3, 4)
    assert s.report_pusch(0, 0, 0x46, 9, 2, True) == PhichTx(3, 4, 1)
    # I_PRB 3, n_DMRS 4: ((3 + 4) mod 4, (0 + 4) mod 8) = (3, 4): the same PHICH in subframe 4
    with pytest.raises(ValueError, match=r"PHICH \(group 3, sequence 4\) of \(SFN 0, subframe 4\) is already taken"):
        s.report_pusch(0, 0, 0x47, 3, 4, False)
    # I_PRB 1, n_DMRS 2: (3, 2) is free; I_PRB 17, n_DMRS 6: ((23) mod 4, (4 + 6) mod 8) = (3, 2) is not
    assert s.report_pusch(0, 0, 0x48, 1, 2, False) == PhichTx(3, 2, 0)
    with pytest.raises(ValueError, match="already taken by RNTI 0x0048"):
        s.report_pusch(0, 0, 0x49, 17, 6, True)
    assert s.report_pusch(0, 1, 0x46, 3, 4, True) == PhichTx(3, 4, 1)  # another subframe: free
    plans = [s.schedule(0, sf) for sf in range(6)]
    assert [p.phich for p in plans[:4]] == [()] * 4
    assert plans[4].phich == (PhichTx(3, 2, 0), PhichTx(3, 4, 1)) and plans[5].phich == (PhichTx(3, 4, 1),)
    # subframe 5 is on air: PUSCHs whose HI falls in subframe 5 or earlier are too late
    for n in ((0, 1), (0, 0), (1023, 9), (1023, 0)):
        with pytest.raises(ValueError, match="already scheduled"):
            s.report_pusch(*n, 0x46, 0, 0, True)
    s.report_pusch(0, 2, 0x46, 0, 0, True)  # HI in subframe 6: still to come
    with pytest.raises(ValueError, match="n_dmrs must be 0..7"):
        s.report_pusch(0, 2, 0x46, 1, 8, True)
    with pytest.raises(ValueError, match="i_prb_ra_lowest must be a PRB 0..24"):
        s.report_pusch(0, 2, 0x46, 25, 0, True)
