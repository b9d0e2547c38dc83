"""LTE cyclic redundancy check: parity, attach, check, masked variants (TS 36.212 5.1.1).

Bits are uint8 arrays of 0/1, MSB first: a_0 is the coefficient of the highest power of D. The
parity bits p_0..p_{L-1} make a_0 D^(A+L-1) + ... + a_{A-1} D^L + p_0 D^(L-1) + ... + p_{L-1}
divisible by the generator (zero initial register, no final XOR, no reflection).

Table-driven: the bits are packed into bytes (np.packbits) and a numba kernel runs the CRC register
8 bytes at a time ("slicing by 8": 8 tables of 256 entries, table j = byte D^(8 j) D^L mod g(D), so
only the lookups of the L/8 bytes that meet the register wait for the previous step); the last bytes
go through the classic byte-wise register and the A mod 8 leading bits through the bit-serial one.
The tables are constants of the generator, cached.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from numba import njit

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


SLICE_BYTES = 8  # bytes per step of the sliced register (>= L/8 for every LTE CRC)


@lru_cache(maxsize=8)
def _slice_tables(kind: str) -> tuple[np.ndarray, int, int]:
    """Constants of the sliced register of `kind` (L >= 8 for every LTE CRC).

    Returns tables (SLICE_BYTES, 256) int64, tables[j, x] = x(D) D^(8 j) D^L mod g(D) for the byte x
    read as a degree-7 polynomial (MSB first), so tables[0] is the classic byte table; g(D) - D^L as
    an integer; L.
    """
    length = crc_length(kind)
    poly_low = crc_generator(kind) ^ (1 << length)
    mask = (1 << length) - 1
    tables = np.empty((SLICE_BYTES, 256), dtype=np.int64)
    for byte in range(256):
        reg = byte << (length - 8)
        for _ in range(8):
            reg = ((reg << 1) ^ poly_low) & mask if reg >> (length - 1) else (reg << 1) & mask
        tables[0, byte] = reg
    for j in range(1, SLICE_BYTES):  # times D^8: shift a byte out of the register and reduce it
        prev = tables[j - 1]
        tables[j] = ((prev << 8) & mask) ^ tables[0, prev >> (length - 8)]
    tables.setflags(write=False)
    return tables, poly_low, length


# numba: a CRC register is a sequential recursion (each step's table indices depend on the register
# left by the previous step), so it is one loop over the packed bytes rather than whole-array code.
@njit(cache=True)
def _crc_kernel(lead_bits, packed, tables, length, poly_low):  # pragma: no cover - compiled
    """lead_bits (n, r) uint8 bits then packed (n, B) uint8 bytes -> parity bits (n, L) uint8.

    R <- (R D^(8 W) + chunk(D) D^L) mod g(D) for each chunk of W = SLICE_BYTES bytes: the register's
    L/8 bytes are XORed onto the first bytes of the chunk, then every byte x_i goes through table
    W-1-i and the results are XORed.
    """
    n_blocks, n_bytes = packed.shape
    mask = (np.int64(1) << length) - 1
    top_shift = length - 1
    byte_shift = length - 8
    reg_bytes = length // 8
    n_chunks = n_bytes // SLICE_BYTES
    out = np.empty((n_blocks, length), dtype=np.uint8)
    for b in range(n_blocks):
        reg = np.int64(0)
        for i in range(lead_bits.shape[1]):  # bit-serial register for the A mod 8 leading bits
            top = ((reg >> top_shift) & 1) ^ lead_bits[b, i]
            reg = (reg << 1) & mask
            if top:
                reg ^= poly_low
        for ch in range(n_chunks):
            base = ch * SLICE_BYTES
            acc = np.int64(0)
            for i in range(SLICE_BYTES):
                x = np.int64(packed[b, base + i])
                if i < reg_bytes:
                    x ^= (reg >> (byte_shift - 8 * i)) & 0xFF
                acc ^= tables[SLICE_BYTES - 1 - i, x]
            reg = acc
        for i in range(n_chunks * SLICE_BYTES, n_bytes):  # byte-wise register for the last bytes
            reg = ((reg << 8) & mask) ^ tables[0, ((reg >> byte_shift) ^ packed[b, i]) & 0xFF]
        for j in range(length):  # p_0 is the coefficient of D^(L-1): the register's top bit
            out[b, j] = (reg >> (top_shift - j)) & 1
    return out


def _as_bits(bits: np.ndarray | list[int], what: str) -> np.ndarray:
    arr = np.asarray(bits)
    if arr.ndim not in (1, 2):
        raise ValueError(f"{what} must be a (A,) or (n, A) bit array, got shape {arr.shape}")
    if arr.size and ((arr.dtype.kind not in "ub" and arr.min() < 0) or arr.max() > 1):
        raise ValueError(f"{what} must hold only 0/1 values")
    return arr.astype(np.uint8, copy=False)


def crc_parity(bits: np.ndarray, kind: str) -> np.ndarray:
    """Parity bits p_0..p_{L-1} of `bits` (TS 36.212 5.1.1).

    bits: (A,) or batch (n, A) uint8 0/1, any A >= 0. Returns (L,) or (n, L) uint8.
    """
    a = _as_bits(bits, "bits")
    return _parity_of_bits(a, kind)


def _parity_of_bits(a: np.ndarray, kind: str) -> np.ndarray:
    """crc_parity of a validated (A,) or (n, A) uint8 0/1 array."""
    tables, poly_low, length = _slice_tables(kind)
    lead = a.shape[:-1]
    flat = a.reshape(math.prod(lead), a.shape[-1])
    n_lead = flat.shape[1] % 8  # leading bits outside whole bytes go bit by bit
    parity = _crc_kernel(flat[:, :n_lead], np.packbits(flat[:, n_lead:], axis=1), tables, length, poly_low)
    return parity.reshape(lead + (length,))


def crc_attach(bits: np.ndarray, kind: str) -> np.ndarray:
    """b = a followed by its parity (TS 36.212 5.1.1). (A,) -> (A+L,), or (n, A) -> (n, A+L) uint8."""
    a = _as_bits(bits, "bits")
    length = crc_length(kind)
    out = np.empty(a.shape[:-1] + (a.shape[-1] + length,), dtype=np.uint8)
    out[..., : a.shape[-1]] = a
    out[..., a.shape[-1] :] = _parity_of_bits(a, kind)
    return out


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


def crc_syndrome_value(bits_with_crc: np.ndarray, kind: str) -> int | np.ndarray:
    """`crc_syndrome` read as an L-bit number, its first bit the most significant: for a DCI the
    RNTI that masked the CRC (TS 36.212 5.3.3.2, x_rnti,0 = MSB). (A+L,) -> int, (n, A+L) -> (n,) int64.

    For batches of short blocks (PDCCH blind decoding): the syndrome is linear over GF(2) (zero
    initial register, no final XOR), so it is the XOR of the syndromes of the set bits, one table
    of A+L numbers per (A+L, kind) (cached), and a batch costs two array operations.
    """
    b = _as_bits(bits_with_crc, "bits_with_crc")
    length = crc_length(kind)
    if b.shape[-1] < length:
        raise ValueError(f"bits_with_crc has {b.shape[-1]} bits, fewer than the {length} CRC bits")
    value = np.bitwise_xor.reduce(b * _syndrome_of_unit_bits(b.shape[-1], kind), axis=-1)
    return int(value) if value.ndim == 0 else value


@lru_cache(maxsize=64)
def _syndrome_of_unit_bits(n_bits: int, kind: str) -> np.ndarray:
    """(n_bits,) int64: crc_syndrome_value of the block whose only 1 is bit i."""
    length = crc_length(kind)
    syndrome = crc_syndrome(np.eye(n_bits, dtype=np.uint8), kind).astype(np.int64)
    value = syndrome @ (np.int64(1) << np.arange(length - 1, -1, -1, dtype=np.int64))
    value.setflags(write=False)
    return value


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
