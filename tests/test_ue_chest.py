"""CRS channel estimation, noise variance, delay (fine timing) and phase tracking."""

from __future__ import annotations

import numpy as np
import pytest

from gateway.config.cell import CellConfig
from phy.downlink import build_subframe
from phy.refsig import crs_positions, crs_values
from phy.ue.chest import apply_delay, crs_ls, crs_phase_track, estimate_channel, estimate_delay


def _rx_grid(n_rb, pci, n_ports, subframe, h_ports, noise_var, rng):
    """One-antenna received grid: sum_p h_p * grid_p + complex Gaussian noise of variance noise_var."""
    cell = CellConfig(n_rb_dl=n_rb, pci=pci, n_ports=n_ports, cfi=1)
    grid = build_subframe(cell, 3, subframe).grid
    y = sum(h * g for h, g in zip(h_ports, grid, strict=False))
    noise = rng.standard_normal((2, *y.shape)) * np.sqrt(noise_var / 2)
    return (y + noise[0] + 1j * noise[1]).astype(np.complex64)


def test_crs_ls_reads_the_pilots():
    """Without noise, LS on the pilots of each port returns that port's channel (TS 36.211 6.10.1.2)."""
    y = _rx_grid(15, 211, 2, 5, (0.5 + 0.5j, -0.8j), 0.0, np.random.default_rng(0))
    for port, h in ((0, 0.5 + 0.5j), (1, -0.8j)):
        syms, k, h_ls = crs_ls(y, 211, 15, 5, port)
        assert syms == (0, 4, 7, 11)
        # hand check of one pilot: port `port`, slot 11 (n_s = 2*5+1), l = 0 -> l' = 7
        k7 = crs_positions(port, 0, 11, 211, 15)
        np.testing.assert_array_equal(k[2], k7)
        np.testing.assert_allclose(y[7, k7] * np.conj(crs_values(port, 0, 11, 211, 15)), h, atol=1e-5)
        np.testing.assert_allclose(h_ls, h, atol=1e-5)


@pytest.mark.parametrize("n_ports", [1, 2])
@pytest.mark.parametrize("n_rb", [6, 50])
def test_flat_channel_and_noise_variance(n_rb, n_ports):
    rng = np.random.default_rng(n_rb + n_ports)
    h_ports = (0.9 * np.exp(0.7j), 0.6 * np.exp(-2.1j))[:n_ports]
    noise_var = 0.05  # 13 dB per RE
    errs, nvs = [], []
    for subframe in range(10):
        y = _rx_grid(n_rb, 97, n_ports, subframe, h_ports, noise_var, rng)
        est = estimate_channel(y, 97, n_rb, n_ports, subframe)
        assert est.h.shape == (n_ports, 14, 12 * n_rb) and est.h.dtype == np.complex64
        for p in range(n_ports):
            errs.append(np.mean(np.abs(est.h[p] - h_ports[p]) ** 2))
        nvs.append(est.noise_var)
        assert abs(est.rsrp / abs(h_ports[0]) ** 2 - 1) < 0.1
    assert abs(np.mean(nvs) / noise_var - 1) < 0.1
    # estimation error well below the noise on one RE (averaging over pilots in frequency and time)
    assert np.mean(errs) < 0.25 * noise_var


def test_channel_tracks_a_frequency_ramp():
    """A delay inside the CP is a linear phase over subcarriers: the interpolated estimate follows it."""
    rng = np.random.default_rng(1)
    y = _rx_grid(25, 5, 1, 0, (1.0,), 1e-6, rng)
    y = apply_delay(y, -1.5, 25)  # 1.5 samples late at 7.68 Msps
    est = estimate_channel(y, 5, 25, 1, 0)
    truth = apply_delay(np.ones((1, 300), np.complex64), -1.5, 25)[0]
    # phase follows the ramp everywhere (edges included); averaging 5 pilots on a ramp of 0.11 rad per
    # pilot shrinks the magnitude by 1 - (1 + 2 cos 0.11 + 2 cos 0.22) / 5 = 1.2 %; the straight-line
    # extension beyond the outermost pilots grows it by a few %
    assert np.max(np.abs(np.angle(est.h[0] * np.conj(truth)))) < 0.03
    assert np.max(np.abs(np.abs(est.h[0, :, 6:-6]) - 1)) < 0.02
    assert np.max(np.abs(np.abs(est.h[0]) - 1)) < 0.05


@pytest.mark.parametrize("n_rb, delay", [(6, 0.37), (25, -2.6), (100, 11.0)])
def test_estimate_delay(n_rb, delay):
    rng = np.random.default_rng(2)
    grids = np.stack([_rx_grid(n_rb, 300, 2, sf, (1.0, 0.5j), 0.01, rng) for sf in (0, 1)])
    delayed = apply_delay(grids, -delay, n_rb)
    assert abs(estimate_delay(delayed, 300, n_rb, np.array([0, 1])) - delay) < 0.05
    undone = apply_delay(delayed, delay, n_rb)
    np.testing.assert_allclose(undone, grids, atol=1e-4)


def test_phase_track_sees_a_carrier_rotation():
    """z of every CRS symbol rotates by 2 pi f t: symbol l' of subframe sf at t = (14 sf + l') / 14 ms."""
    rng = np.random.default_rng(3)
    grids = np.stack([_rx_grid(6, 42, 1, sf, (1.0,), 0.0, rng) for sf in range(3)])
    f_hz = 150.0
    t_sym = (np.arange(3)[:, None] * 14 + np.arange(14)[None, :]) * (1e-3 / 14)
    rotated = grids * np.exp(2j * np.pi * f_hz * t_sym)[:, :, None]
    idx, z, kind = crs_phase_track(rotated, 42, 6, np.arange(3))
    assert idx.shape == (12, 2) and list(idx[:4, 1]) == [0, 4, 7, 11]
    assert list(kind[:4]) == [0, 1, 0, 1]
    t = (idx[:, 0] * 14 + idx[:, 1]) * (1e-3 / 14)
    np.testing.assert_allclose(np.angle(z * np.exp(-2j * np.pi * f_hz * t)), 0.0, atol=1e-5)
    np.testing.assert_allclose(np.abs(z), 12.0, rtol=1e-5)
