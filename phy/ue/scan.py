"""Multi-cell scan of a whole capture, the way a phone's cell search sees a band (TS 36.211 6.11, 36.213 4.1).

The capture is a `SampleSource` (sample_rate_hz, n_samples, read(start, count) -> complex64 at 1.0 full
scale), read piece by piece so memory stays bounded whatever its length:

1. Statistics pass over every sample (IqStats): DC, IQ imbalance (blind Gram-Schmidt correction,
   phy.ue.iq_input), level, clipping, non-finite values.
2. Detection windows (WINDOW_S long, spread evenly over the capture, at most `max_windows`): each is
   conditioned, converted to a working rate (the standard LTE rate of the widest cell the input rate
   covers) and searched: PSS correlation at 1.92 Msps over a CFO grid spanning +-cfo_range_hz (5 kHz
   steps, the replica shifted in frequency as phy.ue.cell_search.detect_pss does over its fixed
   +-25 kHz) keeping several timing peaks per N_ID_2 (co-channel cells at other timings), then SSS
   per peak (cell_search), then each candidate confirmed by read_cell (PBCH CRC: PCI, ports, MIB,
   SFN, fine timing and CFO, RSRP/SINR, CFI).
3. Per cell, its frame timing across windows gives the capture's sample-clock error against the cell
   (timing drift), and its CFO per window a straight line in time (a Doppler ramp).
4. System information, for each cell with SINR >= min_sinr_db when the input rate covers its
   N_RB x 180 kHz, by the reader the caller passes (mac.ue_system_info.read_system_info: SIB1, then the
   SI windows SIB1 announces, decoded subframe by subframe at the timing and CFO this model predicts).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import scipy.fft

from phy.numerology import numerology

from .cell_search import (
    FRAME,
    HALF_FRAME,
    N_FFT,
    PSS_MIN_PEAK_TO_MEAN,
    CellNotFound,
    CellSearch,
    PssDetection,
    _fold,
    cell_search,
    pss_replica,
)
from .iq_input import IqCorrection, IqStats, condition, resample_to
from .receiver import MAX_DURATION_S, CellReport, read_cell
from .resample import SEARCH_RATE_HZ

__all__ = [
    "SampleSource",
    "ScanSettings",
    "CellTrack",
    "ScannedCell",
    "ScanResult",
    "scan",
    "pss_peaks",
    "find_cells",
    "covers_band",
    "MIN_CAPTURE_S",
]

WINDOW_S = 0.05  # detection window (read_cell reads at most 50 ms)
FULL_BAND_S = 0.012  # full-band read per cell and window: a PSS/SSS pair, subframe 0 and 10 more subframes
MIN_CAPTURE_S = 0.005  # one PSS/SSS pair (11 ms guarantee a whole subframe 0 after it, whatever the start)
STANDARD_RATES = {n_rb: numerology(n_rb).sample_rate_hz for n_rb in (6, 15, 25, 50, 75, 100)}
STATS_CHUNK = 1 << 20  # samples per read of the statistics pass
MIN_REPORT_SINR_DB = -10.0  # a PBCH CRC pass with CRS this far under the noise is a false alarm
# after the MIN_TRIED best, candidates whose normalised SSS metric is below SSS_MIN_METRIC are not tried:
# PSS aliases (a wrong whole-subcarrier CFO) and noise peaks measure 0.1 .. 0.22 over 50 ms, a cell at
# 10 dB ~ 0.97, the other half-frame hypothesis of a cell ~ 0.5
SSS_MIN_METRIC = 0.25
MIN_TRIED = 4


class SampleSource(Protocol):
    sample_rate_hz: float

    @property
    def n_samples(self) -> int: ...

    def read(self, start: int, count: int) -> np.ndarray: ...


@dataclass(frozen=True)
class ScanSettings:
    """cfo_range_hz: carrier offsets searched (+-); max_windows: detection windows over the capture;
    max_cells: cells listed; min_sinr_db: SIB decoding only for cells at least this strong;
    decode_si: read SIB1/SIB2; correct_iq: apply the blind IQ-imbalance correction; check_clipping: note
    samples at full scale (integer ADC formats)."""

    cfo_range_hz: float = 30e3
    max_windows: int = 6
    max_cells: int = 8
    min_sinr_db: float = -6.0
    decode_si: bool = True
    correct_iq: bool = True
    check_clipping: bool = True  # integer ADC samples: note samples at full scale (cf32 has no full scale)


def covers_band(sample_rate_hz: float, n_rb: int) -> bool:
    """The input rate holds the whole occupied band N_RB x 180 kHz (TS 36.101 5.6)."""
    return sample_rate_hz >= n_rb * 180e3


def pss_peaks(xs: np.ndarray, cfo_range_hz: float, max_peaks: int = 12, exclusion: int = 3) -> list[PssDetection]:
    """PSS timing peaks of (N,) complex at 1.92 Msps over CFO hypotheses -range .. +range in 5 kHz steps.

    As detect_pss (normalised correlation folded modulo 5 ms), but per N_ID_2 the metric is maximised over
    the CFO hypotheses at every lag and the best `max_peaks` lags overall are kept (each with its best
    CFO), `exclusion` samples apart: a weaker co-channel cell at another timing is a peak of its own.
    A whole-subcarrier CFO error makes a Zadoff-Chu PSS correlate at a shifted lag, so some peaks are
    aliases of a stronger cell: the SSS and the PBCH CRC sort them out. Raises CellNotFound."""
    x = np.asarray(xs, dtype=np.complex64)
    n_valid = x.size - N_FFT + 1
    if n_valid < 1:
        raise CellNotFound(f"capture of {x.size} samples at 1.92 Msps is shorter than one OFDM symbol")
    step = int(round(SEARCH_RATE_HZ / 5e3))
    n_fft = step * scipy.fft.next_fast_len(-(-(x.size + N_FFT) // step))
    n_steps = int(np.floor(cfo_range_hz / 5e3 + 1e-9))
    grid = 5e3 * np.arange(-n_steps, n_steps + 1)
    spec_x = scipy.fft.fft(x, n_fft)
    energy = np.cumsum(np.concatenate([[0.0], np.abs(x.astype(np.complex128)) ** 2]))
    period = min(HALF_FRAME, n_valid)
    folded_energy = _fold(energy[N_FFT:] - energy[:-N_FFT], period)
    folded_energy += 1e-2 * float(np.mean(folded_energy)) + 1e-30
    peaks = []  # (metric, n_id_2, cfo_hz, lag)
    total, count = 0.0, 0
    for n_id_2 in range(3):
        spec_r0 = scipy.fft.fft(pss_replica(n_id_2), n_fft)
        best = np.zeros(period)
        best_cfo = np.zeros(period)
        for cfo_hz in grid:
            shift = int(round(cfo_hz * n_fft / SEARCH_RATE_HZ))  # whole bins: n_fft is a multiple of 384
            c = scipy.fft.ifft(spec_x * np.conj(np.roll(spec_r0, shift)))[:n_valid]
            metric = _fold(np.abs(c) ** 2, period) / folded_energy
            total += float(metric.sum())
            count += metric.size
            better = metric > best
            best[better] = metric[better]
            best_cfo[better] = cfo_hz
        work = best.copy()
        for _ in range(max_peaks):
            i = int(np.argmax(work))
            if work[i] <= 0:
                break
            peaks.append((float(best[i]), n_id_2, float(best_cfo[i]), i))
            lo, hi = i - exclusion, i + exclusion + 1
            idx = np.arange(lo, hi) % period
            work[idx] = 0.0
    mean = max(total / max(count, 1), 1e-30)
    peaks.sort(key=lambda p: -p[0])
    kept = [p for p in peaks if p[0] / mean >= PSS_MIN_PEAK_TO_MEAN][:max_peaks]
    if not kept:
        best_ratio = peaks[0][0] / mean if peaks else 0.0
        raise CellNotFound(f"no PSS found (peak/mean {best_ratio:.1f} < {PSS_MIN_PEAK_TO_MEAN})")
    return [
        PssDetection(n_id_2, np.arange(lag, n_valid, HALF_FRAME, dtype=np.int64), cfo_hz, peak / mean)
        for peak, n_id_2, cfo_hz, lag in kept
    ]


def find_cells(
    x: np.ndarray, sample_rate_hz: float, cfo_range_hz: float = 30e3, max_cells: int = 8
) -> list[CellReport]:
    """Every cell read in one window (N,) complex64 at `sample_rate_hz` (<= 50 ms used), strongest RSRP
    first. Candidates: pss_peaks -> cell_search (SSS, 2 N_ID_1 hypotheses each), best SSS metric first,
    each confirmed by the PBCH CRC (read_cell on the 1.92 Msps stream); a confirmed cell whose band
    the input rate covers is read again at its own rate on FULL_BAND_S around one of its frames
    (full-band CRS: CFI, RSRP, SINR, fine timing). The reports' timing_offset_samples are input-rate
    samples (float) from the window start. Raises CellNotFound when none is read."""
    return [r for r, _ in _find_cells(x, sample_rate_hz, cfo_range_hz, max_cells)]


def _full_band(x: np.ndarray, fs_in: float, report: CellReport, cs: CellSearch, fs_s: float):
    """read_cell at the cell's rate on FULL_BAND_S of x from 1 ms before the frame the narrowband read
    found (PSS/SSS and subframe 0 inside): (report with window-relative input-rate timing, centre of the
    samples its timing averages) or None when that fails."""
    fs_cell = STANDARD_RATES[report.n_rb_dl]
    frame_in = 0.01 * fs_in
    t0 = report.timing_offset_samples * fs_in / fs_s
    length = int(round(FULL_BAND_S * fs_in))
    s_in = int(np.floor(t0 - 1e-3 * fs_in))
    while s_in < 0:
        s_in += int(frame_in)
    if s_in + length > x.size:
        s_in, length = 0, x.size
    xc, fs_c = resample_to(x[s_in : s_in + length], fs_in, fs_cell)
    shifted = dataclasses.replace(cs, frame_start=int(round(cs.frame_start - s_in * fs_s / fs_in)) % FRAME)
    try:
        full = read_cell(xc, fs_cell, candidates=[shifted])
    except CellNotFound:
        return None
    timing = s_in + full.timing_offset_samples * fs_in / fs_c
    return dataclasses.replace(full, timing_offset_samples=timing), s_in + length / 2


def _find_cells(
    x: np.ndarray, fs_in: float, cfo_range_hz: float, max_cells: int
) -> list[tuple[CellReport, float]]:
    """find_cells, each report with the input sample (from the window start) at the centre of the samples
    its fine timing averages (read_cell's timing is their mean delay: with a clock error, the delay there)."""
    fs_in = float(fs_in)
    xs, fs_s = resample_to(x, fs_in, SEARCH_RATE_HZ)
    detections = pss_peaks(xs, cfo_range_hz)
    candidates = cell_search(xs, n_candidates=4 * len(detections), detections=detections, n_sss=2)
    found: list[tuple[CellReport, CellSearch]] = []
    failures: list[str] = []
    for rank, cs in enumerate(candidates):
        if len(found) >= max_cells or (rank >= MIN_TRIED and cs.sss_metric < SSS_MIN_METRIC):
            break
        if any(r.pci == cs.pci for r, _ in found):
            continue
        try:
            report = read_cell(xs, SEARCH_RATE_HZ, candidates=[cs])
        except CellNotFound as err:
            failures.append(str(err))
            continue
        if report.sinr_db >= MIN_REPORT_SINR_DB:
            found.append((report, cs))
    if not found:
        raise CellNotFound("; ".join(failures[:3]) or "no cell confirmed by its PBCH")
    out = []
    for report, cs in found:
        n_rb = report.n_rb_dl
        full = None
        if n_rb > 6 and covers_band(fs_in, n_rb):
            full = _full_band(x, fs_in, report, cs, fs_s)
        if full is None:
            used = min(x.size, int(round(MAX_DURATION_S * fs_in)))
            timing = report.timing_offset_samples * fs_in / fs_s
            full = dataclasses.replace(report, timing_offset_samples=timing), used / 2
        out.append(full)
    out.sort(key=lambda rc: -rc[0].rsrp_dbfs)
    return out


@dataclass
class CellTrack:
    """One cell's observations across the detection windows: its CellReport in each, the input-rate
    sample of the frame start that report's SFN names, the time (s) at the centre of the samples the
    report averaged, and the CFO."""

    reports: list[CellReport] = field(default_factory=list)
    frame_starts: list[float] = field(default_factory=list)
    times_s: list[float] = field(default_factory=list)
    cfos_hz: list[float] = field(default_factory=list)

    def add(self, report: CellReport, frame_start: float, time_s: float) -> None:
        self.reports.append(report)
        self.frame_starts.append(frame_start)
        self.times_s.append(time_s)
        self.cfos_hz.append(report.cfo_hz)

    @property
    def first(self) -> CellReport:
        return self.reports[0]

    def cfo_line(self) -> tuple[float, float]:
        """(CFO at t = 0 in Hz, CFO rate in Hz/s): a straight line through the per-window CFOs
        (constant, the median, with fewer than 3 windows)."""
        c = np.asarray(self.cfos_hz)
        if c.size < 3:
            return float(np.median(c)), 0.0
        t = np.asarray(self.times_s)
        rate, c0 = np.polyfit(t, c, 1)
        return float(c0), float(rate)


@dataclass
class SystemInfo:
    """What was read from SIB1/SIB2 of one cell (plain values; sib2 the pycrate dict)."""

    subframes_decoded: int = 0
    sib1_ok: int = 0
    sib1_tx: int = 0
    si_ok: int = 0
    si_tx: int = 0
    sib1: dict | None = None
    sib2: dict | None = None
    paging_dcis: int = 0
    note: str = ""


@dataclass
class ScannedCell:
    """One cell of the scan: first window's CellReport plus the capture-wide figures."""

    report: CellReport
    frame_start_sample: float  # input-rate sample of the frame with SFN `sfn`
    sfn: int
    cfo_hz: float
    cfo_rate_hz_s: float
    clock_error_ppm: float
    rsrp_dbfs: float
    sinr_db: float
    windows_seen: int
    full_band: bool
    system_info: SystemInfo | None = None

    def as_dict(self) -> dict:
        r = self.report
        out = {
            "pci": r.pci,
            "n_id_1": r.n_id_1,
            "n_id_2": r.n_id_2,
            "n_ports": r.n_ports,
            "n_rb_dl": r.n_rb_dl,
            "bandwidth_mhz": {6: 1.4, 15: 3, 25: 5, 50: 10, 75: 15, 100: 20}[r.n_rb_dl],
            "phich_duration": r.phich_duration,
            "phich_resource": r.phich_resource,
            "sfn": self.sfn,
            "frame_start_sample": self.frame_start_sample,
            "cfo_hz": self.cfo_hz,
            "cfo_rate_hz_s": self.cfo_rate_hz_s,
            "clock_error_ppm": self.clock_error_ppm,
            "timing_drift_ns_s": self.clock_error_ppm * 1e3,
            "rsrp_dbfs": self.rsrp_dbfs,
            "sinr_db": self.sinr_db,
            "cfi": r.cfi,
            "windows_seen": self.windows_seen,
            "full_band": self.full_band,
        }
        out["system_info"] = None if self.system_info is None else dataclasses.asdict(self.system_info)
        return out


@dataclass
class ScanResult:
    sample_rate_hz: float
    n_samples: int
    windows: int
    iq: IqCorrection
    power_dbfs: float
    clipped_fraction: float
    non_finite: int
    cells: list[ScannedCell]
    notes: list[str]

    @property
    def duration_s(self) -> float:
        return self.n_samples / self.sample_rate_hz

    def as_dict(self) -> dict:
        return {
            "sample_rate_hz": self.sample_rate_hz,
            "duration_s": self.duration_s,
            "windows": self.windows,
            "dc_offset": [self.iq.dc.real, self.iq.dc.imag],
            "iq_image_rejection_db": self.iq.image_rejection_db,
            "power_dbfs": self.power_dbfs,
            "clipped_fraction": self.clipped_fraction,
            "non_finite_samples": self.non_finite,
            "cells": [c.as_dict() for c in self.cells],
            "notes": list(self.notes),
        }


Progress = Callable[[float, str], None]


def _window_starts(n_samples: int, n_win: int, max_windows: int) -> list[int]:
    if n_samples <= n_win:
        return [0]
    count = int(np.clip(round(n_samples / (2 * n_win)), 2, max(2, max_windows)))
    return [int(s) for s in np.linspace(0, n_samples - n_win, count).round()]


def _statistics(source: SampleSource, progress: Progress | None) -> IqStats:
    stats = IqStats()
    n = source.n_samples
    for start in range(0, n, STATS_CHUNK):
        stats.add(source.read(start, STATS_CHUNK))
        if progress:
            progress(min(1.0, (start + STATS_CHUNK) / n), "reading")
    return stats


SiReader = Callable[[SampleSource, "ScannedCell", IqCorrection, "Progress | None"], SystemInfo]


def scan(
    source: SampleSource,
    settings: ScanSettings = ScanSettings(),
    progress: Progress | None = None,
    read_system_info: SiReader | None = None,
) -> ScanResult:
    """Scan a whole capture (see the module docstring). read_system_info: the SIB reader of step 4
    (mac.ue_system_info.read_system_info; phy imports nothing from mac, so the caller passes it;
    None: no SIBs). Raises CellNotFound when no cell is read, ValueError when the capture is shorter
    than MIN_CAPTURE_S or the rate below 1.92 Msps."""
    fs = float(source.sample_rate_hz)
    n = int(source.n_samples)
    if not np.isfinite(fs) or fs < SEARCH_RATE_HZ:
        raise ValueError(f"sample rate {fs:g} Hz is below 1.92 Msps, the central 6 PRB of an LTE cell")
    if n < MIN_CAPTURE_S * fs:
        raise ValueError(
            f"the capture holds {n} samples ({1e3 * n / fs:.2f} ms); a scan needs at least "
            f"{MIN_CAPTURE_S * 1e3:.0f} ms (11 ms always hold a PSS/SSS pair and a whole subframe 0)"
        )
    notes: list[str] = []
    stats = _statistics(source, progress)
    iq = stats.correction() if settings.correct_iq else IqCorrection(dc=stats.dc)
    if stats.non_finite:
        notes.append(f"{stats.non_finite} non-finite sample(s) were zeroed")
    n_win = int(round(WINDOW_S * fs))
    starts = _window_starts(n, n_win, settings.max_windows)
    tracks: dict[int, CellTrack] = {}
    failures: list[str] = []
    for w, start in enumerate(starts):
        x, _ = condition(source.read(start, n_win), iq)
        try:
            reports = _find_cells(x, fs, settings.cfo_range_hz, settings.max_cells)
        except CellNotFound as err:
            failures.append(str(err))
            reports = []
        for r, centre in reports:
            g = start + r.timing_offset_samples
            tracks.setdefault(r.pci, CellTrack()).add(r, g, (start + centre) / fs)
        if progress:
            progress((w + 1) / len(starts), "searching")
    if not tracks:
        raise CellNotFound(f"no LTE cell found in {len(starts)} window(s): {failures[0] if failures else ''}")
    cells = [_summarise(t, fs) for t in tracks.values()]
    cells.sort(key=lambda c: -c.rsrp_dbfs)
    cells = cells[: settings.max_cells]
    for c in cells:
        if not c.full_band:
            notes.append(
                f"PCI {c.report.pci}: {fs / 1e6:g} Msps covers only the central 6 PRB of its "
                f"{c.report.n_rb_dl}-PRB band: MIB only (no CFI, SIB1/SIB2)"
            )
    if settings.decode_si and read_system_info is not None:
        strong = [c for c in cells if c.full_band and c.sinr_db >= settings.min_sinr_db]
        for i, c in enumerate(strong):
            sub = None
            if progress:
                def sub(f, label, i=i):  # noqa: E306
                    progress((i + f) / len(strong), label)
            c.system_info = read_system_info(source, c, iq, sub)
    clipped = stats.clipped / max(stats.n, 1)
    if settings.check_clipping and clipped > 1e-4:
        notes.append(f"{100 * clipped:.2f} % of the samples are at full scale (clipping): lower the gain")
    return ScanResult(
        sample_rate_hz=fs,
        n_samples=n,
        windows=len(starts),
        iq=iq,
        power_dbfs=float(10 * np.log10(max(stats.power, 1e-30))),
        clipped_fraction=clipped,
        non_finite=stats.non_finite,
        cells=cells,
        notes=notes,
    )


def _summarise(track: CellTrack, fs: float) -> ScannedCell:
    first = track.first
    frame_len = 0.01 * fs
    # frame starts unwrapped with the SFN each window decoded: frame k after the first has SFN sfn0 + k
    g = np.asarray(track.frame_starts)
    ks = np.array([((r.sfn - first.sfn + 512) % 1024) - 512 for r in track.reports], dtype=np.float64)
    resid = g - g[0] - ks * frame_len
    clock = 0.0
    if len(g) >= 2 and np.ptp(ks) > 0:
        a = np.stack([np.ones_like(ks), ks * frame_len], axis=1)
        clock = float(np.linalg.lstsq(a, resid, rcond=None)[0][1])
    # read_cell's fine timing averages the window: with a clock error it is the delay at the window
    # centre, carried to the frame start it reports; move it back to that frame's own time
    centres = np.asarray(track.times_s) * fs
    g = g - clock * (centres - g)
    # report the earliest whole frame of the capture (frames of frame_len (1 + clock) samples)
    frame_eff = frame_len * (1 + clock)
    back = int(np.floor((g[0] + 0.5) / frame_eff))
    g0, sfn0 = float(g[0] - back * frame_eff), (first.sfn - back) % 1024
    c0, c_rate = track.cfo_line()
    t_mid = float(np.mean(track.times_s))
    rsrp = float(10 * np.log10(np.mean([10 ** (r.rsrp_dbfs / 10) for r in track.reports])))
    sinr = float(10 * np.log10(np.mean([10 ** (r.sinr_db / 10) for r in track.reports])))
    return ScannedCell(
        report=first,
        frame_start_sample=g0,
        sfn=sfn0,
        cfo_hz=c0 + c_rate * t_mid,
        cfo_rate_hz_s=c_rate,
        clock_error_ppm=clock * 1e6,
        rsrp_dbfs=rsrp,
        sinr_db=sinr,
        windows_seen=len(track.reports),
        full_band=first.n_rb_dl == 6 or covers_band(fs, first.n_rb_dl),
    )
