"""Downlink data content of one subframe: PDCCH, PDSCH and PHICH added onto the broadcast grid of
phy.downlink.build_subframe (TS 36.211 6.3-6.4, 6.8, 6.9; TS 36.212 5.3.2, 5.3.3; TS 36.213 7.1, 9.1).

The scheduler (mac/) decides, per TTI, a list of `DlAssignment`s (a DCI, the RNTI, the PDCCH
candidate and, for a downlink assignment, the transport block) and the PHICH values; `add_dl_data`
encodes them onto the grid. Re-modulate with phy.ofdm.ofdm_modulate afterwards.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .cell_cache import cell_cached
from .channels.pdcch import PdcchTx, pdcch_map
from .channels.pdsch import (
    N_SOFT_DEFAULT,
    PdschGrant,
    grant_from_dci,
    pdsch_alloc_mask,
    pdsch_map,
)
from .channels.phich import PhichTx, phich_map
from .dci import Dci, Dci0, Dci1, Dci1A, Dci1APdcchOrder, Dci1C, dci_pack
from .grid import put_res_masked
from .regs import control_regs

__all__ = ["DlAssignment", "PhichTx", "add_dl_data", "is_common_rnti"]

SI_RNTI, P_RNTI = 0xFFFF, 0xFFFE
RA_RNTI_MAX = 10  # FDD RA-RNTI = 1 + t_id (TS 36.321 5.1.4)


def is_common_rnti(rnti: int) -> bool:
    """SI-RNTI, P-RNTI or an FDD RA-RNTI (1..10): the DCI goes in the common search space and uses
    the common-RNTI field meanings of format 1A (TS 36.212 5.3.3.1.3)."""
    return rnti in (SI_RNTI, P_RNTI) or 1 <= rnti <= RA_RNTI_MAX


@dataclass(frozen=True)
class DlAssignment:
    """One PDCCH of a subframe and, for formats 1/1A/1C, its PDSCH.

    dci: a phy.dci dataclass; rnti: the RNTI masking its CRC (and scrambling the PDSCH);
    aggregation, first_cce: the PDCCH candidate (phy.search_space); tb_bits: (TBS,) uint8 transport
    block for a downlink assignment, None for a format 0 grant or a PDCCH order; tbs_first: the
    first transmission's TBS for a retransmission with I_MCS 29..31; rv: the redundancy version of
    a format 1C PDSCH, which the DCI does not carry (for SI: ceil(3k/2) mod 4, TS 36.321 5.3.1).
    """

    dci: Dci
    rnti: int
    aggregation: int
    first_cce: int
    tb_bits: np.ndarray | None = None
    tbs_first: int | None = None
    rv: int | None = None


def add_dl_data(
    grid: np.ndarray,
    cell,
    sfn: int,
    subframe: int,
    assignments: Sequence[DlAssignment],
    phich: Sequence[PhichTx] = (),
    n_soft: int | None = N_SOFT_DEFAULT,
) -> np.ndarray:
    """Add PDCCHs, PDSCHs and PHICHs to `grid` (n_ports, 14, 12 n_rb) complex64 in place; returns it.

    cell: a phy.cell.DlCell (or any object with its attributes n_rb_dl, pci, n_ports, n_ctrl_symbols,
    phich_duration, phich_resource). PDSCH allocations must not overlap (checked).
    sfn is accepted for symmetry with build_subframe (no data-channel quantity depends on it in FDD).
    """
    if not 0 <= sfn <= 1023:
        raise ValueError(f"sfn must be 0..1023, got {sfn}")
    n_rb, n_id_cell = int(cell.n_rb_dl), int(cell.pci)
    if grid.shape != (int(cell.n_ports), 14, 12 * n_rb):
        raise ValueError(f"grid must be ({cell.n_ports}, 14, {12 * n_rb}), got {grid.shape}")
    regs = control_regs(cell, subframe)
    pdcchs, grants = _pdcchs_and_grants(assignments, n_rb)
    _check_disjoint(grants, n_rb)
    pdcch_map(grid, pdcchs, regs, n_id_cell, subframe)
    phich_map(grid, phich, regs, n_id_cell, subframe)
    n_ports, n_ctrl = int(cell.n_ports), int(cell.n_ctrl_symbols)
    for grant, tb in grants:
        if is_common_rnti(grant.rnti):
            # broadcast blocks (SIB1, SI messages) repeat with the same content, RV and subframe: encode once
            mask, sym = _common_pdsch(
                np.asarray(tb, dtype=np.uint8).tobytes(), grant.prbs.tobytes(), grant.tbs, grant.q_m, grant.rv,
                grant.rnti, n_rb, n_id_cell, n_ports, n_ctrl, subframe, n_soft,
            )
            put_res_masked(grid, mask, sym)
        else:
            pdsch_map(grid, tb, grant, n_id_cell, n_ctrl, subframe, n_soft=n_soft)
    return grid


def _pdcchs_and_grants(
    assignments: Sequence[DlAssignment], n_rb: int
) -> tuple[list[PdcchTx], list[tuple[PdschGrant, np.ndarray]]]:
    """The PDCCH of each assignment (DCI payload, TS 36.212 5.3.3.1) and the PDSCH grant of each
    downlink assignment with its transport block (TS 36.213 7.1.6, 7.1.7), checked against the DCI."""
    pdcchs: list[PdcchTx] = []
    grants: list[tuple[PdschGrant, np.ndarray]] = []
    for a in assignments:
        common = is_common_rnti(a.rnti)
        payload = dci_pack(a.dci, n_rb, rnti_kind="common" if common else "c")
        pdcchs.append(PdcchTx(payload, a.rnti, a.aggregation, a.first_cce))
        if isinstance(a.dci, (Dci1, Dci1A, Dci1C)):
            if a.tb_bits is None:
                raise ValueError(f"a format 1/1A/1C assignment for RNTI {a.rnti:#06x} needs tb_bits")
            if isinstance(a.dci, Dci1C) and not common:
                raise ValueError(
                    f"format 1C is for SI-, P- and RA-RNTI only (TS 36.212 5.3.3.1.4), got RNTI {a.rnti:#06x}"
                )
            grant = grant_from_dci(a.dci, n_rb, a.rnti, common=common, tbs_first=a.tbs_first, rv=a.rv)
            if np.asarray(a.tb_bits).size != grant.tbs:
                raise ValueError(
                    f"RNTI {a.rnti:#06x}: the transport block has {np.asarray(a.tb_bits).size} bits, "
                    f"the DCI announces TBS {grant.tbs}"
                )
            grants.append((grant, a.tb_bits))
        elif isinstance(a.dci, (Dci0, Dci1APdcchOrder)):
            if a.tb_bits is not None:
                raise ValueError("a format 0 grant or PDCCH order carries no transport block")
        else:
            raise TypeError(f"unsupported DCI {type(a.dci).__name__}: give a phy.dci format 0, 1, 1A or 1C")
    return pdcchs, grants


def _check_disjoint(grants: Sequence[tuple[PdschGrant, np.ndarray]], n_rb: int) -> None:
    """ValueError when two PDSCH allocations share a PRB in the same slot. Every PRB of every slot holds
    PDSCH REs (TS 36.211 6.3.5: at most 4 control symbols; PSS/SSS/PBCH leave symbols 4 and 11..13
    free), so this is the RE overlap check, done on the (2, n_rb) PRB occupancy."""
    if len(grants) < 2:  # a lone allocation overlaps nothing (most subframes: one user, no SI)
        return
    used = np.zeros((2, n_rb), dtype=bool)
    for grant, _ in grants:
        if used[0, grant.prbs[0]].any() or used[1, grant.prbs[1]].any():
            raise ValueError(f"PDSCH allocations overlap (RNTI {grant.rnti:#06x})")
        used[0, grant.prbs[0]] = True
        used[1, grant.prbs[1]] = True


# Bounded: one cell repeats SIB1 and the SI messages (8 entries measured at 20 MHz over 400 subframes);
# an entry is a few PRBs of symbols (kB).
@cell_cached(maxsize=64)
def _common_pdsch(
    tb: bytes, prbs: bytes, tbs: int, q_m: int, rv: int, rnti: int, n_rb: int, n_id_cell: int, n_ports: int,
    n_ctrl: int, subframe: int, n_soft: int | None,
) -> tuple[np.ndarray, np.ndarray]:
    """(RE mask (14, 12 n_rb) bool, symbols (n_ports, n_re)) of a PDSCH, cached: the scrambling
    (TS 36.211 6.3.1) depends on the RNTI, cell and subframe only, so a repeated broadcast block gives
    the same symbols."""
    grant = PdschGrant(np.frombuffer(prbs, dtype=np.int64).reshape(2, -1), tbs, q_m, rv, rnti)
    scratch = np.zeros((n_ports, 14, 12 * n_rb), dtype=np.complex64)
    pdsch_map(scratch, np.frombuffer(tb, dtype=np.uint8), grant, n_id_cell, n_ctrl, subframe, n_soft=n_soft)
    mask = pdsch_alloc_mask(grant.prbs, n_rb, n_id_cell, n_ports, n_ctrl, subframe)
    sym = scratch[:, mask]
    sym.setflags(write=False)
    return mask, sym
