"""`python -m gateway feasibility --config PROFILE [--step 1] [--bler 0.1] [--json]`: random access and HARQ
over the selected pass, per second (issue 15).

For each instant t of the pass (gateway DL send time, step --step s):
- the round trip the gateway's UL timeline has: 2D with the pre/post-compensation (constant), and the raw
  two-hop DL + UL delay at the beam centre (what a gateway without delay compensation would have);
- whether a causal RAR (sent after hearing the preamble) fits the Rel-8 window for each (mac.ra_feasibility);
- the timing advance the beam-centre and beam-edge handsets (gateway.pass_demo.default_handsets) need when
  the UL reference is the earliest arrival over the beam (centre and a ring at orbit.edge_distance_m);
- the DL and UL HARQ throughput fractions at --bler, stop-and-wait and keep-sending.
Prints a table and a summary, or JSON with --json.
"""

from __future__ import annotations

import argparse
import json
import math

import numpy as np

from gateway.cli_args import positive_seconds

__all__ = ["pass_feasibility", "register", "run_feasibility"]

_RING_POINTS = 16  # beam-edge ring sampled every 22.5 deg to find the point heard first


def _bler(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: give a block error rate in [0, 1)")
    return value


def _window(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value not in (2, 3, 4, 5, 6, 7, 8, 10):
        raise argparse.ArgumentTypeError(f"{text!r}: ra-ResponseWindowSize is one of 2..8, 10 (TS 36.331)")
    return value


def register(subparsers) -> None:
    p = subparsers.add_parser("feasibility", help="per-second random access / timing advance / HARQ report of a pass")
    p.add_argument("--config", default="hw_configs/loopback.yaml", help="YAML profile")
    p.add_argument("--step", type=positive_seconds, default=1.0, help="seconds between rows (default 1)")
    p.add_argument("--bler", type=_bler, default=0.1, help="block error rate per HARQ transmission (default 0.1)")
    p.add_argument("--window", type=_window, default=10, help="ra-ResponseWindowSize in subframes (default 10)")
    p.add_argument("--processing-ms", type=float, default=2.0,
                   help="gateway time from hearing a preamble's end to sending its RAR (default 2 ms)")
    p.add_argument("--json", action="store_true", help="print JSON (summary and rows) instead of the table")
    p.set_defaults(func=run_feasibility)


def pass_feasibility(cfg, step_s: float = 1.0, bler: float = 0.1, window_sf: int = 10,
                     enb_processing_s: float = 2e-3) -> dict:
    """{'summary': {...}, 'rows': [{...} per instant]} for the profile's selected pass (see the module doc)."""
    from gateway.pass_demo import default_handsets
    from gateway.prediction import PassPrediction
    from mac.ra_feasibility import (
        causal_rar_fits,
        causal_rar_max_round_trip_s,
        harq_fractions,
        timing_advances_s,
    )
    from mac.rar import rar_timing_advance
    from orbit.geometry import offset_site
    from orbit.passes import elevation_deg
    from phy.numerology import numerology

    pred = PassPrediction.from_config(cfg)
    p = pred.select_pass()
    fs = numerology(cfg.cell.n_rb_dl).sample_rate_hz
    d_s = pred.target_delay_s(p, fs)
    t = np.arange(math.ceil(p.aos_s), p.los_s, step_s)
    el = elevation_deg(pred.sat, pred.beam, t)
    el_gw = elevation_deg(pred.sat, pred.gateway, t)
    dl_c = pred.dl(t)
    # raw round trip: the handset answers at once (TA 0) what it heard tau_dl after the gateway sent it
    rtt_raw = dl_c.delay_s + pred.ul(t + dl_c.delay_s).delay_s
    rtt_2d = np.full_like(t, 2 * d_s)

    # residual round trip of each point after the beam-centre pre/post-compensation: the point hears the DL
    # D + res_dl late and sends its UL then (about t + D), which reaches the gateway res_ul after the centre's
    ul_c = pred.ul(t + d_s)
    handsets = default_handsets(pred, cfg.relay)
    ring = [offset_site(pred.beam, cfg.orbit.edge_distance_m, az, f"ring {az:g}")
            for az in np.arange(_RING_POINTS) * 360.0 / _RING_POINTS]
    sites = [h.site for h in handsets] + ring
    extra = np.stack([(pred.dl(t, s).delay_s - dl_c.delay_s) + (pred.ul(t + d_s, s).delay_s - ul_c.delay_s)
                      for s in sites], axis=-1)
    ta = timing_advances_s(extra)
    fits_raw = causal_rar_fits(rtt_raw, window_sf, enb_processing_s)
    fits_2d = causal_rar_fits(rtt_2d, window_sf, enb_processing_s)
    h2d = harq_fractions(2 * d_s, bler)
    rows = []
    for i, ti in enumerate(t):
        h_raw = harq_fractions(rtt_raw[i], bler)
        row = {
            "t_from_aos_s": float(ti - p.aos_s), "elevation_deg": float(el[i]),
            "gateway_elevation_deg": float(el_gw[i]),
            "round_trip_2d_s": float(rtt_2d[i]), "round_trip_raw_s": float(rtt_raw[i]),
            "causal_rar_fits_2d": bool(fits_2d[i]), "causal_rar_fits_raw": bool(fits_raw[i]),
            "ta_beam_max_s": float(ta[i].max()),
            "dl_stop_and_wait_2d": h2d.dl_stop_and_wait, "ul_stop_and_wait_2d": h2d.ul_stop_and_wait,
            "dl_stop_and_wait_raw": h_raw.dl_stop_and_wait, "ul_stop_and_wait_raw": h_raw.ul_stop_and_wait,
            "dl_keep_sending": h2d.dl_keep_sending, "ul_keep_sending": h2d.ul_keep_sending,
        }
        for j, h in enumerate(handsets):
            row[f"ta_{h.name}_s"] = float(ta[i, j])
            row[f"t_a_{h.name}"] = rar_timing_advance(float(ta[i, j]))  # RAR T_A field (16 T_s units)
        rows.append(row)

    def el_range(mask):
        return [float(el[mask].min()), float(el[mask].max())] if mask.any() else None

    summary = {
        "pass_index": cfg.orbit.pass_index, "aos_s": p.aos_s, "los_s": p.los_s,
        "max_elevation_deg": float(p.max_elevation_deg[1]), "target_delay_s": d_s, "round_trip_2d_s": 2 * d_s,
        "round_trip_raw_s": [float(rtt_raw.min()), float(rtt_raw.max())],
        "ra_response_window_sf": window_sf, "enb_processing_s": enb_processing_s, "bler": bler,
        "causal_rar_max_round_trip_s": causal_rar_max_round_trip_s(window_sf, enb_processing_s),
        "causal_rar_fits_2d_seconds": int(fits_2d.sum()), "causal_rar_fits_raw_seconds": int(fits_raw.sum()),
        "causal_rar_raw_elevation_deg": el_range(fits_raw), "n_rows": len(rows),
        "ta_beam_max_s": float(ta.max()),
        **{f"ta_{h.name}_s": [float(ta[:, j].min()), float(ta[:, j].max())] for j, h in enumerate(handsets)},
        "harq_2d": h2d.__dict__,
    }
    return {"summary": summary, "rows": rows}


def run_feasibility(args: argparse.Namespace) -> int:
    from gateway.cli_args import UserError
    from gateway.config import load_config

    if not 0 <= args.processing_ms <= 10:
        raise UserError(f"--processing-ms {args.processing_ms:g}: give 0 .. 10 ms")
    cfg = load_config(args.config)
    report = pass_feasibility(cfg, args.step, args.bler, args.window, args.processing_ms * 1e-3)
    if args.json:
        print(json.dumps(report, indent=1))
        return 0
    s, rows = report["summary"], report["rows"]
    names = [k[3:-2] for k in rows[0] if k.startswith("ta_") and k.endswith("_s") and k != "ta_beam_max_s"]
    head = "  t(s)  el(deg)  2D(ms)  raw RTT(ms)  causal 2D/raw  " + "  ".join(f"TA {n}(us) [T_A]" for n in names)
    print(head + "  DL saw 2D/raw  UL saw 2D/raw  keep")
    for r in rows:
        tas = "  ".join(f"{r[f'ta_{n}_s'] * 1e6:8.2f} [{r[f't_a_{n}']:4d}]" for n in names)
        print(f"{r['t_from_aos_s']:6.0f}  {r['elevation_deg']:6.2f}  {r['round_trip_2d_s'] * 1e3:6.3f}  "
              f"{r['round_trip_raw_s'] * 1e3:10.3f}   {'yes' if r['causal_rar_fits_2d'] else ' no'} / "
              f"{'yes' if r['causal_rar_fits_raw'] else ' no'}      {tas}   "
              f"{r['dl_stop_and_wait_2d']:.3f}/{r['dl_stop_and_wait_raw']:.3f}  "
              f"{r['ul_stop_and_wait_2d']:.3f}/{r['ul_stop_and_wait_raw']:.3f}  {r['dl_keep_sending']:.3f}")
    h = s["harq_2d"]
    er = s["causal_rar_raw_elevation_deg"]
    print(f"\npass {s['pass_index']}: max elevation {s['max_elevation_deg']:.2f} deg; "
          f"D = {s['target_delay_s'] * 1e3:.3f} ms, "
          f"2D = {s['round_trip_2d_s'] * 1e3:.3f} ms; raw round trip {s['round_trip_raw_s'][0] * 1e3:.3f} .. "
          f"{s['round_trip_raw_s'][1] * 1e3:.3f} ms")
    print(f"causal RAR (W = {s['ra_response_window_sf']}, processing {s['enb_processing_s'] * 1e3:g} ms) needs a round "
          f"trip <= {s['causal_rar_max_round_trip_s'] * 1e3:.3f} ms: with 2D in {s['causal_rar_fits_2d_seconds']} of "
          f"{s['n_rows']} rows; without delay compensation in {s['causal_rar_fits_raw_seconds']} rows"
          + (f", beam elevation {er[0]:.2f} .. {er[1]:.2f} deg" if er else ""))
    print("timing advance (UL reference = earliest arrival over the beam): "
          + ", ".join(f"{n} {s[f'ta_{n}_s'][0] * 1e6:.2f} .. {s[f'ta_{n}_s'][1] * 1e6:.2f} us" for n in names)
          + f"; beam max {s['ta_beam_max_s'] * 1e6:.2f} us (limit 667.7 us)")
    print(f"HARQ at 2D, BLER {s['bler']:g}: DL stop-and-wait {h['dl_stop_and_wait']:.3f} "
          f"(RTT {h['dl_harq_rtt_sf']} sf), "
          f"keep sending {h['dl_keep_sending']:.3f} (residual {h['residual_dl_keep_sending']:.1e}); UL stop-and-wait "
          f"{h['ul_stop_and_wait']:.3f} (RTT {h['ul_harq_rtt_sf']} sf), keep sending {h['ul_keep_sending']:.3f} "
          f"(MAC residual {h['residual_ul_keep_sending']:.2f}, left to RLC)")
    return 0
