"""RRC connection establishment messages (mac/rrc.py, real UPER via pycrate) and the SRB1 stack beneath
RRCConnectionSetupComplete (mac/pdcp.py, mac/rlc.py): hand-worked bit strings from TS 36.331 / 36.323 /
36.322 and X.691, a public srsRAN 4G vector, round trips."""

import pytest

from mac.pdcp import PdcpSrbEntity, build_pdcp_srb_pdu, parse_pdcp_srb_pdu
from mac.pdu import build_ul_sch_pdu, parse_ul_sch_pdu
from mac.rlc import (
    RlcAmEntity,
    build_amd_pdu,
    build_status_pdu,
    is_status_pdu,
    parse_amd_pdu,
    parse_status_pdu,
)
from mac.rrc import (
    decode_dl_ccch,
    encode_dl_ccch,
    parse_rrc_connection_request,
    parse_rrc_connection_setup,
    parse_rrc_connection_setup_complete,
    rrc_connection_request,
    rrc_connection_setup,
    rrc_connection_setup_complete,
)

NAS = bytes.fromhex("0741720bf600f110000201")  # 11 bytes, Attach Request-shaped


def _b(value: int, n: int) -> str:
    return format(value, f"0{n}b")


def _bits(data: bytes) -> str:
    return "".join(format(x, "08b") for x in data)


# ------------------------------------------------------------------------------------------------
# RRCConnectionRequest
# ------------------------------------------------------------------------------------------------


def test_rrc_connection_request_by_hand():
    """UL-CCCH-Message, UPER by hand (TS 36.331 6.2.1-6.2.2, X.691): 48 bits, no padding."""
    random_value = 0x123456789A
    bits = "0"  # UL-CCCH-MessageType: c1
    bits += "1"  # c1: rrcConnectionRequest (index 1 of {rrcConnectionReestablishmentRequest, rrcConnectionRequest})
    bits += "0"  # criticalExtensions: rrcConnectionRequest-r8
    bits += "1"  # InitialUE-Identity: randomValue (index 1 of {s-TMSI, randomValue})
    bits += _b(random_value, 40)  # BIT STRING (SIZE (40))
    bits += _b(4, 3)  # establishmentCause: mo-Data, index 4 of 8
    bits += "0"  # spare BIT STRING (SIZE (1))
    data = rrc_connection_request(random_value, "mo-Data")
    assert _bits(data) == bits and data == bytes.fromhex("5123456789a8")
    req = parse_rrc_connection_request(data)
    assert (req.random_value, req.s_tmsi, req.establishment_cause) == (random_value, None, "mo-Data")


@pytest.mark.parametrize("random_value", [0, 1, 0xFFFFFFFFFF, 0x8000000001, 0x5A5A5A5A5A])
@pytest.mark.parametrize("cause", ["emergency", "mt-Access", "mo-Signalling", "mo-Data"])
def test_rrc_connection_request_round_trip(random_value, cause):
    data = rrc_connection_request(random_value, cause)
    assert len(data) == 6  # the whole message is the 48-bit contention resolution identity
    assert parse_rrc_connection_request(data) == (random_value, None, cause)


def test_rrc_connection_request_checks():
    with pytest.raises(ValueError, match="40 bits"):
        rrc_connection_request(1 << 40)
    with pytest.raises(ValueError, match="establishmentCause"):
        rrc_connection_request(1, "mo-Video")
    with pytest.raises(ValueError, match="rrcConnectionRequest"):
        parse_rrc_connection_request(bytes.fromhex("00000000000000"))  # c1: reestablishment request


# ------------------------------------------------------------------------------------------------
# RRCConnectionSetup
# ------------------------------------------------------------------------------------------------

# srsRAN 4G lib/test/asn1/srsran_asn1_rrc_dl_ccch_test.cc, rrc_conn_setup_test1: an RRCConnectionSetup with
# SRB1 (explicit RLC AM), mac-MainConfig and physicalConfigDedicated (periodic CQI, cqi-pmi-ConfigIndex 38)
SRSRAN_RRC_CONN_SETUP = bytes.fromhex("6012980bfdd204fa183ed5e6c25990c1a60001314042508000f8")


def test_rrc_connection_setup_srsran_vector():
    setup = parse_rrc_connection_setup(SRSRAN_RRC_CONN_SETUP)
    assert setup.transaction_id == 0 and setup.srb_ids == (1,)
    assert setup.srb1_rlc["ul-AM-RLC"] == {"t-PollRetransmit": "ms60", "pollPDU": "pInfinity",
                                          "pollByte": "kBinfinity", "maxRetxThreshold": "t32"}
    phy = setup.radio_resource_config["physicalConfigDedicated"]
    periodic = phy["cqi-ReportConfig"]["cqi-ReportPeriodic"]
    assert periodic[0] == "setup" and periodic[1]["cqi-pmi-ConfigIndex"] == 38
    assert phy["cqi-ReportConfig"]["nomPDSCH-RS-EPRE-Offset"] == 0
    # the same bits back from the decoded value (what srsRAN's test checks with its own codec)
    assert encode_dl_ccch(decode_dl_ccch(SRSRAN_RRC_CONN_SETUP)) == SRSRAN_RRC_CONN_SETUP


def test_rrc_connection_setup_prefix_by_hand():
    """First 49 bits of our RRCConnectionSetup (transaction 1): header, SRB1 and its explicit RLC AM."""
    bits = "0" + _b(3, 2)  # DL-CCCH-MessageType c1; rrcConnectionSetup (index 3 of 4)
    bits += _b(1, 2)  # rrc-TransactionIdentifier
    bits += "0" + _b(0, 3)  # criticalExtensions c1; rrcConnectionSetup-r8 (index 0 of 8)
    bits += "0"  # r8-IEs: nonCriticalExtension absent
    bits += "0"  # RadioResourceConfigDedicated: extension bit
    bits += "100101"  # srb-ToAddModList, drb-ToAddModList, drb-ToReleaseList, mac-MainConfig, sps, physical
    bits += "0"  # srb-ToAddModList SIZE (1..2): one
    bits += "0" + "11" + "0"  # SRB-ToAddMod: extension; rlc-Config, logicalChannelConfig present; srb-Identity 1
    bits += "0" + "0" + "00"  # rlc-Config explicitValue; RLC-Config extension bit, am
    bits += _b(15, 6)  # t-PollRetransmit ms80 (ms5 + 5 x 15)
    bits += _b(7, 3) + _b(14, 4)  # pollPDU pInfinity; pollByte kBinfinity
    bits += _b(5, 3)  # maxRetxThreshold t8 (t1, t2, t3, t4, t6, t8 ...)
    bits += _b(20, 5)  # t-Reordering ms100 (ms0 + 5 x 20)
    bits += _b(0, 6)  # t-StatusProhibit ms0
    assert _bits(rrc_connection_setup(1))[: len(bits)] == bits


@pytest.mark.parametrize("tid", [0, 1, 2, 3])
@pytest.mark.parametrize("physical", [False, True])
def test_rrc_connection_setup_round_trip(tid, physical):
    data = rrc_connection_setup(tid, physical_config=physical)
    setup = parse_rrc_connection_setup(data)
    assert setup.transaction_id == tid and setup.srb_ids == (1,)
    assert setup.srb1_rlc["ul-AM-RLC"]["t-PollRetransmit"] == "ms80"
    rr = setup.radio_resource_config
    assert rr["mac-MainConfig"][1]["timeAlignmentTimerDedicated"] == "infinity"
    assert ("physicalConfigDedicated" in rr) == physical
    if physical:
        sr = rr["physicalConfigDedicated"]["schedulingRequestConfig"][1]
        assert sr["sr-ConfigIndex"] == 15 and sr["dsr-TransMax"] == "n64"
    assert len(data) <= 24  # fits Msg4 with the CR and TA CEs in 40 bytes


# ------------------------------------------------------------------------------------------------
# RRCConnectionSetupComplete
# ------------------------------------------------------------------------------------------------


def test_rrc_connection_setup_complete_by_hand():
    bits = "0" + _b(4, 4)  # UL-DCCH-MessageType c1; rrcConnectionSetupComplete (index 4 of 16)
    bits += _b(2, 2)  # rrc-TransactionIdentifier 2
    bits += "0" + _b(0, 2)  # criticalExtensions c1; rrcConnectionSetupComplete-r8 (index 0 of 4)
    bits += "00"  # registeredMME, nonCriticalExtension absent
    bits += _b(1 - 1, 3)  # selectedPLMN-Identity INTEGER (1..6) = 1
    bits += _b(len(NAS), 8) + _bits(NAS)  # dedicatedInfoNAS: length determinant + octets
    data = rrc_connection_setup_complete(2, NAS, selected_plmn_identity=1)
    assert _bits(data) == bits + "0" * (-len(bits) % 8)
    assert parse_rrc_connection_setup_complete(data) == (2, 1, NAS)


@pytest.mark.parametrize("tid, plmn, nas", [(0, 1, b"\x07"), (3, 6, bytes(range(200)))])
def test_rrc_connection_setup_complete_round_trip(tid, plmn, nas):
    assert parse_rrc_connection_setup_complete(rrc_connection_setup_complete(tid, nas, plmn)) == (tid, plmn, nas)


def test_rrc_message_checks():
    with pytest.raises(ValueError, match="0..3"):
        rrc_connection_setup(4)
    with pytest.raises(ValueError, match="1..6"):
        rrc_connection_setup_complete(0, NAS, 7)
    with pytest.raises(ValueError, match="NAS"):
        rrc_connection_setup_complete(0, b"")
    reject = encode_dl_ccch({"message": ("c1", ("rrcConnectionReject", {
        "criticalExtensions": ("c1", ("rrcConnectionReject-r8", {"waitTime": 5}))}))})
    with pytest.raises(ValueError, match="expected rrcConnectionSetup, got rrcConnectionReject"):
        parse_rrc_connection_setup(reject)
    with pytest.raises(ValueError, match="not a valid DL-CCCH"):
        parse_rrc_connection_setup(b"\x70")


# ------------------------------------------------------------------------------------------------
# PDCP (TS 36.323 6.2.2) and RLC AM (TS 36.322 6.2.1.4, 6.2.1.6)
# ------------------------------------------------------------------------------------------------


def test_pdcp_srb_pdu_by_hand():
    """R/R/R/SN(5) then the data, then a zero MAC-I before integrity protection (TS 36.323 6.3.4)."""
    pdu = build_pdcp_srb_pdu(3, b"\xab\xcd")
    assert pdu == bytes([0b000_00011, 0xAB, 0xCD, 0, 0, 0, 0])
    assert parse_pdcp_srb_pdu(pdu) == (3, b"\xab\xcd", bytes(4))
    assert build_pdcp_srb_pdu(31, b"\x01")[0] == 0x1F
    with pytest.raises(ValueError, match="0..31"):
        build_pdcp_srb_pdu(32, b"\x01")
    with pytest.raises(ValueError, match="at least 5"):
        parse_pdcp_srb_pdu(b"\x00\x00")
    tx, rx = PdcpSrbEntity(), PdcpSrbEntity()
    sns = [parse_pdcp_srb_pdu(tx.tx(b"x")).sn for _ in range(34)]
    assert sns[:3] == [0, 1, 2] and sns[32:] == [0, 1]  # 5-bit wrap
    assert rx.rx(build_pdcp_srb_pdu(7, b"hello")) == b"hello" and rx.next_rx_sn == 8


def test_rlc_amd_pdu_by_hand():
    # D/C 1, RF 0, P 1, FI 00, E 0, SN 5
    pdu = build_amd_pdu(5, [b"abc"], poll=True)
    assert _bits(pdu[:2]) == "1" + "0" + "1" + "00" + "0" + _b(5, 10) and pdu[2:] == b"abc"
    assert parse_amd_pdu(pdu) == (5, True, 0, [b"abc"])
    # three SDUs: two E/LI pairs (E 1, LI 3; E 0, LI 2), 24 bits, no padding
    pdu = build_amd_pdu(1023, [b"abc", b"de", b"f"])
    bits = "1" + "0" + "0" + "00" + "1" + _b(1023, 10) + "1" + _b(3, 11) + "0" + _b(2, 11)
    assert _bits(pdu[:5]) == bits and pdu[5:] == b"abcdef"
    assert parse_amd_pdu(pdu).sdus == [b"abc", b"de", b"f"]
    # two SDUs: one E/LI pair, then 4 padding bits
    pdu = build_amd_pdu(2, [b"ab", b"c"])
    assert _bits(pdu[:4]) == "10000" + "1" + _b(2, 10) + "0" + _b(2, 11) + "0000" and pdu[4:] == b"abc"
    with pytest.raises(ValueError, match="not an AMD PDU"):
        parse_amd_pdu(build_status_pdu(0))


def test_rlc_status_pdu_by_hand():
    # D/C 0, CPT 000, ACK_SN 7, E1 1; NACK_SN 3, E1 1, E2 0; NACK_SN 5, E1 0, E2 0; padding to the octet
    pdu = build_status_pdu(7, (3, 5))
    bits = "0" + "000" + _b(7, 10) + "1" + _b(3, 10) + "10" + _b(5, 10) + "00"
    assert _bits(pdu) == bits + "0" * (-len(bits) % 8)
    assert is_status_pdu(pdu) and parse_status_pdu(pdu) == (7, (3, 5))
    assert build_status_pdu(1) == bytes([0x00, 0x04])
    # a NACK with SOstart/SOend (E2 = 1) is skipped over
    bits = "0000" + _b(9, 10) + "1" + _b(4, 10) + "01" + _b(0, 15) + _b(10, 15)
    assert parse_status_pdu(bytes(int((bits + "0" * (-len(bits) % 8))[i: i + 8], 2)
                                  for i in range(0, len(bits) + (-len(bits) % 8), 8))) == (9, (4,))


def test_rlc_am_entity_poll_status_and_retransmission():
    """Three SDUs, the middle PDU lost: the poll on the last one brings a STATUS with a NACK, the
    retransmission (polled again) completes the in-sequence delivery, the second STATUS acknowledges all."""
    tx, rx = RlcAmEntity(), RlcAmEntity()
    for sdu in (b"one", b"two", b"three"):
        tx.write_sdu(sdu)
    pdus = [tx.pull_pdu(100) for _ in range(3)]
    assert [parse_amd_pdu(p).poll for p in pdus] == [False, False, True]  # poll when the buffer empties
    assert rx.receive_pdu(pdus[0]) == [b"one"] and rx.receive_pdu(pdus[2]) == []
    status = rx.pull_pdu(100)
    assert parse_status_pdu(status) == (3, (1,))
    tx.receive_pdu(status)
    retx = tx.pull_pdu(100)
    assert parse_amd_pdu(retx) == (1, True, 0, [b"two"])
    assert rx.receive_pdu(retx) == [b"two", b"three"]
    tx.receive_pdu(rx.pull_pdu(100))
    assert tx.all_acknowledged and tx.pull_pdu(100) is None


def test_setup_complete_through_srb1_into_a_ul_sch_pdu():
    """RRCConnectionSetupComplete -> PDCP (SN 0) -> RLC AMD (SN 0, poll) -> MAC SDU on LCID 1, and back."""
    complete = rrc_connection_setup_complete(0, NAS)
    rlc = RlcAmEntity()
    rlc.write_sdu(PdcpSrbEntity().tx(complete))
    rlc_pdu = rlc.pull_pdu(125)
    mac_pdu = build_ul_sch_pdu([(1, rlc_pdu)], tbs_bytes=129)
    (sub,) = parse_ul_sch_pdu(mac_pdu)
    assert sub.lcid == 1
    amd = parse_amd_pdu(sub.payload)
    assert (amd.sn, amd.poll) == (0, True)
    pdcp = parse_pdcp_srb_pdu(amd.sdus[0])
    assert pdcp.sn == 0 and pdcp.mac_i == bytes(4)
    assert parse_rrc_connection_setup_complete(pdcp.data).dedicated_info_nas == NAS
