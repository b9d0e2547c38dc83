"""Rate matching and de-matching for convolutional and turbo codes (TS 36.212 5.1.4).

Both schemes interleave each of the 3 coded streams d^(0..2) (length D) with a 32-column sub-block
interleaver, collect them into a circular buffer w (length K_w = 3 K_Pi) and read E bits from it,
skipping <NULL> (dummy and filler) positions and wrapping around (repetition) as needed.

Here each step is an index map: `_selection(...)` gives, for every output bit e_k, the flat position
(stream * D + k) of the coded bit d it carries. Matching gathers d through it; de-matching scatters
LLRs back with summation (repetitions add, punctured positions stay 0). The maps are constants of
(D, E, rv, ...), cached per argument tuple.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from numba import njit

from ..cell_cache import cell_cached

C_SUBBLOCK = 32  # TS 36.212 5.1.4.1.1 / 5.1.4.2.1: C_subblock = 32 columns

# TS 36.212 Table 5.1.4-1: inter-column permutation of the turbo sub-block interleaver
TURBO_COLUMN_PERMUTATION = (
    0, 16, 8, 24, 4, 20, 12, 28, 2, 18, 10, 26, 6, 22, 14, 30,
    1, 17, 9, 25, 5, 21, 13, 29, 3, 19, 11, 27, 7, 23, 15, 31,
)  # fmt: skip
# TS 36.212 Table 5.1.4-2: inter-column permutation of the convolutional sub-block interleaver
CONV_COLUMN_PERMUTATION = (
    1, 17, 9, 25, 5, 21, 13, 29, 3, 19, 11, 27, 7, 23, 15, 31,
    0, 16, 8, 24, 4, 20, 12, 28, 2, 18, 10, 26, 6, 22, 14, 30,
)  # fmt: skip

M_LIMIT = 8  # TS 36.212 5.1.4.1.2


def subblock_interleaver(d_len: int, permutation: tuple[int, ...], third_stream: bool = False) -> np.ndarray:
    """Sub-block interleaver as an index map (TS 36.212 5.1.4.1.1, 5.1.4.2.1).

    Returns (K_Pi,) int64: v_k = d_{map[k]}, or <NULL> where map[k] = -1. K_Pi = R * 32 with
    R = ceil(D / 32); the N_D = K_Pi - D dummy bits lead the row-by-row filled matrix (y_k = NULL for
    k < N_D). Columns are permuted by `permutation` and read column by column; the turbo code's third
    stream instead reads y at pi(k) = (P(floor(k/R)) + 32 (k mod R) + 1) mod K_Pi.
    """
    if d_len < 1:
        raise ValueError(f"stream length D must be >= 1, got {d_len}")
    n_rows = -(-d_len // C_SUBBLOCK)
    k_pi = n_rows * C_SUBBLOCK
    n_dummy = k_pi - d_len
    y = np.arange(k_pi, dtype=np.int64) - n_dummy  # y_k = d_{k - N_D}, negative = NULL
    perm = np.asarray(permutation, dtype=np.int64)
    k = np.arange(k_pi, dtype=np.int64)
    if third_stream:
        pi = (perm[k // n_rows] + C_SUBBLOCK * (k % n_rows) + 1) % k_pi
    else:
        pi = perm[k // n_rows] + C_SUBBLOCK * (k % n_rows)  # row k % R of permuted column k // R
    v = y[pi]
    v[v < 0] = -1
    return v


@lru_cache(maxsize=256)
def _conv_buffer(d_len: int) -> np.ndarray:
    """(K_w,) int64 circular buffer of the conv code: flat index into (3, D), -1 for NULL (5.1.4.2.2)."""
    v = subblock_interleaver(d_len, CONV_COLUMN_PERMUTATION)
    # w_k = v^(0)_k, w_{K_Pi+k} = v^(1)_k, w_{2K_Pi+k} = v^(2)_k
    return np.concatenate([np.where(v >= 0, v + i * d_len, -1) for i in range(3)])


@lru_cache(maxsize=256)
def _turbo_buffer(d_len: int, filler: int) -> np.ndarray:
    """(K_w,) int64 circular buffer of the turbo code: flat index into (3, D), -1 for NULL (5.1.4.1.2).

    The first `filler` bits of d^(0) and d^(1) are filler <NULL> bits (5.1.3.2) and never sent.
    """
    v0 = subblock_interleaver(d_len, TURBO_COLUMN_PERMUTATION)
    v2 = subblock_interleaver(d_len, TURBO_COLUMN_PERMUTATION, third_stream=True)
    sys_par1 = np.where(v0 >= filler, v0, -1)  # dummy (-1) or filler (< F) -> NULL
    w = np.empty(3 * v0.size, dtype=np.int64)
    w[: v0.size] = sys_par1  # w_k = v^(0)_k
    w[v0.size :: 2] = np.where(sys_par1 >= 0, sys_par1 + d_len, -1)  # w_{K_Pi+2k} = v^(1)_k
    w[v0.size + 1 :: 2] = np.where(v2 >= 0, v2 + 2 * d_len, -1)  # w_{K_Pi+2k+1} = v^(2)_k
    return w


def _select(w: np.ndarray, n_cb: int, k0: int, e: int) -> tuple[np.ndarray, bool]:
    """Bit selection (5.1.4.1.2 / 5.1.4.2.2): indices of e_k = w_{(k0 + j) mod N_cb}, NULLs skipped.

    Also says whether every index is distinct (no repetition), which lets de-matching scatter
    instead of summing.
    """
    order = np.roll(w[:n_cb], -k0)
    valid = order[order >= 0]
    if valid.size == 0:
        raise ValueError("the circular buffer holds no transmittable bit")
    sel = np.resize(valid, e)  # repeats the cycle (repetition) or cuts it (puncturing)
    sel.flags.writeable = False  # cached: shared by every call with these arguments
    return sel, e <= valid.size


@lru_cache(maxsize=512)
def _conv_selection(d_len: int, e: int) -> tuple[np.ndarray, bool]:
    w = _conv_buffer(d_len)
    return _select(w, w.size, 0, e)


@lru_cache(maxsize=1024)
def _turbo_selection(d_len: int, e: int, rv: int, n_cb: int, filler: int) -> tuple[np.ndarray, bool]:
    n_rows = -(-d_len // C_SUBBLOCK)
    # TS 36.212 5.1.4.1.2: k0 = R (2 ceil(N_cb / (8 R)) rv_idx + 2)
    k0 = n_rows * (2 * (-(-n_cb // (8 * n_rows))) * rv + 2)
    return _select(_turbo_buffer(d_len, filler), n_cb, k0, e)


def _scatter_sum(sel: np.ndarray, unique: bool, llr: np.ndarray, size: int) -> np.ndarray:
    """(size,) float32 with out[sel[j]] += llr[j]: a plain scatter when no index repeats, else a sum."""
    if unique:
        out = np.zeros(size, dtype=np.float32)
        out[sel] = llr
        return out
    return np.bincount(sel, weights=llr, minlength=size).astype(np.float32)


def _check_e(e: int) -> int:
    if int(e) != e or e < 0:
        raise ValueError(f"E (number of rate-matched bits) must be an integer >= 0, got {e}")
    return int(e)


def _check_coded(d: np.ndarray) -> np.ndarray:
    d = np.asarray(d)
    if d.ndim != 2 or d.shape[0] != 3 or d.shape[1] < 1:
        raise ValueError(f"coded bits d must have shape (3, D), got {d.shape}")
    return d


def rate_match_conv(d: np.ndarray, e: int) -> np.ndarray:
    """Rate matching of convolutionally coded bits (TS 36.212 5.1.4.2).

    d: (3, K) uint8 coded streams d^(0..2). Returns e: (E,) uint8 (repetition or puncturing of the
    circular buffer, which has no NULLs after dummy removal).
    """
    d = _check_coded(d)
    sel, _ = _conv_selection(d.shape[1], _check_e(e))
    return d.reshape(-1)[sel].astype(np.uint8, copy=False)


def rate_dematch_conv(llr: np.ndarray, k: int) -> np.ndarray:
    """Inverse of rate_match_conv on soft bits (TS 36.212 5.1.4.2).

    llr: (E,) float LLRs of e_k (positive = bit 0), k: the code's K. Returns (3, K) float32 with
    repeated positions summed and punctured positions 0.
    """
    llr = np.asarray(llr, dtype=np.float32)
    if llr.ndim != 1:
        raise ValueError(f"llr must be a 1-D array of E soft bits, got shape {llr.shape}")
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    sel, unique = _conv_selection(int(k), llr.size)
    return _scatter_sum(sel, unique, llr, 3 * k).reshape(3, k)


def soft_buffer_size(
    k: int,
    n_soft: int | None = None,
    c: int = 1,
    k_mimo: int = 1,
    m_dl_harq: int = 8,
) -> int:
    """Circular buffer length N_cb of one turbo code block (TS 36.212 5.1.4.1.2).

    k: code block size K (D = K + 4). n_soft: the UE category's total soft channel bits N_soft
    (TS 36.306 Table 4.1-1) for DL-SCH/PCH; None for UL-SCH/MCH (no limit, N_cb = K_w).
    c: code blocks C of the transport block. k_mimo: 2 for transmission modes 3 and 4, else 1.
    m_dl_harq: maximum number of DL HARQ processes (8 for FDD).
    N_IR = floor(N_soft / (K_MIMO min(M_DL_HARQ, M_limit))), N_cb = min(floor(N_IR / C), K_w).
    """
    k_w = 3 * C_SUBBLOCK * (-(-(k + 4) // C_SUBBLOCK))
    if n_soft is None:
        return k_w
    if n_soft < 1 or c < 1 or k_mimo not in (1, 2) or m_dl_harq < 1:
        raise ValueError(
            f"need n_soft >= 1, c >= 1, k_mimo in (1, 2), m_dl_harq >= 1; got {n_soft}, {c}, {k_mimo}, "
            f"{m_dl_harq}"
        )
    n_ir = n_soft // (k_mimo * min(m_dl_harq, M_LIMIT))
    return min(n_ir // c, k_w)


def code_block_e(g: int, n_l: int, q_m: int, c: int, r: int) -> int:
    """Rate-matched length E of code block r of C (TS 36.212 5.1.4.1.2).

    g: G, coded bits available to the transport block; n_l: 1 for a transport block on one layer,
    2 on two or four layers (transmit diversity included); q_m: 2, 4, 6.
    G' = G / (N_L Q_m), gamma = G' mod C; E = N_L Q_m floor(G'/C) for r <= C - gamma - 1, else
    N_L Q_m ceil(G'/C).
    """
    if q_m not in (2, 4, 6) or n_l not in (1, 2) or not 0 <= r < c:
        raise ValueError(f"need q_m in (2, 4, 6), n_l in (1, 2), 0 <= r < c; got {q_m}, {n_l}, {r}, {c}")
    if g % (n_l * q_m):
        raise ValueError(f"G = {g} is not a multiple of N_L * Q_m = {n_l * q_m}")
    g_prime = g // (n_l * q_m)
    gamma = g_prime % c
    if r <= c - gamma - 1:
        return n_l * q_m * (g_prime // c)
    return n_l * q_m * (-(-g_prime // c))


@lru_cache(maxsize=256)
def code_block_e_lengths(g: int, n_l: int, q_m: int, c: int) -> tuple[int, ...]:
    """(E_0, ..., E_{C-1}) of `code_block_e` for all C code blocks of a transport block (TS 36.212
    5.1.4.1.2), cached: a constant of (G, N_L, Q_m, C), asked for once per transport block."""
    return tuple(code_block_e(g, n_l, q_m, c, r) for r in range(c))


def _check_rv(rv: int) -> int:
    if rv not in (0, 1, 2, 3):
        raise ValueError(f"rv (redundancy version rv_idx) must be 0..3, got {rv}")
    return int(rv)


def _turbo_indices(
    k: int, e: int, rv: int, n_soft: int | None, c: int, k_mimo: int, m_dl_harq: int, filler: int
) -> tuple[np.ndarray, bool]:
    """Validated arguments -> ((E,) flat indices into d (3, K+4) of e_0..e_{E-1}, all distinct)."""
    if k < 1:
        raise ValueError(f"code block size K must be >= 1, got {k}")
    if not 0 <= filler < k:
        raise ValueError(f"filler must be 0..K-1, got {filler} for K = {k}")
    n_cb = soft_buffer_size(k, n_soft, c, k_mimo, m_dl_harq)
    if n_cb < 1:
        raise ValueError(f"soft buffer N_cb = {n_cb} is empty: check n_soft, c, k_mimo, m_dl_harq")
    return _turbo_selection(k + 4, e, _check_rv(rv), n_cb, int(filler))


def rate_match_turbo(
    d: np.ndarray,
    e: int,
    rv: int,
    n_soft: int | None = None,
    c: int = 1,
    k_mimo: int = 1,
    m_dl_harq: int = 8,
    filler: int = 0,
) -> np.ndarray:
    """Rate matching of one turbo-coded block (TS 36.212 5.1.4.1).

    d: (3, K+4) uint8 turbo encoder output d^(0..2). e: E output bits (see `code_block_e`).
    rv: redundancy version 0..3. n_soft, c, k_mimo, m_dl_harq: soft-buffer limit (see
    `soft_buffer_size`; n_soft None = no limit). filler: F filler bits at the start of the first
    code block (<NULL> in d^(0) and d^(1), 5.1.3.2), skipped. Returns (E,) uint8.
    """
    d = _check_coded(d)
    sel, _ = _turbo_indices(d.shape[1] - 4, _check_e(e), rv, n_soft, c, k_mimo, m_dl_harq, filler)
    return d.reshape(-1)[sel].astype(np.uint8, copy=False)


# Bounded: one cell (20 MHz, 2 ports, MCS 28 full buffer plus SIB1/SIB2) uses 14 transport formats
# (measured, issue 13); an entry is G uint32 indices (<= ~0.35 MB at 20 MHz): 64 entries stay below ~23 MB.
@cell_cached(maxsize=64)
def _turbo_tb_selection(
    block_sizes: tuple[int, ...], e_lengths: tuple[int, ...], rv: int, n_soft: int | None, filler: int
) -> np.ndarray:
    """Flat indices into the concatenated (3, K_r+4) blocks of the rate-matched, concatenated
    output f (5.1.4.1, 5.1.5), (G,) uint32 (unsigned: the gather kernel then skips the negative-index
    wrap test), read-only; constant per (segmentation, E_r, rv, N_soft). The E_r are checked here, on
    a cache miss only (a failed call is not cached)."""
    e_lengths = tuple(_check_e(e) for e in e_lengths)
    parts, offset = [], 0
    for r, (k, e) in enumerate(zip(block_sizes, e_lengths, strict=True)):
        sel, _ = _turbo_indices(k, e, rv, n_soft, len(block_sizes), 1, 8, filler if r == 0 else 0)
        parts.append(sel + offset)
        offset += 3 * (k + 4)
    idx = np.concatenate(parts).astype(np.uint32)  # sum 3 (K_r+4) < 2^32 for any TBS
    idx.setflags(write=False)
    return idx


# numba: bit selection is a gather of G single bytes through the cached index map, done once per
# transport block; NumPy's fancy indexing (generic take loop, per-index bounds handling) costs about
# 2.5x as much per bit at G ~ 10^5. The map's indices lie inside d_flat by construction (checked sizes).
@njit(cache=True)
def _gather_bits(d_flat, idx, out):  # pragma: no cover - compiled
    """out[j] = d_flat[idx[j]]: e_k of every block, concatenated (5.1.4.1.2, 5.1.5)."""
    for j in range(idx.size):
        out[j] = d_flat[idx[j]]


def rate_match_turbo_blocks(
    d_flat: np.ndarray,
    block_sizes: tuple[int, ...],
    e_lengths: tuple[int, ...],
    rv: int,
    n_soft: int | None = None,
    filler: int = 0,
) -> np.ndarray:
    """Rate matching of all C turbo-coded blocks of a transport block and their concatenation
    (TS 36.212 5.1.4.1, 5.1.5) in one gather; equal to concatenating `rate_match_turbo` of each block
    (c = C, k_mimo = 1, m_dl_harq = 8, `filler` in block 0).

    d_flat: the blocks d_r (3, K_r+4) uint8 flattened and concatenated in order of r, (sum 3 (K_r+4),).
    block_sizes: K_r; e_lengths: E_r (see `code_block_e`). Returns f: (sum E_r,) uint8.
    """
    d_flat = np.asarray(d_flat)
    if d_flat.ndim != 1 or d_flat.size != sum(3 * (k + 4) for k in block_sizes):
        raise ValueError(f"d_flat must hold the {len(block_sizes)} coded blocks flat, got shape {d_flat.shape}")
    idx = _turbo_tb_selection(tuple(block_sizes), tuple(e_lengths), rv, n_soft, filler)
    f = np.empty(idx.size, dtype=np.uint8)
    _gather_bits(np.ascontiguousarray(d_flat, dtype=np.uint8), idx, f)
    return f


def rate_dematch_turbo(
    llr: np.ndarray,
    k: int,
    rv: int,
    n_soft: int | None = None,
    c: int = 1,
    k_mimo: int = 1,
    m_dl_harq: int = 8,
    filler: int = 0,
    soft_buffer: np.ndarray | None = None,
) -> np.ndarray:
    """Inverse of rate_match_turbo on soft bits, with HARQ soft combining (TS 36.212 5.1.4.1).

    llr: (E,) float LLRs of e_k (positive = bit 0). k: code block size K. Other arguments as in
    rate_match_turbo. soft_buffer: (3, K+4) float32 from earlier transmissions of the same block
    (any rv), or None. Returns a new (3, K+4) float32 buffer = soft_buffer + this transmission's
    LLRs (repeats summed; positions never sent, filler bits included, stay 0).
    """
    llr = np.asarray(llr, dtype=np.float32)
    if llr.ndim != 1:
        raise ValueError(f"llr must be a 1-D array of E soft bits, got shape {llr.shape}")
    d_len = int(k) + 4
    sel, unique = _turbo_indices(int(k), llr.size, rv, n_soft, c, k_mimo, m_dl_harq, filler)
    out = _scatter_sum(sel, unique, llr, 3 * d_len).reshape(3, d_len)
    if soft_buffer is not None:
        soft_buffer = np.asarray(soft_buffer, dtype=np.float32)
        if soft_buffer.shape != (3, d_len):
            raise ValueError(f"soft_buffer must have shape (3, {d_len}), got {soft_buffer.shape}")
        out += soft_buffer
    return out
