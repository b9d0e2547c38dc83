"""The handset's system-information reading for a scan (phy.ue.scan step 4): SIB1, then SIB2 in the SI
windows SIB1 announces (TS 36.331 5.2.1.2, 5.2.3), subframe by subframe through a whole capture.

For one cell found by phy.ue.scan (frame timing, SFN, CFO line, sample-clock error), the capture is
read again span by span (DECODE_SPAN_S, bounded memory) and conditioned. Each wanted subframe (5 of
even SFN until SIB1 is read, then the free subframes of the SI windows until SIB2 is read) is cut out
at the timing the model predicts for it, resampled alone to the cell's standard rate (with guards wider
than the filter), derotated by the predicted CFO and decoded by phy.ue.downlink_rx.receive_downlink
(CRS fine timing removes the rest); mac.ue_downlink.read_downlink parses the blocks. When SIB1 comes
after an SI window of the capture, a second pass goes back to it.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from phy.numerology import numerology
from phy.ue.downlink_rx import receive_downlink
from phy.ue.iq_input import IqCorrection, condition, rate_ratio, resample_to
from phy.ue.pdcch_rx import P_RNTI, SI_RNTI
from phy.ue.scan import Progress, SampleSource, ScannedCell, SystemInfo

from .si_schedule import si_occasion, si_rnti_rv, si_schedule_from_sib1
from .ue_downlink import read_downlink

__all__ = ["read_system_info", "DECODE_SPAN_S"]

DECODE_SPAN_S = 0.25  # capture read per span


def read_system_info(
    source: SampleSource, cell: ScannedCell, iq: IqCorrection, progress: Progress | None = None
) -> SystemInfo:
    """SIB1 and SIB2 of `cell` from the whole capture `source` (see the module docstring)."""

    r = cell.report
    fs = float(source.sample_rate_hz)
    num = numerology(r.n_rb_dl)
    fs_cell, sp_cell = num.sample_rate_hz, num.samples_per_subframe
    scale = 1.0 + cell.clock_error_ppm * 1e-6
    sp_in = 1e-3 * fs * scale  # input samples per subframe of the cell
    g0 = cell.frame_start_sample
    pre = int(num.cp_lengths.max())
    c_rate = cell.cfo_rate_hz_s
    c0 = cell.cfo_hz - c_rate * (g0 / fs)  # cfo(t) = c0 + c_rate t, t in capture seconds
    info = SystemInfo()
    rx: list = []
    n = source.n_samples
    span_in = int(DECODE_SPAN_S * fs)
    guard_in = int(np.ceil(2 * pre * fs / fs_cell)) + 64
    down = rate_ratio(fs, fs_cell).denominator
    j_first = int(np.ceil(-g0 / sp_in))  # first subframe (global index from frame sfn0) inside the capture
    decoded: set[int] = set()
    state = {"schedule": None, "sib1": False, "sib2": False}

    def wanted(jj: int) -> bool:
        sfn, sf = (cell.sfn + jj // 10) % 1024, jj % 10
        if jj in decoded:
            return False
        if not state["sib1"] and sf == 5 and sfn % 2 == 0:
            return True
        sch = state["schedule"]
        return sch is not None and not state["sib2"] and si_occasion(sfn, sf, sch) is not None

    # pass 0 runs forward from the start; pass 1 (only when SIB1 came after an SI window) goes back over
    # the SI windows that were skipped before the schedule was known
    for pass_no in (0, 1):
        if pass_no == 1 and (state["sib2"] or state["schedule"] is None):
            break
        j = j_first
        while not state["sib2"] or not state["sib1"]:
            s0 = int(np.floor(g0 + j * sp_in)) - guard_in
            if s0 >= n:
                break
            s0 = max(s0, 0)
            j_end = int(np.floor((min(n, s0 + span_in + 2 * guard_in) - guard_in - g0) / sp_in)) - 1
            if j_end < j:
                break
            todo = [jj for jj in range(j, j_end + 1) if wanted(jj)]
            if todo:
                x, _ = condition(source.read(s0, span_in + 2 * guard_in), iq)
            for jj in todo:
                if not wanted(jj):  # SIB1/SIB2 read earlier in this span
                    continue
                sfn, sf = (cell.sfn + jj // 10) % 1024, jj % 10
                # resample only this subframe (and guards): a piece starting at a multiple of `down` input
                # samples maps onto whole output samples, as the whole span would
                p_in = g0 + jj * sp_in - s0  # subframe start in the span (input samples)
                lo = max(0, int(np.floor((p_in - guard_in) / down)) * down)
                xc, rate = resample_to(x[lo : int(np.ceil(p_in + sp_in + guard_in))], fs, fs_cell)
                m = (p_in - lo) * rate / fs  # subframe start in the resampled piece
                a = int(np.floor(m)) - pre
                if a < 0 or a + sp_cell + 2 * pre > xc.size:
                    continue
                decoded.add(jj)
                sub = dataclasses.replace(
                    r,
                    sfn=sfn,
                    timing_offset_samples=int(round(m)) - a - sf * sp_cell,
                    cfo_hz=c0 + c_rate * (g0 + jj * sp_in) / fs,
                )
                seg = xc[a : a + sp_cell + 2 * pre]

                def rv_of(s, f, sch=state["schedule"]):
                    return si_rnti_rv(s, f, sch)

                got_si = False
                for sfx in receive_downlink(seg, fs_cell, sub, common_rntis=(SI_RNTI, P_RNTI), si_rv=rv_of):
                    rx.append(sfx)
                    info.paging_dcis += sum(d.rnti == P_RNTI for d in sfx.dcis)
                    got_si = got_si or any(tb.found.rnti == SI_RNTI and tb.result.crc_ok for tb in sfx.tbs)
                if got_si:
                    dl = read_downlink(rx)
                    state["sib1"], state["sib2"] = dl.sib1_info is not None, dl.sib2
                    if dl.sib1_info is not None and state["schedule"] is None:
                        state["schedule"] = si_schedule_from_sib1(dl.sib1_info)
            j = j_end + 1
            if progress:
                progress(min(1.0, (s0 + span_in) / n), f"system information{' (2nd pass)' * pass_no}")
    dl = read_downlink(rx)
    info.subframes_decoded = dl.subframes
    info.sib1_ok, info.sib1_tx, info.si_ok, info.si_tx = dl.sib1_ok, dl.sib1_tx, dl.si_ok, dl.si_tx
    if dl.sib1_info is not None:
        s = dl.sib1_info
        info.sib1 = {
            "plmns": list(dl.plmns),
            "tac": s.tac,
            "cell_identity": s.cell_identity,
            "cell_barred": s.cell_barred,
            "q_rx_lev_min_dbm": s.q_rx_lev_min_dbm,
            "freq_band_indicator": s.freq_band_indicator,
            "si_window_ms": s.si_window_ms,
            "scheduling_info": [
                {"si_periodicity_rf": e.si_periodicity_rf, "sib_types": list(e.sib_types)} for e in s.scheduling_info
            ],
            "system_info_value_tag": s.system_info_value_tag,
        }
    info.sib2 = dl.sib2_value
    if info.sib1 is None:
        info.note = f"no SIB1 read in {dl.sib1_tx} SIB1 transmission(s) found"
    elif info.sib2 is None:
        info.note = "SIB1 read; no SIB2 in the SI windows of the capture"
    return info
