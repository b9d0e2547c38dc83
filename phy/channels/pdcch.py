"""Physical downlink control channel (TS 36.212 5.3.3, TS 36.211 6.8).

Transmit chain, per DCI: CRC16 masked with the RNTI (36.212 5.3.3.2) -> tail-biting convolutional
code (5.3.3.3, 5.1.3.1) -> rate matching to E = 72 L bits for aggregation level L (5.3.3.4, 5.1.4.2).
Then for the subframe (36.211 6.8): multiplexing of the PDCCHs into the CCE space with <NIL> elements
(6.8.2, CCE n = bits 72n .. 72n+71 of a block of 8 N_REG bits), scrambling with c_init =
floor(n_s/2) 2^9 + N_ID_cell (6.8.2), QPSK (6.8.3), layer mapping and precoding (6.8.4: one port, or
transmit diversity on two), quadruplet permutation with the sub-block interleaver of 36.212 5.1.4.2.1
and a cyclic shift by N_ID_cell (6.8.5), mapping of quadruplet i to the i-th PDCCH REG of
phy.regs (6.8.5 order). <NIL> quadruplets are sent with zero power.

Receive side (symmetric): `pdcch_llr` undoes mapping, shift, permutation, precoding, QPSK and
scrambling and returns the LLRs of the whole multiplexed block (NIL positions near 0);
`decode_candidate` de-rate-matches one candidate, Viterbi-decodes and returns the payload and the
RNTI read from the CRC (TS 36.212 5.3.3.2: the CRC syndrome of a masked DCI is the RNTI);
`decode_candidates` does the same for many candidates of one DCI size at once (blind decoding),
with the same results.

Shapes: grids are (n_ports, 14, 12 n_rb) complex64 (transmit) and (14, 12 n_rb) (one receive
antenna); channel estimates (n_ports, 14, 12 n_rb). Bits uint8 0/1, LLRs float32 positive = bit 0.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ..fec.convolutional import tbcc_decode, tbcc_encode
from ..fec.crc import crc_attach_masked, crc_syndrome, crc_syndrome_value, rnti_crc_mask
from ..fec.ratematch import CONV_COLUMN_PERMUTATION, rate_dematch_conv, rate_match_conv, subblock_interleaver
from ..grid import put_res
from ..mimo import tx_diversity_decode, tx_diversity_encode
from ..modulation import demodulate_llr, modulate
from ..regs import ControlRegs
from ..sequences import gold_sequence_cached

__all__ = [
    "AGGREGATION_LEVELS",
    "BITS_PER_CCE",
    "PdcchTx",
    "pdcch_c_init",
    "dci_encode",
    "pdcch_multiplex",
    "quadruplet_permutation",
    "pdcch_map",
    "pdcch_llr",
    "decode_candidate",
    "decode_candidates",
]

AGGREGATION_LEVELS = (1, 2, 4, 8)  # TS 36.211 Table 6.8.1-1
BITS_PER_CCE = 72  # 9 REGs x 4 QPSK symbols x 2 bits


@dataclass(frozen=True)
class PdcchTx:
    """One PDCCH to send: DCI payload bits (A,) uint8 (phy.dci.dci_pack), the RNTI that masks its
    CRC, aggregation level L (1, 2, 4, 8) and first CCE (a search-space candidate, phy.search_space)."""

    payload: np.ndarray
    rnti: int
    aggregation: int
    first_cce: int


def pdcch_c_init(n_id_cell: int, subframe: int) -> int:
    """Scrambling c_init = floor(n_s/2) 2^9 + N_ID_cell = subframe 2^9 + N_ID_cell (TS 36.211 6.8.2)."""
    return subframe * 2**9 + n_id_cell


def dci_encode(payload: np.ndarray, rnti: int, aggregation: int) -> np.ndarray:
    """Coded bits of one PDCCH: RNTI-masked CRC16, TBCC, rate matching to 72 L bits
    (TS 36.212 5.3.3.2-5.3.3.4). payload (A,) uint8 -> (72 L,) uint8, read-only: cached per
    (payload, RNTI, L), as a scheduler sends the same few DCIs again and again."""
    if aggregation not in AGGREGATION_LEVELS:
        raise ValueError(f"aggregation level must be one of {AGGREGATION_LEVELS}, got {aggregation}")
    return _dci_encode_cached(np.asarray(payload, dtype=np.uint8).tobytes(), int(rnti), int(aggregation))


@lru_cache(maxsize=4096)
def _dci_encode_cached(payload: bytes, rnti: int, aggregation: int) -> np.ndarray:
    """`dci_encode` of a payload given as bytes (one 0/1 bit per byte); read-only result."""
    c = crc_attach_masked(np.frombuffer(payload, dtype=np.uint8), "16", rnti_crc_mask(rnti))
    e = rate_match_conv(tbcc_encode(c), BITS_PER_CCE * aggregation)
    e.setflags(write=False)
    return e


def pdcch_multiplex(pdcchs: Sequence[PdcchTx], n_reg: int) -> tuple[np.ndarray, np.ndarray]:
    """Multiplexed block b(0..8 N_REG - 1) of TS 36.211 6.8.2: each PDCCH's coded bits at CCEs
    first_cce .. first_cce + L - 1, <NIL> elsewhere. Returns (bits (8 n_reg,) uint8, used (8 n_reg,) bool)
    where used = False marks <NIL>."""
    n_cce = n_reg // 9
    bits = np.zeros(8 * n_reg, dtype=np.uint8)
    used = np.zeros(8 * n_reg, dtype=bool)
    for p in pdcchs:
        if p.first_cce < 0 or p.first_cce + p.aggregation > n_cce:
            raise ValueError(
                f"PDCCH at CCE {p.first_cce} with L={p.aggregation} does not fit in the {n_cce} CCEs "
                "of this subframe"
            )
        if p.first_cce % p.aggregation:
            raise ValueError(
                f"a PDCCH of L={p.aggregation} starts at a multiple of L (TS 36.213 9.1.1), "
                f"got CCE {p.first_cce}"
            )
        sl = slice(BITS_PER_CCE * p.first_cce, BITS_PER_CCE * (p.first_cce + p.aggregation))
        if used[sl].any():
            raise ValueError(f"PDCCHs overlap at CCEs {p.first_cce}..{p.first_cce + p.aggregation - 1}")
        bits[sl] = dci_encode(p.payload, p.rnti, p.aggregation)
        used[sl] = True
    return bits, used


@lru_cache(maxsize=256)
def quadruplet_permutation(n_reg: int, n_id_cell: int) -> np.ndarray:
    """perm (n_reg,) int64: REG i (6.8.5 order) carries quadruplet z(perm[i]) (TS 36.211 6.8.5):
    w = sub-block interleaver of 36.212 5.1.4.2.1 on quadruplets, <NULL>s removed, then
    w_bar(i) = w((i + N_ID_cell) mod M_quad)."""
    interleaved = subblock_interleaver(n_reg, CONV_COLUMN_PERMUTATION)
    w = interleaved[interleaved >= 0]
    perm = w[(np.arange(n_reg) + n_id_cell) % n_reg]
    perm.setflags(write=False)
    return perm


@lru_cache(maxsize=256)
def _symbol_permutation(n_reg: int, n_id_cell: int) -> np.ndarray:
    """(4 n_reg,) intp: RE j of the PDCCH REGs (6.8.5 order, 4 per REG) carries symbol idx[j] of the
    precoded block, i.e. symbol 4 perm[j // 4] + j mod 4 of quadruplet_permutation (TS 36.211 6.8.5):
    one 1-D take per port instead of a fancy index over the middle axis of (n_ports, n_reg, 4)."""
    perm = quadruplet_permutation(n_reg, n_id_cell)
    idx = (perm[:, None] * 4 + np.arange(4)).reshape(-1).astype(np.intp)
    idx.setflags(write=False)
    return idx


def _symbols_per_port(bits: np.ndarray, used: np.ndarray, n_ports: int) -> np.ndarray:
    """Scrambled block -> QPSK -> precoding: (n_ports, 4 n_reg) complex64, NIL symbols 0."""
    d = modulate(bits, 2)
    if n_ports == 1:
        y = d[None, :]
    elif n_ports == 2:
        y = tx_diversity_encode(d)
    else:
        raise ValueError(f"n_ports must be 1 or 2, got {n_ports}")
    return y * used[0::2][None, :]


def pdcch_map(
    grid: np.ndarray, pdcchs: Sequence[PdcchTx], regs: ControlRegs, n_id_cell: int, subframe: int
) -> None:
    """Write the PDCCHs of one subframe into `grid` (n_ports, 14, 12 n_rb) in place (TS 36.211 6.8).

    regs: the subframe's control-region layout (phy.regs.control_regs). Unused CCEs stay zero.
    """
    n_ports = grid.shape[0]
    n_reg = regs.n_pdcch_regs
    bits, used = pdcch_multiplex(pdcchs, n_reg)
    c = gold_sequence_cached(pdcch_c_init(n_id_cell, subframe), bits.size)
    y = _symbols_per_port(bits ^ c, used, n_ports)  # (n_ports, 4 n_reg)
    l_re, k_re = regs.pdcch_re()
    put_res(grid, l_re * grid.shape[2] + k_re, y.take(_symbol_permutation(n_reg, n_id_cell), axis=1))


def pdcch_llr(
    rx_grid: np.ndarray, h: np.ndarray, noise_var, regs: ControlRegs, n_id_cell: int, subframe: int
) -> np.ndarray:
    """Descrambled LLRs of the multiplexed PDCCH block (8 N_REG,) float32 (inverse of 6.8.2-6.8.5).

    rx_grid: (14, 12 n_rb) received grid; h: (n_ports, 14, 12 n_rb) channel of each port; noise_var:
    noise variance per RE (scalar). CCE n is llr[72 n : 72 (n+1)].
    """
    n_reg = regs.n_pdcch_regs
    l_re, k_re = regs.pdcch_re()
    perm = quadruplet_permutation(n_reg, n_id_cell)
    y_reg = np.asarray(rx_grid)[l_re, k_re].reshape(n_reg, 4)
    h_reg = np.asarray(h)[:, l_re, k_re].reshape(h.shape[0], n_reg, 4)
    y = np.empty_like(y_reg)
    hq = np.empty_like(h_reg)
    y[perm] = y_reg  # quadruplet z(perm[i]) was sent on REG i
    hq[:, perm] = h_reg
    d, nv = tx_diversity_decode(y.reshape(-1), hq.reshape(h.shape[0], -1), noise_var)
    llr = demodulate_llr(d, 2, nv)
    c = gold_sequence_cached(pdcch_c_init(n_id_cell, subframe), llr.size)
    return np.where(c == 1, -llr, llr).astype(np.float32)


def decode_candidate(
    llr_block: np.ndarray, first_cce: int, aggregation: int, payload_size: int
) -> tuple[np.ndarray, int]:
    """Decode one PDCCH candidate from the multiplexed block LLRs (TS 36.212 5.3.3, inverse).

    Returns (payload (A,) uint8, rnti) where rnti is the CRC syndrome read as a 16-bit number: the
    RNTI the CRC was masked with if the candidate holds a DCI of this size (any value otherwise).
    """
    sl = slice(BITS_PER_CCE * first_cce, BITS_PER_CCE * (first_cce + aggregation))
    llr = np.asarray(llr_block, dtype=np.float32)[sl]
    if llr.size != BITS_PER_CCE * aggregation:
        raise ValueError(f"candidate CCEs {first_cce}..{first_cce + aggregation - 1} exceed the block")
    # blind decoding: the RNTI-masked CRC decides, so the wrap-around Viterbi result is taken as is
    c_hat = tbcc_decode(rate_dematch_conv(llr, payload_size + 16), exact_fallback=False)
    syndrome = crc_syndrome(c_hat, "16")
    rnti = int(np.dot(syndrome.astype(np.int64), 1 << np.arange(15, -1, -1)))
    return c_hat[:payload_size], rnti


def decode_candidates(
    llr_block: np.ndarray, candidates: Iterable[tuple[int, int]], payload_size: int
) -> tuple[np.ndarray, np.ndarray]:
    """`decode_candidate` for n candidates of one DCI size, batched (TS 36.212 5.3.3, inverse).

    candidates: (aggregation L, first CCE) pairs (phy.search_space.Candidate fits), any mix of levels.
    Returns (payloads (n, A) uint8, rntis (n,) int64), row i = decode_candidate(llr_block, first_cce_i,
    L_i, A) exactly: one gather de-rate-matches all n candidates straight from the block, then one
    Viterbi call decodes them (they share K = A + 16) and one CRC call gives the n syndromes.
    """
    k = payload_size + 16
    llr_block = np.asarray(llr_block, dtype=np.float32)
    if llr_block.ndim != 1:
        raise ValueError(f"llr_block must be the 1-D LLRs of the PDCCH block, got shape {llr_block.shape}")
    gather = _candidate_gather(tuple((int(lv), int(f)) for lv, f in candidates), k, llr_block.size)
    ext = np.zeros(llr_block.size + 1, dtype=np.float32)  # ext[size] = 0: punctured positions, padding
    ext[:-1] = llr_block
    d = np.empty((gather.n_rows, 3 * k), dtype=np.float32)
    if gather.punctured_rows.size:  # E <= 3K: each coded bit sent at most once, a plain gather
        d[gather.punctured_rows] = ext[gather.punctured_index]
    if gather.repeated_rows.size:  # E > 3K: copies summed in float64 in increasing j, as rate_dematch_conv
        ext64 = ext.astype(np.float64)
        acc = np.zeros(gather.repeated_index.shape[1:], dtype=np.float64)
        for copy in gather.repeated_index:
            acc += ext64[copy]
        d[gather.repeated_rows] = acc
    c_hat = tbcc_decode(d.reshape(-1, 3, k), exact_fallback=False)  # see decode_candidate
    return c_hat[:, :payload_size], crc_syndrome_value(c_hat, "16")


@dataclass(frozen=True)
class _CandidateGather:
    """Where the de-rate-matched LLRs (3 K,) of each candidate come from in the block extended by
    one zero LLR: rows without repetition take ext[punctured_index] (n_p, 3 K); rows with repetition
    sum ext[repeated_index[c]] over the copies c (r, n_r, 3 K)."""

    n_rows: int
    punctured_rows: np.ndarray
    punctured_index: np.ndarray
    repeated_rows: np.ndarray
    repeated_index: np.ndarray


@lru_cache(maxsize=256)
def _candidate_gather(candidates: tuple[tuple[int, int], ...], k: int, n_bits: int) -> _CandidateGather:
    """Gather indices of `decode_candidates` (cached: a handset sees the same search spaces again)."""
    per_row = []
    for level, first in candidates:
        e = BITS_PER_CCE * level
        if level not in AGGREGATION_LEVELS:
            raise ValueError(f"aggregation level must be one of {AGGREGATION_LEVELS}, got {level}")
        if first < 0 or BITS_PER_CCE * first + e > n_bits:
            raise ValueError(f"candidate CCEs {first}..{first + level - 1} exceed the block")
        table = _dematch_table(k, e)
        per_row.append(np.where(table < 0, n_bits, BITS_PER_CCE * first + table))
    punctured = [i for i, t in enumerate(per_row) if t.shape[0] == 1]
    repeated = [i for i, t in enumerate(per_row) if t.shape[0] > 1]
    n_copies = max((per_row[i].shape[0] for i in repeated), default=0)
    rep_index = np.full((n_copies, len(repeated), 3 * k), n_bits, dtype=np.int64)
    for j, i in enumerate(repeated):
        rep_index[: per_row[i].shape[0], j] = per_row[i]
    pun_index = np.array([per_row[i][0] for i in punctured], dtype=np.int64).reshape(len(punctured), 3 * k)
    arrays = (np.array(punctured, np.int64), pun_index, np.array(repeated, np.int64), rep_index)
    for a in arrays:
        a.setflags(write=False)  # cached: shared by every call with these arguments
    return _CandidateGather(len(per_row), *arrays)


@lru_cache(maxsize=64)
def _dematch_table(k: int, e: int) -> np.ndarray:
    """(r, 3 K) int64: column p lists, in increasing order, the j (j < E) whose e_j carry coded bit p
    of the (3, K) streams after rate matching to E (TS 36.212 5.1.4.2), padded with -1; r = most
    copies of one coded bit (1 when E <= 3 K: puncturing, no repetition)."""
    position = np.arange(3 * k, dtype=np.int64).reshape(3, k)
    # rate matching only selects coded bits, so matching their positions (one byte at a time, as
    # rate_match_conv returns uint8) gives the position p(j) that each e_j carries
    p = rate_match_conv(position & 0xFF, e).astype(np.int64) | (rate_match_conv(position >> 8, e).astype(np.int64) << 8)
    order = np.argsort(p, kind="stable")
    counts = np.bincount(p, minlength=3 * k)
    rank = np.arange(e) - np.repeat(np.cumsum(counts) - counts, counts)  # copy number within p
    table = np.full((max(int(counts.max()), 1), 3 * k), -1, dtype=np.int64)
    table[rank, p[order]] = order
    table.setflags(write=False)
    return table
