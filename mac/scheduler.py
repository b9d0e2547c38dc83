"""Per-TTI downlink scheduler of the eNodeB (FDD, one codeword, transmission mode 1 or 2).

For each (SFN, subframe) `DlScheduler.schedule` decides, in this priority order:

1. System information on SI-RNTI, DCI format 1A or 1C (`system_info.si_dci_format`) in the common
   search space (TS 36.213 9.1.1): SIB1 in subframe 5 of even frames with RV = ceil(3k/2) mod 4,
   k = (SFN/2) mod 4 (TS 36.321 5.3.1, TS 36.331 5.2.1.2); the SI message with SIB2 in the first
   `si_transmissions` free subframes of its SI window (TS 36.331 5.2.3, via mac.si_schedule). A 1A
   with SI-RNTI reads I_MCS as I_TBS and takes its TBS from the N_PRB^1A = 2 or 3 column picked by the
   TPC LSB (TS 36.213 7.1.7.2.1), QPSK; the scheduler picks the smallest such TBS that holds the
   message, then the fewest PRBs (from PRB 0) that keep the effective code rate (TBS + 24) / G under
   `si_max_code_rate`. A 1C takes the smallest TBS of Table 7.1.7.2.3-1 that holds the message and
   the fewest N_step_RB steps of distributed VRBs from VRB 0 under the same cap (`si_allocation_1c`);
   its RV is not in the DCI, the handset derives the same ceil(3k/2) mod 4.
2. Reserved paging and random-access-response slots: in `paging_subframes` / `rar_subframes` one
   common-space PDCCH candidate (L = 4) and `reserved_prbs` PRBs are kept free. Nothing is sent there
   yet (paging and RACH need the uplink); the reservation only keeps user data out of the way.
   Default paging subframe 9: defaultPagingCycle T with nB = oneT gives N = T, Ns = 1, i.e. a paging
   occasion in subframe 9 of every frame (TS 36.304 7.1, 7.2).
3. User data for the configured C-RNTIs (full-buffer traffic): the PRBs left over, shared equally,
   at `user_mcs`, DCI format 1 (type 0 RBG bitmap, whole free RBGs only, TS 36.213 7.1.6.1) or 1A
   (contiguous localized type 2), in each UE's UE-specific search space. Each transport block is a
   DL-SCH MAC PDU (mac.pdu.build_dl_sch_pdu) carrying one DTCH SDU of pseudo-random bytes. HARQ
   process = TTI mod 8 with its NDI toggled on every new block; without an uplink there is no HARQ
   feedback, so every block is a new transmission at RV 0. The MCS is lowered in a TTI where the
   effective code rate would exceed 0.93 (TS 36.213 7.1.7: the UE may skip such a block).

PHICH (TS 36.213 9.1.2, TS 36.211 6.9): the uplink receiver calls `report_pusch(sfn, subframe, rnti,
i_prb_ra_lowest, n_dmrs, ack)` for each PUSCH it decoded in subframe n; the HI goes out in
`TtiPlan.phich` of subframe n + 4 (FDD, k_PHICH = 4) on PHICH (n_group, n_seq) = phich_index(...).

    sched = DlScheduler.from_config(cfg)            # encodes SIB1/SIB2 once (pycrate is slow)
    plan = sched.schedule(sfn, subframe)            # TtiPlan(assignments, reserved, ...)
    add_dl_data(grid, cfg.cell, sfn, subframe, plan.assignments)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

from phy.cell import DlCell
from phy.channels.pdsch import pdsch_re_indices
from phy.channels.phich import phich_index
from phy.dci import Dci1, Dci1A, Dci1C
from phy.dl_data import SI_RNTI, DlAssignment, PhichTx
from phy.regs import control_regs, n_phich_groups
from phy.resource_allocation import (
    n_step_rb_1c,
    n_vrb_1c,
    n_vrb_dl,
    rbg_size,
    riv_encode,
    type0_bitmap,
    type2_1c_prbs,
)
from phy.search_space import Candidate, common_candidates, ue_candidates
from phy.tbs import I_TBS_MAX, TBS_FORMAT_1C, mcs_to_itbs, tbs

from .pdu import build_dl_sch_pdu
from .si_schedule import SiSchedule, si_occasion, si_schedule, sib1_occasion
from .sib import encode_si_sib2, encode_sib1, pad_to_tbs

if TYPE_CHECKING:
    from gateway.config import CellConfig, Config, SchedulerConfig, SystemInfoConfig

__all__ = [
    "DlScheduler",
    "Reservation",
    "SiTx",
    "TtiPlan",
    "UserTx",
    "si_allocation",
    "si_allocation_1c",
    "K_PHICH",
    "LCID_USER",
]

LCID_USER = 3  # DTCH of the default data radio bearer (LCID 3..10, TS 36.321 Table 6.2.1-1)
MAX_CODE_RATE = 0.93  # TS 36.213 7.1.7: the UE may skip a PDSCH above this effective code rate
_RESERVED_AGGREGATION = 4
_N_HARQ = 8  # FDD downlink HARQ processes (TS 36.213 7)
K_PHICH = 4  # FDD: the HI of a PUSCH in subframe n goes out in subframe n + 4 (TS 36.213 9.1.2)
_N_SUBFRAMES = 10240  # 1024 frames of 10 subframes: the SFN cycle


@dataclass(frozen=True)
class SiTx:
    """An SI-RNTI transmission: 'sib1' or 'si' (SI message index si_index), RV, TBS, number of PRBs
    (VRBs for 1C), DCI format '1A' or '1C'."""

    kind: str
    rv: int
    tbs: int
    n_prb: int
    si_index: int = 0
    dci_format: str = "1A"


@dataclass(frozen=True)
class UserTx:
    """A C-RNTI transmission: RNTI, I_MCS, TBS, PRB count, HARQ process, NDI and the MAC PDU bytes."""

    rnti: int
    mcs: int
    tbs: int
    n_prb: int
    harq_process: int
    ndi: int
    pdu: bytes


@dataclass(frozen=True)
class Reservation:
    """A slot kept free: kind ('paging' or 'rar'), its PRBs and its PDCCH CCEs."""

    kind: str
    prbs: tuple[int, ...]
    cces: tuple[int, ...]


@dataclass(frozen=True)
class TtiPlan:
    """Everything the scheduler decided for one TTI (phy input: `assignments`, `phich`)."""

    sfn: int
    subframe: int
    assignments: tuple[DlAssignment, ...]
    si: tuple[SiTx, ...] = ()
    users: tuple[UserTx, ...] = ()
    reserved: tuple[Reservation, ...] = ()
    phich: tuple[PhichTx, ...] = ()
    skipped_rntis: tuple[int, ...] = ()  # C-RNTIs that found no free PRB or PDCCH candidate


@lru_cache(maxsize=1024)
def _n_pdsch_re(n_rb: int, pci: int, n_ports: int, n_ctrl: int, subframe: int, first: int, n_prb: int) -> int:
    prbs = np.arange(first, first + n_prb)
    return int(pdsch_re_indices(np.stack([prbs, prbs]), n_rb, pci, n_ports, n_ctrl, subframe)[0].size)


@lru_cache(maxsize=1024)
def _n_pdsch_re_of(n_rb: int, pci: int, n_ports: int, n_ctrl: int, subframe: int, prbs: bytes) -> int:
    p = np.frombuffer(prbs, dtype=np.int64)
    return int(pdsch_re_indices(np.stack([p, p]), n_rb, pci, n_ports, n_ctrl, subframe)[0].size)


def si_allocation(
    payload_bits: int, cell, subframe: int, first_prb: int = 0, max_code_rate: float = 0.33
) -> tuple[int, int, int, int]:
    """(I_MCS = I_TBS, N_PRB^1A, n_prb, TBS) of an SI-RNTI format 1A PDSCH for a BCCH message.

    TBS: the smallest tbs(I_TBS, N_PRB^1A), N_PRB^1A in {2, 3}, holding `payload_bits` (TS 36.213
    7.1.7.2.1); n_prb: the fewest PRBs from `first_prb` with (TBS + 24) / (2 n_RE) <= max_code_rate
    (QPSK; all remaining PRBs if none does, as long as the rate stays <= 0.93).
    """
    fits = sorted(
        (tbs(i, n1a), i, n1a) for i in range(I_TBS_MAX + 1) for n1a in (2, 3) if tbs(i, n1a) >= payload_bits
    )
    if not fits:
        raise ValueError(f"a {payload_bits}-bit BCCH message exceeds the largest format 1A SI TBS")
    size, i_tbs, n1a = fits[0]
    n_rb = int(cell.n_rb_dl)
    key = (n_rb, int(cell.pci), int(cell.n_ports), int(cell.n_ctrl_symbols), subframe, first_prb)
    for n_prb in range(1, n_rb - first_prb + 1):
        rate = (size + 24) / (2 * _n_pdsch_re(*key, n_prb))
        if rate <= max_code_rate or n_prb == n_rb - first_prb:
            if rate > MAX_CODE_RATE:
                break
            return i_tbs, n1a, n_prb, size
    raise ValueError(
        f"the {size}-bit SI transport block does not fit PRBs {first_prb}..{n_rb - 1} of subframe {subframe} "
        f"at code rate <= {MAX_CODE_RATE}"
    )


@lru_cache(maxsize=1024)
def _n_pdsch_re_2(n_rb: int, pci: int, n_ports: int, n_ctrl: int, subframe: int, prbs: bytes) -> int:
    """PDSCH REs of a (2, n_prb) PRB array given as bytes (distributed VRBs differ between slots)."""
    p = np.frombuffer(prbs, dtype=np.int64).reshape(2, -1)
    return int(pdsch_re_indices(p, n_rb, pci, n_ports, n_ctrl, subframe)[0].size)


def si_allocation_1c(
    payload_bits: int, cell, subframe: int, gap: int = 1, max_code_rate: float = 0.33
) -> tuple[int, int, np.ndarray, int]:
    """(RIV, I_TBS, PRBs (2, L) int64, TBS) of an SI-RNTI format 1C PDSCH for a BCCH message.

    TBS: the smallest entry of TS 36.213 Table 7.1.7.2.3-1 holding `payload_bits`; the allocation:
    RB'_start = 0 and the fewest L'_CRBs (L = L' N_step_RB distributed VRBs, 7.1.6.3, with N_gap,`gap`)
    keeping (TBS + 24) / (2 n_RE) <= max_code_rate (QPSK), else the longest one that keeps it <= 0.93.
    """
    fits = [(size, i) for i, size in enumerate(TBS_FORMAT_1C) if size >= payload_bits]
    if not fits:
        raise ValueError(f"a {payload_bits}-bit BCCH message exceeds the largest format 1C TBS {TBS_FORMAT_1C[-1]}")
    size, i_tbs = fits[0]
    n_rb = int(cell.n_rb_dl)
    step, n_vrb_p = n_step_rb_1c(n_rb), n_vrb_1c(n_rb)
    l_max = min(n_vrb_p, n_vrb_dl(n_rb, gap) // step)  # gap 2 may hold fewer VRBs than gap 1
    key = (n_rb, int(cell.pci), int(cell.n_ports), int(cell.n_ctrl_symbols), subframe)
    for l_p in range(1, l_max + 1):
        riv = riv_encode(0, l_p, n_vrb_p)  # RIV over N'_VRB_DL in units of N_step_RB (7.1.6.3)
        prbs = type2_1c_prbs(riv, n_rb, gap)
        rate = (size + 24) / (2 * _n_pdsch_re_2(*key, prbs.tobytes()))
        if rate <= max_code_rate or l_p == l_max:
            if rate > MAX_CODE_RATE:
                break
            return riv, i_tbs, prbs, size
    raise ValueError(
        f"the {size}-bit SI transport block does not fit a format 1C allocation of subframe {subframe} "
        f"({n_rb} PRB, gap {gap}) at code rate <= {MAX_CODE_RATE}; use si_dci_format 1A"
    )


def _bits(data: bytes) -> np.ndarray:
    """Bytes -> (8 n,) uint8 bits, MSB of the first byte first (TS 36.321 6.1.1 bit order)."""
    return np.unpackbits(np.frombuffer(data, dtype=np.uint8))


@dataclass
class DlScheduler:
    """Downlink scheduler with explicit state (NDI per UE and HARQ process, the traffic generator).

    sib1 / si_messages: the BCCH-DL-SCH encodings (bytes), made once per configuration;
    si_dci_format '1A' | '1C' and si_1c_gap (1 | 2): from the `system_info:` section.
    PHICH: `report_pusch` queues HIs by absolute subframe (SFN 10 + subframe) until scheduled.
    """

    cell: CellConfig
    config: SchedulerConfig
    sib1: bytes
    si_messages: tuple[bytes, ...]
    si_sched: SiSchedule
    rng: np.random.Generator = field(repr=False, default=None)
    ndi: dict = field(default_factory=dict)
    tti: int = 0
    si_dci_format: str = "1A"
    si_1c_gap: int = 1
    _si_cache: dict = field(default_factory=dict, repr=False)
    _hi_pending: dict = field(default_factory=dict, repr=False)  # absolute subframe -> {(grp, seq): (PhichTx, rnti)}
    _last_scheduled: int | None = field(default=None, repr=False)  # absolute subframe of the last schedule()
    # the cell as phy sees it (its n_ctrl_symbols, control_regs), made once: CellConfig derives it per access
    _phy_cell: DlCell = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self._phy_cell = self.cell.dl_cell()
        if self.rng is None:
            self.rng = np.random.default_rng(self.config.seed)
        if self.si_dci_format not in ("1A", "1C"):
            raise ValueError(f"si_dci_format must be '1A' or '1C', got {self.si_dci_format!r}")

    @classmethod
    def from_config(cls, cfg: Config) -> DlScheduler:
        return cls.create(cfg.cell, cfg.system_info, cfg.scheduler)

    @classmethod
    def create(cls, cell: CellConfig, system_info: SystemInfoConfig, config: SchedulerConfig) -> DlScheduler:
        """Encode SIB1 and the SI message with SIB2 once (TS 36.331 via pycrate) and set up the state.
        Raises ConfigError when the SI DCI format does not suit the cell (SystemInfoConfig.check_cell)."""
        system_info.check_cell(int(cell.n_rb_dl))
        return cls(
            cell=cell,
            config=config,
            sib1=encode_sib1(cell, system_info),
            si_messages=(encode_si_sib2(cell, system_info),),
            si_sched=si_schedule(system_info),
            si_dci_format=system_info.si_dci_format,
            si_1c_gap=system_info.si_1c_gap,
        )

    # -- PHICH -------------------------------------------------------------------------------------

    def report_pusch(
        self, sfn: int, subframe: int, rnti: int, i_prb_ra_lowest: int, n_dmrs: int, ack: bool
    ) -> PhichTx:
        """Queue the HI of a PUSCH received in (sfn, subframe) = n: ACK (HI 1) or NACK (HI 0), sent in
        subframe n + 4 (FDD, TS 36.213 9.1.2) on PHICH (n_group, n_seq) = phich_index(I_PRB_RA_lowest,
        n_DMRS, N_group) with N_group from Ng (TS 36.211 6.9). Returns the PhichTx queued.

        i_prb_ra_lowest: the lowest PRB of the PUSCH (0..N_RB_UL - 1, UL = DL bandwidth here); n_dmrs:
        0..7 from the cyclic shift field of the DCI 0 (TS 36.213 Table 9.1.2-2). Raises ValueError for a
        PHICH subframe already scheduled, or for a (group, sequence) already taken in that subframe.
        """
        if not (0 <= sfn <= 1023 and 0 <= subframe <= 9):
            raise ValueError(f"PUSCH time must be SFN 0..1023 and subframe 0..9, got ({sfn}, {subframe})")
        n_rb = int(self.cell.n_rb_dl)
        if not 0 <= i_prb_ra_lowest < n_rb:
            raise ValueError(f"i_prb_ra_lowest must be a PRB 0..{n_rb - 1} of the uplink, got {i_prb_ra_lowest}")
        if not 0 <= n_dmrs <= 7:
            raise ValueError(f"n_dmrs must be 0..7 (TS 36.213 Table 9.1.2-2), got {n_dmrs}")
        target = (sfn * 10 + subframe + K_PHICH) % _N_SUBFRAMES
        if self._last_scheduled is not None:
            ahead = (target - self._last_scheduled) % _N_SUBFRAMES
            if ahead == 0 or ahead > _N_SUBFRAMES // 2:
                last = divmod(self._last_scheduled, 10)
                raise ValueError(
                    f"PUSCH of (SFN {sfn}, subframe {subframe}) needs its HI in (SFN {target // 10}, subframe "
                    f"{target % 10}), which is already scheduled (last TTI: SFN {last[0]}, subframe {last[1]}); "
                    f"report each PUSCH before its subframe n + {K_PHICH} is scheduled"
                )
        n_group_total = n_phich_groups(n_rb, str(self.cell.phich_resource))
        n_group, n_seq = phich_index(int(i_prb_ra_lowest), int(n_dmrs), n_group_total)
        slot = self._hi_pending.setdefault(target, {})
        if (n_group, n_seq) in slot:
            other = slot[(n_group, n_seq)][1]
            raise ValueError(
                f"PHICH (group {n_group}, sequence {n_seq}) of (SFN {target // 10}, subframe {target % 10}) is "
                f"already taken by RNTI {other:#06x}; RNTI {rnti:#06x} (I_PRB_RA {i_prb_ra_lowest}, n_DMRS "
                f"{n_dmrs}) collides: give the PUSCHs different lowest PRBs or n_DMRS (TS 36.213 9.1.2)"
            )
        tx = PhichTx(n_group, n_seq, int(bool(ack)))
        slot[(n_group, n_seq)] = (tx, int(rnti))
        return tx

    def _phich_of(self, sfn: int, subframe: int) -> tuple[PhichTx, ...]:
        """The HIs queued for (sfn, subframe), removed from the queue, in (group, sequence) order."""
        now = sfn * 10 + subframe
        self._last_scheduled = now
        slot = self._hi_pending.pop(now, {})
        return tuple(slot[k][0] for k in sorted(slot))

    # -- system information ------------------------------------------------------------------------

    def _si_assignment(self, kind: str, si_index: int, rv: int, subframe: int, first_cce: int):
        """(DlAssignment, SiTx, PRBs used (n,) int64) for an SI-RNTI transmission; transport blocks
        cached per message and subframe."""
        key = (kind, si_index, subframe)
        if key not in self._si_cache:
            msg = self.sib1 if kind == "sib1" else self.si_messages[si_index]
            if self.si_dci_format == "1C":
                riv, i_tbs, prbs, size = si_allocation_1c(
                    8 * len(msg), self.cell, subframe, self.si_1c_gap, self.config.si_max_code_rate
                )
                fields = (riv, i_tbs, prbs.shape[1], np.unique(prbs))  # both slots' PRBs are taken
            else:
                i_tbs, n1a, n_prb, size = si_allocation(
                    8 * len(msg), self.cell, subframe, 0, self.config.si_max_code_rate
                )
                fields = (i_tbs, n1a, n_prb, np.arange(n_prb))
            tb = _bits(pad_to_tbs(msg, size))  # BCCH: no MAC header, zero bytes up to the TBS (36.321 6.1.1)
            tb.setflags(write=False)
            self._si_cache[key] = (fields, size, tb)
        fields, size, tb = self._si_cache[key]
        if self.si_dci_format == "1C":
            riv, i_tbs, n_vrb, used = fields
            dci = Dci1C(riv=riv, tbs_index=i_tbs, gap=self.si_1c_gap)  # no RV field: the UE derives it
            a = DlAssignment(dci, SI_RNTI, self.config.si_aggregation, first_cce, tb, rv=rv)
            return a, SiTx(kind, rv, size, n_vrb, si_index, "1C"), used
        i_tbs, n1a, n_prb, used = fields
        # TPC LSB selects the N_PRB^1A column (TS 36.213 7.1.7.2.1): 0 -> 2, 1 -> 3
        dci = Dci1A(riv=riv_encode(0, n_prb, int(self.cell.n_rb_dl)), mcs=i_tbs, rv=rv, tpc=1 if n1a == 3 else 0)
        a = DlAssignment(dci, SI_RNTI, self.config.si_aggregation, first_cce, tb)
        return a, SiTx(kind, rv, size, n_prb, si_index), used

    # -- one TTI -----------------------------------------------------------------------------------

    def schedule(self, sfn: int, subframe: int) -> TtiPlan:
        """The downlink of (sfn, subframe): SI first, then reserved slots, then user data."""
        n_rb = int(self.cell.n_rb_dl)
        n_cce = control_regs(self._phy_cell, subframe).n_cce
        prb_used = np.zeros(n_rb, dtype=bool)
        cce_used = np.zeros(n_cce, dtype=bool)
        assignments: list[DlAssignment] = []
        si_tx: list[SiTx] = []

        def take_common(level: int) -> int | None:
            for first in _common_firsts(n_cce, level):
                span = slice(first, first + level)
                if not cce_used[span].any():
                    cce_used[span] = True
                    return first
            return None

        # 1. system information (SIB1 and the SI messages never share a subframe, 36.331 5.2.3)
        rv = sib1_occasion(sfn, subframe)
        hit = ("sib1", 0, rv) if rv is not None else None
        if hit is None:
            occ = si_occasion(sfn, subframe, self.si_sched)
            hit = ("si", occ[0], occ[1]) if occ is not None else None
        if hit is not None:
            first = take_common(self.config.si_aggregation)
            if first is None:
                raise ValueError(f"no common-space PDCCH candidate of L={self.config.si_aggregation} ({n_cce} CCEs)")
            a, tx, used = self._si_assignment(hit[0], hit[1], hit[2], subframe, first)
            prb_used[used] = True
            assignments.append(a)
            si_tx.append(tx)

        # 2. reserved paging / RAR slots (kept free, nothing sent)
        reserved = []
        for kind, subframes in (("paging", self.config.paging_subframes), ("rar", self.config.rar_subframes)):
            if subframe not in subframes:
                continue
            prbs = tuple(int(q) for q in np.flatnonzero(~prb_used)[: self.config.reserved_prbs])  # first free PRBs
            prb_used[list(prbs)] = True
            first = take_common(_RESERVED_AGGREGATION)
            cces = () if first is None else tuple(range(first, first + _RESERVED_AGGREGATION))
            reserved.append(Reservation(kind, prbs, cces))

        # 3. user data
        users, skipped = [], []
        if self.config.traffic:
            shares = self._user_prbs(prb_used, len(self.config.c_rntis))
            for rnti, prbs in zip(self.config.c_rntis, shares, strict=True):
                cand = self._ue_candidate(n_cce, rnti, subframe, cce_used) if len(prbs) else None
                if cand is None:
                    skipped.append(rnti)
                    continue
                a, tx = self._user_assignment(rnti, np.asarray(prbs), subframe, cand)
                assignments.append(a)
                users.append(tx)
        self.tti += 1
        return TtiPlan(sfn, subframe, tuple(assignments), tuple(si_tx), tuple(users), tuple(reserved),
                       self._phich_of(sfn, subframe), tuple(skipped))

    def _user_prbs(self, prb_used: np.ndarray, n_users: int) -> list[np.ndarray]:
        """The free PRBs split into `n_users` shares: whole free RBGs (format 1) or contiguous runs (1A)."""
        return list(_user_prbs(prb_used.tobytes(), n_users, self.config.user_dci_format))

    def _ue_candidate(self, n_cce: int, rnti: int, subframe: int, cce_used: np.ndarray) -> Candidate | None:
        """A free UE-specific PDCCH candidate (TS 36.213 9.1.1), the configured level first."""
        for cand in _ue_search_order(n_cce, rnti, subframe, self.config.user_aggregation):
            span = slice(cand.first_cce, cand.first_cce + cand.aggregation)
            if not cce_used[span].any():
                cce_used[span] = True
                return cand
        return None

    def _user_assignment(self, rnti: int, prbs: np.ndarray, subframe: int, cand: Candidate):
        n_rb = int(self.cell.n_rb_dl)
        c = self._phy_cell
        g_re = _n_pdsch_re_of(n_rb, int(c.pci), int(c.n_ports), int(c.n_ctrl_symbols), subframe, prbs.tobytes())
        mcs = self.config.user_mcs
        while True:  # effective code rate <= 0.93 (TS 36.213 7.1.7)
            i_tbs, q_m = mcs_to_itbs(mcs)
            size = tbs(i_tbs, prbs.size)
            if (size + 24) / (g_re * q_m) <= MAX_CODE_RATE or mcs == 0:
                break
            mcs -= 1
        harq = self.tti % _N_HARQ
        ndi = self.ndi.get((rnti, harq), 1) ^ 1  # toggled: every block is new (no HARQ feedback yet)
        self.ndi[(rnti, harq)] = ndi
        n_bytes = size // 8
        # one DTCH SDU filling the block behind a single 1-byte subheader (last, no L: TS 36.321 6.1.2)
        pdu = build_dl_sch_pdu([(LCID_USER, self.rng.bytes(n_bytes - 1))], tbs_bytes=n_bytes)
        if self.config.user_dci_format == "1":
            bitmap = _type0_bitmap(prbs.tobytes(), n_rb)
            dci = Dci1(rb_assignment=bitmap, mcs=mcs, harq_process=harq, ndi=ndi, ra_type=0)
        else:
            dci = Dci1A(riv=riv_encode(int(prbs[0]), prbs.size, n_rb), mcs=mcs, harq_process=harq, ndi=ndi)
        a = DlAssignment(dci, rnti, cand.aggregation, cand.first_cce, _bits(pdu))
        return a, UserTx(rnti, mcs, size, int(prbs.size), harq, ndi, pdu)


@lru_cache(maxsize=64)
def _common_firsts(n_cce: int, level: int) -> tuple[int, ...]:
    """First CCEs of the common-space candidates of aggregation `level` (TS 36.213 9.1.1), cached."""
    return tuple(c.first_cce for c in common_candidates(n_cce) if c.aggregation == level)


@lru_cache(maxsize=4096)
def _ue_search_order(n_cce: int, rnti: int, subframe: int, level: int) -> tuple[Candidate, ...]:
    """UE-specific candidates of `rnti` in `subframe` (TS 36.213 9.1.1) in the order the scheduler tries
    them: aggregation `level` first, then the others by increasing L; cached (Y_k repeats every frame)."""
    return tuple(sorted(ue_candidates(n_cce, rnti, subframe), key=lambda c: (c.aggregation != level, c.aggregation)))


@lru_cache(maxsize=256)
def _user_prbs(prb_used_bytes: bytes, n_users: int, dci_format: str) -> tuple[np.ndarray, ...]:
    """DlScheduler._user_prbs, cached per PRB occupancy (a few patterns repeat every frame); read-only."""
    shares = _user_prbs_uncached(np.frombuffer(prb_used_bytes, dtype=bool), n_users, dci_format)
    for a in shares:
        a.setflags(write=False)
    return tuple(shares)


@lru_cache(maxsize=256)
def _type0_bitmap(prbs_bytes: bytes, n_rb: int) -> int:
    """type0_bitmap of a (n_prb,) int64 PRB array given as bytes, cached (same shares every frame)."""
    return type0_bitmap(np.frombuffer(prbs_bytes, dtype=np.int64), n_rb)


def _user_prbs_uncached(prb_used: np.ndarray, n_users: int, dci_format: str) -> list[np.ndarray]:
    """Free PRBs split into `n_users` shares: whole free RBGs (format 1) or contiguous runs (1A)."""
    n_rb = prb_used.size
    if dci_format == "1":
        p = rbg_size(n_rb)
        free_rbgs = [g for g in range(-(-n_rb // p)) if not prb_used[g * p : (g + 1) * p].any()]
        groups = np.array_split(np.array(free_rbgs, dtype=np.int64), n_users)
        return [np.array([q for g in grp for q in range(g * p, min((g + 1) * p, n_rb))], dtype=np.int64)
                for grp in groups]
    # 1A: the longest free contiguous run, split into contiguous shares
    best, start = (0, 0), None
    for i in range(n_rb + 1):
        free = i < n_rb and not prb_used[i]
        if free and start is None:
            start = i
        elif not free and start is not None:
            best = max(best, (i - start, start))
            start = None
    length, begin = best
    return list(np.array_split(np.arange(begin, begin + length, dtype=np.int64), n_users))
