"""Handset receiver speed (one core): read_cell on a 20 ms capture at 1.4 / 5 / 10 / 20 MHz.

The capture is the broadcast downlink (build_subframe, 2 ports summed) at the cell's standard rate with
a 3.2 kHz carrier offset, a random delay and 10 dB AWGN per RE. read_cell does everything: resampling
to 1.92 Msps, PSS/SSS search over +-25 kHz, CRS fine timing and CFO, blind PBCH, then full-band CRS
estimation and PCFICH in every subframe. RTF = 20 ms of signal / CPU seconds per call (> 1: faster
than real time). `python -m bench handset`.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from bench.timing import cpu_seconds
from phy.awgn import add_awgn
from phy.downlink import build_subframe
from phy.numerology import numerology
from phy.ue import read_cell

BANDWIDTHS = ((6, "1.4"), (25, "5"), (50, "10"), (100, "20"))
DURATION_S = 0.02


def _capture(n_rb: int) -> tuple[np.ndarray, float]:
    cell = SimpleNamespace(n_rb_dl=n_rb, pci=301, n_ports=2, cfi=2, phich_duration="normal", phich_resource="one")
    sig = np.concatenate([build_subframe(cell, 7 + s // 10, s % 10).samples.sum(axis=0) for s in range(32)])
    num = numerology(n_rb)
    fs = num.sample_rate_hz
    rng = np.random.default_rng(n_rb)
    delay = int(rng.integers(0, num.samples_per_frame))
    x = sig[delay : delay + int(round(DURATION_S * fs))]
    x = x * np.exp(2j * np.pi * 3.2e3 * np.arange(x.size) / fs)
    return add_awgn(x.astype(np.complex64), 10.0, n_rb, rng), fs


def main() -> None:
    print(f"read_cell on {DURATION_S * 1e3:.0f} ms captures (2 ports, CFO 3.2 kHz, 10 dB per RE), one core")
    print(f"{'MHz':>5} {'N_RB':>5} {'Msps':>6} {'cpu ms/call':>12} {'RTF':>6}")
    for n_rb, mhz in BANDWIDTHS:
        x, fs = _capture(n_rb)
        report = read_cell(x, fs)
        if report.pci != 301 or report.n_rb_dl != n_rb:
            raise RuntimeError(f"bench capture not decoded at {mhz} MHz: {report}")
        t = cpu_seconds(lambda x=x, fs=fs: read_cell(x, fs), repeat=3)
        print(f"{mhz:>5} {n_rb:5d} {fs / 1e6:6.2f} {t * 1e3:12.1f} {DURATION_S / t:6.2f}")


if __name__ == "__main__":
    main()
