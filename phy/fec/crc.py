"""LTE cyclic redundancy check: parity, attach, check, masked variants (TS 36.212 5.1.1).

Bits are uint8 arrays of 0/1, MSB first: a_0 is the coefficient of the highest power of D. The
parity bits p_0..p_{L-1} make a_0 D^(A+L-1) + ... + a_{A-1} D^L + p_0 D^(L-1) + ... + p_{L-1}
divisible by the generator (zero initial register, no final XOR, no reflection).

Vectorised as GF(2) matrix products in two levels. The bits (front-padded with zeros, which leave
the CRC unchanged) are cut into M chunks of m = 512 bits; one matrix product gives every chunk's
remainder r_j(D) = chunk_j(D) D^L mod g(D) (table row i = D^(m-1-i+L) mod g); a second one shifts
and sums them, p(D) = sum_j r_j(D) D^(m (M-1-j)) mod g(D), with the companion matrix's powers.
The tables are constants of the generator, cached.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

# TS 36.212 5.1.1: generator polynomials as integers (bit n = coefficient of D^n).
#   gCRC24A(D) = D^24+D^23+D^18+D^17+D^14+D^11+D^10+D^7+D^6+D^5+D^4+D^3+D+1
#   gCRC24B(D) = D^24+D^23+D^6+D^5+D+1
#   gCRC16(D)  = D^16+D^12+D^5+1
#   gCRC8(D)   = D^8+D^7+D^4+D^3+D+1
_GENERATORS: dict[str, tuple[int, ...]] = {
    "24a": (24, 23, 18, 17, 14, 11, 10, 7, 6, 5, 4, 3, 1, 0),
    "24b": (24, 23, 6, 5, 1, 0),
    "16": (16, 12, 5, 0),
    "8": (8, 7, 4, 3, 1, 0),
}
CRC_KINDS = tuple(_GENERATORS)


def crc_length(kind: str) -> int:
    """Number of parity bits L of CRC `kind` ('24a' -> 24, '24b' -> 24, '16' -> 16, '8' -> 8)."""
    return _degrees(kind)[0]


def crc_generator(kind: str) -> int:
    """Generator g(D) of `kind` as an integer, bit n = coefficient of D^n (TS 36.212 5.1.1)."""
    return sum(1 << d for d in _degrees(kind))


def _degrees(kind: str) -> tuple[int, ...]:
    try:
        return _GENERATORS[kind]
    except KeyError:
        raise ValueError(f"CRC kind {kind!r} unknown: use one of {CRC_KINDS}") from None


_CHUNK = 512  # bits per chunk m: float32 sums of m products stay exact


@lru_cache(maxsize=8)
def _companion(kind: str) -> np.ndarray:
    """(L, L) int64 GF(2) matrix of r(D) -> r(D) D mod g(D) on row vectors, column j = D^(L-1-j)."""
    degrees = _degrees(kind)
    length = degrees[0]
    step = np.zeros((length, length), dtype=np.int64)
    step[np.arange(1, length), np.arange(length - 1)] = 1  # D^(L-1-j) -> D^(L-j)
    for d in degrees[1:]:
        step[0, length - 1 - d] = 1  # D^(L-1) * D = D^L = g(D) - D^L
    return step


@lru_cache(maxsize=8)
def _chunk_table(kind: str) -> np.ndarray:
    """(m, L) float32: row i = D^(m-1-i+L) mod g(D), so chunk @ table = chunk(D) D^L mod g(D)."""
    step = _companion(kind)
    rows = np.empty((_CHUNK, step.shape[0]), dtype=np.int64)
    rows[-1] = step[0]  # D^L mod g
    for i in range(_CHUNK - 2, -1, -1):
        rows[i] = (rows[i + 1] @ step) % 2
    return rows.astype(np.float32)


@lru_cache(maxsize=32)
def _shift_matrices(kind: str, n_chunks: int) -> np.ndarray:
    """(n_chunks, L, L) float32: entry k multiplies a remainder row by D^(m k) mod g(D)."""
    step_m = _companion(kind)
    for _ in range(_CHUNK.bit_length() - 1):  # step^m by repeated squaring (m is a power of 2)
        step_m = (step_m @ step_m) % 2
    mats = np.empty((n_chunks,) + step_m.shape, dtype=np.int64)
    mats[0] = np.eye(step_m.shape[0], dtype=np.int64)
    for k in range(1, n_chunks):
        mats[k] = (mats[k - 1] @ step_m) % 2
    return mats.astype(np.float32)


def _as_bits(bits: np.ndarray | list[int], what: str) -> np.ndarray:
    arr = np.asarray(bits)
    if arr.ndim not in (1, 2):
        raise ValueError(f"{what} must be a (A,) or (n, A) bit array, got shape {arr.shape}")
    if arr.size and (arr.min() < 0 or arr.max() > 1):
        raise ValueError(f"{what} must hold only 0/1 values")
    return arr.astype(np.uint8, copy=False)


def crc_parity(bits: np.ndarray, kind: str) -> np.ndarray:
    """Parity bits p_0..p_{L-1} of `bits` (TS 36.212 5.1.1).

    bits: (A,) or batch (n, A) uint8 0/1, any A >= 0. Returns (L,) or (n, L) uint8.
    """
    a = _as_bits(bits, "bits")
    length = crc_length(kind)
    n_bits = a.shape[-1]
    lead = a.shape[:-1]
    n_chunks = -(-n_bits // _CHUNK)
    if n_chunks == 0:
        return np.zeros(lead + (length,), dtype=np.uint8)
    x = np.zeros(lead + (n_chunks * _CHUNK,), dtype=np.float32)
    x[..., n_chunks * _CHUNK - n_bits :] = a  # leading zeros leave the CRC unchanged
    x = x.reshape(lead + (n_chunks, _CHUNK))
    rem = (x @ _chunk_table(kind)).astype(np.int64) & 1  # (..., M, L): r_j(D)
    size = 1 << (n_chunks - 1).bit_length()  # power-of-two cache sizes
    shifts = _shift_matrices(kind, size)[n_chunks - 1 :: -1]  # chunk j shifts by D^(m (M-1-j))
    acc = np.einsum("...jl,jlk->...k", rem.astype(np.float32), shifts)
    return (acc.astype(np.int64) & 1).astype(np.uint8)


def crc_attach(bits: np.ndarray, kind: str) -> np.ndarray:
    """b = a followed by its parity (TS 36.212 5.1.1). (A,) -> (A+L,), or (n, A) -> (n, A+L) uint8."""
    a = _as_bits(bits, "bits")
    return np.concatenate([a, crc_parity(a, kind)], axis=-1)


def crc_syndrome(bits_with_crc: np.ndarray, kind: str) -> np.ndarray:
    """Received parity XOR recomputed parity: zero for a clean block, the mask for a masked one.

    For a DCI this is the RNTI bits x_rnti (TS 36.212 5.3.3.2), for PBCH the port mask (5.3.1.1).
    (A+L,) -> (L,), or (n, A+L) -> (n, L) uint8.
    """
    b = _as_bits(bits_with_crc, "bits_with_crc")
    length = crc_length(kind)
    if b.shape[-1] < length:
        raise ValueError(f"bits_with_crc has {b.shape[-1]} bits, fewer than the {length} CRC bits")
    return crc_parity(b[..., :-length], kind) ^ b[..., -length:]


def crc_check(bits_with_crc: np.ndarray, kind: str) -> bool | np.ndarray:
    """True when the last L bits are the CRC of the rest (TS 36.212 5.1.1).

    (A+L,) -> bool; a batch (n, A+L) -> (n,) bool array.
    """
    ok = ~crc_syndrome(bits_with_crc, kind).any(axis=-1)
    return bool(ok) if np.ndim(ok) == 0 else ok


def crc_attach_masked(bits: np.ndarray, kind: str, mask_bits: np.ndarray) -> np.ndarray:
    """Attach a CRC whose parity is XORed with `mask_bits` (L,) (TS 36.212 5.3.1.1, 5.3.3.2).

    c_k = a_k for k < A, c_k = (p_{k-A} + x_{k-A}) mod 2 for A <= k < A+L.
    Use `pbch_crc_mask(n_ports)` or `rnti_crc_mask(rnti)` for the mask.
    """
    mask = _as_bits(mask_bits, "mask_bits")
    length = crc_length(kind)
    if mask.shape != (length,):
        raise ValueError(f"mask_bits must have shape ({length},) for CRC {kind!r}, got {mask.shape}")
    out = crc_attach(bits, kind)
    out[..., -length:] ^= mask
    return out


def crc_check_masked(bits_with_crc: np.ndarray, kind: str, mask_bits: np.ndarray) -> bool | np.ndarray:
    """True when the last L bits are the CRC of the rest XOR `mask_bits` (inverse of crc_attach_masked)."""
    mask = _as_bits(mask_bits, "mask_bits")
    ok = ~(crc_syndrome(bits_with_crc, kind) ^ mask).any(axis=-1)
    return bool(ok) if np.ndim(ok) == 0 else ok


def pbch_crc_mask(n_ports: int) -> np.ndarray:
    """PBCH CRC mask x_ant,0..15 for 1, 2 or 4 transmit antenna ports (TS 36.212 Table 5.3.1.1-1)."""
    if n_ports == 1:
        return np.zeros(16, dtype=np.uint8)
    if n_ports == 2:
        return np.ones(16, dtype=np.uint8)
    if n_ports == 4:
        return np.tile(np.array([0, 1], dtype=np.uint8), 8)
    raise ValueError(f"n_ports must be 1, 2 or 4, got {n_ports}")


def rnti_crc_mask(rnti: int) -> np.ndarray:
    """DCI CRC mask x_rnti,0..15, x_rnti,0 = MSB of the 16-bit RNTI (TS 36.212 5.3.3.2)."""
    if not 0 <= int(rnti) <= 0xFFFF:
        raise ValueError(f"rnti must be 0..0xFFFF, got {rnti}")
    return ((int(rnti) >> np.arange(15, -1, -1)) & 1).astype(np.uint8)
