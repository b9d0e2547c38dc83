"""MAC PDUs (TS 36.321 6.1, 6.2): DL-SCH and UL-SCH PDUs with subheaders, CEs and padding; RAR PDUs.

Layouts are `construct` structures, each under a banner naming its clause. A DL-SCH PDU is
subheaders, then MAC control elements, then MAC SDUs, then padding (6.1.2); a RAR PDU is the
E/T/RAPID (and backoff) subheaders, then one 6-byte MAC RAR per RAPID subheader, then padding (6.1.5).

    tb = build_dl_sch_pdu([(LCID_CCCH, msg4)], [contention_resolution_ce(msg3_ccch)], tbs_bytes=57)
    parse_dl_sch_pdu(tb)  # -> [MacSubPdu(28, b'...'), MacSubPdu(0, msg4)]
    msg3 = build_ul_sch_pdu([(LCID_CCCH, rrc_connection_request)], tbs_bytes=7)   # UL-SCH: same layout,
    parse_ul_sch_pdu(msg3)                                                          # Table 6.2.1-2 LCIDs
"""

from __future__ import annotations

from typing import NamedTuple

from construct import (
    Array,
    BitsInteger,
    BitStruct,
    Flag,
    GreedyBytes,
    If,
    IfThenElse,
    Padding,
    RepeatUntil,
    Struct,
    this,
)

__all__ = [
    "LCID_CCCH",
    "LCID_CONTENTION_RESOLUTION",
    "LCID_DRX_COMMAND",
    "LCID_PADDING",
    "LCID_TIMING_ADVANCE",
    "LCID_UL_C_RNTI",
    "LCID_UL_LONG_BSR",
    "LCID_UL_POWER_HEADROOM",
    "LCID_UL_SHORT_BSR",
    "LCID_UL_TRUNCATED_BSR",
    "MacSubPdu",
    "Rar",
    "RarPdu",
    "RarUlGrant",
    "build_dl_sch_pdu",
    "build_rar",
    "build_ul_sch_pdu",
    "c_rnti_ce",
    "contention_resolution_ce",
    "drx_command_ce",
    "parse_dl_sch_pdu",
    "parse_rar",
    "parse_timing_advance_ce",
    "parse_ul_sch_pdu",
    "timing_advance_ce",
]

# TS 36.321 Table 6.2.1-1: LCID values for DL-SCH (Rel-8)
LCID_CCCH = 0b00000
LCID_DCCH_DTCH = range(0b00001, 0b01010 + 1)  # logical channels 1..10
LCID_CONTENTION_RESOLUTION = 0b11100
LCID_TIMING_ADVANCE = 0b11101
LCID_DRX_COMMAND = 0b11110
LCID_PADDING = 0b11111

# fixed-size MAC control elements: no L field in their subheader (6.1.2); size in bytes
_CE_SIZE = {LCID_CONTENTION_RESOLUTION: 6, LCID_TIMING_ADVANCE: 1, LCID_DRX_COMMAND: 0}
_NO_L = frozenset((*_CE_SIZE, LCID_PADDING))

# TS 36.321 Table 6.2.1-2: LCID values for UL-SCH (Rel-8); 01011..11001 reserved
LCID_UL_POWER_HEADROOM = 0b11010
LCID_UL_C_RNTI = 0b11011
LCID_UL_TRUNCATED_BSR = 0b11100
LCID_UL_SHORT_BSR = 0b11101
LCID_UL_LONG_BSR = 0b11110
# fixed-size UL MAC CEs (TS 36.321 6.1.3.1 BSR, 6.1.3.2 C-RNTI, 6.1.3.6 PHR); size in bytes
_UL_CE_SIZE = {LCID_UL_POWER_HEADROOM: 1, LCID_UL_C_RNTI: 2, LCID_UL_TRUNCATED_BSR: 1, LCID_UL_SHORT_BSR: 1,
               LCID_UL_LONG_BSR: 3}
_UL_NO_L = frozenset((*_UL_CE_SIZE, LCID_PADDING))
_L7_MAX = 127  # F = 0: 7-bit L for SDUs/CEs shorter than 128 bytes
_L15_MAX = 2**15 - 1


class MacSubPdu(NamedTuple):
    """One MAC CE or MAC SDU of a DL-SCH PDU: its LCID and its bytes."""

    lcid: int
    payload: bytes


# ================================================================================================
# TS 36.321 6.1.2: MAC PDU subheader  R/R/E/LCID  or  R/R/E/LCID/F/L (F = 0: 7-bit L, F = 1: 15-bit L).
# The last subheader, and those of fixed-size CEs and padding, carry no F/L.
# ================================================================================================
_LENGTH = Struct(
    "f" / Flag,
    "l" / IfThenElse(this.f, BitsInteger(15), BitsInteger(7)),
)


def _subheader(no_l: frozenset) -> BitStruct:
    return BitStruct(
        Padding(2),  # R/R reserved bits, set to 0
        "e" / Flag,  # 1: another subheader follows
        "lcid" / BitsInteger(5),
        "length" / If(lambda ctx: ctx.e and ctx.lcid not in no_l, _LENGTH),
    )


_SUBHEADER = _subheader(_NO_L)
_HEADER = RepeatUntil(lambda obj, lst, ctx: not obj["e"], _SUBHEADER)
_UL_HEADER = RepeatUntil(lambda obj, lst, ctx: not obj["e"], _subheader(_UL_NO_L))

# ================================================================================================
# TS 36.321 6.1.3.5: Timing Advance Command MAC CE (Rel-8): R/R + 6-bit T_A (TS 36.213 4.2.3)
# ================================================================================================
_TIMING_ADVANCE_CE = BitStruct(Padding(2), "t_a" / BitsInteger(6))


def timing_advance_ce(t_a: int) -> MacSubPdu:
    """Timing Advance Command CE; T_A in 0..63 adjusts timing by (T_A - 31) * 16 Ts (TS 36.213 4.2.3)."""
    if not 0 <= t_a <= 63:
        raise ValueError(f"timing advance command T_A={t_a} is outside 0..63 (6 bits)")
    return MacSubPdu(LCID_TIMING_ADVANCE, _TIMING_ADVANCE_CE.build({"t_a": t_a}))


def parse_timing_advance_ce(payload: bytes) -> int:
    """T_A of a Timing Advance Command CE payload (1 byte)."""
    return _TIMING_ADVANCE_CE.parse(payload).t_a


# ================================================================================================
# TS 36.321 6.1.3.4: UE Contention Resolution Identity MAC CE: the first 48 bits of the UL CCCH SDU
# ================================================================================================
def contention_resolution_ce(ul_ccch_sdu: bytes) -> MacSubPdu:
    """Contention Resolution Identity CE echoing the handset's Msg3 CCCH SDU (its first 6 bytes)."""
    if len(ul_ccch_sdu) < 6:
        raise ValueError(f"the UL CCCH SDU has {len(ul_ccch_sdu)} bytes; the CE echoes 48 bits (6 bytes)")
    return MacSubPdu(LCID_CONTENTION_RESOLUTION, bytes(ul_ccch_sdu[:6]))


# ================================================================================================
# TS 36.321 6.1.3.2: C-RNTI MAC CE (UL): the handset's 16-bit C-RNTI
# ================================================================================================
def c_rnti_ce(c_rnti: int) -> MacSubPdu:
    """C-RNTI CE (UL-SCH, LCID 11011): the 16-bit C-RNTI, most significant bit first (TS 36.321 6.1.3.2)."""
    if not 0 <= c_rnti <= 0xFFFF:
        raise ValueError(f"C-RNTI {c_rnti} is outside 0..0xFFFF (16 bits)")
    return MacSubPdu(LCID_UL_C_RNTI, int(c_rnti).to_bytes(2, "big"))


def drx_command_ce() -> MacSubPdu:
    """DRX Command CE: zero bits, identified by its subheader only (TS 36.321 6.1.3.3)."""
    return MacSubPdu(LCID_DRX_COMMAND, b"")


# ------------------------------------------------------------------------------------------------
# DL-SCH PDU
# ------------------------------------------------------------------------------------------------


def _length_field(n_bytes: int) -> dict:
    if n_bytes > _L15_MAX:
        raise ValueError(f"a {n_bytes}-byte MAC SDU exceeds the 15-bit L field")
    return {"f": n_bytes > _L7_MAX, "l": n_bytes}


def _l_field_bytes(n_bytes: int) -> int:
    return 2 if n_bytes <= _L7_MAX else 3  # subheader with F/L: 16 or 24 bits


def _check_elements(sdus: list[tuple[int, bytes]], ces: list[tuple[int, bytes]], ce_size: dict = _CE_SIZE,
                    link: str = "DL") -> list[MacSubPdu]:
    elements = []
    for lcid, payload in ces:
        if lcid not in ce_size:
            raise ValueError(f"LCID {lcid} is not a {link} MAC CE; use one of {sorted(ce_size)}")
        if len(payload) != ce_size[lcid]:
            raise ValueError(f"MAC CE LCID {lcid} has {ce_size[lcid]} bytes, got {len(payload)}")
        elements.append(MacSubPdu(lcid, bytes(payload)))
    for lcid, payload in sdus:
        if lcid != LCID_CCCH and lcid not in LCID_DCCH_DTCH:
            raise ValueError(f"LCID {lcid} is not a {link} logical channel; SDUs use 0 (CCCH) or 1..10")
        if not payload:
            raise ValueError(f"MAC SDU on LCID {lcid} is empty")
        elements.append(MacSubPdu(lcid, bytes(payload)))
    return elements


def build_dl_sch_pdu(
    sdus: list[tuple[int, bytes]], ces: list[tuple[int, bytes]] = (), tbs_bytes: int | None = None
) -> bytes:
    """A DL-SCH MAC PDU of exactly `tbs_bytes` (TS 36.321 6.1.2): CEs first, then SDUs, then padding.

    Padding (6.1.2): 1 or 2 bytes -> one or two padding subheaders at the start of the header;
    3 or more -> a padding subheader after the others and zero padding bytes at the end (the last
    SDU then needs its L field). `tbs_bytes=None` builds the PDU without padding.
    """
    return _build_sch_pdu(_check_elements(list(sdus), list(ces)), tbs_bytes, _HEADER, _NO_L)


def build_ul_sch_pdu(
    sdus: list[tuple[int, bytes]], ces: list[tuple[int, bytes]] = (), tbs_bytes: int | None = None
) -> bytes:
    """A UL-SCH MAC PDU of exactly `tbs_bytes` (TS 36.321 6.1.2, LCIDs of Table 6.2.1-2): the same layout and
    padding rules as the DL-SCH; CEs are the C-RNTI (2 bytes), BSRs (1 or 3) and power headroom (1)."""
    elements = _check_elements(list(sdus), list(ces), _UL_CE_SIZE, "UL")
    return _build_sch_pdu(elements, tbs_bytes, _UL_HEADER, _UL_NO_L)


def _build_sch_pdu(elements: list[MacSubPdu], tbs_bytes: int | None, header, no_l: frozenset) -> bytes:
    """Subheaders (with F/L except for the last, fixed-size CEs and padding), CEs, SDUs, padding (6.1.2)."""
    if len(elements) == 1 and tbs_bytes == 1 + len(elements[0].payload):
        # one element filling the block exactly: a single last subheader R/R/E=0/LCID without F/L,
        # the byte _HEADER.build gives (the hot path of full-buffer user data; tests compare both)
        return bytes((elements[0].lcid,)) + elements[0].payload
    payload = b"".join(e.payload for e in elements)
    # header with every element's L present except the last one's
    header_bytes = [1 if e.lcid in no_l else _l_field_bytes(len(e.payload)) for e in elements]
    if elements:
        header_bytes[-1] = 1
    size = sum(header_bytes) + len(payload)
    spare = 0 if tbs_bytes is None else tbs_bytes - size
    if spare < 0:
        raise ValueError(f"the MAC PDU needs {size} bytes but the transport block has {tbs_bytes}")

    n_front_padding = spare if spare in (1, 2) else 0
    end_padding = spare >= 3
    subheaders = [{"e": True, "lcid": LCID_PADDING, "length": None} for _ in range(n_front_padding)]
    for j, e in enumerate(elements):
        last = j == len(elements) - 1 and not end_padding
        has_l = not last and e.lcid not in no_l
        length = _length_field(len(e.payload)) if has_l else None
        subheaders.append({"e": not last, "lcid": e.lcid, "length": length})
    n_padding_bytes = 0
    if end_padding:
        subheaders.append({"e": False, "lcid": LCID_PADDING, "length": None})
        n_padding_bytes = tbs_bytes - len(header.build(subheaders)) - len(payload)
    if not subheaders:
        raise ValueError("an empty MAC PDU: give at least one SDU or CE, or a tbs_bytes to pad")
    subheaders[-1]["e"] = False
    pdu = header.build(subheaders) + payload + bytes(n_padding_bytes)
    assert tbs_bytes is None or len(pdu) == tbs_bytes, (len(pdu), tbs_bytes)
    return pdu


def parse_dl_sch_pdu(data: bytes) -> list[MacSubPdu]:
    """The CEs and SDUs of a DL-SCH MAC PDU in order (padding dropped); ValueError if malformed."""
    return _parse_sch_pdu(data, _HEADER, _CE_SIZE, "downlink (TS 36.321 Table 6.2.1-1)")


def parse_ul_sch_pdu(data: bytes) -> list[MacSubPdu]:
    """The CEs and SDUs of a UL-SCH MAC PDU in order (padding dropped; LCIDs of TS 36.321 Table 6.2.1-2)."""
    return _parse_sch_pdu(data, _UL_HEADER, _UL_CE_SIZE, "uplink (TS 36.321 Table 6.2.1-2)")


def _parse_sch_pdu(data: bytes, header, ce_size: dict, link: str) -> list[MacSubPdu]:
    data = bytes(data)
    try:
        subheaders = header.parse(data)
    except Exception as exc:
        raise ValueError(f"MAC PDU header is truncated or malformed: {exc}") from exc
    pos = len(header.build(subheaders))
    out = []
    for j, sh in enumerate(subheaders):
        last = j == len(subheaders) - 1
        lcid = sh.lcid
        if lcid == LCID_PADDING:
            if last:
                pos = len(data)  # padding to the end
            continue
        if lcid not in ce_size and lcid != LCID_CCCH and lcid not in LCID_DCCH_DTCH:
            raise ValueError(f"subheader {j}: LCID {lcid} is reserved in the {link}")
        if lcid in ce_size:
            n = ce_size[lcid]
        elif last:
            n = len(data) - pos
        else:
            n = sh.length.l
        if n <= 0 and lcid not in ce_size or pos + n > len(data):
            raise ValueError(f"subheader {j}: LCID {lcid} with {n} bytes runs past the {len(data)}-byte PDU")
        out.append(MacSubPdu(lcid, data[pos : pos + n]))
        pos += n
    if pos != len(data):
        raise ValueError(f"{len(data) - pos} bytes after the last MAC SDU/CE and no padding subheader")
    return out


# ================================================================================================
# TS 36.321 6.1.5 / 6.2.2: RAR subheaders  E/T/RAPID (T = 1)  or  E/T/R/R/BI (T = 0, backoff indicator)
# ================================================================================================
_RAR_SUBHEADER = BitStruct(
    "e" / Flag,
    "t" / Flag,
    "body" / IfThenElse(this.t, Struct("rapid" / BitsInteger(6)), Struct(Padding(2), "bi" / BitsInteger(4))),
)

# ================================================================================================
# TS 36.321 6.2.3: MAC RAR (48 bits): R, Timing Advance Command (11), UL Grant (20), Temporary C-RNTI (16).
# TS 36.213 6.2: UL grant = hopping flag 1, fixed-size RB assignment 10, truncated MCS 4, TPC 3,
#                UL delay 1, CSI request 1.
# ================================================================================================
_MAC_RAR = BitStruct(
    Padding(1),  # R
    "timing_advance" / BitsInteger(11),
    "ul_grant"
    / Struct(
        "hopping" / Flag,
        "rb_assignment" / BitsInteger(10),
        "mcs" / BitsInteger(4),
        "tpc" / BitsInteger(3),
        "ul_delay" / Flag,
        "csi_request" / Flag,
    ),
    "tc_rnti" / BitsInteger(16),
)
_RAR_PDU = Struct(
    "subheaders" / RepeatUntil(lambda obj, lst, ctx: not obj["e"], _RAR_SUBHEADER),
    "rars" / Array(lambda ctx: sum(1 for s in ctx.subheaders if s["t"]), _MAC_RAR),
    "padding" / GreedyBytes,
)


class RarUlGrant(NamedTuple):
    """The 20-bit random access response grant (TS 36.213 6.2)."""

    hopping: bool
    rb_assignment: int
    mcs: int
    tpc: int
    ul_delay: bool
    csi_request: bool


class Rar(NamedTuple):
    """One MAC RAR addressed by its preamble index (TS 36.321 6.2.2, 6.2.3)."""

    rapid: int
    timing_advance: int  # T_A 0..1282, in units of 16 Ts (TS 36.213 4.2.3)
    ul_grant: RarUlGrant
    tc_rnti: int


class RarPdu(NamedTuple):
    """A RAR MAC PDU: optional backoff indicator (0..15, TS 36.321 7.2) and the RARs in order."""

    rars: tuple[Rar, ...]
    backoff_indicator: int | None = None


def build_rar(pdu: RarPdu, tbs_bytes: int | None = None) -> bytes:
    """RAR MAC PDU (TS 36.321 6.1.5): BI subheader first if any, RAPID subheaders, MAC RARs, zero padding."""
    subheaders = []
    if pdu.backoff_indicator is not None:
        if not 0 <= pdu.backoff_indicator <= 15:
            raise ValueError(f"backoff indicator {pdu.backoff_indicator} is outside 0..15")
        subheaders.append({"e": True, "t": False, "body": {"bi": pdu.backoff_indicator}})
    rars = []
    for r in pdu.rars:
        if not 0 <= r.rapid <= 63:
            raise ValueError(f"RAPID {r.rapid} is outside 0..63")
        if not 0 <= r.timing_advance <= 1282:
            raise ValueError(f"RAR timing advance {r.timing_advance} is outside 0..1282 (TS 36.213 4.2.3)")
        subheaders.append({"e": True, "t": True, "body": {"rapid": r.rapid}})
        rars.append(
            {"timing_advance": r.timing_advance, "ul_grant": r.ul_grant._asdict(), "tc_rnti": r.tc_rnti}
        )
    if not subheaders:
        raise ValueError("a RAR PDU needs at least one RAR or a backoff indicator")
    subheaders[-1]["e"] = False
    body = _RAR_PDU.build({"subheaders": subheaders, "rars": rars, "padding": b""})
    if tbs_bytes is None:
        return body
    if len(body) > tbs_bytes:
        raise ValueError(f"the RAR PDU needs {len(body)} bytes but the transport block has {tbs_bytes}")
    return body + bytes(tbs_bytes - len(body))


def parse_rar(data: bytes) -> RarPdu:
    """Parse a RAR MAC PDU; bytes after the last MAC RAR are padding (TS 36.321 6.1.5)."""
    try:
        parsed = _RAR_PDU.parse(bytes(data))
    except Exception as exc:
        raise ValueError(f"RAR PDU is truncated or malformed: {exc}") from exc
    bi = None
    rapids = []
    for j, sh in enumerate(parsed.subheaders):
        if sh.t:
            rapids.append(sh.body.rapid)
        elif j == 0:
            bi = sh.body.bi
        else:
            raise ValueError(f"subheader {j}: a backoff indicator subheader must come first")
    rars = tuple(
        Rar(
            rapid,
            r.timing_advance,
            RarUlGrant(**{k: r.ul_grant[k] for k in RarUlGrant._fields}),
            r.tc_rnti,
        )
        for rapid, r in zip(rapids, parsed.rars, strict=True)
    )
    return RarPdu(rars, bi)
