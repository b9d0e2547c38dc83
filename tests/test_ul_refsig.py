"""Uplink reference signals (TS 36.211 5.5): the phi tables, Zadoff-Chu base sequences, group and
sequence hopping, n_PRS, and the PUSCH DMRS of srsRAN's PUSCH vector."""

from __future__ import annotations

import numpy as np
import pytest

from phy import ul_refsig as R
from phy.numerology import SAMPLE_RMS_FULL_LOAD
from phy.scfdma import scfdma_demodulate


def _gold_reference(c_init: int, length: int) -> np.ndarray:
    """c(n) of TS 36.211 7.2 written bit by bit (independent of phy.sequences' table method)."""
    x1 = [1] + [0] * 30
    x2 = [(c_init >> i) & 1 for i in range(31)]
    for n in range(1600 + length):
        x1.append((x1[n + 3] + x1[n]) % 2)
        x2.append((x2[n + 3] + x2[n + 2] + x2[n + 1] + x2[n]) % 2)
    return np.array([(x1[n + 1600] + x2[n + 1600]) % 2 for n in range(length)])


def test_phi_tables_shape_and_alphabet() -> None:
    assert R.PHI_12.shape == (30, 12) and R.PHI_24.shape == (30, 24)
    for table in (R.PHI_12, R.PHI_24):
        assert set(np.unique(table)) == {-3, -1, 1, 3}
        assert len({tuple(row) for row in table}) == 30  # 30 distinct groups


# Rows typed from the spec text (TS 36.211 V8.9.0 Tables 5.5.1.2-1 and 5.5.1.2-2)
@pytest.mark.parametrize(
    ("u", "row"),
    [
        (0, [-1, 1, 3, -3, 3, 3, 1, 1, 3, 1, -3, 3]),
        (7, [-3, -1, -1, -1, 1, -3, 3, -1, 1, -3, 3, 1]),
        (17, [-3, 1, 1, 3, -3, 3, -3, -3, 3, 1, 3, -1]),
        (22, [1, 1, -3, -3, -3, -3, -1, 3, -3, 1, -3, 3]),
        (29, [3, -3, -3, -1, -1, -3, -1, 3, -3, 3, 1, -1]),
    ],
)
def test_phi_12_rows(u: int, row: list[int]) -> None:
    np.testing.assert_array_equal(R.PHI_12[u], row)


@pytest.mark.parametrize(
    ("u", "row"),
    [
        (0, [-1, 3, 1, -3, 3, -1, 1, 3, -3, 3, 1, 3, -3, 3, 1, 1, -1, 1, 3, -3, 3, -3, -1, -3]),
        (14, [-3, -3, 3, 1, 3, 1, -3, 3, 1, 3, 1, 1, 3, 3, -1, -1, -3, 1, -3, -1, 3, 1, 1, 3]),
        (15, [-1, -1, 1, -3, 1, 3, -3, 1, -1, -3, -1, 3, 1, 3, 1, -1, -3, -3, -1, -1, -3, -3, -3, -1]),
        (29, [1, 1, -1, -1, -3, -1, 3, -1, 3, -1, 1, 3, 1, -1, 3, 1, 3, -3, -3, 1, -1, -1, 1, 3]),
    ],
)
def test_phi_24_rows(u: int, row: list[int]) -> None:
    np.testing.assert_array_equal(R.PHI_24[u], row)


def test_short_base_sequences_use_the_tables() -> None:
    for m_sc, table in ((12, R.PHI_12), (24, R.PHI_24)):
        for u in range(30):
            np.testing.assert_allclose(R.base_sequence(u, 0, m_sc), np.exp(1j * np.pi / 4 * table[u]), atol=1e-15)


@pytest.mark.parametrize(
    ("m_sc", "n_zc"), [(36, 31), (48, 47), (72, 71), (120, 113), (144, 139), (300, 293), (1200, 1193)]
)
def test_n_zc_is_largest_prime_below(m_sc: int, n_zc: int) -> None:
    assert R.largest_prime_below(m_sc) == n_zc


def test_q_by_hand() -> None:
    # README of the srsRAN vectors: u = 1, v = 0, N_ZC = 113 -> q = 7 (q̄ = 7.29)
    assert R.zc_q(1, 0, 113) == 7
    # N_ZC = 31: q̄ = u + 1 exactly
    assert [R.zc_q(u, 0, 31) for u in range(30)] == list(range(1, 31))
    # N_ZC = 71, u = 0: q̄ = 2.29, floor(2 q̄) = 4 even -> q = 2 + v; u = 2: q̄ = 6.87, floor(13.7) odd -> 7 - v
    assert (R.zc_q(0, 0, 71), R.zc_q(0, 1, 71)) == (2, 3)
    assert (R.zc_q(2, 0, 71), R.zc_q(2, 1, 71)) == (7, 6)


@pytest.mark.parametrize(("u", "v", "m_sc"), [(0, 0, 36), (13, 1, 72), (29, 1, 300), (5, 0, 1200)])
def test_zadoff_chu_base_sequence(u: int, v: int, m_sc: int) -> None:
    n_zc = R.largest_prime_below(m_sc)
    q = R.zc_q(u, v, n_zc)
    m = np.arange(m_sc) % n_zc
    expected = np.exp(-1j * np.pi * q * m * (m + 1) / n_zc)
    np.testing.assert_allclose(R.base_sequence(u, v, m_sc), expected, atol=1e-9)


def test_cyclic_shifts_are_orthogonal() -> None:
    seqs = np.array([R.cyclic_shifted(3, 0, 36, 2 * np.pi * n_cs / 12) for n_cs in range(12)])
    gram = seqs @ seqs.conj().T
    np.testing.assert_allclose(gram, 36 * np.eye(12), atol=1e-9)


@pytest.mark.parametrize("n_id_cell", [0, 1, 29, 30, 150, 503])
def test_group_hopping_pattern(n_id_cell: int) -> None:
    c = _gold_reference(n_id_cell // 30, 160)
    expected = [sum(int(c[8 * n_s + i]) << i for i in range(8)) % 30 for n_s in range(20)]
    np.testing.assert_array_equal(R.group_hopping_f_gh(n_id_cell), expected)
    f_ss = R.f_ss_pucch(n_id_cell)
    assert f_ss == n_id_cell % 30
    for n_s in range(20):
        assert R.sequence_group(n_id_cell, n_s, False, f_ss) == f_ss
        assert R.sequence_group(n_id_cell, n_s, True, f_ss) == (expected[n_s] + f_ss) % 30


@pytest.mark.parametrize(("n_id_cell", "delta_ss"), [(1, 0), (77, 5), (503, 29)])
def test_n_prs_and_sequence_hopping(n_id_cell: int, delta_ss: int) -> None:
    fss = R.f_ss_pusch(n_id_cell, delta_ss)
    assert fss == (n_id_cell % 30 + delta_ss) % 30
    c_init = (n_id_cell // 30) * 32 + fss
    c = _gold_reference(c_init, 8 * 7 * 20)
    expected = [sum(int(c[8 * 7 * n_s + i]) << i for i in range(8)) for n_s in range(20)]
    np.testing.assert_array_equal(R.pusch_n_prs(n_id_cell, fss), expected)
    for n_s in range(20):
        assert R.base_sequence_number(n_id_cell, n_s, 72, False, True, fss) == c[n_s]
        assert R.base_sequence_number(n_id_cell, n_s, 60, False, True, fss) == 0  # < 6 RB: v = 0
        assert R.base_sequence_number(n_id_cell, n_s, 72, True, True, fss) == 0  # group hopping wins
        assert R.base_sequence_number(n_id_cell, n_s, 72, False, False, fss) == 0


def test_n_prs_of_the_srsran_vector() -> None:
    """README: PCI 1, Delta_ss 0: n_PRS(8) = 0, n_PRS(9) = 6; u = 1."""
    n_prs = R.pusch_n_prs(1, R.f_ss_pusch(1, 0))
    assert (n_prs[8], n_prs[9]) == (0, 6)
    assert R.pusch_dmrs_n_cs(1, 8, 0, 0, 0) == 0 and R.pusch_dmrs_n_cs(1, 9, 0, 0, 0) == 6
    assert R.sequence_group(1, 8, False, R.f_ss_pusch(1, 0)) == 1


def test_dmrs_cyclic_shift_tables() -> None:
    assert R.N_DMRS1 == (0, 2, 3, 4, 6, 8, 9, 10)  # Table 5.5.2.1.1-2
    assert R.N_DMRS2 == (0, 6, 3, 4, 2, 8, 10, 9)  # Table 5.5.2.1.1-1


def test_pusch_dmrs_matches_srsran_vector(vectors_dir) -> None:
    x = np.fromfile(
        vectors_dir / "uplink" / "pusch_pci1_rnti0x46_sf4_prb5-14_mcs10_rv0_25prb_7.68Msps.cf32", dtype="<c8"
    )
    grid = scfdma_demodulate(x, 25) * (SAMPLE_RMS_FULL_LOAD / np.sqrt(300) / 6.9877e-3)
    dmrs = R.pusch_dmrs(1, 4, 10)
    np.testing.assert_allclose(grid[list(R.PUSCH_DMRS_SYMBOLS), 60:180], dmrs, atol=2e-4)
    # a wrong cyclic shift or group is far off
    wrong = R.pusch_dmrs(1, 4, 10, n_dmrs2_field=1)
    assert np.abs(grid[3, 60:180] - wrong[0]).max() > 0.5


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="m_sc"):
        R.base_sequence(0, 0, 30)
    with pytest.raises(ValueError, match="v = 1"):
        R.base_sequence(0, 1, 36)
    with pytest.raises(ValueError, match="u must"):
        R.base_sequence(30, 0, 12)
    with pytest.raises(ValueError, match="n_id_cell"):
        R.group_hopping_f_gh(504)
    with pytest.raises(ValueError, match="n_s"):
        R.sequence_group(1, 20, False, 1)
