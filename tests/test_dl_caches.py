"""The transmit path's caches are bounded and hold one cell's working set (issue 13).

A 20 MHz, 2-port cell at MCS 28 with full-buffer traffic runs one SI period (160 ms: SIB1, the SIB2
window, paging/RAR reservations) to warm up; the next SI period must then be served from the caches
alone (no miss: no eviction thrash), and each cache's fill must leave room for several such cells.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from gateway.config import load_config
from gateway.enodeb import ENodeB
from phy import dl_data
from phy.channels import pcfich, pdsch
from phy.fec import ratematch

CACHES = {
    "pdsch._re_indices": pdsch._re_indices,
    "pdsch.pdsch_re_mask": pdsch.pdsch_re_mask,
    "pdsch._grant_from_dci": pdsch._grant_from_dci,
    "ratematch._turbo_tb_selection": ratematch._turbo_tb_selection,
    "dl_data._common_pdsch": dl_data._common_pdsch,
    "pcfich.pcfich_symbols": pcfich.pcfich_symbols,
}
SI_PERIOD_SUBFRAMES = 160


@pytest.fixture(scope="module")
def enb(hw_configs_dir):
    cfg = load_config(hw_configs_dir / "loopback.yaml")
    cfg = replace(cfg, cell=replace(cfg.cell, n_rb_dl=100, n_ports=2), scheduler=replace(cfg.scheduler, user_mcs=28))
    return ENodeB(cfg)


def test_caches_are_bounded_and_hold_one_cells_working_set(enb):
    for name, f in CACHES.items():
        assert f.cache_info().maxsize is not None, f"{name} is unbounded"
    for k in range(SI_PERIOD_SUBFRAMES):
        enb.subframe(k)
    misses = {name: f.cache_info().misses for name, f in CACHES.items()}
    for k in range(SI_PERIOD_SUBFRAMES, 2 * SI_PERIOD_SUBFRAMES):
        enb.subframe(k)
    for name, f in CACHES.items():
        info = f.cache_info()
        assert info.misses == misses[name], f"{name}: {info.misses - misses[name]} misses in the steady state"
        assert info.currsize <= info.maxsize // 2, f"{name}: one cell fills {info.currsize} of {info.maxsize}"
