"""Handset PDSCH reception: from a DCI found on the PDCCH to a checked transport block
(TS 36.213 7.1, TS 36.211 6.3/6.4 inverse, TS 36.212 5.3.2 inverse).

`receive_pdsch` demodulates one assignment (max-log LLRs, HARQ soft combining, turbo decoding,
CRC24A); `decode_subframe` runs the whole handset chain on one received subframe grid: CRS channel
estimate (phy.ue.chest), PDCCH blind decoding (phy.ue.pdcch_rx), then every downlink assignment found.

A format 1C carries no redundancy version: the MAC derives it for SI, RV = ceil(3k/2) mod 4 (TS 36.321
5.3.1; mac.si_schedule.si_rnti_rv). When the caller does not know it (no SIB1 read yet), the RVs are
tried in the SI order 0, 2, 3, 1 and the first block passing CRC24A is kept.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..channels.pdsch import (
    N_SOFT_DEFAULT,
    DlschResult,
    PdschGrant,
    dlsch_decode,
    grant_from_dci,
    pdsch_bits_available,
    pdsch_llr,
)
from ..dci import Dci1, Dci1A, Dci1C
from ..fec.segmentation import segment
from .chest import estimate_channel
from .pdcch_rx import P_RNTI, RA_RNTIS, SI_RNTI, FoundDci, blind_decode

__all__ = [
    "ReceivedTb",
    "receive_pdsch",
    "decode_subframe",
    "is_pdsch_assignment",
    "effective_code_rate",
    "SI_RV_ORDER",
    "MAX_CODE_RATE",
]

MAX_CODE_RATE = 0.930  # TS 36.213 7.1.7: the UE may skip an initial transmission above this code rate
SI_RV_ORDER = (0, 2, 3, 1)  # ceil(3k/2) mod 4 for k = 0..3 (TS 36.321 5.3.1): the RVs tried for a 1C


def is_pdsch_assignment(found: FoundDci) -> bool:
    """A DCI whose PDSCH the handset decodes on its own: 1C, or 1/1A with I_MCS 0..28 (29..31 is a
    HARQ retransmission whose TBS only the HARQ entity knows, TS 36.213 7.1.7.2)."""
    return isinstance(found.dci, Dci1C) or (isinstance(found.dci, (Dci1, Dci1A)) and found.dci.mcs < 29)


@dataclass
class ReceivedTb:
    """One decoded downlink assignment: the DCI found, the grant it gives and the DL-SCH result.
    skipped_code_rate: the effective code rate when the block was not decoded because it exceeds
    MAX_CODE_RATE (result.crc_ok is then False); None when it was decoded."""

    found: FoundDci
    grant: PdschGrant
    result: DlschResult
    skipped_code_rate: float | None = None


def effective_code_rate(tbs_bits: int, g: int) -> float:
    """Downlink information bits with their CRCs over the G physical channel bits (TS 36.213 7.1.7):
    (TBS + 24 + 24 C if C > 1) / G, C the code blocks (TS 36.212 5.1.2)."""
    c = segment(tbs_bits + 24).c
    return (tbs_bits + 24 + (24 * c if c > 1 else 0)) / g if g else float("inf")


def receive_pdsch(
    rx_grid: np.ndarray,
    h: np.ndarray,
    noise_var: float,
    cell,
    subframe: int,
    found: FoundDci,
    soft_buffers: list[np.ndarray] | None = None,
    tbs_first: int | None = None,
    n_soft: int | None = N_SOFT_DEFAULT,
    n_iter: int = 8,
    rv: int | None = None,
) -> ReceivedTb:
    """Decode the PDSCH of a format 1/1A/1C DCI. rx_grid (14, 12 n_rb), h (n_ports, 14, 12 n_rb);
    soft_buffers: HARQ buffers of earlier transmissions of the same block (from ReceivedTb.result);
    rv: the RV of a 1C (ignored for 1/1A); None tries SI_RV_ORDER and keeps the first CRC pass (or
    the RV 0 attempt when none passes). An initial transmission whose effective code rate exceeds
    MAX_CODE_RATE is not decoded (TS 36.213 7.1.7; a false-alarm DCI of many bits on few REs would
    otherwise decode its zero LLRs to an all-zero block, which passes CRC24A)."""
    if not isinstance(found.dci, (Dci1, Dci1A, Dci1C)):
        raise ValueError(f"{type(found.dci).__name__} carries no PDSCH assignment")
    common = found.space == "common" and found.rnti in (SI_RNTI, P_RNTI, *RA_RNTIS)
    rvs = (rv,) if rv is not None or not isinstance(found.dci, Dci1C) else SI_RV_ORDER
    n_ports = np.asarray(h).shape[0]
    first = None
    for try_rv in rvs:
        grant = grant_from_dci(
            found.dci, int(cell.n_rb_dl), found.rnti, common=common, tbs_first=tbs_first, rv=try_rv
        )
        if soft_buffers is None:  # an initial transmission: skip it above the code rate (TS 36.213 7.1.7)
            g = pdsch_bits_available(
                grant.prbs, int(cell.n_rb_dl), int(cell.pci), n_ports, int(cell.n_ctrl_symbols), subframe, grant.q_m
            )
            rate = effective_code_rate(grant.tbs, g)
            if rate > MAX_CODE_RATE:
                c = segment(grant.tbs + 24).c
                skipped = DlschResult(np.zeros(grant.tbs, np.uint8), False, np.zeros(c, bool), [])
                return ReceivedTb(found, grant, skipped, skipped_code_rate=rate)
        llr = pdsch_llr(rx_grid, h, noise_var, grant, int(cell.pci), int(cell.n_ctrl_symbols), subframe)
        result = dlsch_decode(
            llr,
            grant.tbs,
            grant.q_m,
            grant.rv,
            n_l=n_ports,
            n_soft=n_soft,
            soft_buffers=soft_buffers,
            n_iter=n_iter,
        )
        tb = ReceivedTb(found, grant, result)
        if result.crc_ok:
            return tb
        first = first or tb
    return first


def decode_subframe(
    rx_grid: np.ndarray, cell, subframe: int, c_rnti: int | None = None, si_rv: int | None = None
) -> list[ReceivedTb]:
    """Channel estimate + PDCCH blind decoding + PDSCH decoding of every downlink assignment for the
    common RNTIs and `c_rnti` in one received subframe grid (14, 12 n_rb). si_rv: the RV of a format
    1C PDSCH in this subframe if the MAC knows it (None: tried, see receive_pdsch)."""
    n_rb, pci, n_ports = int(cell.n_rb_dl), int(cell.pci), int(cell.n_ports)
    ce = estimate_channel(rx_grid, pci, n_rb, n_ports, subframe)
    out = []
    for found in blind_decode(rx_grid, ce.h, ce.noise_var, cell, subframe, c_rnti=c_rnti):
        if is_pdsch_assignment(found) or (isinstance(found.dci, (Dci1, Dci1A)) and found.rnti != c_rnti):
            # (a C-RNTI retransmission with I_MCS 29..31 needs the HARQ entity's TBS: receive_pdsch)
            out.append(receive_pdsch(rx_grid, ce.h, ce.noise_var, cell, subframe, found, rv=si_rv))
    return out
