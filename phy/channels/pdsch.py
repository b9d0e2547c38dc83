"""Physical downlink shared channel and its DL-SCH transport channel coding (TS 36.212 5.3.2,
TS 36.211 6.3, 6.4), both directions, one codeword, 1 port or 2-port transmit diversity.

Transmit (`dlsch_encode`, `pdsch_map`): transport block CRC24A (5.3.2.1) -> code block segmentation
with CRC24B and filler bits (5.1.2) -> turbo coding (5.1.3.2) -> rate matching of each block with the
redundancy version (5.1.4.1, E_r of 5.1.4.1.2, soft buffer N_cb from N_soft) -> code block
concatenation (5.1.5) -> scrambling with c_init = n_RNTI 2^14 + q 2^13 + floor(n_s/2) 2^9 + N_ID_cell,
q = 0 (36.211 6.3.1) -> QPSK/16QAM/64QAM (6.3.2) -> layer mapping and precoding (6.3.3, 6.3.4:
identity, or transmit diversity on 2 ports) -> mapping to the allocated PRBs (6.3.5), k first then l,
skipping the control region, the CRS of the cell's ports, PSS/SSS (6 central PRBs, symbols 5, 6 of
subframes 0 and 5, reserved REs included) and the PBCH (symbols 7..10 of subframe 0, central 72
subcarriers, CRS positions of all 4 ports included).

Receive (`pdsch_llr`, `dlsch_decode`): RE extraction, transmit diversity combining, max-log LLRs,
descrambling, de-concatenation, rate de-matching with HARQ soft combining, max-log-MAP turbo decoding
with early stop on the code block CRC, concatenation and the transport block CRC24A.

Allocations are `(2, n_prb)` PRB arrays, row = slot (phy.resource_allocation); grids are
(n_ports, 14, 12 n_rb) complex64 (transmit) and (14, 12 n_rb) (one receive antenna).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..cell_cache import cell_cached
from ..dci import Dci1, Dci1A, Dci1C
from ..fec.crc import crc_attach, crc_check
from ..fec.ratematch import code_block_e, code_block_e_lengths, rate_dematch_turbo, rate_match_turbo_blocks
from ..fec.segmentation import (
    deconcatenate_code_blocks,
    join_code_blocks,
    segment,
    split_code_block_groups,
)
from ..fec.turbo import turbo_decode_blocks, turbo_encode_blocks
from ..grid import put_res_masked
from ..mimo import tx_diversity_decode, tx_diversity_encode
from ..modulation import demodulate_llr, modulate
from ..numerology import N_SC_RB, N_SYMB_SLOT, N_SYMB_SUBFRAME
from ..refsig import crs_grid
from ..resource_allocation import type0_prbs, type1_prbs, type2_1c_prbs, type2_prbs
from ..sequences import gold_sequence_cached
from ..tbs import mcs_to_itbs, tbs, tbs_format_1c

__all__ = [
    "N_SOFT_DEFAULT",
    "PdschGrant",
    "DlschResult",
    "grant_from_dci",
    "pdsch_c_init",
    "pdsch_re_mask",
    "pdsch_re_indices",
    "pdsch_re_flat",
    "pdsch_alloc_mask",
    "pdsch_bits_available",
    "dlsch_encode",
    "turbo_encode_groups",
    "pdsch_symbols",
    "pdsch_map",
    "pdsch_llr",
    "dlsch_decode",
]

# Total soft channel bits N_soft of UE category 3 (TS 36.306 Table 4.1-1), used for N_IR / N_cb
# (TS 36.212 5.1.4.1.2) unless the caller gives the handset's own category value.
N_SOFT_DEFAULT = 1237248
PBCH_SYMBOLS = (7, 8, 9, 10)  # slot 1, l = 0..3 (TS 36.211 6.6.4)
SYNC_SYMBOLS = (5, 6)  # slot 0, l = 5 (SSS) and 6 (PSS), FDD normal CP (6.11.1.2, 6.11.2.2)


@dataclass(frozen=True)
class PdschGrant:
    """What a PDSCH transmission occupies and carries.

    prbs: (2, n_prb) int64 PRB of each VRB in slot 0 and slot 1; tbs: transport block size (bits);
    q_m: 2, 4 or 6; rv: redundancy version 0..3; rnti: the n_RNTI of the scrambling.
    """

    prbs: np.ndarray
    tbs: int
    q_m: int
    rv: int
    rnti: int

    @property
    def n_prb(self) -> int:
        return int(self.prbs.shape[1])


@dataclass
class DlschResult:
    """Decoded transport block: bits (TBS,) uint8, crc_ok (CRC24A), cb_crc_ok (C,) bool (CRC24B, all
    True for C = 1), soft_buffers: list of C (3, K_r+4) float32 HARQ buffers for a retransmission."""

    bits: np.ndarray
    crc_ok: bool
    cb_crc_ok: np.ndarray
    soft_buffers: list[np.ndarray] = field(default_factory=list)


def grant_from_dci(
    dci, n_rb_dl: int, rnti: int, common: bool = False, tbs_first: int | None = None, rv: int | None = None
) -> PdschGrant:
    """PdschGrant of a format 1, 1A or 1C DCI (TS 36.213 7.1.6 allocation, 7.1.7 TBS and modulation).

    common: the DCI was found with SI-, P- or RA-RNTI; then a 1A uses I_TBS = I_MCS with the N_PRB^1A
    column (2 or 3 from the TPC LSB) and QPSK (7.1.7.1, 7.1.7.2.1). Reserved I_MCS 29..31 (a
    retransmission) take the TBS of the first transmission, `tbs_first` (7.1.7.2).
    A 1C (common RNTIs only) gives distributed VRBs in steps of N_step_RB with the DCI's gap (7.1.6.3),
    the TBS of Table 7.1.7.2.3-1 and QPSK (7.1.7); it carries no RV, so `rv` (0..3) is required: the
    MAC derives it, RV = ceil(3k/2) mod 4 for SI (TS 36.321 5.3.1). `rv` is ignored for 1 and 1A.
    Cached per argument tuple (the DCI dataclasses are frozen); the grant's `prbs` is read-only.
    """
    return _grant_from_dci(dci, int(n_rb_dl), int(rnti), bool(common), tbs_first, rv)


@cell_cached(maxsize=4096)
def _grant_from_dci(
    dci, n_rb_dl: int, rnti: int, common: bool, tbs_first: int | None, rv: int | None
) -> PdschGrant:
    """`grant_from_dci` with plain, hashable arguments; the PRB array is made read-only."""
    grant = _grant_uncached(dci, n_rb_dl, rnti, common, tbs_first, rv)
    grant.prbs.setflags(write=False)
    return grant


def _grant_uncached(
    dci, n_rb_dl: int, rnti: int, common: bool, tbs_first: int | None, rv: int | None
) -> PdschGrant:
    """The allocation (TS 36.213 7.1.6), TBS and modulation order (7.1.7) of `grant_from_dci`."""
    if isinstance(dci, Dci1C):
        return _grant_1c(dci, n_rb_dl, rnti, common, rv)
    if isinstance(dci, Dci1A):
        prbs = type2_prbs(dci.riv, n_rb_dl, distributed=dci.distributed, gap=dci.gap)
        if common:
            return PdschGrant(
                prbs, tbs(dci.mcs, dci.n_prb_1a) if dci.mcs <= 26 else _bad_mcs(dci.mcs), 2, dci.rv, rnti
            )
    elif isinstance(dci, Dci1):
        prbs = (type0_prbs if dci.ra_type == 0 else type1_prbs)(dci.rb_assignment, n_rb_dl)
    else:
        raise TypeError(f"a PDSCH grant comes from DCI format 1, 1A or 1C, got {type(dci).__name__}")
    i_tbs, q_m = mcs_to_itbs(dci.mcs)
    if i_tbs is None:
        if tbs_first is None:
            raise ValueError(
                f"I_MCS {dci.mcs} is a retransmission: give tbs_first, the first transmission's TBS"
            )
        return PdschGrant(prbs, int(tbs_first), q_m, dci.rv, rnti)
    return PdschGrant(prbs, tbs(i_tbs, prbs.shape[1]), q_m, dci.rv, rnti)


def _bad_mcs(mcs: int) -> int:
    raise ValueError(f"a 1A with SI/P/RA-RNTI uses I_MCS as I_TBS 0..26, got {mcs}")


def _grant_1c(dci: Dci1C, n_rb_dl: int, rnti: int, common: bool, rv: int | None) -> PdschGrant:
    """Grant of a format 1C DCI: type2_1c_prbs (TS 36.213 7.1.6.3, TS 36.211 6.2.3.2), TBS Table
    7.1.7.2.3-1, Q_m = 2 (7.1.7), the RV given by the MAC (TS 36.321 5.3.1)."""
    if not common:
        raise ValueError("format 1C is sent only with SI-, P- or RA-RNTI (TS 36.212 5.3.3.1.4): set common=True")
    if rv is None or rv not in (0, 1, 2, 3):
        raise ValueError(
            f"format 1C carries no redundancy version: pass rv=0..3, for SI ceil(3k/2) mod 4 "
            f"(TS 36.321 5.3.1, mac.si_schedule), got {rv!r}"
        )
    prbs = type2_1c_prbs(dci.riv, n_rb_dl, gap=dci.gap)
    return PdschGrant(prbs, tbs_format_1c(dci.tbs_index), 2, int(rv), rnti)


def pdsch_c_init(rnti: int, n_id_cell: int, subframe: int, q: int = 0) -> int:
    """c_init = n_RNTI 2^14 + q 2^13 + floor(n_s/2) 2^9 + N_ID_cell (TS 36.211 6.3.1)."""
    return int(rnti) * 2**14 + q * 2**13 + subframe * 2**9 + n_id_cell


# Bounded: one cell uses one entry per subframe index and CFI (10 measured); 16.8 kB each at 20 MHz.
@cell_cached(maxsize=64)
def pdsch_re_mask(n_rb: int, n_id_cell: int, n_ports: int, n_ctrl_symbols: int, subframe: int) -> np.ndarray:
    """(14, 12 n_rb) bool of the REs the PDSCH may use in `subframe` (TS 36.211 6.3.5), read-only."""
    n_sc = n_rb * N_SC_RB
    mask = np.ones((N_SYMB_SUBFRAME, n_sc), dtype=bool)
    mask[:n_ctrl_symbols] = False
    _, crs_mask = crs_grid(n_id_cell, n_rb, subframe, n_ports)
    mask &= ~crs_mask
    centre = slice(n_sc // 2 - 36, n_sc // 2 + 36)  # 72 subcarriers of PSS/SSS/PBCH (6.6.4, 6.11)
    if subframe in (0, 5):
        mask[list(SYNC_SYMBOLS), centre] = False
    if subframe == 0:
        mask[list(PBCH_SYMBOLS), centre] = False
    mask.setflags(write=False)
    return mask


def pdsch_re_indices(
    prbs: np.ndarray, n_rb: int, n_id_cell: int, n_ports: int, n_ctrl_symbols: int, subframe: int
) -> tuple[np.ndarray, np.ndarray]:
    """(l', k) of the PDSCH REs of an allocation in mapping order (k first, then l; TS 36.211 6.3.5).

    Read-only arrays, cached per (allocation, cell, subframe)."""
    return _re_indices(*_re_key(prbs, n_rb), int(n_id_cell), int(n_ports), int(n_ctrl_symbols), int(subframe))[:2]


def pdsch_re_flat(
    prbs: np.ndarray, n_rb: int, n_id_cell: int, n_ports: int, n_ctrl_symbols: int, subframe: int
) -> np.ndarray:
    """Flat indices l' * 12 n_rb + k of `pdsch_re_indices` into a (14, 12 n_rb) grid, read-only, cached."""
    return _re_indices(*_re_key(prbs, n_rb), int(n_id_cell), int(n_ports), int(n_ctrl_symbols), int(subframe))[2]


def pdsch_alloc_mask(
    prbs: np.ndarray, n_rb: int, n_id_cell: int, n_ports: int, n_ctrl_symbols: int, subframe: int
) -> np.ndarray:
    """(14, 12 n_rb) bool, True on the PDSCH REs of an allocation (those of `pdsch_re_indices`; its
    mapping order is the increasing flat index l' 12 n_rb + k), read-only, cached."""
    return _re_indices(*_re_key(prbs, n_rb), int(n_id_cell), int(n_ports), int(n_ctrl_symbols), int(subframe))[3]


def _re_key(prbs: np.ndarray, n_rb: int) -> tuple[bytes, int]:
    prbs = np.asarray(prbs, dtype=np.int64)
    if prbs.ndim != 2 or prbs.shape[0] != 2:
        raise ValueError(f"prbs must be (2, n_prb) (PRB per slot), got shape {prbs.shape}")
    return prbs.tobytes(), int(n_rb)


# Bounded: one cell (20 MHz, 2 ports, full buffer, SIB1/SIB2, every subframe) uses 29 allocations (measured,
# issue 13); an entry is at most ~0.4 MB at 20 MHz, so 128 entries (four such cells) stay below ~52 MB.
@cell_cached(maxsize=128)
def _re_indices(
    prbs_bytes: bytes, n_rb: int, n_id_cell: int, n_ports: int, n_ctrl_symbols: int, subframe: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(l', k, flat, mask (14, 12 n_rb) bool) of an allocation given as (2, n_prb) int64 bytes; the PRB
    range is checked here, on a cache miss only (a failed call is not cached)."""
    prbs = np.frombuffer(prbs_bytes, dtype=np.int64).reshape(2, -1)
    if prbs.size and (prbs.min() < 0 or prbs.max() >= n_rb):
        raise ValueError(f"PRBs must lie in 0..{n_rb - 1}")
    alloc = np.zeros((N_SYMB_SUBFRAME, n_rb), dtype=bool)
    alloc[:N_SYMB_SLOT, prbs[0]] = True
    alloc[N_SYMB_SLOT:, prbs[1]] = True
    alloc_re = np.repeat(alloc, N_SC_RB, axis=1) & pdsch_re_mask(
        n_rb, n_id_cell, n_ports, n_ctrl_symbols, subframe
    )
    flat = np.flatnonzero(alloc_re)
    l_re, k_re = np.divmod(flat, n_rb * N_SC_RB)
    for a in (l_re, k_re, flat, alloc_re):
        a.setflags(write=False)
    return l_re, k_re, flat, alloc_re


def pdsch_bits_available(
    prbs: np.ndarray, n_rb: int, n_id_cell: int, n_ports: int, n_ctrl_symbols: int, subframe: int, q_m: int
) -> int:
    """G: coded bits the allocation carries = PDSCH REs x Q_m (TS 36.212 5.1.4.1.2)."""
    return pdsch_re_indices(prbs, n_rb, n_id_cell, n_ports, n_ctrl_symbols, subframe)[0].size * q_m


def dlsch_encode(
    tb_bits: np.ndarray, g: int, q_m: int, rv: int, n_l: int = 1, n_soft: int | None = N_SOFT_DEFAULT
) -> np.ndarray:
    """DL-SCH coding of one transport block to G bits (TS 36.212 5.3.2). tb_bits (TBS,) -> (G,) uint8.

    n_l: 1 for one layer, 2 for transmit diversity. n_soft: N_soft for the N_cb limit (None: no limit).
    """
    b = crc_attach(np.asarray(tb_bits, dtype=np.uint8), "24a")  # 5.3.2.1
    seg, groups = split_code_block_groups(b)  # 5.1.2, blocks of equal size K as one matrix
    d_flat = turbo_encode_groups(seg.block_sizes, groups)
    e_lengths = code_block_e_lengths(g, n_l, q_m, seg.c)
    # rate matching of every block (5.1.4.1) and code block concatenation (5.1.5) in one gather
    return rate_match_turbo_blocks(d_flat, seg.block_sizes, e_lengths, rv, n_soft=n_soft, filler=seg.f)


def turbo_encode_groups(block_sizes: tuple[int, ...], groups: list[np.ndarray]) -> np.ndarray:
    """Turbo coding (TS 36.212 5.1.3.2) of the code block groups of `split_code_block_groups` straight
    into one flat buffer: the (3, K_r+4) uint8 outputs d_r flattened and concatenated in order of r,
    (sum 3 (K_r+4),) uint8, as `rate_match_turbo_blocks` reads them. Filler bits enter as 0."""
    d_flat = np.empty(sum(3 * (k + 4) for k in block_sizes), dtype=np.uint8)
    offset = 0
    for c_grp in groups:
        n, k = c_grp.shape
        size = n * 3 * (k + 4)
        turbo_encode_blocks(c_grp, out=d_flat[offset : offset + size].reshape(n, 3, k + 4))
        offset += size
    return d_flat


def pdsch_symbols(
    coded_bits: np.ndarray, q_m: int, rnti: int, n_id_cell: int, subframe: int, n_ports: int
) -> np.ndarray:
    """Scrambling, modulation, layer mapping and precoding (TS 36.211 6.3.1-6.3.4).

    (G,) coded bits -> (n_ports, G/q_m) complex64."""
    bits = np.asarray(coded_bits, dtype=np.uint8)
    c = gold_sequence_cached(pdsch_c_init(rnti, n_id_cell, subframe), bits.size)
    d = modulate(bits ^ c, q_m)
    if n_ports == 1:
        return d[None, :]
    if n_ports == 2:
        return tx_diversity_encode(d)
    raise ValueError(f"n_ports must be 1 or 2, got {n_ports}")


def pdsch_map(
    grid: np.ndarray,
    tb_bits: np.ndarray,
    grant: PdschGrant,
    n_id_cell: int,
    n_ctrl_symbols: int,
    subframe: int,
    n_soft: int | None = N_SOFT_DEFAULT,
) -> int:
    """Encode one transport block and write its PDSCH into `grid` (n_ports, 14, 12 n_rb) in place.

    tb_bits: (grant.tbs,) uint8. Returns G, the number of coded bits sent.
    """
    n_ports, _, n_sc = grid.shape
    n_rb = n_sc // N_SC_RB
    tb_bits = np.asarray(tb_bits, dtype=np.uint8)
    if tb_bits.shape != (grant.tbs,):
        raise ValueError(f"transport block must have TBS = {grant.tbs} bits, got shape {tb_bits.shape}")
    mask = pdsch_alloc_mask(grant.prbs, n_rb, n_id_cell, n_ports, n_ctrl_symbols, subframe)
    g = np.count_nonzero(mask) * grant.q_m
    f = dlsch_encode(tb_bits, g, grant.q_m, grant.rv, n_l=n_ports, n_soft=n_soft)
    put_res_masked(grid, mask, pdsch_symbols(f, grant.q_m, grant.rnti, n_id_cell, subframe, n_ports))
    return g


def pdsch_llr(
    rx_grid: np.ndarray,
    h: np.ndarray,
    noise_var,
    grant: PdschGrant,
    n_id_cell: int,
    n_ctrl_symbols: int,
    subframe: int,
) -> np.ndarray:
    """Descrambled max-log LLRs (G,) float32 of a PDSCH (inverse of 6.3.1-6.3.5).

    rx_grid: (14, 12 n_rb); h: (n_ports, 14, 12 n_rb) channel of each port; noise_var: per RE.
    """
    h = np.asarray(h)
    n_ports, _, n_sc = h.shape
    l_re, k_re = pdsch_re_indices(grant.prbs, n_sc // N_SC_RB, n_id_cell, n_ports, n_ctrl_symbols, subframe)
    d, nv = tx_diversity_decode(np.asarray(rx_grid)[l_re, k_re], h[:, l_re, k_re], noise_var)
    llr = demodulate_llr(d, grant.q_m, nv)
    c = gold_sequence_cached(pdsch_c_init(grant.rnti, n_id_cell, subframe), llr.size)
    return np.where(c == 1, -llr, llr).astype(np.float32)


_FILLER_LLR = np.float32(1.0e4)  # filler bits are known zeros: a large positive LLR


def dlsch_decode(
    llr: np.ndarray,
    tbs_bits: int,
    q_m: int,
    rv: int,
    n_l: int = 1,
    n_soft: int | None = N_SOFT_DEFAULT,
    soft_buffers: list[np.ndarray] | None = None,
    n_iter: int = 8,
) -> DlschResult:
    """DL-SCH decoding of G soft bits into a transport block (inverse of TS 36.212 5.3.2).

    soft_buffers: the HARQ buffers of earlier transmissions of this block (from a previous DlschResult),
    combined before decoding. n_iter: turbo iterations (early stop when the block CRC checks).
    """
    llr = np.asarray(llr, dtype=np.float32)
    g = llr.size
    seg = segment(tbs_bits + 24)
    e_lengths = [code_block_e(g, n_l, q_m, seg.c, r) for r in range(seg.c)]
    if sum(e_lengths) != g:
        raise ValueError(f"G = {g} soft bits do not fit the code block split {e_lengths}")
    if soft_buffers is not None and len(soft_buffers) != seg.c:
        raise ValueError(f"soft_buffers must hold {seg.c} code block buffers, got {len(soft_buffers)}")
    buffers, dec_in = [], []
    for r, (e_llr, k_r) in enumerate(
        zip(deconcatenate_code_blocks(llr, e_lengths), seg.block_sizes, strict=True)
    ):
        filler = seg.f if r == 0 else 0
        buf = rate_dematch_turbo(
            e_llr,
            k_r,
            rv,
            n_soft=n_soft,
            c=seg.c,
            filler=filler,
            soft_buffer=None if soft_buffers is None else soft_buffers[r],
        )
        buffers.append(buf)
        d = buf.copy()
        d[:2, :filler] = _FILLER_LLR
        dec_in.append(d)
    # turbo decoding of all blocks of one size K in one batch (at most two sizes, K- then K+), each
    # block stopping at its own CRC24B (or the TB CRC24A when C = 1)
    stop = _crc_stop("24b", 0) if seg.c > 1 else _crc_stop("24a", seg.f)
    blocks = []
    for first, last in _same_k_runs(seg.block_sizes):
        blocks.extend(turbo_decode_blocks(np.stack(dec_in[first:last]), n_iter=n_iter, early_stop=stop))
    b, cb_ok = join_code_blocks(blocks, tbs_bits + 24)
    ok = bool(crc_check(b, "24a"))
    return DlschResult(bits=b[:tbs_bits].copy(), crc_ok=ok, cb_crc_ok=cb_ok, soft_buffers=buffers)


def _crc_stop(kind: str, skip: int):
    """Early-stop test of turbo_decode_blocks: (n, K) decisions -> (n,) bool CRC check, one batch."""

    def stop(bits: np.ndarray) -> np.ndarray:
        return np.atleast_1d(crc_check(bits[:, skip:], kind))

    return stop


def _same_k_runs(block_sizes) -> list[tuple[int, int]]:
    """[first, last) index ranges of the consecutive code blocks of equal size K (5.1.2: K- then K+)."""
    runs, first = [], 0
    for r in range(1, len(block_sizes) + 1):
        if r == len(block_sizes) or block_sizes[r] != block_sizes[first]:
            runs.append((first, r))
            first = r
    return runs
