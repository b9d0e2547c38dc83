"""PHICH (TS 36.211 6.9, TS 36.212 5.3.5, TS 36.213 9.1.2): symbols by hand, group multiplexing and
decoding round trips for 1 and 2 ports, noiseless and through OFDM with AWGN."""

from __future__ import annotations

import numpy as np
import pytest

from gateway.config.cell import CellConfig
from phy.awgn import add_awgn
from phy.channels.phich import PhichTx, phich_c_init, phich_decode, phich_index, phich_map, phich_symbols
from phy.dl_data import add_dl_data
from phy.downlink import build_subframe
from phy.ofdm import ofdm_demodulate, ofdm_modulate
from phy.regs import control_regs
from phy.sequences import gold_sequence
from phy.ue.chest import estimate_channel


def make_cell(**kw) -> CellConfig:
    """A CellConfig with this file's defaults (n_rb_dl=25, pci=7, n_ports=1, cfi=1)."""
    return CellConfig(**{**dict(n_rb_dl=25, pci=7, n_ports=1, cfi=1), **kw})


def test_phich_symbols_by_hand():
    # ACK (HI = 1) -> bits 111 -> z = -(1+j)/sqrt(2) three times; n_seq 5: w = [+j, -j, +j, -j]
    n_id, sf = 7, 3
    c = gold_sequence((sf + 1) * (2 * n_id + 1) * 512 + n_id, 12)
    w = np.array([1j, -1j, 1j, -1j])
    expected = np.array([w[i % 4] * (1 - 2 * int(c[i])) * -(1 + 1j) / np.sqrt(2) for i in range(12)])
    assert np.allclose(phich_symbols(1, 5, n_id, sf), expected, atol=1e-6)
    assert phich_c_init(n_id, sf) == 4 * 15 * 512 + 7


def test_phich_index_by_hand():
    # N_group = 4: I_PRB_RA = 9, n_DMRS = 2 -> n_group = 11 mod 4 = 3, n_seq = (floor(9/4) + 2) mod 8 = 4
    assert phich_index(9, 2, 4) == (3, 4)
    assert phich_index(0, 0, 1) == (0, 0)


@pytest.mark.parametrize("n_ports", [1, 2])
def test_phich_round_trip_noiseless_shared_groups(n_ports):
    cell = make_cell(n_rb_dl=50, n_ports=n_ports, pci=33)
    regs = control_regs(cell, 4)
    rng = np.random.default_rng(n_ports)
    phichs = [PhichTx(m, s, int(rng.integers(2))) for m in range(regs.n_phich_groups) for s in range(8)]
    grid = np.zeros((n_ports, 14, 600), np.complex64)
    phich_map(grid, phichs, regs, cell.pci, 4)
    rx, h = grid.sum(axis=0), np.ones(grid.shape, np.complex64)
    for p in phichs:
        hi, llr = phich_decode(rx, h, 0.1, regs, cell.pci, 4, p.n_group, p.n_seq)
        assert hi == p.hi and abs(llr) > 10


def test_phich_rejects_duplicates_and_bad_groups():
    cell = make_cell()
    regs = control_regs(cell, 0)
    grid = np.zeros((1, 14, 300), np.complex64)
    with pytest.raises(ValueError, match="twice"):
        phich_map(grid, [PhichTx(0, 1, 1), PhichTx(0, 1, 0)], regs, cell.pci, 0)
    with pytest.raises(ValueError, match="n_group"):
        phich_map(grid, [PhichTx(regs.n_phich_groups, 0, 1)], regs, cell.pci, 0)


@pytest.mark.parametrize("n_ports", [1, 2])
def test_phich_awgn_through_ofdm(n_ports):
    """0 dB per-RE SNR: 12 REs x 3 repetitions give ~15 dB of processing gain; every HI decodes."""
    cell = make_cell(n_rb_dl=25, n_ports=n_ports, pci=150, phich_resource="half")
    rng = np.random.default_rng(40 + n_ports)
    errors = 0
    for subframe in range(10):
        regs = control_regs(cell, subframe)
        phichs = [
            PhichTx(int(m), int(s), int(rng.integers(2)))
            for m in range(regs.n_phich_groups)
            for s in rng.choice(8, 3, replace=False)
        ]
        sf = build_subframe(cell, 0, subframe)
        add_dl_data(sf.grid, cell, 0, subframe, [], phich=phichs)
        x = add_awgn(ofdm_modulate(sf.grid).sum(axis=0), 0.0, 25, rng)
        rx = ofdm_demodulate(x, 25)
        ce = estimate_channel(rx, cell.pci, 25, n_ports, subframe)
        for p in phichs:
            errors += phich_decode(rx, ce.h, ce.noise_var, regs, cell.pci, subframe, p.n_group, p.n_seq)[0] != p.hi
    assert errors == 0
