"""RAR fields (mac/rar.py, mac/pdu.py): backoff table, timing advance, the 20-bit UL grant, Msg3 timing.

Known answers: hand-worked bit strings from TS 36.321 6.2.2/6.2.3 and TS 36.213 6.2, and the RAR test
vectors of srsRAN 4G (srsran/srsRAN_4G, lib/test/mac/pdu_test.cc: rar_pdu_tv1, rar_pdu_tv2, whose grant is
srsran_dci_rar_pack of a zero grant with tpc_pusch = 3).
"""

import pytest

from mac.pdu import Rar, RarPdu, RarUlGrant, build_rar, parse_rar
from mac.rar import (
    BACKOFF_PARAMETER_S,
    RAR_TA_MAX,
    TA_STEP_S,
    backoff_indicator_for,
    backoff_parameter_s,
    msg3_allocation,
    msg3_subframe,
    rar_grant,
    rar_timing_advance,
    ta_command_adjustment_s,
    ta_command_for,
    timing_advance_s,
)

# srsRAN 4G lib/test/mac/pdu_test.cc
SRSRAN_RAR_TV1 = bytes([0x6A, 0x00, 0x80, 0x00, 0x0C, 0x10, 0x01])  # RAPID 42, TA 8, TC-RNTI 0x1001
SRSRAN_RAR_TV2 = bytes([0x82, 0x56, 0x00, 0x00, 0x00, 0x0C, 0x10, 0x01])  # BI 2, RAPID 22, TA 0, 0x1001
SRSRAN_GRANT = RarUlGrant(hopping=False, rb_assignment=0, mcs=0, tpc=3, ul_delay=False, csi_request=False)


def test_srsran_rar_vectors_parse_and_build():
    tv1 = RarPdu((Rar(rapid=42, timing_advance=8, ul_grant=SRSRAN_GRANT, tc_rnti=0x1001),))
    tv2 = RarPdu((Rar(rapid=22, timing_advance=0, ul_grant=SRSRAN_GRANT, tc_rnti=0x1001),), backoff_indicator=2)
    assert parse_rar(SRSRAN_RAR_TV1) == tv1
    assert build_rar(tv1) == SRSRAN_RAR_TV1
    assert parse_rar(SRSRAN_RAR_TV2) == tv2
    assert build_rar(tv2) == SRSRAN_RAR_TV2
    # what the handset makes of that grant: RIV 0 -> PRB 0, one RB; I_MCS 0 -> QPSK, TBS 16; TPC 3 -> 0 dB
    m = msg3_allocation(SRSRAN_GRANT, n_rb_ul=25, tc_rnti=0x1001)
    assert (m.pusch.prb_start, m.pusch.n_prb, m.pusch.q_m, m.pusch.tbs, m.delta_msg2_db) == (0, 1, 2, 16, 0)
    assert backoff_parameter_s(2) == pytest.approx(0.020)


def test_backoff_table_7_2_1():
    assert len(BACKOFF_PARAMETER_S) == 13
    expect_ms = [0, 10, 20, 30, 40, 60, 80, 120, 160, 240, 320, 480, 960]
    assert [round(backoff_parameter_s(i) * 1e3) for i in range(13)] == expect_ms
    assert [backoff_parameter_s(i) for i in (13, 14, 15)] == [0.960] * 3  # reserved -> 960 ms (table note)
    assert backoff_indicator_for(0.0) == 0 and backoff_indicator_for(0.05) == 5 and backoff_indicator_for(0.96) == 12
    with pytest.raises(ValueError, match="960 ms"):
        backoff_indicator_for(1.0)
    with pytest.raises(ValueError, match="0..15"):
        backoff_parameter_s(16)


def test_timing_advance_units():
    # TS 36.213 4.2.3: N_TA = 16 T_A, T_s = 1 / 30.72 MHz; the largest RAR T_A 1282 is 0.6677 ms
    assert TA_STEP_S == pytest.approx(16 / 30.72e6)
    assert timing_advance_s(RAR_TA_MAX) == pytest.approx(0.66771e-3, abs=1e-8)
    assert rar_timing_advance(timing_advance_s(417)) == 417
    assert rar_timing_advance(100e-6) == round(100e-6 * 30.72e6 / 16) == 192
    with pytest.raises(ValueError, match="only transmit earlier"):
        rar_timing_advance(-1e-6)
    with pytest.raises(ValueError, match="only transmit earlier"):
        rar_timing_advance(0.7e-3)
    # 6-bit TA command: (T_A - 31) 16 T_s
    assert ta_command_adjustment_s(31) == 0 and ta_command_adjustment_s(63) == pytest.approx(32 * TA_STEP_S)
    assert ta_command_for(-5 * TA_STEP_S) == 26 and ta_command_for(1.0) == 63 and ta_command_for(-1.0) == 0


def test_rar_grant_hand_worked_bits():
    # N_RB_UL 25: Msg3 on PRBs 2..4: RIV = 25 (L - 1) + start = 52 (TS 36.213 7.1.6.3); I_MCS 4; TPC 0 dB -> 3
    g = rar_grant(rb_start=2, l_crbs=3, n_rb_ul=25, i_mcs=4, tpc_db=0)
    assert g == RarUlGrant(False, 52, 4, 3, False, False)
    pdu = RarPdu((Rar(rapid=7, timing_advance=417, ul_grant=g, tc_rnti=0x4601),))
    # E T RAPID | R TA(11) | hop RB(10) MCS(4) TPC(3) delay csi | TC-RNTI(16)
    bits = "0" + "1" + "000111" + "0" + "00110100001" + "0" + "0000110100" + "0100" + "011" + "0" + "0"
    bits += format(0x4601, "016b")
    assert len(bits) == 56
    assert build_rar(pdu) == int(bits, 2).to_bytes(7, "big") == bytes.fromhex("471a10688c4601")
    m = msg3_allocation(g, 25, 0x4601)
    # Table 8.6.1-1: I_MCS 4 -> QPSK, I_TBS 4; Table 7.1.7.2.1-1: I_TBS 4 on 3 PRBs = 208 bits
    assert (m.pusch.prb_start, m.pusch.n_prb, m.pusch.q_m, m.pusch.tbs, m.pusch.rnti) == (2, 3, 2, 208, 0x4601)
    assert m.k1_subframes == 6 and m.delta_msg2_db == 0


def test_rar_grant_truncation_and_extension():
    # N_RB_UL 6 <= 44: only the b = ceil(log2(21)) = 5 LSBs count (TS 36.213 6.2)
    g = RarUlGrant(False, 0b1111100011, 0, 3, False, False)
    m = msg3_allocation(g, 6, 1)
    assert (m.pusch.prb_start, m.pusch.n_prb) == (3, 1)
    # N_RB_UL 50 > 44: the RIV is extended with zero MSBs; RIV 160 = 50 * 3 + 10 -> PRBs 10..13
    g = rar_grant(10, 4, 50, 15, tpc_db=8, ul_delay=True)
    m = msg3_allocation(g, 50, 1)
    assert (m.pusch.prb_start, m.pusch.n_prb, m.pusch.q_m, m.delta_msg2_db, m.k1_subframes) == (10, 4, 4, 8, 7)
    with pytest.raises(ValueError, match="RIVs < 1024"):
        rar_grant(0, 26, 50, 0)
    with pytest.raises(ValueError, match="I_MCS 0..15"):
        rar_grant(0, 1, 25, 16)
    with pytest.raises(ValueError, match="Table 6.2-1"):
        rar_grant(0, 1, 25, 0, tpc_db=1)
    with pytest.raises(ValueError, match="hopping"):
        msg3_allocation(RarUlGrant(True, 0, 0, 3, False, False), 25, 1)


@pytest.mark.parametrize("n_rb_ul", [6, 15, 25, 50, 75, 100])
def test_rar_grant_round_trips_every_bandwidth(n_rb_ul):
    for rb_start, l_crbs in ((0, 1), (1, 2), (n_rb_ul - 3, 3), (0, 5)):
        for i_mcs in (0, 10, 15):
            g = rar_grant(rb_start, l_crbs, n_rb_ul, i_mcs, tpc_db=-6)
            raw = build_rar(RarPdu((Rar(1, 0, g, 0x003D),)))
            back = parse_rar(raw).rars[0].ul_grant
            m = msg3_allocation(back, n_rb_ul, 0x003D)
            assert (m.pusch.prb_start, m.pusch.n_prb, m.delta_msg2_db) == (rb_start, l_crbs, -6)


def test_msg3_subframe():
    assert msg3_subframe(13, False) == 19 and msg3_subframe(13, True) == 20  # TS 36.213 6.1.1, n + k1
