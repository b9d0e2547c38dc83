"""Streaming Doppler/delay pre-compensation (DL) and post-compensation (UL), DESIGN.md 3.

    out(n) = in(n + delta(n)) * exp(+j 2 pi phi(n))          n = integer sample counter at fs
DL pre-compensation:  delta(n) = fs (tau_hat(n/fs) - D),        phi(n) = phi_hat(n/fs)
UL post-compensation: delta(n) = fs (tau_ul(n/fs - D) - D),     phi(n) = phi_ul(n/fs - D)
with tau_hat/phi_hat the two-hop delay/phase indexed by send time (orbit.relay), so the beam
centre receives x(t - D) with no Doppler and no drift, and the eNodeB sees its UL at 2D.

How (all NumPy array code, no per-sample loop):
- `CompensationTrack`: tau and phi on a coarse grid of absolute sample counters (default 10 ms),
  values and analytic derivatives -> cubic Hermite interpolation in float64 (C1, error O(h^4)).
  Knots are computed lazily in fixed absolute segments, so they do not depend on the blocks.
- The stream is cut into fixed absolute segments of S = 256 samples; per segment delta, phi and
  their slopes at the segment centre (float64). Each segment is split into sub-chunks of M = 16
  samples; a sub-chunk reads its input at the integer part k of delta (at the sub-chunk centre)
  through the 8-tap Farrow interpolator of dsp.farrow (shared with the channel simulator) whose
  taps are the polynomial (order 5) in the fraction mu, evaluated once per sub-chunk.
  The drift of delta inside one sub-chunk (< 4e-4 sample at 5e-5 s/s) is left out:
  -72 dB against the interpolator's own -62 dB (LTE 20 MHz, 0.293 fs occupied).
- Per-sub-chunk parameters (delta, k, taps, phasors) are computed for whole aligned batches of
  B = 65536 samples at once and sliced by each block: few NumPy calls per block, and values that
  depend only on the absolute sample counter.
- Array layout: sub-chunk samples along axis 0, sub-chunks along axis 1 ("transposed"), so the
  per-sub-chunk taps broadcast along contiguous rows and the 8-tap sum is one einsum over
  float32 views of the complex64 samples. Runs of constant k are gathered with strided views.
- Phase: float64 cycles per segment; per-sub-chunk start phasors (float32 cos/sin of the fraction
  in [0, 1)) and the within-sub-chunk ramp by 4 doubling steps with e^{j 2 pi dphi 2^m} (complex64).
- Input history lives in a linear buffer (rewound when full) and work arrays are reused; a
  sub-chunk is always computed from the same samples with the same arithmetic, so the output does
  not depend on the block partition.
Latency rule: the DL output at n reads input up to n + delta(n) + M + 4, so D must exceed the
largest delay by `guard_s(fs)`; `choose_target_delay` adds it.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable

import numpy as np

from dsp.farrow import N_TAPS, farrow_kernel

__all__ = [
    "MODES", "CompensationTrack", "Compensator", "choose_target_delay", "guard_s",
]

MODES = ("off", "doppler", "delay", "both")

_S = 256  # segment: delay/phase and slopes evaluated once at its centre (float64)
_MS = 16  # sub-chunk: one set of interpolator taps (constant fraction mu)
_NSUB = _S // _MS
_B = 65536  # parameter batch: taps and phasors of B samples (aligned) computed together
_NT = N_TAPS  # interpolator taps (dsp.farrow), at offsets -3..4 around the integer read position
_T0 = -(_NT // 2 - 1)


def guard_s(sample_rate_hz: float) -> float:
    """Extra target delay the streaming interpolator needs beyond the largest delay (seconds)."""
    return (_MS + _NT + 4) / sample_rate_hz


TrackFunc = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]


class CompensationTrack:
    """delay tau (s) and phase phi (cycles) vs send time, cubic Hermite between coarse knots.

    `func(t_s) -> (tau_s, dtau_dt, phi_cycles, dphi_dt_hz)` (e.g. an orbit.relay track); knots at
    absolute sample counters k * step_samples, computed lazily per segment of 256 knots.
    """

    _SEG = 256

    def __init__(self, func: TrackFunc, sample_rate_hz: float, step_s: float = 0.01):
        self.func = func
        self.fs = float(sample_rate_hz)
        self.step = max(1, int(round(step_s * self.fs)))  # knot spacing in samples
        self._segments: dict[int, np.ndarray] = {}
        self._polys: dict[int, np.ndarray] = {}

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

    def _coeffs(self, k: np.ndarray) -> np.ndarray:
        """(2, 4, len(k)) power-basis coefficients in u of the cubic Hermite on knot intervals k
        (rows tau, phi): value = c0 + c1 u + c2 u^2 + c3 u^3, u in [0, 1) across the interval."""
        a, b = self._knots(k), self._knots(k + 1)
        h = self.step / self.fs  # knot spacing in seconds
        c = np.empty((2, 4, k.size))
        for r, i in enumerate((0, 2)):  # value rows tau, phi with derivative rows 1, 3
            y0, m0, y1, m1 = a[i], a[i + 1] * h, b[i], b[i + 1] * h
            c[r] = (y0, m0, 3 * (y1 - y0) - 2 * m0 - m1, 2 * (y0 - y1) + m0 + m1)
        return c

    def interval(self, k: int) -> np.ndarray:
        """(2, 4) cached power-basis coefficients (rows tau, phi) of knot interval k, see `_coeffs`."""
        c = self._polys.get(k)
        if c is None:
            c = self._coeffs(np.array([k]))[:, :, 0]
            if len(self._polys) > 64:
                self._polys.pop(next(iter(self._polys)))
            self._polys[k] = c
        return c

    def evaluate(self, n: np.ndarray):
        """At float64 sample positions n: (tau_s, dtau/dt, phi_cycles, dphi/dt_hz) by cubic Hermite."""
        n = np.atleast_1d(np.asarray(n, dtype=np.float64))
        k = np.floor(n / self.step).astype(np.int64)
        u = (n - k * self.step) / self.step
        k_lo = int(k.min())
        if k_lo == int(k.max()):  # a streaming block inside one knot interval: cached coefficients
            c = self.interval(k_lo)[:, :, None]
        else:
            c = self._coeffs(k)
        val = ((c[:, 3] * u + c[:, 2]) * u + c[:, 1]) * u + c[:, 0]
        der = ((3 * c[:, 3] * u + 2 * c[:, 2]) * u + c[:, 1]) * (self.fs / self.step)
        return val[0], der[0], val[1], der[1]


def choose_target_delay(max_delay_s: float, sample_rate_hz: float, margin_s: float = 1e-4) -> float:
    """Target delay D: largest two-hop delay + max(margin, resampler guard), rounded up to a whole us."""
    need = max_delay_s + max(margin_s, guard_s(sample_rate_hz))
    return float(np.ceil(need * 1e6) / 1e6)


class Compensator:
    """Streaming out(n) = in(n + delta(n)) exp(j 2 pi phi(n)) for the DL (direction='dl') or UL ('ul').

    `process(block: (L,) complex64, n0: int) -> (L,) complex64` for consecutive blocks (n0 = the
    sample counter of block[0]); any block sizes give the same output (to float32 rounding).
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
        lag_shift = self.target_delay_s * self.fs if direction == "ul" else 0.0
        self._centre_off = (_S - 1) / 2.0 - lag_shift  # track position of segment s's centre: s S + this
        self._coeffs32 = farrow_kernel().coeffs.astype(np.float32)  # (P+1, NT)
        half = (_S - 1) / 2.0
        # offsets (samples) from the segment centre of each sub-chunk's centre and first sample
        self._sub_centre = np.arange(_NSUB) * _MS + (_MS - 1) / 2.0 - half
        self._sub_start = np.arange(_NSUB) * _MS - half
        self._pow2 = 2.0 ** np.arange(4)[:, None]  # doubling steps 1, 2, 4, 8 of the phase ramp (M = 16)
        # input history: a read is at most D fs + NT/2 samples back (delta >= -D fs since tau >= 0)
        self._hist = int(np.ceil(self.target_delay_s * self.fs)) + _S + 64
        self._buf = np.zeros(0, dtype=np.complex64)  # linear history buffer, rewound when full
        self._base = 0  # sample counter of self._buf[0]
        self._next_n: int | None = None
        self._polys: dict[int, np.ndarray] = {}
        self._batch_index: int | None = None
        self._batch: dict = {}
        self._g = np.empty((_MS + _NT - 1, _B // _MS + 1), dtype=np.complex64)  # input windows, one per column
        self._acc = np.empty((_MS, _B // _MS + 1), dtype=np.complex64)  # warped samples, one column per sub-chunk

    # -- per-batch parameters (depend only on the absolute sample counter) ----------------------
    def _poly(self, k: int) -> np.ndarray:
        """(4, 4) power coefficients in u (across knot interval k) of the rows delta (samples), its slope
        (samples/sample), phi (cycles), phi slope (cycles/sample), from the track's cubic Hermite."""
        p = self._polys.get(k)
        if p is None:
            c_tau, c_phi = self.track.interval(k)
            der = np.array([1.0, 2.0, 3.0]) / self.track.step  # d/dn of u^p, u = (n - k step) / step
            p = np.zeros((4, 4))
            p[0] = self.fs * c_tau
            p[0, 0] = self.fs * (c_tau[0] - self.target_delay_s)
            p[1, :3] = self.fs * c_tau[1:] * der
            p[2] = c_phi
            p[3, :3] = c_phi[1:] * der
            if len(self._polys) > 64:
                self._polys.pop(next(iter(self._polys)))
            self._polys[k] = p
        return p

    def _segments(self, s0: int, s1: int) -> np.ndarray:
        """(4, n_seg) float64 rows delta, delta slope, phi, phi slope (see `_poly`) at the centres of
        segments s0..s1 (cubic Hermite of the track, Horner in float64)."""
        off, step = self._centre_off, self.track.step
        n = np.arange(s0, s1 + 1, dtype=np.int64) * _S + off
        k = np.floor(n / step)
        k0, k1 = int(k[0]), int(k[-1])
        out = np.empty((4, n.size))
        for kk in range(k0, k1 + 1):
            m = slice(None) if k0 == k1 else k == kk  # the segments in knot interval kk
            u = (n[m] - kk * step) / step
            p = self._poly(kk)
            r = p[:, 3:] * u
            for i in (2, 1, 0):
                r += p[:, i:i + 1]
                if i:
                    r *= u
            out[:, m] = r
        return out

    def _phasors(self, phi: np.ndarray, dphi: np.ndarray) -> np.ndarray:
        """(M, n_seg * NSUB) complex64 exp(j 2 pi (p_sub + dphi j)), j = 0..M-1 down axis 0, for every
        sub-chunk of the segments: start phase of each sub-chunk from float64 cycles, then 4 doubling
        steps by e^{j 2 pi dphi 2^m} (complex64)."""
        p_sub = (phi[:, None] + dphi[:, None] * self._sub_start).reshape(-1)
        p_sub -= np.floor(p_sub)
        ang = (2 * np.pi * p_sub).astype(np.float32)  # fraction of a cycle: float32 ok
        rate = self._pow2 * dphi
        rate -= np.floor(rate)
        rate = (2 * np.pi * rate).astype(np.float32)
        rot = np.empty(rate.shape, dtype=np.complex64)  # e^{j 2 pi dphi 2^m}, (4, n_seg)
        np.cos(rate, out=rot.real)
        np.sin(rate, out=rot.imag)
        rot = np.repeat(rot, _NSUB, axis=1)
        p = np.empty((_MS, p_sub.size), dtype=np.complex64)
        np.cos(ang, out=p[0].real)
        np.sin(ang, out=p[0].imag)
        n = 1
        for m in range(4):  # rows [n, 2n) = rows [0, n) * e^{j 2 pi dphi n}
            np.multiply(p[:n], rot[m], out=p[n:2 * n])
            n *= 2
        return p

    def _taps(self, mu: np.ndarray) -> np.ndarray:
        """(NT, nc) complex64 holding each sub-chunk's real Farrow taps in both the real and imaginary
        slot, so its float32 view (NT, 2 nc) weights the interleaved re/im samples alike."""
        upow = np.empty((self._coeffs32.shape[0], mu.size), dtype=np.float32)
        upow[0] = 1.0
        np.subtract(mu, 0.5, out=upow[1], casting="same_kind")
        for p in range(2, upow.shape[0]):
            np.multiply(upow[p - 1], upow[1], out=upow[p])
        # einsum, not matmul: a BLAS call this small may wake OpenBLAS threads that cost more than the work
        w = np.einsum("pk,pc->kc", self._coeffs32, upow)
        w2 = np.empty(w.shape, dtype=np.complex64)
        w2.real = w
        w2.imag = w
        return w2

    def _params(self, b: int) -> dict:
        """Per-sub-chunk parameters of batch b (samples b B .. (b+1) B - 1, sub-chunks along axis -1):
        delta at the centres (float64), integer part k, the starts of the runs of constant k, the taps
        (`_taps`) and the phasors (`_phasors`). Computed once per batch, for whole batches only, so
        they do not depend on the block sizes."""
        if b != self._batch_index:
            seg = self._segments(b * (_B // _S), (b + 1) * (_B // _S) - 1)
            par: dict = {}
            if self.mode != "doppler":
                d_sub = (seg[0][:, None] + seg[1][:, None] * self._sub_centre).reshape(-1)
                k_int = np.floor(d_sub)
                k64 = k_int.astype(np.int64)
                starts = np.r_[0, np.flatnonzero(k64[1:] != k64[:-1]) + 1]  # ~1.5 runs per ms
                par["d_sub"], par["cuts"] = d_sub, starts[1:].tolist()
                par["d_max"] = float(d_sub.max())
                par["k"] = dict(zip(starts.tolist(), k64[starts].tolist(), strict=True))
                par["w2"] = self._taps(d_sub - k_int)
            if self.mode != "delay":
                par["ph"] = self._phasors(seg[2], seg[3])
            self._batch_index, self._batch = b, par
        return self._batch

    # -- streaming ---------------------------------------------------------------------------------
    def _write(self, block: np.ndarray, n0: int) -> None:
        """Append block (sample counters n0..) to the linear history buffer; when it is full, move the
        last `hist` samples to its start (amortised: the buffer holds several histories)."""
        if self._buf.size == 0:
            self._buf = np.zeros(4 * self._hist + 2 * _B, dtype=np.complex64)
            self._base = n0 - self._hist
        pos = n0 - self._base
        if pos + block.size > self._buf.size:
            self._buf[:self._hist] = self._buf[pos - self._hist:pos]
            self._base, pos = n0 - self._hist, self._hist
        self._buf[pos:pos + block.size] = block

    def _warp(self, c0: int, a0: int, a1: int, par: dict) -> np.ndarray:
        """(M, nc) complex64 in(n + delta) for the batch's sub-chunks a0..a1 (absolute c0 + a0 ..), one per
        column: gather each input window (runs of constant integer delay), then the 8-tap Farrow sum as
        one einsum over float32 views."""
        nc = a1 - a0 + 1
        g = self._g[:, :nc]  # sub-chunk c's input window in column c
        cuts = par["cuts"]
        i0 = bisect.bisect_right(cuts, a0)
        bounds = [a0, *cuts[i0:bisect.bisect_right(cuts, a1)], a1 + 1]
        k_run = par["k"][cuts[i0 - 1] if i0 else 0]  # integer delay of the run holding a0
        for a, b in zip(bounds[:-1], bounds[1:], strict=True):
            k_run = par["k"].get(a, k_run)
            start = (c0 + a) * _MS + k_run + _T0 - self._base  # buffer index of the first input read
            if start < 0:
                raise ValueError("negative delay: the track gives tau < 0 (check the track function)")
            # rows 0..M-1: the run's samples, one sub-chunk per column (one transposing copy); rows M.. of a
            # column are the first NT-1 rows of the next column (same run), the last column's read directly
            stop = start + (b - a) * _MS
            ga, gb = a - a0, b - a0
            np.copyto(g[:_MS, ga:gb], self._buf[start:stop].reshape(b - a, _MS).T)
            np.copyto(g[_MS:, ga:gb - 1], g[:_NT - 1, ga + 1:gb])
            g[_MS:, gb - 1] = self._buf[stop:stop + _NT - 1]
        w2 = par["w2"][:, a0:a1 + 1].view(np.float32)  # (NT, 2 nc)
        gr = g.view(np.float32)  # (M + NT - 1, 2 nc), re/im interleaved
        win = np.ndarray((_NT, _MS, 2 * nc), dtype=np.float32, buffer=self._g,
                         strides=(gr.strides[0],) + gr.strides)
        acc = self._acc[:, :nc]
        np.einsum("kc,kjc->jc", w2, win, out=acc.view(np.float32))
        return acc

    def _max_delta(self, d_sub: np.ndarray) -> None:
        # a sub-chunk reads up to (its first sample) + M - 1 + floor(delta) + NT/2: keep it in the past
        d_max = float(d_sub.max())
        if d_max > -(_MS + _NT):
            bad = d_max / self.fs + self.target_delay_s
            raise ValueError(
                f"target delay D = {self.target_delay_s * 1e3:.4f} ms is too small: the two-hop delay reaches "
                f"{bad * 1e3:.4f} ms and the resampler needs D >= delay + {guard_s(self.fs) * 1e6:.2f} us "
                "(use link.target_delay_s: auto)"
            )

    @staticmethod
    def _to_natural(acc: np.ndarray, lo: int, out: np.ndarray) -> None:
        """out[i] = sample lo + i of acc's natural order (column c holds samples M c .. M c + M - 1)."""
        size, nc = out.size, acc.shape[1]
        head = (_MS - lo) % _MS  # samples of a partial first sub-chunk
        if nc < 3 or head >= size:
            out[:] = acc.T.reshape(-1)[lo:lo + size]
            return
        if head:
            out[:head] = acc[lo:, 0]
        a = 1 if head else 0
        full = (size - head) // _MS
        np.copyto(out[head:head + full * _MS].reshape(full, _MS), acc[:, a:a + full].T)
        tail = size - head - full * _MS
        if tail:
            out[size - tail:] = acc[:tail, a + full]

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
        start = 0
        while start < block.size:  # pieces inside one parameter batch
            stop = min(block.size, (n0 + start) // _B * _B + _B - n0)
            self._process_piece(block[start:stop], n0 + start, out[start:stop])
            start = stop
        return out

    def _process_piece(self, piece: np.ndarray, n0: int, out: np.ndarray) -> None:
        size = piece.size
        b = n0 // _B
        par = self._params(b)
        c0 = b * (_B // _MS)  # first sub-chunk of the batch
        a0, a1 = n0 // _MS - c0, (n0 + size - 1) // _MS - c0  # the piece's sub-chunks in the batch
        lo = n0 % _MS
        if self.mode == "doppler":
            self._to_natural(par["ph"][:, a0:a1 + 1], lo, out)
            np.multiply(out, piece, out=out)
            return
        self._write(piece, n0)
        if par["d_max"] > -(_MS + _NT):  # the batch comes too close: check the piece's own sub-chunks
            self._max_delta(par["d_sub"][a0:a1 + 1])
        acc = self._warp(c0, a0, a1, par)  # (M, nc): sub-chunk c0 + a0 + i in column i
        if self.mode == "both":
            np.multiply(acc, par["ph"][:, a0:a1 + 1], out=acc)
        self._to_natural(acc, lo, out)
