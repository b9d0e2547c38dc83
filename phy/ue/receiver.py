"""The emulated handset's broadcast receiver: samples in, CellReport out (TS 36.211/36.212/36.213/36.214).

read_cell(samples, sample_rate_hz):
1. resample to 1.92 Msps (central 6 PRB) and run cell search (PSS -> N_ID_2, coarse timing, CFO over
   +-25 kHz; SSS -> N_ID_1, frame boundary), phy/ue/cell_search.py;
2. demodulate every complete subframe at 1.92 Msps, fine timing from the CRS phase slope, CFO
   refinement from the CRS phase over the whole capture (straight-line fit of the unwrapped phase),
   repeated twice;
3. PBCH of the first decodable subframe 0: blind port count (1 or 2) and SFN mod 4 (phy/ue/mib.py);
4. with N_RB from the MIB: demodulate the full band at the cell's standard rate when the input rate
   allows it (else CFI is unknown for N_RB > 6), CRS channel estimate per subframe, PCFICH -> CFI of each
   subframe, RSRP and SINR from the CRS.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

from phy.numerology import SAMPLE_RMS_FULL_LOAD, numerology
from phy.ofdm import ofdm_demodulate

from .cell_search import CellNotFound, CellSearch, cell_search, derotate
from .chest import apply_delay, crs_phase_track, estimate_channel, estimate_delay
from .mib import MibDecode, decode_mib
from .pcfich_rx import decode_cfi
from .resample import SEARCH_RATE_HZ, resample, to_search_rate

__all__ = ["CellReport", "CellNotFound", "read_cell", "check_finite", "MAX_DURATION_S"]

MAX_DURATION_S = 0.05  # read_cell analyses at most the first 50 ms of a capture
_CFO_ITERATIONS = 2


@dataclass(frozen=True)
class CellReport:
    """What the handset learnt about the cell.

    sfn: SFN of the frame that starts at `timing_offset_samples`.
    timing_offset_samples: input-rate sample index of a frame start, in [0, frame length).
    cfi: majority CFI over the decoded subframes (None when the full band could not be demodulated:
      input at 1.92 Msps and N_RB > 6); cfi_per_subframe: (j, cfi) with j the subframe index counted
      from the frame at timing_offset_samples (subframe number j mod 10, negative j = previous frame).
    cfo_hz: carrier offset of the input (the receiver multiplies by exp(-j 2 pi cfo_hz t)).
    rsrp_dbfs: power of one port-0 CRS resource element as a time-domain tone, dB relative to a
      full-scale (amplitude 1.0) complex sample (TS 36.214 5.1.1 RSRP, referred to digital full scale);
      a unit RE of the project's OFDM scaling at N_RB is 20 log10(SAMPLE_RMS_FULL_LOAD) - 10 log10(12 N_RB).
    sinr_db: per-RE SNR (RSRP over the noise per RE, the phy/awgn.py convention) from the CRS.
    """

    pci: int
    n_id_1: int
    n_id_2: int
    n_rb_dl: int
    n_ports: int
    phich_duration: str
    phich_resource: str
    sfn: int
    cfi: int | None
    cfi_per_subframe: tuple[tuple[int, int], ...]
    cfo_hz: float
    timing_offset_samples: int
    rsrp_dbfs: float
    sinr_db: float


@dataclass(frozen=True)
class _Grids:
    """Complete subframes of a derotated stream at the rate of `n_rb`, demodulated.

    grids (n_sf, 14, 12 n_rb); js (n_sf,) subframe indices relative to `start` (subframe number j mod
    10); start: integer sample of the assumed frame start; delay: fine-timing correction in samples
    (true frame start = start + delay), already removed from the grids.
    """

    grids: np.ndarray
    js: np.ndarray
    start: int
    delay: float
    fft_offset: int


def _demodulate(x: np.ndarray, fs_hz: float, n_rb: int, frame_start: float, cfo_hz: float, n_id_cell: int) -> _Grids:
    num = numerology(n_rb)
    sp = num.samples_per_subframe
    start = int(round(frame_start))
    j_min = -(start // sp)
    j_max = (x.size - sp - start) // sp
    if j_max < j_min:
        raise CellNotFound(f"capture of {x.size} samples holds no complete subframe at n_rb={n_rb}")
    js = np.arange(j_min, j_max + 1)
    grids, delay, fft_offset = demodulate_subframes(derotate(x, cfo_hz, fs_hz), n_rb, start, js, n_id_cell)
    return _Grids(grids, js, start, delay, fft_offset)


def demodulate_subframes(
    x: np.ndarray, n_rb: int, start: int, js: np.ndarray, n_id_cell: int
) -> tuple[np.ndarray, float, int]:
    """OFDM-demodulate subframes j = js (frame-relative) of a CFO-corrected capture `x` at the cell's rate.

    Subframe j starts at sample start + j * samples_per_subframe; the FFT window is a third of the CP
    early (room for a timing error) and the residual timing is measured on the CRS and removed.
    Returns (grids (len(js), 14, 12 n_rb) complex64, residual delay in samples, fft_offset).
    """
    num = numerology(n_rb)
    sp = num.samples_per_subframe
    idx = (start + js * sp)[:, None] + np.arange(sp)[None, :]
    fft_offset = int(num.cp_lengths.min()) // 3
    grids = ofdm_demodulate(x[idx], n_rb, fft_offset)
    delay = estimate_delay(grids, n_id_cell, n_rb, js % 10)
    return apply_delay(grids, delay, n_rb), delay, fft_offset


def _cfo_residual(g: _Grids, n_rb: int, fs_hz: float, n_id_cell: int) -> float:
    """Residual CFO (Hz) from the port-0 CRS phase z_i of every CRS symbol of the capture.

    Stage 1 (coarse, +-1.75 kHz): the CRS symbols alternate l = 0 and l = 4, whose pilots sit on
    different subcarriers (TS 36.211 6.10.1.2, v = 0 / 3), so a channel phase offset phi between the
    two sets enters the l=0 -> l=4 products as +phi and the l=4 -> next l=0 products as -phi; the sum
    of both angles is 2 pi f x (one slot) free of phi. Products are summed over the capture first.
    Stage 2 (fine): after removing stage 1, unwrap the phases and fit a straight line in time with one
    intercept per pilot set; the slope is the residual CFO.
    """
    idx, z, kind = crs_phase_track(g.grids, n_id_cell, n_rb, g.js % 10)
    if z.size < 3:
        return 0.0
    num = numerology(n_rb)
    sp = num.samples_per_subframe
    lp = idx[:, 1]
    t_samples = (
        g.start + g.js[idx[:, 0]] * sp + num.symbol_starts[lp] + num.cp_lengths[lp] - g.fft_offset + num.fft_size / 2
    )
    t_s = t_samples / fs_hz
    prod = z[1:] * np.conj(z[:-1])
    dt = np.diff(t_s)
    first = kind[:-1] == 0
    adjacent = dt < 0.6 * num.samples_per_slot / fs_hz  # consecutive CRS symbols of one subframe stream
    a04 = np.sum(prod[first & adjacent])
    a40 = np.sum(prod[~first & adjacent])
    if a04 != 0 and a40 != 0:
        slot_s = num.samples_per_slot / fs_hz
        coarse_hz = float(np.angle(a04) + np.angle(a40)) / (2 * np.pi * slot_s)
    else:
        coarse_hz = 0.0
    phase = np.unwrap(np.angle(z * np.exp(-2j * np.pi * coarse_hz * t_s)))
    a = np.stack([t_s, kind == 0, kind == 1], axis=1).astype(np.float64)
    if np.all(kind == kind[0]):
        a = a[:, :2]
    w = np.abs(z)
    coef, *_ = np.linalg.lstsq(a * w[:, None], phase * w, rcond=None)
    return coarse_hz + float(coef[0] / (2 * np.pi))


def _first_mib(g: _Grids, n_id_cell: int) -> tuple[MibDecode, int]:
    """Blind PBCH decode of each complete subframe 0 in turn; (decode, frame index q of that subframe)."""
    tried = 0
    for grid, j in zip(g.grids, g.js, strict=True):
        if j % 10:
            continue
        tried += 1
        est = estimate_channel(grid, n_id_cell, 6, 2, 0)
        dec = decode_mib(grid, est, n_id_cell, 6)
        if dec is not None:
            return dec, int(j) // 10
    if tried == 0:
        raise CellNotFound("the capture holds no complete subframe 0 (PBCH): make it at least 11 ms long")
    raise CellNotFound(f"cell PCI {n_id_cell} found but its PBCH failed the CRC in {tried} subframe(s) 0")


def _measure(g: _Grids, n_id_cell: int, n_rb: int, n_ports: int) -> tuple[list[tuple[int, int]], float, float]:
    """CFI per subframe, mean RSRP and noise variance per RE (grid units) over the subframes of g."""
    cfis, rsrp, noise = [], [], []
    for grid, j in zip(g.grids, g.js, strict=True):
        est = estimate_channel(grid, n_id_cell, n_rb, n_ports, int(j) % 10)
        rsrp.append(est.rsrp)
        noise.append(est.noise_var)
        cfi, _ = decode_cfi(grid, est, n_id_cell, n_rb, n_ports, int(j) % 10)
        cfis.append((int(j), cfi))
    return cfis, float(np.mean(rsrp)), float(np.mean(noise))


def check_finite(x: np.ndarray) -> None:
    """ValueError when (N,) complex samples hold NaN or inf: no estimate (FFT, least squares, SVD) may
    see them, they would turn into phantom cells or a LinAlgError deep inside."""
    finite = np.isfinite(x)  # complex: False when either part is NaN or inf
    if not finite.all():
        idx = np.flatnonzero(~finite)
        raise ValueError(
            f"samples hold {idx.size} non-finite value(s) (NaN or inf), the first at index {idx[0]}: "
            "the receiver needs finite I/Q; drop or zero-fill the corrupt part of the capture"
        )


def _check_input(samples: np.ndarray, sample_rate_hz: float) -> np.ndarray:
    x = np.asarray(samples)
    if x.ndim != 1:
        raise ValueError(f"samples must be a 1-D complex array, got shape {x.shape}")
    if not np.iscomplexobj(x):
        raise ValueError(f"samples must be complex (cf32 I/Q), got dtype {x.dtype}")
    if not np.isfinite(sample_rate_hz) or sample_rate_hz < SEARCH_RATE_HZ:
        raise ValueError(f"sample_rate_hz must be >= 1.92e6 (the central 6 PRB), got {sample_rate_hz}")
    n_max = int(round(MAX_DURATION_S * sample_rate_hz))
    x = x[:n_max].astype(np.complex64, copy=False)
    check_finite(x)
    return x


def _narrowband(xs: np.ndarray, cs: CellSearch) -> tuple[_Grids, float, MibDecode, int]:
    """1.92 Msps grids with fine timing and CRS-refined CFO, then the blind PBCH decode."""
    cfo_hz = cs.cfo_hz
    nb = _demodulate(xs, SEARCH_RATE_HZ, 6, cs.frame_start, cfo_hz, cs.pci)
    for _ in range(_CFO_ITERATIONS):
        cfo_hz += _cfo_residual(nb, 6, SEARCH_RATE_HZ, cs.pci)
        nb = _demodulate(xs, SEARCH_RATE_HZ, 6, cs.frame_start, cfo_hz, cs.pci)
    dec, q = _first_mib(nb, cs.pci)
    return nb, cfo_hz, dec, q


def read_cell(
    samples: np.ndarray, sample_rate_hz: float, candidates: list[CellSearch] | None = None
) -> CellReport:
    """Find the LTE cell in `samples` (N,) complex at `sample_rate_hz` and read its broadcast channels.

    The capture must hold a PSS/SSS pair and a complete subframe 0 after it (11 ms always suffice; the
    first MAX_DURATION_S seconds are used). Raises CellNotFound (no cell, PBCH CRC failure, too short)
    and ValueError (bad input: not 1-D complex, rate below 1.92 Msps, NaN or inf samples).
    candidates: cell-search results to confirm instead of this capture's own cell_search (phy.ue.scan
    reads every cell of a multi-cell capture this way, at any carrier offset).
    """
    fs = float(sample_rate_hz)
    x = _check_input(samples, fs)
    xs = to_search_rate(x, fs)
    failures = []
    # candidates, best SSS metric first; the PBCH CRC confirms one
    for cs in cell_search(xs) if candidates is None else candidates:
        try:
            nb, cfo_hz, dec, q = _narrowband(xs, cs)
            break
        except CellNotFound as err:
            failures.append(str(err))
    else:
        raise CellNotFound("; ".join(failures))
    pci = cs.pci
    mib, n_ports = dec.mib, dec.n_ports
    n_rb = mib.n_rb_dl
    sfn = (mib.sfn - q) % 1024
    frame_start_s = nb.start + nb.delay  # 1.92 Msps samples

    # full band at the cell's rate when the input carries it
    fs_cell = numerology(n_rb).sample_rate_hz
    if n_rb == 6:
        full, fs_full = nb, SEARCH_RATE_HZ
    elif fs >= fs_cell:
        x_cell = resample(x, fs, fs_cell)
        full = _demodulate(x_cell, fs_cell, n_rb, frame_start_s * fs_cell / SEARCH_RATE_HZ, cfo_hz, pci)
        fs_full = fs_cell
    else:
        full, fs_full = None, SEARCH_RATE_HZ

    if full is not None:
        cfis, rsrp, noise = _measure(full, pci, n_rb, n_ports)
        counts = Counter(c for _, c in cfis)
        cfi = counts.most_common(1)[0][0] if counts else None
        n_sc = 12 * n_rb
        frame_start = (full.start + full.delay) * fs / fs_full
    else:
        _, rsrp, noise = _measure_narrow(nb, pci, n_ports)
        cfis, cfi = [], None
        n_sc = 72
        frame_start = frame_start_s * fs / SEARCH_RATE_HZ

    frame_len = int(round(0.01 * fs))
    timing = int(round(frame_start))
    if timing < 0:
        timing += frame_len
        sfn = (sfn + 1) % 1024
        cfis = [(j - 10, c) for j, c in cfis]
    elif timing >= frame_len:
        timing -= frame_len
        sfn = (sfn - 1) % 1024
        cfis = [(j + 10, c) for j, c in cfis]
    return CellReport(
        pci=pci,
        n_id_1=cs.n_id_1,
        n_id_2=cs.n_id_2,
        n_rb_dl=n_rb,
        n_ports=n_ports,
        phich_duration=mib.phich_duration,
        phich_resource=mib.phich_resource,
        sfn=sfn,
        cfi=cfi,
        cfi_per_subframe=tuple(cfis),
        cfo_hz=cfo_hz,
        timing_offset_samples=timing,
        rsrp_dbfs=float(10 * np.log10(rsrp * SAMPLE_RMS_FULL_LOAD**2 / n_sc)),
        sinr_db=float(10 * np.log10(rsrp / noise)),
    )


def _measure_narrow(g: _Grids, n_id_cell: int, n_ports: int) -> tuple[None, float, float]:
    """RSRP and noise per RE from the central 6 PRB only (no PCFICH: it spans the full band)."""
    rsrp, noise = [], []
    for grid, j in zip(g.grids, g.js, strict=True):
        est = estimate_channel(grid, n_id_cell, 6, n_ports, int(j) % 10)
        rsrp.append(est.rsrp)
        noise.append(est.noise_var)
    return None, float(np.mean(rsrp)), float(np.mean(noise))
