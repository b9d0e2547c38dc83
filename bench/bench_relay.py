"""Relay emulator (channel.relay) throughput per handset (Msps, one core) and real-time factor at 5 and
20 MHz, without fading and with NTN-TDL-C, downlink and uplink (20 consecutive 1 ms blocks, best of 3);
the tracking handset's real-time factor (phy.ue.tracker.CellTracker on the pre-compensated relay output
at the beam centre: timing loop, AFC, CFI, every MIB and SIB1, the C-RNTI's PDSCH in every subframe);
and the wall time of `make run`'s default slice (gateway.pass_demo.track_pass, both handsets, then the
pre-compensation-off comparison), as `python -m gateway run` runs it.
"""

from __future__ import annotations

import time

import numpy as np

from bench.timing import cpu_seconds
from channel import Handset, RelayConfig, RelayEmulator
from gateway.cmd_run import COMPARE_WINDOWS, DEFAULT_WINDOW_MS
from gateway.config import load_config
from gateway.enodeb import ENodeB, combine_ports
from gateway.pass_demo import default_handsets, pass_slice, relay_config, track_pass
from gateway.precomp import Compensator
from gateway.prediction import PassPrediction
from phy.numerology import numerology
from phy.ue import read_cell
from phy.ue.tracker import CellTracker


def main() -> None:
    sc = PassPrediction.from_config(load_config("hw_configs/loopback.yaml"))
    p = sc.select_pass()
    rng = np.random.default_rng(0)
    print(f"{'BW':>4} {'fs (Msps)':>10} {'fading':>10} {'dir':>4} {'Msps/handset':>13} {'x real time':>12}")
    for n_rb, bw in ((25, "5"), (100, "20")):
        fs = numerology(n_rb).sample_rate_hz
        spf = int(fs / 1000)
        x = ((rng.standard_normal(spf * 20) + 1j * rng.standard_normal(spf * 20)) * 0.18).astype(np.complex64)
        for fading in ("none", "NTN-TDL-C"):
            for direction in ("dl", "ul"):
                relay = RelayEmulator(sc.sat, sc.gateway, sc.beam, sc.carriers,
                                      [Handset("h", sc.beam, speed_m_s=3.0)], n_rb, fs, RelayConfig(fading=fading))
                state = {"n": int(p.max_time_s * fs)}

                def run(relay=relay, state=state, x=x, spf=spf, direction=direction):
                    for i in range(0, x.size, spf):  # 1 ms blocks, as the gateway streams them
                        if direction == "dl":
                            relay.downlink(x[i:i + spf], state["n"])
                        else:
                            relay.uplink({"h": x[i:i + spf]}, state["n"])
                        state["n"] += spf

                sec = cpu_seconds(run, repeat=3)
                msps = x.size / sec / 1e6
                print(f"{bw:>4} {fs / 1e6:>10.2f} {fading:>10} {direction:>4} {msps:>13.2f} {msps * 1e6 / fs:>12.2f}")
    tracking_handset()
    default_slice()


def tracking_handset(interval_ms: int = 100, n_intervals: int = 3) -> None:
    """CPU seconds per second of signal of one tracking handset (the loopback profile's 25 PRB cell)."""
    cfg = load_config("hw_configs/loopback.yaml")
    pred = PassPrediction.from_config(cfg)
    p = pred.select_pass()
    num = numerology(cfg.cell.n_rb_dl)
    fs, spf = num.sample_rate_hz, num.samples_per_subframe
    d_s = pred.target_delay_s(p, fs)
    comp = Compensator(pred.dl_track(fs), d_s, "both", direction="dl")
    centre = default_handsets(pred, cfg.relay)[:1]
    relay = RelayEmulator(pred.sat, pred.gateway, pred.beam, pred.carriers, centre, cfg.cell.n_rb_dl, fs,
                          relay_config(cfg.relay))
    enb = ENodeB(cfg)
    n_aos, k0 = round(p.aos_s * fs), round((p.max_time_s - p.aos_s) * 1000)
    warm = int(np.ceil(d_s * 1000)) + 1
    n_sf = interval_ms * n_intervals + 1
    ys = []
    for k in range(k0, k0 + warm + n_sf):
        y = relay.downlink(comp.process(combine_ports(enb.subframe(k).samples), n_aos + k * spf), n_aos + k * spf)
        if k >= k0 + warm:
            ys.append(y["centre"])
    y = np.concatenate(ys)
    c0 = n_aos + (k0 + warm) * spf
    cell = read_cell(y[: 11 * spf], fs)
    c_rnti = cfg.scheduler.c_rntis[0] if cfg.scheduler.c_rntis else None

    def track():
        tr = CellTracker(cell.pci, cell.n_rb_dl, cell.n_ports, cell.sfn, c0 + cell.timing_offset_samples, cell.cfo_hz,
                         interval_s=interval_ms / 1000, phich_resource=cell.phich_resource,
                         phich_duration=cell.phich_duration, c_rnti=c_rnti, all_mibs=True)
        pts = tr.push(y, start=c0)
        assert len(pts) == n_intervals and all(pt.mib_ok for pt in pts)

    sec = cpu_seconds(track, repeat=2)
    signal_s = interval_ms * n_intervals / 1000
    print(f"\ntracking handset, {cfg.cell.n_rb_dl} PRB, PDSCH in every subframe: {sec / signal_s:.2f} CPU s per s "
          f"of signal ({signal_s / sec:.2f} x real time)")


def _source(cfg, topology: str):
    from gateway.pass_topology import ZmqTopology

    return ZmqTopology(cfg) if topology == "zmq" else None


def default_slice() -> None:
    """Wall time of `make run`'s default slice (both handsets, no table, no plots), in both topologies:
    3 processes over ZeroMQ (make run's default) and in process."""
    cfg = load_config("hw_configs/loopback.yaml")
    for topology in ("zmq", "in-process"):
        t0 = time.perf_counter()
        sl = pass_slice(cfg, 60.0, 1.0, DEFAULT_WINDOW_MS / 1000)
        recs = list(track_pass(cfg, sl, source=_source(cfg, topology)))
        t1 = time.perf_counter()
        list(track_pass(cfg, pass_slice(cfg, COMPARE_WINDOWS - 1.0, 1.0, 0.04), "off", decode_pdsch=False,
                        source=_source(cfg, topology)))
        t2 = time.perf_counter()
        print(f"make run default slice ({topology}): {len(recs)} windows of {DEFAULT_WINDOW_MS} ms, 2 handsets: "
              f"{t1 - t0:.1f} s wall; pre-compensation-off comparison {t2 - t1:.1f} s")


if __name__ == "__main__":
    main()
