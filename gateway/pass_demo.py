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
starts them afresh and drops their warm-up (D plus a subframe). No CLI: `make run`'s pass demo builds
on this. A Rel-8 phone knows nothing about satellites: without pre-compensation its cell search
(+-25 kHz CFO range) cannot lock to a signal offset by the raw two-hop Doppler (~0.1-1 MHz).
"""

from __future__ import annotations

import math

import numpy as np

from channel import Handset, LinkBudget, RelayConfig, RelayEmulator
from gateway.cmd_plan import pass_residuals
from gateway.enodeb import ENodeB, combine_ports
from gateway.precomp import MODES, Compensator
from gateway.prediction import PassPrediction
from mac.ue_downlink import read_downlink
from orbit.passes import elevation_deg
from phy.numerology import numerology
from phy.ue import read_cell
from phy.ue.cell_search import CellNotFound
from phy.ue.downlink_rx import receive_downlink

__all__ = ["default_handsets", "pass_demo", "relay_config"]


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
            x = comp.process(combine_ports(enb.subframe(k).samples), n)
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
