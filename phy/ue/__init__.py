"""The emulated handset's receive side: cell search, channel estimation, PBCH/PCFICH decoding.

Public entry: `read_cell(samples, sample_rate_hz) -> CellReport` (raises `CellNotFound`).
See docs/handset.md.
"""

from .cell_search import CellNotFound
from .receiver import CellReport, read_cell

__all__ = ["CellNotFound", "CellReport", "read_cell"]
