"""Physical uplink control channel, formats 1/1a/1b and 2/2a/2b, normal CP, FDD (TS 36.211 5.4, 5.5.2.2;
TS 36.212 5.2.3.3; TS 36.213 10.1).

Every PUCCH is one PRB per slot, mirrored between the two slots (5.4.3), carrying in each SC-FDMA symbol l
a length-12 sequence r^(alpha)_{u,v}(n) = exp(j alpha n) r̄_u(n) (5.5.1, v = 0) whose cyclic shift
alpha = 2 pi n_cs(n_s, l) / 12 hops per symbol with the cell-specific n_cs^cell(n_s, l) (5.4):

  format 1/1a/1b: d(0) (1, BPSK, QPSK: Table 5.4.1-1) in the 4 data symbols l = 0, 1, 5, 6, spread with
                  S(n_s) w_noc(m) (Table 5.4.1-2), DMRS in l = 2, 3, 4 with w̄_noc(m) (Table 5.5.2.2.1-2);
  format 2/2a/2b: 20 coded bits of the (20, A) code (36.212 Table 5.2.3.3-1), scrambled (c_init =
                  (floor(n_s/2) + 1)(2 N_ID + 1) 2^16 + n_RNTI) and QPSK-modulated: d(0..9), one per data
                  symbol l = 0, 2, 3, 4, 6; DMRS in l = 1, 5 (w̄ = [1, 1]), the second one multiplied by
                  d(10) (Table 5.4.2-1) for 2a/2b (5.5.2.2.1).

The resource index (n1_PUCCH or n2_PUCCH) gives the PRB pair m, the per-slot n'(n_s) and from them the
relative cyclic shift and orthogonal cover (5.4.1, 5.4.2). The data values are arranged here as a (14, 12)
block (`PucchSignal.values`): row l is what SC-FDMA symbol l carries on the 12 subcarriers of that slot's
PRB; `pucch_put` writes it into an uplink grid (14, 12 N_RB_UL) for phy/scfdma.py.

Not supported: the shortened format (SRS in the last symbol, Table 5.4.1-3 is given for reference),
extended CP, two antenna ports, formats 3-5.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ..modulation import modulate
from ..numerology import N_SC_RB, N_SYMB_SLOT, N_SYMB_SUBFRAME
from ..scrambling import scramble_bits
from ..sequences import gold_sequence
from ..ul_config import PucchConfigCommon, UlCellConfig
from ..ul_refsig import base_sequence, f_ss_pucch, sequence_group

__all__ = [
    "FORMATS",
    "W_NSF4",
    "W_NSF3",
    "W_DMRS_FORMAT1",
    "W_DMRS_FORMAT2",
    "DATA_SYMBOLS",
    "DMRS_SYMBOLS",
    "RM_BASIS_20",
    "CQI_MAX_BITS",
    "N_CODED_FORMAT2",
    "PucchAllocation",
    "PucchSignal",
    "n_cs_cell",
    "format1_n_prime",
    "format1_n_oc",
    "format1_m",
    "format2_n_prime",
    "format2_m",
    "pucch_prb",
    "pucch_allocation",
    "format1_symbol",
    "format2ab_symbol",
    "cqi_encode",
    "format2_c_init",
    "pucch_sequences",
    "symbol_weights",
    "pucch_signal",
    "pucch_put",
    "pucch_extract",
    "harq_n1_pucch",
    "harq_resource",
    "sr_periodicity_offset",
    "is_sr_occasion",
]

FORMATS = ("1", "1a", "1b", "2", "2a", "2b")
_C = 3  # c = 3 for normal CP (5.4.1)
_D = 2  # d = 2 for normal CP (5.4.1, odd-slot remapping)

# TS 36.211 Table 5.4.1-2: orthogonal sequences [w(0) .. w(3)] for N_SF^PUCCH = 4, n_oc = 0, 1, 2
W_NSF4 = np.array([[1, 1, 1, 1], [1, -1, 1, -1], [1, -1, -1, 1]], dtype=np.complex128)
_E1, _E2 = np.exp(2j * np.pi / 3), np.exp(4j * np.pi / 3)
# TS 36.211 Table 5.4.1-3: orthogonal sequences [w(0) .. w(2)] for N_SF^PUCCH = 3 (shortened format)
W_NSF3 = np.array([[1, 1, 1], [1, _E1, _E2], [1, _E2, _E1]], dtype=np.complex128)
# TS 36.211 Table 5.5.2.2.1-2: DMRS orthogonal sequences [w̄(0) .. w̄(2)] for formats 1/1a/1b, normal CP
W_DMRS_FORMAT1 = np.array([[1, 1, 1], [1, _E1, _E2], [1, _E2, _E1]], dtype=np.complex128)
# TS 36.211 Table 5.5.2.2.1-3: DMRS orthogonal sequence [w̄(0) w̄(1)] for formats 2/2a/2b, normal CP
W_DMRS_FORMAT2 = np.array([1, 1], dtype=np.complex128)
for _a in (W_NSF4, W_NSF3, W_DMRS_FORMAT1, W_DMRS_FORMAT2):
    _a.setflags(write=False)

# Symbols l of a slot (normal CP) carrying data and DMRS (TS 36.211 Table 5.5.2.2.2-1 gives the DMRS ones)
DATA_SYMBOLS = {"1": (0, 1, 5, 6), "2": (0, 2, 3, 4, 6)}
DMRS_SYMBOLS = {"1": (2, 3, 4), "2": (1, 5)}

# TS 36.212 Table 5.2.3.3-1: basis sequences M_{i,n} of the (20, A) code, rows i = 0..19, columns n = 0..12
RM_BASIS_20 = np.array(
    [
        [1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0],
        [1, 1, 1, 0, 0, 0, 0, 0, 0, 1, 1, 1, 0],
        [1, 0, 0, 1, 0, 0, 1, 0, 1, 1, 1, 1, 1],
        [1, 0, 1, 1, 0, 0, 0, 0, 1, 0, 1, 1, 1],
        [1, 1, 1, 1, 0, 0, 0, 1, 0, 0, 1, 1, 1],
        [1, 1, 0, 0, 1, 0, 1, 1, 1, 0, 1, 1, 1],
        [1, 0, 1, 0, 1, 0, 1, 0, 1, 1, 1, 1, 1],
        [1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 1, 1, 1],
        [1, 1, 0, 1, 1, 0, 0, 1, 0, 1, 1, 1, 1],
        [1, 0, 1, 1, 1, 0, 1, 0, 0, 1, 1, 1, 1],
        [1, 0, 1, 0, 0, 1, 1, 1, 0, 1, 1, 1, 1],
        [1, 1, 1, 0, 0, 1, 1, 0, 1, 0, 1, 1, 1],
        [1, 0, 0, 1, 0, 1, 0, 1, 1, 1, 1, 1, 1],
        [1, 1, 0, 1, 0, 1, 0, 1, 0, 1, 1, 1, 1],
        [1, 0, 0, 0, 1, 1, 0, 1, 0, 0, 1, 0, 1],
        [1, 1, 0, 0, 1, 1, 1, 1, 0, 1, 1, 0, 1],
        [1, 1, 1, 0, 1, 1, 1, 0, 0, 1, 0, 1, 1],
        [1, 0, 0, 1, 1, 1, 0, 0, 1, 0, 0, 1, 1],
        [1, 1, 0, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0],
        [1, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0],
    ],
    dtype=np.uint8,
)
RM_BASIS_20.setflags(write=False)
CQI_MAX_BITS = 13  # A <= 13 (36.212 5.2.3.3)
N_CODED_FORMAT2 = 20  # bits per subframe of format 2 (Table 5.4-1)


def _family(fmt: str) -> str:
    if fmt not in FORMATS:
        raise ValueError(f"PUCCH format must be one of {FORMATS}, got {fmt!r}")
    return fmt[0]


def _check_common(cfg: PucchConfigCommon) -> None:
    if cfg.delta_shift not in (1, 2, 3):
        raise ValueError(f"deltaPUCCH-Shift must be 1, 2 or 3, got {cfg.delta_shift}")
    if not 0 <= cfg.n_cs_an <= 7 or cfg.n_cs_an % cfg.delta_shift:
        raise ValueError(
            f"nCS-AN N_cs^(1) must be a multiple of delta_shift={cfg.delta_shift} in 0..7, got {cfg.n_cs_an}"
        )
    if cfg.n_rb_cqi < 0:
        raise ValueError(f"nRB-CQI N_RB^(2) must be >= 0, got {cfg.n_rb_cqi}")


@lru_cache(maxsize=64)
def _n_cs_cell(n_id_cell: int) -> np.ndarray:
    c = gold_sequence(n_id_cell, 8 * N_SYMB_SLOT * 20).reshape(20, N_SYMB_SLOT, 8).astype(np.int64)
    out = c @ (1 << np.arange(8))
    out.setflags(write=False)
    return out


def n_cs_cell(n_id_cell: int) -> np.ndarray:
    """Cell-specific cyclic shift n_cs^cell(n_s, l) = sum_{i=0..7} c(8 N_symb^UL n_s + 8 l + i) 2^i with
    c_init = N_ID_cell (TS 36.211 5.4). Returns (20, 7) int64, rows n_s = 0..19, columns l = 0..6 (0..255)."""
    if not 0 <= n_id_cell <= 503:
        raise ValueError(f"n_id_cell must be 0..503, got {n_id_cell}")
    return _n_cs_cell(int(n_id_cell)).copy()


def _n_prime_limit(n1: int, cfg: PucchConfigCommon) -> tuple[bool, int]:
    """(n1 in the mixed RB's cyclic shifts, N'): n1 < c N_cs^(1) / delta_shift gives N' = N_cs^(1), else 12."""
    mixed = n1 < _C * cfg.n_cs_an // cfg.delta_shift
    return mixed, (cfg.n_cs_an if mixed else N_SC_RB)


def format1_n_prime(n1_pucch: int, cfg: PucchConfigCommon) -> tuple[int, int]:
    """(n'(n_s) for an even slot, n'(n_s) for the following odd slot) of formats 1/1a/1b (TS 36.211 5.4.1).

    even: n1 if n1 < c N_cs^(1)/Dshift, else (n1 - c N_cs^(1)/Dshift) mod (c N_sc^RB / Dshift);
    odd:  [c (n'(n_s-1) + 1)] mod (c N_sc^RB / Dshift + 1) - 1 if n1 >= c N_cs^(1)/Dshift,
          else floor(h/c) + (h mod c) N'/Dshift with h = (n'(n_s-1) + d) mod (c N'/Dshift), d = 2.
    """
    _check_common(cfg)
    if n1_pucch < 0:
        raise ValueError(f"n1_PUCCH must be >= 0, got {n1_pucch}")
    ds = cfg.delta_shift
    mixed, n_p = _n_prime_limit(n1_pucch, cfg)
    if mixed:
        even = n1_pucch
        h = (even + _D) % (_C * n_p // ds)
        odd = h // _C + (h % _C) * n_p // ds
    else:
        even = (n1_pucch - _C * cfg.n_cs_an // ds) % (_C * N_SC_RB // ds)
        odd = (_C * (even + 1)) % (_C * N_SC_RB // ds + 1) - 1
    return even, odd


def format1_n_oc(n_prime: int, n1_pucch: int, cfg: PucchConfigCommon) -> int:
    """Orthogonal sequence index n_oc(n_s) = floor(n'(n_s) Dshift / N') (normal CP, 5.4.1)."""
    _, n_p = _n_prime_limit(n1_pucch, cfg)
    return n_prime * cfg.delta_shift // n_p


def _format1_rel_shift(n_prime: int, n_oc: int, n1_pucch: int, cfg: PucchConfigCommon) -> int:
    """(n' Dshift + (n_oc mod Dshift)) mod N': the resource's shift on top of n_cs^cell (5.4.1, normal CP)."""
    _, n_p = _n_prime_limit(n1_pucch, cfg)
    return (n_prime * cfg.delta_shift + n_oc % cfg.delta_shift) % n_p


def format1_m(n1_pucch: int, cfg: PucchConfigCommon) -> int:
    """PRB-pair index m of formats 1/1a/1b (TS 36.211 5.4.3): N_RB^(2) if n1 < c N_cs^(1)/Dshift, else
    floor((n1 - c N_cs^(1)/Dshift) / (c N_sc^RB/Dshift)) + N_RB^(2) + ceil(N_cs^(1)/8)."""
    _check_common(cfg)
    ds = cfg.delta_shift
    if n1_pucch < _C * cfg.n_cs_an // ds:
        return cfg.n_rb_cqi
    return (n1_pucch - _C * cfg.n_cs_an // ds) // (_C * N_SC_RB // ds) + cfg.n_rb_cqi + -(-cfg.n_cs_an // 8)


def format2_n_prime(n2_pucch: int, cfg: PucchConfigCommon) -> tuple[int, int]:
    """(n'(n_s) even slot, odd slot) of formats 2/2a/2b (TS 36.211 5.4.2):
    even: n2 mod 12 if n2 < 12 N_RB^(2), else (n2 + N_cs^(1) + 1) mod 12;
    odd:  [12 (n'(n_s-1) + 1)] mod 13 - 1 if n2 < 12 N_RB^(2), else (12 - 2 - n2) mod 12."""
    _check_common(cfg)
    if n2_pucch < 0:
        raise ValueError(f"n2_PUCCH must be >= 0, got {n2_pucch}")
    if n2_pucch < N_SC_RB * cfg.n_rb_cqi:
        even = n2_pucch % N_SC_RB
        odd = (N_SC_RB * (even + 1)) % (N_SC_RB + 1) - 1
    else:
        even = (n2_pucch + cfg.n_cs_an + 1) % N_SC_RB
        odd = (N_SC_RB - 2 - n2_pucch) % N_SC_RB
    return even, odd


def format2_m(n2_pucch: int) -> int:
    """PRB-pair index m = floor(n2_PUCCH / N_sc^RB) of formats 2/2a/2b (TS 36.211 5.4.3)."""
    return n2_pucch // N_SC_RB


def pucch_prb(m: int, n_s: int, n_rb_ul: int) -> int:
    """n_PRB = floor(m/2) if (m + n_s mod 2) mod 2 = 0, else N_RB^UL - 1 - floor(m/2) (TS 36.211 5.4.3)."""
    if not 0 <= m < n_rb_ul:
        raise ValueError(f"PUCCH PRB-pair index m={m} does not fit N_RB_UL={n_rb_ul}")
    return m // 2 if (m + n_s % 2) % 2 == 0 else n_rb_ul - 1 - m // 2


@dataclass(frozen=True)
class PucchAllocation:
    """Where one PUCCH resource sits in one subframe and which sequences it uses.

    fmt: '1', '1a', ... ; n_pucch: n1_PUCCH or n2_PUCCH; m: PRB-pair index (5.4.3);
    n_prb: (2,) PRB of slot 0 / slot 1 of the subframe; u: (2,) sequence group per slot (5.5.1.3);
    n_prime: (2,) n'(n_s); n_oc: (2,) orthogonal-sequence index (0 for format 2);
    rel_shift: (2,) shift of the resource on top of n_cs^cell (format 1: (n' Dshift + n_oc mod Dshift) mod N',
    format 2: n'); n_cs: (2, 7) int, the cyclic shift n_cs(n_s, l) of every symbol of both slots.
    """

    fmt: str
    n_pucch: int
    subframe: int
    m: int
    n_prb: tuple[int, int]
    u: tuple[int, int]
    n_prime: tuple[int, int]
    n_oc: tuple[int, int]
    rel_shift: tuple[int, int]
    n_cs: np.ndarray

    @property
    def family(self) -> str:
        """'1' for formats 1/1a/1b, '2' for 2/2a/2b."""
        return self.fmt[0]


def _check_cell_subframe(cell: UlCellConfig, subframe: int) -> None:
    if not 0 <= subframe <= 9:
        raise ValueError(f"subframe must be 0..9, got {subframe}")
    if cell.n_rb_ul < 6:
        raise ValueError(f"n_rb_ul must be >= 6, got {cell.n_rb_ul}")


def pucch_allocation(cell: UlCellConfig, subframe: int, fmt: str, n_pucch: int) -> PucchAllocation:
    """The allocation of resource n_pucch (n1_PUCCH for formats 1/1a/1b, n2_PUCCH for 2/2a/2b) in a subframe
    (TS 36.211 5.4.1-5.4.3, 5.5.1.3 with f_ss = N_ID mod 30; group hopping from pusch-ConfigCommon)."""
    family = _family(fmt)
    _check_cell_subframe(cell, subframe)
    cfg = cell.pucch
    if family == "1":
        n_prime = format1_n_prime(n_pucch, cfg)
        n_oc = tuple(format1_n_oc(p, n_pucch, cfg) for p in n_prime)
        rel = tuple(_format1_rel_shift(p, o, n_pucch, cfg) for p, o in zip(n_prime, n_oc, strict=True))
        m = format1_m(n_pucch, cfg)
    else:
        n_prime = format2_n_prime(n_pucch, cfg)
        n_oc = (0, 0)
        rel = n_prime
        m = format2_m(n_pucch)
    slots = (2 * subframe, 2 * subframe + 1)
    n_prb = tuple(pucch_prb(m, n_s, cell.n_rb_ul) for n_s in slots)
    fss = f_ss_pucch(cell.n_id_cell)
    u = tuple(sequence_group(cell.n_id_cell, n_s, cell.pusch.group_hopping, fss) for n_s in slots)
    cs_cell = _n_cs_cell(cell.n_id_cell)[list(slots)]
    n_cs = (cs_cell + np.asarray(rel)[:, None]) % N_SC_RB
    n_cs.setflags(write=False)
    return PucchAllocation(fmt, int(n_pucch), subframe, m, n_prb, u, tuple(n_prime), n_oc, tuple(rel), n_cs)


# TS 36.211 Table 5.4.1-1 (formats 1a/1b) and Table 5.4.2-1 (formats 2a/2b): bits -> modulation symbol
_BPSK = {(0,): 1.0 + 0j, (1,): -1.0 + 0j}
_QPSK = {(0, 0): 1.0 + 0j, (0, 1): -1j, (1, 0): 1j, (1, 1): -1.0 + 0j}


def _table_symbol(bits, n_bits: int, what: str) -> complex:
    bits = tuple(int(b) for b in bits)
    if len(bits) != n_bits or any(b not in (0, 1) for b in bits):
        raise ValueError(f"{what} needs {n_bits} bit(s) of 0/1, got {bits}")
    return (_BPSK if n_bits == 1 else _QPSK)[bits]


def format1_symbol(fmt: str, bits=()) -> complex:
    """d(0) of formats 1 (1: SR, no bits), 1a (BPSK) and 1b (QPSK), TS 36.211 5.4.1 and Table 5.4.1-1."""
    if fmt == "1":
        if len(bits):
            raise ValueError(f"format 1 (SR) carries no bits, got {tuple(bits)}")
        return 1.0 + 0j
    if fmt not in ("1a", "1b"):
        raise ValueError(f"format1_symbol takes format '1', '1a' or '1b', got {fmt!r}")
    return _table_symbol(bits, 1 if fmt == "1a" else 2, f"PUCCH format {fmt}")


def format2ab_symbol(fmt: str, harq_bits=()) -> complex:
    """d(10): the HARQ-ACK symbol of formats 2a (BPSK) and 2b (QPSK) on the second DMRS symbol of each slot
    (TS 36.211 Table 5.4.2-1, 5.5.2.2.1); 1 for format 2."""
    if fmt == "2":
        if len(harq_bits):
            raise ValueError(f"format 2 carries no HARQ bits, got {tuple(harq_bits)}")
        return 1.0 + 0j
    if fmt not in ("2a", "2b"):
        raise ValueError(f"format2ab_symbol takes format '2', '2a' or '2b', got {fmt!r}")
    return _table_symbol(harq_bits, 1 if fmt == "2a" else 2, f"PUCCH format {fmt} HARQ-ACK")


def cqi_encode(a_bits) -> np.ndarray:
    """Channel coding of UCI on PUCCH format 2 (TS 36.212 5.2.3.3): b_i = sum_n a_n M_{i,n} mod 2, i = 0..19,
    for A = len(a_bits) = 1..13 bits a_0 .. a_{A-1}. Returns (20,) uint8."""
    a = np.asarray(a_bits, dtype=np.int64).reshape(-1)
    if not 1 <= a.size <= CQI_MAX_BITS or np.any((a != 0) & (a != 1)):
        raise ValueError(f"CQI payload must be 1..{CQI_MAX_BITS} bits of 0/1, got {a.tolist()}")
    return ((RM_BASIS_20[:, : a.size].astype(np.int64) @ a) % 2).astype(np.uint8)


def format2_c_init(n_id_cell: int, subframe: int, rnti: int) -> int:
    """Scrambling of format 2: c_init = (floor(n_s/2) + 1)(2 N_ID_cell + 1) 2^16 + n_RNTI (TS 36.211 5.4.2)."""
    if not 0 <= rnti <= 0xFFFF:
        raise ValueError(f"rnti must be 0..65535, got {rnti}")
    return (subframe + 1) * (2 * n_id_cell + 1) * 2**16 + rnti


@lru_cache(maxsize=256)
def _sequence_table(u: int) -> np.ndarray:
    """r^(alpha)_{u,0}(n) for alpha = 2 pi n_cs / 12, n_cs = 0..11: (12, 12) complex128, read-only."""
    n = np.arange(N_SC_RB)
    tab = np.exp(2j * np.pi * np.outer(np.arange(N_SC_RB), n) / N_SC_RB) * base_sequence(u, 0, N_SC_RB)[None, :]
    tab.setflags(write=False)
    return tab


def pucch_sequences(alloc: PucchAllocation) -> np.ndarray:
    """r^(alpha(n_s, l))_{u,0}(n) for every symbol of the subframe (5.4.1, 5.4.2, 5.5.2.2.1): (14, 12) complex128,
    row 7 s + l = slot s, symbol l."""
    out = np.empty((N_SYMB_SUBFRAME, N_SC_RB), dtype=np.complex128)
    for s in (0, 1):
        out[7 * s : 7 * s + 7] = _sequence_table(alloc.u[s])[alloc.n_cs[s]]
    return out


def symbol_weights(alloc: PucchAllocation, d: np.ndarray, d10: complex = 1.0) -> np.ndarray:
    """The complex factor each symbol's sequence is multiplied by: (14,) complex128.

    formats 1/1a/1b: d = [d(0)]; data symbol m of slot s: S(n_s) w_noc(m) d(0), S = 1 if n'(n_s) even else
    exp(j pi/2) (5.4.1); DMRS symbol m: w̄_noc(m) (5.5.2.2.1). formats 2/2a/2b: d = d(0..9), data symbol m of
    slot s: d(5 s + m) (5.4.2); DMRS: w̄(m) z(m), z(1) = d(10) for 2a/2b.
    """
    d = np.asarray(d, dtype=np.complex128).reshape(-1)
    wts = np.empty(N_SYMB_SUBFRAME, dtype=np.complex128)
    if alloc.family == "1":
        for s in (0, 1):
            s_ns = 1.0 if alloc.n_prime[s] % 2 == 0 else 1j
            wts[[7 * s + l for l in DATA_SYMBOLS["1"]]] = s_ns * W_NSF4[alloc.n_oc[s]] * d[0]
            wts[[7 * s + l for l in DMRS_SYMBOLS["1"]]] = W_DMRS_FORMAT1[alloc.n_oc[s]]
    else:
        if d.size != 10:
            raise ValueError(f"format 2 needs 10 QPSK symbols d(0..9), got {d.size}")
        for s in (0, 1):
            wts[[7 * s + l for l in DATA_SYMBOLS["2"]]] = d[5 * s : 5 * s + 5]
            wts[[7 * s + l for l in DMRS_SYMBOLS["2"]]] = W_DMRS_FORMAT2 * np.array([1.0, d10])
    return wts


@dataclass(frozen=True)
class PucchSignal:
    """One UE's PUCCH in one subframe: the allocation and the (14, 12) complex128 values, row l = SC-FDMA
    symbol l of the subframe on the 12 subcarriers of PRB alloc.n_prb[l // 7]."""

    alloc: PucchAllocation
    values: np.ndarray


def pucch_signal(
    cell: UlCellConfig,
    subframe: int,
    fmt: str,
    n_pucch: int,
    *,
    bits=(),
    harq_bits=(),
    rnti: int | None = None,
    amplitude: float = 1.0,
) -> PucchSignal:
    """Build the PUCCH (data and DMRS) of one UE in one subframe (TS 36.211 5.4, 5.5.2.2).

    bits: formats 1a/1b: the HARQ-ACK bit(s) b(0) [, b(1)] (1 = ACK); format 1: none (SR);
          formats 2/2a/2b: the CQI payload a_0 .. a_{A-1} (1..13 bits; coded here, 36.212 5.2.3.3).
    harq_bits: formats 2a/2b: the HARQ-ACK bit(s) carried by d(10). rnti: C-RNTI (formats 2/2a/2b).
    amplitude: beta_PUCCH, the RE amplitude (unit-modulus REs for 1.0).
    """
    family = _family(fmt)
    alloc = pucch_allocation(cell, subframe, fmt, n_pucch)
    if family == "1":
        if len(harq_bits):
            raise ValueError(f"harq_bits are for formats 2a/2b; format {fmt} carries HARQ-ACK in bits")
        d = np.array([format1_symbol(fmt, bits)])
        d10 = 1.0
    else:
        if rnti is None:
            raise ValueError("formats 2/2a/2b need the UE's rnti (scrambling, 36.211 5.4.2)")
        coded = scramble_bits(cqi_encode(bits), format2_c_init(cell.n_id_cell, subframe, rnti))
        d = modulate(coded, 2).astype(np.complex128)
        d10 = format2ab_symbol(fmt, harq_bits)
    values = amplitude * symbol_weights(alloc, d, d10)[:, None] * pucch_sequences(alloc)
    values.setflags(write=False)
    return PucchSignal(alloc, values)


def pucch_put(grid: np.ndarray, signal: PucchSignal) -> None:
    """Write the PUCCH into an uplink grid (..., 14, 12 N_RB_UL) in place: slot s on PRB alloc.n_prb[s]
    (TS 36.211 5.4.3). The resource elements are overwritten, not added."""
    n_sc = grid.shape[-1]
    for s in (0, 1):
        k0 = N_SC_RB * signal.alloc.n_prb[s]
        if k0 + N_SC_RB > n_sc:
            raise ValueError(f"PRB {signal.alloc.n_prb[s]} outside a grid of {n_sc // N_SC_RB} PRBs")
        grid[..., 7 * s : 7 * s + 7, k0 : k0 + N_SC_RB] = signal.values[7 * s : 7 * s + 7]


def pucch_extract(grid: np.ndarray, n_prb: tuple[int, int]) -> np.ndarray:
    """The PUCCH PRB of each slot: grid (..., 14, 12 N_RB_UL) -> (..., 14, 12), rows 0..6 from PRB n_prb[0],
    rows 7..13 from PRB n_prb[1]."""
    grid = np.asarray(grid)
    k0, k1 = (N_SC_RB * p for p in n_prb)
    return np.concatenate([grid[..., 0:7, k0 : k0 + N_SC_RB], grid[..., 7:14, k1 : k1 + N_SC_RB]], axis=-2)


def harq_n1_pucch(n_cce: int, n1_pucch_an: int) -> int:
    """Dynamic HARQ-ACK resource for a PDSCH scheduled by a PDCCH whose first CCE is n_CCE (FDD):
    n1_PUCCH = n_CCE + N^(1)_PUCCH (TS 36.213 10.1.2.1)."""
    if n_cce < 0 or n1_pucch_an < 0:
        raise ValueError(f"n_cce and N1_PUCCH must be >= 0, got {n_cce}, {n1_pucch_an}")
    return n_cce + n1_pucch_an


def harq_resource(n_cce: int, cfg: PucchConfigCommon, *, sr: bool = False, n1_pucch_sr: int | None = None) -> int:
    """The format 1a/1b resource a UE uses for HARQ-ACK (TS 36.213 10.1): the dynamic resource n_CCE +
    N^(1)_PUCCH, or, in a subframe where it also sends a positive scheduling request, its SR resource
    n_PUCCH,SRI^(1) (10.1, FDD: HARQ-ACK is then transmitted on the SR resource)."""
    if sr:
        if n1_pucch_sr is None:
            raise ValueError("a positive SR needs the UE's SR resource n1_pucch_sr (sr-PUCCH-ResourceIndex)")
        return int(n1_pucch_sr)
    return harq_n1_pucch(n_cce, cfg.n1_pucch_an)


# TS 36.213 Table 10.1.5-1: sr-ConfigIndex I_SR -> (SR periodicity in ms, subframe offset N_OFFSET,SR)
_SR_TABLE = ((0, 4, 5), (5, 14, 10), (15, 34, 20), (35, 74, 40), (75, 154, 80), (155, 156, 2), (157, 157, 1))


def sr_periodicity_offset(i_sr: int) -> tuple[int, int]:
    """(SR_PERIODICITY ms, N_OFFSET,SR) of sr-ConfigIndex I_SR = 0..157 (TS 36.213 Table 10.1.5-1)."""
    for lo, hi, period in _SR_TABLE:
        if lo <= i_sr <= hi:
            return period, i_sr - lo
    raise ValueError(f"sr-ConfigIndex I_SR must be 0..157, got {i_sr}")


def is_sr_occasion(i_sr: int, sfn: int, subframe: int) -> bool:
    """True in the subframes where the UE may send an SR on its resource n_PUCCH,SRI^(1):
    (10 n_f + floor(n_s / 2) - N_OFFSET,SR) mod SR_PERIODICITY = 0 (TS 36.213 10.1.5)."""
    period, offset = sr_periodicity_offset(i_sr)
    if not 0 <= subframe <= 9 or not 0 <= sfn <= 1023:
        raise ValueError(f"sfn must be 0..1023 and subframe 0..9, got {sfn}, {subframe}")
    return (10 * sfn + subframe - offset) % period == 0
