"""Code block segmentation with CRC24B and filler bits, and code block concatenation (TS 36.212 5.1.2, 5.1.5).

A transport block with its CRC24A, b_0..b_{B-1}, is cut into C code blocks whose sizes K_r are turbo
interleaver sizes (Table 5.1.3-3): C- blocks of K- bits first, then C+ blocks of K+ bits. The F filler
bits lead block 0 (they are <NULL> for rate matching and 0 at the encoder input). When C > 1 every
block carries a CRC24B over its own bits.
"""

from __future__ import annotations

from bisect import bisect_left
from functools import lru_cache
from typing import NamedTuple

import numpy as np

from phy.fec.crc import crc_attach, crc_check, crc_parity
from phy.fec.turbo import QPP_PARAMS

Z = 6144  # TS 36.212 5.1.2: maximum code block size
L_CB_CRC = 24  # CRC24B bits per code block when C > 1
TURBO_BLOCK_SIZES = tuple(sorted(QPP_PARAMS))  # the 188 K of Table 5.1.3-3, ascending


class Segmentation(NamedTuple):
    """Code block parameters of TS 36.212 5.1.2 for an input of B bits."""

    c: int  # number of code blocks C
    k_plus: int  # K+
    k_minus: int  # K- (0 when C- = 0)
    c_plus: int  # C+
    c_minus: int  # C-
    f: int  # filler bits F at the start of block 0

    @property
    def l(self) -> int:  # noqa: E743 - spec symbol L
        """CRC bits per code block: 24 when C > 1, else 0."""
        return L_CB_CRC if self.c > 1 else 0

    @property
    def block_sizes(self) -> tuple[int, ...]:
        """K_r for r = 0..C-1: the C- small blocks first."""
        return (self.k_minus,) * self.c_minus + (self.k_plus,) * self.c_plus


def segment(b_len: int) -> Segmentation:
    """Segmentation parameters for B = b_len input bits (TS 36.212 5.1.2)."""
    if int(b_len) != b_len or b_len < 1:
        raise ValueError(f"B (bits to segment) must be an integer >= 1, got {b_len}")
    return _segment(int(b_len))


@lru_cache(maxsize=1024)
def _segment(b_len: int) -> Segmentation:
    """segment() of a validated B, cached: a constant of B, asked for once per transport block."""
    if b_len <= Z:
        c, b_prime = 1, b_len
    else:
        c = -(-b_len // (Z - L_CB_CRC))
        b_prime = b_len + c * L_CB_CRC
    i_plus = bisect_left(TURBO_BLOCK_SIZES, -(-b_prime // c))
    k_plus = TURBO_BLOCK_SIZES[i_plus]  # smallest K with C K >= B'
    if c == 1:
        c_plus, k_minus, c_minus = 1, 0, 0
    else:
        k_minus = TURBO_BLOCK_SIZES[i_plus - 1]  # largest K < K+
        delta_k = k_plus - k_minus
        c_minus = (c * k_plus - b_prime) // delta_k
        c_plus = c - c_minus
    f = c_plus * k_plus + c_minus * k_minus - b_prime
    return Segmentation(c, k_plus, k_minus, c_plus, c_minus, f)


def split_code_blocks(b: np.ndarray) -> tuple[Segmentation, list[np.ndarray]]:
    """Cut b (B,) uint8 into code blocks c_r (K_r,) uint8 (TS 36.212 5.1.2).

    Filler bits (the first F of block 0) are 0, and the CRC24B over each block (filler included as 0)
    ends it when C > 1. Returns the segmentation and the list of C blocks.
    """
    b = np.asarray(b)
    if b.ndim != 1:
        raise ValueError(f"b must be a (B,) bit array, got shape {b.shape}")
    seg = segment(b.size)
    blocks, s = [], 0
    for r, k_r in enumerate(seg.block_sizes):
        n_fill = seg.f if r == 0 else 0
        n_data = k_r - seg.l - n_fill
        block = np.concatenate([np.zeros(n_fill, dtype=np.uint8), b[s : s + n_data].astype(np.uint8)])
        s += n_data
        blocks.append(crc_attach(block, "24b") if seg.l else block)
    return seg, blocks


def split_code_block_groups(b: np.ndarray) -> tuple[Segmentation, list[np.ndarray]]:
    """The code blocks of split_code_blocks (TS 36.212 5.1.2) as at most two matrices of equal-size
    blocks: (C-, K-) uint8 then (C+, K+) uint8 (empty groups left out), each CRC24B computed in one
    batch call. Returns the segmentation and the list of matrices (rows in order of r)."""
    b = np.asarray(b)
    if b.ndim != 1:
        raise ValueError(f"b must be a (B,) bit array, got shape {b.shape}")
    seg = segment(b.size)
    groups, s = [], 0
    for n, k in ((seg.c_minus, seg.k_minus), (seg.c_plus, seg.k_plus)):
        if n == 0:
            continue
        n_info = k - seg.l
        m = np.empty((n, k), dtype=np.uint8)  # info bits, then the CRC24B written in place
        n_fill = seg.f if not groups else 0  # filler bits lead block 0 only
        m[0, :n_fill] = 0
        m[0, n_fill:n_info] = b[s : s + n_info - n_fill]
        s += n_info - n_fill
        m[1:, :n_info] = b[s : s + (n - 1) * n_info].reshape(n - 1, n_info)
        s += (n - 1) * n_info
        if seg.l:
            m[:, n_info:] = crc_parity(m[:, :n_info], "24b")
        groups.append(m)
    return seg, groups


def join_code_blocks(blocks: list[np.ndarray], b_len: int) -> tuple[np.ndarray, np.ndarray]:
    """Inverse of split_code_blocks: (B,) uint8 b and (C,) bool CRC24B results (all True when C = 1)."""
    seg = segment(b_len)
    if len(blocks) != seg.c or any(np.size(x) != k for x, k in zip(blocks, seg.block_sizes, strict=False)):
        raise ValueError(f"B = {b_len} needs {seg.c} code blocks of sizes {seg.block_sizes}")
    parts, crc_ok = [], np.ones(seg.c, dtype=bool)
    for r, block in enumerate(blocks):
        block = np.asarray(block, dtype=np.uint8)
        if seg.l:
            crc_ok[r] = crc_check(block, "24b")
        parts.append(block[(seg.f if r == 0 else 0) : block.size - seg.l])
    return np.concatenate(parts), crc_ok


def concatenate_code_blocks(e_blocks: list[np.ndarray]) -> np.ndarray:
    """Code block concatenation f_k = e_r,j in order of r (TS 36.212 5.1.5): list of (E_r,) -> (G,)."""
    if not e_blocks:
        raise ValueError("e_blocks must hold at least one code block")
    return np.concatenate([np.asarray(e) for e in e_blocks])


def deconcatenate_code_blocks(f: np.ndarray, e_lengths: list[int]) -> list[np.ndarray]:
    """Inverse of concatenate_code_blocks (bits or LLRs): (G,) -> list of (E_r,) views."""
    f = np.asarray(f)
    if f.ndim != 1 or f.size != sum(e_lengths):
        raise ValueError(f"f must be 1-D with sum(e_lengths) = {sum(e_lengths)} values, got {f.shape}")
    return np.split(f, np.cumsum(e_lengths)[:-1])
