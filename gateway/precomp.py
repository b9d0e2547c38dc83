"""Streaming Doppler/delay pre-compensation (DL) and post-compensation (UL), DESIGN.md 3.

    out(n) = in(n + delta(n)) * exp(+j 2 pi phi(n))          n = integer sample counter at fs
DL pre-compensation:  delta(n) = fs (tau_hat(n/fs) - D),        phi(n) = phi_hat(n/fs)
UL post-compensation: delta(n) = fs (tau_ul(n/fs - D) - D),     phi(n) = phi_ul(n/fs - D)
with tau_hat/phi_hat the two-hop delay/phase indexed by send time (gateway.relay), so the beam
centre receives x(t - D) with no Doppler and no drift, and the eNodeB sees its UL at 2D.

How (all NumPy array code, no per-sample loop):
- `CompensationTrack`: tau and phi on a coarse grid of absolute sample counters (default 10 ms),
  values and analytic derivatives -> cubic Hermite interpolation in float64 (C1, error O(h^4)).
  Knots are computed lazily in fixed absolute segments, so they do not depend on the blocks.
- The stream is cut into fixed absolute chunks of M output samples. Per chunk: delta and phi and
  their slopes at the chunk centre; the window of F = M + 2H input samples around the integer delay
  goes through one FFT; two branches come back by inverse FFT, v0 = the window advanced by a tabled
  fraction f_q (Q phases) and v1 = d v0 / d shift, both through a fixed band-limiting kernel G (flat
  to 0.30 fs, Kaiser-windowed sinc). The output is the first-order Farrow sum v0 + e(j) v1 with the
  residual shift e(j) = delta(n) - k - f_q (|e| < 0.006 sample), then the phase rotation.
- Input history lives in a mirrored ring buffer; a chunk is always computed from the same samples,
  so the output is bit-identical whatever the block partition.
Latency rule: the DL output at n reads input up to n + delta(n) + M + H, so D must exceed the largest
delay by `guard_s(fs)` (a few chunks); `choose_target_delay` adds it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.fft as sfft

__all__ = [
    "MODES", "CompensationTrack", "Compensator", "FarrowKernel", "choose_target_delay", "guard_s",
]

MODES = ("off", "doppler", "delay", "both")

# chunk geometry: FFT size F, overlap H each side, M = F - 2H output samples per chunk
_F = 256
_H = 24
_M = _F - 2 * _H  # 208 = 13 * 16
_SUB = 16  # phase ramp built as an outer product of M/_SUB x _SUB exponentials
_Q = 256  # tabled fractional shifts


def guard_s(sample_rate_hz: float) -> float:
    """Extra target delay the streaming resampler needs beyond the largest delay (seconds)."""
    return (_M + _H + 4) / sample_rate_hz


@dataclass(frozen=True)
class FarrowKernel:
    """Frequency-domain branch tables: t0[q] = G(f) e^{j 2 pi f s_q}, t1[q] = j 2 pi f t0[q], (Q+1, F) complex64."""

    shifts: np.ndarray
    t0: np.ndarray
    t1: np.ndarray

    @staticmethod
    def design(n_fft: int = _F, half_taps: int = 20, cutoff: float = 0.354, beta: float = 7.5,
               n_phases: int = _Q) -> FarrowKernel:
        """Kaiser-windowed sinc lowpass G (2*half_taps+1 taps, zero phase), flat to ~0.30 fs."""
        n = np.arange(-half_taps, half_taps + 1)
        g = 2 * cutoff * np.sinc(2 * cutoff * n) * np.kaiser(2 * half_taps + 1, beta)
        g /= g.sum()
        g_circ = np.zeros(n_fft)
        g_circ[n % n_fft] = g
        gf = np.fft.fft(g_circ).real  # symmetric kernel: real spectrum
        f = np.fft.fftfreq(n_fft)
        shifts = np.arange(n_phases + 1) / n_phases - 0.5
        t0 = gf[None, :] * np.exp(2j * np.pi * f[None, :] * shifts[:, None]) / n_fft  # 1/F of the IFFT folded in
        t1 = t0 * (2j * np.pi * f)[None, :]
        return FarrowKernel(shifts=shifts, t0=t0.astype(np.complex64), t1=t1.astype(np.complex64))


_KERNEL: FarrowKernel | None = None


def _kernel() -> FarrowKernel:
    global _KERNEL  # immutable design computed once (a cache, not state)
    if _KERNEL is None:
        _KERNEL = FarrowKernel.design()
    return _KERNEL


TrackFunc = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]


class CompensationTrack:
    """delay tau (s) and phase phi (cycles) vs send time, cubic Hermite between coarse knots.

    `func(t_s) -> (tau_s, dtau_dt, phi_cycles, dphi_dt_hz)` (e.g. a gateway.relay track); knots at
    absolute sample counters k * step_samples, computed lazily per segment of 256 knots.
    """

    _SEG = 256

    def __init__(self, func: TrackFunc, sample_rate_hz: float, step_s: float = 0.01):
        self.func = func
        self.fs = float(sample_rate_hz)
        self.step = max(1, int(round(step_s * self.fs)))  # knot spacing in samples
        self._segments: dict[int, np.ndarray] = {}

    def _seg(self, s: int) -> np.ndarray:
        arr = self._segments.get(s)
        if arr is None:
            k = np.arange(s * self._SEG, (s + 1) * self._SEG, dtype=np.int64)
            tau, dtau, phi, dphi = self.func((k * self.step) / self.fs)
            arr = np.stack([tau, dtau, phi, dphi])  # (4, SEG)
            if len(self._segments) > 64:
                self._segments.pop(next(iter(self._segments)))
            self._segments[s] = arr
        return arr

    def _knots(self, k: np.ndarray) -> np.ndarray:
        """(4, len(k)) knot values for integer knot indices k."""
        seg = np.floor_divide(k, self._SEG)
        out = np.empty((4, k.size))
        for s in np.unique(seg):
            sel = seg == s
            out[:, sel] = self._seg(int(s))[:, k[sel] - s * self._SEG]
        return out

    def evaluate(self, n: np.ndarray):
        """At float64 sample positions n: (tau_s, dtau/dt, phi_cycles, dphi/dt_hz) by cubic Hermite."""
        n = np.atleast_1d(np.asarray(n, dtype=np.float64))
        k = np.floor(n / self.step).astype(np.int64)
        u = (n - k * self.step) / self.step
        h = self.step / self.fs  # knot spacing in seconds
        a, b = self._knots(k), self._knots(k + 1)
        u2, u3 = u * u, u * u * u
        h00, h10, h01, h11 = 2 * u3 - 3 * u2 + 1, u3 - 2 * u2 + u, -2 * u3 + 3 * u2, u3 - u2
        d00, d10, d01, d11 = 6 * u2 - 6 * u, 3 * u2 - 4 * u + 1, -6 * u2 + 6 * u, 3 * u2 - 2 * u
        res = []
        for i in (0, 2):  # value rows tau, phi with derivative rows 1, 3
            y0, m0, y1, m1 = a[i], a[i + 1] * h, b[i], b[i + 1] * h
            res.append(h00 * y0 + h10 * m0 + h01 * y1 + h11 * m1)
            res.append((d00 * y0 + d10 * m0 + d01 * y1 + d11 * m1) / h)
        return res[0], res[1], res[2], res[3]


def choose_target_delay(max_delay_s: float, sample_rate_hz: float, margin_s: float = 1e-4) -> float:
    """Target delay D: largest two-hop delay + max(margin, resampler guard), rounded up to a whole us."""
    need = max_delay_s + max(margin_s, guard_s(sample_rate_hz))
    return float(np.ceil(need * 1e6) / 1e6)


class Compensator:
    """Streaming out(n) = in(n + delta(n)) exp(j 2 pi phi(n)) for the DL (direction='dl') or UL ('ul').

    `process(block: (L,) complex64, n0: int) -> (L,) complex64` for consecutive blocks (n0 = the
    sample counter of block[0]); any block sizes give the same output bit for bit.
    mode: 'off' (pass through), 'doppler' (phase only), 'delay' (time warp only), 'both'.
    """

    def __init__(self, track: CompensationTrack, target_delay_s: float, mode: str = "both",
                 direction: str = "dl"):
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        if direction not in ("dl", "ul"):
            raise ValueError(f"direction must be 'dl' or 'ul', got {direction!r}")
        self.track, self.mode, self.direction = track, mode, direction
        self.fs = track.fs
        self.target_delay_s = float(target_delay_s)
        self._lag_shift = self.target_delay_s * self.fs if direction == "ul" else 0.0
        self._kern = _kernel()
        j = np.arange(_M, dtype=np.float64) - (_M - 1) / 2.0
        self._j32 = j.astype(np.float32)
        self._ja = (np.arange(_M // _SUB) * _SUB - (_M - 1) / 2.0)  # coarse part of j
        self._jb = np.arange(_SUB, dtype=np.float64)  # fine part
        max_lag = int(np.ceil(self.target_delay_s * self.fs)) + _F + 8
        self._cap = 1 << int(np.ceil(np.log2(max_lag + 4 * 65536)))
        self._ring = np.zeros(2 * self._cap, dtype=np.complex64)
        self._windows = np.lib.stride_tricks.sliding_window_view(self._ring, _F)  # (2 cap - F + 1, F) view
        self._next_n: int | None = None
        self._piece = 65536

    # -- per-chunk parameters -------------------------------------------------------------------
    def _chunk_params(self, chunks: np.ndarray):
        centre = chunks * _M + (_M - 1) / 2.0
        tau, dtau, phi, dphi = self.track.evaluate(centre - self._lag_shift)
        delta = self.fs * (tau - self.target_delay_s)  # samples
        return delta, dtau, phi, dphi / self.fs  # (samples, samples/sample, cycles, cycles/sample)

    def _phasors(self, phi: np.ndarray, dphi: np.ndarray) -> np.ndarray:
        """(n_chunks, M) exp(j 2 pi (phi_c + dphi_c j)), outer product of coarse and fine ramps."""
        base = np.mod(phi, 1.0)[:, None]
        coarse = np.exp(2j * np.pi * (base + dphi[:, None] * self._ja[None, :])).astype(np.complex64)
        fine = np.exp(2j * np.pi * dphi[:, None] * self._jb[None, :]).astype(np.complex64)
        return (coarse[:, :, None] * fine[:, None, :]).reshape(-1, _M)

    def _write(self, block: np.ndarray, n0: int) -> None:
        """Store block at ring positions n mod cap and n mod cap + cap (so any window is contiguous)."""
        cap, p = self._cap, n0 % self._cap
        first = min(block.size, cap - p)
        for off in (0, cap):
            self._ring[off + p:off + p + first] = block[:first]
        rest = block.size - first
        if rest:
            for off in (0, cap):
                self._ring[off:off + rest] = block[first:]

    def _warp_chunks(self, chunks: np.ndarray, delta: np.ndarray, ddelta: np.ndarray) -> np.ndarray:
        """(n_chunks, M) in(n + delta(n)) by the first-order frequency-domain Farrow structure."""
        k_int = np.floor(delta + 0.5).astype(np.int64)
        frac = delta - k_int  # [-0.5, 0.5)
        q = np.clip(np.rint((frac + 0.5) * _Q).astype(np.int64), 0, _Q)
        resid = (frac - self._kern.shifts[q]).astype(np.float32)
        starts = (chunks * _M + k_int - _H) % self._cap
        # Pad the batch to a multiple of 16 transforms: pocketfft then takes its SIMD path for every
        # row, so a chunk's result does not depend on how many chunks share the call (bit-exactness).
        n = chunks.size
        n_pad = -(-n // 16) * 16
        rows = np.zeros(n_pad, dtype=np.int64)
        rows[:n] = starts
        qp = np.zeros(n_pad, dtype=np.int64)
        qp[:n] = q
        spec = sfft.fft(self._windows[rows], axis=1, workers=1)
        v0 = sfft.ifft(spec * self._kern.t0[qp], axis=1, norm="forward", workers=1)[:n, _H:_H + _M]
        v1 = sfft.ifft(spec * self._kern.t1[qp], axis=1, norm="forward", workers=1)[:n, _H:_H + _M]
        e = resid[:, None] + ddelta.astype(np.float32)[:, None] * self._j32[None, :]
        return v0 + e * v1

    def _max_delta(self, chunks: np.ndarray, delta: np.ndarray) -> None:
        if np.any(delta > -(_M + _H + 2)):
            bad = float(delta.max() / self.fs + self.target_delay_s)
            raise ValueError(
                f"target delay D = {self.target_delay_s * 1e3:.4f} ms is too small: the two-hop delay reaches "
                f"{bad * 1e3:.4f} ms and the resampler needs D >= delay + {guard_s(self.fs) * 1e6:.1f} us "
                "(use link.target_delay_s: auto)"
            )

    def process(self, block: np.ndarray, n0: int) -> np.ndarray:
        """Compensate one block starting at sample counter n0; returns a new (L,) complex64 array."""
        block = np.asarray(block)
        if block.ndim != 1:
            raise ValueError(f"block must be 1-D complex samples, got shape {block.shape}")
        if self._next_n is not None and n0 != self._next_n:
            raise ValueError(f"block starts at n0={n0} but the stream continues at {self._next_n}: gap or overlap")
        self._next_n = n0 + block.size
        block = block.astype(np.complex64, copy=False)
        if self.mode == "off" or block.size == 0:
            return block.copy()
        out = np.empty(block.size, dtype=np.complex64)
        for start in range(0, block.size, self._piece):
            piece = block[start:start + self._piece]
            self._process_piece(piece, n0 + start, out[start:start + piece.size])
        return out

    def _process_piece(self, piece: np.ndarray, n0: int, out: np.ndarray) -> None:
        if self.mode != "doppler":
            self._write(piece, n0)
        n_end = n0 + piece.size
        c0, c1 = n0 // _M, (n_end - 1) // _M
        chunks = np.arange(c0, c1 + 1, dtype=np.int64)
        delta, ddelta, phi, dphi = self._chunk_params(chunks)
        if self.mode in ("delay", "both"):
            self._max_delta(chunks, delta)
            y = self._warp_chunks(chunks, delta, ddelta)
        else:  # doppler only: the input itself, laid out in chunks
            y = np.zeros((chunks.size, _M), dtype=np.complex64)
            flat = y.reshape(-1)
            lo = n0 - c0 * _M
            flat[lo:lo + piece.size] = piece
        if self.mode in ("doppler", "both"):
            y = y * self._phasors(phi, dphi)
        lo = n0 - c0 * _M
        out[:] = y.reshape(-1)[lo:lo + piece.size]
