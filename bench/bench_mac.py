"""MAC costs per call: SIB encode/decode (pycrate UPER), SI occasion lookup, DL-SCH PDU build/parse.

A TTI is 1 ms; the `per TTI` column is the share of one 1 ms subframe of one core the call takes.
SIB contents are static, so a scheduler encodes them once per config change, not per TTI.
"""

from __future__ import annotations

from bench.timing import cpu_seconds
from gateway.config import config_from_dict
from mac.pdu import build_dl_sch_pdu, parse_dl_sch_pdu, timing_advance_ce
from mac.si_schedule import si_occasion, si_schedule, sib1_occasion
from mac.sib import decode_bcch_dl_sch, encode_si_sib2, encode_sib1


def main() -> None:
    cfg = config_from_dict({
        "system_info": {"mode": "disaster_roaming", "plmn": "440-10",
                        "partner_plmns": ["440-50", "440-20", "440-11"]},
    })
    sib1 = encode_sib1(cfg.cell, cfg.system_info)
    sib2 = encode_si_sib2(cfg.cell, cfg.system_info)
    sched = si_schedule(cfg.system_info)
    big_tbs = 75376 // 8  # TS 36.213 TBS for I_TBS 26, 100 PRB (MCS 28, 20 MHz)
    sdus = [(3, bytes(big_tbs - 16))]
    pdu = build_dl_sch_pdu(sdus, [timing_advance_ce(31)], big_tbs)

    rows = [
        ("encode SIB1 (4 PLMNs)", lambda: encode_sib1(cfg.cell, cfg.system_info), 20),
        ("encode SI(SIB2)", lambda: encode_si_sib2(cfg.cell, cfg.system_info), 20),
        ("decode SIB1", lambda: decode_bcch_dl_sch(sib1), 20),
        ("decode SI(SIB2)", lambda: decode_bcch_dl_sch(sib2), 20),
        ("sib1_occasion + si_occasion", lambda: (sib1_occasion(0, 5), si_occasion(1, 3, sched)), 2000),
        (f"build DL-SCH PDU {big_tbs} B", lambda: build_dl_sch_pdu(sdus, [timing_advance_ce(31)], big_tbs),
         200),
        (f"parse DL-SCH PDU {big_tbs} B", lambda: parse_dl_sch_pdu(pdu), 200),
    ]
    print(f"{'operation':34s} {'us/call':>10s} {'per TTI':>9s}")
    for name, fn, number in rows:
        t = cpu_seconds(fn, repeat=3, number=number)
        print(f"{name:34s} {t * 1e6:10.1f} {t / 1e-3:9.1%}")


if __name__ == "__main__":
    main()
