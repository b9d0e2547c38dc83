"""Pre-compensation throughput (Msps, one core), CPU time per 1 ms block and real-time factor at
1.4, 5, 10, 20 MHz (20 consecutive 1 ms blocks, best of 3)."""

from __future__ import annotations

import numpy as np

from bench.timing import cpu_seconds
from gateway.config import load_config
from gateway.precomp import Compensator
from gateway.prediction import PassPrediction
from phy.numerology import numerology


def main() -> None:
    sc = PassPrediction.from_config(load_config("hw_configs/loopback.yaml"))
    p = sc.select_pass()
    rng = np.random.default_rng(0)
    print(f"{'BW':>6} {'fs (Msps)':>10} {'mode':>8} {'Msps':>8} {'us per 1 ms':>12} {'x real time':>12}")
    for n_rb, bw in ((6, "1.4"), (25, "5"), (50, "10"), (100, "20")):
        fs = numerology(n_rb).sample_rate_hz
        d = sc.target_delay_s(p, fs)
        spf = int(fs / 1000)
        x = ((rng.standard_normal(spf * 20) + 1j * rng.standard_normal(spf * 20)) * 0.18).astype(np.complex64)
        for mode in ("doppler", "both"):
            comp = Compensator(sc.dl_track(fs), d, mode)
            state = {"n": int(p.max_time_s * fs)}

            def run(comp=comp, state=state, x=x, spf=spf):
                for i in range(0, x.size, spf):  # 1 ms subframes, as the gateway streams them
                    comp.process(x[i:i + spf], state["n"])
                    state["n"] += spf

            sec = cpu_seconds(run, repeat=3)
            msps = x.size / sec / 1e6
            us_per_ms = sec / (x.size / spf) * 1e6  # CPU time per 1 ms block
            print(f"{bw:>6} {fs / 1e6:>10.2f} {mode:>8} {msps:>8.1f} {us_per_ms:>12.0f} {msps * 1e6 / fs:>12.2f}")


if __name__ == "__main__":
    main()
