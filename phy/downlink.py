"""One downlink subframe of the broadcast channels, grid and samples (TS 36.211 6, FDD, normal CP).

Content: CRS of every port in every subframe (6.10.1), PSS/SSS in subframes 0 and 5 (6.11), PBCH in
subframe 0 (6.6), PCFICH with cell.cfi in every subframe (6.7). PHICH and PDCCH REs (positions in
phy.regs) and the data region are left empty (zero) for the MAC / data channels to fill.

The constant part of a subframe (CRS, sync, PCFICH) depends only on the cell and the subframe number
and is cached; a call copies it, adds the PBCH in subframe 0 and runs the OFDM modulator.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from .cell import DlCell
from .channels.pbch import Mib, pbch_map
from .channels.pcfich import pcfich_map
from .grid import new_grid
from .ofdm import ofdm_modulate
from .refsig import map_crs
from .sync import map_sync

__all__ = ["DownlinkSubframe", "build_subframe", "static_grid"]


@dataclass(frozen=True)
class DownlinkSubframe:
    """grid: (n_ports, 14, 12 n_rb) complex64; samples: (n_ports, samples_per_subframe) complex64."""

    grid: np.ndarray
    samples: np.ndarray


@lru_cache(maxsize=64)
def static_grid(n_rb: int, n_id_cell: int, n_ports: int, cfi: int, subframe: int) -> np.ndarray:
    """CRS + PSS/SSS + PCFICH of a subframe (no PBCH), cached; (n_ports, 14, 12 n_rb) complex64 read-only."""
    grid = new_grid(n_ports, n_rb)
    map_crs(grid, n_id_cell, n_rb, subframe)
    map_sync(grid, n_rb, n_id_cell, subframe)
    pcfich_map(grid, cfi, n_id_cell, n_rb, n_ports, subframe)
    grid.setflags(write=False)
    return grid


def build_subframe(cell: DlCell, sfn: int, subframe: int) -> DownlinkSubframe:
    """Broadcast downlink of subframe `subframe` (0..9) of frame `sfn` (0..1023) for `cell`.

    `cell`: a phy.cell.DlCell (or any object with its attributes n_rb_dl, pci, n_ports, cfi,
    phich_duration, phich_resource). Returns fresh, writable arrays (callers may add PDCCH/PDSCH to
    the grid and re-modulate with phy.ofdm.ofdm_modulate).
    """
    if not 0 <= sfn <= 1023:
        raise ValueError(f"sfn must be 0..1023, got {sfn}")
    if not 0 <= subframe <= 9:
        raise ValueError(f"subframe must be 0..9, got {subframe}")
    n_ports = int(cell.n_ports)
    if n_ports not in (1, 2):
        raise ValueError(f"cell.n_ports must be 1 or 2, got {n_ports}")
    n_rb, pci = int(cell.n_rb_dl), int(cell.pci)
    grid = static_grid(n_rb, pci, n_ports, int(cell.cfi), int(subframe)).copy()
    if subframe == 0:
        mib = Mib(n_rb, str(cell.phich_duration), str(cell.phich_resource), int(sfn))
        pbch_map(grid, mib, pci, n_ports, int(sfn))
    return DownlinkSubframe(grid=grid, samples=ofdm_modulate(grid))
