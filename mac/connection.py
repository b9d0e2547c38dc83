"""RRC connection establishment over the satellite round trip: random access, RRC on SRB0/SRB1, TA loop.

The MAC-level loop of mac/ra_loop.py (no PHY: a handset's UL subframe k reaches the gateway `late_sf`
subframes later, the gateway's DL subframe k is the handset's DL subframe k), now carrying real RRC:

    Msg3  UL-CCCH RRCConnectionRequest (randomValue 40 bits, mo-Data); its first 48 bits are the UE
          Contention Resolution Identity (TS 36.321 6.1.3.4, 5.1.5)
    Msg4  DL-SCH to the TC-RNTI: Contention Resolution Identity CE + Timing Advance Command CE +
          DL-CCCH RRCConnectionSetup (SRB1 RLC AM, MAC main config, physicalConfigDedicated)
    SRB1  the handset answers RRCConnectionSetupComplete (dedicatedInfoNAS) in PDCP (5-bit SN, MAC-I 0) in an
          RLC AMD PDU (poll) on LCID 1 of a UL-SCH PDU, in a grant the gateway sends unasked
    ack   the gateway's RLC answers the poll with a STATUS PDU on LCID 1; the handset is then connected

UL grants over the round trip (DESIGN.md 3): a Rel-8 phone would ask with a scheduling request and wait for
a grant, costing a further 2D; the gateway knows RRCConnectionSetupComplete follows RRCConnectionSetup, so it
grants `proactive_grants` consecutive subframes from Msg4 + 4 + the handset's RRC procedure delay (15 ms for
RRCConnectionSetup, TS 36.331 11.2), one per HARQ process, and waits for their decodes (heard `late_sf`
later). PHICH is ACK on time (TS 36.213 9.1.2, not modelled on the air): a PUSCH that fails its CRC is
recovered by an adaptive retransmission grant (DCI 0, NDI not toggled) on the same synchronous HARQ process's
next occurrence (TS 36.213 8.0: PUSCH in n + 4; TS 36.321 5.4.2.2).

Timing advance (TS 36.321 5.2, 6.1.3.5; TS 36.213 4.2.3): the gateway measures each decoded PUSCH's arrival
after its UL reference (`PuschRx.timing_error_s`) and, while the error exceeds `ta_threshold_s`, sends a
Timing Advance Command CE (T_A - 31) x 16 T_s, at most one in flight: the handset applies it 6 subframes
after receiving it, and the next measurement that can show it is heard `late_sf` after that. With
`tracking_grant_period_sf` the gateway keeps granting a connected handset to keep measuring.

    gw = GatewayConnection(ConnectionConfig(), late_sf=20)
    hs = [Handset(random.Random(1), nas_pdu=b"\\x07\\x41...", ta_needed_s=243e-6, name="edge")]
    run_connection(hs, gw, first_subframe=0, n_subframes=400)
    connection_report(hs, gw)      # per handset: subframes of each step, attempts, state
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

from mac.enb_ra import GatewayRandomAccess, PuschRx, SpeculativeRaConfig
from mac.pdcp import PdcpSrbEntity
from mac.pdu import (
    LCID_TIMING_ADVANCE,
    build_dl_sch_pdu,
    build_ul_sch_pdu,
    parse_dl_sch_pdu,
    parse_ul_sch_pdu,
    timing_advance_ce,
)
from mac.ra_loop import deliver_uplink
from mac.rar import TA_STEP_S, ta_command_adjustment_s, ta_command_for
from mac.rlc import RlcAmEntity
from mac.rrc import (
    parse_rrc_connection_request,
    parse_rrc_connection_setup,
    parse_rrc_connection_setup_complete,
    rrc_connection_request,
    rrc_connection_setup,
    rrc_connection_setup_complete,
)
from mac.ue_ra import DlMessage, RachConfig, UeRandomAccess, UlschTx
from phy.channels.pusch import PuschGrant, ul_mcs
from phy.tbs import tbs

__all__ = [
    "LCID_DTCH",
    "LCID_SRB1",
    "ConnectionConfig",
    "GatewayConnection",
    "Handset",
    "HarqAckRx",
    "HarqAckTx",
    "connection_report",
    "run_connection",
]

LCID_DTCH = 3  # TS 36.321 Table 6.2.1-2: LCID 3 = the first data radio bearer's DTCH
LCID_SRB1 = 1  # TS 36.321 Table 6.2.1-1/-2: logical channel 1 = SRB1 (TS 36.331 9.1.2)
HARQ_PROCESSES_UL = 8  # TS 36.213 8: FDD synchronous UL HARQ, process of PUSCH n is n mod 8
HARQ_PROCESSES_FDD_DL = 8  # TS 36.213 7: FDD, up to 8 DL HARQ processes (asynchronous)
RRC_SETUP_PROCEDURE_DELAY_SF = 15  # TS 36.331 11.2: RRCConnectionSetup, N = 15
TA_COMMAND_DELAY_SF = 6  # TS 36.213 4.2.3: a TA command received in n applies from n + 6


@dataclass(frozen=True)
class ConnectionConfig:
    """The gateway's connection settings: random access, SRB1 grants, TA loop."""

    ra: SpeculativeRaConfig = field(default_factory=lambda: SpeculativeRaConfig(msg4_tbs_bytes=40))
    ul_rb_start: int = 10  # first PRB of connected-mode grants (clear of the Msg3 grants 2..9)
    ul_n_prb: int = 6
    ul_rb_end: int | None = None  # PRBs of connected-mode grants end before this one (None: N_RB_UL - 2, PUCCH)
    ul_i_mcs: int = 10  # QPSK I_TBS 10: 1032 bits on 6 PRBs
    handset_rrc_delay_sf: int = RRC_SETUP_PROCEDURE_DELAY_SF
    proactive_grants: int = 4  # consecutive subframes (distinct HARQ processes) after the procedure delay
    max_harq_tx: int = 4  # maxHARQ-Tx n4 (RRCConnectionSetup mac-MainConfig)
    tracking_grant_period_sf: int | None = None  # keep granting connected handsets (UL timing for TA)
    # full-buffer UL data once connected (mac/harq.py's UL policies on real PUSCHs): None, "keep_sending" (a new
    # TB every subframe; a failed one is left to RLC) or "stop_and_wait" (each synchronous process granted again
    # once its PUSCH is decoded: new data, or an adaptive retransmission up to max_harq_tx)
    ul_data_policy: str | None = None
    ul_data_i_mcs: int = 10
    # full-buffer DL data once connected (mac/harq.py's DL policies; HARQ-ACK on PUCCH heard late_sf later):
    # "keep_sending" (a TB every subframe on process k mod 8, NDI toggled; a NACK or nothing heard puts the TB
    # back in the queue as new data, up to max_harq_tx) or "stop_and_wait" (a process waits for its feedback:
    # then new data, or a retransmission with NDI kept)
    dl_data_policy: str | None = None
    dl_data_tbs_bytes: int = 64
    ta_threshold_s: float = 8 * TA_STEP_S / 16  # send a command when the error exceeds half a 16 T_s step
    dl_tbs_bytes: int = 16

    def __post_init__(self) -> None:
        for name in ("ul_i_mcs", "ul_data_i_mcs"):
            if not 0 <= getattr(self, name) <= 28:
                raise ValueError(f"{name} must be a new-data I_MCS 0..28 (29..31 carry only an RV, TS 36.213 8.6.1), "
                                 f"got {getattr(self, name)}")
        if self.dl_data_policy not in (None, "keep_sending", "stop_and_wait"):
            raise ValueError(
                f"dl_data_policy must be None, 'keep_sending' or 'stop_and_wait', got {self.dl_data_policy!r}")
        if self.ul_data_policy not in (None, "keep_sending", "stop_and_wait"):
            raise ValueError(
                f"ul_data_policy must be None, 'keep_sending' or 'stop_and_wait', got {self.ul_data_policy!r}")
        if not 1 <= self.proactive_grants <= HARQ_PROCESSES_UL:
            raise ValueError("proactive_grants must be 1..8: one per UL HARQ process, none reused before decoding")
        if self.ul_rb_start < self.ra.msg3_rb_start + len(self.ra.preambles) * self.ra.msg3_n_prb:
            raise ValueError("connected-mode grants must not overlap the speculative Msg3 grants")
        if self.n_ul_slots < 1:
            raise ValueError(f"no room for a {self.ul_n_prb}-PRB grant between PRB {self.ul_rb_start} and "
                             f"{self.ul_rb_end_prb} (N_RB_UL {self.ra.n_rb_ul})")

    @property
    def ul_rb_end_prb(self) -> int:
        return self.ra.n_rb_ul - 2 if self.ul_rb_end is None else self.ul_rb_end

    @property
    def n_ul_slots(self) -> int:
        """Connected-mode grants that fit side by side in one UL subframe (PRB slots of ul_n_prb)."""
        return max(0, (self.ul_rb_end_prb - self.ul_rb_start) // self.ul_n_prb)

    def ul_grant(self, rnti: int, slot: int = 0, i_mcs: int | None = None) -> PuschGrant:
        """The PUSCH of a connected-mode grant to `rnti` on PRB slot j (ul_n_prb PRBs from ul_rb_start + j ul_n_prb)."""
        q_m, i_tbs, rv = ul_mcs(self.ul_i_mcs if i_mcs is None else i_mcs)
        start = self.ul_rb_start + slot * self.ul_n_prb
        if not 0 <= slot < self.n_ul_slots:
            raise ValueError(f"PRB slot {slot} does not exist: {self.n_ul_slots} slots of {self.ul_n_prb} PRBs")
        return PuschGrant(start, self.ul_n_prb, tbs(i_tbs, self.ul_n_prb), q_m, rv, rnti, 0)


@dataclass(frozen=True)
class HarqAckTx:
    """A handset's HARQ-ACK on PUCCH format 1a in UL subframe `subframe` for its PDSCH of DL subframe - 4
    (TS 36.213 10.1, 7.3): `ack` True = ACK, False = NACK; on resource n_CCE + N(1)_PUCCH of that PDSCH's
    PDCCH (the PHY's business)."""

    subframe: int
    rnti: int
    ack: bool


@dataclass(frozen=True)
class HarqAckRx:
    """What the gateway heard on the HARQ-ACK resource of its PDSCH to `rnti` in DL subframe `subframe` - 4:
    True ACK, False NACK, None nothing (DTX: the handset missed the PDCCH)."""

    subframe: int
    rnti: int
    ack: bool | None


# ================================================================================================
# the handset
# ================================================================================================


@dataclass
class Handset:
    """A Rel-8 handset from idle to RRC connected: MAC random access (mac/ue_ra.py), RRC, PDCP and RLC AM on
    SRB1, synchronous UL HARQ driven only by grants (PHICH always ACK), TA commands applied at n + 6."""

    rng: random.Random
    nas_pdu: bytes = bytes.fromhex("0741720bf600f1100001020304050607")  # an Attach Request-shaped NAS PDU
    ta_needed_s: float | Callable[[int], float] = 0.0
    rx_power_db: float = 0.0
    name: str = "ue"
    rach: RachConfig = field(default_factory=RachConfig)
    start_subframe: int = 0
    max_harq_tx: int = 4  # maxHARQ-Tx of RRCConnectionSetup's mac-MainConfig (n4, mac/rrc.py)
    ul_full_buffer: bool = False  # once connected, fill every granted TB with DTCH data (LCID 3)

    def __post_init__(self) -> None:
        # TS 36.331 5.3.3.3: no S-TMSI -> a 40-bit random value as ue-Identity
        self.random_value = self.rng.getrandbits(40)
        self.ccch_sdu = rrc_connection_request(self.random_value, "mo-Data")
        self.ue = UeRandomAccess(self.rach, self.ccch_sdu, self.rng, self.start_subframe, self.name)
        self.rlc = RlcAmEntity()
        self.pdcp = PdcpSrbEntity()
        self.state = "random_access"  # -> setup_received -> complete_sent -> connected, or failed
        self.setup = None
        self.msg4_subframe: int | None = None
        self.complete_ready_subframe: int | None = None
        self.complete_sent_subframe: int | None = None
        self.connected_subframe: int | None = None
        self._pending_sdus: list[bytes] = []
        self._harq: dict[int, tuple[bytes, PuschGrant, int]] = {}  # process -> (TB, grant, tx count)
        self._pusch: dict[int, tuple[PuschGrant, bool]] = {}  # PUSCH subframe -> (grant, new data)
        self._ta_commands: list[tuple[int, float]] = []  # (apply from subframe, adjustment s)
        self.ta_applied: list[tuple[int, float]] = []  # (subframe, N_TA T_s after the command)
        self.phich_log: list[tuple[int, bool]] = []  # (DL subframe, ACK) of each HI read for its PUSCHs
        self.dtch_sent = 0  # full-buffer DTCH SDUs put in new TBs
        self._acks: dict[int, bool] = {}  # UL subframe -> HARQ-ACK of the PDSCH of DL subframe - 4
        self._dl_harq: dict[int, tuple[int, bool]] = {}  # DL HARQ process -> (NDI, decoded)
        self.dl_dtch_seq: list[int] = []  # DTCH sequence numbers delivered (DL full buffer)
        self.dl_dtch_bits = 0
        self.acks_dropped = 0  # HARQ-ACKs not sent because a PUSCH went in that subframe (UCI on PUSCH not modelled)
        self.non_adaptive_retx: list[int] = []  # PUSCH subframes of retransmissions a NACK caused

    @property
    def c_rnti(self) -> int | None:
        return self.ue.c_rnti

    @property
    def n_ta_s(self) -> float:
        return self.ue.n_ta_s

    def downlink(self, k: int, messages: list[DlMessage]) -> None:
        self._apply_ta(k)
        if self.state == "random_access":
            self.ue.downlink(k, messages)
            if self.ue.state == "done":
                self._on_msg4(k)
            elif self.ue.state == "failed":
                self.state = "failed"
            return
        if self.state == "failed":
            return
        for m in messages:
            if m.rnti != self.c_rnti:
                continue
            if m.kind == "ul_grant":
                # TS 36.213 8.0: a DCI 0 in n schedules the PUSCH in n + 4
                grant = m.grant or self._harq.get((k + 4) % HARQ_PROCESSES_UL, (None, None, 0))[1]
                if grant is not None:
                    self._pusch[k + 4] = (grant, m.ndi_toggled)
            elif m.kind in ("dl_sch", "dl_sch_failed"):
                # TS 36.321 5.3.2.2: NDI not toggled on a process whose TB was decoded: a copy, ACKed, not delivered
                # again (whatever its CRC); otherwise ACK and deliver if decoded, else NACK (TS 36.213 7.3, in k + 4)
                if m.harq_process is not None and m.ndi is not None:
                    last = self._dl_harq.get(m.harq_process)
                    if last == (m.ndi, True):
                        self._acks[k + 4] = True
                        continue
                    self._dl_harq[m.harq_process] = (m.ndi, m.kind == "dl_sch")
                if m.kind == "dl_sch_failed":
                    self._acks.setdefault(k + 4, False)
                    continue
                self._acks[k + 4] = True
                for sp in parse_dl_sch_pdu(m.pdu):
                    if sp.lcid == LCID_DTCH:
                        self.dl_dtch_seq.append(int.from_bytes(sp.payload[:4], "big"))
                        self.dl_dtch_bits += 8 * len(sp.payload)
                    if sp.lcid == LCID_TIMING_ADVANCE:
                        adjustment_s = ta_command_adjustment_s(sp.payload[0] & 0x3F)
                        self._ta_commands.append((k + TA_COMMAND_DELAY_SF, adjustment_s))
                    elif sp.lcid == LCID_SRB1:
                        self.rlc.receive_pdu(sp.payload)
                if self.state == "complete_sent" and self.rlc.all_acknowledged:
                    self.state = "connected"
                    self.connected_subframe = k

    def phich(self, k: int, ack: bool) -> None:
        """The HI read in DL k for its PUSCH of subframe k - 4 (TS 36.213 9.1.2), after `downlink(k)`: a DCI 0
        for k + 4 takes precedence (TS 36.321 5.4.2.1). ACK: the TB stays in the HARQ buffer and nothing is
        sent unless a grant asks (TS 36.321 5.4.2.2); NACK: a non-adaptive retransmission in k + 4 on the same
        grant, up to max_harq_tx transmissions. The gateway always sends ACK (it decodes 2D later)."""
        self.phich_log.append((k, bool(ack)))
        if ack or self.state == "random_access" or (k + 4) in self._pusch:
            return
        process = (k + 4) % HARQ_PROCESSES_UL
        held = self._harq.get(process)
        if held is not None and held[2] < self.max_harq_tx:
            self._pusch[k + 4] = (held[1], False)
            self.non_adaptive_retx.append(k + 4)

    def _on_msg4(self, k: int) -> None:
        """TS 36.331 5.3.3.4: apply RRCConnectionSetup (SRB1), answer RRCConnectionSetupComplete on SRB1."""
        try:
            self.setup = parse_rrc_connection_setup(self.ue.ccch_dl)
        except ValueError:
            self.state = "failed"
            return
        self.state = "setup_received"
        self.msg4_subframe = k
        self.complete_ready_subframe = k + RRC_SETUP_PROCEDURE_DELAY_SF
        complete = rrc_connection_setup_complete(self.setup.transaction_id, self.nas_pdu, selected_plmn_identity=1)
        self._pending_sdus.append(self.pdcp.tx(complete))

    def _apply_ta(self, k: int) -> None:
        due = [c for c in self._ta_commands if c[0] <= k]
        if due:
            self._ta_commands = [c for c in self._ta_commands if c[0] > k]
            for _, adj in due:
                self.ue.n_ta_s += adj  # TS 36.213 4.2.3: N_TA,new = N_TA,old + (T_A - 31) 16
            self.ta_applied.append((k, self.ue.n_ta_s))

    def uplink(self, k: int) -> list:
        self._apply_ta(k)
        if self.state == "random_access":
            return self.ue.uplink(k)
        if self._pending_sdus and self.complete_ready_subframe is not None and k >= self.complete_ready_subframe:
            for sdu in self._pending_sdus:
                self.rlc.write_sdu(sdu)
            self._pending_sdus = []
        ack = self._acks.pop(k, None)
        hit = self._pusch.pop(k, None)
        if hit is None:
            return [] if ack is None or self.c_rnti is None else [HarqAckTx(k, self.c_rnti, ack)]
        if ack is not None:
            self.acks_dropped += 1
        grant, new_data = hit
        process = k % HARQ_PROCESSES_UL
        if new_data or process not in self._harq:
            rlc_pdu = self.rlc.pull_pdu(grant.tbs // 8 - 3)  # room for a MAC subheader with a 15-bit L
            sdus = [(LCID_SRB1, rlc_pdu)] if rlc_pdu else []
            if not sdus and self.ul_full_buffer and self.state == "connected":
                # full buffer: one DTCH SDU filling the TB (4-byte sequence number, then the rng's bytes)
                self.dtch_sent += 1
                n = grant.tbs // 8 - 3
                sdus = [(LCID_DTCH, self.dtch_sent.to_bytes(4, "big") + self.rng.randbytes(max(0, n - 4)))]
            pdu = build_ul_sch_pdu(sdus, tbs_bytes=grant.tbs // 8)
            self._harq[process] = (pdu, grant, 1)
            if rlc_pdu and self.state == "setup_received":
                self.state = "complete_sent"
                self.complete_sent_subframe = k
        else:  # adaptive retransmission: the process's TB again (TS 36.321 5.4.2.2)
            pdu, _, n = self._harq[process]
            self._harq[process] = (pdu, grant, n + 1)
        pdu, grant, n = self._harq[process]
        return [UlschTx(k, self.c_rnti, pdu, grant, n, self.ue.n_ta_s)]


# ================================================================================================
# the gateway
# ================================================================================================


@dataclass
class _Connection:
    c_rnti: int
    slot: int  # preferred PRB slot (its index mod the slots): another one, or a later subframe, when taken
    msg4_subframe: int
    request: object
    transaction_id: int
    rlc: RlcAmEntity = field(default_factory=RlcAmEntity)
    pdcp: PdcpSrbEntity = field(default_factory=PdcpSrbEntity)
    complete: object = None
    complete_heard_subframe: int | None = None
    outstanding: int = 0  # grants whose PUSCH is not decoded yet
    ta_in_flight_until: int = -1  # no new TA command before this DL subframe
    ta_commands: list = field(default_factory=list)  # (DL subframe, T_A)
    timing_errors: list = field(default_factory=list)  # (UL subframe, measured error s)
    last_tracking_grant: int = -10**9
    # full-buffer UL data (ConnectionConfig.ul_data_policy)
    data_busy: set = field(default_factory=set)  # stop-and-wait: UL HARQ processes waiting for their decode
    data_new: int = 0  # new data TBs granted
    data_tx: int = 0  # data PUSCHs decoded or failed (transmissions heard)
    data_failed_tx: int = 0  # transmissions that failed their CRC
    data_delivered: int = 0  # TBs decoded (first success)
    data_lost: int = 0  # TBs given up at MAC (keep sending: every failure; stop-and-wait: after max_harq_tx)
    data_bits: int = 0  # DTCH bits delivered
    data_first_subframe: int | None = None  # first PUSCH subframe of data
    data_seq: set = field(default_factory=set)  # DTCH sequence numbers decoded
    # full-buffer DL data (ConnectionConfig.dl_data_policy)
    dl_procs: dict = field(default_factory=dict)  # process -> [TB, its sequence number, tx count, state]
    dl_queue: list = field(default_factory=list)  # keep sending: (TB, seq, tx count) to send again
    dl_new: int = 0  # new TBs
    dl_tx: int = 0  # transmissions whose feedback was heard
    dl_nack: int = 0  # NACKs heard
    dl_dtx: int = 0  # nothing heard on the resource
    dl_delivered: int = 0  # TBs acknowledged
    dl_lost: int = 0  # TBs given up after max_harq_tx transmissions
    dl_first_subframe: int | None = None


@dataclass
class GatewayConnection:
    """The gateway: speculative random access (mac/enb_ra.py) with RRCConnectionSetup in Msg4, proactive SRB1
    grants with adaptive retransmissions, RLC AM on SRB1, the TA loop."""

    config: ConnectionConfig
    late_sf: int
    log: list[tuple[int, str, dict]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.ra = GatewayRandomAccess(self.config.ra, self.late_sf, msg4_ccch=self._msg4_ccch)
        self.connections: dict[int, _Connection] = {}
        self._requests: dict[bytes, tuple] = {}  # contention resolution identity -> (request, transaction)
        self._transaction_id = 0
        # (PUSCH sf, prb) -> (rnti, what: "srb" | "track" | "data", tx, grant)
        self._ul: dict[tuple[int, int], tuple[int, str, int, PuschGrant]] = {}
        self._pending: list[tuple[int, PuschRx]] = []
        self._dl: dict[int, list[DlMessage]] = {}
        self._dl_pdus: dict[tuple[int, int], tuple[list, list]] = {}
        self._dl_data_sent: dict[tuple[int, int], tuple[int, list]] = {}  # (DL sf, rnti) -> (process, its record)
        self._dl_seq = 0

    def _msg4_ccch(self, ccch: bytes) -> bytes:
        """Msg3's CCCH SDU -> RRCConnectionSetup (TS 36.331 5.3.3.3); the request is kept for the report."""
        request = parse_rrc_connection_request(ccch)
        tid = self._transaction_id
        self._transaction_id = (self._transaction_id + 1) % 4
        self._requests[bytes(ccch[:6])] = (request, tid)
        return rrc_connection_setup(tid)

    def _event(self, k: int, what: str, **info) -> None:
        self.log.append((k, what, info))

    def _dl_sch(self, k: int, rnti: int) -> tuple[list, list]:
        """(SDUs, CEs) of the one DL-SCH PDU to `rnti` in DL subframe k (one PDSCH per RNTI and subframe)."""
        return self._dl_pdus.setdefault((k, rnti), ([], []))

    def receive(self, item) -> None:
        if isinstance(item, HarqAckRx):
            self._pending.append((item.subframe + self.late_sf, item))
        elif isinstance(item, PuschRx) and (item.subframe, item.prb_start) in self._ul:
            self._pending.append((item.subframe + self.late_sf, item))
        else:
            self.ra.receive(item)

    def listening_harq_ack(self, k: int) -> list[int]:
        """The C-RNTIs whose HARQ-ACK for a DL data TB the gateway expects in UL subframe k (PDSCH in k - 4)."""
        return sorted(rnti for (sf, rnti) in self._dl_data_sent if sf == k - 4)

    def listening(self, k: int) -> list[PuschGrant]:
        """The connected-mode PUSCH grants the gateway expects in UL subframe k (what its receiver decodes)."""
        return [grant for (sf, _prb), (_, _, _, grant) in sorted(self._ul.items()) if sf == k]

    def _grant(self, k: int, conn: _Connection, what: str, new_data: bool = True, tx: int = 1,
               defer: bool = True) -> bool:
        """DCI 0 in DL k for the PUSCH in k + 4 (TS 36.213 8.0), on the handset's preferred PRB slot or the next
        free one. When every slot of k + 4 is taken, new data goes one subframe later and a retransmission to its
        process's next occurrence (8 later: synchronous HARQ); with defer=False nothing is granted (False).
        what: "srb" (RRCConnectionSetupComplete expected), "track" (TA measurement) or "data" (full buffer)."""
        n = self.config.n_ul_slots
        step = 1 if new_data else HARQ_PROCESSES_UL
        while True:
            here = [(prb, v[0]) for (sf, prb), v in self._ul.items() if sf == k + 4]
            taken = {prb for prb, _ in here}
            grant = None
            if all(rnti != conn.c_rnti for _, rnti in here):  # one DCI 0 per handset and subframe
                grant = next((g for j in range(n) if (g := self.config.ul_grant(conn.c_rnti, (conn.slot + j) % n))
                              .prb_start not in taken), None)
            if grant is not None:
                break
            if not defer:
                return False
            k += step
        if what == "data":
            slot = (grant.prb_start - self.config.ul_rb_start) // self.config.ul_n_prb
            grant = self.config.ul_grant(conn.c_rnti, slot, self.config.ul_data_i_mcs)
            conn.data_busy.add((k + 4) % HARQ_PROCESSES_UL)
            conn.data_new += int(new_data)
            if conn.data_first_subframe is None:
                conn.data_first_subframe = k + 4
        self._ul[(k + 4, grant.prb_start)] = (conn.c_rnti, what, tx, grant)
        conn.outstanding += 1
        i_mcs = self.config.ul_data_i_mcs if what == "data" else self.config.ul_i_mcs
        self._dl.setdefault(k, []).append(DlMessage(conn.c_rnti, "ul_grant", ndi_toggled=new_data, grant=grant,
                                                    i_mcs=i_mcs))
        self._event(k, "ul_grant", c_rnti=conn.c_rnti, pusch_subframe=k + 4, new_data=new_data, tx=tx, purpose=what)
        return True

    def _proactive_grants(self, k0: int, conn: _Connection) -> None:
        for j in range(self.config.proactive_grants):
            self._grant(k0 + j, conn, "srb")

    def _on_pusch(self, k: int, rx: PuschRx) -> None:
        rnti, what, tx, _ = self._ul.pop((rx.subframe, rx.prb_start))
        conn = self.connections[rnti]
        conn.outstanding -= 1
        if what == "data":
            self._on_data(k, conn, rx, tx)
        if rx.pdu is None:
            self._event(k, "pusch_crc_failed", c_rnti=rnti, subframe=rx.subframe)
            if what == "srb" and conn.complete is None and tx < self.config.max_harq_tx:
                # adaptive retransmission on the same synchronous process: PUSCH k' + 4 = subframe mod 8
                dci = k + (rx.subframe - (k + 4)) % HARQ_PROCESSES_UL
                self._grant(dci, conn, "srb", new_data=False, tx=tx + 1)
            elif conn.complete is None and conn.outstanding == 0:
                self._proactive_grants(k, conn)
            return
        if rx.timing_error_s is not None:
            conn.timing_errors.append((rx.subframe, rx.timing_error_s))
            self._ta_loop(k, conn, rx)
        for sp in parse_ul_sch_pdu(rx.pdu):
            if sp.lcid != LCID_SRB1:
                continue
            for sdu in conn.rlc.receive_pdu(sp.payload):
                complete = parse_rrc_connection_setup_complete(conn.pdcp.rx(sdu))
                if complete.transaction_id == conn.transaction_id and conn.complete is None:
                    conn.complete = complete
                    conn.complete_heard_subframe = k
                    self._event(k, "rrc_connection_setup_complete", c_rnti=rnti, nas=complete.dedicated_info_nas.hex())
        if conn.rlc.status_required:
            conn.rlc.status_required = False
            self._dl_sch(k, rnti)[0].append((LCID_SRB1, conn.rlc.status_pdu()))
            self._event(k, "rlc_status", c_rnti=rnti)
        if conn.complete is None and conn.outstanding == 0:
            self._proactive_grants(k, conn)  # the handset was not ready yet: grant again

    def _on_data(self, k: int, conn: _Connection, rx: PuschRx, tx: int) -> None:
        """A full-buffer data PUSCH heard: count it; stop-and-wait frees its process or retransmits adaptively."""
        conn.data_tx += 1
        process = rx.subframe % HARQ_PROCESSES_UL
        if rx.pdu is not None:
            conn.data_delivered += 1
            for sp in parse_ul_sch_pdu(rx.pdu):
                if sp.lcid == LCID_DTCH:
                    conn.data_bits += 8 * len(sp.payload)
                    conn.data_seq.add(int.from_bytes(sp.payload[:4], "big"))
            conn.data_busy.discard(process)
            return
        conn.data_failed_tx += 1
        if self.config.ul_data_policy == "stop_and_wait" and tx < self.config.max_harq_tx:
            # the same process's next occurrence from now: PUSCH m + 4 = rx.subframe mod 8
            m = k + (rx.subframe - (k + 4)) % HARQ_PROCESSES_UL
            self._grant(m, conn, "data", new_data=False, tx=tx + 1)
            return
        conn.data_lost += 1  # keep sending: the handset's buffer is long overwritten; left to RLC
        conn.data_busy.discard(process)

    def _on_harq_ack(self, rx: HarqAckRx) -> None:
        """Feedback for the DL data TB of DL subframe rx.subframe - 4: ACK delivers it; NACK or nothing heard
        retransmits it (stop-and-wait: on its process, NDI kept; keep sending: back in the queue as new data) until
        max_harq_tx transmissions, then it is lost at MAC (left to RLC)."""
        sent = self._dl_data_sent.pop((rx.subframe - 4, rx.rnti), None)
        if sent is None:  # the HARQ-ACK of an SRB1 / TA command PDSCH: not retransmitted here (RLC AM covers SRB1)
            return
        process, rec = sent
        conn = self.connections[rx.rnti]
        conn.dl_tx += 1
        tb, seq, tx = rec[0], rec[1], rec[2]
        if rx.ack:
            conn.dl_delivered += 1
            if self.config.dl_data_policy == "stop_and_wait":
                del conn.dl_procs[process]
            return
        conn.dl_nack += rx.ack is False
        conn.dl_dtx += rx.ack is None
        if tx >= self.config.max_harq_tx:
            conn.dl_lost += 1
            if self.config.dl_data_policy == "stop_and_wait":
                del conn.dl_procs[process]
        elif self.config.dl_data_policy == "stop_and_wait":
            rec[3] = "retx"
        else:
            conn.dl_queue.append((tb, seq, tx))

    def _dl_data(self, k: int) -> None:
        """Full-buffer DL data TBs of DL subframe k, one per connected handset (ConnectionConfig.dl_data_policy)."""
        policy = self.config.dl_data_policy
        if policy is None:
            return
        n_bytes = self.config.dl_data_tbs_bytes
        for conn in self.connections.values():
            if conn.complete_heard_subframe is None or k <= conn.complete_heard_subframe:
                continue
            if any(rnti == conn.c_rnti and kk <= k for kk, rnti in self._dl_pdus):
                continue  # an SRB1 / TA command PDU goes to it in k: one PDSCH per handset and subframe
            if policy == "keep_sending":
                process, new = k % HARQ_PROCESSES_FDD_DL, True  # NDI toggled every time: the handset flushes
                if conn.dl_queue:
                    tb, seq, tx = conn.dl_queue.pop(0)
                    rec = [tb, seq, tx + 1, "waiting"]
                else:
                    rec = None
            else:
                retx = [p for p, r in sorted(conn.dl_procs.items()) if r[3] == "retx"]
                free = [p for p in range(HARQ_PROCESSES_FDD_DL) if p not in conn.dl_procs]
                if retx:
                    process, new = retx[0], False
                    rec = conn.dl_procs[process]
                    rec[2] += 1
                    rec[3] = "waiting"
                elif free:
                    process, new, rec = free[0], True, None
                else:
                    continue  # every process waits for its feedback (2D)
            if rec is None:  # a new TB: one DTCH SDU (4-byte sequence number, then data) filling it
                self._dl_seq += 1
                conn.dl_new += 1
                sdu = self._dl_seq.to_bytes(4, "big") + bytes(max(0, n_bytes - 3 - 4))
                rec = [build_dl_sch_pdu([(LCID_DTCH, sdu)], tbs_bytes=n_bytes), self._dl_seq, 1, "waiting"]
                if conn.dl_first_subframe is None:
                    conn.dl_first_subframe = k
            if policy == "stop_and_wait":
                conn.dl_procs[process] = rec
            self._dl_data_sent[(k, conn.c_rnti)] = (process, rec)
            self._dl.setdefault(k, []).append(
                DlMessage(conn.c_rnti, "dl_sch", rec[0], ndi_toggled=new, harq_process=process))

    def _data_grants(self, k: int) -> None:
        """Full-buffer UL data grants of DL subframe k (PUSCH k + 4) to every connected handset."""
        policy = self.config.ul_data_policy
        if policy is None:
            return
        process = (k + 4) % HARQ_PROCESSES_UL
        for conn in self.connections.values():
            if conn.complete is None or conn.complete_heard_subframe is None or k <= conn.complete_heard_subframe:
                continue
            if policy == "stop_and_wait" and process in conn.data_busy:
                continue
            self._grant(k, conn, "data", defer=False)

    def _ta_loop(self, k: int, conn: _Connection, rx: PuschRx) -> None:
        """TS 36.321 5.2 / 6.1.3.5: a TA command from the measured error, one at a time: it applies at its DL
        subframe + 6, and PUSCHs from then on are heard late_sf later."""
        if k < conn.ta_in_flight_until or rx.subframe < conn.ta_in_flight_until - self.late_sf:
            return
        if abs(rx.timing_error_s) <= self.config.ta_threshold_s:
            return
        t_a = ta_command_for(rx.timing_error_s)
        self._dl_sch(k, conn.c_rnti)[1].append(tuple(timing_advance_ce(t_a)))
        conn.ta_commands.append((k, t_a))
        conn.ta_in_flight_until = k + TA_COMMAND_DELAY_SF + self.late_sf
        self._event(k, "ta_command", c_rnti=conn.c_rnti, t_a=t_a, error_s=rx.timing_error_s)

    def downlink(self, k: int) -> list[DlMessage]:
        before = set(self.ra.connected)
        msgs = list(self.ra.downlink(k))
        for rnti in sorted(set(self.ra.connected) - before):  # Msg4 (RRCConnectionSetup) goes out in k
            request, tid = self._requests[self.ra.connected[rnti]]
            conn = _Connection(rnti, len(self.connections) % self.config.n_ul_slots, k, request, tid)
            self.connections[rnti] = conn
            # TS 36.331 11.2: the handset can send RRCConnectionSetupComplete from Msg4 + 15
            self._proactive_grants(k + self.config.handset_rrc_delay_sf - 4, conn)
        ready = [item for when, item in self._pending if when <= k]
        self._pending = [(when, item) for when, item in self._pending if when > k]
        for item in sorted(ready, key=lambda x: x.subframe):
            if isinstance(item, HarqAckRx):
                self._on_harq_ack(item)
            else:
                self._on_pusch(k, item)
        period = self.config.tracking_grant_period_sf
        if period:
            for conn in self.connections.values():
                if conn.complete is not None and k - conn.last_tracking_grant >= period:
                    conn.last_tracking_grant = k
                    self._grant(k, conn, "track")
        self._data_grants(k)
        self._dl_data(k)
        for key in sorted(key for key in self._dl_pdus if key[0] <= k):
            sdus, ces = self._dl_pdus.pop(key)
            pdu = build_dl_sch_pdu(sdus, ces, tbs_bytes=self.config.dl_tbs_bytes)
            self._dl.setdefault(k, []).append(DlMessage(key[1], "dl_sch", pdu))
        return msgs + self._dl.pop(k, [])


# ================================================================================================
# the loop and the report
# ================================================================================================


def run_connection(handsets: list[Handset], gateway: GatewayConnection, first_subframe: int, n_subframes: int,
                   capture_margin_db: float = 3.0, pusch_lost: Callable[[UlschTx], bool] | None = None,
                   stop_when_done: bool = True, pdsch_lost: Callable[[DlMessage], bool] | None = None) -> int:
    """Run subframes [first, first + n) (as mac/ra_loop.run_random_access); stop early, unless told not to,
    when every handset is connected or failed. Returns the last subframe run. pdsch_lost(message) -> True: that
    handset fails the PDSCH's CRC (it answers NACK); HARQ-ACKs reach the gateway as sent."""
    k = first_subframe
    for k in range(first_subframe, first_subframe + n_subframes):
        dl = gateway.downlink(k)
        for h in handsets:
            mine = [DlMessage(m.rnti, "dl_sch_failed", harq_process=m.harq_process)
                    if pdsch_lost and m.kind == "dl_sch" and m.rnti == h.c_rnti and pdsch_lost(m) else m for m in dl]
            h.downlink(k, mine)
        sent = [(h, tx) for h in handsets for tx in h.uplink(k)]
        for _, tx in sent:
            if isinstance(tx, HarqAckTx):
                gateway.receive(HarqAckRx(tx.subframe, tx.rnti, tx.ack))
        deliver_uplink(k, [(h, tx) for h, tx in sent if not isinstance(tx, HarqAckTx)], gateway, capture_margin_db,
                       pusch_lost)
        if stop_when_done and all(h.state in ("connected", "failed") for h in handsets):
            break
    return k


def connection_report(handsets: list[Handset], gateway: GatewayConnection) -> list[dict]:
    """Per handset: what it did when (its subframes) and what the gateway heard."""
    out = []
    for h in handsets:
        ue = h.ue
        conn = gateway.connections.get(h.c_rnti) if h.c_rnti is not None else None
        rars = ue.events("rar")
        out.append({
            "name": h.name,
            "state": h.state,
            "preambles": [k for k, _ in ue.events("preamble")],
            "rar": rars[-1][0] if rars else None,  # the RAR that led to the last Msg3
            "rars": [k for k, _ in rars],
            "msg3": [k for k, _ in ue.events("msg3")],
            "contention_lost": [k for k, _ in ue.events("contention_lost")],
            "msg4": h.msg4_subframe,
            "c_rnti": h.c_rnti,
            "setup_complete_sent": h.complete_sent_subframe,
            "setup_complete_heard": conn.complete_heard_subframe if conn else None,
            "connected": h.connected_subframe,
            "random_value": h.random_value,
            "n_ta_s": h.n_ta_s,
        })
    return out
