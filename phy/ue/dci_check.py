"""Consistency check of a blind-decoded DCI before the handset uses it, and the count of discards.

The 16-bit RNTI-masked CRC of a PDCCH candidate that carries only noise matches a given RNTI with
probability 2^-16, and the handset compares every decoded candidate with every RNTI it looks for
(TS 36.213 9.1.1), so false alarms are expected: about (RNTI comparisons) x 2^-16. A phone does not
act on a DCI that cannot be what the eNodeB sent. `check_dci` is the one test a decoded payload
passes before it is used; anything it rejects raises `DciRejected` with a short reason, and the
blind decoder counts it in `DciStats` (phy.ue.pdcch_rx) instead of handing it on.

Checks, in order:
1. payload size equals the size of the format searched (TS 36.212 5.3.3.1, incl. padding rules);
2. the fields unpack (TS 36.212 5.3.3.1.1-5.3.3.1.4);
3. the format is allowed for the RNTI and the search space: SI-, P-, RA-RNTI use 1A or 1C in the common
   space (TS 36.213 Tables 7.1-1, 7.1-2, 7.1-3); the C-RNTI uses 1A in both spaces and 1 in the
   UE-specific space for transmission modes 1 and 2 (Table 7.1-5), format 0 in both (Table 8-3);
4. the allocation lies inside the cell: RIV < N_RB (N_RB + 1) / 2 and the VRBs inside N_VRB_DL
   (TS 36.213 7.1.6.3, TS 36.211 6.2.3.2), a type 0 bitmap that allocates something, a type 1 subset
   p < P (7.1.6.1, 7.1.6.2); a non-hopping format 0 RIV over N_RB_UL (8.1.1);
5. the TBS exists: I_MCS <= 26 for a 1A with SI/P/RA-RNTI (I_TBS = I_MCS, 7.1.7), TBS table entry.
The effective code rate (TS 36.213 7.1.7: above 0.930 the UE *may skip decoding* the block) is not a
reason to discard the DCI itself and is not checked here.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from ..channels.pdsch import PdschGrant, grant_from_dci
from ..dci import Dci, Dci0, Dci1, Dci1A, Dci1APdcchOrder, Dci1C, dci_size, dci_unpack
from ..resource_allocation import riv_decode

__all__ = ["DciRejected", "DciStats", "check_dci", "COMMON_RNTI_FORMATS", "CRNTI_FORMATS"]

# format searched -> formats the RNTI types may use (TS 36.213 Tables 7.1-1..7.1-5, 8-3)
COMMON_RNTI_FORMATS = frozenset({"0/1A", "1C"})  # SI/P/RA-RNTI: 1A (not 0) or 1C, common space only
CRNTI_FORMATS = {"common": frozenset({"0/1A"}), "ue": frozenset({"0/1A", "1"})}


class DciRejected(ValueError):
    """A decoded DCI that cannot be a real one; `reason` is a short counter key."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


@dataclass
class DciStats:
    """Blind-decoding counts of one or more subframes.

    rnti_checks: CRC syndrome comparisons with a looked-for RNTI (decoded candidate x RNTIs wanted
    there); each is a false-alarm opportunity of probability 2^-16 on a noise candidate.
    accepted: DCIs handed on; discarded: matches rejected by check_dci (false alarms), per reason.
    """

    candidates: int = 0
    rnti_checks: int = 0
    accepted: int = 0
    discarded: int = 0
    reasons: Counter = field(default_factory=Counter)

    @property
    def expected_false_alarms(self) -> float:
        """rnti_checks x 2^-16: the false alarms a 16-bit CRC lets through on noise."""
        return self.rnti_checks * 2.0**-16

    def discard(self, reason: str) -> None:
        """The one place a decoded DCI is dropped: counted by reason."""
        self.discarded += 1
        self.reasons[reason] += 1

    def add(self, other: DciStats) -> None:
        self.candidates += other.candidates
        self.rnti_checks += other.rnti_checks
        self.accepted += other.accepted
        self.discarded += other.discarded
        self.reasons.update(other.reasons)

    def as_dict(self) -> dict:
        return {
            "candidates": self.candidates,
            "rnti_checks": self.rnti_checks,
            "accepted": self.accepted,
            "false_alarms_discarded": self.discarded,
            "expected_false_alarms": self.expected_false_alarms,
            "discard_reasons": dict(sorted(self.reasons.items())),
        }


def _grant(dci: Dci, n_rb_dl: int, rnti: int, common: bool) -> PdschGrant | None:
    """The PDSCH grant (RV 0 for a 1C), None for a retransmission I_MCS (TBS from the HARQ entity)."""
    if isinstance(dci, (Dci1, Dci1A)) and not common and dci.mcs >= 29:
        # 7.1.7.2: TBS of the first transmission; the allocation must still be valid
        return grant_from_dci(dci, n_rb_dl, rnti, common=False, tbs_first=0)
    return grant_from_dci(dci, n_rb_dl, rnti, common=common, rv=0)


def check_dci(
    payload: np.ndarray,
    fmt: str,
    rnti: int,
    space: str,
    n_rb_dl: int,
    c_rnti: int | None,
) -> Dci:
    """Unpack and check a decoded DCI payload (A,) uint8 of format `fmt` ('0/1A', '1', '1C') found with
    `rnti` in `space` ('common' | 'ue') by a handset whose C-RNTI is `c_rnti`; returns the Dci or raises
    DciRejected (see the module docstring)."""
    fmt_unpack = "1A" if fmt == "0/1A" else fmt
    if fmt_unpack not in ("1A", "1", "1C"):
        raise DciRejected("format", f"DCI format {fmt!r} is not searched by this handset")
    size = dci_size(fmt_unpack, n_rb_dl)
    if np.shape(payload) != (size,):
        raise DciRejected("size", f"format {fmt} for N_RB {n_rb_dl} has {size} bits, got {np.shape(payload)}")
    is_c = c_rnti is not None and rnti == c_rnti
    allowed = CRNTI_FORMATS.get(space, frozenset()) if is_c else (
        COMMON_RNTI_FORMATS if space == "common" else frozenset()
    )
    if fmt not in allowed:
        raise DciRejected("format_for_rnti", f"format {fmt} is not used with RNTI {rnti:#06x} in the {space} space")
    try:
        dci = dci_unpack(payload, fmt_unpack, n_rb_dl, rnti_kind="c" if is_c else "common")
    except ValueError as exc:
        raise DciRejected("fields", str(exc)) from None
    if isinstance(dci, Dci0):
        if not is_c:
            raise DciRejected("format_for_rnti", f"format 0 (uplink grant) with RNTI {rnti:#06x}")
        if not dci.hopping:
            try:
                riv_decode(dci.rb_assignment, n_rb_dl)  # N_RB_UL = N_RB_DL in this cell (TS 36.213 8.1.1)
            except ValueError as exc:
                raise DciRejected("allocation", str(exc)) from None
        return dci
    if isinstance(dci, Dci1APdcchOrder):
        return dci  # C-RNTI only (dci_unpack returns it for rnti_kind 'c'): no PDSCH
    common = not is_c
    try:
        grant = _grant(dci, n_rb_dl, rnti, common)
    except ValueError as exc:
        reason = "mcs" if "I_MCS" in str(exc) or "I_TBS" in str(exc) else "allocation"
        raise DciRejected(reason, str(exc)) from None
    if grant.n_prb == 0:
        raise DciRejected("allocation", "the resource allocation field allocates no resource block")
    assert isinstance(dci, (Dci1, Dci1A, Dci1C))
    return dci
