"""PDCCH (TS 36.211 6.8, TS 36.212 5.3.3) and the handset's blind decoding (TS 36.213 9.1.1):
quadruplet permutation by hand, encode -> decode round trips on a noiseless grid and through OFDM
with AWGN, for 1 and 2 ports and several bandwidths."""

from __future__ import annotations

import numpy as np
import pytest

from gateway.config.cell import CellConfig
from phy import dci as D
from phy.awgn import add_awgn
from phy.channels.pdcch import (
    PdcchTx,
    dci_encode,
    decode_candidate,
    decode_candidates,
    pdcch_llr,
    pdcch_map,
    quadruplet_permutation,
)
from phy.dl_data import DlAssignment, add_dl_data
from phy.downlink import build_subframe
from phy.fec.convolutional import tbcc_encode
from phy.fec.crc import crc_parity
from phy.ofdm import ofdm_demodulate, ofdm_modulate
from phy.regs import control_regs
from phy.search_space import common_candidates, ue_candidates
from phy.ue.chest import estimate_channel
from phy.ue.pdcch_rx import P_RNTI, RA_RNTIS, SI_RNTI, blind_decode, blind_decode_llr


def make_cell(**kw) -> CellConfig:
    """A CellConfig with this file's defaults (n_rb_dl=25, pci=7, n_ports=1, cfi=2)."""
    return CellConfig(**{**dict(n_rb_dl=25, pci=7, n_ports=1, cfi=2), **kw})


def test_quadruplet_permutation_by_hand():
    # 59 REGs: sub-block interleaver R = 2 rows, 5 dummies lead row 0 -> row 0 = [N x5, 0..26],
    # row 1 = [27..58]. Columns read in order 1, 17, 9, 25, ...: col 1 -> (NULL, 28), col 17 -> (12, 44),
    # col 9 -> (4, 36), col 25 -> (20, 52). w = [28, 12, 44, 4, 36, 20, 52, ...]; shift by N_ID = 1.
    perm = quadruplet_permutation(59, 1)
    assert perm[:6].tolist() == [12, 44, 4, 36, 20, 52]
    assert sorted(perm.tolist()) == list(range(59))
    assert quadruplet_permutation(59, 0)[:3].tolist() == [28, 12, 44]


def test_dci_encode_crc_mask_and_length():
    payload = D.dci_pack(D.Dci1A(riv=11, mcs=2, tpc=1), 6, rnti_kind="common")
    e = dci_encode(payload, SI_RNTI, 2)
    assert e.shape == (144,)
    c = np.concatenate([payload, crc_parity(payload, "16") ^ 1])  # SI-RNTI 0xFFFF flips all 16 parity bits
    d = tbcc_encode(c)
    assert np.array_equal(np.sort(e[:111]), np.sort(d.reshape(-1)))  # all 111 coded bits appear once first


def _noiseless(grid):
    """One receive antenna, ideal channel: rx = sum of ports, h = 1 for each port."""
    return grid.sum(axis=0), np.ones(grid.shape, dtype=np.complex64)


@pytest.mark.parametrize("n_rb,n_ports,cfi", [(6, 1, 3), (6, 2, 3), (15, 2, 2), (25, 1, 2), (50, 2, 3), (100, 1, 1)])
def test_pdcch_round_trip_noiseless(n_rb, n_ports, cfi):
    cell = make_cell(n_rb_dl=n_rb, n_ports=n_ports, cfi=cfi, pci=3 * n_rb + 1)
    subframe, c_rnti = 3, 0x4601
    regs = control_regs(cell, subframe)
    si = D.Dci1A(riv=3, mcs=4, tpc=1, rv=1)
    ue_c = ue_candidates(regs.n_cce, c_rnti, subframe)
    assert (4, 0) in common_candidates(regs.n_cce)
    ue_cand = next(c for c in ue_c if c.aggregation <= 2 and c.first_cce >= 4)
    ul = D.Dci0(rb_assignment=5, mcs_rv=10, ndi=1, cyclic_shift_dmrs=3)
    pdcchs = [
        PdcchTx(D.dci_pack(si, n_rb, "common"), SI_RNTI, 4, 0),
        PdcchTx(D.dci_pack(ul, n_rb, "c"), c_rnti, ue_cand.aggregation, ue_cand.first_cce),
    ]
    grid = np.zeros((n_ports, 14, 12 * n_rb), np.complex64)
    pdcch_map(grid, pdcchs, regs, cell.pci, subframe)
    rx, h = _noiseless(grid)
    found = blind_decode(rx, h, 1e-2, cell, subframe, c_rnti=c_rnti)
    got = {(f.rnti, type(f.dci)): f for f in found}
    assert set(got) == {(SI_RNTI, D.Dci1A), (c_rnti, D.Dci0)}
    assert got[(SI_RNTI, D.Dci1A)].dci == si and got[(SI_RNTI, D.Dci1A)].space == "common"
    assert got[(c_rnti, D.Dci0)].dci == ul and got[(c_rnti, D.Dci0)].first_cce == ue_cand.first_cce


def _tbs_1a(mcs, n_prb_1a):
    from phy.tbs import tbs

    return tbs(mcs, n_prb_1a)


def test_pdcch_unused_cces_are_silent_and_power_is_unit():
    cell = make_cell(n_rb_dl=25, n_ports=2)
    regs = control_regs(cell, 1)
    grid = np.zeros((2, 14, 300), np.complex64)
    payload = D.dci_pack(D.Dci1A(riv=7, mcs=3), 25, "c")
    pdcch_map(grid, [PdcchTx(payload, 0x1234, 8, 0)], regs, cell.pci, 1)
    l_re, k_re = regs.pdcch_re()
    energy = np.sum(np.abs(grid[:, l_re, k_re]) ** 2, axis=0)  # both ports
    assert np.count_nonzero(energy > 0.5) == 8 * 36  # 8 CCEs x 9 REGs x 4 REs
    assert np.allclose(energy[energy > 0.5], 1.0, atol=1e-5)  # unit energy per RE over the ports
    assert np.count_nonzero(energy) == 8 * 36  # <NIL> CCEs send nothing


def test_pdcch_rejects_bad_placement():
    cell = make_cell()
    regs = control_regs(cell, 0)
    grid = np.zeros((1, 14, 300), np.complex64)
    payload = D.dci_pack(D.Dci1A(riv=7, mcs=3), 25, "c")
    with pytest.raises(ValueError, match="multiple of L"):
        pdcch_map(grid, [PdcchTx(payload, 0x1234, 4, 2)], regs, cell.pci, 0)
    with pytest.raises(ValueError, match="overlap"):
        pdcch_map(grid, [PdcchTx(payload, 1, 4, 0), PdcchTx(payload, 2, 2, 2)], regs, cell.pci, 0)
    with pytest.raises(ValueError, match="does not fit"):
        pdcch_map(grid, [PdcchTx(payload, 1, 8, 8 * (regs.n_cce // 8 + 1))], regs, cell.pci, 0)


@pytest.mark.parametrize("n_ports", [1, 2])
def test_pdcch_awgn_through_ofdm(n_ports):
    """Full chain: build_subframe + add_dl_data -> OFDM -> AWGN 0 dB per RE -> FFT -> CRS estimate ->
    blind decoding; SI-RNTI (common, L=8) and C-RNTI (UE space, L=4) DCIs in 4 subframes."""
    rng = np.random.default_rng(11 + n_ports)
    cell = make_cell(n_rb_dl=25, n_ports=n_ports, cfi=3, pci=101)
    c_rnti = 0x003D
    for subframe in (1, 2, 5, 9):
        sf = build_subframe(cell, 17, subframe)
        regs = control_regs(cell, subframe)
        ue = [c for c in ue_candidates(regs.n_cce, c_rnti, subframe) if c.aggregation == 4]
        ue = next(c for c in ue if c.first_cce >= 8)
        si = D.Dci1A(riv=2, mcs=int(rng.integers(0, 8)), tpc=1)
        assign = [
            DlAssignment(si, SI_RNTI, 8, 0, tb_bits=np.zeros(_tbs_1a(si.mcs, 3), np.uint8)),
            DlAssignment(D.Dci0(rb_assignment=9, mcs_rv=5), c_rnti, ue.aggregation, ue.first_cce),
        ]
        grid = add_dl_data(sf.grid, cell, 17, subframe, assign)
        x = add_awgn(ofdm_modulate(grid).sum(axis=0), 0.0, cell.n_rb_dl, rng)
        rx = ofdm_demodulate(x, cell.n_rb_dl)
        ce = estimate_channel(rx, cell.pci, cell.n_rb_dl, n_ports, subframe)
        found = blind_decode(rx, ce.h, ce.noise_var, cell, subframe, c_rnti=c_rnti)
        got = {f.rnti: f.dci for f in found}
        assert got == {SI_RNTI: si, c_rnti: D.Dci0(rb_assignment=9, mcs_rv=5)}, subframe


def test_decode_candidate_reports_rnti_from_crc():
    cell = make_cell(n_rb_dl=6, pci=1, cfi=3)
    regs = control_regs(cell, 5)
    payload = D.dci_pack(D.Dci1A(riv=11, mcs=2, tpc=1), 6, "common")
    grid = np.zeros((1, 14, 72), np.complex64)
    pdcch_map(grid, [PdcchTx(payload, 0xBEEF, 4, 0)], regs, cell.pci, 5)
    llr = pdcch_llr(grid[0], np.ones_like(grid), 0.1, regs, cell.pci, 5)
    bits, rnti = decode_candidate(llr, 0, 4, payload.size)
    assert rnti == 0xBEEF and np.array_equal(bits, payload)
    assert decode_candidate(llr, 0, 4, payload.size + 1)[1] != 0xBEEF  # wrong size: not this RNTI


def test_decode_candidates_equals_decode_candidate():
    # Batched decoding of mixed aggregation levels (E = 72 L below and above 3 K: puncturing and
    # repetition) gives, row by row, exactly the one-candidate result: payload bits and syndrome.
    rng = np.random.default_rng(31)
    n_cce = 40
    llr = rng.normal(0.0, 3.0, 72 * n_cce).astype(np.float32)
    payload = D.dci_pack(D.Dci1A(riv=5, mcs=7, tpc=2), 50, "c")
    llr[72 * 8 : 72 * 10] = 4.0 * (1.0 - 2.0 * dci_encode(payload, 0x3A5C, 2))  # one real DCI, L = 2
    llr[rng.random(llr.size) < 0.05] = 0.0  # <NIL>-like zeros
    cands = [(1, 0), (8, 16), (2, 8), (4, 36), (1, 39), (2, 8), (8, 0), (4, 4)]
    for size in (payload.size, 15, 31, 57):
        bits, rntis = decode_candidates(llr, cands, size)
        assert bits.shape == (len(cands), size) and rntis.shape == (len(cands),)
        for (level, first), row, rnti in zip(cands, bits, rntis, strict=True):
            ref_bits, ref_rnti = decode_candidate(llr, first, level, size)
            np.testing.assert_array_equal(row, ref_bits)
            assert rnti == ref_rnti
    bits, rntis = decode_candidates(llr, [(2, 8)], payload.size)
    assert rntis[0] == 0x3A5C and np.array_equal(bits[0], payload)
    with pytest.raises(ValueError, match="exceed the block"):
        decode_candidates(llr, [(1, 0), (8, 40)], 27)


def _blind_decode_one_by_one(llr, n_cce, n_rb, subframe, c_rnti):
    """The search of blind_decode_llr written candidate by candidate with decode_candidate (the
    implementation before batching): (RNTI, format, L, first CCE, space, DCI, payload) in order."""
    common = {SI_RNTI, P_RNTI, *RA_RNTIS}
    size_1a, size_1c, size_1 = D.dci_size("1A", n_rb), D.dci_size("1C", n_rb), D.dci_size("1", n_rb)
    plan = [
        ("common", common_candidates(n_cce), [("0/1A", size_1a), ("1C", size_1c)], common | {c_rnti}),
        ("ue", ue_candidates(n_cce, c_rnti, subframe), [("0/1A", size_1a), ("1", size_1)], {c_rnti}),
    ]
    found, seen = [], set()
    for space, cands, formats, wanted in plan:
        for cand in cands:
            for fmt, size in formats:
                payload, rnti = decode_candidate(llr, cand.first_cce, cand.aggregation, size)
                # one DCI per RNTI, size and, for the 0/1A size, format flag (first bit): format 0 and 1A differ
                key = (rnti, size, int(payload[0]) if fmt == "0/1A" else 2)
                if rnti not in wanted or key in seen or (fmt == "1C" and rnti == c_rnti):
                    continue
                kind = "c" if rnti == c_rnti else "common"
                try:
                    dci = D.dci_unpack(payload, "1A" if fmt == "0/1A" else fmt, n_rb, rnti_kind=kind)
                except ValueError:
                    continue
                seen.add(key)
                found.append((rnti, fmt, cand.aggregation, cand.first_cce, space, dci, payload.tolist()))
    return found


def test_blind_decode_several_dcis_as_one_by_one():
    # Common space (L=4): SI-RNTI 1A, P-RNTI 1C, RA-RNTI 1A and a C-RNTI 1A on a candidate both
    # spaces share; UE space: C-RNTI format 1 (L=2) and format 0 (L=1). The format 0 has the 1A size but
    # its own format flag: a handset gets its uplink grant and its downlink assignment in one subframe
    # (until this was found in the loopback world, the 1A hid the format 0 as a "duplicate").
    # Noiseless: exactly these, in search order; with noise: the same list as one-by-one decoding.
    n_rb, subframe, c_rnti = 50, 4, 0x2012
    cell = make_cell(n_rb_dl=n_rb, n_ports=2, cfi=3, pci=211)
    regs = control_regs(cell, subframe)
    ue = ue_candidates(regs.n_cce, c_rnti, subframe)
    assert (4, 12) in ue and (4, 12) in common_candidates(regs.n_cce)
    ue_0 = next(c for c in ue if c.aggregation == 1)
    # not where an L=1 candidate starts: that one would decode the L=2 PDCCH first (its first 72 bits)
    ue_1 = next(c for c in ue if c.aggregation == 2 and c.first_cce not in {u.first_cce for u in ue[:6]})
    dcis = [
        (D.Dci1A(riv=9, mcs=3, tpc=1), SI_RNTI, 4, 0, "common"),
        (D.Dci1C(riv=4, tbs_index=5, gap=1), P_RNTI, 4, 4, "common"),
        (D.Dci1A(riv=30, mcs=1, tpc=1), RA_RNTIS[2], 4, 8, "common"),
        (D.Dci1A(riv=100, mcs=12, ndi=1), c_rnti, 4, 12, "c"),
        (D.Dci1(rb_assignment=0b1011, mcs=20, harq_process=3), c_rnti, ue_1.aggregation, ue_1.first_cce, "c"),
        (D.Dci0(rb_assignment=77, mcs_rv=9), c_rnti, ue_0.aggregation, ue_0.first_cce, "c"),
    ]
    pdcchs = [PdcchTx(D.dci_pack(dci, n_rb, kind), rnti, lv, first) for dci, rnti, lv, first, kind in dcis]
    grid = np.zeros((2, 14, 12 * n_rb), np.complex64)
    pdcch_map(grid, pdcchs, regs, cell.pci, subframe)
    rx, h = _noiseless(grid)
    found = blind_decode(rx, h, 1e-2, cell, subframe, c_rnti=c_rnti)
    got = [(f.rnti, f.fmt, f.aggregation, f.first_cce, f.space, f.dci) for f in found]
    assert got == [
        (SI_RNTI, "0/1A", 4, 0, "common", dcis[0][0]),
        (P_RNTI, "1C", 4, 4, "common", dcis[1][0]),
        (RA_RNTIS[2], "0/1A", 4, 8, "common", dcis[2][0]),
        (c_rnti, "0/1A", 4, 12, "common", dcis[3][0]),
        (c_rnti, "0/1A", ue_0.aggregation, ue_0.first_cce, "ue", dcis[5][0]),  # L = 1 is searched before L = 2
        (c_rnti, "1", ue_1.aggregation, ue_1.first_cce, "ue", dcis[4][0]),
    ]
    rng = np.random.default_rng(32)
    for snr_db in (-6.0, -2.0, 2.0):
        noise_var = 10.0 ** (-snr_db / 10.0)
        noise = rng.normal(0.0, np.sqrt(noise_var / 2), (2,) + rx.shape)
        llr = pdcch_llr(rx + (noise[0] + 1j * noise[1]).astype(np.complex64), h, noise_var, regs, cell.pci, subframe)
        batched = blind_decode_llr(llr, regs.n_cce, n_rb, subframe, c_rnti)
        got = [(f.rnti, f.fmt, f.aggregation, f.first_cce, f.space, f.dci, f.payload.tolist()) for f in batched]
        assert got == _blind_decode_one_by_one(llr, regs.n_cce, n_rb, subframe, c_rnti), snr_db
