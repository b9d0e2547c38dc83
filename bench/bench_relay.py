"""Relay emulator (channel.relay) throughput per handset (Msps, one core) and real-time factor at 5 and
20 MHz, without fading and with NTN-TDL-C, downlink and uplink (20 consecutive 1 ms blocks, best of 3)."""

from __future__ import annotations

import numpy as np

from bench.timing import cpu_seconds
from channel import Handset, RelayConfig, RelayEmulator
from gateway.config import load_config
from gateway.prediction import PassPrediction
from phy.numerology import numerology


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


if __name__ == "__main__":
    main()
