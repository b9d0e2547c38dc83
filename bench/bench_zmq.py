"""ZeroMQ IQ transport: throughput (Msps) of cf32 / ci16 over tcp and ipc, latency of one 1 ms frame.

A sender thread streams 1 ms frames (30720 samples at 30.72 Msps) through ZmqStreamRadio (PUSH) to a
receiving ZmqStreamRadio (PULL) in the same process; throughput = samples / wall time, which includes
the ci16 conversions. Latency: one frame's tx() -> rx() round through the sockets, median of 200.
"""

from __future__ import annotations

import tempfile
import threading
import time

import numpy as np

from radio_drivers import ZmqStreamRadio

FS, FC = 30.72e6, 770e6
FRAME = 30720  # 1 ms at 30.72 Msps


def _pair(kind: str, fmt: str, tmp: str):
    ep = "tcp://127.0.0.1:0" if kind == "tcp" else f"ipc://{tmp}/bench_{fmt}.sock"
    tx = ZmqStreamRadio(FS, FC, tx_address="@" + ep, sample_format=fmt, frame_samples=FRAME, timeout_s=10)
    rx = ZmqStreamRadio(FS, FC, rx_address=">" + tx.tx_endpoint, sample_format=fmt, timeout_s=10)
    return tx, rx


def throughput_msps(kind: str, fmt: str, tmp: str, seconds_of_signal: float = 2.0) -> float:
    tx, rx = _pair(kind, fmt, tmp)
    x = (np.random.default_rng(0).standard_normal(2 * FRAME, dtype=np.float32) * 0.1).view(np.complex64)
    n_frames = int(seconds_of_signal * 1000)
    def send():
        for _ in range(n_frames):
            tx.tx(x)

    t = threading.Thread(target=send)
    tx.tx(x)  # warm-up: the connection is up
    rx.rx(FRAME)
    t0 = time.perf_counter()
    t.start()
    got = 0
    while got < n_frames * FRAME:
        got += len(rx.rx(FRAME).samples)
    dt = time.perf_counter() - t0
    t.join()
    tx.close()
    rx.close()
    return got / dt / 1e6


def latency_us(kind: str, tmp: str, repeats: int = 200) -> float:
    tx, rx = _pair(kind, "cf32_le", tmp)
    x = np.zeros(FRAME, np.complex64)
    tx.tx(x)
    rx.rx(FRAME)
    lat = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        tx.tx(x)
        rx.rx(FRAME)
        lat.append(time.perf_counter() - t0)
    tx.close()
    rx.close()
    return float(np.median(lat) * 1e6)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        print(f"{'transport':<10} {'format':<8} {'Msps':>8} {'x 30.72':>8}")
        for kind in ("tcp", "ipc"):
            for fmt in ("cf32_le", "ci16_le"):
                msps = throughput_msps(kind, fmt, tmp)
                print(f"{kind:<10} {fmt:<8} {msps:8.1f} {msps / 30.72:8.1f}")
        for kind in ("tcp", "ipc"):
            lat = latency_us(kind, tmp)
            print(f"latency of one 1 ms frame (30720 cf32 samples, {kind}): {lat:.0f} us (median)")


if __name__ == "__main__":
    main()
