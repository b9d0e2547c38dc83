"""In-process pass demo: the gateway's eNodeB -> DL pre-compensation -> the relay emulator -> handsets.

    from gateway.config import load_config
    from gateway.pass_demo import pass_demo
    rows = pass_demo(load_config("hw_configs/loopback.yaml"), seconds=3.0)   # one row per window and handset

Windows of `window_s` of signal every `step_s` over `seconds` around the selected pass's highest
elevation. Each window runs the whole chain on the stream's absolute sample clock (subframe k of the
stream leaves the gateway at sample round(AOS fs) + k spf, as `python -m gateway transmit` streams it):
ENodeB.subframe -> Compensator (link.precomp mode, or the `precomp` argument) -> channel.RelayEmulator
(the independent truth: two hops from the TLE, link budget, AWGN) -> per handset the phone's receiver
(phy.ue.read_cell: cell search, MIB, PCFICH, CFO, SINR; phy.ue.downlink_rx + mac.ue_downlink: PDCCH,
SIB1, PDSCH). The compensator and the relay are pure functions of the absolute time, so each window
starts them afresh and drops their warm-up (D plus a subframe). A Rel-8 phone knows nothing about
satellites: without pre-compensation its cell search (+-25 kHz CFO range) cannot lock to a signal
offset by the raw two-hop Doppler (~0.1-1 MHz).

`track_pass` is `make run`'s demo (gateway.cmd_run): the same chain, but each handset is a phone that
searches once and then tracks the cell (phy.ue.tracker.CellTracker) across the gaps between windows,
like a phone in DRX, with per-second KPIs against the geometry's prediction:

    sl = pass_slice(cfg, seconds=60.0, window_s=0.1)        # 61 windows of 100 ms, 1 s apart
    for rec in track_pass(cfg, sl):                          # one record per window, as it is computed
        print(rec["t_from_max_s"], rec["handsets"]["centre"]["cfo_hz"])

Its stages are separate functions on one sample plan (DemoPlan) so that they can run in other
processes: gateway_blocks (eNodeB -> Compensator), window_relay (the relay emulator of a window),
the phones in track_pass; in_process_windows chains the first two here, gateway.pass_topology's
ZmqTopology runs them as processes joined by ZeroMQ (the same samples, bit for bit).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from channel import Handset, LinkBudget, RelayConfig, RelayEmulator
from gateway.cmd_plan import pass_residuals
from gateway.enodeb import ENodeB
from gateway.precomp import MODES, Compensator
from gateway.prediction import PassPrediction
from mac.ue_downlink import read_downlink
from orbit.geometry import look_angles, offset_site
from orbit.passes import Pass, elevation_deg
from phy.numerology import numerology
from phy.ue import read_cell
from phy.ue.cell_search import CellNotFound
from phy.ue.downlink_rx import receive_downlink
from phy.ue.tracker import CellTracker

__all__ = [
    "DemoPlan", "PassSlice", "default_handsets", "demo_handsets", "demo_plan", "gateway_blocks", "in_process_windows",
    "pass_demo", "pass_slice", "relay_config", "ring_handset_names", "track_pass", "window_relay",
]


def relay_config(r) -> RelayConfig:
    """channel.RelayConfig from the profile's `relay:` section (gateway.config.RelayProfileConfig)."""
    budget = LinkBudget(
        eirp_density_dbw_mhz=r.eirp_density_dbw_mhz, beamwidth_3db_deg=r.beamwidth_3db_deg,
        beam_floor_db=r.beam_floor_db, sat_g_over_t_db_k=r.sat_g_over_t_db_k,
        handset_tx_power_dbm=r.handset_tx_power_dbm, handset_antenna_gain_dbi=r.handset_antenna_gain_dbi,
        handset_noise_figure_db=r.handset_noise_figure_db, polarization_loss_db=r.polarization_loss_db,
        scintillation_loss_db=r.scintillation_loss_db, atmospheric_loss_db=r.atmospheric_loss_db,
    )
    return RelayConfig(budget=budget, lo_drift_dl_hz_s=r.lo_drift_dl_hz_s, lo_drift_ul_hz_s=r.lo_drift_ul_hz_s,
                       fading=r.fading, delay_spread_s=r.delay_spread_s, awgn=r.awgn, seed=r.seed)


def default_handsets(pred: PassPrediction, r) -> list[Handset]:
    """One handset at the beam centre (Tokyo) and one at the profile's beam-edge point (24 km), crystals
    and speed from the `relay:` section (default: the edge phone 0.1 ppm fast, 77 Hz at 770 MHz, a
    phone's residual error after locking to a network)."""
    return [Handset("centre", pred.beam, r.centre_clock_ppm, r.handset_speed_m_s),
            Handset("edge", pred.edge, r.edge_clock_ppm, r.handset_speed_m_s)]


# Handsets beyond the first two sit on rings around the beam centre: RING_SIZE per ring, ring i (1, 2, ..)
# at i * RING_STEP_M, the first on each ring at the beam-edge azimuth + 30 deg (so that none lands on the
# edge handset), the others every 360 / RING_SIZE deg clockwise (seen from above: through east).
RING_SIZE = 6
RING_STEP_M = 12_000.0


def ring_handset_names(n_extra: int) -> list[str]:
    """Names of the ring handsets: 'r<i>-<j>' for handset j (0..RING_SIZE-1) of ring i (1, 2 ..)."""
    return [f"r{j // RING_SIZE + 1}-{j % RING_SIZE}" for j in range(n_extra)]


def demo_handsets(pred: PassPrediction, r, n: int) -> list[Handset]:
    """n handsets, deterministic: the beam centre and the beam edge (default_handsets), then n - 2 on
    rings (RING_SIZE per ring, ring i at i * RING_STEP_M = 12, 24, 36 .. km, azimuths edge + 30 + 60 j deg),
    their crystals alternating +- the edge phone's offset (|e| the same, so each ring spans both signs),
    speed from the `relay:` section. A handset > ~35 km out is beyond the 3.4 deg beam's -3 dB contour
    (its SNR falls with the beam pattern)."""
    if n < 1:
        raise ValueError(f"need at least one handset, got {n}")
    out = default_handsets(pred, r)[:n]
    edge_az = float(look_angles(pred.beam, pred.edge.ecef_m)[0][0])
    for j, name in enumerate(ring_handset_names(max(0, n - 2))):
        ring, pos = j // RING_SIZE + 1, j % RING_SIZE
        az = (edge_az + 30.0 + 360.0 / RING_SIZE * pos) % 360.0
        site = offset_site(pred.beam, ring * RING_STEP_M, az, name)
        ppm = r.edge_clock_ppm * (1 if j % 2 == 0 else -1)
        out.append(Handset(name, site, ppm, r.handset_speed_m_s))
    return out


def pass_demo(cfg, seconds: float = 3.0, step_s: float = 1.0, window_s: float = 0.06, precomp: str | None = None,
              handsets: list[Handset] | None = None, relay_settings: RelayConfig | None = None,
              decode_pdsch: bool = True) -> list[dict]:
    """KPI rows {window, t_from_max_s, elevation_deg, handset, found, ...} for each window and handset.

    handsets / relay_settings default to the profile's `relay:` section (see `default_handsets`)."""
    if not 0 < seconds <= 600 or not 0 < step_s or not 0.03 <= window_s <= 1.0:
        raise ValueError("pass_demo: seconds must be in (0, 600], step_s > 0 and window_s in [0.03, 1] s")
    mode = cfg.link.precomp if precomp is None else precomp
    if mode not in MODES:
        raise ValueError(f"precomp must be one of {MODES}, got {mode!r}")
    pred = PassPrediction.from_config(cfg)
    p = pred.select_pass()
    num = numerology(cfg.cell.n_rb_dl)
    fs, spf = num.sample_rate_hz, num.samples_per_subframe
    d_s = pred.target_delay_s(p, fs)
    handsets = handsets or default_handsets(pred, cfg.relay)
    relay_settings = relay_settings or relay_config(cfg.relay)
    track = pred.dl_track(fs)
    n_aos = round(p.aos_s * fs)
    warm = math.ceil(d_s * 1000) + 1  # subframes before the handsets hear a valid signal
    n_sf = warm + math.ceil(window_s * 1000)
    enb = ENodeB(cfg)
    c_rnti = cfg.scheduler.c_rntis[0] if cfg.scheduler.c_rntis else None
    rows = []
    n_windows = max(1, int(seconds / step_s + 1e-9) + 1)
    for w in range(n_windows):
        t_w = p.max_time_s - seconds / 2 + w * step_s
        k0 = round((t_w - p.aos_s) * 1000)
        comp = Compensator(track, d_s, mode, direction="dl")
        relay = RelayEmulator(pred.sat, pred.gateway, pred.beam, pred.carriers, handsets, cfg.cell.n_rb_dl, fs,
                              relay_settings)
        rx = {h.name: [] for h in handsets}
        for k in range(k0, k0 + n_sf):
            n = n_aos + k * spf
            x = comp.process(enb.antenna_subframe(k)[1], n)
            for name, y in relay.downlink(x, n).items():
                if k >= k0 + warm:
                    rx[name].append(y)
        c0 = n_aos + (k0 + warm) * spf  # handset counter of the first kept sample
        t_mid = (c0 + 0.5 * window_s * fs) / fs
        el = float(elevation_deg(pred.sat, pred.beam, t_mid)[0])
        for h in handsets:
            row = _handset_row(pred, track, relay, h, np.concatenate(rx[h.name]), n_aos, c0, fs, d_s, mode, c_rnti,
                               decode_pdsch)
            rows.append({"window": w, "t_from_max_s": t_w - p.max_time_s, "elevation_deg": el} | row)
    return rows


def _handset_row(pred, track, relay, h: Handset, y: np.ndarray, n_aos: int, c0: int, fs: float, d_s: float,
                 mode: str, c_rnti, decode_pdsch: bool) -> dict:
    t_rx = (c0 + y.size / 2) / fs
    _, delay, _, _ = relay.dl_truth(h.name, np.array([c0 + y.size // 2]))
    t_send = t_rx - delay[0]
    res_delay, res_cfo = pass_residuals(pred, track, h.site, np.array([t_send]))
    e = h.clock_ppm * 1e-6
    raw = pred.dl(np.array([t_send]), h.site)
    row = {
        "handset": h.name, "precomp": mode,
        # what the phone would see without pre-compensation: the two-hop Doppler (receive time) and its crystal
        "raw_doppler_hz": float(-raw.phase_rate_hz[0] / (1 + raw.delay_rate[0]) - pred.carriers.service_dl_hz * e),
        "raw_drift_ns_s": float(raw.delay_rate[0] / (1 + raw.delay_rate[0]) * 1e9),
        "budget_snr_db": float(relay.snr_db(h.name, np.array([t_rx]))[0]),
        # what a phone should see: the geometry's residual (pre-compensated) and its own crystal
        "expected_cfo_hz": float(res_cfo[0] - pred.carriers.service_dl_hz * e) if mode == "both" else None,
        "expected_delay_residual_ns": float(res_delay[0] * 1e9) if mode == "both" else None,
    }
    try:
        cell = read_cell(y, fs)
    except CellNotFound as err:
        return row | {"found": False, "reason": str(err)[:120]}
    row |= {"found": True, "pci": cell.pci, "sfn": cell.sfn, "cfi": cell.cfi, "cfo_hz": cell.cfo_hz,
            "sinr_db": cell.sinr_db, "rsrp_dbfs": cell.rsrp_dbfs}
    if mode == "both":
        # the gateway's frames start at n_aos + 10 j spf; the handset hears them D + residual later
        frame = int(round(0.01 * fs))
        expected = (n_aos + (d_s + res_delay[0]) * fs - c0) % frame
        row["timing_error_samples"] = float((cell.timing_offset_samples - expected + frame / 2) % frame - frame / 2)
    if decode_pdsch:
        dl = read_downlink(receive_downlink(y, fs, cell, c_rnti=c_rnti), c_rnti)
        row |= {"sib1_ok": dl.sib1_ok, "sib1_tx": dl.sib1_tx, "bler": dl.bler}
    return row


# -- the tracking demo (`python -m gateway run`) ---------------------------------------------------------

# Radio link monitoring: out of sync below Qout, the SINR at which a hypothetical PDCCH (DCI 1A,
# aggregation 8) would have 10 % BLER, about -8 dB per RE (TS 36.133 7.6.1, TS 36.213 4.2.1)
Q_OUT_SINR_DB = -8.0
# consecutive out-of-sync windows before the phone declares radio link failure and searches again
# (a short N310; TS 36.331 7.3 allows 1..20 indications)
N_OUT_OF_SYNC = 2


@dataclass
class PassSlice:
    """What a tracking run covers: windows of `window_s` of signal every `step_s`, `n_windows` of them,
    the first centred at `first_from_max_s` seconds from the pass's highest elevation."""

    pass_: Pass
    step_s: float
    window_s: float
    n_windows: int
    first_from_max_s: float

    @property
    def duty_cycle(self) -> float:
        return self.window_s / self.step_s


class _Phone:
    """One Rel-8 handset: blind cell search until it finds the cell, then the tracking receiver
    (phy.ue.tracker.CellTracker) carried across the DRX gaps; radio link failure after N_OUT_OF_SYNC
    out-of-sync windows sends it back to cell search."""

    def __init__(self, handset: Handset, interval_s: float, c_rnti: int | None, decode_pdsch: bool):
        self.handset, self.interval_s = handset, interval_s
        self.c_rnti = c_rnti if decode_pdsch else None
        self.tracker: CellTracker | None = None
        self.out_of_sync = 0
        self.cell = None

    def window(self, y: np.ndarray, c0: int, fs: float) -> dict:
        """Feed one window (handset counter c0 ..); returns its KPIs."""
        acquired = False
        if self.tracker is None:
            try:
                cell = read_cell(y, fs)  # the initial (or post-RLF) blind search: PSS/SSS, PBCH
            except CellNotFound as err:
                return {"state": "search", "reason": str(err)[:160]}
            self.cell, acquired = cell, True
            self.tracker = CellTracker(
                cell.pci, cell.n_rb_dl, cell.n_ports, cell.sfn, c0 + cell.timing_offset_samples, cell.cfo_hz,
                interval_s=self.interval_s, measure_every=5, phich_duration=cell.phich_duration,
                phich_resource=cell.phich_resource, c_rnti=self.c_rnti, all_mibs=True,
            )
        points = self.tracker.push(y, start=c0)
        if not points:
            return {"state": "sync", "acquired": acquired, "reason": "no whole interval in the window"}
        pt = points[-1]
        in_sync = pt.sinr_db > Q_OUT_SINR_DB and pt.mib_decoded > 0
        self.out_of_sync = 0 if in_sync else self.out_of_sync + 1
        state = "sync" if in_sync else "out-of-sync"
        if self.out_of_sync >= N_OUT_OF_SYNC:
            state, self.tracker, self.out_of_sync = "lost", None, 0
        return {"state": state, "acquired": acquired, "point": pt}


def pass_slice(cfg, seconds: float = 60.0, step_s: float = 1.0, window_s: float = 0.04,
               whole_pass: bool = False) -> PassSlice:
    """The windows of a run: `seconds` around the selected pass's highest elevation, or the whole pass."""
    if not 0.01 <= window_s <= step_s:
        raise ValueError(f"window_s must be in [0.01, step_s = {step_s}] s, got {window_s}")
    p = PassPrediction.from_config(cfg).select_pass()
    if whole_pass:
        seconds = p.duration_s - 2 * step_s  # the first and last second are at the horizon mask
    if not 0 <= seconds <= p.duration_s:
        raise ValueError(f"seconds must be in [0, {p.duration_s:.0f}] (the pass), got {seconds}")
    n = int(seconds / step_s + 1e-9) + 1
    first = (p.aos_s + p.los_s) / 2 - p.max_time_s - (n - 1) * step_s / 2 if whole_pass else -(n - 1) * step_s / 2
    return PassSlice(p, step_s, window_s, n, first)


@dataclass(frozen=True)
class DemoPlan:
    """The sample clock of a tracking run, shared by its stages (gateway, relay, handsets) whether they
    run in one process or three: window w runs gateway subframes k0(w) .. k0(w) + warm + n_keep - 1 on
    the stream's absolute counter (subframe k leaves at n_aos + k spf); the handsets keep the last n_keep
    (the first `warm` are the relay's fill, D plus a subframe); the relay's handset clocks are aligned at
    n_ref, the first sample of window 0."""

    mode: str
    sample_rate_hz: float
    spf: int
    d_s: float
    n_aos: int
    warm: int
    n_keep: int
    n_interval: int
    k0: tuple[int, ...]

    @property
    def n_windows(self) -> int:
        return len(self.k0)

    @property
    def subframes_per_window(self) -> int:
        return self.warm + self.n_keep

    def first_sample(self, w: int) -> int:
        """Gateway counter of window w's first sample."""
        return self.n_aos + self.k0[w] * self.spf

    def kept_sample(self, w: int) -> int:
        """Handset counter of window w's first kept sample."""
        return self.first_sample(w) + self.warm * self.spf

    @property
    def n_ref(self) -> int:
        return self.first_sample(0)


def demo_plan(cfg, sl: PassSlice, precomp: str | None = None, pred: PassPrediction | None = None) -> DemoPlan:
    """The DemoPlan of slice `sl` (precomp: a gateway.precomp mode, default the profile's link.precomp)."""
    mode = cfg.link.precomp if precomp is None else precomp
    if mode not in MODES:
        raise ValueError(f"precomp must be one of {MODES}, got {mode!r}")
    pred = pred or PassPrediction.from_config(cfg)
    p = sl.pass_
    num = numerology(cfg.cell.n_rb_dl)
    fs = num.sample_rate_hz
    d_s = pred.target_delay_s(p, fs)
    n_interval = max(4, round(sl.window_s * 1000))  # tracked subframes per window
    k0 = tuple(round((p.max_time_s + sl.first_from_max_s + w * sl.step_s - p.aos_s) * 1000)
               for w in range(sl.n_windows))
    return DemoPlan(mode, fs, num.samples_per_subframe, d_s, round(p.aos_s * fs), math.ceil(d_s * 1000) + 1,
                    n_interval + 1, n_interval, k0)  # n_keep: the interval lies wholly inside the kept signal


def gateway_blocks(cfg, plan: DemoPlan, pred: PassPrediction | None = None) -> Iterator[tuple[int, int, np.ndarray]]:
    """The gateway stage: (window, counter n, pre-compensated subframe (spf,) complex64) for every subframe
    of every window (ENodeB -> Compensator started afresh at each window: a pure function of time)."""
    pred = pred or PassPrediction.from_config(cfg)
    track = pred.dl_track(plan.sample_rate_hz)
    enb = ENodeB(cfg)
    for w in range(plan.n_windows):
        comp = Compensator(track, plan.d_s, plan.mode, direction="dl")
        for j in range(plan.subframes_per_window):
            n = plan.first_sample(w) + j * plan.spf
            yield w, n, comp.process(enb.antenna_subframe(plan.k0[w] + j)[1], n)


def window_relay(cfg, plan: DemoPlan, w: int, handsets: list[Handset], settings: RelayConfig,
                 pred: PassPrediction | None = None) -> RelayEmulator:
    """The relay emulator of window w: started afresh (its warm-up is the window's first `warm` subframes),
    fresh noise (seed + 7919 w), the handsets' clocks aligned at plan.n_ref."""
    pred = pred or PassPrediction.from_config(cfg)
    relay = RelayEmulator(pred.sat, pred.gateway, pred.beam, pred.carriers, handsets, cfg.cell.n_rb_dl,
                          plan.sample_rate_hz, dataclasses.replace(settings, seed=settings.seed + 7919 * w))
    relay.n_ref = plan.n_ref
    return relay


def in_process_windows(cfg, plan: DemoPlan, handsets: list[Handset], settings: RelayConfig,
                       pred: PassPrediction | None = None) -> Iterator[tuple[int, dict[str, np.ndarray]]]:
    """Gateway and relay in this process: (w, {handset: its kept samples of window w}) per window."""
    pred = pred or PassPrediction.from_config(cfg)
    relay, rx = None, {}
    for w, n, x in gateway_blocks(cfg, plan, pred):
        if n == plan.first_sample(w):
            relay, rx = window_relay(cfg, plan, w, handsets, settings, pred), {h.name: [] for h in handsets}
        for name, y in relay.downlink(x, n).items():
            if n >= plan.kept_sample(w):
                rx[name].append(y)
        if n == plan.first_sample(w) + (plan.subframes_per_window - 1) * plan.spf:
            yield w, {name: np.concatenate(v) for name, v in rx.items()}


def track_pass(cfg, sl: PassSlice, precomp: str | None = None, handsets: list[Handset] | None = None,
               relay_settings: RelayConfig | None = None, decode_pdsch: bool = True, source=None,
               taps: dict | None = None) -> Iterator[dict]:
    """The tracking demo, one record per window: {window, t_from_max_s, elevation_deg, handsets: {name:
    KPIs}}. Each window runs the chain (eNodeB -> Compensator -> RelayEmulator, started afresh at the
    window, its warm-up dropped, the relay's handset clocks aligned once at the first window) and hands
    each phone the window; the phone searches once, then tracks across the gaps like a phone in DRX.

    source: where the handsets' windows come from, a callable (plan, handsets, settings) -> iterator of
    (w, {name: kept samples}); default in_process_windows (gateway and relay in this process); the
    ZeroMQ topology (gateway.pass_topology.ZmqTopology) gives the same samples from two other processes.
    taps: {handset name: radio} each kept window is also sent to, tx(y, timestamp=its counter) (a
    radio_drivers.SigMFRecorder records what that phone hears).

    KPIs per handset: state (search | sync | out-of-sync | lost), cfo_hz, timing_ns (against the first
    lock), drift_ns_s (over the gap), delay_residual_ns (measured frame timing minus the gateway's
    send time and D, handset clock corrected), rsrp_dbfs, sinr_db, mib/sib1 decoded and sent, PDSCH
    blocks, bler, throughput_bps (bits that passed their CRC per second of tracked signal), and the
    geometry's expectations (expected_cfo_hz, expected_delay_residual_ns with pre-compensation both,
    raw_doppler_hz, raw_drift_ns_s, budget_snr_db)."""
    pred = PassPrediction.from_config(cfg)
    plan = demo_plan(cfg, sl, precomp, pred)
    mode, p = plan.mode, sl.pass_
    fs, spf, d_s, n_aos, n_keep = plan.sample_rate_hz, plan.spf, plan.d_s, plan.n_aos, plan.n_keep
    handsets = handsets or default_handsets(pred, cfg.relay)
    settings = relay_settings or relay_config(cfg.relay)
    track = pred.dl_track(fs)
    truth_relay = window_relay(cfg, plan, 0, handsets, settings, pred)  # the geometry only: no samples
    n_ref = plan.n_ref
    c_rnti = cfg.scheduler.c_rntis[0] if cfg.scheduler.c_rntis else None
    phones = {h.name: _Phone(h, plan.n_interval / 1000, c_rnti, decode_pdsch) for h in handsets}
    windows = (source or _in_process_source(cfg, pred))(plan, handsets, settings)
    for w, rx in windows:
        t_w = p.max_time_s + sl.first_from_max_s + w * sl.step_s
        c0 = plan.kept_sample(w)
        t_mid = (c0 + 0.5 * n_keep * spf) / fs
        el = float(elevation_deg(pred.sat, pred.beam, t_mid)[0])
        kpis = {}
        for h in handsets:
            if taps and h.name in taps:
                taps[h.name].tx(rx[h.name], timestamp=c0)
            truth = _truth(pred, track, truth_relay, h, c0 + n_keep * spf // 2, fs, mode)
            out = phones[h.name].window(rx[h.name], c0, fs)
            pt = out.pop("point", None)
            if pt is not None:
                e = h.clock_ppm * 1e-6
                # true receive time of the tracked subframe start, then the gateway subframe it belongs to
                t_rx = n_ref / fs + (pt.position_samples - n_ref) / (fs * (1 + e))
                base = 10 * ((phones[h.name].cell.sfn - cfg.cell.sfn_start) % 1024) + pt.subframe
                k_est = (t_rx - d_s) * 1000 - n_aos / spf
                k_sent = base + 10240 * round((k_est - base) / 10240)  # SFN wraps every 10.24 s
                out |= {
                    "cfo_hz": pt.cfo_hz, "timing_ns": pt.timing_ns, "drift_ns_s": pt.drift_ns_s,
                    "delay_residual_ns": (t_rx - (n_aos + k_sent * spf) / fs - d_s) * 1e9,
                    "rsrp_dbfs": pt.rsrp_dbfs, "sinr_db": pt.sinr_db, "cfi": pt.cfi,
                    "mib_decoded": pt.mib_decoded, "mib_sent": pt.mib_sent,
                    "sib1_decoded": pt.sib1_decoded, "sib1_sent": pt.sib1_sent,
                    "pdsch_blocks": pt.user_blocks, "bler": pt.bler,
                    "throughput_bps": pt.user_bits / (pt.subframes * 1e-3),
                }
            kpis[h.name] = out | truth
        yield {"window": w, "t_from_max_s": t_w - p.max_time_s, "elevation_deg": el, "handsets": kpis}


def _in_process_source(cfg, pred):
    def source(plan, handsets, settings):
        return in_process_windows(cfg, plan, handsets, settings, pred)
    return source


def _truth(pred, track, relay, h: Handset, c_mid: int, fs: float, mode: str) -> dict:
    """The geometry's view of handset h at its counter c_mid: raw two-hop Doppler and drift (what a phone
    would see without pre-compensation), the residual CFO / delay it should see with it, budget SNR."""
    t_rx, delay, _, _ = relay.dl_truth(h.name, np.array([c_mid]))
    t_send = t_rx - delay
    res_delay, res_cfo = pass_residuals(pred, track, h.site, t_send)
    e = h.clock_ppm * 1e-6
    raw = pred.dl(t_send, h.site)
    both = mode == "both"
    return {
        "raw_doppler_hz": float(-raw.phase_rate_hz[0] / (1 + raw.delay_rate[0]) - pred.carriers.service_dl_hz * e),
        "raw_drift_ns_s": float(raw.delay_rate[0] / (1 + raw.delay_rate[0]) * 1e9),
        "budget_snr_db": float(relay.snr_db(h.name, t_rx)[0]),
        "expected_cfo_hz": float(res_cfo[0] - pred.carriers.service_dl_hz * e) if both else None,
        "expected_delay_residual_ns": float(res_delay[0] * 1e9) if both else None,
    }
