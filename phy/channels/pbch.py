"""Physical broadcast channel: MIB -> PBCH (TS 36.212 5.3.1, TS 36.211 6.6; MIB per TS 36.331 6.2.2).

Encoder chain (srsRAN's order): mib_pack -> CRC16 masked by the port count (5.3.1.1) -> tail-biting
convolutional code (5.1.3.1) -> rate matching to 1920 bits, normal CP (5.1.4.2) -> scrambling over the
four frames with SFN mod 4 = 0..3, c_init = N_ID_cell (6.6.1) -> QPSK (6.6.2) -> transmit diversity
for 2 ports (6.6.3) -> 240 REs of subframe 0, slot 1, symbols 0..3, central 72 subcarriers (6.6.4).
Each frame carries the quarter (SFN mod 4) of the 1920 scrambled bits.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cache, lru_cache

import numpy as np

from ..fec.convolutional import tbcc_decode, tbcc_encode
from ..fec.crc import crc_attach_masked, crc_check_masked, pbch_crc_mask
from ..fec.ratematch import rate_dematch_conv, rate_match_conv
from ..mimo import tx_diversity_encode
from ..modulation import modulate
from ..numerology import N_SC_RB, N_SYMB_SLOT
from ..scrambling import descramble_llr, scramble_bits

__all__ = [
    "Mib",
    "MIB_BANDWIDTHS",
    "PHICH_RESOURCES",
    "PBCH_E",
    "PBCH_BITS_PER_FRAME",
    "mib_pack",
    "mib_unpack",
    "pbch_encode",
    "pbch_re_indices",
    "pbch_symbols",
    "pbch_map",
    "pbch_decode",
]

MIB_BANDWIDTHS = (6, 15, 25, 50, 75, 100)  # dl-Bandwidth ENUMERATED {n6, n15, n25, n50, n75, n100}
PHICH_DURATIONS = ("normal", "extended")  # phich-Duration ENUMERATED {normal, extended}
PHICH_RESOURCES = ("one_sixth", "half", "one", "two")  # phich-Resource ENUMERATED {oneSixth, half, one, two}
PBCH_E = 1920  # rate-matched bits over 4 frames, normal CP (6.6.1: M_bit = 1920)
PBCH_BITS_PER_FRAME = PBCH_E // 4
_A = 24  # MIB length


@dataclass(frozen=True)
class Mib:
    """MasterInformationBlock fields. `sfn` is the full SFN 0..1023 (the MIB carries its 8 MSBs)."""

    n_rb_dl: int
    phich_duration: str
    phich_resource: str
    sfn: int

    def __post_init__(self) -> None:
        if self.n_rb_dl not in MIB_BANDWIDTHS:
            raise ValueError(f"Mib.n_rb_dl must be one of {MIB_BANDWIDTHS}, got {self.n_rb_dl}")
        if self.phich_duration not in PHICH_DURATIONS:
            raise ValueError(
                f"Mib.phich_duration must be one of {PHICH_DURATIONS}, got {self.phich_duration!r}"
            )
        if self.phich_resource not in PHICH_RESOURCES:
            raise ValueError(
                f"Mib.phich_resource must be one of {PHICH_RESOURCES}, got {self.phich_resource!r}"
            )
        if not 0 <= self.sfn <= 1023:
            raise ValueError(f"Mib.sfn must be 0..1023, got {self.sfn}")


def _uint_bits(value: int, width: int) -> list[int]:
    return [(value >> (width - 1 - i)) & 1 for i in range(width)]


def mib_pack(mib: Mib) -> np.ndarray:
    """24 MIB bits a_0..a_23 (UPER of TS 36.331 MasterInformationBlock): dl-Bandwidth (3),
    phich-Duration (1), phich-Resource (2), systemFrameNumber = SFN >> 2 (8), spare (10). (24,) uint8."""
    bits = (
        _uint_bits(MIB_BANDWIDTHS.index(mib.n_rb_dl), 3)
        + _uint_bits(PHICH_DURATIONS.index(mib.phich_duration), 1)
        + _uint_bits(PHICH_RESOURCES.index(mib.phich_resource), 2)
        + _uint_bits(mib.sfn >> 2, 8)
        + [0] * 10
    )
    return np.array(bits, dtype=np.uint8)


def mib_unpack(bits: np.ndarray, frame_phase: int = 0) -> Mib:
    """Inverse of mib_pack; the SFN's 2 LSBs are `frame_phase` (found by the PBCH decoder)."""
    b = np.asarray(bits, dtype=np.uint8).reshape(-1)
    if b.size != _A:
        raise ValueError(f"MIB has {_A} bits, got {b.size}")

    def field(lo: int, width: int) -> int:
        return int("".join(str(int(v)) for v in b[lo : lo + width]), 2)

    bw = field(0, 3)
    if bw >= len(MIB_BANDWIDTHS):
        raise ValueError(f"MIB dl-Bandwidth code {bw} is not defined (0..5)")
    return Mib(
        n_rb_dl=MIB_BANDWIDTHS[bw],
        phich_duration=PHICH_DURATIONS[field(3, 1)],
        phich_resource=PHICH_RESOURCES[field(4, 2)],
        sfn=(field(6, 8) << 2) | (frame_phase & 3),
    )


def _check_ports(n_ports: int) -> None:
    if n_ports not in (1, 2, 4):
        raise ValueError(f"n_ports must be 1, 2 or 4, got {n_ports}")


def pbch_encode(mib: Mib, n_ports: int) -> np.ndarray:
    """Coded bits e_0..e_1919 of one BCH transport block (TS 36.212 5.3.1). Returns (1920,) uint8."""
    _check_ports(n_ports)
    c = crc_attach_masked(mib_pack(mib), "16", pbch_crc_mask(n_ports))  # 5.3.1.1
    d = tbcc_encode(c)  # 5.3.1.2 -> 5.1.3.1, (3, 40)
    return rate_match_conv(d, PBCH_E)  # 5.3.1.3 -> 5.1.4.2


@cache
def _pbch_re(n_rb: int, v_shift_mod3: int) -> tuple[np.ndarray, np.ndarray]:
    k0 = n_rb * N_SC_RB // 2 - 36  # central 72 subcarriers, k' = 0..71
    l_all = np.repeat(np.arange(4) + N_SYMB_SLOT, 72)  # slot 1, l = 0..3; k varies fastest
    k_all = np.tile(np.arange(k0, k0 + 72), 4)
    # CRS of ports 0/1 (l = 0) and 2/3 (l = 1) sit on k = v_shift mod 3 (6.10.1.2, k0 is a multiple of 6)
    reserved = (l_all < N_SYMB_SLOT + 2) & (k_all % 3 == v_shift_mod3)
    l_idx, k_idx = l_all[~reserved], k_all[~reserved]
    l_idx.setflags(write=False)
    k_idx.setflags(write=False)
    return l_idx, k_idx


def pbch_re_indices(n_rb: int, n_id_cell: int) -> tuple[np.ndarray, np.ndarray]:
    """(l', k) of the 240 PBCH REs of subframe 0 in mapping order: k first, then l (6.6.4).

    REs reserved for CRS of ports 0..3 (k = v_shift mod 3 in l' = 7, 8, v_shift = N_ID_cell mod 6) are
    skipped whatever the actual port count. Returns two (240,) int64 arrays (read-only).
    """
    return _pbch_re(int(n_rb), int(n_id_cell) % 6 % 3)


@lru_cache(maxsize=16)
def _pbch_period_symbols(mib_period: Mib, n_id_cell: int, n_ports: int) -> np.ndarray:
    """Precoded symbols of the 4 frames of one 40 ms period, (4, n_ports, 240) complex64 read-only."""
    e = scramble_bits(pbch_encode(mib_period, n_ports), n_id_cell)  # 6.6.1: c_init = N_ID_cell, 1920 bits
    d = modulate(e, 2).reshape(4, PBCH_BITS_PER_FRAME // 2)  # 6.6.2; frame q carries quarter q
    if n_ports == 1:
        y = d[:, None, :]
    elif n_ports == 2:
        y = np.stack([tx_diversity_encode(d_q) for d_q in d])  # 6.6.3 -> 6.3.3.3, 6.3.4.3
    else:
        raise NotImplementedError("4-port transmit diversity (6.3.4.3 with 4 ports) is not implemented")
    y.setflags(write=False)
    return y


def pbch_symbols(mib: Mib, n_id_cell: int, n_ports: int, sfn: int) -> np.ndarray:
    """Precoded PBCH symbols of frame `sfn` for each port (6.6.1-6.6.3), cached per 40 ms period.

    Returns (n_ports, 240) complex64, read-only.
    """
    _check_ports(n_ports)
    if mib.sfn >> 2 != sfn >> 2:
        raise ValueError(f"mib.sfn={mib.sfn} and sfn={sfn} are in different 40 ms PBCH periods")
    return _pbch_period_symbols(replace(mib, sfn=sfn & ~3), int(n_id_cell), n_ports)[sfn % 4]


def pbch_map(grid: np.ndarray, mib: Mib, n_id_cell: int, n_ports: int, sfn: int) -> None:
    """Write frame `sfn`'s PBCH into subframe-0 `grid` (n_ports, 14, 12*n_rb) in place (6.6)."""
    if grid.shape[0] != n_ports:
        raise ValueError(f"grid has {grid.shape[0]} ports, n_ports={n_ports}")
    n_rb = grid.shape[-1] // N_SC_RB
    l_idx, k_idx = pbch_re_indices(n_rb, n_id_cell)
    grid[:, l_idx, k_idx] = pbch_symbols(mib, n_id_cell, n_ports, sfn)


def pbch_decode(llr_frame: np.ndarray, n_id_cell: int, n_ports: int, frame_phase: int) -> Mib | None:
    """MIB from one frame's 480 PBCH LLRs (positive = bit 0), or None when the CRC fails.

    The LLRs are placed at quarter `frame_phase` (SFN mod 4) of the 1920-bit buffer (others zero),
    descrambled (c_init = N_ID_cell), de-rate-matched, Viterbi-decoded (tail-biting) and checked with
    CRC16 masked for `n_ports` (36.212 5.3.1). The returned sfn has 2 LSBs = frame_phase.
    """
    _check_ports(n_ports)
    if frame_phase not in (0, 1, 2, 3):
        raise ValueError(f"frame_phase must be 0..3, got {frame_phase}")
    llr = np.asarray(llr_frame, dtype=np.float32).reshape(-1)
    if llr.size != PBCH_BITS_PER_FRAME:
        raise ValueError(f"llr_frame must hold {PBCH_BITS_PER_FRAME} LLRs, got {llr.size}")
    buf = np.zeros(PBCH_E, dtype=np.float32)
    buf[frame_phase * PBCH_BITS_PER_FRAME : (frame_phase + 1) * PBCH_BITS_PER_FRAME] = llr
    buf = descramble_llr(buf, n_id_cell)
    d = rate_dematch_conv(buf, _A + 16)
    c = tbcc_decode(d)
    if not crc_check_masked(c, "16", pbch_crc_mask(n_ports)):
        return None
    try:
        return mib_unpack(c[:_A], frame_phase)
    except ValueError:
        return None
