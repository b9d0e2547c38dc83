"""The transmit path's caches are bounded, owned by the cell, and hold one cell's working set (issue 13).

A 20 MHz, 2-port cell at MCS 28 with full-buffer traffic runs one SI period (160 ms: SIB1, the SIB2
window, paging/RAR reservations) to warm up; the next SI period must then be served from the caches
alone (no miss: no eviction thrash), and each cache's fill must leave room for the cell's variations.
The PDSCH, rate-matching, grant and broadcast-block tables live in the cell's own CellCaches
(phy.cell_cache): several cells in one process (beams of one worker) neither share nor evict them.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from gateway.config import load_config
from gateway.enodeb import ENodeB
from phy import dl_data
from phy.cell_cache import CellCaches, cell_cached, current_caches
from phy.channels import pcfich, pdsch
from phy.fec import ratematch

CELL_CACHES = {  # owned by the cell (phy.cell_cache)
    "pdsch._re_indices": pdsch._re_indices,
    "pdsch.pdsch_re_mask": pdsch.pdsch_re_mask,
    "pdsch._grant_from_dci": pdsch._grant_from_dci,
    "ratematch._turbo_tb_selection": ratematch._turbo_tb_selection,
    "dl_data._common_pdsch": dl_data._common_pdsch,
}
SHARED_CACHES = {"pcfich.pcfich_symbols": pcfich.pcfich_symbols}  # a few hundred bytes per CFI and PCI
SI_PERIOD_SUBFRAMES = 160


def _cell(hw_configs_dir, pci: int = 1):
    cfg = load_config(hw_configs_dir / "loopback.yaml")
    cell = replace(cfg.cell, n_rb_dl=100, n_ports=2, pci=pci)
    return replace(cfg, cell=cell, scheduler=replace(cfg.scheduler, user_mcs=28))


@pytest.fixture(scope="module")
def enb(hw_configs_dir):
    return ENodeB(_cell(hw_configs_dir))


def _info(enb, name, f):
    return enb.caches.info(f.cache_name) if name in CELL_CACHES else f.cache_info()


def test_caches_are_bounded_and_hold_one_cells_working_set(enb):
    caches = {**CELL_CACHES, **SHARED_CACHES}
    for name, f in caches.items():
        assert _info(enb, name, f).maxsize is not None, f"{name} is unbounded"
    for k in range(SI_PERIOD_SUBFRAMES):
        enb.subframe(k)
    misses = {name: _info(enb, name, f).misses for name, f in caches.items()}
    assert all(misses[name] > 0 for name in CELL_CACHES), misses  # the cell's own tables were used
    for k in range(SI_PERIOD_SUBFRAMES, 2 * SI_PERIOD_SUBFRAMES):
        enb.subframe(k)
    for name, f in caches.items():
        info = _info(enb, name, f)
        assert info.misses == misses[name], f"{name}: {info.misses - misses[name]} misses in the steady state"
        assert info.currsize <= info.maxsize // 2, f"{name}: one cell fills {info.currsize} of {info.maxsize}"


def test_cells_in_one_process_own_separate_caches(hw_configs_dir):
    """Four cells built in turn (as a worker interleaves its beams): none evicts another's tables, each
    is served from its own caches in the steady state, and nothing lands in the process default."""
    default_before = {n: i.currsize for n, i in current_caches().info().items()}
    cells = [ENodeB(_cell(hw_configs_dir, pci)) for pci in (1, 2, 3, 4)]
    for k in range(SI_PERIOD_SUBFRAMES):
        for enb in cells:
            enb.antenna_subframe(k)
    misses = [{n: enb.caches.info(f.cache_name).misses for n, f in CELL_CACHES.items()} for enb in cells]
    for k in range(SI_PERIOD_SUBFRAMES, SI_PERIOD_SUBFRAMES + 40):
        for enb in cells:
            enb.antenna_subframe(k)
    for enb, before in zip(cells, misses, strict=True):
        for name, f in CELL_CACHES.items():
            assert enb.caches.info(f.cache_name).misses == before[name], f"{name} missed: evicted by another cell?"
    assert {n: i.currsize for n, i in current_caches().info().items()} == default_before
    a, b = cells[0].caches.info(), cells[1].caches.info()
    assert a[pdsch.pdsch_re_mask.cache_name].currsize > 0 and b[pdsch.pdsch_re_mask.cache_name].currsize > 0


def test_cell_cached_is_a_bounded_lru_in_the_current_caches():
    calls = []

    @cell_cached(maxsize=2)
    def square(x):
        calls.append(x)
        return x * x

    mine = CellCaches()
    with mine.active():
        assert [square(2), square(3), square(2), square(4), square(3)] == [4, 9, 4, 16, 9]
    assert calls == [2, 3, 4, 3]  # 3 was least recently used when 4 came: evicted
    assert mine.info(square.cache_name) == (1, 4, 2, 2)
    assert square(2) == 4 and calls[-1] == 2  # outside: the process default, empty for this function
    with pytest.raises(ValueError, match="maxsize"):
        cell_cached(0)
