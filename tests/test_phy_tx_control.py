"""Control region: REG bookkeeping (36.211 6.2.4, 6.8.1, 6.8.5, 6.9.3), PCFICH (36.212 5.3.4, 36.211 6.7)."""

from __future__ import annotations

from math import ceil
from types import SimpleNamespace

import numpy as np
import pytest

from phy.channels.pcfich import CFI_CODEWORDS, pcfich_decode, pcfich_map, pcfich_re_indices
from phy.grid import new_grid
from phy.mimo import tx_diversity_decode
from phy.modulation import demodulate_llr
from phy.numerology import N_RB_VALUES
from phy.regs import control_regs, control_regs_for, n_phich_groups, pcfich_reg_starts


def _cell(**kw):
    base = dict(
        n_rb_dl=25, pci=1, n_ports=1, cfi=2, phich_duration="normal", phich_resource="one", n_ctrl_symbols=2
    )
    base.update(kw)
    return SimpleNamespace(**base)


def test_cfi_codewords_table():
    # TS 36.212 Table 5.3.4-1: CFI 1 = <0,1,1, 0,1,1, ...,0,1>, CFI 2 = <1,0,1, ...>, CFI 3 = <1,1,0, ...>
    assert CFI_CODEWORDS[0].tolist() == ([0, 1, 1] * 11)[:32]
    assert CFI_CODEWORDS[1].tolist() == ([1, 0, 1] * 11)[:32]
    assert CFI_CODEWORDS[2].tolist() == ([1, 1, 0] * 11)[:32]


def test_pcfich_reg_starts_known():
    # k_bar = 6 (N_ID mod 2 N_RB); k_i = k_bar + floor(i N_RB / 2) * 6 (mod 12 N_RB)
    assert pcfich_reg_starts(1, 6).tolist() == [6, 24, 42, 60]
    assert pcfich_reg_starts(49, 25).tolist() == [294, 66, 144, 216]
    # symbol 0 REs of the first REG skip the CRS at k = v_shift mod 3 (v_shift = 1: k = 7, 10)
    assert pcfich_re_indices(1, 6)[:4].tolist() == [6, 8, 9, 11]


@pytest.mark.parametrize(
    ("n_rb", "ng", "expected"),
    [
        (6, "one_sixth", 1),
        (6, "two", 2),
        (25, "one", 4),
        (50, "half", 4),
        (100, "two", 25),
        (75, "one_sixth", 2),
    ],
)
def test_n_phich_groups(n_rb, ng, expected):
    assert n_phich_groups(n_rb, ng) == expected  # ceil(Ng N_RB / 8)


def test_phich_known_positions():
    # pci 10, 25 PRB, Ng = 1: N_group = 4, PCFICH REGs of symbol 0 at indices 10, 22, 35, 47 (k' = 60, 132,
    # 210, 282), n'_0 = 46. Group 0: n_i = 10, 10 + 15, 10 + 30 -> free REGs 11, 27, 43 -> k' = 66, 162, 258.
    r = control_regs(_cell(pci=10, n_rb_dl=25, n_ctrl_symbols=1, cfi=1), 0)
    assert (pcfich_reg_starts(10, 25) // 6).tolist() == [10, 22, 35, 47]
    assert r.n_phich_groups == 4
    assert (r.phich_k[0, :, 0] // 6 * 6).tolist() == [66, 162, 258]
    assert r.phich_l[0].tolist() == [0, 0, 0]
    # group 1: m' = 1 shifts each by one free REG: 12, 28, 44 -> k' = 72, 168, 264
    assert (r.phich_k[1, :, 0] // 6 * 6).tolist() == [72, 168, 264]


def _reg_count(n_rb: int, n_ctrl: int, n_ports: int) -> int:
    # 6.2.4: symbol 0: 2 REGs/PRB; symbol 1: 2 (4 ports) or 3; symbols 2, 3: 3
    per = [2, 2 if n_ports == 4 else 3, 3, 3]
    return n_rb * sum(per[:n_ctrl])


@pytest.mark.parametrize("n_rb", N_RB_VALUES)
@pytest.mark.parametrize("cfi", [1, 2, 3])
def test_reg_bookkeeping_counts_and_partition(n_rb, cfi):
    n_ctrl = cfi + 1 if n_rb <= 10 else cfi
    pci = (7 * n_rb + cfi) % 504
    for ng in ("one_sixth", "two"):
        for n_ports in (1, 2):
            r = control_regs(
                _cell(
                    n_rb_dl=n_rb, pci=pci, n_ports=n_ports, cfi=cfi, phich_resource=ng, n_ctrl_symbols=n_ctrl
                ),
                3,
            )
            n_group = ceil({"one_sixth": 1 / 6, "two": 2}[ng] * n_rb / 8 - 1e-12)
            assert r.n_phich_groups == n_group
            # 6.8.1: N_REG = control-region REGs not assigned to PCFICH or PHICH; N_CCE = floor(N_REG / 9)
            assert r.n_pdcch_regs == _reg_count(n_rb, n_ctrl, n_ports) - 4 - 3 * n_group
            assert r.n_cce == r.n_pdcch_regs // 9
            # PCFICH + PHICH + PDCCH + CRS REs tile the control region exactly once
            occ = np.zeros((n_ctrl, 12 * n_rb), dtype=int)
            occ[0, r.pcfich_k.ravel()] += 1
            pl, pk = r.phich_re()
            np.add.at(occ, (pl, pk), 1)
            dl, dk = r.pdcch_re()
            np.add.at(occ, (dl, dk), 1)
            occ[0, np.arange(12 * n_rb) % 3 == pci % 6 % 3] += 1  # CRS of ports 0/1 (assumed for 1 port)
            assert (occ == 1).all()
    # 6.8.5 order: k' of the REGs never decreases; at equal k', l' increases
    k_first = r.pdcch_k[:, 0] - np.where(r.pdcch_l == 0, r.pdcch_k[:, 0] % 6, 0)
    key = k_first * 4 + r.pdcch_l
    assert (np.diff(key) > 0).all()


def test_known_cce_counts():
    # 20 MHz, CFI 3, 2 ports: 800 REGs - 4 - 3 N_group -> 87 CCEs (Ng 1/6), 84 CCEs (Ng 1)
    assert control_regs_for(100, 0, 2, 3, "normal", "one_sixth").n_cce == 87
    assert control_regs_for(100, 0, 2, 3, "normal", "one").n_cce == 84


def test_extended_phich_duration():
    r = control_regs_for(50, 17, 2, 3, "extended", "one")
    assert r.phich_l.tolist() == [[0, 1, 2]] * 7
    assert r.n_pdcch_regs == 50 * 8 - 4 - 21
    with pytest.raises(ValueError, match="extended PHICH"):
        control_regs_for(50, 17, 2, 2, "extended", "one")


@pytest.mark.parametrize("n_ports", [1, 2])
@pytest.mark.parametrize("cfi", [1, 2, 3])
def test_pcfich_round_trip(cfi, n_ports):
    rng = np.random.default_rng(cfi * 10 + n_ports)
    n_rb, pci = 15, 233
    for subframe in (0, 7):
        grid = new_grid(n_ports, n_rb)
        pcfich_map(grid, cfi, pci, n_rb, n_ports, subframe)
        k = pcfich_re_indices(pci, n_rb)
        assert np.count_nonzero(grid[:, 0, :]) == 16 * n_ports
        assert np.allclose(np.abs(grid[:, 0, k]) ** 2, 1 / n_ports)
        h = (rng.standard_normal(n_ports) + 1j * rng.standard_normal(n_ports))[:, None] * np.ones(
            (n_ports, 16)
        )
        y = np.sum(h * grid[:, 0, k], axis=0)
        y = y + 0.05 * (rng.standard_normal(16) + 1j * rng.standard_normal(16))
        sym, nv = tx_diversity_decode(y, h, 0.005)
        got, metric = pcfich_decode(demodulate_llr(sym, 2, nv), pci, subframe)
        assert got == cfi
        assert metric > 0.9
        # the wrong subframe's scrambling does not give a confident answer
        _, wrong = pcfich_decode(demodulate_llr(sym, 2, nv), pci, subframe + 1)
        assert wrong < 0.7
