"""The whole `python -m gateway transmit` process, as a user runs it, into a ZeroMQ sink (issue 13).

For 5, 10 and 20 MHz cells with 2 ports, MCS 28 full buffer, the orbit on and pre-compensation `both`
(the loopback profile's pass), with and without `--pipeline` (pipeline column: eNodeB workers, "w"; the last
row runs 2 of them at the widest band): the command runs as a subprocess whose
zmq radio pushes to a PULL socket here. The sink reads only the IQ frame headers (radio_drivers.iqframe)
and checks that the timestamps are continuous from 0 (no gap, no duplicate).

Reported per run:
  first_s  time from starting the subprocess to the first sample at the sink (start-up)
  rtf      seconds of signal / wall seconds between the first and the last sample (sustained)
  rss      resident memory of the command and its worker process(es) at the first sample and at 90 %
Plus the machine's load average, cores and numpy's BLAS. `python -m bench transmit`;
BENCH_TRANSMIT_SECONDS sets the seconds of signal (default 10), BENCH_TRANSMIT_MHZ the bandwidths.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tempfile
import time
from contextlib import redirect_stdout
from pathlib import Path

import yaml
import zmq

from radio_drivers.iqframe import unpack_header

ROOT = Path(__file__).resolve().parent.parent
N_RB = {"5": 25, "10": 50, "20": 100}


def _profile(tmp: Path, n_rb: int, endpoint: str, orbit: bool) -> Path:
    data = yaml.safe_load((ROOT / "hw_configs" / "loopback.yaml").read_text())
    data["cell"].update(n_rb_dl=n_rb, n_ports=2)
    data["scheduler"] = {"traffic": True, "user_mcs": 28}
    data["orbit"]["enabled"] = orbit
    data["orbit"]["tle"] = str(ROOT / "hw_configs" / "bluebird.tle")
    data["link"]["precomp"] = "both"
    data["radio"] = {"driver": "zmq", "zmq": {"tx_address": ">" + endpoint, "timeout_s": 30.0}}
    path = tmp / f"transmit_{n_rb}.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def _rss_tree_mib(pid: int) -> float:
    """VmRSS of pid and its child processes (MiB); 0 where /proc is not readable."""
    total_kib, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            status = Path(f"/proc/{p}/status").read_text()
            total_kib += int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:")))
            todo += [int(c) for c in Path(f"/proc/{p}/task/{p}/children").read_text().split()]
        except (OSError, StopIteration, ValueError):
            pass
    return total_kib / 1024


def run_transmit(mhz: str, seconds: float, pipeline: bool, orbit: bool = True, workers: int | None = None) -> dict:
    """One `transmit` subprocess into a sink here (`workers`: --enodeb-workers); the figures of the module
    docstring."""
    ctx = zmq.Context()
    sock = ctx.socket(zmq.PULL)
    sock.setsockopt(zmq.RCVHWM, 1000)
    sock.bind("tcp://127.0.0.1:0")
    endpoint = sock.getsockopt_string(zmq.LAST_ENDPOINT)
    with tempfile.TemporaryDirectory() as tmp:
        profile = _profile(Path(tmp), N_RB[mhz], endpoint, orbit)
        cmd = [sys.executable, "-m", "gateway", "transmit", "--config", str(profile), "--seconds", str(seconds),
               "--pipeline" if pipeline else "--no-pipeline"]
        if workers is not None:
            cmd += ["--enodeb-workers", str(workers)]
        t_start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        n_next, t_first, rss_first, rss_end, t_last, fs = 0, None, 0.0, None, None, 0.0
        try:
            while True:
                if not sock.poll(60_000):
                    raise RuntimeError(f"no frame for 60 s; transmit said:\n{proc.communicate(timeout=5)[0]}")
                header, _payload = sock.recv_multipart(copy=False)
                h = unpack_header(header.bytes)
                if h.timestamp != n_next:
                    raise RuntimeError(f"sample n={h.timestamp} arrived where n={n_next} was due")
                if t_first is None:
                    t_first = time.perf_counter()
                    rss_first = _rss_tree_mib(proc.pid)
                    fs = h.sample_rate_hz
                n_next += h.sample_count
                if rss_end is None and n_next >= 0.9 * seconds * fs:  # both stages still running
                    rss_end = _rss_tree_mib(proc.pid)
                if n_next >= round(seconds * fs):
                    t_last = time.perf_counter()
                    break
            out = proc.communicate(timeout=60)[0]
        finally:
            if proc.poll() is None:
                proc.kill()
            sock.close(0)
            ctx.term()
    if proc.returncode != 0:
        raise RuntimeError(f"transmit exited with {proc.returncode}:\n{out}")
    signal_s = n_next / fs
    return {
        "first_s": t_first - t_start,
        "rtf": (signal_s - 1e-3) / (t_last - t_first),  # the first subframe's arrival starts the clock
        "rss_first_mib": rss_first,
        "rss_end_mib": rss_end,
        "signal_s": signal_s,
    }


def blas_config() -> str:
    import numpy as np

    buf = io.StringIO()
    with redirect_stdout(buf):
        np.show_config()
    lines = [ln.strip() for ln in buf.getvalue().splitlines() if "openblas configuration" in ln or "name:" in ln]
    return "; ".join(dict.fromkeys(lines)) or buf.getvalue()[:300]


def main() -> None:
    seconds = float(os.environ.get("BENCH_TRANSMIT_SECONDS", "10"))
    bands = os.environ.get("BENCH_TRANSMIT_MHZ", "5,10,20").split(",")
    print(f"cores: {os.cpu_count()}, load average before: {os.getloadavg()}")
    print(f"numpy BLAS: {blas_config()}")
    print(f"OMP/OPENBLAS threads: {os.environ.get('OMP_NUM_THREADS')}/{os.environ.get('OPENBLAS_NUM_THREADS')}")
    print(f"`transmit`, 2 ports, MCS 28 full buffer, pre-compensation both, {seconds:g} s of signal, zmq sink")
    print(f"{'MHz':>4} {'orbit':>5} {'pipeline':>8} {'RTF':>6} {'first s':>8} {'RSS first':>10} {'RSS 90%':>8} "
          f"{'load':>5}")
    runs = [(mhz, True, pipe, None) for mhz in bands for pipe in (False, True)]
    runs += [(bands[-1], False, False, None), (bands[-1], False, True, None)]  # without the orbit
    runs += [(bands[-1], True, True, 2)]  # two eNodeB workers building the subframes in turn
    from gateway.pipeline import default_workers

    for mhz, orbit, pipe, workers in runs:
        r = run_transmit(mhz, seconds, pipe, orbit, workers)
        mode = f"{workers or default_workers()} w" if pipe else "no"
        print(f"{mhz:>4} {'on' if orbit else 'off':>5} {mode:>8} {r['rtf']:6.2f} "
              f"{r['first_s']:8.2f} {r['rss_first_mib']:8.0f}MB {r['rss_end_mib']:6.0f}MB {os.getloadavg()[0]:5.2f}",
              flush=True)

if __name__ == "__main__":
    main()
