"""Beams per machine in real time (issue 13): `python -m gateway transmit --beams N` as a user runs it.

For 5 and 20 MHz cells (2 ports, MCS 28 full buffer, orbit on, pre-compensation `both` towards each beam's
own centre), N = 1, 2, 3, ... beams on the default workers (one per core), each beam to its own zmq endpoint
(consecutive ports) where a PULL socket here reads only the IQ frame headers and checks that every beam's
timestamps are continuous from 0. Reported per run:
  rtf      seconds of signal per beam / wall seconds from the first to the last sample (all beams): the
           real-time factor every beam sustains at once (>= 1: the machine keeps N beams in real time)
  Msps     the total sample rate delivered across the beams
  first_s  time from starting the command to the first sample (start-up)
and per bandwidth the most beams with rtf >= 1 (and >= 2, the margin DESIGN.md 6 asks of one cell).
The search stops at the first N below real time. `python -m bench multibeam`;
BENCH_MULTIBEAM_SECONDS (default 2) sets the seconds of signal, BENCH_MULTIBEAM_MHZ (default 5,20) the
bandwidths, BENCH_MULTIBEAM_MAX (default 8) the largest N tried.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml
import zmq

from radio_drivers.iqframe import unpack_header

ROOT = Path(__file__).resolve().parent.parent
N_RB = {"1.4": 6, "3": 15, "5": 25, "10": 50, "15": 75, "20": 100}


def _profile(tmp: Path, n_rb: int, base_port: int) -> Path:
    data = yaml.safe_load((ROOT / "hw_configs" / "loopback.yaml").read_text())
    data["cell"].update(n_rb_dl=n_rb, n_ports=2)
    data["scheduler"] = {"traffic": True, "user_mcs": 28}
    data["orbit"]["enabled"] = True
    data["orbit"]["tle"] = str(ROOT / "hw_configs" / "bluebird.tle")
    data["link"]["precomp"] = "both"
    data["radio"] = {"driver": "zmq", "zmq": {"tx_address": f">tcp://127.0.0.1:{base_port}", "timeout_s": 60.0}}
    path = tmp / f"multibeam_{n_rb}.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def _sinks(ctx: zmq.Context, n_beams: int) -> tuple[int, list[zmq.Socket]]:
    for _ in range(50):
        base = random.randint(20000, 60000)
        socks = []
        try:
            for i in range(n_beams):
                s = ctx.socket(zmq.PULL)
                s.setsockopt(zmq.RCVHWM, 1000)
                socks.append(s)
                s.bind(f"tcp://127.0.0.1:{base + i}")
            return base, socks
        except zmq.ZMQError:
            for s in socks:
                s.close(0)
    raise RuntimeError("no free run of loopback ports")


def run_beams(mhz: str, n_beams: int, seconds: float) -> dict:
    """One `transmit --beams N` subprocess into N sinks here; the figures of the module docstring."""
    ctx = zmq.Context()
    base, socks = _sinks(ctx, n_beams)
    poller = zmq.Poller()
    for s in socks:
        poller.register(s, zmq.POLLIN)
    index = {s: i for i, s in enumerate(socks)}
    with tempfile.TemporaryDirectory() as tmp:
        profile = _profile(Path(tmp), N_RB[mhz], base)
        cmd = [sys.executable, "-m", "gateway", "transmit", "--config", str(profile), "--seconds", str(seconds),
               "--beams", str(n_beams), "--beam-reuse", "1"]
        t_start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        n_next = [0] * n_beams
        t_first = t_last = None
        fs = 0.0
        total = None
        try:
            while total is None or min(n_next) < total:
                events = poller.poll(60_000)
                if not events:
                    raise RuntimeError(f"no frame for 60 s; transmit said:\n{proc.communicate(timeout=5)[0]}")
                for sock, _ in events:
                    i = index[sock]
                    header, _payload = sock.recv_multipart(copy=False)
                    h = unpack_header(header.bytes)
                    if h.timestamp != n_next[i]:
                        raise RuntimeError(f"beam {i}: sample n={h.timestamp} arrived where n={n_next[i]} was due")
                    if t_first is None:
                        t_first, fs = time.perf_counter(), h.sample_rate_hz
                        total = round(seconds * 1000) * round(fs / 1000)
                    n_next[i] += h.sample_count
            t_last = time.perf_counter()
            out = proc.communicate(timeout=60)[0]
        finally:
            if proc.poll() is None:
                proc.kill()
            for s in socks:
                s.close(0)
            ctx.term()
    if proc.returncode != 0:
        raise RuntimeError(f"transmit exited with {proc.returncode}:\n{out}")
    signal_s = total / fs
    said = [ln for ln in out.splitlines() if " local workers" in ln]
    workers = said[0].split(" local workers")[0].rsplit(" ", 1)[1] if said else "?"
    return {"rtf": (signal_s - 1e-3) / (t_last - t_first), "msps": n_beams * total / (t_last - t_first) / 1e6,
            "first_s": t_first - t_start, "workers": workers}


def main() -> None:
    seconds = float(os.environ.get("BENCH_MULTIBEAM_SECONDS", "2"))
    bands = os.environ.get("BENCH_MULTIBEAM_MHZ", "5,20").split(",")
    n_max = int(os.environ.get("BENCH_MULTIBEAM_MAX", "8"))
    print(f"cores: {os.cpu_count()}, load average before: {os.getloadavg()}")
    print(f"`transmit --beams N`, 2 ports, MCS 28 full buffer, pre-compensation both per beam centre, {seconds:g} s "
          "of signal per beam, one zmq sink per beam")
    print(f"{'MHz':>4} {'beams':>5} {'workers':>7} {'RTF':>6} {'Msps':>7} {'first s':>8} {'load':>5}")
    summary = []
    for mhz in bands:
        best = {1.0: 0, 2.0: 0}
        for n in range(1, n_max + 1):
            r = run_beams(mhz, n, seconds)
            print(f"{mhz:>4} {n:>5} {r['workers']:>7} {r['rtf']:6.2f} {r['msps']:7.1f} {r['first_s']:8.2f} "
                  f"{os.getloadavg()[0]:5.2f}", flush=True)
            for margin in best:
                if r["rtf"] >= margin:
                    best[margin] = n
            if r["rtf"] < 1.0:
                break
        summary.append(f"{mhz} MHz: {best[1.0]} beams in real time, {best[2.0]} with 2x margin")
    print("beams per machine: " + "; ".join(summary))


if __name__ == "__main__":
    main()
