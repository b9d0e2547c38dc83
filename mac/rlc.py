"""RLC acknowledged mode for SRB1 (TS 36.322): AMD PDU and STATUS PDU framing and a minimal AM entity.

TS 36.322 6.2.1.4: an AMD PDU is D/C=1, RF=0, P, FI (2), E, SN (10), then for E = 1 pairs of E (1) / LI (11)
(4 padding bits after an odd count), then the data field. TS 36.322 6.2.1.6: a STATUS PDU is D/C=0, CPT=000,
ACK_SN (10), E1, then per NACK: NACK_SN (10), E1, E2 (and SOstart/SOend 15 + 15 when E2 = 1), zero padding
to the octet. The entity sends whole SDUs (no segmentation: FI = 00, one SDU per PDU), polls when its
buffers run empty (5.2.2.1), retransmits what a STATUS PDU NACKs (5.2.1), and the receiver delivers in
sequence and answers a poll with a STATUS PDU (5.2.3). Timers (t-PollRetransmit, t-Reordering,
t-StatusProhibit) are not modelled.

    pdu = build_amd_pdu(sn=0, sdus=[pdcp_pdu], poll=True)       # 2-byte header + data
    parse_amd_pdu(pdu)                                          # AmdPdu(sn=0, poll=True, fi=0, sdus=[...])
    build_status_pdu(ack_sn=1)                                  # bytes 00 04 (ACK_SN 1, no NACK)
"""

from __future__ import annotations

from typing import NamedTuple

from construct import BitsInteger, BitStruct, Const, Flag

__all__ = [
    "AM_SN_MOD",
    "AmdPdu",
    "RlcAmEntity",
    "StatusPdu",
    "build_amd_pdu",
    "build_status_pdu",
    "is_status_pdu",
    "parse_amd_pdu",
    "parse_status_pdu",
]

AM_SN_MOD = 1024  # 10-bit SN (TS 36.322 6.2.2.3)
_WINDOW = 512  # AM_Window_Size (TS 36.322 7.2)

# ================================================================================================
# TS 36.322 6.2.1.4: AMD PDU fixed header  D/C | RF | P | FI (2) | E | SN (10)
# ================================================================================================
_AMD_HEADER = BitStruct(
    "dc" / Const(1, BitsInteger(1)),
    "rf" / Const(0, BitsInteger(1)),  # a whole AMD PDU, not a segment
    "p" / Flag,
    "fi" / BitsInteger(2),
    "e" / Flag,
    "sn" / BitsInteger(10),
)


class AmdPdu(NamedTuple):
    sn: int
    poll: bool
    fi: int  # framing info: bit 1 = first byte is not an SDU's first, bit 0 = last byte is not an SDU's last
    sdus: list[bytes]


class StatusPdu(NamedTuple):
    ack_sn: int
    nack_sns: tuple[int, ...] = ()


def _bits_to_bytes(bits: str) -> bytes:
    bits += "0" * (-len(bits) % 8)
    return int(bits, 2).to_bytes(len(bits) // 8, "big") if bits else b""


def build_amd_pdu(sn: int, sdus: list[bytes], poll: bool = False, fi: int = 0) -> bytes:
    """An AMD PDU (TS 36.322 6.2.1.4) carrying the SDUs (or segments, per `fi`) in order; an LI per SDU but the last."""
    if not 0 <= sn < AM_SN_MOD:
        raise ValueError(f"AMD SN must be 0..1023 (10 bits), got {sn}")
    if not sdus or any(not s for s in sdus):
        raise ValueError("an AMD PDU carries at least one non-empty SDU")
    lis = [len(s) for s in sdus[:-1]]
    if any(li >= 2**11 for li in lis):
        raise ValueError("an LI has 11 bits: SDUs before the last must be < 2048 bytes")
    header = _AMD_HEADER.build({"dc": 1, "rf": 0, "p": poll, "fi": fi, "e": bool(lis), "sn": sn})
    ext = "".join(("1" if j < len(lis) - 1 else "0") + format(li, "011b") for j, li in enumerate(lis))
    return header + _bits_to_bytes(ext) + b"".join(bytes(s) for s in sdus)


def parse_amd_pdu(pdu: bytes) -> AmdPdu:
    """SN, poll bit, framing info and data field elements of an AMD PDU (ValueError if malformed or a segment)."""
    pdu = bytes(pdu)
    if len(pdu) < 3 or not pdu[0] & 0x80:
        raise ValueError("not an AMD PDU (D/C = 0 or shorter than 3 bytes)")
    if pdu[0] & 0x40:
        raise ValueError("AMD PDU segments (RF = 1) are not supported")
    h = _AMD_HEADER.parse(pdu[:2])
    lis: list[int] = []
    pos_bits = 16
    e = h.e
    bits = "".join(format(b, "08b") for b in pdu)
    while e:
        if pos_bits + 12 > len(bits):
            raise ValueError("AMD PDU header runs past the PDU")
        e = bits[pos_bits] == "1"
        lis.append(int(bits[pos_bits + 1: pos_bits + 12], 2))
        pos_bits += 12
    pos = (pos_bits + 7) // 8
    sdus = []
    for li in lis:
        if li == 0 or pos + li > len(pdu):
            raise ValueError(f"LI {li} runs past the {len(pdu)}-byte AMD PDU")
        sdus.append(pdu[pos: pos + li])
        pos += li
    if pos >= len(pdu):
        raise ValueError("the AMD PDU's last data field element is empty")
    sdus.append(pdu[pos:])
    return AmdPdu(h.sn, h.p, h.fi, sdus)


def is_status_pdu(pdu: bytes) -> bool:
    """D/C = 0 and CPT = 000: a STATUS PDU (TS 36.322 6.2.1.6, 6.2.2.9-10)."""
    return len(pdu) >= 2 and pdu[0] & 0xF0 == 0


def build_status_pdu(ack_sn: int, nack_sns: tuple[int, ...] = ()) -> bytes:
    """STATUS PDU (TS 36.322 6.2.1.6): ACK_SN = the next SN not received and not NACKed, NACK_SNs without SO."""
    for sn in (ack_sn, *nack_sns):
        if not 0 <= sn < AM_SN_MOD:
            raise ValueError(f"SN {sn} is outside 0..1023")
    bits = "0" + "000" + format(ack_sn, "010b") + ("1" if nack_sns else "0")
    for j, sn in enumerate(nack_sns):
        bits += format(sn, "010b") + ("1" if j < len(nack_sns) - 1 else "0") + "0"  # E1, E2 = 0 (no SO)
    return _bits_to_bytes(bits)


def parse_status_pdu(pdu: bytes) -> StatusPdu:
    """ACK_SN and NACK_SNs of a STATUS PDU (SO fields, when present, are skipped: whole PDUs are NACKed)."""
    if not is_status_pdu(pdu):
        raise ValueError("not a STATUS PDU (D/C = 1 or CPT != 000)")
    bits = "".join(format(b, "08b") for b in bytes(pdu))
    ack_sn = int(bits[4:14], 2)
    e1 = bits[14] == "1"
    pos = 15
    nacks = []
    while e1:
        if pos + 12 > len(bits):
            raise ValueError("STATUS PDU runs past its end")
        nacks.append(int(bits[pos: pos + 10], 2))
        e1, e2 = bits[pos + 10] == "1", bits[pos + 11] == "1"
        pos += 12 + (30 if e2 else 0)
    return StatusPdu(ack_sn, tuple(nacks))


class RlcAmEntity:
    """One side of an RLC AM bearer (TS 36.322 5.1.3), whole SDUs only: the transmitting part (VT(A), VT(S),
    retransmission buffer, polling) and the receiving part (VR(R), in-sequence delivery, STATUS on poll)."""

    def __init__(self) -> None:
        self.vt_a = 0  # oldest SN not yet positively acknowledged
        self.vt_s = 0  # next SN to assign
        self._sdu_queue: list[bytes] = []
        self._unacked: dict[int, bytes] = {}  # SN -> SDU, waiting for a STATUS PDU
        self._retx: list[int] = []
        self.vr_r = 0  # next SN expected in sequence
        self._received: dict[int, bytes] = {}
        self.status_required = False
        self.delivered: list[bytes] = []

    # transmitting side ----------------------------------------------------------------------
    def write_sdu(self, sdu: bytes) -> None:
        self._sdu_queue.append(bytes(sdu))

    @property
    def has_data(self) -> bool:
        return bool(self._sdu_queue or self._retx or self.status_required)

    def pull_pdu(self, max_bytes: int) -> bytes | None:
        """The next RLC PDU that fits `max_bytes`: a STATUS PDU first, then retransmissions, then new SDUs
        (TS 36.322 5.2.1 priority); the poll bit is set when both buffers run empty (5.2.2.1)."""
        if self.status_required:
            status = self.status_pdu()
            if len(status) <= max_bytes:
                self.status_required = False
                return status
        if self._retx:
            sn = self._retx[0]
            if 2 + len(self._unacked[sn]) > max_bytes:
                return None
            self._retx.pop(0)
            return build_amd_pdu(sn, [self._unacked[sn]], poll=not self._retx and not self._sdu_queue)
        if self._sdu_queue and 2 + len(self._sdu_queue[0]) <= max_bytes:
            if (self.vt_s - self.vt_a) % AM_SN_MOD >= _WINDOW:
                return None  # window stall (TS 36.322 5.1.3.1.1)
            sdu = self._sdu_queue.pop(0)
            sn = self.vt_s
            self.vt_s = (self.vt_s + 1) % AM_SN_MOD
            self._unacked[sn] = sdu
            return build_amd_pdu(sn, [sdu], poll=not self._sdu_queue and not self._retx)
        return None

    def receive_status(self, pdu: bytes) -> None:
        """TS 36.322 5.2.1: SNs below ACK_SN not NACKed are acknowledged; NACKed ones are retransmitted."""
        status = parse_status_pdu(pdu)
        for sn in list(self._unacked):
            if (sn - self.vt_a) % AM_SN_MOD < (status.ack_sn - self.vt_a) % AM_SN_MOD and sn not in status.nack_sns:
                del self._unacked[sn]
        self._retx = [sn for sn in status.nack_sns if sn in self._unacked]
        self.vt_a = min(self._unacked, key=lambda sn: (sn - self.vt_a) % AM_SN_MOD) if self._unacked else self.vt_s

    @property
    def all_acknowledged(self) -> bool:
        return not self._unacked and not self._sdu_queue

    # receiving side -------------------------------------------------------------------------
    def receive_pdu(self, pdu: bytes) -> list[bytes]:
        """An RLC PDU from MAC: STATUS PDUs go to the transmitting side; AMD PDUs are reordered and their SDUs
        delivered in sequence (returned); a poll asks for a STATUS PDU (TS 36.322 5.2.3)."""
        if is_status_pdu(pdu):
            self.receive_status(pdu)
            return []
        amd = parse_amd_pdu(pdu)
        if amd.fi != 0:
            raise ValueError("segmented SDUs (FI != 00) are not supported by this minimal entity")
        if (amd.sn - self.vr_r) % AM_SN_MOD < _WINDOW:
            self._received.setdefault(amd.sn, b"".join(amd.sdus) if len(amd.sdus) == 1 else amd.sdus)
        if amd.poll:
            self.status_required = True
        out = []
        while self.vr_r in self._received:
            item = self._received.pop(self.vr_r)
            out.extend(item if isinstance(item, list) else [item])
            self.vr_r = (self.vr_r + 1) % AM_SN_MOD
        self.delivered.extend(out)
        return out

    def status_pdu(self) -> bytes:
        """STATUS PDU: ACK_SN = highest received + 1 (VR(MS) for whole PDUs), NACKs for the gaps below it."""
        if not self._received:
            return build_status_pdu(self.vr_r)
        highest = max(self._received, key=lambda sn: (sn - self.vr_r) % AM_SN_MOD)
        span = (highest - self.vr_r) % AM_SN_MOD
        gaps = ((self.vr_r + j) % AM_SN_MOD for j in range(span))
        nacks = tuple(sn for sn in gaps if sn not in self._received)
        return build_status_pdu((highest + 1) % AM_SN_MOD, nacks)
