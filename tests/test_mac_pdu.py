"""DL-SCH MAC PDUs and RAR PDUs (TS 36.321 6.1.2, 6.1.3, 6.1.5, 6.2): known bytes and round trips."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mac.pdu import (
    LCID_CCCH,
    LCID_CONTENTION_RESOLUTION,
    LCID_DRX_COMMAND,
    LCID_TIMING_ADVANCE,
    MacSubPdu,
    Rar,
    RarPdu,
    RarUlGrant,
    build_dl_sch_pdu,
    build_rar,
    contention_resolution_ce,
    drx_command_ce,
    parse_dl_sch_pdu,
    parse_rar,
    parse_timing_advance_ce,
    timing_advance_ce,
)

_CE_LCIDS = (LCID_CONTENTION_RESOLUTION, LCID_TIMING_ADVANCE, LCID_DRX_COMMAND)


def _subheader(e: int, lcid: int) -> int:
    """R/R/E/LCID octet by hand: bits R R E L4 L3 L2 L1 L0 (TS 36.321 Figure 6.1.2-2)."""
    return (e << 5) | lcid


def _subheader_l7(e: int, lcid: int, length: int) -> bytes:
    """R/R/E/LCID/F/L with F = 0 and a 7-bit L (Figure 6.1.2-1)."""
    return bytes([_subheader(e, lcid), length])


def _subheader_l15(e: int, lcid: int, length: int) -> bytes:
    """R/R/E/LCID/F/L with F = 1 and a 15-bit L (Figure 6.1.2-1)."""
    return bytes([_subheader(e, lcid), 0x80 | (length >> 8), length & 0xFF])


def _split(elements):
    ces = [e for e in elements if e.lcid in _CE_LCIDS]
    sdus = [e for e in elements if e.lcid not in _CE_LCIDS]
    return sdus, ces


CCCH_MSG3 = bytes.fromhex("5a1b2c3d4e5f")
SDU10 = bytes(range(1, 11))


def test_subheader_octets():
    assert _subheader(1, 28) == 0x3C and _subheader(0, 0) == 0x00 and _subheader(1, 31) == 0x3F


@pytest.mark.parametrize(
    "tbs_bytes, expect",
    [
        # exact fit: CRI subheader (E=1), CCCH subheader last without L, CE, SDU
        (18, bytes([_subheader(1, 28), _subheader(0, 0)]) + CCCH_MSG3 + SDU10),
        # one and two bytes spare: padding subheaders at the start (6.1.2)
        (19, bytes([_subheader(1, 31), _subheader(1, 28), _subheader(0, 0)]) + CCCH_MSG3 + SDU10),
        (20, bytes([_subheader(1, 31), _subheader(1, 31), _subheader(1, 28), _subheader(0, 0)])
         + CCCH_MSG3 + SDU10),
        # seven spare: the SDU takes an L field (2 bytes), a padding subheader closes the header, 4 zero bytes
        (25, bytes([_subheader(1, 28)]) + _subheader_l7(1, 0, 10) + bytes([_subheader(0, 31)])
         + CCCH_MSG3 + SDU10 + bytes(5)),
        # three spare: L (+1) and the padding subheader (+1) leave one padding byte
        (21, bytes([_subheader(1, 28)]) + _subheader_l7(1, 0, 10) + bytes([_subheader(0, 31)])
         + CCCH_MSG3 + SDU10 + bytes(1)),
    ],
)
def test_msg4_known_bytes(tbs_bytes, expect):
    pdu = build_dl_sch_pdu([(LCID_CCCH, SDU10)], [contention_resolution_ce(CCCH_MSG3)], tbs_bytes)
    assert pdu == expect
    assert len(pdu) == tbs_bytes
    assert parse_dl_sch_pdu(expect) == [(28, CCCH_MSG3), (0, SDU10)]


def test_fifteen_bit_length_and_timing_advance_bytes():
    big = bytes(range(200))
    # TA CE (T_A = 40 -> 00 101000), 200-byte SDU on LCID 1 (F = 1, L = 200), 1-byte SDU on LCID 2 last
    expect = (bytes([_subheader(1, 29)]) + _subheader_l15(1, 1, 200) + bytes([_subheader(0, 2)])
              + bytes([0b00_101000]) + big + b"x")
    pdu = build_dl_sch_pdu([(1, big), (2, b"x")], [timing_advance_ce(40)], len(expect))
    assert pdu == expect
    assert expect[1:4] == bytes([0x21, 0x80, 0xC8])
    parsed = parse_dl_sch_pdu(pdu)
    assert parsed == [(29, bytes([40])), (1, big), (2, b"x")]
    assert parse_timing_advance_ce(parsed[0].payload) == 40


def test_sdu_of_128_bytes_switches_to_f1():
    sdu = bytes(128)
    pdu = build_dl_sch_pdu([(3, sdu), (4, b"ab")], [], 3 + 1 + 130)
    assert pdu[:4] == _subheader_l15(1, 3, 128) + bytes([_subheader(0, 4)])
    sdu = bytes(127)
    pdu = build_dl_sch_pdu([(3, sdu), (4, b"ab")], [], 2 + 1 + 129)
    assert pdu[:3] == _subheader_l7(1, 3, 127) + bytes([_subheader(0, 4)])


def test_padding_only_and_drx():
    assert build_dl_sch_pdu([], [], 4) == bytes([_subheader(0, 31)]) + bytes(3)
    assert build_dl_sch_pdu([], [], 2) == bytes([_subheader(1, 31), _subheader(0, 31)])
    assert parse_dl_sch_pdu(bytes([_subheader(0, 31)]) + bytes(3)) == []
    pdu = build_dl_sch_pdu([], [drx_command_ce()], 1)
    assert pdu == bytes([_subheader(0, 30)])
    assert parse_dl_sch_pdu(pdu) == [(30, b"")]


def test_errors_say_what_to_fix():
    with pytest.raises(ValueError, match="needs 13 bytes but the transport block has 12"):
        build_dl_sch_pdu([(1, SDU10)], [timing_advance_ce(31)], 12)
    with pytest.raises(ValueError, match="LCID 12 is not a DL logical channel"):
        build_dl_sch_pdu([(12, b"a")], [], None)
    with pytest.raises(ValueError, match="LCID 1 is not a DL MAC CE"):
        build_dl_sch_pdu([], [(1, b"a")], None)
    with pytest.raises(ValueError, match="T_A=64"):
        timing_advance_ce(64)
    with pytest.raises(ValueError, match="reserved in the downlink"):
        parse_dl_sch_pdu(bytes([_subheader(0, 15), 0]))
    with pytest.raises(ValueError, match="runs past"):
        parse_dl_sch_pdu(_subheader_l7(1, 1, 20) + bytes([_subheader(0, 31)]) + bytes(5))
    with pytest.raises(ValueError, match="after the last MAC SDU/CE"):
        parse_dl_sch_pdu(bytes([_subheader(0, 29), 31, 0]))


_sdu = st.tuples(st.integers(0, 10), st.binary(min_size=1, max_size=300))
_ce = st.one_of(
    st.integers(0, 63).map(timing_advance_ce),
    st.binary(min_size=6, max_size=6).map(contention_resolution_ce),
    st.just(drx_command_ce()),
)


@settings(max_examples=150, deadline=None)
@given(sdus=st.lists(_sdu, max_size=4), ces=st.lists(_ce, max_size=3), spare=st.integers(0, 40))
def test_dl_sch_round_trips(sdus, ces, spare):
    if not sdus and not ces and spare == 0:
        return
    exact = len(build_dl_sch_pdu(sdus, ces, None)) if (sdus or ces) else 0
    tbs = exact + spare
    pdu = build_dl_sch_pdu(sdus, ces, tbs)
    assert len(pdu) == tbs
    elements = parse_dl_sch_pdu(pdu)
    assert elements == [MacSubPdu(*c) for c in ces] + [MacSubPdu(*s) for s in sdus]  # parse(build(x)) == x
    again_sdus, again_ces = _split(elements)
    assert build_dl_sch_pdu(again_sdus, again_ces, len(pdu)) == pdu  # build(parse(data)) == data


# ------------------------------------------------------------------------------------------------
# RAR
# ------------------------------------------------------------------------------------------------

GRANT = RarUlGrant(hopping=False, rb_assignment=300, mcs=5, tpc=3, ul_delay=False, csi_request=False)


def test_rar_known_bytes():
    pdu = RarPdu((Rar(rapid=5, timing_advance=100, ul_grant=GRANT, tc_rnti=0x4601),), backoff_indicator=3)
    # E/T/R/R/BI = 1 0 00 0011; E/T/RAPID = 0 1 000101
    # MAC RAR: R 0 | TA 00001100100 | hop 0, RB 0100101100, MCS 0101, TPC 011, delay 0, CSI 0 | TC-RNTI
    rar_bits = "0" + "00001100100" + "0" + "0100101100" + "0101" + "011" + "0" + "0" + format(0x4601, "016b")
    expect = bytes([0b1_0_00_0011, 0b0_1_000101]) + int(rar_bits, 2).to_bytes(6, "big")
    assert expect[2:6] == bytes.fromhex("064258ac")
    assert build_rar(pdu) == expect
    assert build_rar(pdu, tbs_bytes=12) == expect + bytes(4)
    assert parse_rar(expect + bytes(4)) == pdu


def test_rar_several_and_max_fields():
    top = RarUlGrant(True, 1023, 15, 7, True, True)
    pdu = RarPdu((Rar(63, 1282, top, 0xFFFF), Rar(0, 0, GRANT, 1)))
    data = build_rar(pdu)
    assert data[0] == 0b1_1_111111 and data[1] == 0b0_1_000000  # E=1 then E=0
    assert data[2:8] == bytes([0b0_1010000, 0b0010_1111]) + bytes([0xFF, 0xFF, 0xFF, 0xFF])
    assert parse_rar(data) == pdu
    assert build_rar(parse_rar(data)) == data


def test_backoff_only_rar():
    data = build_rar(RarPdu((), backoff_indicator=12))
    assert data == bytes([0b0_0_00_1100])
    assert parse_rar(data) == RarPdu((), 12)


def test_rar_errors():
    with pytest.raises(ValueError, match="needs 7 bytes but the transport block has 6"):
        build_rar(RarPdu((Rar(1, 2, GRANT, 3),)), tbs_bytes=6)
    with pytest.raises(ValueError, match="timing advance 1283"):
        build_rar(RarPdu((Rar(1, 1283, GRANT, 3),)))
    with pytest.raises(ValueError, match="truncated or malformed"):
        parse_rar(bytes([0b0_1_000001, 0, 0]))


@pytest.mark.parametrize("lcid", [0, 1, 3, 10, 28, 29, 30])
def test_single_element_fast_path_matches_construct_header(lcid):
    """An SDU/CE filling the block exactly takes a hand-built 1-byte header: the bytes of _HEADER."""
    from mac.pdu import _CE_SIZE, _HEADER

    payload = bytes(range(1, 1 + _CE_SIZE.get(lcid, 200)))
    sdus, ces = ([], [(lcid, payload)]) if lcid in _CE_SIZE else ([(lcid, payload)], [])
    pdu = build_dl_sch_pdu(sdus, ces, tbs_bytes=1 + len(payload))
    assert pdu == _HEADER.build([{"e": False, "lcid": lcid, "length": None}]) + payload
    assert pdu[0] == lcid  # R/R/E = 0/0/0
    assert parse_dl_sch_pdu(pdu) == ([MacSubPdu(lcid, payload)] if lcid != 30 else [MacSubPdu(30, b"")])
