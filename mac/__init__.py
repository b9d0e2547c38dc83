"""Soragate MAC (eNodeB downlink side): system information, its schedule, MAC PDUs.

    from mac import encode_sib1, encode_si_sib2, sib1_occasion, si_occasion, si_schedule, build_dl_sch_pdu
    sib1 = encode_sib1(cfg.cell, cfg.system_info)        # BCCH-DL-SCH bytes (TS 36.331, UPER)
    rv = sib1_occasion(sfn, subframe)                     # None, or the RV of SIB1 there
    hit = si_occasion(sfn, subframe, si_schedule(cfg.system_info))   # None, or (si_index, rv)

Modules: sib.py (TS 36.331 messages via pycrate), si_schedule.py (36.331 5.2, 36.321 5.3.1),
pdu.py (36.321 6.1/6.2 MAC PDU layouts with construct).
"""

from .pdu import (
    MacSubPdu,
    Rar,
    RarPdu,
    RarUlGrant,
    build_dl_sch_pdu,
    build_rar,
    contention_resolution_ce,
    parse_dl_sch_pdu,
    parse_rar,
    timing_advance_ce,
)
from .si_schedule import SiSchedule, si_occasion, si_schedule, si_schedule_from_sib1, sib1_occasion
from .sib import Sib1Info, decode_bcch_dl_sch, encode_si_sib2, encode_sib1, pad_to_tbs, sib1_info

__all__ = [
    "MacSubPdu",
    "Rar",
    "RarPdu",
    "RarUlGrant",
    "Sib1Info",
    "SiSchedule",
    "build_dl_sch_pdu",
    "build_rar",
    "contention_resolution_ce",
    "decode_bcch_dl_sch",
    "encode_si_sib2",
    "encode_sib1",
    "pad_to_tbs",
    "parse_dl_sch_pdu",
    "parse_rar",
    "si_occasion",
    "si_schedule",
    "si_schedule_from_sib1",
    "sib1_info",
    "sib1_occasion",
    "timing_advance_ce",
]
