"""The emulated handset's downlink MAC/RRC reading: SI acquisition and DL-SCH KPIs.

From the subframes decoded by phy.ue.downlink_rx.receive_downlink:
- SI-RNTI blocks in subframe 5 of even frames are SIB1 (TS 36.331 5.2.1.2); the others are SI
  messages, which must fall into an SI window of the schedule SIB1 announces (TS 36.331 5.2.3,
  mac.si_schedule.si_schedule_from_sib1). Both are parsed as BCCH-DL-SCH (pycrate, mac.sib).
- C-RNTI blocks: BLER = CRC failures / PDSCH decoded, throughput = bits of the blocks that pass
  CRC24A per second of received signal, and the MAC SDU bytes they deliver (mac.pdu).
- PDCCH false alarms: the DCIs the receiver discarded (phy.ue.dci_check), against the expected
  number (RNTI comparisons x 2^-16).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field

import numpy as np

from phy.ue.dci_check import DciStats
from phy.ul_config import UlCellConfig

from .pdu import LCID_DCCH_DTCH, parse_dl_sch_pdu
from .si_schedule import si_occasion, si_schedule_from_sib1
from .sib import Sib1Info, decode_bcch_dl_sch, sib1_info, sib2_from_message, ul_cell_config_from_sib2

__all__ = ["DownlinkReport", "read_downlink", "SI_RNTI"]

SI_RNTI = 0xFFFF  # TS 36.321 Table 7.1-1


@dataclass(frozen=True)
class DownlinkReport:
    """What the handset read from the downlink data channels.

    sib1_tx / sib1_ok: SI-RNTI PDSCHs found in SIB1 occasions / those that passed CRC and parsed as SIB1;
    si_tx / si_ok: the same for SI messages (other subframes); si_outside_window: SI-RNTI blocks outside
    every window SIB1 announces; sib2: a SystemInformation with SIB2 was read. plmns/tac/cell_identity:
    from the first good SIB1 (None before one). user_*: PDSCHs for `c_rnti`, their CRC failures, BLER,
    throughput (bit/s over `duration_s`), MAC SDU bytes of data logical channels delivered.
    dci_rnti_checks: CRC comparisons with a looked-for RNTI; dci_false_alarms: DCIs found but discarded
    as impossible (phy.ue.dci_check, per reason in dci_discard_reasons); dci_expected_false_alarms:
    dci_rnti_checks x 2^-16, what a 16-bit CRC lets through on noise candidates.
    """

    subframes: int
    duration_s: float
    sib1_tx: int
    sib1_ok: int
    si_tx: int
    si_ok: int
    si_outside_window: int
    sib2: bool
    plmns: tuple[str, ...]
    tac: int | None
    cell_identity: int | None
    c_rnti: int | None
    user_blocks: int
    user_errors: int
    bler: float | None
    throughput_bps: float
    user_sdu_bytes: int
    sib1_info: Sib1Info | None = None
    dci_rnti_checks: int = 0
    dci_false_alarms: int = 0
    dci_expected_false_alarms: float = 0.0
    dci_discard_reasons: tuple[tuple[str, int], ...] = ()
    # the first SIB2 read (pycrate value): the handset's uplink settings come from it, not the profile
    sib2_value: dict | None = field(default=None, repr=False, compare=False)

    def ul_cell_config(self, n_id_cell: int, n_rb_dl: int) -> UlCellConfig:
        """The uplink cell description from the SIB2 this handset decoded (PCI from its cell search,
        N_RB_DL from the MIB); ValueError before a SIB2 was read."""
        if self.sib2_value is None:
            raise ValueError("no SIB2 was decoded: the handset has no uplink configuration yet")
        return ul_cell_config_from_sib2(self.sib2_value, n_id_cell, n_rb_dl)

    def as_dict(self) -> dict:
        out = asdict(self)
        out["sib1_info"] = None if self.sib1_info is None else self.sib1_info._asdict()
        out["plmns"] = list(self.plmns)
        out["dci_discard_reasons"] = dict(self.dci_discard_reasons)
        out.pop("sib2_value", None)
        return out


def _bytes(bits: np.ndarray) -> bytes:
    return np.packbits(np.asarray(bits, dtype=np.uint8)).tobytes()


def read_downlink(subframes: Iterable, c_rnti: int | None = None) -> DownlinkReport:
    """Acquire SIB1/SIB2 and count the C-RNTI's PDSCH blocks over received subframes (SubframeRx)."""
    n_sf = 0
    sib1, sib2 = None, False
    sib2_decoded: dict | None = None
    sib1_tx = sib1_ok = si_tx = si_ok = 0
    si_times: list[tuple[int, int]] = []
    user_blocks = user_errors = user_bits = sdu_bytes = 0
    dci = DciStats()
    for sf in subframes:
        n_sf += 1
        if getattr(sf, "dci_stats", None) is not None:
            dci.add(sf.dci_stats)
        for tb in sf.tbs:
            rnti, ok = tb.found.rnti, tb.result.crc_ok
            if rnti == SI_RNTI:
                is_sib1 = sf.subframe == 5 and sf.sfn % 2 == 0
                if is_sib1:
                    sib1_tx += 1
                else:
                    si_tx += 1
                    si_times.append((sf.sfn, sf.subframe))
                if not ok:
                    continue
                try:
                    msg = decode_bcch_dl_sch(_bytes(tb.result.bits))
                    if is_sib1:
                        info = sib1_info(msg)
                        sib1 = sib1 or info
                        sib1_ok += 1
                    else:
                        sib2_decoded = sib2_decoded or sib2_from_message(msg)
                        sib2 = True
                        si_ok += 1
                except ValueError:
                    continue  # CRC passed but not the message expected here: counted as not ok
            elif c_rnti is not None and rnti == c_rnti:
                user_blocks += 1
                if not ok:
                    user_errors += 1
                    continue
                user_bits += tb.grant.tbs
                sdu_bytes += sum(
                    len(s.payload) for s in parse_dl_sch_pdu(_bytes(tb.result.bits)) if s.lcid in LCID_DCCH_DTCH
                )
    outside = 0
    if sib1 is not None and si_times:
        schedule = si_schedule_from_sib1(sib1)
        outside = sum(si_occasion(sfn, sf, schedule) is None for sfn, sf in si_times)
    duration_s = n_sf * 1e-3
    return DownlinkReport(
        subframes=n_sf,
        duration_s=duration_s,
        sib1_tx=sib1_tx,
        sib1_ok=sib1_ok,
        si_tx=si_tx,
        si_ok=si_ok,
        si_outside_window=outside,
        sib2=sib2,
        sib2_value=sib2_decoded,
        plmns=tuple(str(p) for p in sib1.plmn_list) if sib1 else (),
        tac=sib1.tac if sib1 else None,
        cell_identity=sib1.cell_identity if sib1 else None,
        c_rnti=c_rnti,
        user_blocks=user_blocks,
        user_errors=user_errors,
        bler=user_errors / user_blocks if user_blocks else None,
        throughput_bps=user_bits / duration_s if n_sf else 0.0,
        user_sdu_bytes=sdu_bytes,
        sib1_info=sib1,
        dci_rnti_checks=dci.rnti_checks,
        dci_false_alarms=dci.discarded,
        dci_expected_false_alarms=dci.expected_false_alarms,
        dci_discard_reasons=tuple(sorted(dci.reasons.items())),
    )
