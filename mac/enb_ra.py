"""The gateway's side of random access over the satellite round trip: speculative RAR (and causal, for contrast).

Subframe numbers are the handsets' (DESIGN.md 3): the gateway sends DL subframe k, a handset hears it as k;
a handset's UL subframe k reaches the gateway 2D later, so what it sent in k can first shape the gateway's
DL subframe k + `late_sf` (preamble / PUSCH end + 2D + processing, in whole subframes).

Speculative strategy (mode "speculative"): on every PRACH occasion p, before hearing anything, the gateway
sends in DL subframe n = p + 2 + N_sf, the first of the window (N_sf: the preamble's subframes, 1 for format 0,
2 for format 1; TS 36.321 5.1.4), one RAR PDU for RA-RNTI 1 + t_id with a MAC RAR for every preamble of the small
configured set (SIB2 numberOfRA-Preambles = len(preambles)): each a fresh temporary C-RNTI and its own Msg3
grant (disjoint PRBs) in UL subframe n + 6 (TS 36.213 6.1.1; p + 9 for format 0).
2D later it listens on all those grants; a grant that carries a Msg3 gets Msg4 (Contention Resolution
Identity CE + Timing Advance Command CE from the preamble's measured timing + the CCCH answer) on its TC-RNTI;
a grant whose preamble was detected but whose Msg3 failed CRC gets an adaptive retransmission grant (DCI 0,
NDI not toggled); unused TC-RNTIs go back to the pool. Causal mode answers only the preambles it heard, when
it hears them: too late for the window whenever 2D + processing > W + 1 ms.

    enb = GatewayRandomAccess(SpeculativeRaConfig(), late_sf=20)
    enb.receive(PrachRx(p, {2: 37e-6}))      # what UL subframe p carried, handed over when heard
    enb.downlink(k)                          # [DlMessage(rnti, kind, pdu), ...] to send in DL subframe k
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from mac.pdu import (
    LCID_CCCH,
    Rar,
    RarPdu,
    build_dl_sch_pdu,
    build_rar,
    contention_resolution_ce,
    parse_ul_sch_pdu,
    timing_advance_ce,
)
from mac.rar import msg3_allocation, rar_grant, rar_timing_advance, ta_command_for
from mac.ue_ra import DlMessage, prach_occasions
from phy.channels.prach import is_prach_occasion, prach_time_config, ra_rnti
from phy.channels.pusch import PuschGrant

__all__ = ["GatewayRandomAccess", "PrachRx", "PuschRx", "SpeculativeRaConfig", "speculative_ul_cost"]


@dataclass(frozen=True)
class SpeculativeRaConfig:
    """Gateway random access settings (SIB2 numberOfRA-Preambles = len(preambles))."""

    mode: str = "speculative"  # or "causal"
    preambles: tuple[int, ...] = (0, 1, 2, 3)
    prach_config_index: int = 3  # one occasion per radio frame, subframe 1 (TS 36.211 Table 5.7.1-2)
    ra_response_window_sf: int = 10
    n_rb_ul: int = 25
    msg3_rb_start: int = 2  # first Msg3 PRB (clear of PUCCH at the band edges); grants follow contiguously
    msg3_n_prb: int = 2
    msg3_i_mcs: int = 2  # QPSK I_TBS 2: 72 bits on 2 PRBs >= the 56-bit Msg3 (6-byte CCCH SDU + subheader)
    rar_ta_s: float = 0.0  # timing advance put in speculative RARs (the gateway has not heard the handset yet)
    backoff_indicator: int | None = 2  # BI in every RAR PDU: 20 ms (TS 36.321 Table 7.2-1)
    tc_rnti_first: int = 0x0100
    tc_rnti_count: int = 4096
    max_harq_msg3_tx: int = 4
    msg4_tbs_bytes: int = 32
    rar_tbs_bytes: int | None = None

    def __post_init__(self) -> None:
        if self.mode not in ("speculative", "causal"):
            raise ValueError(f"mode must be 'speculative' or 'causal', got {self.mode!r}")
        if len(self.preambles) not in range(4, 65, 4) or sorted(self.preambles) != list(range(len(self.preambles))):
            raise ValueError("preambles must be 0..N-1 with N = numberOfRA-Preambles in 4, 8, .., 64 (TS 36.331)")
        end = self.msg3_rb_start + len(self.preambles) * self.msg3_n_prb
        if end > self.n_rb_ul:
            raise ValueError(f"{len(self.preambles)} Msg3 grants of {self.msg3_n_prb} PRBs from PRB "
                             f"{self.msg3_rb_start} need {end} PRBs; N_RB_UL is {self.n_rb_ul}")

    @property
    def preamble_sf(self) -> int:
        """Subframes a preamble of prach_config_index occupies (TS 36.211 Table 5.7.1-1: format 0 -> 1, 1 and 2 ->
        2, 3 -> 3): the RAR window starts 3 subframes after the preamble's last (TS 36.321 5.1.4)."""
        return (1, 2, 2, 3)[prach_time_config(self.prach_config_index).preamble_format]

    @classmethod
    def from_system_info(cls, si, n_rb_ul: int, **kw) -> SpeculativeRaConfig:
        """The speculative set from what SIB2 broadcasts (gateway.config SystemInfoConfig): preambles
        0 .. numberOfRA-Preambles - 1 and the PRACH configuration index; raises if their Msg3 grants do not fit
        the UL (a profile with numberOfRA-Preambles 52 cannot be answered speculatively)."""
        return cls(preambles=tuple(range(si.number_of_ra_preambles)), prach_config_index=si.prach_config_index,
                   n_rb_ul=int(n_rb_ul), **kw)

    def msg3_grant(self, j: int) -> tuple[int, int]:
        """(RB_start, L_CRBs) of the j-th speculative Msg3 grant of an occasion."""
        return self.msg3_rb_start + j * self.msg3_n_prb, self.msg3_n_prb


def speculative_ul_cost(cfg: SpeculativeRaConfig) -> float:
    """Fraction of UL PRB-subframes the speculative Msg3 grants reserve: N_preambles L_CRBs per occasion over
    N_RB_UL x the subframes between occasions (averaged over 20 ms, the PRACH table's period)."""
    occasions = len(prach_occasions(cfg.prach_config_index, 0, 19))
    return len(cfg.preambles) * cfg.msg3_n_prb * occasions / (cfg.n_rb_ul * 20)


@dataclass(frozen=True)
class PrachRx:
    """Preambles the gateway detected in UL subframe `subframe`, each with its measured delay relative to the
    UL reference (s; the timing advance that handset needs)."""

    subframe: int
    detected: dict[int, float]


@dataclass(frozen=True)
class PuschRx:
    """A PUSCH the gateway received in UL subframe `subframe` on the grant starting at `prb_start`:
    the decoded MAC PDU, or None when the CRC failed (collision, noise)."""

    subframe: int
    prb_start: int
    pdu: bytes | None
    timing_error_s: float | None = None  # measured arrival after the UL reference (TA still needed), if decoded


@dataclass
class _Msg3Grant:
    occasion: int
    rapid: int
    tc_rnti: int
    pusch: PuschGrant
    msg3_subframe: int
    rar_ta_s: float
    harq_tx: int = 1
    measured_ta_s: float | None = None


@dataclass
class GatewayRandomAccess:
    """The gateway's random access scheduler; subframe-driven, pure (no PHY)."""

    config: SpeculativeRaConfig
    late_sf: int  # a UL subframe k can shape DL subframes >= k + late_sf
    msg4_ccch: Callable[[bytes], bytes] | None = None  # Msg3 CCCH SDU -> Msg4 CCCH SDU (RRCConnectionSetup)
    log: list[tuple[int, str, dict]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._pending: list[tuple[int, object]] = []  # (heard-by DL subframe, PrachRx | PuschRx)
        self._dl: dict[int, list[DlMessage]] = {}
        self._grants: dict[tuple[int, int], _Msg3Grant] = {}  # (msg3 subframe, prb_start) -> grant
        self._detections: dict[int, dict[int, float]] = {}
        self._next_rnti = 0
        self.connected: dict[int, bytes] = {}  # C-RNTI -> the contention resolution identity it won with

    def _new_tc_rnti(self) -> int:
        busy = {g.tc_rnti for g in self._grants.values()} | set(self.connected)
        for _ in range(self.config.tc_rnti_count):
            rnti = self.config.tc_rnti_first + self._next_rnti
            self._next_rnti = (self._next_rnti + 1) % self.config.tc_rnti_count
            if rnti not in busy:
                return rnti
        raise RuntimeError("no free temporary C-RNTI: raise tc_rnti_count")

    def _send(self, k: int, msg: DlMessage, what: str, **info) -> None:
        self._dl.setdefault(k, []).append(msg)
        self.log.append((k, what, info))

    # ------------------------------------------------------------------------------------------
    def receive(self, item: PrachRx | PuschRx) -> None:
        """Hand over what UL subframe item.subframe carried; the gateway acts on it from DL subframe
        item.subframe + late_sf (the round trip and the processing)."""
        self._pending.append((item.subframe + self.late_sf, item))

    def _rar(self, k: int, occasion: int, rapids: list[int], measured: dict[int, float]) -> None:
        """One RAR PDU for RA-RNTI of `occasion` in DL subframe k, a MAC RAR, TC-RNTI and Msg3 grant per RAPID."""
        cfg = self.config
        rars = []
        for j, rapid in enumerate(rapids):
            rb_start, n_prb = cfg.msg3_grant(j)
            tc_rnti = self._new_tc_rnti()
            ta_s = measured.get(rapid, cfg.rar_ta_s)
            g = rar_grant(rb_start, n_prb, cfg.n_rb_ul, cfg.msg3_i_mcs)
            rars.append(Rar(rapid, rar_timing_advance(ta_s), g, tc_rnti))
            pusch = msg3_allocation(g, cfg.n_rb_ul, tc_rnti).pusch
            msg3_sf = k + 6  # TS 36.213 6.1.1 (UL delay 0)
            self._grants[(msg3_sf, rb_start)] = _Msg3Grant(occasion, rapid, tc_rnti, pusch, msg3_sf, ta_s)
        pdu = build_rar(RarPdu(tuple(rars), cfg.backoff_indicator), cfg.rar_tbs_bytes)
        self._send(k, DlMessage(ra_rnti(occasion % 10), "dl_sch", pdu), "rar", occasion=occasion, rapids=rapids,
                   tc_rntis=[r.tc_rnti for r in rars])

    def _on_prach(self, k: int, rx: PrachRx) -> None:
        self._detections[rx.subframe] = dict(rx.detected)
        if self.config.mode == "causal" and rx.detected:
            # the earliest the gateway can answer; the handset only looks until p + 2 + W
            when = max(k, rx.subframe + self.config.preamble_sf + 2)  # the window's first subframe
            self._rar(when, rx.subframe, sorted(rx.detected), rx.detected)

    def _on_pusch(self, k: int, rx: PuschRx) -> None:
        g = self._grants.get((rx.subframe, rx.prb_start))
        if g is None:
            self.log.append((k, "pusch_without_grant", {"subframe": rx.subframe}))
            return
        del self._grants[(rx.subframe, rx.prb_start)]
        measured = self._detections.get(g.occasion, {}).get(g.rapid)
        if rx.pdu is None:
            heard_preamble = measured is not None
            if heard_preamble and g.harq_tx < self.config.max_harq_msg3_tx:
                # PHICH said ACK on time; recover with an adaptive retransmission grant (NDI not toggled)
                g.harq_tx += 1
                g.msg3_subframe = k + 4
                self._grants[(k + 4, g.pusch.prb_start)] = g
                self._send(k, DlMessage(g.tc_rnti, "ul_grant", ndi_toggled=False), "msg3_retransmission_grant",
                           tc_rnti=g.tc_rnti, pusch_subframe=k + 4)
            else:
                self.log.append((k, "msg3_lost", {"tc_rnti": g.tc_rnti, "preamble_heard": heard_preamble}))
            return
        ccch = next((sp.payload for sp in parse_ul_sch_pdu(rx.pdu) if sp.lcid == LCID_CCCH), None)
        if ccch is None:
            self.log.append((k, "msg3_without_ccch", {"tc_rnti": g.tc_rnti}))
            return
        ces = [tuple(contention_resolution_ce(ccch))]
        if measured is not None:  # correct the RAR's guess with the preamble's measured timing (TS 36.213 4.2.3)
            ces.append(tuple(timing_advance_ce(ta_command_for(measured - g.rar_ta_s))))
        sdus = [(LCID_CCCH, self.msg4_ccch(ccch))] if self.msg4_ccch else []
        pdu = build_dl_sch_pdu(sdus, ces, tbs_bytes=self.config.msg4_tbs_bytes)
        self.connected[g.tc_rnti] = ccch[:6]
        self._send(k, DlMessage(g.tc_rnti, "dl_sch", pdu), "msg4", tc_rnti=g.tc_rnti, identity=ccch[:6].hex())

    def downlink(self, k: int) -> list[DlMessage]:
        """What the gateway sends in DL subframe k (after acting on everything heard by then)."""
        ready = [item for when, item in self._pending if when <= k]
        self._pending = [(when, item) for when, item in self._pending if when > k]
        for item in sorted(ready, key=lambda x: x.subframe):
            if isinstance(item, PrachRx):
                self._on_prach(k, item)
            else:
                self._on_pusch(k, item)
        occasion = k - 2 - self.config.preamble_sf  # k is the first subframe of that occasion's RAR window
        if self.config.mode == "speculative" and is_prach_occasion(
            self.config.prach_config_index, (occasion // 10) % 1024, occasion % 10
        ):
            self._rar(k, occasion, list(self.config.preambles), {})
        # grants whose Msg3 subframe is long heard and never arrived are dropped (their TC-RNTI freed)
        for key in [key for key, g in self._grants.items() if g.msg3_subframe + self.late_sf < k]:
            del self._grants[key]
        return self._dl.pop(k, [])

    def listening(self, k: int) -> list[PuschGrant]:
        """The Msg3 grants the gateway listens on in UL subframe k (what its PUSCH receiver must decode)."""
        return [g.pusch for (sf, _), g in self._grants.items() if sf == k]
