"""PUCCH formats 1/1a/1b/2/2a/2b (TS 36.211 5.4, 5.5.2.2; TS 36.212 5.2.3.3; TS 36.213 10.1): tables,
resource-index arithmetic by hand, the srsRAN known-answer waveforms (transmit and detect), and round trips
through SC-FDMA at every bandwidth with several UEs sharing a PRB."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from phy.awgn import add_awgn
from phy.channels.pucch import (
    FORMATS,
    RM_BASIS_20,
    W_DMRS_FORMAT1,
    W_DMRS_FORMAT2,
    W_NSF3,
    W_NSF4,
    cqi_encode,
    format1_m,
    format1_n_oc,
    format1_n_prime,
    format1_symbol,
    format2_c_init,
    format2_m,
    format2_n_prime,
    format2ab_symbol,
    harq_n1_pucch,
    harq_resource,
    is_sr_occasion,
    n_cs_cell,
    pucch_allocation,
    pucch_extract,
    pucch_prb,
    pucch_put,
    pucch_sequences,
    pucch_signal,
    sr_periodicity_offset,
)
from phy.enb.pucch_rx import PucchReceiver, decode_format2, detect_format1
from phy.numerology import N_RB_VALUES, numerology
from phy.scfdma import scfdma_demodulate, scfdma_gain, scfdma_modulate
from phy.sequences import gold_sequence
from phy.ul_config import PucchConfigCommon, PuschConfigCommon, UlCellConfig
from phy.ul_refsig import base_sequence

# ---------------------------------------------------------------- tables


def test_orthogonal_sequence_tables():
    # TS 36.211 Table 5.4.1-2 (N_SF = 4): [+1 +1 +1 +1], [+1 -1 +1 -1], [+1 -1 -1 +1]
    np.testing.assert_array_equal(W_NSF4.real, [[1, 1, 1, 1], [1, -1, 1, -1], [1, -1, -1, 1]])
    assert not W_NSF4.imag.any()
    # Table 5.4.1-3 (N_SF = 3) and Table 5.5.2.2.1-2 (DMRS, normal CP): [1 1 1], [1 e^{j2pi/3} e^{j4pi/3}],
    # [1 e^{j4pi/3} e^{j2pi/3}]
    e = np.exp(2j * np.pi / 3)
    for table in (W_NSF3, W_DMRS_FORMAT1):
        np.testing.assert_allclose(table, [[1, 1, 1], [1, e, e**2], [1, e**2, e]], atol=1e-15)
    np.testing.assert_array_equal(W_DMRS_FORMAT2, [1, 1])  # Table 5.5.2.2.1-3, normal CP
    # the covers of one table are mutually orthogonal; [1 1 -1 -1] (the noise cover) is orthogonal to all
    for table in (W_NSF4, W_NSF3, W_DMRS_FORMAT1):
        gram = table @ table.conj().T
        np.testing.assert_allclose(gram, table.shape[1] * np.eye(3), atol=1e-12)
    np.testing.assert_allclose(W_NSF4 @ np.array([1, 1, -1, -1]), 0)


def test_reed_muller_basis_table():
    # TS 36.212 Table 5.2.3.3-1, spot entries read off the table: M_{i,0} = 1 for all i; row 0 and row 19
    assert RM_BASIS_20.shape == (20, 13)
    assert RM_BASIS_20[:, 0].all()
    np.testing.assert_array_equal(RM_BASIS_20[0], [1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0])
    np.testing.assert_array_equal(RM_BASIS_20[19], [1, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0])
    np.testing.assert_array_equal(RM_BASIS_20[:, 5], [0] * 10 + [1] * 10)
    # all 13 basis sequences independent over GF(2): the 2^13 code words are distinct
    m = RM_BASIS_20.T.copy().astype(np.uint8)
    rank = 0
    for col in range(20):
        rows = [r for r in range(rank, 13) if m[r, col]]
        if not rows:
            continue
        m[[rank, rows[0]]] = m[[rows[0], rank]]
        for r in range(13):
            if r != rank and m[r, col]:
                m[r] ^= m[rank]
        rank += 1
    assert rank == 13


def test_cqi_encode_is_the_basis_sum():
    # a one-hot payload selects its basis column; the code is linear over GF(2)
    for n in range(13):
        a = np.zeros(13, np.uint8)
        a[n] = 1
        np.testing.assert_array_equal(cqi_encode(a), RM_BASIS_20[:, n])
    rng = np.random.default_rng(0)
    for a_len in (4, 11):
        a, b = rng.integers(0, 2, (2, a_len))
        np.testing.assert_array_equal(cqi_encode(a ^ b), cqi_encode(a) ^ cqi_encode(b))
    with pytest.raises(ValueError, match="1..13 bits"):
        cqi_encode(np.ones(14, np.uint8))


def test_modulation_tables():
    # TS 36.211 Table 5.4.1-1 and Table 5.4.2-1
    assert format1_symbol("1") == 1
    assert format1_symbol("1a", [0]) == 1 and format1_symbol("1a", [1]) == -1
    assert [format1_symbol("1b", b) for b in ([0, 0], [0, 1], [1, 0], [1, 1])] == [1, -1j, 1j, -1]
    assert format2ab_symbol("2") == 1
    assert format2ab_symbol("2a", [1]) == -1
    assert [format2ab_symbol("2b", b) for b in ([0, 0], [0, 1], [1, 0], [1, 1])] == [1, -1j, 1j, -1]
    with pytest.raises(ValueError, match="needs 2 bit"):
        format1_symbol("1b", [1])
    with pytest.raises(ValueError, match="no bits"):
        format1_symbol("1", [1])


def test_n_cs_cell_formula():
    # n_cs^cell(n_s, l) = sum_i c(8 * 7 * n_s + 8 l + i) 2^i, c_init = N_ID_cell (TS 36.211 5.4)
    c = gold_sequence(301, 8 * 7 * 20)
    tab = n_cs_cell(301)
    for n_s, l in ((0, 0), (7, 3), (19, 6)):
        start = 56 * n_s + 8 * l
        assert tab[n_s, l] == sum(int(c[start + i]) << i for i in range(8))
    assert tab.shape == (20, 7) and tab.min() >= 0 and tab.max() <= 255


# ---------------------------------------------------------------- resource indices by hand

CFG_A = PucchConfigCommon(delta_shift=2, n_rb_cqi=2, n_cs_an=0, n1_pucch_an=0)
CFG_MIX = PucchConfigCommon(delta_shift=2, n_rb_cqi=2, n_cs_an=4, n1_pucch_an=0)


def test_format1_indices_by_hand():
    # Dshift 2, N_cs1 0, n1 = 20: N' = 12, n'(even) = 20 mod 18 = 2, n'(odd) = (3 * 3) mod 19 - 1 = 8;
    # n_oc = floor(2 * 2 / 12) = 0, floor(8 * 2 / 12) = 1; m = floor(20 / 18) + 2 = 3
    assert format1_n_prime(20, CFG_A) == (2, 8)
    assert (format1_n_oc(2, 20, CFG_A), format1_n_oc(8, 20, CFG_A)) == (0, 1)
    assert format1_m(20, CFG_A) == 3
    cell = UlCellConfig(n_id_cell=0, n_rb_ul=25, pucch=CFG_A)
    a = pucch_allocation(cell, 0, "1a", 20)
    # shift on top of n_cs^cell: (n' Dshift + n_oc mod Dshift) mod N' = 4 and (16 + 1) mod 12 = 5
    assert a.rel_shift == (4, 5)
    # m = 3: slot 0 -> (3 + 0) odd -> N - 1 - 1 = 23; slot 1 -> floor(3/2) = 1 (5.4.3)
    assert a.n_prb == (23, 1)
    # mixed RB: Dshift 2, N_cs1 4, n1 = 3 < 3 * 4 / 2 = 6: N' = 4, n'(even) = 3,
    # h = (3 + 2) mod 6 = 5, n'(odd) = floor(5/3) + (5 mod 3) * 4/2 = 5; n_oc = 1, 2; m = N_RB2 = 2
    assert format1_n_prime(3, CFG_MIX) == (3, 5)
    assert (format1_n_oc(3, 3, CFG_MIX), format1_n_oc(5, 3, CFG_MIX)) == (1, 2)
    assert format1_m(3, CFG_MIX) == 2
    a = pucch_allocation(UlCellConfig(n_id_cell=0, n_rb_ul=25, pucch=CFG_MIX), 0, "1", 3)
    assert a.rel_shift == ((6 + 1) % 4, (10 + 0) % 4)
    # first resource after the mixed RB: n'(even) = 0, n'(odd) = 2, m = 0 + 2 + ceil(4/8) = 3
    assert format1_n_prime(6, CFG_MIX) == (0, 2)
    assert format1_m(6, CFG_MIX) == 3


def test_format2_indices_by_hand():
    # n2 = 5 < 12 N_RB2: n' = 5, odd: (12 * 6) mod 13 - 1 = 6; m = 0
    assert format2_n_prime(5, CFG_MIX) == (5, 6)
    assert format2_m(5) == 0
    # n2 = 24 in the mixed RB: (24 + 4 + 1) mod 12 = 5, odd: (12 - 2 - 24) mod 12 = 10; m = 2
    assert format2_n_prime(24, CFG_MIX) == (5, 10)
    assert format2_m(24) == 2
    # in the mixed RB format 2 (shift 5) stays clear of the format-1 shifts 0..N_cs1-1 = 0..3
    f1_shifts = {pucch_allocation(UlCellConfig(0, 25, pucch=CFG_MIX), 0, "1", n).rel_shift[0] for n in range(6)}
    assert f1_shifts <= set(range(4))


def test_prb_mirroring():
    # 5.4.3: m = 0 -> PRB 0 / N-1, m = 1 -> N-1 / 0, m = 2 -> 1 / N-2
    assert [pucch_prb(0, n_s, 25) for n_s in (4, 5)] == [0, 24]
    assert [pucch_prb(1, n_s, 25) for n_s in (4, 5)] == [24, 0]
    assert [pucch_prb(2, n_s, 50) for n_s in (0, 1)] == [1, 48]
    with pytest.raises(ValueError, match="does not fit"):
        pucch_prb(6, 0, 6)


def test_harq_resource_rule():
    # TS 36.213 10.1.2.1 (FDD): n1 = n_CCE + N1_PUCCH; with a positive SR the SR resource is used
    assert harq_n1_pucch(10, 0) == 10  # the srsRAN vector's resource
    cfg = PucchConfigCommon(n1_pucch_an=12)
    assert harq_resource(4, cfg) == 16
    assert harq_resource(4, cfg, sr=True, n1_pucch_sr=3) == 3
    with pytest.raises(ValueError, match="n1_pucch_sr"):
        harq_resource(4, cfg, sr=True)


def test_sr_configuration_table():
    # TS 36.213 Table 10.1.5-1 boundaries: 0-4 -> 5 ms, 5-14 -> 10, 15-34 -> 20, 35-74 -> 40, 75-154 -> 80,
    # 155-156 -> 2, 157 -> 1; offset I_SR minus the first index of the row
    assert sr_periodicity_offset(0) == (5, 0) and sr_periodicity_offset(4) == (5, 4)
    assert sr_periodicity_offset(5) == (10, 0) and sr_periodicity_offset(14) == (10, 9)
    assert sr_periodicity_offset(34) == (20, 19) and sr_periodicity_offset(35) == (40, 0)
    assert sr_periodicity_offset(154) == (80, 79) and sr_periodicity_offset(156) == (2, 1)
    assert sr_periodicity_offset(157) == (1, 0)
    with pytest.raises(ValueError, match="0..157"):
        sr_periodicity_offset(158)
    # I_SR = 17: every 20 ms at offset 2 -> subframe 2 of even frames only
    hits = [(f, sf) for f in range(4) for sf in range(10) if is_sr_occasion(17, f, sf)]
    assert hits == [(0, 2), (2, 2)]
    assert sum(is_sr_occasion(157, 5, sf) for sf in range(10)) == 10


def test_format2_c_init():
    # (floor(n_s/2) + 1)(2 N_ID + 1) 2^16 + n_RNTI: N_ID 1, subframe 2, RNTI 0x46
    assert format2_c_init(1, 2, 0x46) == 3 * 3 * 65536 + 0x46


def test_group_hopping_changes_u_per_slot():
    cell = UlCellConfig(n_id_cell=77, n_rb_ul=25, pusch=PuschConfigCommon(group_hopping=True))
    us = {pucch_allocation(cell, sf, "1", 0).u for sf in range(10)}
    assert len(us) > 3
    off = UlCellConfig(n_id_cell=77, n_rb_ul=25)
    assert {pucch_allocation(off, sf, "1", 0).u for sf in range(10)} == {(77 % 30, 77 % 30)}


def test_format1_signal_structure():
    """Each RE value is w * S * d(0) * r^(alpha)_u(n) (data) or w̄ * r^(alpha)_u(n) (DMRS) by hand."""
    cell = UlCellConfig(n_id_cell=5, n_rb_ul=6, pucch=CFG_MIX)
    sig = pucch_signal(cell, 7, "1b", 3, bits=[1, 0])  # d(0) = j; n'(even) = 3 is odd -> S = j
    a = sig.alloc
    r0 = base_sequence(a.u[0], 0, 12) * np.exp(2j * np.pi * a.n_cs[0, 5] * np.arange(12) / 12)
    np.testing.assert_allclose(sig.values[5], 1j * W_NSF4[a.n_oc[0], 2] * 1j * r0, atol=1e-12)
    r1 = base_sequence(a.u[1], 0, 12) * np.exp(2j * np.pi * a.n_cs[1, 3] * np.arange(12) / 12)
    np.testing.assert_allclose(sig.values[7 + 3], W_DMRS_FORMAT1[a.n_oc[1], 1] * r1, atol=1e-12)
    np.testing.assert_allclose(np.abs(sig.values), 1.0, atol=1e-12)
    np.testing.assert_allclose(pucch_sequences(a)[10], r1, atol=1e-12)


# ---------------------------------------------------------------- srsRAN known answers

VEC_CELL = UlCellConfig(n_id_cell=1, n_rb_ul=25, pucch=PucchConfigCommon(delta_shift=1, n_rb_cqi=0, n_cs_an=0))
VEC_A = 0.021310  # README: srsRAN's per-RE amplitude
VECTORS = {
    "1a": ("pucch_fmt1a_ack1_pci1_sf2_n1pucch10_dshift1_25prb_7.68Msps.cf32", [1]),
    "1": ("pucch_fmt1_sr_pci1_sf2_n1pucch10_dshift1_25prb_7.68Msps.cf32", []),
}


def _load(vectors_dir: Path, fmt: str) -> np.ndarray:
    x = np.fromfile(vectors_dir / "uplink" / VECTORS[fmt][0], dtype="<c8")
    assert x.size == 7680
    return x


def _transmit(fmt: str, bits) -> np.ndarray:
    grid = np.zeros((14, 300), np.complex128)
    pucch_put(grid, pucch_signal(VEC_CELL, 2, fmt, harq_n1_pucch(10, 0), bits=bits))
    return scfdma_modulate(grid)


def test_vector_allocation_matches_readme():
    a = pucch_allocation(VEC_CELL, 2, "1a", 10)
    assert a.m == 0 and a.n_prb == (0, 24) and a.u == (1, 1)
    assert a.n_prime == (10, 32) and a.n_oc == (0, 2)
    np.testing.assert_array_equal(a.n_cs[0], [5, 11, 6, 5, 7, 7, 3])
    np.testing.assert_array_equal(a.n_cs[1], [0, 10, 8, 7, 5, 7, 5])


@pytest.mark.parametrize("fmt", ["1a", "1"])
def test_vector_waveform_reproduced(vectors_dir: Path, fmt: str):
    ref = _load(vectors_dir, fmt).astype(np.complex128)
    ours = _transmit(fmt, VECTORS[fmt][1]).astype(np.complex128)
    # the stated per-RE scale, to its 5 digits
    scale = np.vdot(ours, ref).real / np.vdot(ours, ours).real * scfdma_gain(25) / 512
    assert scale == pytest.approx(VEC_A, rel=5e-5)
    # after that scale, sample for sample to float32 precision
    a_ours = scfdma_gain(25) / 512
    err = np.linalg.norm(ref / VEC_A - ours / a_ours) / np.linalg.norm(ref / VEC_A)
    assert err < 5e-5
    fit = np.vdot(ours, ref) / np.vdot(ours, ours)
    assert np.linalg.norm(ref - fit * ours) / np.linalg.norm(ref) < 2e-6
    # negative control: the opposite d(0) is far away (format 1 SR = format 1a with bit 0)
    other = _transmit("1a", [0] if fmt == "1a" else [1]).astype(np.complex128)
    assert np.linalg.norm(ref / VEC_A - other / a_ours) / np.linalg.norm(ref / VEC_A) > 0.5


def test_vector_detected(vectors_dir: Path):
    grid_ack = scfdma_demodulate(_load(vectors_dir, "1a"), 25)
    res = detect_format1(grid_ack, VEC_CELL, 2, "1a", [10, 11])
    assert res.detected.tolist() == [True, False]  # nothing on resource 11 (README negative control)
    assert res.bits[0].tolist() == [1]  # ACK
    grid_sr = scfdma_demodulate(_load(vectors_dir, "1"), 25)
    res = detect_format1(grid_sr, VEC_CELL, 2, "1", [10, 11])
    assert res.detected.tolist() == [True, False]
    # the SR file read as format 1a gives d(0) = +1, i.e. bit 0
    assert detect_format1(grid_sr, VEC_CELL, 2, "1a", 10).bits[0].tolist() == [0]


def test_vector_detected_in_noise(vectors_dir: Path):
    """The ACK vector plus white noise at 0 dB per RE (relative to its RE amplitude A): still ACK, nothing on
    resource 11, over a few noise draws."""
    ref = _load(vectors_dir, "1a")
    rng = np.random.default_rng(7)
    sigma2_t = VEC_A**2 * 512  # time-domain variance giving per-RE noise A^2 after a 512-point DFT
    for _ in range(5):
        noise = np.array([1, 1j]) @ rng.standard_normal((2, ref.size)) * np.sqrt(sigma2_t / 2)
        res = detect_format1(scfdma_demodulate(ref + noise, 25), VEC_CELL, 2, "1a", [10, 11])
        assert res.detected.tolist() == [True, False]
        assert res.bits[0, 0] == 1


# ---------------------------------------------------------------- round trips


def _cell(n_rb: int, n_id: int = 17) -> UlCellConfig:
    return UlCellConfig(n_id_cell=n_id, n_rb_ul=n_rb, pucch=CFG_MIX)


# resources: format 1 in the mixed PRB (3) and in a format-1 PRB (40); format 2 in a CQI PRB (5) and in the
# mixed PRB (24)
CASES = [(f, n) for f in ("1", "1a", "1b") for n in (3, 40)] + [(f, n) for f in ("2", "2a", "2b") for n in (5, 24)]


@pytest.mark.parametrize("n_rb", N_RB_VALUES)
def test_round_trip_every_format_and_bandwidth(n_rb: int):
    rng = np.random.default_rng(n_rb)
    cell = _cell(n_rb)
    for k, (fmt, n) in enumerate(CASES):
        sf = k % 10
        bits = rng.integers(0, 2, {"1": 0, "1a": 1, "1b": 2}.get(fmt, 11))
        hq = rng.integers(0, 2, {"2a": 1, "2b": 2}.get(fmt, 0))
        sig = pucch_signal(cell, sf, fmt, n, bits=bits, harq_bits=hq, rnti=0x3A1)
        grid = np.zeros((14, 12 * n_rb), np.complex64)
        pucch_put(grid, sig)
        np.testing.assert_allclose(pucch_extract(grid, sig.alloc.n_prb), sig.values, atol=1e-6)
        assert np.count_nonzero(grid) == 14 * 12
        x = add_awgn(scfdma_modulate(grid), 5.0, n_rb, rng)
        rx = PucchReceiver(scfdma_demodulate(x, n_rb), cell, sf)
        if fmt[0] == "1":
            res = rx.detect_format1(fmt, n)
            assert res.detected[0], (fmt, n)
            np.testing.assert_array_equal(res.bits[0], bits)
            assert res.snr_db[0] == pytest.approx(5.0, abs=2.5)
        else:
            res = rx.decode_format2(fmt, n, 0x3A1, 11)
            np.testing.assert_array_equal(res.bits[0], bits)
            np.testing.assert_array_equal(res.harq_bits[0], hq)


def test_wrong_rnti_does_not_decode():
    """Format 2 scrambling is UE specific: decoding with another RNTI fails for most payloads."""
    cell = _cell(25)
    rng = np.random.default_rng(3)
    wrong = 0
    for _ in range(20):
        bits = rng.integers(0, 2, 11)
        grid = np.zeros((14, 300), np.complex64)
        pucch_put(grid, pucch_signal(cell, 1, "2", 7, bits=bits, rnti=0x100))
        assert np.array_equal(decode_format2(grid, cell, 1, "2", 7, 0x100, 11).bits[0], bits)
        wrong += not np.array_equal(decode_format2(grid, cell, 1, "2", 7, 0x101, 11).bits[0], bits)
    assert wrong >= 18


def test_several_ues_in_one_prb():
    """Six format-1a/1b UEs on different cyclic shifts and covers of one PRB pair (Dshift 1, 36 resources),
    each through its own flat channel per slot, at 10 dB: each one's bits back, and the unused resources of
    the PRB stay silent (P_fa 1 %)."""
    cell = UlCellConfig(n_id_cell=150, n_rb_ul=25, pucch=PucchConfigCommon(delta_shift=1, n_rb_cqi=1, n_cs_an=0))
    rng = np.random.default_rng(11)
    users = {36: "1a", 37: "1b", 48: "1a", 49: "1b", 60: "1a", 71: "1b"}  # shift 0/1 with covers 0, 1, 2 ...
    assert len({pucch_allocation(cell, 3, f, n).m for n, f in users.items()}) == 1
    n_silent_hits = 0
    for trial in range(10):
        grid = np.zeros((14, 300), np.complex128)
        sent, gains = {}, {}
        for n, fmt in users.items():
            bits = rng.integers(0, 2, 1 if fmt == "1a" else 2)
            sent[n] = bits
            ue = np.zeros_like(grid)
            pucch_put(ue, pucch_signal(cell, 3, fmt, n, bits=bits))
            h = gains[n] = (rng.standard_normal(2) + 1j * rng.standard_normal(2)) / np.sqrt(2)  # per slot
            ue[:7] *= h[0]
            ue[7:] *= h[1]
            grid += ue
        x = add_awgn(scfdma_modulate(grid), 10.0, 25, rng)
        rx = PucchReceiver(scfdma_demodulate(x, 25), cell, 3)
        for n, fmt in users.items():
            res = rx.detect_format1(fmt, n)
            if np.sum(np.abs(gains[n]) ** 2) > 0.2:  # not in a deep fade of both slots
                assert res.detected[0], (trial, n)
                np.testing.assert_array_equal(res.bits[0], sent[n])
        silent = [n for n in range(36, 72) if n not in users]
        n_silent_hits += int(rx.detect_format1("1a", silent).detected.sum())
    assert n_silent_hits <= 8  # 300 silent checks at P_fa 1 %: about 3 expected


def test_format1_and_format2_share_the_mixed_prb():
    """A format-1 UE (n1 = 3) and a format-2 UE (n2 = 24) in the mixed PRB (N_cs1 = 4) both come through."""
    cell = _cell(15)
    rng = np.random.default_rng(5)
    for sf in range(4):
        grid = np.zeros((14, 180), np.complex128)
        g1 = np.zeros_like(grid)
        g2 = np.zeros_like(grid)
        pucch_put(g1, pucch_signal(cell, sf, "1a", 3, bits=[1]))
        cqi = rng.integers(0, 2, 8)
        pucch_put(g2, pucch_signal(cell, sf, "2", 24, bits=cqi, rnti=77))
        grid = g1 + g2
        x = add_awgn(scfdma_modulate(grid), 10.0, 15, rng)
        rx = PucchReceiver(scfdma_demodulate(x, 15), cell, sf)
        assert pucch_allocation(cell, sf, "1a", 3).n_prb == pucch_allocation(cell, sf, "2", 24).n_prb
        for noise_var in (10 ** (-1.0), None):  # known, and estimated on the mixed PRB's format-1 bins only
            res = rx.detect_format1("1a", 3, noise_var=noise_var)
            assert res.detected[0] and res.bits[0, 0] == 1
        assert 0.03 < res.noise_var[0] < 0.3  # not inflated by the format-2 UE (10 dB above the noise)
        np.testing.assert_array_equal(rx.decode_format2("2", 24, 77, 8).bits[0], cqi)


def test_known_frequency_offset_is_removed():
    """A UE 700 Hz off: with cfo_hz given the statistic is within 1 dB of the offset-free one."""
    cell = _cell(25)
    grid = np.zeros((14, 300), np.complex64)
    pucch_put(grid, pucch_signal(cell, 6, "1b", 40, bits=[0, 1]))
    x = scfdma_modulate(grid)
    num = numerology(25)
    x_off = x * np.exp(2j * np.pi * 700.0 * np.arange(x.size) / num.sample_rate_hz)
    rng = np.random.default_rng(2)
    noise = add_awgn(np.zeros_like(x), 0.0, 25, rng)
    ref = detect_format1(scfdma_demodulate(x + noise, 25), cell, 6, "1b", 40, noise_var=1.0)
    fixed = detect_format1(scfdma_demodulate(x_off + noise, 25), cell, 6, "1b", 40, noise_var=1.0, cfo_hz=700.0)
    raw = detect_format1(scfdma_demodulate(x_off + noise, 25), cell, 6, "1b", 40, noise_var=1.0)
    assert fixed.detected[0] and fixed.bits[0].tolist() == [0, 1]
    assert 10 * np.log10(fixed.statistic[0] / ref.statistic[0]) > -1.0
    assert raw.statistic[0] < fixed.statistic[0]


def test_handset_chain_with_frequency_and_timing_offset():
    """PUCCH through the handset transmitter (phy/ue/ul_tx.py: grid writer, 400 Hz offset, sent 0.5 us late)
    and the gateway's receiver told the offset: ACK and CQI back at 0 dB per RE."""
    from functools import partial

    from phy.ue.ul_tx import ul_subframe_grid, ul_subframe_samples

    cell = _cell(25)
    rng = np.random.default_rng(9)
    cqi = rng.integers(0, 2, 11)
    writers = [
        partial(pucch_put, signal=pucch_signal(cell, 8, "1a", 40, bits=[1])),
        partial(pucch_put, signal=pucch_signal(cell, 8, "2", 5, bits=cqi, rnti=0x99)),
    ]
    grid = ul_subframe_grid(cell, 8, None, grid_writers=writers)
    x = ul_subframe_samples(grid, 25, cfo_hz=400.0, timing_advance_s=-0.5e-6, n0=123_456)
    rx = PucchReceiver(scfdma_demodulate(add_awgn(x, 0.0, 25, rng), 25), cell, 8, cfo_hz=400.0)
    res = rx.detect_format1("1a", 40)
    assert res.detected[0] and res.bits[0, 0] == 1
    np.testing.assert_array_equal(rx.decode_format2("2", 5, 0x99, 11).bits[0], cqi)


def test_known_timing_offset_is_removed():
    """A UE arriving 3 us late (inside the 4.7 us CP): told the offset, the receiver loses < 0.3 dB; not told,
    the phase slope over the PRB costs several dB (the UE spreads into the neighbouring shift bins)."""
    from phy.ue.ul_tx import fractional_delay

    cell = _cell(25)
    grid = np.zeros((14, 300), np.complex64)
    pucch_put(grid, pucch_signal(cell, 2, "1a", 40, bits=[1]))
    x = scfdma_modulate(grid)
    fs = numerology(25).sample_rate_hz
    late = fractional_delay(x, 3e-6, fs)
    ref = detect_format1(scfdma_demodulate(x, 25), cell, 2, "1a", 40, noise_var=1.0).statistic[0]
    raw = detect_format1(scfdma_demodulate(late, 25), cell, 2, "1a", 40, noise_var=1.0).statistic[0]
    fixed = detect_format1(scfdma_demodulate(late, 25), cell, 2, "1a", 40, noise_var=1.0, timing_offset_s=3e-6)
    assert 10 * np.log10(fixed.statistic[0] / ref) > -0.3
    assert 10 * np.log10(raw / ref) < -2.0
    assert fixed.bits[0, 0] == 1


def test_two_receive_antennas():
    """n_rx = 2: each antenna its own per-slot gain; format 1b and format 2b decode, statistics add up."""
    cell = _cell(15)
    rng = np.random.default_rng(12)
    cqi = rng.integers(0, 2, 9)
    g = np.zeros((14, 180), np.complex64)
    pucch_put(g, pucch_signal(cell, 5, "1b", 40, bits=[1, 1]))
    pucch_put(g, pucch_signal(cell, 5, "2b", 7, bits=cqi, harq_bits=[0, 1], rnti=501))
    h = (rng.standard_normal((2, 2)) + 1j * rng.standard_normal((2, 2))) / np.sqrt(2)  # (antenna, slot)
    rx = np.stack([np.concatenate([g[:7] * h[a, 0], g[7:] * h[a, 1]]) for a in range(2)])
    rx = rx + (rng.standard_normal(rx.shape) + 1j * rng.standard_normal(rx.shape)) * np.sqrt(0.5 / 2)
    two = PucchReceiver(rx, cell, 5, n_rx=2)
    f1 = two.detect_format1("1b", 40)
    assert f1.detected[0] and f1.bits[0].tolist() == [1, 1]
    f2 = two.decode_format2("2b", 7, 501, 9)
    np.testing.assert_array_equal(f2.bits[0], cqi)
    assert f2.harq_bits[0].tolist() == [0, 1]
    one = [PucchReceiver(rx[a], cell, 5).detect_format1("1b", 40, noise_var=0.5).statistic[0] for a in range(2)]
    both = two.detect_format1("1b", 40, noise_var=0.5).statistic[0]
    from phy.enb.pucch_rx import format1_threshold

    t_sum = sum(t * format1_threshold("1b", 0.01, None) for t in one)
    assert both * format1_threshold("1b", 0.01, None, 2) == pytest.approx(t_sum, rel=1e-3)
    with pytest.raises(ValueError, match="n_rx=2"):
        PucchReceiver(rx[0], cell, 5, n_rx=2)


def test_bad_input_is_rejected():
    cell = _cell(25)
    with pytest.raises(ValueError, match="format must be one of"):
        pucch_allocation(cell, 0, "3", 0)
    with pytest.raises(ValueError, match="subframe"):
        pucch_allocation(cell, 10, "1", 0)
    with pytest.raises(ValueError, match="rnti"):
        pucch_signal(cell, 0, "2", 0, bits=[1, 0])
    with pytest.raises(ValueError, match="multiple of delta_shift"):
        pucch_allocation(UlCellConfig(1, 25, pucch=PucchConfigCommon(delta_shift=3, n_cs_an=4)), 0, "1", 0)
    with pytest.raises(ValueError, match="grid must be"):
        PucchReceiver(np.zeros((14, 299)), cell, 0)
    with pytest.raises(ValueError, match="p_false_alarm"):
        detect_format1(np.zeros((14, 300)), cell, 0, "1a", 0, p_false_alarm=0.0)
    assert set(FORMATS) == {"1", "1a", "1b", "2", "2a", "2b"}
