"""Bit-level scrambling with the Gold sequence of TS 36.211 7.2 (used by 6.3.1, 6.6.1, 6.7.1, 6.8.2 ...).

b~(i) = (b(i) + c(i)) mod 2; the receiver flips the sign of LLRs where c(i) = 1. Each channel computes
its own c_init (its clause) and calls these functions.
"""

from __future__ import annotations

import numpy as np

from .sequences import gold_sequence_cached

__all__ = ["scramble_bits", "descramble_llr"]


def scramble_bits(bits: np.ndarray, c_init: int) -> np.ndarray:
    """bits (N,) uint8 XOR c(0..N-1) for c_init. Returns (N,) uint8."""
    bits = np.asarray(bits, dtype=np.uint8)
    return bits ^ gold_sequence_cached(c_init, bits.size).reshape(bits.shape)


def descramble_llr(llr: np.ndarray, c_init: int) -> np.ndarray:
    """LLRs (N,) with the sign flipped where c(i) = 1. Returns (N,) float32."""
    llr = np.asarray(llr, dtype=np.float32)
    c = gold_sequence_cached(c_init, llr.size).reshape(llr.shape)
    return np.where(c == 1, -llr, llr).astype(np.float32)
