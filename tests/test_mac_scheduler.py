"""Per-TTI downlink scheduler (mac/scheduler.py): SI occasions and RVs, SI windows, TBS choice,
collision-free PRBs and CCEs, user MAC PDUs, and the `scheduler:` config section."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from gateway.config import CellConfig, ConfigError, SchedulerConfig, SystemInfoConfig, config_from_dict
from mac import decode_bcch_dl_sch, parse_dl_sch_pdu, sib1_info
from mac.scheduler import DlScheduler, si_allocation
from phy.channels.pdsch import grant_from_dci, pdsch_re_indices
from phy.dci import Dci1, Dci1A
from phy.dl_data import add_dl_data, is_common_rnti
from phy.downlink import static_grid
from phy.regs import control_regs
from phy.search_space import common_candidates, ue_candidates
from phy.tbs import tbs

SI_RNTI = 0xFFFF


def _sched(cell=None, si=None, **sched):
    return DlScheduler.create(cell or CellConfig(), si or SystemInfoConfig(), SchedulerConfig(**sched))


def _si_kind(plan):
    return [a for a in plan.assignments if a.rnti == SI_RNTI]


def _rv_by_hand(k: int) -> int:
    return math.ceil(3 * k / 2) % 4  # TS 36.321 5.3.1


@pytest.mark.parametrize("sfn0", [0, 100, 1020])
def test_sib1_in_subframe5_of_even_frames_with_rv_sequence(sfn0):
    s = _sched(traffic=False)
    for sfn in [(sfn0 + i) % 1024 for i in range(8)]:
        for sf in range(10):
            plan = s.schedule(sfn, sf)
            sib1 = [t for t in plan.si if t.kind == "sib1"]
            if sf == 5 and sfn % 2 == 0:
                assert len(sib1) == 1
                assert sib1[0].rv == _rv_by_hand((sfn // 2) % 4)
                (a,) = _si_kind(plan)
                assert isinstance(a.dci, Dci1A) and a.dci.rv == sib1[0].rv
                assert (a.aggregation, a.first_cce) in common_candidates(control_regs(s.cell, sf).n_cce)
                # the DCI announces exactly the transport block sent, and it parses as our SIB1
                assert grant_from_dci(a.dci, s.cell.n_rb_dl, SI_RNTI, common=True).tbs == a.tb_bits.size
                info = sib1_info(decode_bcch_dl_sch(np.packbits(a.tb_bits).tobytes()))
                assert [str(p) for p in info.plmn_list] == ["001-01"]
            else:
                assert not sib1


def test_rv_sequence_over_80ms_is_0_2_3_1():
    s = _sched(traffic=False)
    rvs = [s.schedule(sfn, 5).si[0].rv for sfn in range(0, 8, 2)]
    assert rvs == [0, 2, 3, 1]


def test_si_windows_respected_and_sib1_subframe_skipped():
    # T = 8 frames, w = 10 ms, 6 transmissions: the window is subframes 0..9 of frames with SFN mod 8 = 0;
    # subframe 5 of those (even) frames is SIB1's, so the SI goes in window indices i = 0,1,2,3,4,6.
    si = SystemInfoConfig(si_periodicity_rf=8, si_window_ms=10, si_transmissions=6)
    s = _sched(si=si, traffic=False)
    sent = {}
    for sfn in range(32):
        for sf in range(10):
            for tx in s.schedule(sfn, sf).si:
                if tx.kind == "si":
                    sent[(sfn, sf)] = tx.rv
    expected = {(sfn, i): _rv_by_hand(i % 4) for sfn in (0, 8, 16, 24) for i in (0, 1, 2, 3, 4, 6)}
    assert sent == expected


def test_si_window_offset_of_a_20ms_window():
    # default T = 16, w = 20, 4 transmissions: subframes 0..3 of frames with SFN mod 16 = 0 only
    s = _sched(traffic=False)
    sent = [(sfn, sf) for sfn in range(48) for sf in range(10) if any(t.kind == "si" for t in s.schedule(sfn, sf).si)]
    assert sent == [(sfn, sf) for sfn in (0, 16, 32) for sf in range(4)]


@pytest.mark.parametrize("n_rb", [6, 25, 100])
def test_si_allocation_smallest_tbs_and_code_rate(n_rb):
    cell = CellConfig(n_rb_dl=n_rb)
    for payload in (120, 184, 216, 400):
        i_tbs, n1a, n_prb, size = si_allocation(payload, cell, 5, max_code_rate=0.33)
        assert size == tbs(i_tbs, n1a) >= payload
        smaller = [tbs(i, c) for i in range(27) for c in (2, 3) if payload <= tbs(i, c) < size]
        assert not smaller
        prbs = np.arange(n_prb)
        n_re = pdsch_re_indices(np.stack([prbs, prbs]), n_rb, cell.pci, 1, cell.n_ctrl_symbols, 5)[0].size
        rate = (size + 24) / (2 * n_re)
        assert rate <= 0.33 or n_prb == n_rb
        if n_prb > 1:  # one PRB fewer would break the cap
            fewer = np.arange(n_prb - 1)
            n_re_f = pdsch_re_indices(np.stack([fewer, fewer]), n_rb, cell.pci, 1, cell.n_ctrl_symbols, 5)[0].size
            assert (size + 24) / (2 * n_re_f) > 0.33


def _prbs(a, n_rb):
    return set(grant_from_dci(a.dci, n_rb, a.rnti, common=is_common_rnti(a.rnti)).prbs[0].tolist())


CASES = [
    dict(cell=CellConfig(n_rb_dl=25), sched=dict()),
    dict(cell=CellConfig(n_rb_dl=6, cfi=2), sched=dict()),
    dict(cell=CellConfig(n_rb_dl=50, n_ports=2, cfi=3), sched=dict(c_rntis=(0x46, 0x1234, 0xBEEF))),
    dict(cell=CellConfig(n_rb_dl=15, cfi=3), sched=dict(user_dci_format="1A", c_rntis=(0x46, 0x47))),
    dict(cell=CellConfig(n_rb_dl=100, cfi=1), sched=dict(user_aggregation=8, rar_subframes=(4, 5, 0))),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c['cell'].n_rb_dl}rb")
def test_user_data_never_collides_with_si_or_reserved_slots(case):
    cell = case["cell"]
    s = _sched(cell=cell, **case["sched"])
    n_rb = cell.n_rb_dl
    users_seen = 0
    for k in range(200):
        sfn, sf = k // 10, k % 10
        plan = s.schedule(sfn, sf)
        n_cce = control_regs(cell, sf).n_cce
        prb_owner, cce_owner = {}, {}
        for a in plan.assignments:
            for p in _prbs(a, n_rb):
                assert p not in prb_owner, f"PRB {p} twice in {sfn}.{sf}"
                prb_owner[p] = a.rnti
            cces = range(a.first_cce, a.first_cce + a.aggregation)
            assert cces.stop <= n_cce
            for c in cces:
                assert c not in cce_owner, f"CCE {c} twice in {sfn}.{sf}"
                cce_owner[c] = a.rnti
            if a.rnti == SI_RNTI:
                assert (a.aggregation, a.first_cce) in common_candidates(n_cce)
            else:
                assert (a.aggregation, a.first_cce) in ue_candidates(n_cce, a.rnti, sf)
                users_seen += 1
        for r in plan.reserved:
            assert not set(r.prbs) & set(prb_owner) and not set(r.cces) & set(cce_owner)
        assert (sf in s.config.paging_subframes) == any(r.kind == "paging" for r in plan.reserved)
        if k < 12:  # phy accepts the plan (it checks PDSCH overlap itself)
            grid = static_grid(n_rb, cell.pci, cell.n_ports, cell.cfi, sf).copy()
            add_dl_data(grid, cell, sfn, sf, plan.assignments)
    assert users_seen > 0


def test_user_pdu_tbs_ndi_and_format():
    s = _sched(c_rntis=(0x46,), user_mcs=9)
    ndis = {}
    for k in range(24):
        plan = s.schedule(k // 10, k % 10)
        (u,) = plan.users
        (a,) = [a for a in plan.assignments if a.rnti == 0x46]
        assert isinstance(a.dci, Dci1) and a.dci.mcs == 9 and a.dci.harq_process == k % 8
        assert grant_from_dci(a.dci, 25, 0x46).tbs == u.tbs == a.tb_bits.size == 8 * len(u.pdu)
        (sdu,) = parse_dl_sch_pdu(u.pdu)
        assert sdu.lcid == 3 and len(sdu.payload) == u.tbs // 8 - 1
        if u.harq_process in ndis:
            assert u.ndi != ndis[u.harq_process]  # a new block on the process toggles NDI
        ndis[u.harq_process] = u.ndi


def test_mcs_lowered_above_code_rate_093():
    # 6 PRB, subframe 0 (PBCH + sync in the allocation), MCS 28 on the leftover PRBs would exceed 0.93
    cell = CellConfig(n_rb_dl=6, cfi=3)
    s = _sched(cell=cell, user_mcs=28, paging_subframes=(), rar_subframes=())
    plan = s.schedule(1, 0)
    (u,) = plan.users
    assert u.mcs < 28
    (a,) = [a for a in plan.assignments if a.rnti == 0x46]
    g = grant_from_dci(a.dci, 6, 0x46)
    n_re = pdsch_re_indices(g.prbs, 6, cell.pci, 1, cell.n_ctrl_symbols, 0)[0].size
    assert (u.tbs + 24) / (n_re * g.q_m) <= 0.93


def test_traffic_off_sends_only_si():
    s = _sched(traffic=False)
    for k in range(30):
        assert all(a.rnti == SI_RNTI for a in s.schedule(k // 10, k % 10).assignments)


def test_scheduler_config_section():
    cfg = config_from_dict({"scheduler": {"c_rntis": [0x46, "0x47"], "user_mcs": 20}})
    assert cfg.scheduler.c_rntis == (0x46, 0x47) and cfg.scheduler.user_mcs == 20
    assert config_from_dict({}).scheduler == SchedulerConfig()
    with pytest.raises(ConfigError, match=r"scheduler.c_rntis\[0\].*RA-RNTI"):
        config_from_dict({"scheduler": {"c_rntis": [5]}})
    with pytest.raises(ConfigError, match="scheduler.user_mcs"):
        config_from_dict({"scheduler": {"user_mcs": 29}})
    with pytest.raises(ConfigError, match="scheduler.c_rntis: traffic is on"):
        config_from_dict({"scheduler": {"c_rntis": []}})
    with pytest.raises(ConfigError, match="scheduler.paging_subframes"):
        config_from_dict({"scheduler": {"paging_subframes": [10]}})
    assert replace(SchedulerConfig(), traffic=False).c_rntis == (0x46,)
