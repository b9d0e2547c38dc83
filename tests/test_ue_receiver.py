"""Handset receiver end to end: build_subframe -> (delay, CFO, AWGN) -> read_cell, and real captures."""

from __future__ import annotations

import numpy as np
import pytest

from gateway.config.cell import CellConfig
from phy.awgn import add_awgn
from phy.channels.pbch import Mib, mib_pack
from phy.downlink import build_subframe
from phy.numerology import SAMPLE_RMS_FULL_LOAD, numerology
from phy.ue import CellNotFound, CellReport, read_cell
from phy.ue.resample import resample


def _cell(n_rb: int, pci: int, n_ports: int, cfi: int = 2, duration: str = "normal", ng: str = "one") -> CellConfig:
    return CellConfig(n_rb_dl=n_rb, pci=pci, n_ports=n_ports, cfi=cfi, phich_duration=duration, phich_resource=ng)


def _downlink(cell: CellConfig, sfn0: int, n_subframes: int) -> np.ndarray:
    """Single-antenna sum of every port's signal (ideal unit channels), from subframe 0 of frame sfn0."""
    parts = [build_subframe(cell, (sfn0 + s // 10) % 1024, s % 10).samples.sum(axis=0) for s in range(n_subframes)]
    return np.concatenate(parts).astype(np.complex64)


def _capture(sig, fs, delay, duration_s, cfo_hz, snr_db, n_rb, rng):
    x = sig[delay : delay + int(round(duration_s * fs))]
    n = np.arange(x.size)
    x = (x * np.exp(2j * np.pi * cfo_hz * n / fs)).astype(np.complex64)
    return add_awgn(x, snr_db, n_rb, rng) if snr_db is not None else x


def _truth(delay: int, frame_len: int, sfn0: int) -> tuple[int, int]:
    """(frame start in the capture, its SFN) for a capture starting `delay` samples into frame sfn0."""
    if delay % frame_len == 0:
        return 0, (sfn0 + delay // frame_len) % 1024
    return frame_len - delay % frame_len, (sfn0 + delay // frame_len + 1) % 1024


def _assert_timing(report: CellReport, start: int, sfn: int, frame_len: int, tol: int) -> None:
    """Frame start within tol samples (a start a sample before the capture is reported as the next frame)."""
    err = (report.timing_offset_samples - start + frame_len // 2) % frame_len - frame_len // 2
    assert abs(err) <= tol, (report.timing_offset_samples, start)
    wrapped = report.timing_offset_samples - start  # != err when the estimate crossed a frame boundary
    frames_later = round((wrapped - err) / frame_len)
    assert report.sfn == (sfn + frames_later) % 1024


# --- real captures (../shared/vectors/README.md) --------------------------------------------------


def test_vector_pci150_2port_mib(vectors_dir):
    x = np.fromfile(vectors_dir / "lte_dl_pci150_2port_1.92Msps.cf32", dtype="<c8")
    assert x.size == 9601
    r = read_cell(x, 1.92e6)
    assert (r.pci, r.n_id_1, r.n_id_2, r.n_ports) == (150, 50, 0, 2)
    mib = Mib(r.n_rb_dl, r.phich_duration, r.phich_resource, r.sfn)
    assert np.packbits(mib_pack(mib)).tobytes() == bytes([0x68, 0x1C, 0x00])
    assert (r.n_rb_dl, r.phich_duration, r.phich_resource, r.sfn) == (50, "normal", "one", 28)
    assert r.sfn % 4 == 0  # 40 ms phase 0
    assert r.timing_offset_samples == 0  # PSS of subframe 0 at sample 832 (frame start 0)
    assert r.cfi is None and r.cfi_per_subframe == ()  # 1.92 Msps input, 50 PRB cell: PCFICH not in band


def test_vector_pci1_6prb_cfi3(vectors_dir):
    x = np.fromfile(vectors_dir / "lte_dl_pci1_6prb_1port_cfi3_1.92Msps.cf32", dtype="<c8")
    r = read_cell(x, 1.92e6)
    assert (r.pci, r.n_rb_dl, r.n_ports, r.phich_duration, r.phich_resource) == (1, 6, 1, "normal", "one")
    assert r.timing_offset_samples == 0  # the file starts at subframe 0
    assert r.cfi == 3
    assert r.cfi_per_subframe == tuple((j, 3) for j in range(10))
    assert r.sinr_db > 15


# --- every bandwidth, both port counts, N_ID_2 0..2 with N_ID_1 0 and 167 -------------------------

_PCIS = [0, 502, 2, 501, 1, 503, 252, 100, 34, 335, 419, 8]
_NGS = ["one_sixth", "half", "one", "two"]
_MATRIX = [(n_rb, n_ports) for n_rb in (6, 15, 25, 50, 75, 100) for n_ports in (1, 2)]


@pytest.mark.parametrize("case", range(len(_MATRIX)))
def test_read_cell_every_bandwidth_and_port_count(case):
    n_rb, n_ports = _MATRIX[case]
    rng = np.random.default_rng(1000 + case)
    cell = _cell(
        n_rb, _PCIS[case], n_ports, cfi=1 + case % 3, duration=("normal", "extended")[case % 2], ng=_NGS[case % 4]
    )
    sfn0 = int(rng.integers(0, 1024))
    num = numerology(n_rb)
    fs, frame_len = num.sample_rate_hz, num.samples_per_frame
    sig = _downlink(cell, sfn0, 22)
    delay = int(rng.integers(0, frame_len))
    snr_db = 10.0
    x = _capture(sig, fs, delay, 0.012, cfo_hz=float(rng.uniform(-3e3, 3e3)), snr_db=snr_db, n_rb=n_rb, rng=rng)
    r = read_cell(x, fs)
    assert (r.pci, r.n_id_1, r.n_id_2) == (cell.pci, cell.n_id_1, cell.n_id_2)
    assert (r.n_rb_dl, r.n_ports) == (n_rb, n_ports)
    assert (r.phich_duration, r.phich_resource) == (cell.phich_duration, cell.phich_resource)
    start, sfn = _truth(delay, frame_len, sfn0)
    _assert_timing(r, start, sfn, frame_len, tol=1)
    assert r.cfi == cell.cfi
    assert len(r.cfi_per_subframe) >= 11 and all(c == cell.cfi for _, c in r.cfi_per_subframe)
    # CRS REs are unit REs: RSRP at the nominal level, SINR at the applied per-RE SNR
    nominal_dbfs = 20 * np.log10(SAMPLE_RMS_FULL_LOAD) - 10 * np.log10(12 * n_rb)
    assert abs(r.rsrp_dbfs - nominal_dbfs) < 0.5
    assert abs(r.sinr_db - snr_db) < 1.0


def test_noiseless_capture_with_silent_symbols():
    """No noise and a lightly loaded grid: whole OFDM symbols are exactly zero (PSS metric must not blow up)."""
    cell = _cell(6, 17, 1, cfi=2)
    x = _downlink(cell, 100, 20)
    assert np.count_nonzero(x) < x.size // 2
    r = read_cell(x, 1.92e6)
    assert (r.pci, r.n_rb_dl, r.sfn, r.timing_offset_samples, r.cfi) == (17, 6, 100, 0, 2)
    assert abs(r.cfo_hz) < 1e-3 and r.sinr_db > 60


# --- carrier offset: +-20 kHz crystal, 5 Hz accuracy at 20 dB -------------------------------------


@pytest.fixture(scope="module")
def cfo_signal():
    cell = _cell(25, 301, 2, cfi=2)
    return cell, _downlink(cell, 40, 32)


@pytest.mark.parametrize("cfo_hz", [-20e3, -7.5e3, -1e3, 0.0, 400.0, 3.2e3, 19e3])
def test_cfo_estimate_within_5hz(cfo_signal, cfo_hz):
    cell, sig = cfo_signal
    num = numerology(25)
    rng = np.random.default_rng(int(abs(cfo_hz)) + 7)
    delay = int(rng.integers(0, num.samples_per_frame))
    x = _capture(sig, num.sample_rate_hz, delay, 0.02, cfo_hz, 20.0, 25, rng)
    r = read_cell(x, num.sample_rate_hz)
    assert r.pci == 301 and r.n_rb_dl == 25 and r.n_ports == 2
    start, sfn = _truth(delay, num.samples_per_frame, 40)
    _assert_timing(r, start, sfn, num.samples_per_frame, tol=1)
    assert abs(r.cfo_hz - cfo_hz) < 5.0


# --- input rates other than the cell's ------------------------------------------------------------


def test_6prb_cell_oversampled_input():
    cell = _cell(6, 77, 1, cfi=3)
    rng = np.random.default_rng(5)
    sig = resample(_downlink(cell, 100, 22), 1.92e6, 7.68e6)
    x = _capture(sig, 7.68e6, 30_000, 0.015, 2_500.0, 10.0, 6, rng)
    r = read_cell(x, 7.68e6)
    assert (r.pci, r.n_rb_dl, r.cfi) == (77, 6, 3)
    start, sfn = _truth(30_000, 76_800, 100)
    _assert_timing(r, start, sfn, 76_800, tol=2)
    assert abs(r.cfo_hz - 2_500.0) < 5.0


def test_wide_cell_at_search_rate_reports_cfi_unknown():
    cell = _cell(50, 222, 2, cfi=2, ng="two")
    rng = np.random.default_rng(6)
    sig = resample(_downlink(cell, 9, 22), 15.36e6, 1.92e6)
    x = _capture(sig, 1.92e6, 4_321, 0.015, -600.0, 10.0, 50, rng)
    r = read_cell(x, 1.92e6)
    assert (r.pci, r.n_rb_dl, r.n_ports, r.phich_resource) == (222, 50, 2, "two")
    assert r.cfi is None and r.cfi_per_subframe == ()
    start, sfn = _truth(4_321, 19_200, 9)
    _assert_timing(r, start, sfn, 19_200, tol=1)


# --- errors ---------------------------------------------------------------------------------------


def test_noise_only_raises_cell_not_found():
    rng = np.random.default_rng(8)
    x = add_awgn(np.zeros(int(0.02 * 7.68e6), np.complex64), 0.0, 25, rng)
    with pytest.raises(CellNotFound):
        read_cell(x, 7.68e6)


def test_short_capture_raises_cell_not_found():
    cell = _cell(6, 10, 1)
    sig = _downlink(cell, 0, 10)
    with pytest.raises(CellNotFound, match="subframe 0|no complete"):
        read_cell(sig[3000 : 3000 + 9000], 1.92e6)  # PSS/SSS of subframe 5 but no subframe 0


def test_bad_input_raises_value_error():
    with pytest.raises(ValueError, match="complex"):
        read_cell(np.zeros(20_000), 1.92e6)
    with pytest.raises(ValueError, match="1.92e6"):
        read_cell(np.zeros(20_000, np.complex64), 1e6)


# --- MIB success rate at -3 dB per RE (AWGN, 1 port, 5 MHz) ---------------------------------------


@pytest.fixture(scope="module")
def mib_signal():
    cell = _cell(25, 123, 1, cfi=2)
    return cell, _downlink(cell, 512, 42)


def _mib_trials(cell, sig, snr_db: float, n_trials: int, seed: int) -> int:
    num = numerology(25)
    rng = np.random.default_rng(seed)
    ok = 0
    for _ in range(n_trials):
        delay = int(rng.integers(0, 2 * num.samples_per_frame))
        x = _capture(sig, num.sample_rate_hz, delay, 0.02, 0.0, snr_db, 25, rng)
        start, sfn = _truth(delay, num.samples_per_frame, 512)
        try:
            r = read_cell(x, num.sample_rate_hz)
        except CellNotFound:
            continue
        err = (r.timing_offset_samples - start + 38_400) % 76_800 - 38_400
        sfn_expected = (sfn + round((r.timing_offset_samples - start - err) / 76_800)) % 1024
        ok += (r.pci, r.n_rb_dl, r.n_ports, r.sfn, r.phich_resource) == (123, 25, 1, sfn_expected, "one")
    return ok


def test_mib_success_at_minus_3db(mib_signal):
    cell, sig = mib_signal
    n = 200
    ok = _mib_trials(cell, sig, -3.0, n, seed=2024)
    assert ok >= 0.99 * n, f"MIB decoded in {ok}/{n} trials at -3 dB"


@pytest.mark.slow
def test_mib_success_curve(mib_signal):
    cell, sig = mib_signal
    n = 200
    print("\nMIB success vs per-RE SNR (AWGN, 1 port, 5 MHz, 20 ms captures, random delay)")
    print("snr_db  success")
    rates = []
    for snr_db in range(-10, 1):
        ok = _mib_trials(cell, sig, float(snr_db), n, seed=100 + snr_db)
        rates.append(ok / n)
        print(f"{snr_db:6d}  {ok / n:7.3f}")
    assert rates[-1] >= 0.99 and rates[-3] >= 0.99  # 0 dB and -2 dB
    assert rates[0] <= rates[-1]
