"""Modulation mapper and max-log soft demapper: QPSK, 16QAM, 64QAM (TS 36.211 7.1).

Gray mapping of Tables 7.1.2-1, 7.1.3-1, 7.1.4-1 in closed form: bits b(q_m i + 2j) (j = 0..) set the
in-phase amplitude, bits b(q_m i + 2j + 1) the quadrature amplitude, with per-axis PAM
  QPSK:  (1 - 2 b0) / sqrt(2)
  16QAM: (1 - 2 b0)(1 + 2 b2) / sqrt(10)                       levels 1, 3
  64QAM: (1 - 2 b0)(4 - (1 - 2 b2)(2 - (1 - 2 b4))) / sqrt(42)  levels 1, 3, 5, 7
Soft bits: LLR = log P(b=0)/P(b=1), positive means bit 0 (project convention).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

__all__ = ["modulate", "demodulate_llr", "constellation"]

_NORM = {2: np.sqrt(2.0), 4: np.sqrt(10.0), 6: np.sqrt(42.0)}


def _check_q_m(q_m: int) -> None:
    if q_m not in _NORM:
        raise ValueError(f"q_m must be 2 (QPSK), 4 (16QAM) or 6 (64QAM), got {q_m}")


def _pam(bits: np.ndarray) -> np.ndarray:
    """Per-axis amplitude (unnormalised) from bits (..., q_m/2) of one axis, MSB first."""
    s = 1 - 2 * bits.astype(np.int16)
    n = bits.shape[-1]
    if n == 1:
        return s[..., 0]
    if n == 2:
        return s[..., 0] * (2 - s[..., 1])
    return s[..., 0] * (4 - s[..., 1] * (2 - s[..., 2]))


def modulate(bits: np.ndarray, q_m: int) -> np.ndarray:
    """Complex symbols of bits (N,) uint8, N a multiple of q_m (TS 36.211 7.1). Returns (N/q_m,) complex64.

    Each group of q_m bits is read as its label (MSB first) and looked up in `constellation(q_m)`.
    """
    _check_q_m(q_m)
    bits = np.asarray(bits)
    if bits.ndim != 1 or bits.size % q_m:
        raise ValueError(
            f"bits must be a 1-D array whose length is a multiple of q_m={q_m}, got {bits.shape}"
        )
    n_sym = bits.size // q_m
    if n_sym == 0:
        return np.zeros(0, dtype=np.complex64)
    # the bits packed into bytes, MSB first: a byte holds 4 QPSK or 2 16QAM labels, 3 bytes hold 4
    # 64QAM labels (two 12-bit halves); each lookup yields the symbols of a whole byte / half
    # (ndarray.take: row gathers through intp indices, much faster than table[index] for 2-D tables)
    packed = np.packbits(bits.astype(np.uint8, copy=False))
    if q_m != 6:
        return _byte_points(q_m).take(packed.astype(np.intp), axis=0).reshape(-1)[:n_sym]
    if packed.size % 3:
        packed = np.concatenate([packed, np.zeros(-packed.size % 3, dtype=np.uint8)])
    # 3 bytes b0 b1 b2 hold two 12-bit labels: (b0 b1) >> 4 and (b1 b2) & 0xFFF, i.e. the big-endian
    # 16-bit words at byte offsets 0 and 1 of each triple (strided views, no copy); a pair of complex64
    # symbols is moved as one 16-byte item (a complex128 view; only copied, never computed on)
    m = packed.size // 3
    word0 = np.ndarray((m,), dtype=">u2", buffer=packed, offset=0, strides=(3,))
    word1 = np.ndarray((m,), dtype=">u2", buffer=packed, offset=1, strides=(3,))
    labels = np.empty((m, 2), dtype=np.intp)
    np.right_shift(word0, 4, out=labels[:, 0], casting="unsafe")
    np.bitwise_and(word1, 0xFFF, out=labels[:, 1], casting="unsafe")
    pairs = _byte_points(6).view(np.complex128).reshape(-1)
    return pairs.take(labels.reshape(-1)).view(np.complex64)[:n_sym]


@lru_cache(maxsize=3)
def _byte_points(q_m: int) -> np.ndarray:
    """Symbols of every packed group of bits: (256, 8/q_m) for QPSK and 16QAM (one byte), (4096, 2)
    for 64QAM (12 bits), read-only."""
    n_bits = 12 if q_m == 6 else 8
    pts = _points(q_m)
    v = np.arange(2**n_bits)
    table = pts[(v[:, None] >> (n_bits - q_m * (1 + np.arange(n_bits // q_m)))[None, :]) & (2**q_m - 1)]
    table.setflags(write=False)
    return table


@lru_cache(maxsize=3)
def _points(q_m: int) -> np.ndarray:
    """(2^q_m,) complex64 points in label order, from the closed-form per-axis PAM (read-only)."""
    labels = ((np.arange(2**q_m)[:, None] >> np.arange(q_m - 1, -1, -1)[None, :]) & 1).astype(np.uint8)
    i_amp = _pam(labels[:, 0::2])
    q_amp = _pam(labels[:, 1::2])
    pts = ((i_amp + 1j * q_amp) / _NORM[q_m]).astype(np.complex64)
    pts.setflags(write=False)
    return pts


@lru_cache(maxsize=3)
def _axis_table(q_m: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-axis levels (2^(q_m/2),) float32 and their bit labels (2^(q_m/2), q_m/2) uint8."""
    n = q_m // 2
    labels = ((np.arange(2**n)[:, None] >> np.arange(n - 1, -1, -1)[None, :]) & 1).astype(np.uint8)
    levels = (_pam(labels) / _NORM[q_m]).astype(np.float32)
    return levels, labels


def constellation(q_m: int) -> np.ndarray:
    """All 2^q_m points in label order (label = bits b0..b_{q_m-1} read MSB first). (2^q_m,) complex64."""
    _check_q_m(q_m)
    return _points(q_m).copy()


def demodulate_llr(symbols: np.ndarray, q_m: int, noise_var) -> np.ndarray:
    """Max-log LLRs of equalised symbols (M,) complex (TS 36.211 7.1 mapping).

    noise_var: complex noise variance per symbol, scalar or (M,) (e.g. from tx_diversity_decode).
    LLR(b) = (min_{b=1} |y - s|^2 - min_{b=0} |y - s|^2) / noise_var, per axis (Gray mapping makes the
    axes separable). Returns (M*q_m,) float32, positive = bit 0.
    """
    _check_q_m(q_m)
    y = np.asarray(symbols).reshape(-1)
    nv = np.asarray(noise_var, dtype=np.float32)
    if np.any(nv <= 0):
        raise ValueError("noise_var must be > 0")
    inv = (1.0 / nv).reshape(-1, 1) if nv.ndim else np.float32(1.0 / nv)
    n = q_m // 2
    llr = np.empty((y.size, q_m), dtype=np.float32)
    if q_m == 2:
        scale = np.float32(2 * np.sqrt(2.0))  # (d1^2 - d0^2) = 4 a y, a = 1/sqrt(2)
        llr[:, 0] = scale * y.real
        llr[:, 1] = scale * y.imag
        return (llr * inv).reshape(-1).astype(np.float32, copy=False)
    levels, labels = _axis_table(q_m)
    for axis, comp in enumerate((y.real, y.imag)):
        d2 = (comp.astype(np.float32)[:, None] - levels[None, :]) ** 2  # (M, levels)
        for j in range(n):
            one = labels[:, j].astype(bool)
            llr[:, 2 * j + axis] = d2[:, one].min(axis=1) - d2[:, ~one].min(axis=1)
    return (llr * inv).reshape(-1).astype(np.float32, copy=False)
