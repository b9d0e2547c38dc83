"""The gateway's eNodeB downlink source: subframe after subframe on the stream's sample clock.

Subframe k of the stream starts at sample n = k * samples_per_subframe (DESIGN.md 2); its frame
number is SFN = (sfn_start + k // 10) mod 1024 and its subframe index k mod 10.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from phy.downlink import build_subframe
from phy.numerology import numerology

if TYPE_CHECKING:
    from gateway.config import CellConfig

__all__ = ["TimedSubframe", "downlink_subframes", "downlink_samples", "combine_ports"]


@dataclass(frozen=True)
class TimedSubframe:
    """One subframe of the stream: first sample counter `n`, SFN, subframe index, samples (n_ports, N)."""

    n: int
    sfn: int
    subframe: int
    samples: np.ndarray


def downlink_subframes(cell: CellConfig, n_subframes: int, first_subframe: int = 0) -> Iterator[TimedSubframe]:
    """Yield `n_subframes` broadcast subframes starting at stream subframe `first_subframe`."""
    spsf = numerology(cell.n_rb_dl).samples_per_subframe
    for k in range(first_subframe, first_subframe + n_subframes):
        sfn = (cell.sfn_start + k // 10) % 1024
        sf = build_subframe(cell, sfn, k % 10)
        yield TimedSubframe(n=k * spsf, sfn=sfn, subframe=k % 10, samples=sf.samples)


def combine_ports(samples: np.ndarray) -> np.ndarray:
    """What one receive antenna sees through unit flat channels from every port: the sum, (N,) complex64."""
    return np.sum(samples, axis=0, dtype=np.complex64) if samples.ndim == 2 else samples


def downlink_samples(cell: CellConfig, n_subframes: int, first_subframe: int = 0) -> np.ndarray:
    """Contiguous single-antenna downlink of `n_subframes` subframes, (n_subframes * N,) complex64."""
    parts = [combine_ports(s.samples) for s in downlink_subframes(cell, n_subframes, first_subframe)]
    return np.concatenate(parts).astype(np.complex64, copy=False)
