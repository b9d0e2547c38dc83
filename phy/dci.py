"""Downlink control information formats 0, 1, 1A and 1C: field packing and unpacking, FDD
(TS 36.212 5.3.3.1.1, 5.3.3.1.2, 5.3.3.1.3, 5.3.3.1.4).

Payload sizes include the alignment rules of 5.3.3.1:
- format 0 is zero-padded to the size of format 1A, format 1A to the size of format 0 (whichever is
  smaller is padded; N_RB_UL may differ from N_RB_DL);
- format 1A gets one zero bit when its size is one of the ambiguous sizes of Table 5.3.3.1.2-1;
- format 1 gets zero bits until its size is neither ambiguous nor equal to format 0/1A.

Bits are (A,) uint8 arrays, field MSB first, a_0 = the first field's MSB (TS 36.212 5.3.3.1).
Resource fields are kept raw (RIV, bitmap); phy.resource_allocation turns them into PRBs.
`rnti_kind` says how the CRC will be / was scrambled: 'c' (C-RNTI, SPS and temporary C-RNTI: user
data) or 'common' (SI-, P-, RA-RNTI), which changes the meaning of some 1A fields (5.3.3.1.3).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from .resource_allocation import n_rbg, n_vrb_1c, riv_bits

__all__ = [
    "AMBIGUOUS_SIZES",
    "Dci0",
    "Dci1",
    "Dci1A",
    "Dci1APdcchOrder",
    "Dci1C",
    "Dci",
    "dci_size",
    "dci_pack",
    "dci_unpack",
    "FORMATS",
]

# TS 36.212 Table 5.3.3.1.2-1: ambiguous information bit sizes
AMBIGUOUS_SIZES = frozenset({12, 14, 16, 20, 24, 26, 32, 40, 44, 56})
FORMATS = ("0", "1", "1A", "1C")
RNTI_KINDS = ("c", "common")


@dataclass(frozen=True)
class Dci0:
    """DCI format 0, PUSCH grant (TS 36.212 5.3.3.1.1). `rb_assignment` is the raw field (RIV over
    N_RB_UL; with hopping its N_UL_hop MSBs carry the hopping information, 36.213 8.4)."""

    rb_assignment: int
    mcs_rv: int  # I_MCS 0..31 (29..31 = RV 1..3 retransmission, 36.213 8.6.1)
    hopping: int = 0
    ndi: int = 0
    tpc: int = 0
    cyclic_shift_dmrs: int = 0
    cqi_request: int = 0


@dataclass(frozen=True)
class Dci1:
    """DCI format 1 (TS 36.212 5.3.3.1.2): `ra_type` 0 or 1 (no header bit for N_RB_DL <= 10, where only
    type 0 exists); `rb_assignment` the raw N_RBG-bit field (type 0 bitmap, or type 1 subset/shift/bitmap)."""

    rb_assignment: int
    mcs: int
    harq_process: int = 0
    ndi: int = 0
    rv: int = 0
    tpc: int = 0
    ra_type: int = 0


@dataclass(frozen=True)
class Dci1A:
    """DCI format 1A, compact PDSCH assignment (TS 36.212 5.3.3.1.3).

    `riv`: type 2 RIV over N_RB_DL. `distributed`: the localized/distributed VRB flag. `gap`: N_gap
    index (1 or 2) of a distributed allocation for N_RB_DL >= 50, carried in the RB field's MSB (C-RNTI)
    or in the NDI bit (SI/P/RA-RNTI). With SI/P/RA-RNTI the HARQ process and NDI are reserved and the
    TPC LSB selects the TBS column N_PRB^1A (0 -> 2, 1 -> 3; 36.213 7.1.7.2.1): see `n_prb_1a`.
    """

    riv: int
    mcs: int
    harq_process: int = 0
    ndi: int = 0
    rv: int = 0
    tpc: int = 0
    distributed: bool = False
    gap: int = 1

    @property
    def n_prb_1a(self) -> int:
        """TBS column N_PRB^1A of a 1A with SI/P/RA-RNTI (TS 36.213 7.1.7.2.1): TPC LSB 0 -> 2, 1 -> 3."""
        return 3 if self.tpc & 1 else 2


@dataclass(frozen=True)
class Dci1APdcchOrder:
    """Format 1A used as a PDCCH order for random access (C-RNTI, localized, all RB bits 1;
    TS 36.212 5.3.3.1.3): preamble index 6 bits, PRACH mask index 4 bits, the rest zero."""

    preamble_index: int
    prach_mask_index: int = 0


@dataclass(frozen=True)
class Dci1C:
    """DCI format 1C, very compact assignment (TS 36.212 5.3.3.1.4): `riv` over N'_VRB_DL (steps of
    N_step_RB, distributed VRBs), `tbs_index` I_TBS of TS 36.213 Table 7.1.7.2.3-1, `gap` 1 or 2
    (the gap bit exists only for N_RB_DL >= 50)."""

    riv: int
    tbs_index: int
    gap: int = 1


Dci = Dci0 | Dci1 | Dci1A | Dci1APdcchOrder | Dci1C


def _bits_0(n_rb_ul: int) -> int:
    # flag 1, hopping 1, RB riv_bits, MCS/RV 5, NDI 1, TPC 2, cyclic shift 3, CQI request 1
    return 1 + 1 + riv_bits(n_rb_ul) + 5 + 1 + 2 + 3 + 1


def _bits_1a(n_rb_dl: int) -> int:
    # flag 1, loc/dist 1, RB riv_bits, MCS 5, HARQ 3 (FDD), NDI 1, RV 2, TPC 2
    return 1 + 1 + riv_bits(n_rb_dl) + 5 + 3 + 1 + 2 + 2


def _bits_1(n_rb_dl: int) -> int:
    # RA header (absent for N_RB_DL <= 10), RBG bitmap, MCS 5, HARQ 3, NDI 1, RV 2, TPC 2
    return (0 if n_rb_dl <= 10 else 1) + n_rbg(n_rb_dl) + 5 + 3 + 1 + 2 + 2


def _bits_1c(n_rb_dl: int) -> int:
    n_vrb = n_vrb_1c(n_rb_dl)
    return (1 if n_rb_dl >= 50 else 0) + math.ceil(math.log2(n_vrb * (n_vrb + 1) // 2)) + 5


def _size_0_1a(n_rb_dl: int, n_rb_ul: int) -> int:
    """Common payload size of formats 0 and 1A after the 5.3.3.1.1/5.3.3.1.3 alignment rules."""
    size = max(_bits_0(n_rb_ul), _bits_1a(n_rb_dl))  # the smaller one is zero-padded
    if size in AMBIGUOUS_SIZES:  # 5.3.3.1.3: one zero bit appended to 1A (and 0 padded to match)
        size += 1
    return size


def dci_size(fmt: str, n_rb_dl: int, n_rb_ul: int | None = None) -> int:
    """Payload size A in bits of DCI format `fmt` ('0', '1', '1A', '1C') for an FDD cell, with the
    padding rules of TS 36.212 5.3.3.1 (N_RB_UL defaults to N_RB_DL)."""
    n_rb_ul = n_rb_dl if n_rb_ul is None else n_rb_ul
    if fmt in ("0", "1A"):
        return _size_0_1a(n_rb_dl, n_rb_ul)
    if fmt == "1":
        size = _bits_1(n_rb_dl)
        size_0_1a = _size_0_1a(n_rb_dl, n_rb_ul)
        while size in AMBIGUOUS_SIZES or size == size_0_1a:  # 5.3.3.1.2
            size += 1
        return size
    if fmt == "1C":
        return _bits_1c(n_rb_dl)
    raise ValueError(f"DCI format {fmt!r} unsupported: use one of {FORMATS}")


def _check_field(name: str, value: int, width: int) -> int:
    value = int(value)
    if not 0 <= value < (1 << width):
        raise ValueError(f"DCI field {name}={value} does not fit in {width} bits (0..{(1 << width) - 1})")
    return value


def _pack_fields(fields: list[tuple[str, int, int]], size: int) -> np.ndarray:
    bits = np.zeros(size, dtype=np.uint8)
    pos = 0
    for name, value, width in fields:
        value = _check_field(name, value, width)
        bits[pos : pos + width] = (value >> np.arange(width - 1, -1, -1)) & 1
        pos += width
    assert pos <= size
    return bits


class _Reader:
    def __init__(self, bits: np.ndarray):
        self.bits = bits
        self.pos = 0

    def take(self, width: int) -> int:
        chunk = self.bits[self.pos : self.pos + width]
        self.pos += width
        return int(sum(int(b) << (width - 1 - i) for i, b in enumerate(chunk)))


def dci_pack(dci: Dci, n_rb_dl: int, rnti_kind: str = "c", n_rb_ul: int | None = None) -> np.ndarray:
    """Pack `dci` into its (A,) uint8 payload a_0..a_{A-1} (TS 36.212 5.3.3.1), padding included.

    The payload is cached per (DCI, bandwidths, RNTI kind) (the DCI dataclasses are frozen, and a
    scheduler sends the same few DCIs again and again) and returned read-only: copy it to modify it.
    """
    if rnti_kind not in RNTI_KINDS:
        raise ValueError(f"rnti_kind must be one of {RNTI_KINDS}, got {rnti_kind!r}")
    return _dci_pack_cached(dci, int(n_rb_dl), rnti_kind, int(n_rb_dl if n_rb_ul is None else n_rb_ul))


@lru_cache(maxsize=4096)
def _dci_pack_cached(dci: Dci, n_rb_dl: int, rnti_kind: str, n_rb_ul: int) -> np.ndarray:
    """`dci_pack` with plain, hashable arguments; read-only result."""
    bits = _dci_pack(dci, n_rb_dl, rnti_kind, n_rb_ul)
    bits.setflags(write=False)
    return bits


def _dci_pack(dci: Dci, n_rb_dl: int, rnti_kind: str, n_rb_ul: int) -> np.ndarray:
    """The field packing of `dci_pack` (TS 36.212 5.3.3.1.1-5.3.3.1.4), a fresh array."""
    if isinstance(dci, Dci0):
        if rnti_kind != "c":
            raise ValueError("format 0 is scrambled with a C-RNTI (rnti_kind='c')")
        fields = [
            ("flag", 0, 1),
            ("hopping", dci.hopping, 1),
            ("rb_assignment", dci.rb_assignment, riv_bits(n_rb_ul)),
            ("mcs_rv", dci.mcs_rv, 5),
            ("ndi", dci.ndi, 1),
            ("tpc", dci.tpc, 2),
            ("cyclic_shift_dmrs", dci.cyclic_shift_dmrs, 3),
            ("cqi_request", dci.cqi_request, 1),
        ]
        return _pack_fields(fields, dci_size("0", n_rb_dl, n_rb_ul))
    if isinstance(dci, Dci1APdcchOrder):
        if rnti_kind != "c":
            raise ValueError("a PDCCH order is scrambled with a C-RNTI (rnti_kind='c')")
        n = riv_bits(n_rb_dl)
        fields = [
            ("flag", 1, 1),
            ("localized", 0, 1),
            ("rb_assignment", (1 << n) - 1, n),
            ("preamble_index", dci.preamble_index, 6),
            ("prach_mask_index", dci.prach_mask_index, 4),
        ]
        return _pack_fields(fields, dci_size("1A", n_rb_dl, n_rb_ul))
    if isinstance(dci, Dci1A):
        n = riv_bits(n_rb_dl)
        if dci.gap not in (1, 2) or (dci.gap == 2 and not (dci.distributed and n_rb_dl >= 50)):
            raise ValueError("gap 2 exists only for distributed allocations with n_rb_dl >= 50")
        gap_bit = dci.gap - 1
        ndi = dci.ndi
        if dci.distributed and n_rb_dl >= 50 and rnti_kind == "c":
            rb = [("gap", gap_bit, 1), ("riv", dci.riv, n - 1)]
        else:
            rb = [("riv", dci.riv, n)]
            if dci.distributed and n_rb_dl >= 50:
                ndi = gap_bit  # SI/P/RA-RNTI: the NDI bit carries the gap (5.3.3.1.3)
        if rnti_kind == "c" and not dci.distributed and dci.riv == (1 << n) - 1:
            raise ValueError(
                "an all-ones localized RB field with C-RNTI is a PDCCH order: use Dci1APdcchOrder"
            )
        fields = [
            ("flag", 1, 1),
            ("distributed", int(dci.distributed), 1),
            *rb,
            ("mcs", dci.mcs, 5),
            ("harq_process", dci.harq_process, 3),
            ("ndi", ndi, 1),
            ("rv", dci.rv, 2),
            ("tpc", dci.tpc, 2),
        ]
        return _pack_fields(fields, dci_size("1A", n_rb_dl, n_rb_ul))
    if isinstance(dci, Dci1):
        if rnti_kind != "c":
            raise ValueError("format 1 is scrambled with a C-RNTI (rnti_kind='c')")
        header = [] if n_rb_dl <= 10 else [("ra_type", dci.ra_type, 1)]
        if n_rb_dl <= 10 and dci.ra_type != 0:
            raise ValueError("resource allocation type 1 needs n_rb_dl > 10")
        fields = [
            *header,
            ("rb_assignment", dci.rb_assignment, n_rbg(n_rb_dl)),
            ("mcs", dci.mcs, 5),
            ("harq_process", dci.harq_process, 3),
            ("ndi", dci.ndi, 1),
            ("rv", dci.rv, 2),
            ("tpc", dci.tpc, 2),
        ]
        return _pack_fields(fields, dci_size("1", n_rb_dl, n_rb_ul))
    if isinstance(dci, Dci1C):
        n_vrb = n_vrb_1c(n_rb_dl)
        gap = [("gap", dci.gap - 1, 1)] if n_rb_dl >= 50 else []
        if dci.gap != 1 and n_rb_dl < 50:
            raise ValueError("format 1C gap 2 needs n_rb_dl >= 50")
        fields = [
            *gap,
            ("riv", dci.riv, math.ceil(math.log2(n_vrb * (n_vrb + 1) // 2))),
            ("tbs_index", dci.tbs_index, 5),
        ]
        return _pack_fields(fields, dci_size("1C", n_rb_dl, n_rb_ul))
    raise TypeError(f"cannot pack {type(dci).__name__}: expected Dci0, Dci1, Dci1A, Dci1APdcchOrder or Dci1C")


def dci_unpack(
    bits: np.ndarray, fmt: str, n_rb_dl: int, rnti_kind: str = "c", n_rb_ul: int | None = None
) -> Dci:
    """Unpack an (A,) payload of format `fmt` (TS 36.212 5.3.3.1). For '0' and '1A' (same size) the
    format flag decides: pass either, get Dci0, Dci1A or Dci1APdcchOrder back."""
    if rnti_kind not in RNTI_KINDS:
        raise ValueError(f"rnti_kind must be one of {RNTI_KINDS}, got {rnti_kind!r}")
    n_rb_ul = n_rb_dl if n_rb_ul is None else n_rb_ul
    bits = np.asarray(bits, dtype=np.uint8)
    size = dci_size(fmt, n_rb_dl, n_rb_ul)
    if bits.shape != (size,):
        raise ValueError(
            f"format {fmt} payload for n_rb_dl={n_rb_dl} has {size} bits, got shape {bits.shape}"
        )
    r = _Reader(bits)
    if fmt in ("0", "1A"):
        if r.take(1) == 0:
            return Dci0(
                hopping=r.take(1),
                rb_assignment=r.take(riv_bits(n_rb_ul)),
                mcs_rv=r.take(5),
                ndi=r.take(1),
                tpc=r.take(2),
                cyclic_shift_dmrs=r.take(3),
                cqi_request=r.take(1),
            )
        distributed = bool(r.take(1))
        n = riv_bits(n_rb_dl)
        gap = 1
        if distributed and n_rb_dl >= 50 and rnti_kind == "c":
            gap, riv = r.take(1) + 1, r.take(n - 1)
        else:
            riv = r.take(n)
        if rnti_kind == "c" and not distributed and riv == (1 << n) - 1:
            return Dci1APdcchOrder(preamble_index=r.take(6), prach_mask_index=r.take(4))
        mcs, harq, ndi, rv, tpc = r.take(5), r.take(3), r.take(1), r.take(2), r.take(2)
        if distributed and n_rb_dl >= 50 and rnti_kind == "common":
            gap, ndi = ndi + 1, 0
        return Dci1A(
            riv=riv, mcs=mcs, harq_process=harq, ndi=ndi, rv=rv, tpc=tpc, distributed=distributed, gap=gap
        )
    if fmt == "1":
        ra_type = 0 if n_rb_dl <= 10 else r.take(1)
        return Dci1(
            ra_type=ra_type,
            rb_assignment=r.take(n_rbg(n_rb_dl)),
            mcs=r.take(5),
            harq_process=r.take(3),
            ndi=r.take(1),
            rv=r.take(2),
            tpc=r.take(2),
        )
    if fmt == "1C":
        gap = r.take(1) + 1 if n_rb_dl >= 50 else 1
        n_vrb = n_vrb_1c(n_rb_dl)
        return Dci1C(gap=gap, riv=r.take(math.ceil(math.log2(n_vrb * (n_vrb + 1) // 2))), tbs_index=r.take(5))
    raise ValueError(f"DCI format {fmt!r} unsupported: use one of {FORMATS}")
