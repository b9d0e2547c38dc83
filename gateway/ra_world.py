"""Random access end to end at the PHY in the loopback world (issue 15): real signals both ways over the relay.

mac/ra_loop.py joins the handsets' and the gateway's random access machines over an abstract air; here the
air is the loopback world of DESIGN.md 4, on one sample clock (gateway subframe k leaves at sample
n_k = round(AOS fs) + k spf, as `pass_demo` builds a pass slice):

    gateway DL: DlScheduler (SIB1/SIB2) + the RA messages of GatewayRandomAccess.downlink(k) as PDCCH (DCI 1A,
                CRC masked by the RA-RNTI / TC-RNTI, common search space; DCI 0 for a Msg3 retransmission) and
                PDSCH -> OFDM -> Compensator("dl") -> RelayEmulator.downlink -> each handset's counter
    handset:    cell search once (phy.ue.read_cell: its DL frame timing and CFO), then per DL subframe k the
                blind PDCCH/PDSCH decode (phy.ue.receive_downlink) while its MAC monitors (RAR window: RA-RNTI;
                after Msg3: TC-RNTI) -> UeRandomAccess.downlink(k) / .uplink(k) -> its UL subframe k sent at
                its DL timing of k minus N_TA T_s (TS 36.211 8.1): the preamble (phy.channels.prach, N_TA = 0),
                Msg3 on PUSCH at the RAR's PRBs (phy.ue.ul_tx) with the RAR's TA, its LO locked to the DL
    gateway UL: RelayEmulator.uplink (sum of handsets + noise) -> Compensator("ul") -> the UL reference
                u(k) = n_k + (2D + e_min) fs, e_min the earliest residual round trip over the beam (every
                handset then needs TA >= 0, DESIGN.md 3) -> PrachDetector on each occasion (preamble, delay
                = the TA that handset needs), pusch_receive_many on the Msg3 grants GatewayRandomAccess
                listens on -> GatewayRandomAccess.receive (it acts late_sf subframes later, as in ra_loop)

Format 0's cyclic prefix (103 us) is shorter than the beam's TA spread (up to ~300 us): a preamble later than
the CP is still found at its delay from the reference window (a part of its sequence falls outside the FFT
window: at most 1.7 dB lost at 250 us), and the detector then runs again on a window moved to that delay
minus half the CP, where the preamble is cyclic again; its delay there plus the shift is the measurement.
zeroCorrelationZoneConfig 15 (N_CS = 419 lags, 400 us > the largest TA) keeps each of the 4 preambles'
zones clear of the others' delays.

Transmit powers: with the path loss (> 140 dB) a preamble (target -104 dBm + ramping) and a Msg3 are both
sent at P_CMAX = 23 dBm (TS 36.213 6.1, 5.1.1.1), i.e. the link budget's full-load power concentrated on the
PRACH's 839 subcarriers or the Msg3's PRBs.

    res = run_ra_world(cfg, t_s=pass_.max_time_s)      # RaWorldResult: per handset events, timing, SNRs
    res.handsets["edge"].state, res.handsets["edge"].prach_delay_s, res.handsets["edge"].predicted_ta_s
"""

from __future__ import annotations

import dataclasses
import math
import random
from dataclasses import dataclass, field
from functools import partial

import numpy as np

from channel import Handset, RelayConfig, RelayEmulator
from gateway.pass_demo import default_handsets, relay_config
from gateway.precomp import Compensator
from gateway.prediction import PassPrediction
from mac.connection import TA_COMMAND_DELAY_SF, ConnectionConfig, GatewayConnection, HarqAckRx, HarqAckTx
from mac.connection import Handset as ConnectedHandset
from mac.enb_ra import GatewayRandomAccess, PrachRx, PuschRx, SpeculativeRaConfig
from mac.ra_loop import gateway_late_subframes
from mac.rar import rar_timing_advance, ta_command_adjustment_s, ta_command_for, timing_advance_s
from mac.scheduler import DlScheduler
from mac.sib import ul_cell_config
from mac.ue_ra import DlMessage, PreambleTx, RachConfig, UeRandomAccess, UlschTx, prach_occasions
from orbit.geometry import offset_site
from orbit.passes import elevation_deg
from phy.channels.pbch import Mib, pbch_map
from phy.channels.pdsch import grant_from_dci
from phy.channels.phich import phich_index
from phy.channels.prach import N_ZC, prach_signal, root_d_u
from phy.channels.pucch import harq_n1_pucch, pucch_put, pucch_signal
from phy.channels.pusch import grant_from_dci0
from phy.dci import Dci0, Dci1A
from phy.dl_data import DlAssignment, add_dl_data, is_common_rnti
from phy.downlink import static_grid
from phy.enb.prach_rx import LAG_S, PrachDetector
from phy.enb.pucch_rx import detect_format1
from phy.enb.pusch_rx import PuschRxUe, pusch_receive_many
from phy.numerology import SAMPLE_RMS_FULL_LOAD, numerology
from phy.ofdm import ofdm_modulate
from phy.regs import control_regs, n_phich_groups
from phy.resource_allocation import riv_encode
from phy.scfdma import scfdma_demodulate, scfdma_modulate
from phy.search_space import common_candidates, ue_candidates
from phy.tbs import mcs_to_itbs, tbs
from phy.ue import read_cell
from phy.ue.downlink_rx import receive_downlink
from phy.ue.ul_tx import PuschTx, apply_cfo, fractional_delay, ul_subframe_grid

__all__ = ["RaHandsetResult", "RaWorldResult", "msg3_ccch_sdu", "ra_world_config", "run_ra_world",
           "ul_reference"]

_RING_POINTS = 16  # points on the beam edge for the UL reference (as gateway/cmd_feasibility.py)
_UL_LAG_SF = 1  # the UL relay runs this many subframes behind the DL (the handsets decide before they send)
_DL_MARGIN = 64  # samples around a subframe handed to the handset's decoder
_FD_PAD = 32  # zeros around a burst before its fractional advance (the FIR's reach)
_AGGREGATION = 4  # PDCCH aggregation of the RA messages (common search space)
# a handset may arrive a little before the UL reference (its DL timing error, the prediction's): Msg3
# candidates reach this many lags (0.95 us each) before it
_EARLY_LAGS = 3
_TA_MAX_S = 1282 * 16 / 30.72e6  # the largest timing advance (TS 36.213 4.2.3)
_PUSCH_REACH_S = 0.7e-3  # after a UL subframe's end, what a Msg3 candidate may need (a delay <= TA max 0.668 ms)
_RAR_PRBS = 4  # PDSCH PRBs of the RAR (QPSK, code rate ~0.3) and of Msg4
_DL_SCH_BYTES = 16  # connected-mode DL-SCH PDUs (RLC STATUS on SRB1, Timing Advance Command CE)
_DL_DATA_PRBS = 6  # PDSCH PRBs of a full-buffer DL data TB (one localized run per handset)


def msg3_ccch_sdu(random_value: int) -> bytes:
    """The Msg3 CCCH SDU: RRCConnectionRequest (mac/rrc.py, UPER, 6 bytes) with this 40-bit randomValue."""
    from mac.rrc import rrc_connection_request

    return rrc_connection_request(random_value)


def _msg4_ccch(_msg3_sdu: bytes) -> bytes:
    from mac.rrc import rrc_connection_setup

    return rrc_connection_setup(0)


def ra_world_config(cfg):
    """The profile with what the speculative strategy needs in SIB2: numberOfRA-Preambles 4 and
    zeroCorrelationZoneConfig 15 (N_CS 419: 2 preambles per root, a 400 us zone for the beam's TA spread);
    no full-buffer user traffic (the RA messages take the PDSCH next to SIB1/SIB2)."""
    si = dataclasses.replace(cfg.system_info, number_of_ra_preambles=4, zero_correlation_zone_config=15)
    sched = dataclasses.replace(cfg.scheduler, traffic=False)
    return dataclasses.replace(cfg, system_info=si, scheduler=sched)


def ul_reference(pred: PassPrediction, cfg, d_s: float, t_s: float, sites) -> tuple[float, list[float]]:
    """(e_min, [TA of each site]) at gateway time t_s from the gateway's prediction: e = a point's round trip
    minus the beam centre's (DL residual + UL residual after the compensation), e_min over the centre and a
    ring at orbit.edge_distance_m; TA = e - e_min (as mac.ra_feasibility.timing_advances_s)."""
    t = np.array([t_s])
    azimuths = np.arange(_RING_POINTS) * 360.0 / _RING_POINTS
    ring = [offset_site(pred.beam, cfg.orbit.edge_distance_m, az) for az in azimuths]
    dl_c, ul_c = pred.dl(t), pred.ul(t + d_s)

    def extra(s):
        return float((pred.dl(t, s).delay_s - dl_c.delay_s)[0] + (pred.ul(t + d_s, s).delay_s - ul_c.delay_s)[0])

    e = [extra(s) for s in sites]
    e_min = min([0.0, *e, *(extra(s) for s in ring)])
    return e_min, [x - e_min for x in e]


@dataclass
class RaHandsetResult:
    """One handset's random access at the PHY: its MAC log and what was measured on the way."""

    name: str
    state: str
    log: list
    dl_sinr_db: float  # from its cell search (CRS)
    dl_timing_error_s: float  # its DL frame timing minus the truth (relay.dl_truth)
    budget_dl_snr_db: float
    budget_ul_snr_db: float  # per RE at full load (the relay's link budget)
    predicted_ta_s: float  # the geometry's TA for its position (gateway prediction, UL reference e_min)
    preamble_subframe: int | None = None
    preamble_index: int | None = None
    prach_delay_raw_s: float | None = None  # the gateway's first measurement (known up to k d_u lags)
    prach_delay_s: float | None = None  # measured again with the Msg3's frequency offset removed (TA it needs)
    prach_snr_db: float | None = None
    rar_subframe: int | None = None
    msg3_subframe: int | None = None
    msg3_snr_db: float | None = None
    msg3_cfo_hz: float | None = None
    msg3_timing_s: float | None = None  # Msg3 arrival minus where its preamble's timing put it (PUSCH receiver)
    msg3_crc_ok: list = field(default_factory=list)  # each Msg3 transmission's CRC at the gateway
    msg4_subframe: int | None = None
    done_subframe: int | None = None
    n_ta_s: float | None = None  # its timing advance after Msg4's TA command
    ccch_dl: bytes = b""  # the CCCH SDU of its Msg4 (RRCConnectionSetup)
    # connect=True (mac/connection.py over the PHY): SRB1, PHICH, TA commands
    c_rnti: int | None = None
    setup_complete_sent_subframe: int | None = None  # its PUSCH carrying RRCConnectionSetupComplete
    setup_complete_heard_subframe: int | None = None  # the gateway's DL subframe when it had decoded it
    nas_pdu_heard: bytes = b""  # the dedicatedInfoNAS the gateway read from it
    connected_subframe: int | None = None  # the handset had its RLC STATUS (every SRB1 PDU acknowledged)
    pusch_subframes: list = field(default_factory=list)  # its connected-mode PUSCHs (UL subframes)
    pusch_crc_ok: list = field(default_factory=list)  # (UL subframe, CRC at the gateway)
    phich: list = field(default_factory=list)  # (DL subframe, HI, LLR) it read for its PUSCHs (Msg3 included)
    ta_commands: list = field(default_factory=list)  # (gateway DL subframe, T_A) sent to it after Msg4
    ul_timing_errors_s: list = field(default_factory=list)  # (UL subframe, arrival - UL reference) measured
    ul_data: dict = field(default_factory=dict)  # full-buffer UL data at the gateway (run_ra_world ul_data_policy)
    dl_data: dict = field(default_factory=dict)  # full-buffer DL data (run_ra_world dl_data_policy)
    harq_acks_sent: list = field(default_factory=list)  # (UL subframe, ACK) it sent on PUCCH
    harq_acks_heard: list = field(default_factory=list)  # (UL subframe, True ACK / False NACK / None) at the gateway


@dataclass
class RaWorldResult:
    """The run: the instant, elevation, D, UL reference and each handset's result."""

    t_s: float
    elevation_deg: float
    d_s: float
    e_min_s: float
    first_subframe: int
    last_subframe: int
    handsets: dict[str, RaHandsetResult] = field(default_factory=dict)
    gateway_log: list = field(default_factory=list)


class _Phone:
    """A Rel-8 handset on its own sample counter: DL buffer, cell timing, MAC, UL transmit buffer."""

    def __init__(self, handset: Handset, ue: UeRandomAccess, c0: int, n_samples: int, spf: int, mac=None):
        self.h, self.ue, self.spf = handset, ue, spf
        self.mac = mac if mac is not None else ue  # what its subframes drive: the RA machine or the connection
        self.phich_of: dict[int, list[tuple[int, int]]] = {}  # DL subframe -> PHICH (group, seq) to read
        self.ul_ndi: dict[int, int] = {}  # UL HARQ process -> NDI of its last DCI 0 (TS 36.321 5.4.1)
        self.dl_cce: dict[int, int] = {}  # DL subframe -> first CCE of the PDCCH of its PDSCH there
        self.c0 = c0  # counter of rx[0] and tx[0]
        self.rx = np.zeros(n_samples, dtype=np.complex64)
        self.rx_end = c0
        self.tx = np.zeros(n_samples, dtype=np.complex64)
        self.cell = None
        self.frame_c = None  # counter of the start of DL subframe `frame_k`
        self.frame_k = None
        self.next_k = None  # next subframe its MAC handles
        self.cfo_ul_hz = 0.0

    def dl_start(self, k: int) -> int:
        """Its counter of the start of DL subframe k (from its cell search)."""
        return self.frame_c + (k - self.frame_k) * self.spf


def _bits(data: bytes) -> np.ndarray:
    return np.unpackbits(np.frombuffer(data, dtype=np.uint8))


def _tbs_for(n_bytes: int, n_prb: int, common: bool) -> tuple[int, int]:
    """(I_TBS, TBS bits): the smallest QPSK TBS >= n_bytes with N_PRB^1A = 3 (common) or n_prb PRBs."""
    for i_tbs in range(10):
        size = tbs(i_tbs, 3 if common else n_prb)
        if size >= 8 * n_bytes and size % 8 == 0:
            return i_tbs, size
    raise ValueError(f"no QPSK TBS of {n_bytes} bytes on {n_prb} PRBs")


def _first_preamble(seed: int, n_preambles: int) -> int:
    rng = random.Random(seed)
    rng.getrandbits(40)  # the randomValue of its RRCConnectionRequest, drawn first (see run_ra_world)
    return rng.randrange(n_preambles)


def _distinct_preamble_seeds(names: list[str], n_preambles: int) -> dict[str, int]:
    """Seeds 1, 2, ... skipping any whose first preamble another handset already picked (no contention)."""
    seeds: dict[str, int] = {}
    taken: set[int] = set()
    seed = 0
    for name in names:
        seed += 1
        while _first_preamble(seed, n_preambles) in taken and len(taken) < n_preambles:
            seed += 1
        taken.add(_first_preamble(seed, n_preambles))
        seeds[name] = seed
    return seeds


def run_ra_world(cfg, t_s: float, handsets: list[Handset] | None = None, seeds: dict[str, int] | None = None,
                 relay_settings: RelayConfig | None = None, n_subframes: int = 80, start_after_sf: int = 24,
                 precomp: str = "both", rar_ta_s: float | str = 0.0, connect: bool = False,
                 tracking_grant_period_sf: int | None = None, after_connected_sf: int = 0,
                 ul_data_policy: str | None = None, ul_data_i_mcs: int = 10,
                 dl_data_policy: str | None = None, dl_data_i_mcs: int = 9) -> RaWorldResult:
    """Random access of `handsets` (default: the profile's beam centre and beam edge) from gateway time t_s
    (s from the ephemerides' epoch) over real signals; see the module docstring.

    seeds: each handset's MAC RNG seed (its preamble choice, backoff and randomValue). The gateway starts
    its DL at the frame nearest t_s; each handset searches the cell in its first 12 heard subframes and
    starts its random access procedure `start_after_sf` subframes after the gateway's first. Stops when every
    handset is done or failed, or after n_subframes. rar_ta_s: the timing advance the speculative RARs carry
    (SpeculativeRaConfig.rar_ta_s), or "centre" for the beam centre's predicted TA at that instant.
    connect: run mac/connection.py on both ends instead of random access alone, up to RRC connected: the
    gateway's proactive DCI 0 grants, RRCConnectionSetupComplete on SRB1 over PUSCH, the RLC STATUS and TA
    commands on PDSCH to the C-RNTI, and a PHICH ACK on the air for every PUSCH it listens on (Msg3 included)
    in n + 4, sent before the PUSCH is heard; each handset reads its HIs. Stops `after_connected_sf` subframes
    after all are connected; tracking_grant_period_sf: the gateway keeps granting each connected handset a
    PUSCH this often, so the TA loop keeps measuring (ConnectionConfig.tracking_grant_period_sf).
    ul_data_policy: full-buffer UL data once connected ("keep_sending" or "stop_and_wait", mac/connection.py) at
    I_MCS ul_data_i_mcs on the handset's 6-PRB slot; each result's `ul_data` counts it. dl_data_policy: the same
    for the DL (DCI 1A, I_MCS dl_data_i_mcs on 6 PRBs per handset, HARQ-ACK on PUCCH format 1a in n + 4 at
    n_CCE + N1_PUCCH, detected by the gateway 2D later); each result's `dl_data` counts it. Not both at once
    (HARQ-ACK on PUSCH is not modelled)."""
    cfg = ra_world_config(cfg)
    if connect:  # CFI 3: room on the PDCCH for two handsets' grants and SRB1 PDUs next to SIB1 (21 CCEs at 5 MHz)
        cfg = dataclasses.replace(cfg, cell=dataclasses.replace(cfg.cell, cfi=3))
    pred = PassPrediction.from_config(cfg)
    p = pred.select_pass()
    n_rb = int(cfg.cell.n_rb_dl)
    num = numerology(n_rb)
    fs, spf = num.sample_rate_hz, num.samples_per_subframe
    d_s = pred.target_delay_s(p, fs)
    handsets = handsets or default_handsets(pred, cfg.relay)
    seeds = seeds or _distinct_preamble_seeds([h.name for h in handsets], cfg.system_info.number_of_ra_preambles)
    relay = RelayEmulator(pred.sat, pred.gateway, pred.beam, pred.carriers, handsets, n_rb, fs,
                          relay_settings or relay_config(cfg.relay))
    comp_dl = Compensator(pred.dl_track(fs), d_s, precomp, direction="dl")
    comp_ul = Compensator(pred.ul_track(fs), d_s, precomp, direction="ul")
    n_aos = round(p.aos_s * fs)
    k0 = round((t_s - p.aos_s) * 100) * 10  # a frame start

    def n_of(k: int) -> int:
        return n_aos + k * spf

    # -- the cell, its SIB2, the MAC on both ends --------------------------------------------------
    ul_cell = ul_cell_config(cfg.cell, cfg.system_info)
    dl_cell = cfg.cell.dl_cell()
    sched = DlScheduler.from_config(cfg)
    late = gateway_late_subframes(2 * d_s)
    n_pre = cfg.system_info.number_of_ra_preambles
    rar_len = 1 + n_pre * 7  # BI subheader + per preamble an E/T/RAPID subheader and a 6-byte MAC RAR
    rar_itbs, rar_tbs = _tbs_for(rar_len, _RAR_PRBS, common=True)
    msg4_len = 7 + 2 + 3 + len(_msg4_ccch(b""))  # CR identity CE, TA CE, CCCH subheader (long L) + SDU
    msg4_itbs, msg4_tbs = _tbs_for(msg4_len, _RAR_PRBS, common=False)
    rach = RachConfig(number_of_ra_preambles=n_pre, prach_config_index=ul_cell.prach.config_index, n_rb_ul=n_rb)
    detector = PrachDetector(ul_cell.prach, n_rb)
    cp_s = detector.n_cp / fs
    prach_window = detector.n_cp + detector.n_seq
    pusch_reach = math.ceil(_PUSCH_REACH_S * fs)

    # -- the UL reference and the geometry's TA for each handset ----------------------------------
    t_ref = n_of(k0 + start_after_sf) / fs
    e_min, ta_pred = ul_reference(pred, cfg, d_s, t_ref, [h.site for h in handsets])
    u_off = (2 * d_s + e_min) * fs  # u(k) = n_k + u_off
    if rar_ta_s == "centre":
        rar_ta_s = -e_min  # the beam centre's residual round trip is 0 by construction
    ra_cfg = SpeculativeRaConfig(preambles=tuple(range(n_pre)), prach_config_index=ul_cell.prach.config_index,
                                 n_rb_ul=n_rb, rar_tbs_bytes=rar_tbs // 8, msg4_tbs_bytes=msg4_tbs // 8,
                                 rar_ta_s=float(rar_ta_s))
    dl_itbs, dl_tbs = _tbs_for(_DL_SCH_BYTES, _RAR_PRBS, common=False)
    if not 0 <= dl_data_i_mcs <= 28:
        raise ValueError(f"dl_data_i_mcs must be an initial-transmission I_MCS 0..28 (TS 36.213 7.1.7.1), got "
                         f"{dl_data_i_mcs}")
    data_tbs = tbs(mcs_to_itbs(dl_data_i_mcs)[0], _DL_DATA_PRBS)
    if dl_data_policy is not None and (ul_data_policy is not None or not connect):
        raise ValueError("dl_data_policy needs connect=True and no ul_data_policy (HARQ-ACK on PUSCH not modelled)")
    if connect:
        gw = GatewayConnection(ConnectionConfig(ra=ra_cfg, dl_tbs_bytes=dl_tbs // 8,
                                                tracking_grant_period_sf=tracking_grant_period_sf,
                                                ul_data_policy=ul_data_policy, ul_data_i_mcs=ul_data_i_mcs,
                                                dl_data_policy=dl_data_policy, dl_data_tbs_bytes=data_tbs // 8),
                               late)
        enb, mac_gw = gw.ra, gw  # its random access (Msg3 grants, RAR log) inside the connection
    else:
        enb = mac_gw = GatewayRandomAccess(ra_cfg, late_sf=late, msg4_ccch=_msg4_ccch)
    itbs_of = {msg4_tbs: msg4_itbs, dl_tbs: dl_itbs}  # PDSCH to a (T)C-RNTI: Msg4 or a connected-mode PDU
    n_group_total = n_phich_groups(n_rb, str(cfg.cell.phich_resource))
    ul_ndi: dict[tuple[int, int], int] = {}  # (C-RNTI, UL HARQ process) -> NDI of the last DCI 0 sent
    dl_ndi: dict[tuple[int, int], int] = {}  # (C-RNTI, DL HARQ process) -> NDI of the last DCI 1A sent (data)
    dl_data_cce: dict[tuple[int, int], int] = {}  # (DL subframe, C-RNTI) -> first CCE of its data PDCCH
    dl_harq: dict[int, int] = {}  # C-RNTI -> DL transport blocks sent (HARQ process, NDI toggling)

    total = n_subframes + 4
    buf_len = (total + 4) * spf
    phones: dict[str, _Phone] = {}
    for h in handsets:
        rng = random.Random(seeds[h.name])
        if connect:  # draws its randomValue first, then runs UeRandomAccess on the same RNG, as below
            mac = ConnectedHandset(rng, name=h.name, rach=rach, start_subframe=k0 + start_after_sf,
                                   ul_full_buffer=ul_data_policy is not None)
            ue = mac.ue
        else:
            sdu = msg3_ccch_sdu(rng.getrandbits(40))
            ue = mac = UeRandomAccess(rach, sdu, rng, start_subframe=k0 + start_after_sf, name=h.name)
        phones[h.name] = _Phone(h, ue, n_of(k0), buf_len, spf, mac)
    ul_out = np.zeros(buf_len, dtype=np.complex64)  # the gateway's post-compensated UL from n_of(k0)
    ul_end = n_of(k0 - _UL_LAG_SF)
    ul_done: set[tuple[str, int]] = set()  # UL receptions handed to the gateway MAC
    prach_full = prach_signal(ul_cell.prach, n_rb, 0)
    prach_beta = SAMPLE_RMS_FULL_LOAD / float(np.sqrt(np.mean(np.abs(prach_full[:prach_window]) ** 2)))
    f_ratio = pred.carriers.service_ul_hz / pred.carriers.service_dl_hz
    results: dict[str, RaHandsetResult] = {}
    for h in handsets:
        results[h.name] = RaHandsetResult(
            h.name, "", [], math.nan, math.nan,
            float(relay.snr_db(h.name, t_ref + d_s, "dl")[0]), float(relay.snr_db(h.name, t_ref + d_s, "ul")[0]),
            ta_pred[handsets.index(h)])
    detections: dict[int, dict[int, float]] = {}  # occasion -> preamble -> measured delay (s)
    rar_ta_applied_s = timing_advance_s(rar_timing_advance(ra_cfg.rar_ta_s))
    sent: dict[tuple[int, int], list[str]] = {}  # (UL subframe, prb_start) -> handsets sending Msg3 there (report)
    preamble_of: dict[int, dict[int, list[str]]] = {}  # occasion -> preamble -> handsets that sent it

    # -- the gateway's DL subframe -----------------------------------------------------------------
    def dl_subframe(k: int, msgs: list[DlMessage]) -> np.ndarray:
        sfn, sf = (cfg.cell.sfn_start + k // 10) % 1024, k % 10
        if connect:
            # TS 36.213 9.1.2: the HI of a PUSCH of UL subframe n goes in DL n + 4, long before the gateway hears
            # that PUSCH (2D later): ACK for every grant it listens on, Msg3's included; recovery is by grants
            n4 = k - 4
            for g in [*enb.listening(n4), *gw.listening(n4)]:
                sched.report_pusch((cfg.cell.sfn_start + n4 // 10) % 1024, n4 % 10, g.rnti, g.prb_start, 0, ack=True)
        plan = sched.schedule(sfn, sf)
        grid = static_grid(n_rb, int(cfg.cell.pci), int(cfg.cell.n_ports), int(cfg.cell.cfi), sf).copy()
        if sf == 0:
            pbch_map(grid, Mib(n_rb, cfg.cell.phich_duration, cfg.cell.phich_resource, sfn), int(cfg.cell.pci),
                     int(cfg.cell.n_ports), sfn)
        n_cce = control_regs(dl_cell, sf).n_cce
        used = np.zeros(n_cce, dtype=bool)
        for a in plan.assignments:
            used[a.first_cce:a.first_cce + a.aggregation] = True
        free = [c.first_cce for c in common_candidates(n_cce) if c.aggregation == _AGGREGATION]
        extra, prb_top = [], n_rb
        for m in msgs:
            # a connected handset's C-RNTI may also use its UE-specific search space (TS 36.213 9.1.1), at L = 4
            # or, when those are taken, L = 2
            cands = [(f, _AGGREGATION) for f in free]
            if not is_common_rnti(m.rnti) and m.rnti in gw_connections():
                cands += [(c.first_cce, c.aggregation) for level in (_AGGREGATION, _AGGREGATION // 2)
                          for c in ue_candidates(n_cce, m.rnti, sf) if c.aggregation == level]
            first, level = next(((f, n) for f, n in cands if not used[f:f + n].any()), (None, 0))
            if first is None:
                raise RuntimeError(f"no free PDCCH candidate in subframe {k} ({n_cce} CCEs) for RNTI {m.rnti:#x}")
            used[first:first + level] = True
            if m.kind == "ul_grant":
                if m.grant is None:  # adaptive Msg3 retransmission in k + 4: DCI 0, NDI not toggled, same PRBs
                    g = next(g for g in enb.listening(k + 4) if g.rnti == m.rnti)
                    # I_MCS 29: the initial TBS and modulation again (TS 36.213 8.6.1)
                    dci = Dci0(rb_assignment=riv_encode(g.prb_start, g.n_prb, n_rb), mcs_rv=29, ndi=0)
                else:  # a connected-mode grant: NDI toggled for new data, kept for an adaptive retransmission
                    g, key = m.grant, (m.rnti, (k + 4) % 8)
                    ndi = ul_ndi.get(key, 1) ^ int(m.ndi_toggled)
                    ul_ndi[key] = ndi
                    dci = Dci0(rb_assignment=riv_encode(g.prb_start, g.n_prb, n_rb), mcs_rv=m.i_mcs, ndi=ndi)
                extra.append(DlAssignment(dci, m.rnti, level, first))
                continue
            common = is_common_rnti(m.rnti)
            if m.harq_process is not None:  # a full-buffer DL data TB: its own PRBs, I_MCS and HARQ process
                if 8 * len(m.pdu) != data_tbs:
                    raise RuntimeError(f"DL data PDU of {len(m.pdu)} bytes, the TBS is {data_tbs} bits")
                run = free_prb_run(k, plan, extra, _DL_DATA_PRBS)
                key = (m.rnti, m.harq_process)
                ndi = dl_ndi.get(key, 1) ^ int(m.ndi_toggled)
                dl_ndi[key] = ndi
                dci = Dci1A(riv=riv_encode(run, _DL_DATA_PRBS, n_rb), mcs=dl_data_i_mcs, harq_process=m.harq_process,
                            ndi=ndi)
                dl_data_cce[(k, m.rnti)] = first
                extra.append(DlAssignment(dci, m.rnti, level, first, _bits(m.pdu)))
                continue
            size = rar_tbs if common else 8 * len(m.pdu)
            i_tbs = rar_itbs if common else itbs_of.get(size)
            if len(m.pdu) * 8 != size or i_tbs is None:
                raise RuntimeError(f"PDU of {len(m.pdu)} bytes for RNTI {m.rnti:#x}: no TBS of that size here")
            prb_top -= _RAR_PRBS
            riv = riv_encode(prb_top, _RAR_PRBS, n_rb)
            if common:
                dci = Dci1A(riv=riv, mcs=i_tbs, tpc=1)
            else:  # each new transport block on the next HARQ process, NDI toggled there (TS 36.321 5.3.2)
                n_tb = dl_harq.get(m.rnti, 0)
                dl_harq[m.rnti] = n_tb + 1
                dci = Dci1A(riv=riv, mcs=i_tbs, harq_process=n_tb % 8, ndi=(n_tb // 8 + 1) % 2)
            extra.append(DlAssignment(dci, m.rnti, level, first, _bits(m.pdu)))
        if plan.assignments or extra or plan.phich:
            add_dl_data(grid, dl_cell, sfn, sf, list(plan.assignments) + extra, plan.phich)
        return np.sum(ofdm_modulate(grid), axis=0, dtype=np.complex64)

    def free_prb_run(k: int, plan, extra: list, n: int) -> int:
        """First PRB of the lowest run of n PRBs that no PDSCH of subframe k uses yet (SI, RA, other data)."""
        used = np.zeros(n_rb + 1, dtype=bool)
        used[n_rb] = True
        for a in [*plan.assignments, *extra]:
            if isinstance(a.dci, Dci0):
                continue
            g = grant_from_dci(a.dci, n_rb, a.rnti, is_common_rnti(a.rnti), None, 0)
            used[np.unique(g.prbs)] = True
        for start in range(n_rb - n + 1):
            if not used[start:start + n].any():
                return start
        raise RuntimeError(f"no {n} free PRBs for DL data in subframe {k}")

    def gw_connections() -> dict:
        return gw.connections if connect else {}

    # -- a handset's subframe ----------------------------------------------------------------------
    def phone_rx(ph: _Phone, k: int) -> None:
        """DL subframe k at the handset: blind decode while its MAC monitors (RA-RNTI in its RAR window, then
        its TC-RNTI; once RRCConnectionSetup is applied, its C-RNTI every subframe) and the PHICHs of its
        PUSCHs of k - 4, then its MAC's downlink(k)."""
        ue, res = ph.ue, results[ph.h.name]
        msgs: list[DlMessage] = []
        first, last = ue.rar_window if ue.state == "rar_window" else (None, None)
        monitor_ra = ue.state == "rar_window" and first <= k <= last
        monitor_tc = ue.state == "contention_resolution"
        monitor_c = connect and ph.mac.state not in ("random_access", "failed")
        his = tuple(ph.phich_of.pop(k, ()))
        read_hi: list[tuple[int, int, float]] = []
        if monitor_ra or monitor_tc or monitor_c or his:
            m0 = ph.dl_start(k) - ph.c0
            x = ph.rx[m0 - _DL_MARGIN:m0 + spf + _DL_MARGIN]
            sf = k % 10
            cell = dataclasses.replace(ph.cell, timing_offset_samples=_DL_MARGIN - sf * spf,
                                       sfn=(cfg.cell.sfn_start + k // 10) % 1024)
            rntis = (1 + ue.preamble_subframe % 10,) if monitor_ra else ()
            c_rnti = ue.tc_rnti if monitor_tc else (ph.mac.c_rnti if monitor_c else None)
            for sub in receive_downlink(x, fs, cell, c_rnti=c_rnti, common_rntis=rntis, phich=lambda *_: his):
                for f in sub.dcis:
                    if isinstance(f.dci, Dci0) and f.rnti == c_rnti:
                        if not monitor_c:  # an adaptive Msg3 retransmission (the RAR's grant again)
                            msgs.append(DlMessage(f.rnti, "ul_grant", ndi_toggled=False))
                            continue
                        process = (k + 4) % 8  # TS 36.321 5.4.1: new data when the NDI differs from the last
                        toggled = ph.ul_ndi.get(process) != f.dci.ndi
                        ph.ul_ndi[process] = f.dci.ndi
                        msgs.append(DlMessage(f.rnti, "ul_grant", ndi_toggled=toggled,
                                              grant=grant_from_dci0(f.dci, n_rb, f.rnti)))
                for tb in sub.tbs:
                    dci = tb.found.dci
                    harq = (getattr(dci, "harq_process", None), getattr(dci, "ndi", None)) if monitor_c else (
                        None, None)
                    if monitor_c and tb.found.rnti == c_rnti:
                        ph.dl_cce[k] = tb.found.first_cce  # its HARQ-ACK resource in k + 4 (TS 36.213 10.1)
                    if tb.result.crc_ok:
                        msgs.append(DlMessage(tb.found.rnti, "dl_sch", np.packbits(tb.result.bits).tobytes(),
                                              harq_process=harq[0], ndi=harq[1]))
                    elif monitor_c and tb.found.rnti == c_rnti:
                        msgs.append(DlMessage(tb.found.rnti, "dl_sch_failed", harq_process=harq[0], ndi=harq[1]))
                read_hi += [(k, hi, llr) for _, _, hi, llr in sub.hi]
        n_log = len(ue.log)
        ph.mac.downlink(k, msgs)
        res.phich += read_hi
        if connect:
            for _, hi, _ in read_hi:
                ph.mac.phich(k, bool(hi))
        for _, what, _ in ue.log[n_log:]:
            if what == "rar":
                res.rar_subframe = k
            elif what in ("contention_resolved", "contention_lost"):
                res.msg4_subframe = k
        if ue.state == "done" and res.done_subframe is None:
            res.done_subframe, res.n_ta_s = k, ue.n_ta_s

    def phone_tx(ph: _Phone, k: int) -> None:
        """UL subframe k of the handset: its MAC's uplink(k), on the air at its DL timing of k - N_TA."""
        res = results[ph.h.name]
        for tx in ph.mac.uplink(k):
            if isinstance(tx, HarqAckTx):
                # TS 36.213 10.1: format 1a on n_CCE + N1_PUCCH of the PDSCH's PDCCH in k - 4; P_CMAX on 1 PRB
                n1 = harq_n1_pucch(ph.dl_cce.pop(k - 4), ul_cell.pucch.n1_pucch_an)
                put = partial(pucch_put, signal=pucch_signal(ul_cell, k % 10, "1a", n1, bits=[int(tx.ack)]))
                x = scfdma_modulate(ul_subframe_grid(ul_cell, k % 10, None, grid_writers=[put])) * np.float32(
                    np.sqrt(n_rb))
                res.harq_acks_sent.append((k, bool(tx.ack)))
                _place(ph, x, ph.dl_start(k), ph.mac.n_ta_s)
                continue
            if isinstance(tx, PreambleTx):
                # TS 36.211 5.7: the preamble at the start of UL subframe k, N_TA = 0, at P_CMAX
                x = prach_signal(ul_cell.prach, n_rb, tx.preamble_index, beta=prach_beta)
                res.preamble_subframe, res.preamble_index = k, tx.preamble_index
                preamble_of.setdefault(k, {}).setdefault(tx.preamble_index, []).append(ph.h.name)
                _place(ph, x, ph.dl_start(k), 0.0)
            elif isinstance(tx, UlschTx):
                g = tx.grant
                grid = ul_subframe_grid(ul_cell, k % 10, PuschTx(g, _bits(tx.pdu)))
                x = scfdma_modulate(grid) * np.float32(np.sqrt(n_rb / g.n_prb))  # P_CMAX on the granted PRBs
                if ue_in_ra(ph):
                    res.msg3_subframe = k
                else:
                    res.pusch_subframes.append(k)
                sent.setdefault((k, g.prb_start), []).append(ph.h.name)
                if connect:  # its HI in DL k + 4 on (group, sequence) of the lowest PRB, n_DMRS 0 (TS 36.213 9.1.2)
                    ph.phich_of.setdefault(k + 4, []).append(phich_index(g.prb_start, 0, n_group_total))
                _place(ph, x, ph.dl_start(k), tx.timing_advance_s)

    def ue_in_ra(ph: _Phone) -> bool:
        return ph.mac is ph.ue or ph.mac.state == "random_access"

    def _place(ph: _Phone, x: np.ndarray, start: int, advance_s: float) -> None:
        """Add a burst starting at counter `start` - advance (TS 36.211 8.1), its LO locked to the DL."""
        shift = advance_s * fs
        n_int = math.ceil(shift)
        frac = n_int - shift  # delay left after advancing by n_int samples
        y = np.concatenate([np.zeros(_FD_PAD, np.complex64), x.astype(np.complex64), np.zeros(_FD_PAD, np.complex64)])
        if frac > 1e-9:
            y = fractional_delay(y, frac / fs, fs)
        a = start - n_int - _FD_PAD
        y = apply_cfo(y, ph.cfo_ul_hz, fs, a)
        if a < ul_end:
            raise RuntimeError(f"{ph.h.name}: UL burst at {a} is already in the past of the UL relay ({ul_end})")
        ph.tx[a - ph.c0:a - ph.c0 + y.size] += y

    # -- the gateway's UL receptions ---------------------------------------------------------------
    def measure_preamble(a: int, frac: float, preamble: int | None, cfo_hz: float = 0.0):
        """[(preamble, delay_s after the reference, snr_db)] of the occasion whose UL reference is a + frac
        samples, the input first de-rotated by cfo_hz; a preamble later than CP/2 is measured again on a
        window moved to it (where it is cyclic again)."""
        x = ul_out[a - n_of(k0):a - n_of(k0) + 2 * spf]
        if cfo_hz:
            x = apply_cfo(x, -cfo_hz, fs, a)
        out = []
        for d in detector.detect(x[:prach_window]):
            if preamble is not None and d.preamble_index != preamble:
                continue
            delay, snr = d.delay_s - frac / fs, d.snr_db
            if delay > cp_s / 2:
                shift = int(math.floor((delay - cp_s / 2) * fs))
                again = [e for e in detector.detect(x[shift:shift + prach_window])
                         if e.preamble_index == d.preamble_index]
                # an earlier handset's preamble lands before this window and wraps into a neighbour's zone:
                # only a peak near the first measurement is this preamble
                if again and abs(again[0].delay_s + (shift - frac) / fs - delay) < 2 * LAG_S:
                    delay, snr = again[0].delay_s + (shift - frac) / fs, again[0].snr_db
            out.append((d.preamble_index, max(delay, 0.0), snr))
        return out

    pset = detector.preambles
    zone_start = {v: (-int(pset.c_v[v])) % N_ZC for v in range(n_pre)}  # lag of each preamble's zero delay

    def image_of(v: int, delay_s: float, target: int) -> float:
        """Delay (s) under preamble `target` of the lag where preamble v was found (inf: another root)."""
        if int(pset.u[v]) != int(pset.u[target]):
            return math.inf
        lag = zone_start[v] + delay_s / LAG_S
        return ((lag - zone_start[target] + _EARLY_LAGS) % N_ZC - _EARLY_LAGS) * LAG_S

    def msg3_candidates(rapid: int, found: dict[int, float]) -> list[float]:
        """Where a Msg3 on preamble `rapid`'s grant may arrive (its delay after the UL reference): a frequency
        offset of one PRACH subcarrier moves a Zadoff-Chu peak by d_u lags, so a preamble found at lag L on
        its root (under its own index or, past a zone edge, a neighbour's) may have been sent at L or L -+ d_u.
        Its own detection first; every candidate within -_EARLY_LAGS lags .. min(TA_max, the zone)."""
        d_u = root_d_u(int(pset.u[rapid]))
        out: list[float] = []
        for v in sorted(found, key=lambda v: v != rapid):
            for m in (0, -1, 1):
                if v != rapid and m == 0:
                    continue
                c = image_of(v, found[v] + m * d_u * LAG_S, rapid)
                if (-_EARLY_LAGS * LAG_S <= c <= min(_TA_MAX_S, (pset.n_cs - 1) * LAG_S)
                        and all(abs(c - o) > LAG_S for o in out)):
                    out.append(c)
        return out

    def gateway_rx(k: int) -> None:
        u = n_of(k) + u_off
        got_end = ul_end - n_of(k0)
        if (("prach", k) not in ul_done) and k in preamble_occasions and math.floor(u) - n_of(k0) + 2 * spf <= got_end:
            ul_done.add(("prach", k))
            found = {v: delay for v, delay, _ in measure_preamble(math.floor(u), u - math.floor(u), None)}
            detections[k] = found
            for v, sent_by in preamble_of.get(k, {}).items():
                for name in sent_by:
                    results[name].prach_delay_raw_s = found.get(v)
            enb.receive(PrachRx(k, dict(found)))
        if ("pusch", k) not in ul_done and round(u) - n_of(k0) + spf + pusch_reach <= got_end:
            ul_done.add(("pusch", k))
            tc_of = rar_origins()
            for g in enb.listening(k):
                # the Msg3 arrives where its preamble did, less the TA its RAR gave (the guess rar_ta_s). A
                # frequency offset of one PRACH subcarrier moves a Zadoff-Chu peak by d_u lags: the preamble's
                # delay is known up to k d_u lags (the handset's UL offset reaches ~1.3 kHz at the beam edge),
                # so the Msg3 is looked for at each candidate; the one whose CRC passes resolves it.
                occasion, rapid = tc_of[g.rnti]
                found = detections.get(occasion, {})
                candidates = msg3_candidates(rapid, found)
                r, c = None, None
                for c in candidates or [0.0]:
                    late_s = c - rar_ta_applied_s
                    a = round(u + late_s * fs)
                    x = ul_out[a - n_of(k0):a - n_of(k0) + spf]
                    r = pusch_receive_many(x, [PuschRxUe(g)], ul_cell.n_id_cell, n_rb, k % 10, ul_cell.pusch)[0]
                    if r.crc_ok:
                        break
                pdu = np.packbits(r.bits).tobytes() if r.crc_ok else None
                names = sent.get((k, g.prb_start), [])
                if r.crc_ok and candidates:
                    # the candidate that decoded is the TA; measured again with the Msg3's frequency offset removed
                    # when that finds the preamble there (a stronger handset's image may hide it: then c stands).
                    # A detection that was this preamble's image under another index is dropped.
                    d_u_s = root_d_u(int(pset.u[rapid])) * LAG_S
                    for v in [v for v in found if v != rapid and any(
                            abs(c - image_of(v, found[v] + m * d_u_s, rapid)) < 2 * LAG_S for m in (-1, 1))]:
                        del found[v]
                    found[rapid] = max(c, 0.0)
                    again = measure_preamble(math.floor(n_of(occasion) + u_off),
                                             n_of(occasion) + u_off - math.floor(n_of(occasion) + u_off), rapid,
                                             r.cfo_hz)
                    if again and abs(again[0][1] - max(c, 0.0)) < 2 * LAG_S:
                        found[rapid] = again[0][1]
                    enb.receive(PrachRx(occasion, dict(found)))  # acted on before the Msg3 (an earlier subframe)
                    for name in names:
                        results[name].prach_delay_s = found[rapid]
                        results[name].prach_snr_db = again[0][2] if again else None
                for name in names:
                    res = results[name]
                    res.msg3_snr_db, res.msg3_cfo_hz = float(r.snr_db), float(r.cfo_hz)
                    res.msg3_timing_s = float(r.timing_s + (a - u) / fs - late_s)
                    res.msg3_crc_ok.append(bool(r.crc_ok))
                enb.receive(PuschRx(k, g.prb_start, pdu))
            if dl_data_policy is not None:
                receive_harq_acks(k, u)
            for g in (gw.listening(k) if connect else ()):
                # a connected handset's PUSCH arrives late by the TA it still lacks (window moved there)
                a = round(u + expected_late_s(g.rnti, k) * fs)
                x = ul_out[a - n_of(k0):a - n_of(k0) + spf]
                r = pusch_receive_many(x, [PuschRxUe(g)], ul_cell.n_id_cell, n_rb, k % 10, ul_cell.pusch)[0]
                error_s = float(r.timing_s + (a - u) / fs) if r.crc_ok else None
                for name in sent.get((k, g.prb_start), []):
                    results[name].pusch_crc_ok.append((k, bool(r.crc_ok)))
                    if error_s is not None:
                        results[name].ul_timing_errors_s.append((k, error_s))
                gw.receive(PuschRx(k, g.prb_start, np.packbits(r.bits).tobytes() if r.crc_ok else None, error_s))

    def receive_harq_acks(k: int, u: float) -> None:
        """The HARQ-ACKs of the DL data PDSCHs of DL k - 4 (PUCCH format 1a, each handset's window moved by the TA
        it still lacks), handed to the gateway MAC."""
        for rnti in gw.listening_harq_ack(k):
            due = u + expected_late_s(rnti, k) * fs  # where its subframe should start (samples)
            a = round(due)
            grid = scfdma_demodulate(ul_out[a - n_of(k0):a - n_of(k0) + spf], n_rb)
            n1 = harq_n1_pucch(dl_data_cce.pop((k - 4, rnti)), ul_cell.pucch.n1_pucch_an)
            r = detect_format1(grid, ul_cell, k % 10, "1a", n1, timing_offset_s=(due - a) / fs)
            ack = bool(r.bits[0, 0]) if bool(r.detected[0]) else None
            for name, ph in phones.items():
                if ph.mac.c_rnti == rnti:
                    results[name].harq_acks_heard.append((k, ack))
            gw.receive(HarqAckRx(k, rnti, ack))

    def rar_origins() -> dict[int, tuple[int, int]]:
        """TC-RNTI -> (PRACH occasion, preamble) of the speculative RAR MAC RAR that gave it (the gateway's log)."""
        return {tc: (ev["occasion"], rapid) for _, what, ev in enb.log if what == "rar"
                for rapid, tc in zip(ev["rapids"], ev["tc_rntis"], strict=True)}

    def expected_late_s(rnti: int, k: int) -> float:
        """Where the gateway expects a connected handset's PUSCH of UL subframe k, s after the UL reference: the
        TA its preamble showed it needs less the TA it was told: the RAR's, Msg4's command (applied on receipt,
        mac/ue_ra.py) and the later TA commands (applied 6 subframes after their DL subframe, TS 36.213 4.2.3)."""
        occasion, rapid = rar_origins()[rnti]
        needed = detections.get(occasion, {}).get(rapid)
        if needed is None:
            return 0.0
        told = rar_ta_applied_s + ta_command_adjustment_s(ta_command_for(needed - ra_cfg.rar_ta_s))  # RAR, Msg4
        told += sum(ta_command_adjustment_s(t_a) for c_k, t_a in gw.connections[rnti].ta_commands
                    if c_k + TA_COMMAND_DELAY_SF <= k)
        return needed - told

    preamble_occasions = set(prach_occasions(ul_cell.prach.config_index, k0, k0 + total))

    # -- the loop, one gateway subframe at a time -------------------------------------------------------
    k_last = k0
    for j in range(k0, k0 + total):
        k_last = j
        # everything the gateway MAC acts on in DL j was heard by now (checked, not assumed)
        kk = j - late
        if kk >= k0 and (("pusch", kk) not in ul_done or (kk in preamble_occasions and ("prach", kk) not in ul_done)):
            raise RuntimeError(f"UL subframe {kk} was not received before DL {j}: the simulation broke causality")
        x = comp_dl.process(dl_subframe(j, mac_gw.downlink(j)), n_of(j))
        for name, y in relay.downlink(x, n_of(j)).items():
            ph = phones[name]
            ph.rx[n_of(j) - ph.c0:n_of(j + 1) - ph.c0] = y
            ph.rx_end = n_of(j + 1)
            if ph.cell is None and ph.rx_end >= n_of(k0) + math.ceil(d_s * 1000 + 13) * spf:
                c_s = n_of(k0) + math.ceil(d_s * 1000 + 1) * spf
                cell = read_cell(ph.rx[c_s - ph.c0:ph.rx_end - ph.c0], fs)
                ph.cell, ph.cfo_ul_hz = cell, cell.cfo_hz * f_ratio
                ph.frame_c = c_s + cell.timing_offset_samples
                k_est = (ph.frame_c - n_aos) / spf - d_s * 1000
                base = 10 * ((cell.sfn - cfg.cell.sfn_start) % 1024)
                ph.frame_k = base + 10240 * round((k_est - base) / 10240)
                ph.next_k = ph.frame_k + 1
                if ph.next_k + 1 > ph.ue.start_subframe:
                    raise ValueError(f"{name} found the cell at subframe {ph.frame_k}: start_after_sf must leave it "
                                     "time to start the random access after that")
                # the truth: the eNodeB sample heard at its frame start (relay, then the pre-compensation's warp)
                _, _, _, off = relay.dl_truth(name, np.array([ph.frame_c]))
                n_g = relay.n_ref + off
                tau_hat = comp_dl.track.evaluate(n_g)[0]
                r = results[name]
                r.dl_sinr_db = cell.sinr_db
                r.dl_timing_error_s = float((n_g[0] + (tau_hat[0] - d_s) * fs - n_of(ph.frame_k)) / fs)
            if ph.cell is not None:
                # a handset sends UL subframe k + 1 before it has heard DL k + 1 (it starts N_TA before it), so
                # its UL k + 1 is decided from what it decoded up to DL k
                while ph.dl_start(ph.next_k) + spf + _DL_MARGIN <= ph.rx_end:
                    phone_rx(ph, ph.next_k)
                    phone_tx(ph, ph.next_k + 1)
                    ph.next_k += 1
        # the UL, _UL_LAG_SF subframes behind: handsets -> relay -> post-compensation
        n_u = n_of(j - _UL_LAG_SF)
        blocks = {name: ph.tx[n_u - ph.c0:n_u - ph.c0 + spf] if n_u >= ph.c0 else np.zeros(spf, np.complex64)
                  for name, ph in phones.items()}
        y = comp_ul.process(relay.uplink(blocks, n_u), n_u)
        if n_u >= n_of(k0):
            ul_out[n_u - n_of(k0):n_u - n_of(k0) + spf] = y
        ul_end = n_u + spf
        for kk in range(max(k0, j - late - 4), j):
            gateway_rx(kk)
        if all(ph.mac.state in ("done", "connected", "failed") for ph in phones.values()):
            if not connect or not after_connected_sf:
                break
            last = max(ph.mac.connected_subframe or j for ph in phones.values())
            if all(ph.next_k > last + after_connected_sf for ph in phones.values()):
                break
    for name, ph in phones.items():
        results[name].state, results[name].log = ph.mac.state, list(ph.ue.log)
        if connect:
            res, mac = results[name], ph.mac
            conn = gw.connections.get(mac.c_rnti) if mac.c_rnti is not None else None
            res.c_rnti, res.connected_subframe = mac.c_rnti, mac.connected_subframe
            res.setup_complete_sent_subframe = mac.complete_sent_subframe
            res.n_ta_s = mac.n_ta_s
            if conn is not None:
                res.setup_complete_heard_subframe = conn.complete_heard_subframe
                res.nas_pdu_heard = conn.complete.dedicated_info_nas if conn.complete is not None else b""
                res.ta_commands = list(conn.ta_commands)
                if dl_data_policy is not None and conn.dl_first_subframe is not None:
                    heard_until = k_last - late - 4  # DL subframes whose HARQ-ACK the gateway has acted on
                    res.dl_data = {
                        "policy": dl_data_policy, "first_subframe": conn.dl_first_subframe,
                        "subframes": heard_until - conn.dl_first_subframe + 1, "new": conn.dl_new,
                        "transmissions": conn.dl_tx, "nack": conn.dl_nack, "dtx": conn.dl_dtx,
                        "delivered": conn.dl_delivered, "lost": conn.dl_lost, "tbs_bits": data_tbs,
                        "handset_delivered": len(mac.dl_dtch_seq), "handset_unique": len(set(mac.dl_dtch_seq)),
                        "acks_dropped": mac.acks_dropped,
                    }
                if ul_data_policy is not None and conn.data_first_subframe is not None:
                    heard_until = k_last - late  # UL subframes the gateway has decoded by the last DL subframe
                    res.ul_data = {
                        "policy": ul_data_policy, "first_subframe": conn.data_first_subframe,
                        "subframes": heard_until - conn.data_first_subframe + 1, "new": conn.data_new,
                        "transmissions": conn.data_tx, "failed": conn.data_failed_tx,
                        "delivered": conn.data_delivered, "lost": conn.data_lost, "bits": conn.data_bits,
                        "tbs_bits": gw.config.ul_grant(conn.c_rnti, 0, ul_data_i_mcs).tbs,
                    }
        results[name].ccch_dl = getattr(ph.ue, "ccch_dl", b"")
    el = float(elevation_deg(pred.sat, pred.beam, t_ref)[0])
    return RaWorldResult(t_ref, el, d_s, e_min, k0, k_last, results, list(enb.log))
