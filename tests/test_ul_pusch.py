"""PUSCH and UL-SCH coding (TS 36.212 5.2.2, TS 36.211 5.3): tables, Q' counts, the channel interleaver,
control-information coding, scrambling placeholders, and the srsRAN PUSCH vectors reproduced to float
precision by the transmitter and decoded from their ideal LLRs."""

from __future__ import annotations

import numpy as np
import pytest

from phy.channels import pusch as P
from phy.dci import Dci0
from phy.modulation import demodulate_llr, modulate
from phy.numerology import SAMPLE_RMS_FULL_LOAD
from phy.scfdma import scfdma_demodulate, scfdma_modulate
from phy.ue.ul_tx import PuschTx, ul_subframe_grid, ul_subframe_samples
from phy.ul_config import UlCellConfig

VECTOR_NONE = "pusch_pci1_rnti0x46_sf4_prb5-14_mcs10_rv0_25prb_7.68Msps.cf32"
VECTOR_ACK1 = "pusch_pci1_rnti0x46_sf4_prb5-14_mcs10_rv0_ack1_betaidx0_25prb_7.68Msps.cf32"
VECTOR_ACK0 = "pusch_pci1_rnti0x46_sf4_prb5-14_mcs10_rv0_ack0_betaidx0_25prb_7.68Msps.cf32"
# README: srsRAN's scale, a unitary 512-point IFFT times 1 / (2 sqrt(L_PRB)), L_PRB = 10: A per RE
A_SRSRAN = 1.0 / (2.0 * np.sqrt(10.0) * np.sqrt(512.0))
A_OURS = SAMPLE_RMS_FULL_LOAD / np.sqrt(300.0)  # scfdma_modulate's amplitude of a unit RE at 25 PRB
PAYLOAD = np.unpackbits(np.arange(217, dtype=np.uint8))  # bytes 0x00 .. 0xD8, MSB first
CASES = [(VECTOR_NONE, None), (VECTOR_ACK1, (1,)), (VECTOR_ACK0, (0,))]


def _vector_grant() -> P.PuschGrant:
    return P.grant_from_dci0(Dci0(rb_assignment=230, mcs_rv=10), 25, 0x46)


# TS 36.213 Table 8.6.1-1 as printed: I_MCS -> (Q'_m, I_TBS, RV)
UL_MCS_TABLE = (
    [(2, i, 0) for i in range(11)] + [(4, i, 0) for i in range(10, 20)] + [(6, i, 0) for i in range(19, 27)]
)


def test_ul_mcs_table() -> None:
    for i_mcs, row in enumerate(UL_MCS_TABLE):
        assert P.ul_mcs(i_mcs, enable_64qam=True) == row
        assert P.ul_mcs(i_mcs)[0] == min(row[0], 4)  # without 64QAM: Q_m = min(4, Q'_m)
    assert [P.ul_mcs(i)[2] for i in (29, 30, 31)] == [1, 2, 3]
    assert all(P.ul_mcs(i)[1] is None for i in (29, 30, 31))
    with pytest.raises(ValueError, match="I_MCS"):
        P.ul_mcs(32)


def test_beta_offset_tables() -> None:
    assert len(P.BETA_ACK) == 15 and P.BETA_ACK[0] == 2.0 and P.BETA_ACK[8] == 12.625 and P.BETA_ACK[14] == 126.0
    assert len(P.BETA_RI) == 13 and P.BETA_RI[0] == 1.25 and P.BETA_RI[12] == 20.0
    assert P.BETA_CQI[:2] == (None, None) and P.BETA_CQI[2] == 1.125 and P.BETA_CQI[15] == 6.25
    assert all(a < b for a, b in zip(P.BETA_ACK, P.BETA_ACK[1:], strict=False))


def test_cqi_basis_structure() -> None:
    basis = P.CQI_BASIS
    assert basis.shape == (32, 11)
    assert basis[:, 0].all() and basis[30].all() and basis[31].tolist() == [1] + [0] * 10
    # rows typed from the spec text (TS 36.212 Table 5.2.2.6.4-1)
    assert basis[2].tolist() == [1, 0, 0, 1, 0, 0, 1, 0, 1, 1, 1]
    assert basis[16].tolist() == [1, 1, 1, 0, 1, 1, 1, 0, 0, 1, 0]
    assert basis[27].tolist() == [1, 1, 1, 1, 0, 1, 0, 1, 1, 1, 0]
    # full rank: the 2^11 payloads give 2^11 distinct codewords, none closer than 8 bits
    codewords = P._cqi_codewords(11)
    assert len({cw.tobytes() for cw in codewords}) == 2048
    assert codewords[1:].sum(axis=1).min() >= 8


def test_valid_dft_sizes() -> None:
    valid = [n for n in range(1, 101) if P.valid_pusch_n_prb(n)]
    assert valid == [1, 2, 3, 4, 5, 6, 8, 9, 10, 12, 15, 16, 18, 20, 24, 25, 27, 30, 32, 36, 40, 45, 48, 50, 54,
                     60, 64, 72, 75, 80, 81, 90, 96, 100]
    with pytest.raises(ValueError, match="2\\^a 3\\^b 5\\^c"):
        P.PuschGrant(0, 7, 100, 2, 0, 1)


def test_grant_of_the_srsran_vector() -> None:
    g = _vector_grant()
    assert (g.prb_start, g.n_prb, g.tbs, g.q_m, g.rv) == (5, 10, 1736, 2, 0)
    assert P.pusch_c_init(0x46, 1, 4) == 1_148_929
    # README: Q' = ceil(1 * 120 * 12 * 2.0 / 1760) = 2
    assert P.q_prime_ack_ri(1, 2.0, 120, 1736) == 2
    retx = P.grant_from_dci0(Dci0(rb_assignment=230, mcs_rv=30), 25, 0x46, tbs_first=1736, q_m_first=2)
    assert (retx.rv, retx.tbs) == (2, 1736)
    with pytest.raises(ValueError, match="retransmission"):
        P.grant_from_dci0(Dci0(rb_assignment=230, mcs_rv=29), 25, 0x46)


def test_q_prime_formulas_by_hand() -> None:
    # CQI: O = 4 (L = 0), beta 2.0, M 120, K = 1760: ceil(4*120*12*2/1760) = ceil(6.545) = 7
    assert P.q_prime_cqi(4, 2.0, 120, 1736, 0) == 7
    # O = 20: L = 8 -> ceil(28*1440*2/1760) = ceil(45.8) = 46
    assert P.q_prime_cqi(20, 2.0, 120, 1736, 0) == 46
    # capped at 4 M_sc for HARQ-ACK
    assert P.q_prime_ack_ri(2, 126.0, 12, 16) == 48


def test_ack_positions_of_the_srsran_vector() -> None:
    """README: HARQ-ACK in columns 2 and 9, last row, i.e. bits 718-719 and 2398-2399 of the 2880."""
    g = _vector_grant()
    h_none = P.ulsch_encode(PAYLOAD, g)
    for ack in (0, 1):
        h = P.ulsch_encode(PAYLOAD, g, P.UciConfig(ack=(ack,)))
        differ = np.flatnonzero(h != h_none)
        assert set(differ) <= {718, 719, 2398, 2399}
        assert h[718] == ack and h[719] == P.PH_Y and h[2398] == ack and h[2399] == P.PH_Y
    b1 = P.pusch_scramble(P.ulsch_encode(PAYLOAD, g, P.UciConfig(ack=(1,))), 0x46, 1, 4)
    b0 = P.pusch_scramble(P.ulsch_encode(PAYLOAD, g, P.UciConfig(ack=(0,))), 0x46, 1, 4)
    bn = P.pusch_scramble(h_none, 0x46, 1, 4)
    assert np.array_equal(b1, bn)  # README: the ACK=1 file is bit-identical to the data-only file
    assert set(np.flatnonzero(b0 != bn)) == {718, 719, 2398, 2399}


def test_ri_and_ack_columns_and_order() -> None:
    """5.2.2.8: RI from the bottom row in columns 1, 10, 7, 4; HARQ-ACK in 2, 9, 8, 3; read column-wise."""
    source, punct, inverse = P._interleaver(12 * 10 - 6, 6, 5)  # R_mux = 10 rows of vectors
    mat = source.reshape(12, 10).T  # [row, column]
    h_prime = 12 * 10 - 6
    ri_cells = [(9, 1), (9, 10), (9, 7), (9, 4), (8, 1), (8, 10)]
    for i, (r, c) in enumerate(ri_cells):
        assert mat[r, c] == h_prime + i
    ack_cells = [(9, 2), (9, 9), (9, 8), (9, 3), (8, 2)]
    for i, (r, c) in enumerate(ack_cells):
        assert mat[r, c] == h_prime + 6 + i
    # data fill row by row around the RI: g_0 .. g_11 in row 0, and row 8 skips columns 1 and 10
    assert mat[0].tolist() == list(range(12))
    assert punct.size == 5  # every HARQ-ACK vector overwrote a data vector
    kept = np.setdiff1d(np.arange(h_prime + 11), punct)
    np.testing.assert_array_equal(source[inverse[kept]], kept)


def test_placeholder_scrambling() -> None:
    h = np.array([1, P.PH_Y, P.PH_X, P.PH_X, 0, 1, P.PH_Y, 0], dtype=np.int8)
    c = np.array(P.gold_sequence_cached(P.pusch_c_init(5, 7, 2), h.size))
    b = P.pusch_scramble(h, 5, 7, 2)
    assert b[0] == 1 ^ c[0] and b[1] == b[0] and b[2] == 1 and b[3] == 1
    assert b[4] == c[4] and b[5] == 1 ^ c[5] and b[6] == b[5] and b[7] == c[7]


def test_ack_ri_coding() -> None:
    assert P.encode_ack_ri((1,), 2, 4).tolist() == [1, P.PH_Y, 1, P.PH_Y]
    assert P.encode_ack_ri((0,), 4, 4).tolist() == [0, P.PH_Y, P.PH_X, P.PH_X]
    x = P.PH_X
    assert P.encode_ack_ri((1, 0), 2, 8).tolist() == [1, 0, 1, 1, 0, 1, 1, 0]  # o2 = o0 xor o1, repeated
    assert P.encode_ack_ri((1, 1), 4, 12).tolist() == [1, 1, x, x, 0, 1, x, x, 1, 0, x, x]


def test_transform_precoding_is_unitary() -> None:
    rng = np.random.default_rng(3)
    d = modulate(rng.integers(0, 2, 12 * 36 * 4).astype(np.uint8), 4)
    z = P.transform_precode(d, 36)
    assert z.shape == (12, 36)
    assert np.sum(np.abs(z) ** 2) == pytest.approx(np.sum(np.abs(d) ** 2), rel=1e-5)
    np.testing.assert_allclose(P.transform_deprecode(z).reshape(-1), d, atol=1e-5)


@pytest.mark.parametrize(("name", "ack"), CASES)
def test_transmitter_reproduces_srsran_waveform(vectors_dir, name: str, ack) -> None:
    """Our handset transmitter with the README's parameters gives each srsRAN waveform to float precision
    (relative RMS error ~1e-5: srsRAN computes the DMRS phase in float32)."""
    ref = np.fromfile(vectors_dir / "uplink" / name, dtype="<c8").astype(np.complex128)
    cell = UlCellConfig(n_id_cell=1, n_rb_ul=25)
    uci = None if ack is None else P.UciConfig(ack=ack, beta_ack_index=0)
    grid = ul_subframe_grid(cell, 4, PuschTx(_vector_grant(), PAYLOAD, uci))
    x = ul_subframe_samples(grid, 25) * (A_SRSRAN / A_OURS)
    rel = np.sqrt(np.mean(np.abs(x - ref) ** 2) / np.mean(np.abs(ref) ** 2))
    assert rel < 3e-5
    assert np.abs(x - ref).max() < 2e-5
    if ack == (0,):  # the data-only model differs from the ACK = 0 file: the test can tell
        x_none = ul_subframe_samples(ul_subframe_grid(cell, 4, PuschTx(_vector_grant(), PAYLOAD)), 25)
        assert np.sqrt(np.mean(np.abs(x_none * (A_SRSRAN / A_OURS) - ref) ** 2) / np.mean(np.abs(ref) ** 2)) > 0.05


def _ideal_llr(samples: np.ndarray, grant: P.PuschGrant) -> np.ndarray:
    grid = scfdma_demodulate(samples, 25) * np.float32(A_OURS / A_SRSRAN)
    k0 = 12 * grant.prb_start
    d = P.transform_deprecode(grid[list(P.PUSCH_DATA_SYMBOLS), k0 : k0 + grant.m_sc]).reshape(-1)
    return demodulate_llr(d, grant.q_m, 0.05)


@pytest.mark.parametrize(("name", "ack"), CASES)
def test_ulsch_decode_of_srsran_vectors(vectors_dir, name: str, ack) -> None:
    x = np.fromfile(vectors_dir / "uplink" / name, dtype="<c8")
    g = _vector_grant()
    uci = None if ack is None else P.UciConfig(ack=(0,))
    res = P.ulsch_decode(_ideal_llr(x, g), g, 1, 4, uci)
    assert res.crc_ok and np.array_equal(res.bits, PAYLOAD)
    assert res.ack == (() if ack is None else ack)
    wrong = P.PuschGrant(g.prb_start, g.n_prb, g.tbs, g.q_m, g.rv, 0x47)
    assert not P.ulsch_decode(_ideal_llr(x, g), wrong, 1, 4, uci).crc_ok


@pytest.mark.parametrize(
    ("q_m", "n_prb", "tbs", "uci"),
    [
        (2, 4, 600, P.UciConfig(ack=(1, 0), ri=(1,), cqi=(1, 0, 1, 1))),
        (4, 6, 1500, P.UciConfig(ack=(0,), ri=(0, 1), cqi=tuple(np.arange(11) % 2))),
        (6, 5, 1500, P.UciConfig(ack=(1, 1), cqi=tuple((np.arange(20) * 7 % 3) % 2), beta_cqi_index=9)),
        (4, 3, 600, P.UciConfig(cqi=tuple((np.arange(30) * 5 % 7) % 2), beta_cqi_index=15)),
    ],
)
def test_ulsch_round_trip_with_control(q_m: int, n_prb: int, tbs: int, uci: P.UciConfig) -> None:
    """Encode with HARQ-ACK, RI and CQI (block code and convolutional), scramble, modulate; decode from
    noisy LLRs: every field comes back."""
    rng = np.random.default_rng(q_m * 100 + n_prb)
    g = P.PuschGrant(0, n_prb, tbs, q_m, 0, 0x321)
    tb = rng.integers(0, 2, g.tbs).astype(np.uint8)
    b = P.pusch_scramble(P.ulsch_encode(tb, g, uci), g.rnti, 9, 6)
    d = modulate(b, q_m)
    nv = 0.02
    y = d + np.sqrt(nv / 2) * (rng.standard_normal(d.size) + 1j * rng.standard_normal(d.size))
    res = P.ulsch_decode(demodulate_llr(y, q_m, nv), g, 9, 6, uci.shape())
    assert res.crc_ok and np.array_equal(res.bits, tb)
    assert res.ack == uci.ack and res.ri == uci.ri and res.cqi == uci.cqi and res.cqi_ok


def test_harq_combining_at_llr_level() -> None:
    """RV 0 then RV 2 of the same block with weak LLRs: combining decodes what neither does alone."""
    rng = np.random.default_rng(11)
    g0 = P.PuschGrant(0, 6, 1544, 2, 0, 7)  # code rate ~0.9: hopeless alone at this SNR
    g2 = P.PuschGrant(0, 6, 1544, 2, 2, 7)
    tb = rng.integers(0, 2, g0.tbs).astype(np.uint8)
    nv = 0.5

    def llr(g: P.PuschGrant) -> np.ndarray:
        d = modulate(P.pusch_scramble(P.ulsch_encode(tb, g), 7, 3, 1), 2)
        y = d + np.sqrt(nv / 2) * (rng.standard_normal(d.size) + 1j * rng.standard_normal(d.size))
        return demodulate_llr(y, 2, nv)

    r0 = P.ulsch_decode(llr(g0), g0, 3, 1)
    r2_alone = P.ulsch_decode(llr(g2), g2, 3, 1)
    r2 = P.ulsch_decode(llr(g2), g2, 3, 1, soft_buffers=r0.soft_buffers)
    assert not r0.crc_ok and not r2_alone.crc_ok
    assert r2.crc_ok and np.array_equal(r2.bits, tb)


def test_bad_input() -> None:
    g = _vector_grant()
    with pytest.raises(ValueError, match="TBS"):
        P.ulsch_encode(np.zeros(10, np.uint8), g)
    with pytest.raises(ValueError, match="LLRs"):
        P.ulsch_decode(np.zeros(100, np.float32), g, 1, 4)
    with pytest.raises(ValueError, match="beta_cqi_index"):
        P.UciConfig(cqi=(1,), beta_cqi_index=1)
    with pytest.raises(ValueError, match="exceed"):
        P.pusch_map(np.zeros((14, 72), np.complex64), PAYLOAD, g, 1, 4)
    with pytest.raises(ValueError, match="hopping"):
        P.grant_from_dci0(Dci0(rb_assignment=230, mcs_rv=10, hopping=1), 25, 1)
    assert scfdma_modulate is not None
