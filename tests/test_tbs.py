"""MCS and TBS tables of TS 36.213 7.1.7: spot checks against the spec and structural properties."""

from __future__ import annotations

import pytest

from phy.fec.turbo import QPP_PARAMS
from phy.tbs import mcs_to_itbs, modulation_order, tbs, tbs_format_1c, transport_block_size

N_PRB_COLUMNS = (1, 6, 25, 50, 100)

# (I_MCS, I_TBS, TBS at N_PRB = 1, 6, 25, 50, 100), copied from TS 36.213 Tables 7.1.7.1-1 and 7.1.7.2.1-1.
# I_TBS 6 at N_PRB 1 reads 328 in the spec (out of line with its neighbours, but it is the spec's value).
SPEC_SPOT_CHECKS = [
    (0, 0, 16, 152, 680, 1384, 2792),
    (1, 1, 24, 208, 904, 1800, 3624),
    (2, 2, 32, 256, 1096, 2216, 4584),
    (3, 3, 40, 328, 1416, 2856, 5736),
    (4, 4, 56, 408, 1800, 3624, 7224),
    (5, 5, 72, 504, 2216, 4392, 8760),
    (6, 6, 328, 600, 2600, 5160, 10296),
    (7, 7, 104, 712, 3112, 6200, 12216),
    (8, 8, 120, 808, 3496, 6968, 14112),
    (9, 9, 136, 936, 4008, 7992, 15840),
    (10, 9, 136, 936, 4008, 7992, 15840),
    (11, 10, 144, 1032, 4392, 8760, 17568),
    (12, 11, 176, 1192, 4968, 9912, 19848),
    (13, 12, 208, 1352, 5736, 11448, 22920),
    (14, 13, 224, 1544, 6456, 12960, 25456),
    (15, 14, 256, 1736, 7224, 14112, 28336),
    (16, 15, 280, 1800, 7736, 15264, 30576),
    (17, 15, 280, 1800, 7736, 15264, 30576),
    (18, 16, 328, 1928, 7992, 16416, 32856),
    (19, 17, 336, 2152, 9144, 18336, 36696),
    (20, 18, 376, 2344, 9912, 19848, 39232),
    (21, 19, 408, 2600, 10680, 21384, 43816),
    (22, 20, 440, 2792, 11448, 22920, 46888),
    (23, 21, 488, 2984, 12576, 25456, 51024),
    (24, 22, 520, 3240, 13536, 27376, 55056),
    (25, 23, 552, 3496, 14112, 28336, 57336),
    (26, 24, 584, 3624, 15264, 30576, 61664),
    (27, 25, 616, 3752, 15840, 31704, 63776),
    (28, 26, 712, 4392, 18336, 36696, 75376),
]

# Q_m per I_MCS range (Table 7.1.7.1-1)
SPEC_Q_M = {**dict.fromkeys(range(0, 10), 2), **dict.fromkeys(range(10, 17), 4),
            **dict.fromkeys(range(17, 29), 6), 29: 2, 30: 4, 31: 6}


@pytest.mark.parametrize("row", SPEC_SPOT_CHECKS, ids=lambda r: f"mcs{r[0]}")
def test_tbs_spot_checks_every_mcs(row):
    i_mcs, i_tbs, *expected = row
    assert mcs_to_itbs(i_mcs) == (i_tbs, SPEC_Q_M[i_mcs])
    assert [tbs(i_tbs, n) for n in N_PRB_COLUMNS] == expected
    assert [transport_block_size(i_mcs, n) for n in N_PRB_COLUMNS] == expected


def test_spot_checks_cover_every_mcs():
    assert [r[0] for r in SPEC_SPOT_CHECKS] == list(range(29))


def test_reserved_mcs_give_modulation_only():
    for i_mcs in (29, 30, 31):
        assert mcs_to_itbs(i_mcs) == (None, SPEC_Q_M[i_mcs])
        with pytest.raises(ValueError, match="reserved"):
            transport_block_size(i_mcs, 10)
    assert [modulation_order(m) for m in range(32)] == [SPEC_Q_M[m] for m in range(32)]


def test_table_edges():
    assert tbs(0, 1) == 16
    assert tbs(0, 110) == 3112
    assert tbs(26, 110) == 75376
    assert tbs(26, 1) == 712


def test_bad_arguments_raise():
    for call in (lambda: tbs(27, 1), lambda: tbs(-1, 1), lambda: tbs(0, 0), lambda: tbs(0, 111),
                 lambda: mcs_to_itbs(32), lambda: modulation_order(-1)):
        with pytest.raises(ValueError):
            call()


def test_monotonic_except_the_spec_entry_itbs6_nprb1():
    # non-decreasing along N_PRB and along I_TBS; the only break is the spec's 328 at (6, 1)
    breaks = set()
    for i_tbs in range(27):
        for n_prb in range(1, 111):
            if n_prb < 110 and tbs(i_tbs, n_prb + 1) < tbs(i_tbs, n_prb):
                breaks.add((i_tbs, n_prb))
            if i_tbs < 26 and tbs(i_tbs + 1, n_prb) < tbs(i_tbs, n_prb):
                breaks.add((i_tbs, n_prb))
    assert breaks == {(6, 1)}
    # strictly increasing with I_TBS at full bandwidth
    assert all(tbs(i + 1, 100) > tbs(i, 100) for i in range(26))


def test_every_tbs_segments_without_filler_bits():
    """TS 36.212 5.1.2 applied to B = TBS + 24 (CRC24A): every TBS of the table is a multiple of 8 and
    lands on turbo block sizes with F = 0 filler bits."""
    k_sizes = sorted(QPP_PARAMS)
    z = 6144
    for i_tbs in range(27):
        for n_prb in range(1, 111):
            size = tbs(i_tbs, n_prb)
            assert size % 8 == 0
            b = size + 24
            c = 1 if b <= z else -(-b // (z - 24))
            b_prime = b if c == 1 else b + 24 * c
            k_plus = min(k for k in k_sizes if c * k >= b_prime)
            if c == 1:
                c_minus, k_minus = 0, 0
            else:
                k_minus = max(k for k in k_sizes if k < k_plus)
                c_minus = (c * k_plus - b_prime) // (k_plus - k_minus)
            f = (c - c_minus) * k_plus + c_minus * k_minus - b_prime
            assert f == 0, f"I_TBS {i_tbs}, N_PRB {n_prb}: TBS {size} gives F = {f}"


def test_format_1c_table():
    # TS 36.213 Table 7.1.7.2.3-1, spot values and shape
    assert [tbs_format_1c(i) for i in (0, 1, 9, 15, 16, 21, 31)] == [40, 56, 256, 488, 552, 840, 1736]
    values = [tbs_format_1c(i) for i in range(32)]
    assert all(b > a for a, b in zip(values, values[1:], strict=False))
    assert all(v % 8 == 0 for v in values)
    with pytest.raises(ValueError):
        tbs_format_1c(32)
