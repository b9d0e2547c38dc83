"""PDSCH / DL-SCH (TS 36.211 6.3-6.4, TS 36.212 5.3.2, TS 36.213 7.1): RE counts by hand, round trips
for several MCS, allocation types, bandwidths and both port counts, AWGN through OFDM, HARQ combining."""

from __future__ import annotations

import numpy as np
import pytest

from gateway.config.cell import CellConfig
from phy import dci as D
from phy import resource_allocation as ra
from phy.awgn import add_awgn
from phy.channels.pdsch import (
    dlsch_decode,
    dlsch_encode,
    grant_from_dci,
    pdsch_bits_available,
    pdsch_llr,
    pdsch_map,
    pdsch_re_indices,
)
from phy.dl_data import DlAssignment, add_dl_data
from phy.downlink import build_subframe
from phy.ofdm import ofdm_demodulate, ofdm_modulate
from phy.regs import control_regs
from phy.search_space import ue_candidates
from phy.tbs import transport_block_size
from phy.ue.chest import estimate_channel
from phy.ue.pdcch_rx import SI_RNTI
from phy.ue.pdsch_rx import decode_subframe, receive_pdsch


def make_cell(**kw) -> CellConfig:
    """A CellConfig with this file's defaults (n_rb_dl=25, pci=7, n_ports=1, cfi=2)."""
    return CellConfig(**{**dict(n_rb_dl=25, pci=7, n_ports=1, cfi=2), **kw})


def _all(n_rb):
    return np.stack([np.arange(n_rb)] * 2)


def test_re_counts_by_hand():
    # 6 PRB, 1 port, 4 control symbols (the capture's cell): symbols 4..13 = 10 x 72 = 720 REs, minus
    # port 0 CRS in l' = 4, 7, 11 (12 each) = 684; subframe 5 also loses l' = 5, 6 (PSS/SSS) -> 540.
    assert pdsch_re_indices(_all(6), 6, 1, 1, 4, 2)[0].size == 684
    assert pdsch_re_indices(_all(6), 6, 1, 1, 4, 5)[0].size == 540
    # 25 PRB, 2 ports, 2 control symbols, subframe 0: 12 x 300 = 3600, CRS (2 ports, l' = 4, 7, 11: 100 each)
    # -> 3300, sync 2 x 72 -> 3156, PBCH l' = 7..10 x 72 = 288 less the 24 CRS REs of l' = 7 already out -> 2892
    assert pdsch_re_indices(_all(25), 25, 7, 2, 2, 0)[0].size == 2892
    assert pdsch_bits_available(_all(25), 25, 7, 2, 2, 0, 4) == 4 * 2892
    # mapping order: k first, then l (6.3.5)
    l_re, k_re = pdsch_re_indices(np.array([[3], [3]]), 25, 7, 1, 3, 4)
    assert np.all(np.diff(l_re) >= 0) and l_re[0] == 3 and k_re[:3].tolist() == [36, 37, 38]


def test_grant_from_dci():
    g = grant_from_dci(D.Dci1A(riv=11, mcs=2, tpc=1), 6, SI_RNTI, common=True)
    assert (g.tbs, g.q_m, g.n_prb) == (144, 2, 6)  # I_TBS 2, N_PRB^1A = 3 -> 144 (TS 36.213 7.1.7.2.1)
    g = grant_from_dci(D.Dci1(rb_assignment=0b1100000000000, mcs=17), 25, 0x50)
    assert (g.n_prb, g.q_m, g.tbs) == (4, 6, transport_block_size(17, 4))
    with pytest.raises(ValueError, match="tbs_first"):
        grant_from_dci(D.Dci1A(riv=3, mcs=30), 25, 0x50)
    assert grant_from_dci(D.Dci1A(riv=3, mcs=30), 25, 0x50, tbs_first=1000).tbs == 1000


CASES = [
    # n_rb, n_ports, subframe, dci
    (6, 1, 5, D.Dci1A(riv=ra.riv_encode(0, 6, 6), mcs=0, harq_process=1)),
    (6, 2, 0, D.Dci1A(riv=ra.riv_encode(1, 4, 6), mcs=4, ndi=1)),  # 160 REs left in subframe 0
    (15, 1, 3, D.Dci1(rb_assignment=0b10110011, mcs=20, ra_type=0)),
    (15, 2, 5, D.Dci1(rb_assignment=(1 << 7) | (1 << 5) | 0b11, mcs=5, ra_type=1)),
    (25, 2, 0, D.Dci1(rb_assignment=(1 << 13) - 1, mcs=9)),
    (25, 1, 7, D.Dci1A(riv=ra.riv_encode(2, 10, 25), mcs=16, distributed=True)),
    (50, 1, 4, D.Dci1A(riv=ra.riv_encode(3, 20, 50), mcs=24, distributed=True, gap=2)),
    (100, 2, 9, D.Dci1(rb_assignment=(1 << 25) - 1, mcs=28)),
]


@pytest.mark.parametrize("n_rb,n_ports,subframe,dci", CASES)
def test_pdsch_round_trip_noiseless(n_rb, n_ports, subframe, dci):
    """build_subframe + add_dl_data -> one antenna, ideal channel -> handset decode_subframe."""
    cfi = 1 if dci.mcs >= 24 else 3  # MCS 28 on 2 ports needs a short control region for rate < 1
    cell = make_cell(n_rb_dl=n_rb, n_ports=n_ports, cfi=cfi, pci=(17 * n_rb) % 504)
    rng = np.random.default_rng(n_rb + n_ports)
    c_rnti = 0x1F3A
    regs = control_regs(cell, subframe)
    cand = ue_candidates(regs.n_cce, c_rnti, subframe)[0]
    grant = grant_from_dci(dci, n_rb, c_rnti)
    tb = rng.integers(0, 2, grant.tbs).astype(np.uint8)
    sf = build_subframe(cell, 100, subframe)
    add_dl_data(sf.grid, cell, 100, subframe, [DlAssignment(dci, c_rnti, cand.aggregation, cand.first_cce, tb)])
    got = decode_subframe(sf.grid.sum(axis=0), cell, subframe, c_rnti=c_rnti)
    assert len(got) == 1 and got[0].found.dci == dci
    assert got[0].result.crc_ok and np.array_equal(got[0].result.bits, tb)
    assert np.array_equal(got[0].grant.prbs, grant.prbs)


@pytest.mark.parametrize("n_ports", [1, 2])
def test_pdsch_awgn_through_ofdm(n_ports):
    """MCS 9 (QPSK, rate ~0.6) on 25 PRB at 8 dB per-RE SNR through the OFDM chain: every block decodes,
    and with the wrong RNTI (scrambling) none does."""
    cell = make_cell(n_rb_dl=25, n_ports=n_ports, cfi=2, pci=222)
    rng = np.random.default_rng(5 + n_ports)
    c_rnti = 0x0101
    for subframe in (0, 4):
        dci = D.Dci1(rb_assignment=(1 << 13) - 1, mcs=9, harq_process=2)
        grant = grant_from_dci(dci, 25, c_rnti)
        tb = rng.integers(0, 2, grant.tbs).astype(np.uint8)
        regs = control_regs(cell, subframe)
        cand = ue_candidates(regs.n_cce, c_rnti, subframe)[-1]  # L = 8
        sf = build_subframe(cell, 3, subframe)
        add_dl_data(sf.grid, cell, 3, subframe, [DlAssignment(dci, c_rnti, cand.aggregation, cand.first_cce, tb)])
        x = add_awgn(ofdm_modulate(sf.grid).sum(axis=0), 8.0, 25, rng)
        rx = ofdm_demodulate(x, 25)
        got = decode_subframe(rx, cell, subframe, c_rnti=c_rnti)
        assert len(got) == 1 and got[0].result.crc_ok and np.array_equal(got[0].result.bits, tb)
        ce = estimate_channel(rx, cell.pci, 25, n_ports, subframe)
        wrong = grant_from_dci(dci, 25, c_rnti + 1)
        llr = pdsch_llr(rx, ce.h, ce.noise_var, wrong, cell.pci, cell.n_ctrl_symbols, subframe)
        assert not dlsch_decode(llr, wrong.tbs, wrong.q_m, wrong.rv, n_l=n_ports, n_iter=2).crc_ok


def test_harq_soft_combining_recovers_what_single_transmissions_cannot():
    """MCS 16 (16QAM, rate ~0.6) at 5 dB on a flat AWGN grid: RV 0 alone and RV 2 alone fail,
    their soft combination decodes (TS 36.212 5.1.4.1 circular buffer, incremental redundancy)."""
    rng = np.random.default_rng(3)
    n_rb, rnti, subframe = 25, 0x2222, 3
    dci = D.Dci1(rb_assignment=(1 << 13) - 1, mcs=16)
    grant0 = grant_from_dci(dci, n_rb, rnti)
    tb = rng.integers(0, 2, grant0.tbs).astype(np.uint8)
    nv = 10 ** (-5.0 / 10)
    buffers, single_ok = None, []
    for rv in (0, 2):
        grant = grant_from_dci(D.Dci1(rb_assignment=dci.rb_assignment, mcs=16, rv=rv), n_rb, rnti)
        grid = np.zeros((1, 14, 12 * n_rb), np.complex64)
        pdsch_map(grid, tb, grant, 7, 2, subframe)
        noise = (rng.standard_normal(grid.shape[1:]) + 1j * rng.standard_normal(grid.shape[1:])) * np.sqrt(nv / 2)
        rx = (grid[0] + noise).astype(np.complex64)
        llr = pdsch_llr(rx, np.ones_like(grid), nv, grant, 7, 2, subframe)
        single_ok.append(dlsch_decode(llr, grant.tbs, grant.q_m, rv).crc_ok)
        res = dlsch_decode(llr, grant.tbs, grant.q_m, rv, soft_buffers=buffers)
        buffers = res.soft_buffers
    assert single_ok == [False, False]
    assert res.crc_ok and np.array_equal(res.bits, tb)


def test_dlsch_encode_lengths_and_multiple_code_blocks():
    # TBS 75376 (MCS 28, 100 PRB): B = 75400 -> C = ceil(75400 / 6120) = 13 code blocks
    rng = np.random.default_rng(0)
    tb = rng.integers(0, 2, 75376).astype(np.uint8)
    f = dlsch_encode(tb, 6 * 2 * 12000, 6, 0, n_l=2)
    assert f.shape == (144000,) and f.dtype == np.uint8
    llr = (1 - 2 * f.astype(np.float32)) * 4
    res = dlsch_decode(llr, 75376, 6, 0, n_l=2, n_iter=2)
    assert res.crc_ok and res.cb_crc_ok.shape == (13,) and res.cb_crc_ok.all()


def test_receive_pdsch_rejects_uplink_grant():
    from phy.ue.pdcch_rx import FoundDci

    found = FoundDci(D.Dci0(rb_assignment=1, mcs_rv=1), np.zeros(25, np.uint8), 5, "0/1A", 1, 0, "ue")
    with pytest.raises(ValueError, match="no PDSCH"):
        rx, h = np.zeros((14, 300), np.complex64), np.ones((1, 14, 300), np.complex64)
        receive_pdsch(rx, h, 1.0, make_cell(), 0, found)
