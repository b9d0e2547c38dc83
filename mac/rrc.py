"""RRC connection establishment messages (TS 36.331 5.3.3, 6.2.2), real UPER via pycrate's 36.331 module.

The three messages of connection establishment, built and parsed as ASN.1 unaligned PER (X.691, octet
aligned at the end as TS 36.331 8.5 prescribes) with the same compiled RRCLTE module as the SIBs (mac/sib.py).
Only Rel-8 fields are set, so the encodings are what a Rel-8 handset sends and expects (later releases add
extension fields behind markers that stay 0).

    msg3 = rrc_connection_request(random_value=0x123456789A)            # UL-CCCH-Message, 6 bytes
    parse_rrc_connection_request(msg3).random_value                     # 0x123456789A
    msg4 = rrc_connection_setup(transaction_id=0)                       # DL-CCCH-Message, SRB1 + dedicated config
    done = rrc_connection_setup_complete(0, dedicated_info_nas=nas_pdu)  # UL-DCCH-Message (on SRB1)

Settings of RRCConnectionSetup (chosen for the satellite round trip 2D ~ 17 ms, DESIGN.md 3; docs/random_access.md):
SRB1 with an explicit RLC AM config (t-PollRetransmit ms80 > 2D + HARQ, t-Reordering ms100 to wait for DL
HARQ retransmissions that follow a NACK heard 2D late, maxRetxThreshold t8), logicalChannelConfig default
(TS 36.331 9.2.1.1), mac-MainConfig explicit (maxHARQ-Tx n4, timeAlignmentTimerDedicated infinity: the
gateway sends TA commands as the residual drifts, the handset never has to lose UL sync), and a
physicalConfigDedicated with PUCCH SR resources, CQI periodic reporting off and closed-loop power control.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from pycrate_asn1dir import RRCLTE

__all__ = [
    "ESTABLISHMENT_CAUSES",
    "RrcConnectionRequest",
    "RrcConnectionSetup",
    "RrcConnectionSetupComplete",
    "decode_dl_ccch",
    "decode_ul_ccch",
    "decode_ul_dcch",
    "encode_dl_ccch",
    "parse_rrc_connection_request",
    "parse_rrc_connection_setup",
    "parse_rrc_connection_setup_complete",
    "rrc_connection_request",
    "rrc_connection_setup",
    "rrc_connection_setup_complete",
    "srb1_rlc_config",
]

_DEFS = RRCLTE.EUTRA_RRC_Definitions
_UL_CCCH = _DEFS.UL_CCCH_Message
_DL_CCCH = _DEFS.DL_CCCH_Message
_UL_DCCH = _DEFS.UL_DCCH_Message

# TS 36.331 6.2.2 EstablishmentCause (Rel-8 names; the three spares became later causes, same indices)
ESTABLISHMENT_CAUSES = ("emergency", "highPriorityAccess", "mt-Access", "mo-Signalling", "mo-Data")

# SRB1 RLC AM (TS 36.331 RLC-Config, TS 36.322 7.3 timers): explicit values for the satellite round trip
_SRB1_RLC_AM = {
    "ul-AM-RLC": {"t-PollRetransmit": "ms80", "pollPDU": "pInfinity", "pollByte": "kBinfinity",
                  "maxRetxThreshold": "t8"},
    "dl-AM-RLC": {"t-Reordering": "ms100", "t-StatusProhibit": "ms0"},
}

_MAC_MAIN_CONFIG = {
    # TS 36.331 MAC-MainConfig: UL HARQ up to 4 transmissions (the gateway's adaptive retransmissions),
    # BSR timers as srsRAN's defaults; no DRX; time alignment never expires (TA MAC CEs keep it)
    "ul-SCH-Config": {"maxHARQ-Tx": "n4", "periodicBSR-Timer": "sf20", "retxBSR-Timer": "sf320",
                      "ttiBundling": False},
    "timeAlignmentTimerDedicated": "infinity",
    "phr-Config": ("release", 0),
}


def _physical_config_dedicated(sr_pucch_resource_index: int, sr_config_index: int) -> dict:
    """PhysicalConfigDedicated (TS 36.331 6.3.2): PDSCH P_A 0 dB, PUCCH SR (TS 36.213 10.1.5, Table 10.1.5-1),
    no periodic CQI (aperiodic only, on the gateway's grants), closed-loop PUSCH/PUCCH power control."""
    return {
        "pdsch-ConfigDedicated": {"p-a": "dB0"},
        "pucch-ConfigDedicated": {"ackNackRepetition": ("release", 0)},
        "pusch-ConfigDedicated": {"betaOffset-ACK-Index": 9, "betaOffset-RI-Index": 6, "betaOffset-CQI-Index": 6},
        "uplinkPowerControlDedicated": {"p0-UE-PUSCH": 0, "deltaMCS-Enabled": "en0", "accumulationEnabled": True,
                                        "p0-UE-PUCCH": 0, "pSRS-Offset": 3},
        "cqi-ReportConfig": {"cqi-ReportModeAperiodic": "rm30", "nomPDSCH-RS-EPRE-Offset": 0},
        "schedulingRequestConfig": ("setup", {"sr-PUCCH-ResourceIndex": sr_pucch_resource_index,
                                              "sr-ConfigIndex": sr_config_index, "dsr-TransMax": "n64"}),
    }


def srb1_rlc_config() -> dict:
    """The SRB1 RLC AM parameters RRCConnectionSetup sends (pycrate form of RLC-Config am)."""
    return {k: dict(v) for k, v in _SRB1_RLC_AM.items()}


# ------------------------------------------------------------------------------------------------
# codecs
# ------------------------------------------------------------------------------------------------


def _encode(codec, value: dict) -> bytes:
    codec.set_val(value)
    return codec.to_uper()


def _decode(codec, data: bytes, name: str) -> dict:
    try:
        codec.from_uper(bytes(data))
    except Exception as exc:  # pycrate raises several codec error classes
        raise ValueError(f"not a valid {name} ({len(data)} bytes): {exc}") from exc
    return codec.get_val()


def decode_ul_ccch(data: bytes) -> dict:
    """UL-CCCH-Message (TS 36.331 6.2.1) as pycrate's value; trailing zero padding is allowed."""
    return _decode(_UL_CCCH, data, "UL-CCCH-Message")


def decode_dl_ccch(data: bytes) -> dict:
    """DL-CCCH-Message (TS 36.331 6.2.1) as pycrate's value."""
    return _decode(_DL_CCCH, data, "DL-CCCH-Message")


def encode_dl_ccch(value: dict) -> bytes:
    """A DL-CCCH-Message from pycrate's value (the inverse of `decode_dl_ccch`)."""
    return _encode(_DL_CCCH, value)


def decode_ul_dcch(data: bytes) -> dict:
    """UL-DCCH-Message (TS 36.331 6.2.1) as pycrate's value."""
    return _decode(_UL_DCCH, data, "UL-DCCH-Message")


def _r8_ies(msg: dict, name: str) -> dict:
    """The Rel-8 IEs of a message's criticalExtensions: c1 / `name`-r8 (ValueError for anything later)."""
    kind, inner = msg["criticalExtensions"]
    if kind != "c1" or inner[0] != f"{name}-r8":
        raise ValueError(f"{name} critical extension {kind!r} is not c1/{name}-r8")
    return inner[1]


def _c1(decoded: dict, expected: str, name: str) -> Any:
    kind, inner = decoded["message"]
    if kind != "c1":
        raise ValueError(f"{name}: message class {kind!r} is not c1")
    msg_name, msg = inner
    if msg_name != expected:
        raise ValueError(f"{name}: expected {expected}, got {msg_name}")
    return msg


# ------------------------------------------------------------------------------------------------
# RRCConnectionRequest (UL-CCCH, SRB0: Msg3)
# ------------------------------------------------------------------------------------------------


class RrcConnectionRequest(NamedTuple):
    """TS 36.331 RRCConnectionRequest-r8-IEs: ue-Identity (randomValue or s-TMSI) and establishmentCause."""

    random_value: int | None  # 40-bit InitialUE-Identity randomValue (None when s-TMSI is used)
    s_tmsi: tuple[int, int] | None  # (mmec 8 bits, m-TMSI 32 bits)
    establishment_cause: str


def rrc_connection_request(random_value: int, establishment_cause: str = "mo-Data") -> bytes:
    """UL-CCCH-Message with RRCConnectionRequest (TS 36.331 5.3.3.3): ue-Identity randomValue (40 bits: a UE
    without an S-TMSI draws it uniformly, 5.3.3.3), establishmentCause, spare bit 0. 48 bits = 6 bytes: the
    whole message is the UE Contention Resolution Identity (TS 36.321 6.1.3.4)."""
    if not 0 <= random_value < 1 << 40:
        raise ValueError(f"randomValue must be 40 bits, got {random_value:#x}")
    if establishment_cause not in ESTABLISHMENT_CAUSES:
        raise ValueError(f"establishmentCause must be one of {ESTABLISHMENT_CAUSES}, got {establishment_cause!r}")
    value = {"message": ("c1", ("rrcConnectionRequest", {"criticalExtensions": ("rrcConnectionRequest-r8", {
        "ue-Identity": ("randomValue", (random_value, 40)),
        "establishmentCause": establishment_cause,
        "spare": (0, 1),
    })}))}
    return _encode(_UL_CCCH, value)


def parse_rrc_connection_request(data: bytes) -> RrcConnectionRequest:
    """The RRCConnectionRequest in a UL-CCCH SDU (ValueError for anything else)."""
    msg = _c1(decode_ul_ccch(data), "rrcConnectionRequest", "UL-CCCH")
    ext, ies = msg["criticalExtensions"]
    if ext != "rrcConnectionRequest-r8":
        raise ValueError(f"RRCConnectionRequest critical extension {ext!r} is not r8")
    kind, ident = ies["ue-Identity"]
    if kind == "randomValue":
        return RrcConnectionRequest(ident[0], None, ies["establishmentCause"])
    return RrcConnectionRequest(None, (ident["mmec"][0], ident["m-TMSI"][0]), ies["establishmentCause"])


# ------------------------------------------------------------------------------------------------
# RRCConnectionSetup (DL-CCCH, SRB0: in Msg4)
# ------------------------------------------------------------------------------------------------


class RrcConnectionSetup(NamedTuple):
    """What the handset takes from RRCConnectionSetup (TS 36.331 5.3.3.4)."""

    transaction_id: int
    srb_ids: tuple[int, ...]
    srb1_rlc: dict | None  # RLC-Config am of SRB1 (None: defaultValue, TS 36.331 9.2.1.1)
    radio_resource_config: dict  # the whole RadioResourceConfigDedicated (pycrate form)


def rrc_connection_setup(transaction_id: int = 0, physical_config: bool = True, sr_pucch_resource_index: int = 0,
                         sr_config_index: int = 15) -> bytes:
    """DL-CCCH-Message with RRCConnectionSetup (TS 36.331 5.3.3.3, 6.2.2): rrc-TransactionIdentifier 0..3 and a
    RadioResourceConfigDedicated that adds SRB1 (explicit RLC AM for the round trip, default logical channel
    config), the MAC main config and, when `physical_config`, a PhysicalConfigDedicated (SR every 20 ms by
    default: sr-ConfigIndex 15, TS 36.213 Table 10.1.5-1)."""
    if not 0 <= transaction_id <= 3:
        raise ValueError(f"rrc-TransactionIdentifier must be 0..3, got {transaction_id}")
    rr: dict[str, Any] = {
        "srb-ToAddModList": [{
            "srb-Identity": 1,
            "rlc-Config": ("explicitValue", ("am", srb1_rlc_config())),
            "logicalChannelConfig": ("defaultValue", 0),
        }],
        "mac-MainConfig": ("explicitValue", dict(_MAC_MAIN_CONFIG)),
    }
    if physical_config:
        rr["physicalConfigDedicated"] = _physical_config_dedicated(sr_pucch_resource_index, sr_config_index)
    value = {"message": ("c1", ("rrcConnectionSetup", {
        "rrc-TransactionIdentifier": transaction_id,
        "criticalExtensions": ("c1", ("rrcConnectionSetup-r8", {"radioResourceConfigDedicated": rr})),
    }))}
    return _encode(_DL_CCCH, value)


def parse_rrc_connection_setup(data: bytes) -> RrcConnectionSetup:
    """The RRCConnectionSetup in a DL-CCCH SDU (ValueError for anything else)."""
    msg = _c1(decode_dl_ccch(data), "rrcConnectionSetup", "DL-CCCH")
    rr = _r8_ies(msg, "rrcConnectionSetup")["radioResourceConfigDedicated"]
    srbs = rr.get("srb-ToAddModList", [])
    srb1_rlc = None
    for srb in srbs:
        if srb["srb-Identity"] == 1 and srb.get("rlc-Config", ("defaultValue", 0))[0] == "explicitValue":
            mode, am = srb["rlc-Config"][1]
            if mode != "am":
                raise ValueError(f"SRB1 must use RLC AM (TS 36.331 9.2.1.1), got {mode}")
            srb1_rlc = am
    return RrcConnectionSetup(msg["rrc-TransactionIdentifier"], tuple(s["srb-Identity"] for s in srbs), srb1_rlc, rr)


# ------------------------------------------------------------------------------------------------
# RRCConnectionSetupComplete (UL-DCCH, SRB1)
# ------------------------------------------------------------------------------------------------


class RrcConnectionSetupComplete(NamedTuple):
    """TS 36.331 RRCConnectionSetupComplete-r8-IEs."""

    transaction_id: int
    selected_plmn_identity: int  # 1..6: index into SIB1's plmn-IdentityList
    dedicated_info_nas: bytes


def rrc_connection_setup_complete(transaction_id: int, dedicated_info_nas: bytes,
                                  selected_plmn_identity: int = 1) -> bytes:
    """UL-DCCH-Message with RRCConnectionSetupComplete (TS 36.331 5.3.3.4): the transaction identifier of the
    RRCConnectionSetup it answers, selectedPLMN-Identity (1..6) and dedicatedInfoNAS (the NAS PDU, e.g. an
    Attach Request); registeredMME absent."""
    if not 0 <= transaction_id <= 3:
        raise ValueError(f"rrc-TransactionIdentifier must be 0..3, got {transaction_id}")
    if not 1 <= selected_plmn_identity <= 6:
        raise ValueError(f"selectedPLMN-Identity must be 1..6, got {selected_plmn_identity}")
    if not dedicated_info_nas:
        raise ValueError("dedicatedInfoNAS must carry a NAS PDU")
    value = {"message": ("c1", ("rrcConnectionSetupComplete", {
        "rrc-TransactionIdentifier": transaction_id,
        "criticalExtensions": ("c1", ("rrcConnectionSetupComplete-r8", {
            "selectedPLMN-Identity": selected_plmn_identity,
            "dedicatedInfoNAS": bytes(dedicated_info_nas),
        })),
    }))}
    return _encode(_UL_DCCH, value)


def parse_rrc_connection_setup_complete(data: bytes) -> RrcConnectionSetupComplete:
    """The RRCConnectionSetupComplete in a UL-DCCH SDU (ValueError for anything else)."""
    msg = _c1(decode_ul_dcch(data), "rrcConnectionSetupComplete", "UL-DCCH")
    ies = _r8_ies(msg, "rrcConnectionSetupComplete")
    return RrcConnectionSetupComplete(msg["rrc-TransactionIdentifier"], ies["selectedPLMN-Identity"],
                                      bytes(ies["dedicatedInfoNAS"]))
