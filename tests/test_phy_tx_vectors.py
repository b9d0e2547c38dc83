"""Our TX mapping against an independent eNodeB (Amarisoft capture shipped with srsRAN 4G's tests).

lte_dl_pci1_6prb_1port_cfi3_1.92Msps.cf32 (see ../shared/vectors/README.md): one frame at 1.92 Msps
from the first sample of subframe 0, PCI 1, 6 PRB, 1 port, CFI 3. Demodulated with our
ofdm_demodulate, its PSS/SSS/CRS REs must match our sequences, its PCFICH must decode to CFI 3 in
every subframe, its PDCCH energy must fall on whole REGs of our REG layout, and its PBCH REs must
decode with our pbch_decode. lte_dl_pci150_2port_1.92Msps.cf32 (srsRAN, 2 ports, starts at subframe 0:
its PSS peaks at sample 832) checks the 2-port SFBC path: its README gives the MIB.
"""

from __future__ import annotations

import numpy as np
import pytest

from phy.channels.pbch import Mib, pbch_decode, pbch_re_indices
from phy.channels.pcfich import pcfich_decode, pcfich_re_indices
from phy.mimo import tx_diversity_decode
from phy.modulation import demodulate_llr
from phy.ofdm import ofdm_demodulate
from phy.refsig import crs_positions, crs_values
from phy.regs import control_regs_for
from phy.sync import pss_sequence, sss_sequence, sync_subcarriers

PCI, N_RB = 1, 6


@pytest.fixture(scope="module")
def grid(vectors_dir):
    x = np.fromfile(vectors_dir / "lte_dl_pci1_6prb_1port_cfi3_1.92Msps.cf32", dtype="<c8")
    assert x.size == 19200
    return ofdm_demodulate(x.reshape(10, 1920), N_RB)  # (10 subframes, 14, 72)


def _fit(received: np.ndarray, reference: np.ndarray) -> float:
    """|<ref, rx>| / (|ref| |rx|): 1 when rx = a * ref for one complex gain a (phase/gain fit)."""
    return float(np.abs(np.vdot(reference, received)) / np.linalg.norm(received) / np.linalg.norm(reference))


@pytest.mark.parametrize("subframe", [0, 5])
def test_vector_pss_sss(grid, subframe):
    k = sync_subcarriers(N_RB)
    assert _fit(grid[subframe, 6, k], pss_sequence(PCI % 3)) > 0.98
    assert _fit(grid[subframe, 5, k], sss_sequence(PCI // 3, PCI % 3, subframe)) > 0.98
    # the other half-frame's SSS and the other roots do not fit
    assert _fit(grid[subframe, 5, k], sss_sequence(PCI // 3, PCI % 3, 5 - subframe)) < 0.3
    assert _fit(grid[subframe, 6, k], pss_sequence((PCI + 1) % 3)) < 0.3


def test_vector_crs_every_symbol(grid):
    for subframe in range(10):
        for lp in (0, 4, 7, 11):
            n_s, l = 2 * subframe + lp // 7, lp % 7
            k = crs_positions(0, l, n_s, PCI, N_RB)
            assert _fit(grid[subframe, lp, k], crs_values(0, l, n_s, PCI, N_RB)) > 0.98, (subframe, lp)
    # a wrong PCI's CRS does not fit
    k = crs_positions(0, 0, 0, PCI + 6, N_RB)
    assert _fit(grid[0, 0, k], crs_values(0, 0, 0, PCI + 6, N_RB)) < 0.5


def _equalise_symbol0(grid, subframe):
    kc = crs_positions(0, 0, 2 * subframe, PCI, N_RB)
    h = grid[subframe, 0, kc] / crs_values(0, 0, 2 * subframe, PCI, N_RB)
    k = np.arange(12 * N_RB)
    return np.interp(k, kc, h.real) + 1j * np.interp(k, kc, h.imag)


def test_vector_pcfich_cfi3_every_subframe(grid):
    k = pcfich_re_indices(PCI, N_RB)
    for subframe in range(10):
        h = _equalise_symbol0(grid, subframe)
        llr = demodulate_llr(grid[subframe, 0, k] / h[k], 2, 0.05)
        cfi, metric = pcfich_decode(llr, PCI, subframe)
        assert (cfi, subframe) == (3, subframe)
        assert metric > 0.95


def test_vector_control_region_layout(grid):
    # 6 PRB, CFI 3 -> 4 control symbols; MIB: PHICH normal, Ng = one
    regs = control_regs_for(N_RB, PCI, 1, 4, "normal", "one")
    crs_power = np.mean(np.abs(grid[:, 0, crs_positions(0, 0, 0, PCI, N_RB)]) ** 2)
    dl, dk = regs.pdcch_re()
    for subframe in (2, 5):  # the subframes with a DCI (README)
        active = (np.abs(grid[subframe, dl, dk]) ** 2 > 0.1 * crs_power).reshape(-1, 4).sum(axis=1)
        assert set(active.tolist()) == {0, 4}  # energy on whole REGs of our layout only
        assert (active == 4).sum() >= 18  # at least one aggregation-level-2 PDCCH (18 REGs)
        pl, pk = regs.phich_re()
        assert np.mean(np.abs(grid[subframe, pl, pk]) ** 2) < 0.05 * crs_power  # no PDCCH on PHICH REs
        # nothing outside CRS / PCFICH / PHICH / PDCCH in the control region
        occupied = np.zeros((4, 12 * N_RB), dtype=bool)
        occupied[0, crs_positions(0, 0, 2 * subframe, PCI, N_RB)] = True
        occupied[0, pcfich_re_indices(PCI, N_RB)] = True
        occupied[pl, pk] = True
        occupied[dl, dk] = True
        stray = np.abs(grid[subframe, :4][~occupied]) ** 2
        assert stray.max() < 0.05 * crs_power


def _pbch_llr(subframe0: np.ndarray, pci: int, n_ports: int) -> np.ndarray:
    """PBCH LLRs of a demodulated subframe 0; channel from the CRS of symbol l' = 7, interpolated in k."""
    k = np.arange(subframe0.shape[-1])
    h = []
    for port in range(n_ports):
        kc = crs_positions(port, 0, 1, pci, N_RB)
        hc = subframe0[7, kc] / crs_values(port, 0, 1, pci, N_RB)
        h.append(np.interp(k, kc, hc.real) + 1j * np.interp(k, kc, hc.imag))
    l_idx, k_idx = pbch_re_indices(N_RB, pci)
    sym, nv = tx_diversity_decode(subframe0[l_idx, k_idx], np.array(h)[:, k_idx], 0.01)
    return demodulate_llr(sym, 2, nv)


def test_vector_pbch_1port(grid):
    llr = _pbch_llr(grid[0], PCI, 1)
    results = {
        (n_ports, phase): pbch_decode(llr, PCI, n_ports, phase) for n_ports in (1, 2) for phase in range(4)
    }
    found = {key: mib for key, mib in results.items() if mib is not None}
    assert list(found) == [(1, 0)]
    mib = found[(1, 0)]
    assert (mib.n_rb_dl, mib.phich_duration, mib.phich_resource) == (6, "normal", "one")  # README
    assert mib.sfn % 4 == 0


def test_vector_pbch_2port(vectors_dir):
    x = np.fromfile(vectors_dir / "lte_dl_pci150_2port_1.92Msps.cf32", dtype="<c8")
    subframe0 = ofdm_demodulate(x[:1920], N_RB)
    llr = _pbch_llr(subframe0, 150, 2)
    assert pbch_decode(llr, 150, 2, 0) == Mib(50, "normal", "one", 28)  # README: bytes 68 1C 00, SFN 28
    assert pbch_decode(llr, 150, 1, 0) is None  # wrong CRC mask
