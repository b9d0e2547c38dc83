"""The handset's downlink data receiver: every subframe of a capture after `read_cell` found the cell.

With the cell's timing, carrier offset, SFN, N_RB and port count from a CellReport, each complete
subframe is demodulated at the cell's rate (a third of the CP early, fine delay from the CRS phase
slope, phy.ue.chest), its channel estimated from the CRS, its CFI decoded from the PCFICH (TS 36.211
6.7), the PDCCH blind-decoded for the common RNTIs and the handset's C-RNTI (TS 36.213 9.1.1) and the
PDSCH of each downlink assignment decoded (TS 36.212 5.3.2 inverse, CRC24A; phy.ue.pdsch_rx). SI sent
with format 1C carries no RV: `si_rv(sfn, subframe)` gives it when the MAC knows the SI schedule
(mac.si_schedule.si_rnti_rv), else the RVs are tried (phy.ue.pdsch_rx.receive_pdsch).

    cell = read_cell(x, fs)
    for sf in receive_downlink(x, fs, cell, c_rnti=0x46):
        for tb in sf.tbs:
            tb.found.rnti, tb.grant.tbs, tb.result.crc_ok, tb.result.bits
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np

from phy.channels.phich import phich_decode
from phy.numerology import numerology
from phy.regs import control_regs

from .cell_search import derotate
from .chest import estimate_channel
from .dci_check import DciStats
from .pcfich_rx import decode_cfi
from .pdcch_rx import P_RNTI, RA_RNTIS, SI_RNTI, blind_decode
from .pdsch_rx import ReceivedTb, is_pdsch_assignment, receive_pdsch
from .receiver import CellReport, check_finite, demodulate_subframes
from .resample import resample

__all__ = ["SubframeRx", "receive_downlink", "CHUNK_SUBFRAMES"]

CHUNK_SUBFRAMES = 10  # subframes demodulated (and delay-estimated) together


@dataclass(frozen=True)
class SubframeRx:
    """One received subframe: SFN and subframe number, CFI read from the PCFICH, the SINR per RE
    (dB, CRS), the DCIs found (phy.ue.pdcch_rx.FoundDci), the PDSCH decodes (ReceivedTb) and the
    blind-decoding counts (phy.ue.dci_check.DciStats: RNTI comparisons, false alarms discarded)."""

    sfn: int
    subframe: int
    cfi: int
    sinr_db: float
    dcis: tuple
    tbs: tuple[ReceivedTb, ...]
    dci_stats: DciStats | None = None
    hi: tuple[tuple[int, int, int, float], ...] = ()  # PHICHs read: (n_group, n_seq, HI 1 = ACK, LLR)


def receive_downlink(
    samples: np.ndarray,
    sample_rate_hz: float,
    cell: CellReport,
    c_rnti: int | None = None,
    common_rntis: tuple[int, ...] = (SI_RNTI, P_RNTI, *RA_RNTIS),
    n_iter: int = 8,
    si_rv: Callable[[int, int], int | None] | None = None,
    phich: Callable[[int, int], tuple[tuple[int, int], ...]] | None = None,
) -> Iterator[SubframeRx]:
    """Decode every complete subframe of `samples` (N,) complex at `sample_rate_hz` for `cell`.

    The input rate must be >= the cell's standard rate (it is resampled to it when higher). Yields
    the subframes in time order. si_rv(sfn, subframe) -> RV or None: the RV of a format 1C PDSCH
    (TS 36.321 5.3.1); None (or no si_rv) tries the four RVs. phich(sfn, subframe) -> the PHICH resources
    (n_group, n_seq) to read in that subframe (TS 36.213 9.1.2: those of the handset's PUSCHs of subframe
    n - 4), each HI decoded from its 3 repetitions (TS 36.211 6.9, phy.channels.phich.phich_decode).
    """
    n_rb, pci, n_ports = cell.n_rb_dl, cell.pci, cell.n_ports
    num = numerology(n_rb)
    fs_cell = num.sample_rate_hz
    x = np.asarray(samples).astype(np.complex64, copy=False)
    check_finite(x)
    if sample_rate_hz < fs_cell:
        raise ValueError(
            f"a {n_rb}-PRB cell needs >= {fs_cell / 1e6:.2f} Msps to demodulate its full band, "
            f"got {sample_rate_hz / 1e6:.2f} Msps"
        )
    if sample_rate_hz != fs_cell:
        x = resample(x, sample_rate_hz, fs_cell)
    frame_start = cell.timing_offset_samples * fs_cell / sample_rate_hz
    x = derotate(x, cell.cfo_hz, fs_cell)
    sp = num.samples_per_subframe
    start = int(round(frame_start))
    j_first = -(start // sp)
    j_last = (x.size - sp - start) // sp
    ctrl_extra = 1 if n_rb <= 10 else 0  # n_ctrl_symbols = CFI + 1 for N_RB <= 10 (TS 36.211 6.7)
    for j0 in range(j_first, j_last + 1, CHUNK_SUBFRAMES):
        js = np.arange(j0, min(j0 + CHUNK_SUBFRAMES, j_last + 1))
        grids, _, _ = demodulate_subframes(x, n_rb, start, js, pci)
        for grid, j in zip(grids, js, strict=True):
            sf = int(j) % 10
            sfn = (cell.sfn + int(j) // 10) % 1024
            est = estimate_channel(grid, pci, n_rb, n_ports, sf)
            cfi, _ = decode_cfi(grid, est, pci, n_rb, n_ports, sf)
            sub_cell = SimpleNamespace(
                n_rb_dl=n_rb, pci=pci, n_ports=n_ports, phich_duration=cell.phich_duration,
                phich_resource=cell.phich_resource, cfi=cfi, n_ctrl_symbols=cfi + ctrl_extra,
            )
            stats = DciStats()
            found = blind_decode(
                grid, est.h, est.noise_var, sub_cell, sf, c_rnti=c_rnti, common_rntis=common_rntis, stats=stats
            )
            rv = si_rv(sfn, sf) if si_rv is not None else None
            tbs = tuple(
                receive_pdsch(grid, est.h, est.noise_var, sub_cell, sf, f, n_iter=n_iter, rv=rv)
                for f in found
                if is_pdsch_assignment(f)  # not I_MCS 29..31: a HARQ retransmission
            )
            sinr_db = float(10 * np.log10(est.rsrp / est.noise_var))
            his = ()
            wanted = phich(sfn, sf) if phich is not None else ()
            if wanted:
                regs = control_regs(sub_cell, sf)
                his = tuple((g, q, *phich_decode(grid, est.h, est.noise_var, regs, pci, sf, g, q)) for g, q in wanted)
            yield SubframeRx(sfn, sf, cfi, sinr_db, tuple(found), tbs, stats, his)
