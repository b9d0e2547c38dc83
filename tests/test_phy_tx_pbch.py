"""PBCH (TS 36.212 5.3.1, TS 36.211 6.6), MIB packing (TS 36.331) and build_subframe (TS 36.211 6)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from phy.awgn import add_awgn
from phy.channels.pbch import (
    Mib,
    mib_pack,
    mib_unpack,
    pbch_decode,
    pbch_encode,
    pbch_map,
    pbch_re_indices,
)
from phy.channels.pcfich import pcfich_decode, pcfich_re_indices
from phy.downlink import build_subframe
from phy.grid import new_grid
from phy.mimo import tx_diversity_decode
from phy.modulation import demodulate_llr
from phy.numerology import N_RB_VALUES, numerology
from phy.ofdm import ofdm_demodulate, ofdm_modulate
from phy.refsig import crs_positions, crs_values
from phy.regs import control_regs
from phy.scrambling import scramble_bits
from phy.sync import pss_sequence, sss_sequence, sync_subcarriers


def test_mib_pack_known_bits():
    # ../shared/vectors README: n50, normal, one, SFN 28 -> 0110 1000 0001 1100 0000 0000
    bits = mib_pack(Mib(50, "normal", "one", 28))
    assert "".join(map(str, bits)) == "011010000001110000000000"
    # n6 (000), extended (1), one_sixth (00), SFN 1023 >> 2 = 255
    assert "".join(map(str, mib_pack(Mib(6, "extended", "one_sixth", 1023)))) == "000100" + "1" * 8 + "0" * 10


def test_mib_unpack_round_trip():
    for mib in (Mib(100, "extended", "two", 1020), Mib(15, "normal", "half", 4)):
        for phase in range(4):
            assert mib_unpack(mib_pack(mib), phase) == Mib(
                mib.n_rb_dl, mib.phich_duration, mib.phich_resource, mib.sfn + phase
            )
    with pytest.raises(ValueError, match="n_rb_dl"):
        Mib(7, "normal", "one", 0)


@pytest.mark.parametrize("n_ports", [1, 2])
def test_pbch_encode_structure(n_ports):
    e = pbch_encode(Mib(25, "normal", "one", 100), n_ports)
    assert e.shape == (1920,) and e.dtype == np.uint8
    # 40 coded-in bits x 3 = 120-bit circular buffer, repeated 16 times (5.1.4.2)
    assert np.array_equal(e[:120], e[120:240]) and np.array_equal(e[:120], e[1800:])
    assert not np.array_equal(pbch_encode(Mib(25, "normal", "one", 100), 3 - n_ports), e)  # mask differs


def test_pbch_decode_needs_the_matching_port_mask():
    mib = Mib(75, "normal", "half", 512)
    # noiseless frame-0 quarter of the scrambled bits: decodes with its own CRC mask only (5.3.1.1)
    for n_ports in (1, 2):
        e = pbch_encode(mib, n_ports)
        llr = 1.0 - 2.0 * scramble_bits(e, 33)[:480].astype(np.float32)
        assert pbch_decode(llr * 4, 33, n_ports, 0) == mib
        assert pbch_decode(llr * 4, 33, 3 - n_ports, 0) is None


@pytest.mark.parametrize("n_rb", [6, 25, 100])
@pytest.mark.parametrize("pci", [0, 1, 2, 5])
def test_pbch_re_indices(n_rb, pci):
    l_idx, k_idx = pbch_re_indices(n_rb, pci)
    assert l_idx.shape == k_idx.shape == (240,)
    assert [int(np.sum(l_idx == l)) for l in (7, 8, 9, 10)] == [48, 48, 72, 72]
    assert k_idx.min() >= 6 * n_rb - 36 and k_idx.max() < 6 * n_rb + 36
    # skip CRS of ports 0..3: in l' = 7, 8 no k with k = v_shift mod 3
    assert not np.any((l_idx < 9) & (k_idx % 3 == pci % 6 % 3))
    # mapping order: k first, then l
    assert np.all(np.diff(l_idx * 10000 + k_idx) > 0)


def _rx_grid(grid: np.ndarray, rng, snr_db: float, n_rb: int):
    """Flat random channel per port, ports summed at one antenna, AWGN; returns (rx grid, h (n_ports,))."""
    h = (rng.standard_normal(grid.shape[0]) + 1j * rng.standard_normal(grid.shape[0])) / np.sqrt(2)
    x = np.tensordot(h, ofdm_modulate(grid), axes=1).astype(np.complex64)
    return ofdm_demodulate(add_awgn(x, snr_db, n_rb, rng), n_rb), h


@pytest.mark.parametrize("n_ports", [1, 2])
def test_pbch_round_trip_each_frame_phase(n_ports):
    rng = np.random.default_rng(n_ports)
    n_rb, pci = 15, 301
    mib = Mib(n_rb, "normal", "two", 400)
    l_idx, k_idx = pbch_re_indices(n_rb, pci)
    for phase in range(4):
        grid = new_grid(n_ports, n_rb)
        pbch_map(grid, mib, pci, n_ports, 400 + phase)
        assert np.allclose(np.sum(np.abs(grid[:, l_idx, k_idx]) ** 2, axis=0), 1.0, atol=1e-5)
        rx, h = _rx_grid(grid, rng, 3.0, n_rb)
        nv = 10 ** (-3.0 / 10)
        sym, nv_eff = tx_diversity_decode(rx[l_idx, k_idx], np.repeat(h[:, None], 240, axis=1), nv)
        llr = demodulate_llr(sym, 2, nv_eff)
        assert pbch_decode(llr, pci, n_ports, phase) == Mib(n_rb, "normal", "two", 400 + phase)
        assert pbch_decode(llr, pci, n_ports, (phase + 1) % 4) is None
        assert pbch_decode(llr, pci + 1, n_ports, phase) is None


def test_pbch_map_rejects_inconsistent_sfn():
    with pytest.raises(ValueError, match="40 ms"):
        pbch_map(new_grid(1, 6), Mib(6, "normal", "one", 8), 0, 1, 12)


def _cell(**kw):
    base = dict(n_rb_dl=25, pci=1, n_ports=1, cfi=2, phich_duration="normal", phich_resource="one")
    base.update(kw)
    cell = SimpleNamespace(**base)
    cell.n_ctrl_symbols = cell.cfi + 1 if cell.n_rb_dl <= 10 else cell.cfi
    return cell


@pytest.mark.parametrize("n_rb", N_RB_VALUES)
@pytest.mark.parametrize("n_ports", [1, 2])
def test_build_subframe_content(n_rb, n_ports):
    cell = _cell(n_rb_dl=n_rb, pci=(n_rb * 13) % 504, n_ports=n_ports, cfi=3)
    num = numerology(n_rb)
    counts = {}
    for subframe in (0, 3, 5):
        sf = build_subframe(cell, 17, subframe)
        assert sf.grid.shape == (n_ports, 14, 12 * n_rb) and sf.grid.dtype == np.complex64
        assert sf.samples.shape == (n_ports, num.samples_per_subframe) and sf.samples.dtype == np.complex64
        assert np.allclose(sf.samples, ofdm_modulate(sf.grid))
        counts[subframe] = np.count_nonzero(sf.grid)
    crs = 8 * n_rb * n_ports
    pcfich = 16 * n_ports
    sync = 124  # port 0 only
    pbch = 240 * n_ports
    assert counts[3] == crs + pcfich
    assert counts[5] == crs + pcfich + sync
    assert counts[0] == crs + pcfich + sync + pbch
    sf0 = build_subframe(cell, 17, 0).grid
    k = sync_subcarriers(n_rb)
    assert np.allclose(sf0[0, 6, k], pss_sequence(cell.pci % 3))
    assert np.allclose(sf0[0, 5, k], sss_sequence(cell.pci // 3, cell.pci % 3, 0))
    # the PHICH and PDCCH REs are empty (positions from phy.regs)
    regs = control_regs(cell, 0)
    assert not sf0[:, regs.phich_re()[0], regs.phich_re()[1]].any()
    assert not sf0[:, regs.pdcch_re()[0], regs.pdcch_re()[1]].any()


@pytest.mark.parametrize("n_ports", [1, 2])
def test_build_subframe_loopback_decode(n_ports):
    rng = np.random.default_rng(10 + n_ports)
    cell = _cell(n_rb_dl=6, pci=167 * 3 + 2, n_ports=n_ports, cfi=1, phich_resource="half")
    for sfn in (1022, 1023):
        sf = build_subframe(cell, sfn, 0)
        rx, h = _rx_grid(sf.grid, rng, 0.0, 6)
        nv = 1.0
        # the CRS REs hold our reference times the channel: least squares over the 4 CRS symbols
        # (48 REs at 0 dB: estimate error std ~0.14)
        for port in range(n_ports):
            ref = [crs_values(port, lp % 7, lp // 7, cell.pci, 6) for lp in (0, 4, 7, 11)]
            got = [rx[lp, crs_positions(port, lp % 7, lp // 7, cell.pci, 6)] for lp in (0, 4, 7, 11)]
            est = np.vdot(np.concatenate(ref), np.concatenate(got)) / 48
            assert abs(est - h[port]) < 0.45
        l_idx, k_idx = pbch_re_indices(6, cell.pci)
        sym, nv_eff = tx_diversity_decode(rx[l_idx, k_idx], np.repeat(h[:, None], 240, axis=1), nv)
        mib = pbch_decode(demodulate_llr(sym, 2, nv_eff), cell.pci, n_ports, sfn % 4)
        assert mib == Mib(6, "normal", "half", sfn)
        kp = pcfich_re_indices(cell.pci, 6)
        sym, nv_eff = tx_diversity_decode(rx[0, kp], np.repeat(h[:, None], 16, axis=1), nv)
        assert pcfich_decode(demodulate_llr(sym, 2, nv_eff), cell.pci, 0)[0] == 1


def test_build_subframe_rejects_bad_input():
    with pytest.raises(ValueError, match="subframe"):
        build_subframe(_cell(), 0, 10)
    with pytest.raises(ValueError, match="n_ports"):
        build_subframe(_cell(n_ports=4), 0, 1)
