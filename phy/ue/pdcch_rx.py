"""Handset PDCCH blind decoding over the common and UE-specific search spaces (TS 36.213 9.1.1).

Common space (L = 4, 8 from CCE 0): formats 0/1A and 1C for SI-RNTI, P-RNTI, RA-RNTIs, and 0/1A for
the handset's C-RNTI. UE-specific space of the C-RNTI (L = 1, 2, 4, 8): formats 0/1A and 1
(transmission modes 1 and 2). A candidate is accepted when the CRC syndrome equals one of the RNTIs
looked for and its payload unpacks to a valid DCI; each (RNTI, DCI size) is reported once (the
first candidate in search order, lowest aggregation level first in the UE space).

Each (candidate, DCI size) is decoded once, and all the candidates of one DCI size in one batch
(phy.channels.pdcch.decode_candidates: one Viterbi call, one CRC call), with the same results as
decoding them one by one (decode_candidate).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

import numpy as np

from ..channels.pdcch import decode_candidates, pdcch_llr
from ..dci import Dci, dci_size, dci_unpack
from ..regs import control_regs
from ..search_space import Candidate, common_candidates, ue_candidates

__all__ = ["SI_RNTI", "P_RNTI", "RA_RNTIS", "FoundDci", "blind_decode", "blind_decode_llr"]

SI_RNTI = 0xFFFF  # TS 36.321 Table 7.1-1
P_RNTI = 0xFFFE
RA_RNTIS = tuple(range(1, 11))  # FDD: RA-RNTI = 1 + t_id + 10 f_id, t_id 0..9, f_id 0 (TS 36.321 5.1.4)


@dataclass(frozen=True)
class FoundDci:
    """A decoded DCI: its fields, raw payload bits, the RNTI, the format searched ('0/1A', '1', '1C'),
    the candidate (aggregation level, first CCE) and the search space ('common' or 'ue')."""

    dci: Dci
    payload: np.ndarray
    rnti: int
    fmt: str
    aggregation: int
    first_cce: int
    space: str


class _Entry(NamedTuple):
    """One (candidate, DCI format) of the search order; `row` indexes the decoded rows."""

    space: str
    aggregation: int
    first_cce: int
    fmt: str
    size: int
    row: int
    wanted: frozenset[int]


class _SearchPlan(NamedTuple):
    """What blind decoding decodes: per DCI size the distinct candidates (decoded as one batch, rows
    numbered size after size), and the search order over (candidate, format) entries."""

    batches: tuple[tuple[int, tuple[Candidate, ...]], ...]
    entries: tuple[_Entry, ...]


@lru_cache(maxsize=256)
def _search_plan(
    n_cce: int, n_rb_dl: int, subframe: int, c_rnti: int | None, common: frozenset[int]
) -> _SearchPlan:
    """The search spaces and formats of TS 36.213 9.1.1 for these arguments (cached: a handset
    searches the same few spaces again and again)."""
    size_0_1a, size_1c, size_1 = dci_size("1A", n_rb_dl), dci_size("1C", n_rb_dl), dci_size("1", n_rb_dl)
    spaces: list[tuple[str, list[Candidate], list[tuple[str, int]], frozenset[int]]] = []
    common_wanted = common | ({c_rnti} if c_rnti is not None else set())
    spaces.append(("common", common_candidates(n_cce), [("0/1A", size_0_1a), ("1C", size_1c)], common_wanted))
    if c_rnti is not None:
        spaces.append(
            ("ue", ue_candidates(n_cce, c_rnti, subframe), [("0/1A", size_0_1a), ("1", size_1)], frozenset({c_rnti}))
        )
    # every (candidate, DCI size) once (the common and UE spaces may share candidates)
    per_size: dict[int, list[Candidate]] = {}
    for _, cands, formats, _ in spaces:
        for cand in cands:
            for _, size in formats:
                if cand not in per_size.setdefault(size, []):
                    per_size[size].append(cand)
    row: dict[tuple[int, Candidate], int] = {}
    for size, cands in per_size.items():
        for cand in cands:
            row[(size, cand)] = len(row)
    entries = tuple(
        _Entry(space, cand.aggregation, cand.first_cce, fmt, size, row[(size, cand)], wanted)
        for space, cands, formats, wanted in spaces
        for cand in cands
        for fmt, size in formats
    )
    return _SearchPlan(tuple((size, tuple(cands)) for size, cands in per_size.items()), entries)


def blind_decode_llr(
    llr_block: np.ndarray,
    n_cce: int,
    n_rb_dl: int,
    subframe: int,
    c_rnti: int | None = None,
    common_rntis: Iterable[int] = (SI_RNTI, P_RNTI, *RA_RNTIS),
) -> list[FoundDci]:
    """Blind decoding on the descrambled LLRs of the multiplexed PDCCH block
    (phy.channels.pdcch.pdcch_llr); n_cce: N_CCE of the subframe."""
    common = frozenset(int(r) for r in common_rntis)
    plan = _search_plan(int(n_cce), int(n_rb_dl), int(subframe), None if c_rnti is None else int(c_rnti), common)
    payloads: list[np.ndarray] = []
    rntis: list[int] = []
    for size, cands in plan.batches:  # one batch per DCI size: one Viterbi call, one CRC call
        bits, syndromes = decode_candidates(llr_block, cands, size)
        payloads.extend(bits)
        rntis.extend(syndromes.tolist())
    found: list[FoundDci] = []
    seen: set[tuple[int, int]] = set()
    for entry in plan.entries:  # the search order
        rnti = rntis[entry.row]
        if rnti not in entry.wanted or (rnti, entry.size) in seen:
            continue
        if entry.fmt == "1C" and rnti == c_rnti:
            continue  # 1C is for SI/P/RA-RNTI only (TS 36.212 5.3.3.1.4)
        kind = "c" if rnti == c_rnti and rnti not in common else "common"
        payload = payloads[entry.row]
        try:
            dci = dci_unpack(payload, "1A" if entry.fmt == "0/1A" else entry.fmt, n_rb_dl, rnti_kind=kind)
        except ValueError:
            continue  # a field out of range: not a real DCI
        seen.add((rnti, entry.size))
        found.append(
            FoundDci(dci, payload.copy(), rnti, entry.fmt, entry.aggregation, entry.first_cce, entry.space)
        )
    return found


def blind_decode(
    rx_grid: np.ndarray,
    h: np.ndarray,
    noise_var: float,
    cell,
    subframe: int,
    c_rnti: int | None = None,
    common_rntis: Iterable[int] = (SI_RNTI, P_RNTI, *RA_RNTIS),
) -> list[FoundDci]:
    """All DCIs for the given RNTIs in one received subframe.

    rx_grid: (14, 12 n_rb) complex64 after the FFT; h: (n_ports, 14, 12 n_rb) channel estimate;
    noise_var: noise variance per RE; cell: any object with CellConfig's attributes (n_rb_dl, pci,
    n_ports, n_ctrl_symbols (from the decoded CFI), phich_duration, phich_resource).
    """
    regs = control_regs(cell, subframe)
    llr = pdcch_llr(rx_grid, h, noise_var, regs, int(cell.pci), subframe)
    return blind_decode_llr(llr, regs.n_cce, int(cell.n_rb_dl), subframe, c_rnti, common_rntis)
