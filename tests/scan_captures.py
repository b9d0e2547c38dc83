"""Captures for the scan/monitor tests: the project's own eNodeB downlink put through what real SDRs do.

`enodeb_downlink` makes the downlink (scheduler + phy: SIB1, SIB2, PDCCH; one antenna = the ports
summed) at the cell's standard rate; `sdr_capture` applies, in the order a radio does: the channel
(AWGN at a per-RE SNR, phy/awgn.py convention), the SDR's sample clock (a capture at `rate_hz` nominal
whose clock runs `clock_ppm` off: band-limited FFT resampling), the carrier offset, the start at an
arbitrary sample, the mixer's IQ imbalance, a DC offset and the ADC (int8, uint8 offset binary, int16
or float32 at `level_dbfs` RMS). `write_raw` stores the result as the SDR's tool would.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import scipy.fft

from gateway.config import load_config
from gateway.enodeb import downlink_samples
from phy.awgn import add_awgn
from phy.numerology import numerology

HW_CONFIGS = Path(__file__).resolve().parents[1] / "hw_configs"


def enodeb_config(n_rb: int, n_ports: int, pci: int, sfn_start: int = 0, users: bool = True, si_period_rf: int = 8):
    """The loopback profile with this cell; SIB2 every si_period_rf frames (8: 80 ms, short captures)."""
    cfg = load_config(HW_CONFIGS / "loopback.yaml")
    cell = replace(cfg.cell, n_rb_dl=n_rb, n_ports=n_ports, pci=pci, sfn_start=sfn_start)
    si = replace(cfg.system_info, si_periodicity_rf=si_period_rf)
    sched = cfg.scheduler if users else replace(cfg.scheduler, traffic=False)
    return replace(cfg, cell=cell, system_info=si, scheduler=sched)


def enodeb_downlink(cfg, n_ms: int) -> np.ndarray:
    return downlink_samples(cfg, n_ms)


def warp(x: np.ndarray, ratio: float) -> tuple[np.ndarray, float]:
    """Band-limited resampling of (N,) complex by `ratio` (output samples per input sample), through the
    FFT (exact for a periodic band-limited signal; the ends wrap, so cut a margin). Returns (y, the
    ratio actually made, M / N)."""
    n = x.size
    m = int(round(n * ratio))
    spec = scipy.fft.fft(x.astype(np.complex128))
    out = np.zeros(m, np.complex128)
    h = min(n, m) // 2
    out[:h] = spec[:h]
    out[-h:] = spec[-h:]
    y = scipy.fft.ifft(out) * (m / n)
    return y.astype(np.complex64), m / n


def iq_imbalance(x: np.ndarray, image_dbc: float) -> np.ndarray:
    """Mixer gain/phase error giving an image `image_dbc` below the signal: Q' = g (Q cos p + I sin p),
    gain error and phase error sharing the image power (|1 - g e^{jp}|^2 / |1 + g e^{jp}|^2 = 10^(dBc/10))."""
    k = 10 ** (image_dbc / 20)  # |b| / |a|, y = a x + b conj(x)
    # split: gain error alone gives (1-g)/(1+g) = k / sqrt 2 share; phase error the rest (small-angle)
    g = (1 - k / np.sqrt(2)) / (1 + k / np.sqrt(2))
    p = 2 * np.arctan(k / np.sqrt(2))
    i, q = x.real, x.imag
    q2 = g * (q * np.cos(p) + i * np.sin(p))
    return (i + 1j * q2).astype(np.complex64)


def sdr_capture(
    x_cell: np.ndarray,
    n_rb: int,
    rate_hz: float,
    snr_db: float = 10.0,
    cfo_hz: float = 0.0,
    clock_ppm: float = 0.0,
    start: int = 0,
    duration_s: float = 0.1,
    image_dbc: float | None = None,
    dc: complex = 0j,
    level_dbfs: float = -15.0,
    rng: np.random.Generator | None = None,
) -> np.ndarray:
    """(n,) complex64 at rate_hz nominal (1.0 = full scale, before quantisation; see quantise)."""
    rng = rng or np.random.default_rng(0)
    fs_cell = numerology(n_rb).sample_rate_hz
    y = add_awgn(x_cell, snr_db, n_rb, rng) if snr_db is not None else x_cell
    # the SDR clock runs clock_ppm fast: it takes rate (1 + e) samples per second of the cell's time
    y, _ = warp(y, rate_hz * (1 + clock_ppm * 1e-6) / fs_cell)
    n_out = int(round(duration_s * rate_hz))
    if start + n_out > y.size - 64:
        raise ValueError("the eNodeB signal is too short for this capture")
    y = y[start : start + n_out]
    n = np.arange(n_out, dtype=np.float64)
    y = y * np.exp(2j * np.pi * np.mod(cfo_hz / rate_hz * n, 1.0)).astype(np.complex64)
    y = y / np.sqrt(np.mean(np.abs(y) ** 2)) * 10 ** (level_dbfs / 20)
    if image_dbc is not None:
        y = iq_imbalance(y, image_dbc)
    return (y + dc).astype(np.complex64)


def quantise(y: np.ndarray, fmt: str) -> bytes:
    """The bytes an SDR tool writes: ci8 (HackRF, x 127), cu8 (RTL-SDR, 127.5 + x 127.5), ci16, cf32."""
    iq = np.empty(2 * y.size, np.float64)
    iq[0::2], iq[1::2] = y.real, y.imag
    if fmt == "ci8":
        return np.clip(np.rint(iq * 127), -127, 127).astype(np.int8).tobytes()
    if fmt == "cu8":
        return np.clip(np.rint(127.5 + iq * 127.5), 0, 255).astype(np.uint8).tobytes()
    if fmt == "ci16":
        return np.clip(np.rint(iq * 32767), -32767, 32767).astype("<i2").tobytes()
    if fmt == "cf32":
        return iq.astype("<f4").tobytes()
    raise ValueError(fmt)


def write_raw(path: Path, y: np.ndarray, fmt: str) -> Path:
    path.write_bytes(quantise(y, fmt))
    return path


class DopplerRamp:
    """A known one-hop channel (DESIGN.md 3): delay tau(t) = tau0 + v t + a t^2 / 2 (t = receive time, s),
    y(t) = x(t - tau(t)) exp(-j 2 pi f_c tau(t)); Doppler -f_c dtau/dt, timing drift dtau/dt."""

    def __init__(self, fc_hz: float, tau0_s: float, v: float, a_per_s: float):
        self.fc, self.tau0, self.v, self.a = fc_hz, tau0_s, v, a_per_s

    def tau(self, t):
        return self.tau0 + self.v * t + 0.5 * self.a * t * t

    def drift(self, t):
        return self.v + self.a * t

    def doppler_hz(self, t):
        return -self.fc * self.drift(t)

    def apply(self, x: np.ndarray, fs: float) -> np.ndarray:
        """Through the project's Farrow time-warp (gateway.precomp.Compensator, -62 dB interpolation):
        its out(n) = in(n + fs (tau_hat - D)) exp(j 2 pi phi_hat) with tau_hat = D - tau, phi_hat = -f_c tau."""
        from gateway.precomp import CompensationTrack, Compensator

        d = 1e-3

        def func(t):
            t = np.asarray(t, dtype=np.float64)
            tau, rate = self.tau(t), self.drift(t)
            return d - tau, -rate, -self.fc * tau, -self.fc * rate

        comp = Compensator(CompensationTrack(func, fs, step_s=0.005), d, mode="both")
        return comp.process(x.astype(np.complex64), 0)
