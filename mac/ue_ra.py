"""The Rel-8 handset's contention-based random access (TS 36.321 5.1.1-5.1.6) as a pure state machine.

Driven by absolute subframe numbers k (SFN = k // 10 mod 1024, subframe k mod 10) on the handset's own
timeline: its DL subframe k is what it hears as k, its UL subframe k what it sends as k. It knows nothing
about satellites; every window and timer is the spec's:

    ue = UeRandomAccess(RachConfig(number_of_ra_preambles=4), ccch_sdu=rrc_connection_request, rng=random.Random(1))
    for k in range(k0, k1):
        ue.downlink(k, [DlMessage(rnti, "dl_sch", pdu), ...])   # what the PDCCH/PDSCH gave in DL subframe k
        for tx in ue.uplink(k): ...                              # PreambleTx / UlschTx to send in UL subframe k

States: resource_selection -> (backoff) -> preamble -> rar_window -> msg3 -> contention_resolution -> done,
or failed (a Random Access problem indicated to upper layers after preambleTransMax preambles).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from mac.pdu import (
    LCID_CCCH,
    LCID_CONTENTION_RESOLUTION,
    LCID_TIMING_ADVANCE,
    build_ul_sch_pdu,
    parse_dl_sch_pdu,
    parse_rar,
)
from mac.rar import backoff_parameter_s, msg3_allocation, ta_command_adjustment_s, timing_advance_s
from phy.channels.prach import is_prach_occasion, prach_time_config, ra_rnti
from phy.channels.pusch import PuschGrant

__all__ = ["DlMessage", "PreambleTx", "RachConfig", "UeRandomAccess", "UlschTx", "prach_occasions"]

_SUBFRAMES_PER_HYPERFRAME = 10 * 1024


@dataclass(frozen=True)
class RachConfig:
    """SIB2 RACH settings a Rel-8 handset applies (TS 36.331 RACH-ConfigCommon, PRACH-Config; TS 36.321 7.6)."""

    number_of_ra_preambles: int = 4  # numberOfRA-Preambles n4..n64; no group B (sizeOfRA-PreamblesGroupA absent)
    preamble_trans_max: int = 10  # preambleTransMax n3..n200
    ra_response_window_sf: int = 10  # ra-ResponseWindowSize sf2..sf10
    mac_contention_resolution_timer_sf: int = 64  # mac-ContentionResolutionTimer sf8..sf64
    max_harq_msg3_tx: int = 4  # maxHARQ-Msg3Tx 1..8
    power_ramping_step_db: int = 6  # powerRampingStep dB0..dB6
    preamble_initial_received_target_power_dbm: int = -104  # dBm-120..dBm-90
    prach_config_index: int = 3
    n_rb_ul: int = 25

    def __post_init__(self) -> None:
        if self.number_of_ra_preambles not in range(4, 65, 4):
            raise ValueError(f"numberOfRA-Preambles must be 4, 8, .., 64, got {self.number_of_ra_preambles}")
        if self.preamble_trans_max not in (3, 4, 5, 6, 7, 8, 10, 20, 50, 100, 200):
            raise ValueError(f"preambleTransMax must be one of n3..n200 (TS 36.331), got {self.preamble_trans_max}")
        if self.ra_response_window_sf not in (2, 3, 4, 5, 6, 7, 8, 10):
            raise ValueError(f"ra-ResponseWindowSize must be sf2..sf8 or sf10, got {self.ra_response_window_sf}")
        if self.mac_contention_resolution_timer_sf not in range(8, 65, 8):
            raise ValueError("mac-ContentionResolutionTimer must be sf8, sf16, .., sf64, got "
                             f"{self.mac_contention_resolution_timer_sf}")
        if not 1 <= self.max_harq_msg3_tx <= 8:
            raise ValueError(f"maxHARQ-Msg3Tx must be 1..8, got {self.max_harq_msg3_tx}")
        prach_time_config(self.prach_config_index)  # validates the index (TS 36.211 Table 5.7.1-2)

    @classmethod
    def from_sib2(cls, sib2: dict, n_rb_ul: int) -> RachConfig:
        """The RACH settings a handset reads from a decoded SIB2 (mac.sib.sib2_from_message): rach-ConfigCommon
        and prach-ConfigIndex (TS 36.331 RACH-ConfigCommon, PRACH-ConfigSIB)."""
        common = sib2["radioResourceConfigCommon"]
        rach = common["rach-ConfigCommon"]
        ramp, sup = rach["powerRampingParameters"], rach["ra-SupervisionInfo"]
        return cls(
            number_of_ra_preambles=int(rach["preambleInfo"]["numberOfRA-Preambles"][1:]),
            preamble_trans_max=int(sup["preambleTransMax"][1:]),
            ra_response_window_sf=int(sup["ra-ResponseWindowSize"][2:]),
            mac_contention_resolution_timer_sf=int(sup["mac-ContentionResolutionTimer"][2:]),
            max_harq_msg3_tx=int(rach["maxHARQ-Msg3Tx"]),
            power_ramping_step_db=int(ramp["powerRampingStep"][2:]),
            preamble_initial_received_target_power_dbm=int(ramp["preambleInitialReceivedTargetPower"][3:]),
            prach_config_index=int(common["prach-Config"]["prach-ConfigInfo"]["prach-ConfigIndex"]),
            n_rb_ul=int(n_rb_ul),
        )

    @property
    def preamble_sf(self) -> int:
        """Subframes a preamble occupies: format 0 -> 1, 1 and 2 -> 2, 3 -> 3 (TS 36.211 Table 5.7.1-1)."""
        return (1, 2, 2, 3)[prach_time_config(self.prach_config_index).preamble_format]


def prach_occasions(config_index: int, first: int, last: int) -> list[int]:
    """Absolute subframes k in [first, last] where a preamble may start (TS 36.211 Table 5.7.1-2, FDD)."""
    return [k for k in range(first, last + 1)
            if is_prach_occasion(config_index, (k // 10) % 1024, k % 10)]


@dataclass(frozen=True)
class DlMessage:
    """A DL transport block the handset decoded in a DL subframe: addressed (PDCCH CRC) to `rnti`.

    kind "dl_sch": `pdu` is the MAC PDU (a RAR PDU when `rnti` is an RA-RNTI). kind "ul_grant": a DCI format 0
    for `rnti` (PUSCH in k + 4, TS 36.213 8.0); `ndi_toggled` False asks for an adaptive retransmission.
    `grant`: the PUSCH the format 0 assigns (None: the process's previous grant, as for an adaptive Msg3
    retransmission).
    """

    rnti: int
    kind: str = "dl_sch"
    pdu: bytes = b""
    ndi_toggled: bool = True
    grant: PuschGrant | None = None
    i_mcs: int | None = None  # the DCI 0's I_MCS that gives `grant` (TS 36.213 8.6.1), when the sender knows it
    # DL HARQ of a "dl_sch" (or "dl_sch_failed": an assignment whose PDSCH failed its CRC) to a C-RNTI: the DCI's
    # HARQ process and NDI (TS 36.321 5.3.2); the sender sets harq_process (None: the PHY's choice) and
    # ndi_toggled, the handset reads both
    harq_process: int | None = None
    ndi: int | None = None


@dataclass(frozen=True)
class PreambleTx:
    """A PRACH preamble sent in UL subframe `subframe` (TS 36.321 5.1.3); RA-RNTI = 1 + t_id (FDD)."""

    subframe: int
    preamble_index: int
    ra_rnti: int
    target_power_dbm: float  # PREAMBLE_RECEIVED_TARGET_POWER


@dataclass(frozen=True)
class UlschTx:
    """A PUSCH transport block sent in UL subframe `subframe` (here: Msg3) with its grant and HARQ count."""

    subframe: int
    rnti: int
    pdu: bytes
    grant: PuschGrant
    harq_tx: int  # 1 = first transmission
    timing_advance_s: float  # N_TA T_s applied (TS 36.211 8.1)


@dataclass
class UeRandomAccess:
    """One contention-based random access procedure with a CCCH SDU (RRCConnectionRequest) for Msg3."""

    config: RachConfig
    ccch_sdu: bytes
    rng: random.Random = field(default_factory=lambda: random.Random(0))
    start_subframe: int = 0
    name: str = "ue"

    def __post_init__(self) -> None:
        if len(self.ccch_sdu) < 6:
            raise ValueError("the Msg3 CCCH SDU needs at least 48 bits (the contention resolution identity)")
        # TS 36.321 5.1.1 initialisation
        self.preamble_transmission_counter = 1
        self.backoff_parameter_s = 0.0
        self.state = "resource_selection"
        self.not_before = self.start_subframe  # earliest subframe for the next preamble (after any backoff)
        self.preamble_index: int | None = None
        self.preamble_subframe: int | None = None
        self.tc_rnti: int | None = None
        self.c_rnti: int | None = None
        self.n_ta_s = 0.0  # N_TA T_s (TS 36.211 8.1); 0 for the preamble
        self.msg3_buffer: bytes | None = None
        self.msg3_grant: PuschGrant | None = None
        self.msg3_subframe: int | None = None
        self.msg3_tx = 0
        self.cr_timer_expiry: int | None = None
        self.log: list[tuple[int, str, dict]] = []

    # ------------------------------------------------------------------------------------------
    @property
    def rar_window(self) -> tuple[int, int]:
        """[first, last] DL subframes of the RAR window: preamble end + 3 .. + 2 + W (TS 36.321 5.1.4)."""
        end = self.preamble_subframe + self.config.preamble_sf - 1
        return end + 3, end + 2 + self.config.ra_response_window_sf

    def _event(self, k: int, what: str, **info) -> None:
        self.log.append((k, what, info))

    def _unsuccessful(self, k: int, why: str) -> None:
        """TS 36.321 5.1.4 / 5.1.5: count the attempt; after preambleTransMax, a Random Access problem;
        else a backoff uniform in [0, Backoff Parameter] and a new resource selection."""
        self.preamble_transmission_counter += 1
        self.tc_rnti = None
        self._event(k, why, counter=self.preamble_transmission_counter)
        if self.preamble_transmission_counter == self.config.preamble_trans_max + 1:
            self.state = "failed"
            self._event(k, "random_access_problem")
            return
        backoff_sf = round(self.rng.uniform(0.0, self.backoff_parameter_s) * 1000)
        self.not_before = k + backoff_sf
        self.state = "resource_selection"
        self._event(k, "backoff", backoff_sf=backoff_sf)

    # ------------------------------------------------------------------------------------------
    def downlink(self, k: int, messages: list[DlMessage]) -> None:
        """Handle what the handset decoded in DL subframe k (PDCCH for RA-RNTI / TC-RNTI, PDSCH)."""
        self._timers(k)
        if self.state == "rar_window":
            first, last = self.rar_window
            if first <= k <= last:
                rnti = ra_rnti(self.preamble_subframe % 10)
                for m in messages:
                    if m.rnti == rnti and m.kind == "dl_sch":
                        self._on_rar(k, m.pdu)
                        if self.state != "rar_window":
                            break
        elif self.state == "contention_resolution":
            for m in messages:
                if m.rnti != self.tc_rnti:
                    continue
                if m.kind == "ul_grant" and not m.ndi_toggled and self.msg3_tx < self.config.max_harq_msg3_tx:
                    # adaptive retransmission of Msg3 in k + 4 (TS 36.213 8.0; TS 36.321 5.4.2.2)
                    self.msg3_subframe = k + 4
                    self.state = "msg3"
                    self._event(k, "msg3_retransmission_grant", pusch_subframe=k + 4)
                elif m.kind == "dl_sch":
                    self._on_msg4(k, m.pdu)
                    break

    def _on_rar(self, k: int, pdu: bytes) -> None:
        """TS 36.321 5.1.4: backoff from BI (else 0); a MAC RAR whose RAPID is our preamble: success."""
        rar_pdu = parse_rar(pdu)
        self.backoff_parameter_s = (0.0 if rar_pdu.backoff_indicator is None
                                    else backoff_parameter_s(rar_pdu.backoff_indicator))
        for rar in rar_pdu.rars:
            if rar.rapid != self.preamble_index:
                continue
            self.n_ta_s = timing_advance_s(rar.timing_advance)  # TS 36.213 4.2.3: N_TA = 16 T_A
            self.tc_rnti = rar.tc_rnti
            alloc = msg3_allocation(rar.ul_grant, self.config.n_rb_ul, rar.tc_rnti)
            self.msg3_grant = alloc.pusch
            self.msg3_subframe = k + alloc.k1_subframes  # TS 36.213 6.1.1: n + 6 (+1 with UL delay)
            if self.msg3_buffer is None:  # first successful RAR of the procedure: fill the Msg3 buffer
                self.msg3_buffer = self.ccch_sdu
            self.msg3_tx = 0
            self.state = "msg3"
            self._event(k, "rar", rapid=rar.rapid, tc_rnti=rar.tc_rnti, t_a=rar.timing_advance,
                        msg3_subframe=self.msg3_subframe, backoff_s=self.backoff_parameter_s)
            return

    def _on_msg4(self, k: int, pdu: bytes) -> None:
        """TS 36.321 5.1.5: a decoded PDU for the TC-RNTI stops the timer; success iff its Contention Resolution
        Identity CE equals the first 48 bits of our Msg3 CCCH SDU, else not successful."""
        self.cr_timer_expiry = None
        subpdus = parse_dl_sch_pdu(pdu)
        for sp in subpdus:
            if sp.lcid == LCID_TIMING_ADVANCE:
                self.n_ta_s += ta_command_adjustment_s(sp.payload[0] & 0x3F)  # TS 36.213 4.2.3
        identity = next((sp.payload for sp in subpdus if sp.lcid == LCID_CONTENTION_RESOLUTION), None)
        if identity is not None and identity == self.msg3_buffer[:6]:
            self.c_rnti = self.tc_rnti
            self.state = "done"
            self.ccch_dl = b"".join(sp.payload for sp in subpdus if sp.lcid == LCID_CCCH)
            self._event(k, "contention_resolved", c_rnti=self.c_rnti, n_ta_s=self.n_ta_s)
        else:
            self._unsuccessful(k, "contention_lost")

    def _timers(self, k: int) -> None:
        if self.state == "rar_window" and k > self.rar_window[1]:
            self._unsuccessful(k, "no_rar_in_window")
        if self.state == "contention_resolution" and self.cr_timer_expiry is not None and k >= self.cr_timer_expiry:
            self._unsuccessful(k, "contention_resolution_timer_expired")

    # ------------------------------------------------------------------------------------------
    def uplink(self, k: int) -> list[PreambleTx | UlschTx]:
        """What the handset transmits in UL subframe k."""
        self._timers(k)
        if self.state == "resource_selection" and k >= self.not_before and is_prach_occasion(
            self.config.prach_config_index, (k // 10) % 1024, k % 10
        ):
            # TS 36.321 5.1.2: a random preamble of group A; 5.1.3: its target power, ramped per attempt
            self.preamble_index = self.rng.randrange(self.config.number_of_ra_preambles)
            self.preamble_subframe = k
            power = (self.config.preamble_initial_received_target_power_dbm
                     + (self.preamble_transmission_counter - 1) * self.config.power_ramping_step_db)  # DELTA 0 (fmt 0)
            self.state = "rar_window"
            self.n_ta_s = 0.0  # TS 36.211 5.7: a preamble is sent with N_TA = 0
            tx = PreambleTx(k, self.preamble_index, ra_rnti(k % 10), float(power))
            self._event(k, "preamble", preamble=self.preamble_index, counter=self.preamble_transmission_counter,
                        power_dbm=power, window=self.rar_window)
            return [tx]
        if self.state == "msg3" and k == self.msg3_subframe:
            tbs_bytes = self.msg3_grant.tbs // 8
            pdu = build_ul_sch_pdu([(LCID_CCCH, self.msg3_buffer)], tbs_bytes=tbs_bytes)
            self.msg3_tx += 1
            # TS 36.321 5.1.5: start (restart at each HARQ retransmission) mac-ContentionResolutionTimer
            self.cr_timer_expiry = k + self.config.mac_contention_resolution_timer_sf
            self.state = "contention_resolution"
            self._event(k, "msg3", tc_rnti=self.tc_rnti, harq_tx=self.msg3_tx, cr_timer_expiry=self.cr_timer_expiry)
            return [UlschTx(k, self.tc_rnti, pdu, self.msg3_grant, self.msg3_tx, self.n_ta_s)]
        return []

    def events(self, what: str) -> list[tuple[int, dict]]:
        """(subframe, info) of the logged events named `what`."""
        return [(k, info) for k, w, info in self.log if w == what]
