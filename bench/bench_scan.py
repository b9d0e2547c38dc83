"""`python -m gateway scan` / `monitor` speed (one core): real-time factors on eNodeB captures.

scan: a 20 MHz, 2-port eNodeB downlink (scheduler + SIB1/SIB2 every 80 ms, full-buffer user) of 200 ms,
+3.2 kHz CFO, 10 dB per RE, at 30.72 Msps (the cell's rate) and at 19.2 Msps (an SDR rate, resampled up);
the whole scan: statistics pass, detection windows, cell confirmation, SIB1 and SIB2 decoding.
monitor: the tracking receiver over 1 s at 5 and 20 MHz (captures at the cell's rate), 100 ms intervals.
RTF = seconds of signal / CPU seconds (> 1: faster than real time). `python -m bench scan`.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from bench.timing import cpu_seconds
from gateway.cmd_monitor import monitor
from gateway.config import load_config
from gateway.enodeb import downlink_samples
from mac.ue_system_info import read_system_info
from phy.awgn import add_awgn
from phy.numerology import numerology
from phy.ue.iq_input import resample_to
from phy.ue.scan import ScanSettings, scan

PROFILE = Path(__file__).resolve().parents[1] / "hw_configs" / "loopback.yaml"


class _Capture:
    """An in-memory capture with the CaptureFile interface the scan and monitor read."""

    def __init__(self, x: np.ndarray, fs: float):
        self.x, self.sample_rate_hz, self.path = x, fs, Path("bench")
        self.sample_format, self.is_sigmf, self.notes = "cf32", False, []

    @property
    def n_samples(self) -> int:
        return self.x.size

    @property
    def duration_s(self) -> float:
        return self.x.size / self.sample_rate_hz

    def read(self, start: int, count: int) -> np.ndarray:
        return self.x[start : start + count]


def _capture(n_rb: int, n_ports: int, duration_s: float, fs_out: float | None = None) -> _Capture:
    cfg = load_config(PROFILE)
    cfg = replace(cfg, cell=replace(cfg.cell, n_rb_dl=n_rb, n_ports=n_ports, pci=301, sfn_start=7),
                  system_info=replace(cfg.system_info, si_periodicity_rf=8))
    fs = numerology(n_rb).sample_rate_hz
    rng = np.random.default_rng(n_rb)
    delay = int(rng.integers(0, int(0.01 * fs)))
    n_ms = int(duration_s * 1000) + 12
    x = downlink_samples(cfg, n_ms)[delay : delay + int(duration_s * fs)]
    x = (x * np.exp(2j * np.pi * 3.2e3 * np.arange(x.size) / fs)).astype(np.complex64)
    x = add_awgn(x, 10.0, n_rb, rng)
    if fs_out is not None and fs_out != fs:
        x, _ = resample_to(x, fs, fs_out)
        fs = fs_out
    return _Capture(x, fs)


def main() -> None:
    dur = 0.2
    print(f"scan of a {dur * 1e3:.0f} ms 20 MHz 2-port capture (CFO 3.2 kHz, 10 dB per RE, SIB1+SIB2), one core")
    print(f"{'Msps':>6} {'cpu s':>7} {'RTF':>6}")
    for fs in (30.72e6, 19.2e6):
        cap = _capture(100, 2, dur, fs)
        res = scan(cap, ScanSettings(), read_system_info=read_system_info)
        c = res.cells[0]
        if c.report.pci != 301 or c.system_info is None or c.system_info.sib2 is None:
            raise RuntimeError(f"bench capture not read at {fs / 1e6:g} Msps: {res.as_dict()}")
        t = cpu_seconds(lambda cap=cap: scan(cap, ScanSettings(), read_system_info=read_system_info), repeat=1)
        print(f"{fs / 1e6:6.2f} {t:7.2f} {dur / t:6.2f}")
    dur = 1.0
    print(f"\nmonitor over {dur:.0f} s (2 ports, 100 ms intervals), one core")
    print(f"{'MHz':>5} {'Msps':>6} {'cpu s':>7} {'RTF':>6}")
    for n_rb, mhz in ((25, "5"), (100, "20")):
        cap = _capture(n_rb, 2, dur)
        cell, points = monitor(cap, None, 0.1, 30e3)
        if cell.pci != 301 or len(points) < 9:
            raise RuntimeError(f"monitor bench: {cell}, {len(points)} points")
        t = cpu_seconds(lambda cap=cap: monitor(cap, None, 0.1, 30e3), repeat=1)
        print(f"{mhz:>5} {cap.sample_rate_hz / 1e6:6.2f} {t:7.2f} {dur / t:6.2f}")


if __name__ == "__main__":
    main()
