"""Handset cell search on the central 6 PRB at 1.92 Msps (TS 36.211 6.11, TS 36.213 4.1).

Steps, all on (N,) complex64 at SEARCH_RATE_HZ:
1. PSS: correlate with the 3 Zadoff-Chu replicas (TS 36.211 6.11.1.1), each shifted to a grid of
   carrier offsets (CFO_GRID_HZ, 5 kHz steps over +-25 kHz: a crystal's +-20 kHz with margin; the
   worst grid miss of 2.5 kHz costs < 0.5 dB of correlation over the 66.7 us symbol). |c|^2 and the
   window energy are folded modulo the 5 ms PSS period, so every PSS in the capture adds up.
   -> the best few (N_ID_2, coarse CFO, timing) candidates.
2. CFO from the PSS half-correlation phase (second half vs first half, 64 samples apart:
   unambiguous over +-15 kHz around the coarse value), averaged over every PSS occurrence.
3. SSS (TS 36.211 6.11.2.1): the symbol before each PSS, equalised with the PSS channel, correlated
   with the 168 x 2 sequences; occurrences alternate subframe 0 / 5 and are summed coherently.
   -> N_ID_1 and the frame boundary; the normalised SSS metric ranks the candidates (a PSS found at
   a wrong whole-subcarrier CFO correlates with a time-shifted replica, but its SSS does not).
4. CFO from the phase step between the known SSS and PSS (137 samples apart, +-7 kHz), combined with
   step 2.
Fine timing and the CRS-based CFO refinement run on demodulated grids (phy/ue/chest.py, receiver.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import scipy.fft

from phy.grid import subcarrier_bins
from phy.numerology import numerology
from phy.sync import PSS_SYMBOL, SSS_SYMBOL, pss_sequence, sss_sequence, sync_subcarriers

from .resample import SEARCH_RATE_HZ

__all__ = [
    "CFO_GRID_HZ",
    "CellNotFound",
    "CellSearch",
    "PssDetection",
    "pss_replica",
    "detect_pss",
    "estimate_cfo_pss",
    "detect_sss",
    "derotate",
    "cell_search",
]

CFO_GRID_HZ = np.arange(-25_000.0, 25_001.0, 5_000.0)  # coarse CFO hypotheses
_NUM = numerology(6)  # the 1.92 Msps search numerology
N_FFT = _NUM.fft_size  # 128
HALF_FRAME = 5 * _NUM.samples_per_subframe  # 9600 samples: PSS period
FRAME = 2 * HALF_FRAME
# useful part of the PSS symbol (l' = 6 of subframe 0) relative to the frame start: 832 samples
PSS_OFFSET = int(_NUM.symbol_starts[PSS_SYMBOL] + _NUM.cp_lengths[PSS_SYMBOL])
SSS_OFFSET = int(_NUM.symbol_starts[SSS_SYMBOL] + _NUM.cp_lengths[SSS_SYMBOL])
# PSS sanity threshold: folded peak over the mean folded metric. Noise alone reaches ~ln(3e5) ~ 13
# with one PSS period, so candidates are confirmed by the SSS and finally by the PBCH CRC.
PSS_MIN_PEAK_TO_MEAN = 8.0
# weight of the PSS-SSS phase-step CFO against the PSS half-correlation one (inverse-variance weights:
# the step spans 137 samples against 64, measured rms errors at -3 dB per RE ~ 0.6 : 1)
SYNC_CFO_WEIGHT = 0.7
SSS_SMOOTH = 7  # subcarriers averaged in the PSS channel estimate that equalises the SSS


class CellNotFound(RuntimeError):
    """No LTE cell could be found / read in the capture (too short, too noisy, or no cell)."""


@dataclass(frozen=True)
class PssDetection:
    """PSS search result at 1.92 Msps.

    positions: (n,) int64 start sample of the PSS useful part (after its CP) of every occurrence
    that fits in the capture; cfo_hz: coarse CFO (grid value); metric: folded peak / mean metric.
    """

    n_id_2: int
    positions: np.ndarray
    cfo_hz: float
    metric: float


@dataclass(frozen=True)
class CellSearch:
    """Cell identity and frame timing found on the 1.92 Msps stream.

    frame_start: sample (1.92 Msps) of a frame start, in [0, 19200); cfo_hz: PSS-based CFO estimate.
    """

    n_id_1: int
    n_id_2: int
    frame_start: int
    cfo_hz: float
    pss_metric: float
    sss_metric: float

    @property
    def pci(self) -> int:
        return 3 * self.n_id_1 + self.n_id_2


def _sync_bins() -> np.ndarray:
    """FFT bins (0..127) of the 62 PSS/SSS subcarriers at 1.92 Msps (6.11.1.2, DC skipped)."""
    return subcarrier_bins(6)[sync_subcarriers(6)]


@lru_cache(maxsize=3)
def _pss_time(n_id_2: int) -> np.ndarray:
    spectrum = np.zeros(N_FFT, dtype=np.complex128)
    spectrum[_sync_bins()] = pss_sequence(n_id_2)
    r = np.fft.ifft(spectrum)
    r /= np.linalg.norm(r)
    r.setflags(write=False)
    return r


def pss_replica(n_id_2: int, cfo_hz: float = 0.0) -> np.ndarray:
    """Unit-energy time-domain PSS symbol (no CP) at 1.92 Msps, shifted by cfo_hz. (128,) complex128."""
    m = np.arange(N_FFT)
    return _pss_time(n_id_2) * np.exp(2j * np.pi * cfo_hz * m / SEARCH_RATE_HZ)


def _fold(v: np.ndarray, period: int) -> np.ndarray:
    n_per = -(-v.shape[-1] // period)
    padded = np.zeros((*v.shape[:-1], n_per * period), dtype=v.dtype)
    padded[..., : v.shape[-1]] = v
    return padded.reshape(*v.shape[:-1], n_per, period).sum(axis=-2)


def detect_pss(x: np.ndarray, cfo_grid_hz: np.ndarray = CFO_GRID_HZ, n_candidates: int = 4) -> list[PssDetection]:
    """Best (N_ID_2, CFO hypothesis, timing mod 5 ms) peaks of the normalised PSS correlation.

    x: (N,) complex at 1.92 Msps. Returns up to `n_candidates` detections (one per (N_ID_2, CFO
    hypothesis), best first): a Zadoff-Chu PSS shifted by whole subcarriers also correlates with
    a time-shifted replica, so the SSS decides between them (cell_search). Raises CellNotFound when the
    best folded peak is not PSS_MIN_PEAK_TO_MEAN times the mean.
    """
    x = np.asarray(x, dtype=np.complex64)
    n_valid = x.size - N_FFT + 1
    if n_valid < 1:
        raise CellNotFound(f"capture of {x.size} samples at 1.92 Msps is shorter than one OFDM symbol")
    # FFT length a multiple of fs / 5 kHz = 384: the 5 kHz CFO steps are then whole bins and a shifted
    # replica's spectrum is a circular shift of the unshifted one (one inverse FFT per hypothesis)
    step = int(round(SEARCH_RATE_HZ / 5e3))
    n_fft = step * scipy.fft.next_fast_len(-(-(x.size + N_FFT) // step))
    spec_x = scipy.fft.fft(x, n_fft)
    spec_r0 = [scipy.fft.fft(pss_replica(n_id_2), n_fft) for n_id_2 in range(3)]
    energy = np.cumsum(np.concatenate([[0.0], np.abs(x.astype(np.complex128)) ** 2]))
    window_energy = energy[N_FFT:] - energy[:-N_FFT]  # (n_valid,)
    period = min(HALF_FRAME, n_valid)
    # floor the energy at 1 % of its mean: windows over silent stretches (a lightly loaded noiseless
    # grid has all-zero symbols) would otherwise divide FFT round-off by round-off
    folded_energy = _fold(window_energy, period)
    folded_energy += 1e-2 * float(np.mean(folded_energy)) + 1e-30
    peaks = []  # (metric, n_id_2, cfo_hz, lag)
    total, count = 0.0, 0
    for n_id_2 in range(3):
        for cfo_hz in cfo_grid_hz:
            shift = cfo_hz * n_fft / SEARCH_RATE_HZ
            if abs(shift - round(shift)) < 1e-9:  # r(m) exp(j 2 pi k m / L)  <->  R(b - k)
                spec_r = np.roll(spec_r0[n_id_2], int(round(shift)))
            else:
                spec_r = scipy.fft.fft(pss_replica(n_id_2, cfo_hz), n_fft)
            c = scipy.fft.ifft(spec_x * np.conj(spec_r))[:n_valid]
            metric = _fold(np.abs(c) ** 2, period) / folded_energy
            i = int(np.argmax(metric))
            total += float(metric.sum())
            count += metric.size
            peaks.append((float(metric[i]), n_id_2, float(cfo_hz), i))
    peaks.sort(key=lambda p: -p[0])
    mean = max(total / count, 1e-30)
    if peaks[0][0] / mean < PSS_MIN_PEAK_TO_MEAN:
        raise CellNotFound(f"no PSS found (peak/mean {peaks[0][0] / mean:.1f} < {PSS_MIN_PEAK_TO_MEAN})")
    return [
        PssDetection(
            n_id_2=n_id_2,
            positions=np.arange(lag, n_valid, HALF_FRAME, dtype=np.int64),
            cfo_hz=cfo_hz,
            metric=peak / mean,
        )
        for peak, n_id_2, cfo_hz, lag in peaks[:n_candidates]
    ]


def estimate_cfo_pss(x: np.ndarray, n_id_2: int, positions: np.ndarray, cfo_coarse_hz: float) -> float:
    """CFO from the phase between the PSS halves (64 samples apart), summed over `positions`.

    Unambiguous for |CFO - cfo_coarse_hz| < 15 kHz (halves 64 samples = 33.3 us apart): the result is
    cfo_coarse_hz + angle / (2 pi 64 / fs). A fractional-sample timing error biases it by up to a few
    hundred Hz; the CRS stage (receiver.py) removes that.
    """
    r = pss_replica(n_id_2, cfo_coarse_hz)
    half = N_FFT // 2
    seg = np.stack([x[p : p + N_FFT] for p in positions]).astype(np.complex128) * np.conj(r)
    c1, c2 = seg[:, :half].sum(axis=1), seg[:, half:].sum(axis=1)
    acc = np.sum(c2 * np.conj(c1))
    return cfo_coarse_hz + float(np.angle(acc)) * SEARCH_RATE_HZ / (2 * np.pi * half)


def derotate(x: np.ndarray, cfo_hz: float, fs_hz: float, n0: int = 0) -> np.ndarray:
    """x[n] * exp(-j 2 pi cfo (n0 + n) / fs): removes a carrier offset (float64 phase). complex64."""
    n = np.arange(n0, n0 + x.size, dtype=np.float64)
    phase = (-cfo_hz / fs_hz) * n
    phase -= np.floor(phase)  # keep the argument small before the exp (float64 turns)
    return (x * np.exp(2j * np.pi * phase).astype(np.complex64)).astype(np.complex64, copy=False)


@lru_cache(maxsize=3)
def _sss_table(n_id_2: int) -> np.ndarray:
    """(2, 168, 62) float64: SSS of every N_ID_1 for subframe 0 (index 0) and 5 (index 1)."""
    t = np.array([[sss_sequence(n1, n_id_2, sf) for n1 in range(168)] for sf in (0, 5)])
    t.setflags(write=False)
    return t


def detect_sss(x: np.ndarray, n_id_2: int, positions: np.ndarray, n_best: int = 2) -> list[tuple[int, bool, float]]:
    """Best (N_ID_1, positions[0] is the PSS of subframe 0 (True) or 5 (False), metric) hypotheses.

    x: CFO-corrected (N,) complex at 1.92 Msps; positions: PSS useful-part starts (from detect_pss).
    Each SSS symbol (TS 36.211 6.11.2.2: l' = 5, just before the PSS) is equalised by the PSS channel
    (smoothed over SSS_SMOOTH subcarriers); metric = Re sum_k Z_k d(k) summed over occurrences with
    alternating subframe 0 / 5, normalised by sum |Z_k| (1.0 = noiseless). Returns n_best, best first.
    """
    gap = PSS_OFFSET - SSS_OFFSET  # 137 samples from the SSS useful part to the PSS useful part
    bins = _sync_bins()
    d_pss = pss_sequence(n_id_2)
    table = _sss_table(n_id_2)
    kernel = np.ones(SSS_SMOOTH) / SSS_SMOOTH
    score = np.zeros((2, 168))
    norm = 0.0
    used = 0
    for i, p in enumerate(positions):
        if p - gap < 0 or p + N_FFT > x.size:
            continue
        y_pss = np.fft.fft(x[p : p + N_FFT])[bins]
        y_sss = np.fft.fft(x[p - gap : p - gap + N_FFT])[bins]
        h_ls = y_pss * np.conj(d_pss)
        h = np.convolve(h_ls, kernel, mode="same") / np.convolve(np.ones(62), kernel, mode="same")
        z = y_sss * np.conj(h)
        a = table @ z.real  # (2, 168): Re(z) against subframe-0 and subframe-5 sequences
        # hypothesis 0: occurrence 0 is subframe 0 -> occurrence i is subframe 0 if i even
        score += a if i % 2 == 0 else a[::-1]
        norm += float(np.sum(np.abs(z)))
        used += 1
    if used == 0:
        raise CellNotFound("no complete PSS/SSS pair in the capture")
    order = np.argsort(score, axis=None)[::-1][:n_best]
    out = []
    for flat in order:
        hyp, n_id_1 = np.unravel_index(int(flat), score.shape)
        out.append((int(n_id_1), bool(hyp == 0), float(score[hyp, n_id_1] / max(norm, 1e-30))))
    return out


def estimate_cfo_sync(x: np.ndarray, n_id_1: int, n_id_2: int, positions: np.ndarray, first_is_sf0: bool) -> float:
    """Residual CFO (Hz) from the phase step between the SSS and the PSS channel (137 samples apart).

    x: (N,) complex at 1.92 Msps, already corrected by the current CFO estimate. With the SSS known
    (detect_sss), H_pss(k) conj(H_sss(k)) summed over the 62 subcarriers and every occurrence has
    phase 2 pi f 137 / fs: unambiguous over +-7 kHz and, unlike the PSS half-correlation, free of
    the bias of a fractional timing error (both symbols see the same delay).
    """
    gap = PSS_OFFSET - SSS_OFFSET
    bins = _sync_bins()
    d_pss = pss_sequence(n_id_2)
    d_sss = {0: sss_sequence(n_id_1, n_id_2, 0), 5: sss_sequence(n_id_1, n_id_2, 5)}
    acc = 0j
    for i, p in enumerate(positions):
        if p - gap < 0 or p + N_FFT > x.size:
            continue
        subframe = 0 if (i % 2 == 0) == first_is_sf0 else 5
        h_pss = np.fft.fft(x[p : p + N_FFT])[bins] * np.conj(d_pss)
        h_sss = np.fft.fft(x[p - gap : p - gap + N_FFT])[bins] * d_sss[subframe]
        acc += np.sum(h_pss * np.conj(h_sss))
    return float(np.angle(acc)) * SEARCH_RATE_HZ / (2 * np.pi * gap)


def cell_search(
    x: np.ndarray, n_candidates: int = 3, detections: list[PssDetection] | None = None, n_sss: int = 2
) -> list[CellSearch]:
    """PSS + CFO + SSS on (N,) complex at 1.92 Msps: up to n_candidates cells, best SSS metric first.

    Each PSS candidate (detect_pss, or the given `detections`, e.g. phy.ue.scan's multi-peak search)
    gets its half-correlation CFO and an SSS search (n_sss best N_ID_1 hypotheses); candidates are
    ranked by the normalised SSS metric (a wrong whole-subcarrier CFO or N_ID_2 leaves no SSS
    correlation). The caller confirms one with the PBCH CRC. Raises CellNotFound.
    """
    x = np.asarray(x)
    found = []
    for pss in detect_pss(x) if detections is None else detections:
        cfo_hz = estimate_cfo_pss(x, pss.n_id_2, pss.positions, pss.cfo_hz)
        xc = derotate(x, cfo_hz, SEARCH_RATE_HZ)
        try:
            hyps = detect_sss(xc, pss.n_id_2, pss.positions, n_best=n_sss)
        except CellNotFound:
            continue
        p0 = int(pss.positions[0])
        for n_id_1, first_is_sf0, sss_metric in hyps:
            step_hz = estimate_cfo_sync(xc, n_id_1, pss.n_id_2, pss.positions, first_is_sf0)
            cfo_sync_hz = cfo_hz + SYNC_CFO_WEIGHT * step_hz
            frame_start = p0 - PSS_OFFSET - (0 if first_is_sf0 else HALF_FRAME)
            found.append(
                CellSearch(
                    n_id_1=n_id_1,
                    n_id_2=pss.n_id_2,
                    frame_start=frame_start % FRAME,
                    cfo_hz=cfo_sync_hz,
                    pss_metric=pss.metric,
                    sss_metric=sss_metric,
                )
            )
    if not found:
        raise CellNotFound("no complete PSS/SSS pair in the capture")
    found.sort(key=lambda c: -c.sss_metric)
    unique: list[CellSearch] = []
    for c in found:  # neighbouring CFO hypotheses find the same cell: keep the best of each
        if not any(u.pci == c.pci and u.frame_start == c.frame_start for u in unique):
            unique.append(c)
    return unique[:n_candidates]
