"""A handset's tracking receiver: follows one known cell through a stream, interval by interval.

Given a cell already found (PCI, N_RB, ports, the sample of a frame start with its SFN, the CFO), the
tracker takes consecutive samples at the cell's standard rate (`push`) and, per interval of K subframes
(100 ms by default), measures against a prediction it keeps up to date:

- prediction: subframe j (counted from the reference frame) starts at P_j = P_a + (j - j_a) r, with r the
  samples per subframe including the sample-clock / delay drift; the carrier offset is a straight line
  cfo(t) = c_a + c_rate (t - t_a). Each subframe's window starts at round(P_j) (a third of the CP
  early, as receiver.demodulate_subframes), is derotated by the predicted carrier phase (float64) and
  OFDM-demodulated; its known fractional start P_j - round(P_j) is removed as a phase ramp.
- timing: the residual delay common to the interval, first from the neighbouring-pilot phase
  (chest.estimate_delay), then refined by a least-squares phase slope across the band of the port-0
  CRS channel averaged over the interval (each CRS symbol's common phase removed first, one intercept
  per pilot set v = 0 / 3; TS 36.211 6.10.1.2). The measured frame timing at the interval centre is
  the prediction plus that residual; the drift (ns/s) is the difference of consecutive timings.
- carrier: the residual CFO from the port-0 CRS phase of every CRS symbol of the interval (as
  receiver._cfo_residual: coarse from the l=0 -> 4 -> 0 products, then a straight-line fit of the
  unwrapped phase against each symbol's own time, one intercept per pilot set).
- RSRP / SINR (chest.estimate_channel), CFI (PCFICH) on every `measure_every`-th subframe, the PBCH of a
  subframe 0 (central 72 subcarriers, MIB CRC and SFN match) once per interval, and every SIB1 occasion
  (SI-RNTI PDCCH, then its PDSCH at the SIB1 RV, TS 36.321 5.3.1: the CRC24A says whether it decoded);
  with a C-RNTI, that RNTI's PDSCH in every subframe (BLER).

The prediction is then re-anchored on the measurement: timing and CFO at the interval centre, drift
and CFO rate from the last two points. Used by `python -m gateway monitor` and by the pass demo's
handsets (gateway.pass_demo.track_pass).

Gaps (a phone in DRX): `push(x, start=n)` with n past the end of what was pushed drops the buffer and
carries the prediction across the gap (it is a straight line in the stream's sample index, so the
next interval is demodulated where the cell should be); the drift and CFO rate of the next point are
then measured over the gap, which is what makes a duty-cycled receiver's drift estimate precise.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass
from types import SimpleNamespace

import numpy as np

from phy.numerology import SAMPLE_RMS_FULL_LOAD, numerology
from phy.ofdm import ofdm_demodulate

from .chest import _bin_freq, apply_delay, crs_ls, crs_phase_track, estimate_channel, estimate_delay
from .mib import decode_mib
from .pcfich_rx import decode_cfi
from .pdcch_rx import SI_RNTI, blind_decode
from .pdsch_rx import is_pdsch_assignment, receive_pdsch

__all__ = ["TrackPoint", "CellTracker"]


@dataclass(frozen=True)
class TrackPoint:
    """One interval's KPIs. t_s: interval centre (s since stream sample 0, nominal rate); timing_samples:
    measured frame timing minus the nominal one (reference frame start + j x samples per subframe), in
    cell-rate samples (timing_ns the same in ns); drift_ns_s: timing change per second since the previous
    point (None for the first); rsrp_dbfs / sinr_db as phy.ue.CellReport; cfi: majority; mib_ok: every PBCH
    tried in the interval (the first subframe 0, or all with all_mibs) passed its CRC with the expected SFN
    (None: no subframe 0 measured); sib1_ok: the fraction of SIB1 occasions decoded (None: none)."""

    t_s: float
    sfn: int
    cfo_hz: float
    timing_samples: float
    timing_ns: float
    drift_ns_s: float | None
    rsrp_dbfs: float
    sinr_db: float
    cfi: int | None
    mib_ok: bool | None
    sib1_ok: float | None
    subframes: int
    user_blocks: int = 0
    bler: float | None = None
    # subframe index jm of the interval centre (from the reference frame) and its measured start
    # (stream sample, float): absolute timing for a caller that knows when the cell sent subframe jm
    subframe: float = 0.0
    position_samples: float = 0.0
    mib_decoded: int = 0  # PBCHs decoded (CRC and SFN) / subframes 0 measured (all_mibs: all of them)
    mib_sent: int = 0
    sib1_decoded: int = 0  # SIB1 occasions decoded / occasions in the interval
    sib1_sent: int = 0
    user_bits: int = 0  # transport-block bits of c_rnti's PDSCH that passed their CRC

    def as_dict(self) -> dict:
        return asdict(self)


class CellTracker:
    """Track one cell through consecutive cell-rate samples (see the module docstring).

    frame_start: cell-rate sample (stream index, float) where the frame with SFN `sfn` starts;
    cfo_hz: the carrier offset there; interval_s: KPI interval (whole subframes); measure_every:
    subframes between RSRP/SINR/CFI measurements (1 = all); clock_error: a known drift to start from
    (fraction); phich_*: the MIB's PHICH configuration (the PDCCH of the SIB1 occasions needs it);
    c_rnti: count this RNTI's PDSCH blocks and CRC failures in every subframe (BLER; costs a PDCCH blind
    decode per subframe); all_mibs: decode the PBCH of every subframe 0 of an interval (default: the
    first only)."""

    def __init__(
        self,
        pci: int,
        n_rb: int,
        n_ports: int,
        sfn: int,
        frame_start: float,
        cfo_hz: float,
        interval_s: float = 0.1,
        measure_every: int = 5,
        clock_error: float = 0.0,
        phich_duration: str = "normal",
        phich_resource: str = "one",
        c_rnti: int | None = None,
        all_mibs: bool = False,
    ):
        self.all_mibs = bool(all_mibs)
        self.phich_duration, self.phich_resource = phich_duration, phich_resource
        self.c_rnti = c_rnti
        self.pci, self.n_rb, self.n_ports, self.sfn0 = int(pci), int(n_rb), int(n_ports), int(sfn)
        num = numerology(self.n_rb)
        self.num = num
        self.fs = num.sample_rate_hz
        self.sp = num.samples_per_subframe
        self.k = max(1, int(round(interval_s * 1000)))
        self.measure_every = max(1, int(measure_every))
        self.fft_offset = int(num.cp_lengths.min()) // 3
        self.guard = int(num.cp_lengths.max())
        # prediction: anchor subframe j_a at sample p_a, r samples per subframe; cfo line
        self.j_a, self.p_a = 0, float(frame_start)
        self.r = self.sp * (1.0 + clock_error)
        self.t_a = self.p_a / self.fs
        self.c_a, self.c_rate = float(cfo_hz), 0.0
        self.nominal0 = float(frame_start)
        self.next_j = int(np.ceil((-0.5 - self.p_a) / self.r))  # first subframe wholly in the stream
        self._buf = np.zeros(0, np.complex64)
        self._buf_start = 0
        self.points: list[TrackPoint] = []

    # -- stream ---------------------------------------------------------------------------------
    def push(self, x: np.ndarray, start: int | None = None) -> list[TrackPoint]:
        """Append consecutive samples (N,) complex at the cell's rate; returns the intervals completed.
        start: stream index of x[0] (default: right after the previous push). A start past the end
        is a gap: the buffer is dropped, the prediction carried over, and tracking resumes at the first
        subframe wholly inside x; a start before the end raises ValueError."""
        end = self._buf_start + self._buf.size
        if start is not None and int(start) != end:
            if int(start) < end:
                raise ValueError(f"push: start {start} overlaps the samples already pushed (up to {end})")
            self._buf = np.zeros(0, np.complex64)
            self._buf_start = int(start)
            guard = self.fft_offset + 1  # the window starts round(P_j) must not fall before the buffer
            self.next_j = max(self.next_j, int(np.ceil((self._buf_start + guard - self.p_a) / self.r + self.j_a)))
        self._buf = np.concatenate([self._buf, np.asarray(x, dtype=np.complex64)])
        out = []
        while True:
            js = np.arange(self.next_j, self.next_j + self.k)
            end = int(np.round(self._start_of(js[-1]))) + self.sp  # windows lie inside their subframe
            if end > self._buf_start + self._buf.size:
                break
            out.append(self._interval(js))
            self.next_j += self.k
            keep_from = int(np.floor(self._start_of(self.next_j))) - 2 * self.guard - self._buf_start
            if keep_from > 0:
                self._buf = self._buf[keep_from:].copy()
                self._buf_start += keep_from
        self.points.extend(out)
        return out

    def _start_of(self, j) -> np.ndarray:
        return self.p_a + (np.asarray(j, dtype=np.float64) - self.j_a) * self.r

    # -- one interval ---------------------------------------------------------------------------
    def _interval(self, js: np.ndarray) -> TrackPoint:
        if not self.points and len(js) >= 4:
            self._first_pass(js)
        return self._measure(js)

    def _first_pass(self, js: np.ndarray) -> None:
        """Before the first point there is no drift or CFO rate to predict with: measure the interval's
        two halves (timing and CFO each) and start from the slopes between them."""
        h = len(js) // 2
        marks = []
        for part in (js[:h], js[h:]):
            grids, p = self._grids(part)
            sfs = part % 10
            d = estimate_delay(grids, self.pci, self.n_rb, sfs)
            grids = apply_delay(grids, d, self.n_rb)
            jm = float(np.mean(part))
            t_mid = float(self._start_of(jm)) / self.fs
            cfo = self.c_a + self.c_rate * (t_mid - self.t_a) + self._cfo_residual(grids, sfs, p)
            marks.append((jm, float(self._start_of(jm)) + d, t_mid, cfo))
        (j0, p0, t0, c0), (j1, p1, t1, c1) = marks
        self.r = (p1 - p0) / (j1 - j0)
        self.c_rate = (c1 - c0) / (t1 - t0)
        self.j_a, self.p_a, self.t_a, self.c_a = j0, p0, t0, c0

    def _grids(self, js: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Subframes js demodulated at the predicted timing and carrier: (grids (n, 14, 12 n_rb) with the
        known fractional start removed, predicted starts P_j (n,) float64)."""
        p = self._start_of(js)
        starts = np.round(p).astype(np.int64)
        idx = (starts - self._buf_start)[:, None] + np.arange(self.sp)[None, :]
        t = (starts[:, None] + np.arange(self.sp)[None, :]) / self.fs - self.t_a
        cycles = self.c_a * t + 0.5 * self.c_rate * t * t
        cycles -= np.floor(cycles)
        x = self._buf[idx] * np.exp(-2j * np.pi * cycles).astype(np.complex64)
        grids = ofdm_demodulate(x, self.n_rb, self.fft_offset)
        grids = np.stack([apply_delay(g, f, self.n_rb) for g, f in zip(grids, p - starts, strict=True)])
        return grids, p

    def _measure(self, js: np.ndarray) -> TrackPoint:
        n_rb, pci = self.n_rb, self.pci
        grids, p = self._grids(js)
        sfs = js % 10
        d1 = estimate_delay(grids, pci, n_rb, sfs)
        grids = apply_delay(grids, d1, n_rb)
        d2 = self._slope_delay(grids, sfs)
        grids = apply_delay(grids, d2, n_rb)
        delay = d1 + d2
        jm = float(np.mean(js))
        t_mid_abs = float(self._start_of(jm)) / self.fs
        cfo_res = self._cfo_residual(grids, sfs, p)
        cfo = self.c_a + self.c_rate * (t_mid_abs - self.t_a) + cfo_res
        timing = float(self._start_of(jm)) + delay
        nominal = self.nominal0 + jm * self.sp
        # KPIs on every measure_every-th subframe
        rsrp, noise, cfis = [], [], []
        for i in range(0, len(js), self.measure_every):
            est = estimate_channel(grids[i], pci, n_rb, self.n_ports, int(sfs[i]))
            rsrp.append(est.rsrp)
            noise.append(est.noise_var)
            cfis.append(decode_cfi(grids[i], est, pci, n_rb, self.n_ports, int(sfs[i]))[0])
        mib_decoded, mib_sent = self._mib(grids, js)
        sib1_decoded, sib1_sent = self._sib1(grids, js)
        blocks, errors, bits = self._user_blocks(grids, js) if self.c_rnti is not None else (0, 0, 0)
        prev = self.points[-1] if self.points else None
        timing_s = (timing - nominal) / self.fs
        drift = None if prev is None else (timing_s * 1e9 - prev.timing_ns) / (t_mid_abs - prev.t_s)
        point = TrackPoint(
            t_s=t_mid_abs,
            sfn=int((self.sfn0 + js[0] // 10) % 1024),
            cfo_hz=float(cfo),
            timing_samples=float(timing - nominal),
            timing_ns=float(timing_s * 1e9),
            drift_ns_s=None if drift is None else float(drift),
            rsrp_dbfs=float(10 * np.log10(np.mean(rsrp) * SAMPLE_RMS_FULL_LOAD**2 / (12 * n_rb))),
            sinr_db=float(10 * np.log10(np.mean(rsrp) / np.mean(noise))),
            cfi=Counter(cfis).most_common(1)[0][0] if cfis else None,
            mib_ok=None if not mib_sent else mib_decoded == mib_sent,
            sib1_ok=sib1_decoded / sib1_sent if sib1_sent else None,
            subframes=len(js),
            user_blocks=blocks,
            bler=errors / blocks if blocks else None,
            subframe=jm,
            position_samples=float(timing),
            mib_decoded=mib_decoded,
            mib_sent=mib_sent,
            sib1_decoded=sib1_decoded,
            sib1_sent=sib1_sent,
            user_bits=bits,
        )
        # re-anchor the prediction on the measurement
        if prev is not None:
            dt_samples = timing - self._last_timing
            self.r = dt_samples / (jm - self._last_jm)
            self.c_rate = (cfo - prev.cfo_hz) / (t_mid_abs - prev.t_s)
        self._last_timing, self._last_jm = timing, jm
        self.j_a, self.p_a = jm, timing
        self.t_a, self.c_a = t_mid_abs, cfo
        return point

    def _slope_delay(self, grids: np.ndarray, sfs: np.ndarray) -> float:
        """Residual delay (samples) from the phase slope across the band of the interval-averaged port-0
        CRS channel, each CRS symbol's common phase removed; one intercept per pilot set."""
        n_fft = self.num.fft_size
        fbin = _bin_freq(self.n_rb).astype(np.float64)
        acc: dict[int, np.ndarray] = {}
        keys: dict[int, np.ndarray] = {}
        for g, sf in zip(grids, sfs, strict=True):
            syms, k, h = crs_ls(g, self.pci, self.n_rb, int(sf), 0)
            h = h.astype(np.complex128)
            common = np.sum(h, axis=1, keepdims=True)
            h = h * np.exp(-1j * np.angle(common))
            for row in range(len(syms)):
                key = int(k[row, 0])
                if key not in acc:
                    acc[key] = np.zeros(k.shape[1], np.complex128)
                    keys[key] = fbin[k[row]]
                acc[key] += h[row]
        rows_a, rows_b, y, w = [], [], [], []
        sets = sorted(acc)
        for s_i, key in enumerate(sets):
            f = keys[key]
            order = np.argsort(f)
            ph = np.unwrap(np.angle(acc[key][order]))
            wt = np.abs(acc[key][order])
            for fi, pi, wi in zip(f[order], ph, wt, strict=True):
                row = np.zeros(len(sets))
                row[s_i] = 1.0
                rows_a.append(fi)
                rows_b.append(row)
                y.append(pi)
                w.append(wi)
        a = np.column_stack([np.asarray(rows_a), np.asarray(rows_b)])
        w = np.asarray(w)
        coef, *_ = np.linalg.lstsq(a * w[:, None], np.asarray(y) * w, rcond=None)
        # phase = -2 pi f tau / N_fft  ->  tau = -slope N / (2 pi)
        return float(-coef[0] * n_fft / (2 * np.pi))

    def _cfo_residual(self, grids: np.ndarray, sfs: np.ndarray, starts: np.ndarray) -> float:
        idx, z, kind = crs_phase_track(grids, self.pci, self.n_rb, sfs)
        if z.size < 3:
            return 0.0
        num = self.num
        lp = idx[:, 1]
        t_s = (starts[idx[:, 0]] + num.symbol_starts[lp] + num.cp_lengths[lp] - self.fft_offset + num.fft_size / 2)
        t_s = (t_s - t_s[0]) / self.fs
        prod = z[1:] * np.conj(z[:-1])
        dt = np.diff(t_s)
        first = kind[:-1] == 0
        adjacent = dt < 0.6 * num.samples_per_slot / self.fs
        a04, a40 = np.sum(prod[first & adjacent]), np.sum(prod[~first & adjacent])
        slot_s = num.samples_per_slot / self.fs
        coarse = float(np.angle(a04) + np.angle(a40)) / (2 * np.pi * slot_s) if a04 != 0 and a40 != 0 else 0.0
        phase = np.unwrap(np.angle(z * np.exp(-2j * np.pi * coarse * t_s)))
        a = np.stack([t_s, kind == 0, kind == 1], axis=1).astype(np.float64)
        w = np.abs(z)
        coef, *_ = np.linalg.lstsq(a * w[:, None], phase * w, rcond=None)
        return coarse + float(coef[0] / (2 * np.pi))

    def _sub_cell(self, grid: np.ndarray, sf: int):
        est = estimate_channel(grid, self.pci, self.n_rb, self.n_ports, sf)
        cfi, _ = decode_cfi(grid, est, self.pci, self.n_rb, self.n_ports, sf)
        cell = SimpleNamespace(
            n_rb_dl=self.n_rb, pci=self.pci, n_ports=self.n_ports, phich_duration=self.phich_duration,
            phich_resource=self.phich_resource, cfi=cfi, n_ctrl_symbols=cfi + (1 if self.n_rb <= 10 else 0),
        )
        return est, cell

    def _user_blocks(self, grids: np.ndarray, js: np.ndarray) -> tuple[int, int, int]:
        """(PDSCH blocks for c_rnti, CRC failures, bits decoded) over every subframe of the interval. A UE
        gets at most one DL assignment per subframe and cell (TS 36.213 7.1): when the blind decoding
        finds more than one DCI for c_rnti (a false alarm passes the RNTI-masked CRC16 about once per
        2^16 candidates), the block is the one whose transport-block CRC passes."""
        blocks = errors = bits = 0
        for grid, j in zip(grids, js, strict=True):
            sf = int(j) % 10
            est, cell = self._sub_cell(grid, sf)
            found = [f for f in blind_decode(grid, est.h, est.noise_var, cell, sf, c_rnti=self.c_rnti,
                                             common_rntis=()) if f.rnti == self.c_rnti and is_pdsch_assignment(f)]
            if not found:
                continue
            blocks += 1
            for f in found:
                tb = receive_pdsch(grid, est.h, est.noise_var, cell, sf, f)
                if tb.result.crc_ok:
                    bits += tb.grant.tbs
                    break
            else:
                errors += 1
        return blocks, errors, bits

    def _sib1(self, grids: np.ndarray, js: np.ndarray) -> tuple[int, int]:
        """(SIB1 occasions decoded, occasions): subframe 5 of even frames (TS 36.331 5.2.1.2)."""
        occasions = [i for i, j in enumerate(js) if j % 10 == 5 and (self.sfn0 + int(j) // 10) % 2 == 0]
        ok = 0
        for i in occasions:
            sfn = (self.sfn0 + int(js[i]) // 10) % 1024
            est, cell = self._sub_cell(grids[i], 5)
            k = (sfn // 2) % 4
            rv = ((3 * k + 1) // 2) % 4  # RV_K = ceil(3 K / 2) mod 4, K = (SFN / 2) mod 4 (TS 36.321 5.3.1)
            for f in blind_decode(grids[i], est.h, est.noise_var, cell, 5, common_rntis=(SI_RNTI,)):
                if f.rnti == SI_RNTI and is_pdsch_assignment(f):
                    if receive_pdsch(grids[i], est.h, est.noise_var, cell, 5, f, rv=rv).result.crc_ok:
                        ok += 1
                        break
        return ok, len(occasions)

    def _mib(self, grids: np.ndarray, js: np.ndarray) -> tuple[int, int]:
        """(PBCHs decoded with the expected SFN and bandwidth, subframes 0 tried): the first subframe 0 of
        the interval, or all of them with all_mibs (PBCH in subframe 0, TS 36.211 6.6.4)."""
        zero = np.flatnonzero(js % 10 == 0)
        zero = zero if self.all_mibs else zero[:1]
        n_sc = 12 * self.n_rb
        ok = 0
        for i in zero:
            centre = grids[i][:, n_sc // 2 - 36 : n_sc // 2 + 36]
            est = estimate_channel(centre, self.pci, 6, 2, 0)
            dec = decode_mib(centre, est, self.pci, 6)
            expected = (self.sfn0 + int(js[i]) // 10) % 1024
            ok += dec is not None and dec.mib.sfn == expected and dec.mib.n_rb_dl == self.n_rb
        return int(ok), int(zero.size)
