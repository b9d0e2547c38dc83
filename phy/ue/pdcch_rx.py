"""Handset PDCCH blind decoding over the common and UE-specific search spaces (TS 36.213 9.1.1).

Common space (L = 4, 8 from CCE 0): formats 0/1A and 1C for SI-RNTI, P-RNTI, RA-RNTIs, and 0/1A for
the handset's C-RNTI. UE-specific space of the C-RNTI (L = 1, 2, 4, 8): formats 0/1A and 1
(transmission modes 1 and 2). A candidate is accepted when the CRC syndrome equals one of the RNTIs
looked for and its payload passes phy.ue.dci_check.check_dci (size, format allowed for the RNTI and
space, allocation inside the cell, TBS defined); a match that fails it is a false alarm of the 16-bit CRC,
discarded and counted in a DciStats. Each (RNTI, DCI size) is reported once (the first valid candidate
in search order, lowest aggregation level first in the UE space); a later match of the same RNTI and
size with another payload is counted as a false alarm ('duplicate'). A discarded false alarm hides
nothing; one that passes the check may still hide a real DCI of the same RNTI and size found later.

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
from ..dci import Dci, dci_size
from ..regs import control_regs
from ..search_space import Candidate, common_candidates, ue_candidates
from .dci_check import DciRejected, DciStats, check_dci

__all__ = ["SI_RNTI", "P_RNTI", "RA_RNTIS", "FoundDci", "DciStats", "blind_decode", "blind_decode_llr"]

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
    numbered size after size), the search order over (candidate, format) entries, and the number of
    (decoded row, RNTI looked for there) CRC comparisons."""

    batches: tuple[tuple[int, tuple[Candidate, ...]], ...]
    entries: tuple[_Entry, ...]
    rnti_checks: int


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
    wanted_per_row: dict[int, set[int]] = {}
    for e in entries:
        wanted_per_row.setdefault(e.row, set()).update(e.wanted)
    checks = sum(len(w) for w in wanted_per_row.values())
    return _SearchPlan(tuple((size, tuple(cands)) for size, cands in per_size.items()), entries, checks)


def blind_decode_llr(
    llr_block: np.ndarray,
    n_cce: int,
    n_rb_dl: int,
    subframe: int,
    c_rnti: int | None = None,
    common_rntis: Iterable[int] = (SI_RNTI, P_RNTI, *RA_RNTIS),
    stats: DciStats | None = None,
) -> list[FoundDci]:
    """Blind decoding on the descrambled LLRs of the multiplexed PDCCH block
    (phy.channels.pdcch.pdcch_llr); n_cce: N_CCE of the subframe. stats: counts of candidates, RNTI
    comparisons, accepted DCIs and discarded false alarms (added to)."""
    common = frozenset(int(r) for r in common_rntis)
    plan = _search_plan(int(n_cce), int(n_rb_dl), int(subframe), None if c_rnti is None else int(c_rnti), common)
    payloads: list[np.ndarray] = []
    rntis: list[int] = []
    for size, cands in plan.batches:  # one batch per DCI size: one Viterbi call, one CRC call
        bits, syndromes = decode_candidates(llr_block, cands, size)
        payloads.extend(bits)
        rntis.extend(syndromes.tolist())
    stats = DciStats() if stats is None else stats
    stats.candidates += len(rntis)
    stats.rnti_checks += plan.rnti_checks
    c_user = c_rnti if c_rnti is not None and c_rnti not in common else None
    found: list[FoundDci] = []
    # (RNTI, size, kind) -> payload accepted. One DCI per RNTI and kind: a second one is a false alarm. Format 0
    # and 1A share a size and are told apart by their first bit (TS 36.212 5.3.3.1.1/.3): a handset may get an
    # uplink grant and a downlink assignment in one subframe, both with its C-RNTI.
    seen: dict[tuple[int, int, int], bytes] = {}
    checked: set[tuple[int, str]] = set()  # (row, format) already judged: one verdict per decode
    rejected: set[tuple[int, bytes]] = set()  # one DCI seen through several candidates counts once
    for entry in plan.entries:  # the search order
        rnti = rntis[entry.row]
        if rnti not in entry.wanted:
            continue
        kind = (rnti, entry.size, int(payloads[entry.row][0]) if entry.fmt == "0/1A" else 2)
        if kind in seen:
            other = payloads[entry.row].tobytes()
            if other != seen[kind] and (rnti, other) not in rejected:
                rejected.add((rnti, other))  # a second DCI of this RNTI and size: a false alarm
                stats.discard("duplicate")
            continue
        key = (entry.row, entry.fmt)
        if key in checked:
            continue
        checked.add(key)
        payload = payloads[entry.row]
        try:
            dci = check_dci(payload, entry.fmt, rnti, entry.space, int(n_rb_dl), c_user)
        except DciRejected as exc:
            if (rnti, payload.tobytes()) not in rejected:
                rejected.add((rnti, payload.tobytes()))
                stats.discard(exc.reason)  # a false alarm of the 16-bit CRC: never used
            continue
        stats.accepted += 1
        seen[kind] = payload.tobytes()
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
    stats: DciStats | None = None,
) -> list[FoundDci]:
    """All DCIs for the given RNTIs in one received subframe (false alarms counted in `stats`).

    rx_grid: (14, 12 n_rb) complex64 after the FFT; h: (n_ports, 14, 12 n_rb) channel estimate;
    noise_var: noise variance per RE; cell: any object with CellConfig's attributes (n_rb_dl, pci,
    n_ports, n_ctrl_symbols (from the decoded CFI), phich_duration, phich_resource).
    """
    regs = control_regs(cell, subframe)
    llr = pdcch_llr(rx_grid, h, noise_var, regs, int(cell.pci), subframe)
    return blind_decode_llr(llr, regs.n_cce, int(cell.n_rb_dl), subframe, c_rnti, common_rntis, stats)
