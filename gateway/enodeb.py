"""The gateway's eNodeB downlink source: subframe after subframe on the stream's sample clock.

Subframe k of the stream starts at sample n = k * samples_per_subframe (DESIGN.md 2); its frame
number is SFN = (sfn_start + k // 10) mod 1024 and its subframe index k mod 10.

`ENodeB` builds the full downlink of a profile: the broadcast channels (phy.downlink.build_subframe:
PSS/SSS, CRS, PBCH, PCFICH), then the scheduler's PDCCH/PDSCH (mac.scheduler.DlScheduler ->
phy.dl_data.add_dl_data: SIB1, SIB2, user data), then OFDM. `broadcast_subframes` is the first-light
source (broadcast channels only).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from mac.scheduler import DlScheduler, TtiPlan
from phy.cell_cache import CellCaches
from phy.channels.pbch import Mib, pbch_map
from phy.dl_data import add_dl_data
from phy.downlink import build_subframe, static_grid
from phy.numerology import numerology
from phy.ofdm import ofdm_modulate

if TYPE_CHECKING:
    from gateway.config import CellConfig, Config

__all__ = [
    "ENodeB",
    "TimedSubframe",
    "broadcast_subframes",
    "combine_ports",
    "downlink_samples",
    "downlink_subframes",
]


@dataclass(frozen=True)
class TimedSubframe:
    """One subframe of the stream: first sample counter `n`, SFN, subframe index, samples (n_ports, N),
    and the scheduler's plan for it (None for a broadcast-only subframe)."""

    n: int
    sfn: int
    subframe: int
    samples: np.ndarray
    plan: TtiPlan | None = None


class ENodeB:
    """The full downlink of a profile, one subframe at a time (stateful: the scheduler's HARQ/traffic)."""

    def __init__(self, cfg: Config):
        self.cell = cfg.cell
        self.dl_cell = cfg.cell.dl_cell()  # what phy takes (phy.cell.DlCell)
        self.scheduler = DlScheduler.from_config(cfg)  # SIB1/SIB2 encoded once here
        self.samples_per_subframe = numerology(self.cell.n_rb_dl).samples_per_subframe
        # this cell's PDSCH / rate-matching / grant tables (phy.cell_cache; bounds at each cached function)
        self.caches = CellCaches()

    def subframe(self, k: int) -> TimedSubframe:
        """Stream subframe k: broadcast grid + scheduled PDCCH/PDSCH, OFDM-modulated (n_ports, N)."""
        sfn, sf, plan, grid = self._grid(k)
        return TimedSubframe(k * self.samples_per_subframe, sfn, sf, ofdm_modulate(grid), plan)

    def antenna_subframe(self, k: int) -> tuple[int, np.ndarray]:
        """Stream subframe k as one antenna sees it through unit flat channels from every port:
        (n = k * N, (N,) complex64). The ports are summed on the grid, before one OFDM modulation:
        6.12 is linear, so this equals combine_ports(subframe(k).samples) to float32 rounding and
        costs one IFFT per symbol instead of one per port and symbol (what `transmit` streams)."""
        _sfn, _sf, _plan, grid = self._grid(k)
        if grid.shape[0] == 1:
            grid = grid[0]  # ofdm_modulate only reads it
        elif grid.shape[0] == 2:
            grid = np.add(grid[0], grid[1])  # one pass over the ports; np.sum over axis 0 costs ~3x
        else:
            grid = np.sum(grid, axis=0, dtype=np.complex64)
        return k * self.samples_per_subframe, ofdm_modulate(grid)

    def _grid(self, k: int) -> tuple[int, int, TtiPlan, np.ndarray]:
        """(SFN, subframe index, the scheduler's plan, resource grid) of stream subframe k."""
        sfn, sf = (self.cell.sfn_start + k // 10) % 1024, k % 10
        with self.caches.active():
            plan = self.scheduler.schedule(sfn, sf)
            grid = self._broadcast_grid(sfn, sf)
            if plan.assignments or plan.phich:
                add_dl_data(grid, self.dl_cell, sfn, sf, plan.assignments, plan.phich)
        return sfn, sf, plan, grid

    def fast_forward(self, k_first: int) -> None:
        """Bring a new eNodeB to stream subframe k_first: run the scheduler (the only state: HARQ,
        traffic generator) over subframes 0..k_first-1 without building them (a restarted stage
        resumes where its stream stopped, gateway/pipeline.py); the PHY is pure and needs nothing."""
        for k in range(k_first):
            self.skip_subframe(k)

    def skip_subframe(self, k: int) -> None:
        """Run the scheduler for stream subframe k without building it (its HARQ/traffic state moves on as
        if it had been sent): a pipeline worker that builds every W-th subframe skips the others."""
        with self.caches.active():
            self.scheduler.schedule((self.cell.sfn_start + k // 10) % 1024, k % 10)

    def _broadcast_grid(self, sfn: int, sf: int) -> np.ndarray:
        """The grid of phy.downlink.build_subframe without its OFDM step (one IFFT saved per subframe)."""
        c = self.cell
        grid = static_grid(int(c.n_rb_dl), int(c.pci), int(c.n_ports), int(c.cfi), sf).copy()
        if sf == 0:
            mib = Mib(int(c.n_rb_dl), c.phich_duration, c.phich_resource, sfn)
            pbch_map(grid, mib, int(c.pci), int(c.n_ports), sfn)
        return grid


def downlink_subframes(cfg: Config, n_subframes: int, first_subframe: int = 0) -> Iterator[TimedSubframe]:
    """Yield `n_subframes` full downlink subframes of profile `cfg` from stream subframe `first_subframe`."""
    enb = ENodeB(cfg)
    for k in range(first_subframe, first_subframe + n_subframes):
        yield enb.subframe(k)


def broadcast_subframes(cell: CellConfig, n_subframes: int, first_subframe: int = 0) -> Iterator[TimedSubframe]:
    """Yield `n_subframes` broadcast-only subframes (PSS/SSS, CRS, PBCH, PCFICH) from `first_subframe`."""
    spsf = numerology(cell.n_rb_dl).samples_per_subframe
    dl_cell = cell.dl_cell()
    for k in range(first_subframe, first_subframe + n_subframes):
        sfn = (cell.sfn_start + k // 10) % 1024
        sf = build_subframe(dl_cell, sfn, k % 10)
        yield TimedSubframe(n=k * spsf, sfn=sfn, subframe=k % 10, samples=sf.samples)


def combine_ports(samples: np.ndarray) -> np.ndarray:
    """What one receive antenna sees through unit flat channels from every port: the sum, (N,) complex64."""
    return np.sum(samples, axis=0, dtype=np.complex64) if samples.ndim == 2 else samples


def downlink_samples(cfg: Config, n_subframes: int, first_subframe: int = 0) -> np.ndarray:
    """Contiguous single-antenna full downlink of `n_subframes` subframes, (n_subframes * N,) complex64
    (ENodeB.antenna_subframe: what `transmit` streams)."""
    enb = ENodeB(cfg)  # a fresh scheduler from first_subframe, as downlink_subframes
    parts = [enb.antenna_subframe(k)[1] for k in range(first_subframe, first_subframe + n_subframes)]
    return np.concatenate(parts).astype(np.complex64, copy=False)
