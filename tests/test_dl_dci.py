"""DCI formats (TS 36.212 5.3.3.1), resource allocation (TS 36.213 7.1.6, TS 36.211 6.2.3) and
search spaces (TS 36.213 9.1.1): sizes, round trips and hand-computed known answers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from phy import dci as D
from phy import resource_allocation as ra
from phy import search_space as ss

N_RB = (6, 15, 25, 50, 75, 100)


def _riv_bits(n):
    return math.ceil(math.log2(n * (n + 1) / 2))


# Sizes written out field by field from TS 36.212 5.3.3.1 (FDD), then the padding rules:
#   format 0  = 1 flag + 1 hop + RIV + 5 MCS + 1 NDI + 2 TPC + 3 CS + 1 CQI       = 14 + RIV
#   format 1A = 1 flag + 1 L/D + RIV + 5 MCS + 3 HARQ + 1 NDI + 2 RV + 2 TPC     = 15 + RIV
#   -> format 0 padded to 1A; 1A + 1 zero bit if in {12,14,16,20,24,26,32,40,44,56}.
# RIV bits: 6 -> 5, 15 -> 7, 25 -> 9, 50 -> 11, 75 -> 12, 100 -> 13.
SIZE_1A = {6: 21, 15: 22, 25: 25, 50: 27, 75: 27, 100: 28}
#   format 1 = header (N>10) + ceil(N/P) + 13; P = 1, 2, 2, 3, 4, 4:
#   6: 0+6+13=19; 15: 1+8+13=22 (= 0/1A -> 23); 25: 1+13+13=27; 50: 1+17+13=31;
#   75: 1+19+13=33; 100: 1+25+13=39
SIZE_1 = {6: 19, 15: 23, 25: 27, 50: 31, 75: 33, 100: 39}
#   format 1C = gap bit (N>=50) + ceil(log2(N'(N'+1)/2)) + 5, N' = N_VRB,gap1 / N_step:
#   6: N_gap 3 -> N_VRB 6 -> N' 3 -> 3 bits -> 8; 15: 8 -> 14 -> 7 -> 5 -> 10; 25: 12 -> 24 -> 12 -> 7 -> 12;
#   50: 27 -> 46 -> 11 (step 4) -> 7 -> 13; 75: 32 -> 64 -> 16 -> 8 -> 14; 100: 48 -> 96 -> 24 -> 9 -> 15
SIZE_1C = {6: 8, 15: 10, 25: 12, 50: 13, 75: 14, 100: 15}


@pytest.mark.parametrize("n_rb", N_RB)
def test_dci_sizes(n_rb):
    assert 14 + _riv_bits(n_rb) < 15 + _riv_bits(n_rb)  # format 0 is the padded one here
    assert D.dci_size("1A", n_rb) == SIZE_1A[n_rb]
    assert D.dci_size("0", n_rb) == SIZE_1A[n_rb]
    assert D.dci_size("1", n_rb) == SIZE_1[n_rb]
    assert D.dci_size("1C", n_rb) == SIZE_1C[n_rb]
    for fmt in ("0", "1", "1A"):
        assert D.dci_size(fmt, n_rb) not in D.AMBIGUOUS_SIZES


def test_dci_size_wider_uplink_pads_1a():
    # N_RB_UL = 100, N_RB_DL = 6: format 0 = 14 + 13 = 27 > 1A = 20 -> 1A padded to 27 (not ambiguous)
    assert D.dci_size("1A", 6, n_rb_ul=100) == 27
    assert D.dci_size("0", 6, n_rb_ul=100) == 27


def _random_dcis(n_rb, rng):
    n_riv = n_rb * (n_rb + 1) // 2
    out = []
    for _ in range(20):
        out.append(
            (
                "c",
                "0",
                D.Dci0(
                    rb_assignment=int(rng.integers(n_riv)),
                    mcs_rv=int(rng.integers(32)),
                    hopping=int(rng.integers(2)),
                    ndi=int(rng.integers(2)),
                    tpc=int(rng.integers(4)),
                    cyclic_shift_dmrs=int(rng.integers(8)),
                    cqi_request=int(rng.integers(2)),
                ),
            )
        )
        out.append(
            (
                "c",
                "1A",
                D.Dci1A(
                    riv=int(rng.integers(n_riv - 1)),
                    mcs=int(rng.integers(32)),
                    harq_process=int(rng.integers(8)),
                    ndi=int(rng.integers(2)),
                    rv=int(rng.integers(4)),
                    tpc=int(rng.integers(4)),
                ),
            )
        )
        out.append(
            (
                "common",
                "1A",
                D.Dci1A(
                    riv=int(rng.integers(n_riv)),
                    mcs=int(rng.integers(32)),
                    rv=int(rng.integers(4)),
                    tpc=int(rng.integers(4)),
                ),
            )
        )
        out.append(
            (
                "c",
                "1A",
                D.Dci1APdcchOrder(preamble_index=int(rng.integers(64)), prach_mask_index=int(rng.integers(16))),
            )
        )
        out.append(
            (
                "c",
                "1",
                D.Dci1(
                    rb_assignment=int(rng.integers(1 << ra.n_rbg(n_rb))),
                    mcs=int(rng.integers(32)),
                    harq_process=int(rng.integers(8)),
                    ndi=int(rng.integers(2)),
                    rv=int(rng.integers(4)),
                    tpc=int(rng.integers(4)),
                    ra_type=int(rng.integers(2)) if n_rb > 10 else 0,
                ),
            )
        )
        n1c = ra.n_vrb_1c(n_rb)
        out.append(
            (
                "common",
                "1C",
                D.Dci1C(
                    riv=int(rng.integers(n1c * (n1c + 1) // 2)),
                    tbs_index=int(rng.integers(32)),
                    gap=int(rng.integers(1, 3)) if n_rb >= 50 else 1,
                ),
            )
        )
        if n_rb >= 50:
            for kind in ("c", "common"):
                out.append(
                    (
                        kind,
                        "1A",
                        D.Dci1A(
                            riv=int(rng.integers(1 << (_riv_bits(n_rb) - 1))),
                            mcs=3,
                            distributed=True,
                            gap=int(rng.integers(1, 3)),
                        ),
                    )
                )
    return out


@pytest.mark.parametrize("n_rb", N_RB)
def test_dci_pack_unpack_round_trip(n_rb):
    rng = np.random.default_rng(n_rb)
    for kind, fmt, dci in _random_dcis(n_rb, rng):
        bits = D.dci_pack(dci, n_rb, rnti_kind=kind)
        assert bits.dtype == np.uint8 and bits.shape == (D.dci_size(fmt, n_rb),)
        assert D.dci_unpack(bits, fmt, n_rb, rnti_kind=kind) == dci


def test_dci_1a_sirnti_bit_layout_6prb():
    # 1A, SI-RNTI, localized RIV 11, MCS 2, RV 0, TPC 01 at 6 PRB, written out bit by bit:
    # flag 1 | L/D 0 | RIV 01011 | MCS 00010 | HARQ 000 | NDI 0 | RV 00 | TPC 01 | pad 0
    expected = [1, 0, 0, 1, 0, 1, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0]
    dci = D.Dci1A(riv=11, mcs=2, rv=0, tpc=1)
    bits = D.dci_pack(dci, 6, rnti_kind="common")
    assert bits.tolist() == expected
    assert dci.n_prb_1a == 3


def test_dci_common_distributed_gap_in_ndi_bit():
    dci = D.Dci1A(riv=40, mcs=1, distributed=True, gap=2)
    bits = D.dci_pack(dci, 50, rnti_kind="common")
    # flag, L/D, 11 RIV bits, 5 MCS, 3 HARQ, then NDI = gap bit
    assert bits[1] == 1 and bits[2 + 11 + 5 + 3] == 1
    bits_c = D.dci_pack(dci, 50, rnti_kind="c")
    assert bits_c[2] == 1  # C-RNTI: the RB field's MSB carries the gap


def test_dci_errors():
    with pytest.raises(ValueError, match="mcs"):
        D.dci_pack(D.Dci1A(riv=0, mcs=32), 25)
    with pytest.raises(ValueError, match="bits"):
        D.dci_unpack(np.zeros(20, np.uint8), "1A", 25)
    with pytest.raises(ValueError, match="format"):
        D.dci_size("2A", 25)


# ---------------------------------------------------------------- resource allocation


def test_rbg_size_table():
    assert [ra.rbg_size(n) for n in (6, 10, 11, 26, 27, 63, 64, 110)] == [1, 1, 2, 2, 3, 3, 4, 4]


def test_riv_known_answers():
    # TS 36.213 7.1.6.3 evaluated by hand
    assert ra.riv_encode(0, 6, 6) == 11  # L-1 = 5 > 3: 6 (6-6+1) + (6-1-0) = 11
    assert ra.riv_encode(3, 5, 25) == 103  # 25*4 + 3
    assert ra.riv_encode(10, 30, 50) == 1089  # 50 (50-30+1) + (49-10)
    assert ra.riv_encode(0, 1, 100) == 0
    assert ra.riv_decode(11, 6) == (0, 6)
    assert ra.riv_decode(1089, 50) == (10, 30)


@pytest.mark.parametrize("n_rb", N_RB)
def test_riv_round_trip_all(n_rb):
    seen = set()
    for start in range(n_rb):
        for length in range(1, n_rb - start + 1):
            riv = ra.riv_encode(start, length, n_rb)
            assert riv < 2 ** ra.riv_bits(n_rb)
            assert ra.riv_decode(riv, n_rb) == (start, length)
            seen.add(riv)
    assert seen == set(range(n_rb * (n_rb + 1) // 2))


def test_type0_known_answer():
    # 25 PRB: P = 2, 13 RBGs, RBG 12 is PRB 24 alone. MSB = RBG 0.
    prbs = ra.type0_prbs((1 << 12) | 1, 25)
    assert prbs.shape == (2, 3) and prbs[0].tolist() == [0, 1, 24] and prbs[1].tolist() == [0, 1, 24]
    assert ra.type0_bitmap([0, 1, 24], 25) == (1 << 12) | 1
    with pytest.raises(ValueError, match="RBG"):
        ra.type0_bitmap([0], 25)


def test_type1_known_answer():
    # 25 PRB: P = 2, 1 subset bit, 1 shift bit, 11 bitmap bits. Subset 0 = RBGs 0, 2, 4 ...
    # N_RB^RBG_subset(0) = 6*2 + 0 + 1 = 13 -> shift offset 2.
    field = (0 << 12) | (0 << 11) | (1 << 10) | 1  # subset 0, no shift, bits i = 0 and i = 10
    assert ra.type1_prbs(field, 25)[0].tolist() == [0, 20]  # i=10: floor(10/2)*4 + 0 = 20
    field = (0 << 12) | (1 << 11) | (1 << 10)  # shifted: i = 0 -> 2 -> PRB 4
    assert ra.type1_prbs(field, 25)[0].tolist() == [4]
    field = (1 << 12) | (1 << 10)  # subset 1, i = 0 -> PRB 2
    assert ra.type1_prbs(field, 25)[0].tolist() == [2]


def _interleaver_reference(n_rb, gap):
    """Distributed VRB -> PRB by building the 4-column block interleaver of TS 36.211 6.2.3.2
    literally: VRBs written row by row, N_null nulls in the last N_null/2 rows of columns 2 and 4,
    read column by column skipping nulls; odd slot shifted by Ñ/2; then the gap."""
    g = ra.n_gap(n_rb, gap)
    n_t = ra.n_vrb_dl(n_rb, 1) if gap == 1 else 2 * g
    p = ra.rbg_size(n_rb)
    n_row = math.ceil(n_t / (4 * p)) * p
    n_null = 4 * n_row - n_t
    mat = -np.ones((n_row, 4), dtype=int)
    cells = [(r, c) for r in range(n_row) for c in range(4) if not (c in (1, 3) and r >= n_row - n_null // 2)]
    for v, (r, c) in enumerate(cells):
        mat[r, c] = v
    order = [int(x) for x in mat.T.ravel() if x >= 0]  # PRB position ñ -> VRB
    out = {}
    n_vrb_total = ra.n_vrb_dl(n_rb, gap)
    for v in range(n_vrb_total):
        base = n_t * (v // n_t)
        even = order.index(v % n_t) + base
        odd = (order.index(v % n_t) + n_t // 2) % n_t + base
        out[v] = [x if x < n_t // 2 else x + g - n_t // 2 for x in (even, odd)]
    return out


@pytest.mark.parametrize(
    "n_rb,gap",
    [(6, 1), (15, 1), (25, 1), (50, 1), (50, 2), (75, 1), (75, 2), (100, 1), (100, 2), (27, 1), (45, 1)],
)
def test_distributed_vrb_matches_block_interleaver(n_rb, gap):
    ref = _interleaver_reference(n_rb, gap)
    vrbs = np.arange(ra.n_vrb_dl(n_rb, gap))
    got = ra.vrb_to_prb_distributed(vrbs, n_rb, gap)
    assert got.T.tolist() == [ref[v] for v in vrbs]
    assert got.max() < n_rb
    assert len(set(got[0].tolist())) == vrbs.size  # one-to-one in each slot


def test_n_gap_table():
    assert [ra.n_gap(n) for n in (6, 10, 11, 15, 25, 27, 45, 50, 64, 100)] == [
        3,
        5,
        4,
        8,
        12,
        18,
        27,
        27,
        32,
        48,
    ]
    assert [ra.n_gap(n, 2) for n in (50, 63, 64, 100)] == [9, 9, 16, 16]
    assert ra.n_vrb_dl(25) == 24 and ra.n_vrb_dl(50, 2) == 36


def test_type2_prbs_localized_and_1c():
    assert ra.type2_prbs(11, 6).tolist() == [list(range(6))] * 2
    prbs = ra.type2_prbs(ra.riv_encode(0, 2, 25), 25, distributed=True)
    assert prbs.shape == (2, 2) and not np.array_equal(prbs[0], prbs[1])
    # 1C at 25 PRB: N_step 2, RIV over N' = 12; RIV 0 = start 0, L' = 1 -> VRBs 0, 1
    assert np.array_equal(ra.type2_1c_prbs(0, 25), ra.vrb_to_prb_distributed([0, 1], 25))


# ---------------------------------------------------------------- search spaces


def test_y_k_hand_computed():
    # RNTI 61: Y_0 = 39827*61 mod 65537 = 2429447 - 37*65537 = 4578
    assert ss.y_k(61, 0) == 4578
    assert ss.y_k(61, 1) == (39827 * 4578) % 65537


def test_ue_search_space_hand_computed():
    # N_CCE = 20, Y_0 = 4578:
    #  L=1: (4578+m) mod 20 = 18, 19, 0, 1, 2, 3; L=2: 2((4578+m) mod 10) = 16, 18, 0, 2, 4, 6
    #  L=4: 4((4578+m) mod 5) = 12, 16; L=8: 8((4578+m) mod 2) = 0, 8
    cands = ss.ue_candidates(20, 61, 0)
    by_level = {lv: [c.first_cce for c in cands if c.aggregation == lv] for lv in (1, 2, 4, 8)}
    assert by_level == {1: [18, 19, 0, 1, 2, 3], 2: [16, 18, 0, 2, 4, 6], 4: [12, 16], 8: [0, 8]}


def test_common_search_space():
    assert ss.common_candidates(32) == [(4, 0), (4, 4), (4, 8), (4, 12), (8, 0), (8, 8)]
    assert ss.common_candidates(6) == [(4, 0)]  # 6 PRB, CFI 3: floor(6/4) = 1, floor(6/8) = 0
    assert ss.n_cce(59) == 6
