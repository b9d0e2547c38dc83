"""UL-SCH MAC PDUs (mac/pdu.py, TS 36.321 6.1.2, 6.1.3, Table 6.2.1-2) and the DL CEs of random access.

Known answers: srsRAN 4G's MAC PDU test vectors (srsran/srsRAN_4G, lib/test/mac/pdu_test.cc:
mac_sch_pdu_pack_test1/2 (two 8-byte SDUs on LCID 1 and 2), test6 (long BSR), test9 (short BSR),
test10 (short BSR + PHR), mac_sch_pdu_unpack_test3 (DL TA command 31)) and hand-worked bytes.
"""

import pytest

from mac.pdu import (
    LCID_CCCH,
    LCID_CONTENTION_RESOLUTION,
    LCID_PADDING,
    LCID_TIMING_ADVANCE,
    LCID_UL_C_RNTI,
    LCID_UL_LONG_BSR,
    LCID_UL_POWER_HEADROOM,
    LCID_UL_SHORT_BSR,
    MacSubPdu,
    build_dl_sch_pdu,
    build_ul_sch_pdu,
    c_rnti_ce,
    contention_resolution_ce,
    parse_dl_sch_pdu,
    parse_timing_advance_ce,
    parse_ul_sch_pdu,
    timing_advance_ce,
)

SRSRAN_TWO_SDUS_25 = bytes([0x21, 0x08, 0x22, 0x08, 0x1F]) + bytes([1] * 8) + bytes([2] * 8) + bytes(4)
SRSRAN_TWO_SDUS_21 = bytes([0x3F, 0x3F, 0x21, 0x08, 0x02]) + bytes([1] * 8) + bytes([2] * 8)
SRSRAN_LONG_BSR = bytes([0x3E, 0x1F, 0x86, 0x18, 0x61, 0x00, 0x00, 0x00])
SRSRAN_SHORT_BSR = bytes([0x3F, 0x1D, 0x09])
SRSRAN_SHORT_BSR_PHR = bytes([0x3D, 0x1A, 0x1F, 0x21])
SRSRAN_DL_TA31 = bytes([0x3D, 0x1F, 0x1F, 0x00])


def test_lcid_table_6_2_1_2():
    assert (LCID_UL_POWER_HEADROOM, LCID_UL_C_RNTI, LCID_UL_SHORT_BSR, LCID_UL_LONG_BSR) == (26, 27, 29, 30)
    assert LCID_PADDING == 31


@pytest.mark.parametrize(
    "data, sdus, ces",
    [
        (SRSRAN_TWO_SDUS_25, [(1, bytes([1] * 8)), (2, bytes([2] * 8))], []),
        (SRSRAN_TWO_SDUS_21, [(1, bytes([1] * 8)), (2, bytes([2] * 8))], []),
        (SRSRAN_LONG_BSR, [], [(LCID_UL_LONG_BSR, bytes([0x86, 0x18, 0x61]))]),
        (SRSRAN_SHORT_BSR, [], [(LCID_UL_SHORT_BSR, b"\x09")]),
        (SRSRAN_SHORT_BSR_PHR, [], [(LCID_UL_SHORT_BSR, b"\x1f"), (LCID_UL_POWER_HEADROOM, b"\x21")]),
    ],
    ids=["two_sdus_25", "two_sdus_21", "long_bsr", "short_bsr", "short_bsr_phr"],
)
def test_srsran_ul_sch_vectors(data, sdus, ces):
    assert build_ul_sch_pdu(sdus, ces, tbs_bytes=len(data)) == data
    assert parse_ul_sch_pdu(data) == [MacSubPdu(lcid, p) for lcid, p in ces + sdus]


def test_srsran_dl_timing_advance_vector():
    subpdus = parse_dl_sch_pdu(SRSRAN_DL_TA31)
    assert subpdus == [MacSubPdu(LCID_TIMING_ADVANCE, b"\x1f")]
    assert parse_timing_advance_ce(subpdus[0].payload) == 31
    # srsRAN's vector ends with a padding subheader and one padding byte, which parses; for 2 spare bytes
    # TS 36.321 6.1.2 puts two padding subheaders first, which is what the builder writes
    assert build_dl_sch_pdu([], [timing_advance_ce(31)], tbs_bytes=4) == bytes([0x3F, 0x3F, 0x1D, 0x1F])


def test_msg3_and_msg4_hand_worked():
    # Msg3: a 6-byte RRCConnectionRequest on CCCH filling a 7-byte TB: one last subheader R/R/E=0/LCID=00000
    ccch = bytes.fromhex("4d2a6b3c1e06")
    msg3 = build_ul_sch_pdu([(LCID_CCCH, ccch)], tbs_bytes=7)
    assert msg3 == b"\x00" + ccch
    # a connected handset's Msg3: C-RNTI CE (0x4601) + short BSR, 4 bytes of padding at the end
    msg3c = build_ul_sch_pdu([], [tuple(c_rnti_ce(0x4601)), (LCID_UL_SHORT_BSR, b"\x05")], tbs_bytes=9)
    assert msg3c == bytes([0b00_1_11011, 0b00_1_11101, 0b00_0_11111, 0x46, 0x01, 0x05, 0, 0, 0])
    assert parse_ul_sch_pdu(msg3c) == [MacSubPdu(27, b"\x46\x01"), MacSubPdu(29, b"\x05")]
    # Msg4: the contention resolution identity echoes the first 48 bits of the Msg3 CCCH SDU (6.1.3.4)
    ce = contention_resolution_ce(ccch + b"\x99")
    assert ce == MacSubPdu(LCID_CONTENTION_RESOLUTION, ccch)
    msg4 = build_dl_sch_pdu([(LCID_CCCH, b"\x68\x12\x98")], [tuple(ce)], tbs_bytes=11)
    assert msg4 == bytes([0b00_1_11100, 0b00_0_00000]) + ccch + b"\x68\x12\x98"


def test_ul_errors_name_the_table():
    with pytest.raises(ValueError, match="reserved in the uplink"):
        parse_ul_sch_pdu(bytes([0b00_0_01100, 0]))  # LCID 12
    with pytest.raises(ValueError, match="not a UL MAC CE"):
        build_ul_sch_pdu([], [(25, b"\x00")])  # reserved in Table 6.2.1-2
    with pytest.raises(ValueError, match="has 2 bytes"):
        build_ul_sch_pdu([], [(LCID_UL_C_RNTI, b"\x01")])
    with pytest.raises(ValueError, match="16 bits"):
        c_rnti_ce(0x10000)
    # LCID 27 means C-RNTI in the UL and is reserved in the DL
    with pytest.raises(ValueError, match="reserved in the downlink"):
        parse_dl_sch_pdu(bytes([0b00_0_11011, 0, 1]))


@pytest.mark.parametrize("spare", [0, 1, 2, 3, 200])
def test_ul_round_trips(spare):
    sdus = [(0, bytes(range(6))), (3, bytes(130)), (1, b"\x07")]
    ces = [tuple(c_rnti_ce(0xBEEF)), (LCID_UL_LONG_BSR, b"\x01\x02\x03"), (LCID_UL_POWER_HEADROOM, b"\x2a")]
    size = len(build_ul_sch_pdu(sdus, ces))
    data = build_ul_sch_pdu(sdus, ces, tbs_bytes=size + spare)
    assert len(data) == size + spare
    assert parse_ul_sch_pdu(data) == [MacSubPdu(*x) for x in ces + sdus]
