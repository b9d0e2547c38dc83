"""PDCP for signalling radio bearers (TS 36.323): the SRB data PDU and a minimal SRB1 entity.

TS 36.323 6.2.2: a PDCP data PDU on an SRB is one octet R/R/R/PDCP SN (5 bits), the data, and a 4-octet
MAC-I. Before security is activated (RRCConnectionSetupComplete travels before SecurityModeCommand) there
is no integrity protection and the MAC-I is present and all zeros (TS 36.323 6.3.4); no ciphering.

    pdu = build_pdcp_srb_pdu(sn=0, data=rrc_setup_complete)     # b'\\x00' + data + b'\\x00' * 4
    parse_pdcp_srb_pdu(pdu)                                      # PdcpSrbPdu(sn=0, data=..., mac_i=b'\\0\\0\\0\\0')
"""

from __future__ import annotations

from typing import NamedTuple

from construct import BitsInteger, BitStruct, GreedyBytes, Padding, Struct

__all__ = ["PDCP_SRB_SN_MOD", "PdcpSrbEntity", "PdcpSrbPdu", "build_pdcp_srb_pdu", "parse_pdcp_srb_pdu"]

PDCP_SRB_SN_MOD = 32  # 5-bit SN (TS 36.323 6.3.2)
_MAC_I_BYTES = 4  # TS 36.323 6.3.4

# ================================================================================================
# TS 36.323 6.2.2: PDCP Data PDU for SRBs  R/R/R/PDCP SN (5) | Data | MAC-I (32)
# ================================================================================================
_HEADER = BitStruct(Padding(3), "sn" / BitsInteger(5))
_SRB_PDU = Struct("header" / _HEADER, "body" / GreedyBytes)


class PdcpSrbPdu(NamedTuple):
    sn: int
    data: bytes
    mac_i: bytes


def build_pdcp_srb_pdu(sn: int, data: bytes, mac_i: bytes = bytes(_MAC_I_BYTES)) -> bytes:
    """PDCP SRB data PDU (TS 36.323 6.2.2); MAC-I zero before integrity protection (6.3.4)."""
    if not 0 <= sn < PDCP_SRB_SN_MOD:
        raise ValueError(f"SRB PDCP SN must be 0..31 (5 bits), got {sn}")
    if len(mac_i) != _MAC_I_BYTES:
        raise ValueError(f"MAC-I has 4 bytes, got {len(mac_i)}")
    return _SRB_PDU.build({"header": {"sn": sn}, "body": bytes(data) + bytes(mac_i)})


def parse_pdcp_srb_pdu(pdu: bytes) -> PdcpSrbPdu:
    """SN, data and MAC-I of a PDCP SRB data PDU (ValueError if shorter than header + MAC-I)."""
    if len(pdu) < 1 + _MAC_I_BYTES:
        raise ValueError(f"a PDCP SRB PDU has at least 5 bytes (header + MAC-I), got {len(pdu)}")
    parsed = _SRB_PDU.parse(bytes(pdu))
    return PdcpSrbPdu(parsed.header.sn, parsed.body[:-_MAC_I_BYTES], parsed.body[-_MAC_I_BYTES:])


class PdcpSrbEntity:
    """One SRB's PDCP, no security (TS 36.323 5.1.1 TX: Next_PDCP_TX_SN; 5.1.2.2 RX in order from RLC AM)."""

    def __init__(self) -> None:
        self.next_tx_sn = 0
        self.next_rx_sn = 0

    def tx(self, sdu: bytes) -> bytes:
        pdu = build_pdcp_srb_pdu(self.next_tx_sn, sdu)
        self.next_tx_sn = (self.next_tx_sn + 1) % PDCP_SRB_SN_MOD
        return pdu

    def rx(self, pdu: bytes) -> bytes:
        """The SDU of a PDU delivered in sequence by RLC AM; a zero MAC-I is accepted (no integrity yet)."""
        p = parse_pdcp_srb_pdu(pdu)
        self.next_rx_sn = (p.sn + 1) % PDCP_SRB_SN_MOD
        return p.data
