"""`python -m gateway plan --config PROFILE [--passes N] [--out plan.png]`: next passes and link budget plots.

Prints the next joint passes (gateway and beam centre above their minimum elevations), then for the
pass selected by orbit.pass_index: target delay D, elevation, two-hop delay, Doppler (feeder, service,
total), Doppler rate, and the residual delay/Doppler after pre-compensation at the beam centre and at
the beam-edge point (orbit.edge_distance_m away). Writes a PNG (matplotlib, Agg).
"""

from __future__ import annotations

import argparse
from datetime import timedelta
from pathlib import Path

import numpy as np

from gateway.cli_args import non_negative_int

__all__ = ["register", "run_plan", "pass_residuals"]


def register(subparsers) -> None:
    p = subparsers.add_parser("plan", help="predict passes, delay and Doppler; plot the chosen pass")
    p.add_argument("--config", default="hw_configs/loopback.yaml", help="YAML profile")
    p.add_argument("--passes", type=non_negative_int, default=5, help="how many passes to list (>= 0)")
    p.add_argument("--out", default="plan.png", help="PNG to write ('' for none)")
    p.set_defaults(func=run_plan)


def pass_residuals(sc, track, site, t_s: np.ndarray):
    """Residual delay (s) and Doppler (Hz) seen at `site` when the DL is pre-compensated with `track`.

    The site receives x(t_rx - D - dtau) exp(j 2 pi dphi) with dtau = tau_site(t) - tau_hat(t) and
    dphi = phi_hat(t) - phi_site(t) at gateway send time t; its frequency offset is
    d(dphi)/dt_rx = (phi_hat' - phi_site') / (1 + tau_site').
    """
    from orbit.relay import relay_dl

    r = relay_dl(sc.gateway, sc.sat, site, t_s, sc.carriers)
    tau_hat, _, _, dphi_hat = track.evaluate(t_s * track.fs)
    return r.delay_s - tau_hat, (dphi_hat - r.phase_rate_hz) / (1.0 + r.delay_rate)


def run_plan(args: argparse.Namespace) -> int:
    from gateway.config import load_config
    from gateway.prediction import PassPrediction
    from orbit.geometry import hop_geometry
    from orbit.relay import relay_dl

    cfg = load_config(args.config)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)  # a bad --out fails now, not after the plan
    sc = PassPrediction.from_config(cfg)
    o, c = cfg.orbit, sc.carriers
    print(f"satellite {sc.tle.name or sc.tle.norad_id} (NORAD {sc.tle.norad_id}), TLE epoch "
          f"{sc.tle.epoch_utc:%Y-%m-%d %H:%M:%S} UTC; search from {sc.epoch_utc:%Y-%m-%d %H:%M:%S} UTC")
    print(f"gateway {sc.gateway.lat_deg:.4f} N {sc.gateway.lon_deg:.4f} E (min el {o.gateway_min_elevation_deg:g}), "
          f"beam centre {sc.beam.lat_deg:.4f} N {sc.beam.lon_deg:.4f} E (min el {o.beam_min_elevation_deg:g})")
    print(f"carriers: feeder up {c.feeder_uplink_hz / 1e9:g} GHz, service DL {c.service_dl_hz / 1e6:g} MHz, "
          f"LO_dl {c.lo_dl_hz / 1e9:.4f} GHz; service UL {c.service_ul_hz / 1e6:g} MHz, "
          f"feeder down {c.feeder_downlink_hz / 1e9:g} GHz")
    passes = sc.passes()
    print("\n  #  AOS (UTC)            LOS       dur(s)  max el gw/beam (deg)")
    for i, p in enumerate(passes[: args.passes]):
        aos = sc.epoch_utc + timedelta(seconds=p.aos_s)
        los = sc.epoch_utc + timedelta(seconds=p.los_s)
        mark = "*" if i == o.pass_index else " "
        print(f" {mark}{i:2d}  {aos:%Y-%m-%d %H:%M:%S}  {los:%H:%M:%S}  {p.duration_s:6.0f}  "
              f"{p.max_elevation_deg[0]:5.1f} / {p.max_elevation_deg[1]:5.1f}")
    p = sc.select_pass()
    from phy.numerology import numerology

    fs = numerology(cfg.cell.n_rb_dl).sample_rate_hz
    d = sc.target_delay_s(p, fs)
    t = np.linspace(p.aos_s, p.los_s, 400)
    r = relay_dl(sc.gateway, sc.sat, sc.beam, t, c)
    feeder = hop_geometry(sc.gateway, sc.sat, t, c.feeder_uplink_hz, fixed="rx", ground=sc.gateway)
    service = hop_geometry(sc.sat, sc.beam, t, c.service_dl_hz, fixed="rx", ground=sc.beam)
    track = sc.dl_track(fs)
    res_c = pass_residuals(sc, track, sc.beam, t)
    res_e = pass_residuals(sc, track, sc.edge, t)
    total_doppler = -r.phase_rate_hz / (1 + r.delay_rate)
    print(f"\npass {o.pass_index}: target delay D = {d * 1e3:.3f} ms (two-hop delay "
          f"{r.delay_s.min() * 1e3:.3f} .. {r.delay_s.max() * 1e3:.3f} ms)")
    print(f"  Doppler feeder {np.abs(feeder.doppler_hz).max() / 1e3:.1f} kHz, service "
          f"{np.abs(service.doppler_hz).max() / 1e3:.2f} kHz, "
          f"total {np.abs(total_doppler).max() / 1e3:.1f} kHz (max |.|)")
    print(f"  residual at beam centre: delay {np.abs(res_c[0]).max() * 1e9:.3f} ns, "
          f"Doppler {np.abs(res_c[1]).max():.4f} Hz (max |.|)")
    print(f"  residual at {o.edge_distance_m / 1e3:g} km: delay {res_e[0].min() * 1e9:.1f} .. "
          f"{res_e[0].max() * 1e9:.1f} ns, Doppler {res_e[1].min():.1f} .. {res_e[1].max():.1f} Hz")
    if args.out:
        _plot(args.out, t - p.aos_s, feeder, service, r, total_doppler, res_c, res_e, d, o.edge_distance_m)
        print(f"wrote {args.out}")
    return 0


def _plot(path, t, feeder, service, r, total_doppler, res_c, res_e, d, edge_m) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(3, 2, figsize=(12, 10), sharex=True)
    ax[0, 0].plot(t, feeder.elevation_deg, label="gateway (feeder)")
    ax[0, 0].plot(t, service.elevation_deg, label="beam centre (service)")
    ax[0, 0].set_ylabel("elevation (deg)")
    ax[0, 1].plot(t, r.delay_s * 1e3, label="two-hop delay")
    ax[0, 1].axhline(d * 1e3, color="k", ls="--", label=f"D = {d * 1e3:.3f} ms")
    ax[0, 1].set_ylabel("delay (ms)")
    ax[1, 0].plot(t, feeder.doppler_hz / 1e3, label="feeder")
    ax[1, 0].plot(t, service.doppler_hz / 1e3, label="service")
    ax[1, 0].plot(t, total_doppler / 1e3, label="total (two-hop)")
    ax[1, 0].set_ylabel("Doppler (kHz)")
    ax[1, 1].plot(t, feeder.doppler_rate_hz_s, label="feeder")
    ax[1, 1].plot(t, service.doppler_rate_hz_s, label="service")
    ax[1, 1].set_ylabel("Doppler rate (Hz/s)")
    ax[2, 0].plot(t, res_c[0] * 1e9, label="beam centre")
    ax[2, 0].plot(t, res_e[0] * 1e9, label=f"{edge_m / 1e3:g} km away")
    ax[2, 0].set_ylabel("residual delay (ns)")
    ax[2, 1].plot(t, res_c[1], label="beam centre")
    ax[2, 1].plot(t, res_e[1], label=f"{edge_m / 1e3:g} km away")
    ax[2, 1].set_ylabel("residual Doppler (Hz)")
    for a in ax.flat:
        a.grid(True, alpha=0.3)
        a.legend(fontsize=8)
    for a in ax[2]:
        a.set_xlabel("time since AOS (s)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
