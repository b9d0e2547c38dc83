"""Soragate MAC (eNodeB downlink side): system information, its schedule, MAC PDUs.

    from mac import encode_sib1, encode_si_sib2, sib1_occasion, si_occasion, si_schedule, build_dl_sch_pdu
    sib1 = encode_sib1(cfg.cell, cfg.system_info)        # BCCH-DL-SCH bytes (TS 36.331, UPER)
    rv = sib1_occasion(sfn, subframe)                     # None, or the RV of SIB1 there
    hit = si_occasion(sfn, subframe, si_schedule(cfg.system_info))   # None, or (si_index, rv)

Modules: sib.py (TS 36.331 messages via pycrate), si_schedule.py (36.331 5.2, 36.321 5.3.1),
pdu.py (36.321 6.1/6.2 MAC PDU layouts with construct). Random access and connection over the satellite
round trip (issue 15, docs/random_access.md): rar.py, ue_ra.py, enb_ra.py, ra_loop.py, ra_feasibility.py,
rrc.py (36.331 RRC connection messages, UPER via pycrate), pdcp.py / rlc.py (SRB1), connection.py (idle ->
RRC connected, TA loop), harq.py (HARQ policies over the round trip).
"""

import importlib

# Lazy (PEP 562): `import mac.plmn` (gateway.config) must not pull in pycrate's RRC tables (~0.4 s of
# start-up, issue 13); each name below is imported from its module on first use.
_SUBMODULE = {
    **dict.fromkeys(
        ("MacSubPdu", "Rar", "RarPdu", "RarUlGrant", "build_dl_sch_pdu", "build_rar", "contention_resolution_ce",
         "parse_dl_sch_pdu", "parse_rar", "timing_advance_ce"),
        "pdu",
    ),
    **dict.fromkeys(("SiSchedule", "si_occasion", "si_schedule", "si_schedule_from_sib1", "sib1_occasion"),
                    "si_schedule"),
    **dict.fromkeys(("Sib1Info", "decode_bcch_dl_sch", "encode_si_sib2", "encode_sib1", "pad_to_tbs", "sib1_info"),
                    "sib"),
}


def __getattr__(name: str):
    if name in _SUBMODULE:
        value = getattr(importlib.import_module(f".{_SUBMODULE[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'mac' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


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
