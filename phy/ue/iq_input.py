"""Front-end conditioning of a real SDR capture before the handset receiver: level, DC, IQ imbalance, rate.

What real receivers add and how it is undone here, on (N,) complex64 blocks:
- DC offset (LO leakage, an RTL-SDR's offset binary): the block mean is subtracted. An LTE downlink
  carries nothing on its DC subcarrier (TS 36.211 6.12: the DC subcarrier is not transmitted), so the
  mean of the wanted signal is zero and the subtraction removes only the spur.
- IQ imbalance (gain and quadrature error of the mixer): y = I + j Q with Q correlated with I and of a
  different power. A circular signal has E[I Q] = 0 and E[I^2] = E[Q^2], so the blind moment-based
  (Gram-Schmidt) correction Q' = (Q - rho I) / g, rho = E[IQ] / E[I^2], g = sqrt((E[Q^2] - rho E[IQ]) /
  E[I^2]) restores it: the image falls from the imbalance's level (e.g. -25 dBc) to the estimate's noise.
- Non-finite values (a float file read with the wrong format, a corrupt block) are counted and zeroed.
- Sample rate: `resample_to(x, fs_in, fs_out)` converts with a polyphase filter whose up/down ratio is the
  nearest fraction with a denominator <= MAX_RATIO_TERM; it returns the rate really produced (the
  remainder is a sample-clock error like the SDR's own, which the tracking measures).

`IqStats` accumulates the moments over a whole capture read in chunks (bounded memory).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np
from scipy import signal

__all__ = ["IqStats", "IqCorrection", "StreamResampler", "condition", "resample_to", "rate_ratio", "MAX_RATIO_TERM"]

MAX_RATIO_TERM = 4096  # largest up/down factor of the polyphase resampler (filter ~ 20 x that taps)


@dataclass
class IqStats:
    """Running sums over samples: count, sum x, sum I^2, Q^2, IQ, non-finite count, clipped count.

    `add(x, full_scale)` takes a (N,) complex64 block; a sample counts as clipped when |I| or |Q| reaches
    99.5 % of full scale (1.0 = full scale)."""

    n: int = 0
    non_finite: int = 0
    clipped: int = 0
    s: complex = 0j
    sii: float = 0.0
    sqq: float = 0.0
    siq: float = 0.0

    def add(self, x: np.ndarray) -> None:
        x = np.asarray(x)
        bad = ~np.isfinite(x)
        if bad.any():
            self.non_finite += int(bad.sum())
            x = np.where(bad, 0, x)
        i = x.real.astype(np.float64)
        q = x.imag.astype(np.float64)
        self.n += x.size
        self.s += complex(i.sum(), q.sum())
        self.sii += float(i @ i)
        self.sqq += float(q @ q)
        self.siq += float(i @ q)
        self.clipped += int(np.count_nonzero((np.abs(i) >= 0.995) | (np.abs(q) >= 0.995)))

    @property
    def dc(self) -> complex:
        return self.s / self.n if self.n else 0j

    @property
    def power(self) -> float:
        """Mean |x - dc|^2 (1.0 = full-scale)."""
        if not self.n:
            return 0.0
        return (self.sii + self.sqq) / self.n - abs(self.dc) ** 2

    def correction(self) -> IqCorrection:
        """The DC and Gram-Schmidt IQ correction from the moments (identity when there are no samples)."""
        if self.n < 2:
            return IqCorrection()
        dc = self.dc
        vi = self.sii / self.n - dc.real**2
        vq = self.sqq / self.n - dc.imag**2
        ciq = self.siq / self.n - dc.real * dc.imag
        if vi <= 0 or vq <= 0:
            return IqCorrection(dc=dc)
        rho = ciq / vi
        g2 = (vq - rho * ciq) / vi
        if g2 <= 0:
            return IqCorrection(dc=dc)
        return IqCorrection(dc=dc, rho=rho, gain=float(np.sqrt(g2)))


@dataclass(frozen=True)
class IqCorrection:
    """y = (I - dc_i) + j ((Q - dc_q) - rho (I - dc_i)) / gain."""

    dc: complex = 0j
    rho: float = 0.0
    gain: float = 1.0

    @property
    def image_rejection_db(self) -> float:
        """Image rejection of the imbalance that was measured (dBc, larger = better): with gain error g and
        phase error phi (sin phi = rho / g), IRR = (1 + 2 g cos phi + g^2) / (1 - 2 g cos phi + g^2)."""
        g = self.gain * np.sqrt(1 + (self.rho / self.gain) ** 2)  # |Q| gain relative to I
        cphi = np.sqrt(max(0.0, 1 - (self.rho / g) ** 2))
        num, den = 1 + 2 * g * cphi + g * g, 1 - 2 * g * cphi + g * g
        return float(10 * np.log10(num / den)) if den > 1e-15 else float("inf")

    def apply(self, x: np.ndarray) -> np.ndarray:
        i = x.real - np.float32(self.dc.real)
        q = x.imag - np.float32(self.dc.imag)
        if self.rho != 0.0 or self.gain != 1.0:
            q = (q - np.float32(self.rho) * i) * np.float32(1.0 / self.gain)
        out = np.empty(x.shape, np.complex64)
        out.real, out.imag = i, q
        return out


def condition(x: np.ndarray, iq: IqCorrection | None = None, block_dc: bool = True) -> tuple[np.ndarray, int]:
    """Clean one block: non-finite values zeroed, the IQ correction applied, the block's DC removed.

    x: (N,) complex. iq: correction from the whole capture's IqStats (None: none). block_dc: subtract
    this block's own mean too (tracks a DC that drifts through the capture). Returns (y complex64,
    number of non-finite samples zeroed)."""
    y = np.asarray(x, dtype=np.complex64)
    bad = ~np.isfinite(y)
    n_bad = int(bad.sum())
    if n_bad:
        y = np.where(bad, np.complex64(0), y)
    if iq is not None:
        y = iq.apply(y)
    if block_dc and y.size:
        y = (y - np.complex64(y.mean(dtype=np.complex128))).astype(np.complex64, copy=False)
    return y, n_bad


def rate_ratio(fs_in_hz: float, fs_out_hz: float) -> Fraction:
    """up/down with both terms <= MAX_RATIO_TERM, nearest to fs_out / fs_in."""
    if not (np.isfinite(fs_in_hz) and fs_in_hz > 0 and np.isfinite(fs_out_hz) and fs_out_hz > 0):
        raise ValueError(f"sample rates must be positive and finite, got {fs_in_hz} -> {fs_out_hz}")
    exact = Fraction(round(fs_out_hz), round(fs_in_hz))
    r = exact.limit_denominator(MAX_RATIO_TERM)
    while r.numerator > MAX_RATIO_TERM:  # an extreme ratio: coarser denominators until both terms fit
        r = exact.limit_denominator(max(1, r.denominator // 2))
    return r


def resample_to(x: np.ndarray, fs_in_hz: float, fs_out_hz: float) -> tuple[np.ndarray, float]:
    """(N,) complex at fs_in -> (complex64 at ~fs_out, the exact output rate fs_in * up / down).

    Polyphase FIR (scipy.signal.resample_poly, Kaiser window, zero phase): output sample m lines up with
    input time m / rate_out."""
    r = rate_ratio(fs_in_hz, fs_out_hz)
    rate_out = fs_in_hz * r.numerator / r.denominator
    if r == 1:
        return np.asarray(x, dtype=np.complex64).copy(), rate_out
    y = signal.resample_poly(np.asarray(x, dtype=np.complex64), r.numerator, r.denominator)
    return y.astype(np.complex64, copy=False), rate_out


class StreamResampler:
    """resample_to for a stream in pieces, with output identical to resampling it whole.

    The polyphase filter (scipy.signal.resample_poly: half length 10 max(up, down) taps at the upsampled
    rate) reaches `reach` input samples either side, so each block of input [a, a + L) (a, L multiples of
    `down`) is resampled with `guard` >= reach extra samples each side and only its own outputs
    [a up / down, (a + L) up / down) kept. Output lags the input by `guard` samples until `flush()`."""

    def __init__(self, fs_in_hz: float, fs_out_hz: float):
        r = rate_ratio(fs_in_hz, fs_out_hz)
        self.up, self.down = r.numerator, r.denominator
        self.rate_out = fs_in_hz * self.up / self.down
        reach = 10 * max(self.up, self.down) / self.up + 1
        self.guard = int(np.ceil(reach / self.down)) * self.down
        self._buf = np.zeros(self.guard, np.complex64)  # zeros before the stream, as resample_poly pads
        self._a = 0  # input index of the next block start (multiple of down)
        self._buf_start = -self.guard

    def _run(self, a: int, length: int) -> np.ndarray:
        lo = a - self.guard - self._buf_start
        seg = self._buf[lo : lo + length + 2 * self.guard]
        if self.up == self.down:
            return seg[self.guard : self.guard + length].copy()
        y = signal.resample_poly(seg, self.up, self.down)
        first = self.guard * self.up // self.down
        return y[first : first + length * self.up // self.down].astype(np.complex64, copy=False)

    def push(self, x: np.ndarray) -> np.ndarray:
        """Append input samples; returns the output samples now complete (possibly none)."""
        self._buf = np.concatenate([self._buf, np.asarray(x, dtype=np.complex64)])
        avail = self._buf_start + self._buf.size - self.guard - self._a  # input with full right guard
        length = avail // self.down * self.down
        if length <= 0:
            return np.zeros(0, np.complex64)
        y = self._run(self._a, length)
        self._a += length
        drop = self._a - self.guard - self._buf_start
        self._buf = self._buf[drop:]
        self._buf_start += drop
        return y

    def flush(self) -> np.ndarray:
        """The rest of the output (the stream's end padded with zeros, as resample_poly does)."""
        n_in = self._buf_start + self._buf.size
        rest = n_in - self._a
        if rest <= 0:
            return np.zeros(0, np.complex64)
        length = -(-rest // self.down) * self.down
        self._buf = np.concatenate([self._buf, np.zeros(length - rest + self.guard, np.complex64)])
        y = self._run(self._a, length)
        self._a += length
        return y[: int(np.ceil(rest * self.up / self.down))]
