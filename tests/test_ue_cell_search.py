"""Cell search at 1.92 Msps: PSS replica, detection, CFO stages, SSS and frame boundary."""

from __future__ import annotations

import numpy as np
import pytest

from gateway.config.cell import CellConfig
from phy.awgn import add_awgn
from phy.downlink import build_subframe
from phy.ue.cell_search import (
    CFO_GRID_HZ,
    PSS_OFFSET,
    CellNotFound,
    cell_search,
    derotate,
    detect_pss,
    detect_sss,
    estimate_cfo_pss,
    estimate_cfo_sync,
    pss_replica,
)

FS = 1.92e6


def _signal(pci: int, n_ports: int = 1, n_subframes: int = 22) -> np.ndarray:
    cell = CellConfig(n_rb_dl=6, pci=pci, n_ports=n_ports, cfi=2)
    return np.concatenate(
        [build_subframe(cell, s // 10, s % 10).samples.sum(axis=0) for s in range(n_subframes)]
    ).astype(np.complex64)


def test_pss_replica_is_the_zadoff_chu_sequence_around_dc():
    """TS 36.211 6.11.1.1: d_u(n) = exp(-j pi u n(n+1)/63), n <= 30; exp(-j pi u (n+1)(n+2)/63), n >= 31,
    u = 25, 29, 34; on subcarriers n - 31 around DC (DC skipped, 6.11.1.2)."""
    n = np.arange(62)
    for n_id_2, u in enumerate((25, 29, 34)):
        d = np.where(
            n <= 30, np.exp(-1j * np.pi * u * n * (n + 1) / 63), np.exp(-1j * np.pi * u * (n + 1) * (n + 2) / 63)
        )
        spectrum = np.fft.fft(pss_replica(n_id_2))
        bins = np.r_[np.arange(-31, 0), np.arange(1, 32)] % 128
        scale = spectrum[bins[0]] / d[0]
        np.testing.assert_allclose(spectrum[bins], scale * d, atol=1e-9)
        others = np.setdiff1d(np.arange(128), bins)
        assert np.max(np.abs(spectrum[others])) < 1e-9
        assert abs(np.linalg.norm(pss_replica(n_id_2)) - 1) < 1e-12


def test_pss_replica_frequency_shift():
    r0, r1 = pss_replica(1), pss_replica(1, 15e3)
    np.testing.assert_allclose(r1, r0 * np.exp(2j * np.pi * np.arange(128) / 128), atol=1e-12)


def test_cfo_grid_covers_a_crystal():
    assert CFO_GRID_HZ.min() <= -20e3 and CFO_GRID_HZ.max() >= 20e3
    assert np.max(np.diff(CFO_GRID_HZ)) <= 5e3


def test_pss_peak_of_the_pci1_capture_at_sample_832(vectors_dir):
    x = np.fromfile(vectors_dir / "lte_dl_pci1_6prb_1port_cfi3_1.92Msps.cf32", dtype="<c8")
    best = detect_pss(x)[0]
    assert best.n_id_2 == 1
    assert list(best.positions) == [832, 832 + 9600]
    assert PSS_OFFSET == 832  # useful part of l' = 6: 10 + 128 + 5 * (9 + 128) + 9


@pytest.mark.parametrize("pci", [0, 502, 2, 501, 1, 503])
@pytest.mark.parametrize("start_in_second_half", [False, True])
def test_cell_search_identity_frame_and_cfo(pci, start_in_second_half):
    rng = np.random.default_rng(pci)
    sig = _signal(pci)
    delay = int(rng.integers(0, 9600)) + (9600 if start_in_second_half else 0)
    cfo_hz = float(rng.uniform(-20e3, 20e3))
    x = sig[delay : delay + 19200]
    x = add_awgn((x * np.exp(2j * np.pi * cfo_hz * np.arange(x.size) / FS)).astype(np.complex64), 0.0, 6, rng)
    best = cell_search(x)[0]
    assert (best.pci, best.n_id_1, best.n_id_2) == (pci, pci // 3, pci % 3)
    assert best.frame_start == (-delay) % 19200
    assert abs(best.cfo_hz - cfo_hz) < 1000  # the CRS stage (receiver) takes it to Hz


def test_cfo_stages_noiseless():
    """Half-correlation and PSS-SSS phase step each find a CFO inside their range (no noise)."""
    sig = _signal(77)[:19200]
    for cfo_hz in (-12e3, -2e3, 0.0, 6e3):
        x = (sig * np.exp(2j * np.pi * cfo_hz * np.arange(sig.size) / FS)).astype(np.complex64)
        positions = np.array([PSS_OFFSET, PSS_OFFSET + 9600])
        coarse = 5e3 * np.round(cfo_hz / 5e3)
        assert abs(estimate_cfo_pss(x, 77 % 3, positions, coarse) - cfo_hz) < 100
        residual = 1.5e3
        xc = derotate(x, cfo_hz - residual, FS)
        assert abs(estimate_cfo_sync(xc, 77 // 3, 77 % 3, positions, True) - residual) < 20


def test_sss_frame_boundary_and_n_id_1():
    sig = _signal(3 * 167 + 2)
    x = sig[9600 - 500 : 9600 - 500 + 12000]  # first PSS in the capture is subframe 5's
    positions = np.array([500 + PSS_OFFSET])
    best = detect_sss(x, 2, positions)[0]
    assert best[:2] == (167, False) and best[2] > 0.99


def test_derotate_removes_a_tone():
    x = np.exp(2j * np.pi * 1234.5 * np.arange(1000, 5000) / FS).astype(np.complex64)
    y = derotate(x, 1234.5, FS, n0=1000)
    np.testing.assert_allclose(y, np.ones_like(y), atol=1e-5)


def test_noise_alone_gives_no_credible_cell():
    """Noise may pass the PSS sanity threshold, but its SSS metric stays far below a real cell's (~1)."""
    rng = np.random.default_rng(3)
    x = (rng.standard_normal(19200) + 1j * rng.standard_normal(19200)).astype(np.complex64)
    try:
        candidates = cell_search(x)
    except CellNotFound:
        return
    assert all(c.sss_metric < 0.5 for c in candidates)
