"""Physical uplink shared channel and its UL-SCH transport channel coding (TS 36.212 5.2.2, TS 36.211 5.3,
5.5.2.1), both directions, one codeword, one layer, normal CP, no SRS, frequency hopping off.

Transmit (`ulsch_encode`, `pusch_symbols`, `pusch_map`): transport block CRC24A, code block segmentation,
turbo coding, rate matching (N_cb = K_w for the UL-SCH) and code block concatenation, done by the DL-SCH
chain of phy/channels/pdsch.py (`dlsch_encode` with n_soft=None; 5.2.2.1-5.2.2.5) -> channel coding of the
control information (5.2.2.6: HARQ-ACK and RI 1 or 2 bits with the placeholders x / y, CQI by the (32, O)
block code for O <= 11 or CRC8 + tail-biting convolutional code + rate matching for O > 11; Q' from the
beta offsets of TS 36.213 8.6.3) -> data and control multiplexing (5.2.2.7) -> channel interleaver with
RI and HARQ-ACK placement (5.2.2.8) -> scrambling with the placeholder rules (36.211 5.3.1) -> modulation
(5.3.2) -> transform precoding (5.3.3) -> mapping to the granted PRBs in every SC-FDMA symbol except the
DMRS symbols 3 and 10 (5.3.4), the DMRS of 5.5.2.1 in those.

Receive (`pusch_llr_to_ulsch`, `ulsch_decode`): descrambling, channel de-interleaving, de-multiplexing of
the HARQ-ACK, RI and CQI soft bits (decoded by correlation with their codewords, CQI > 11 bits by Viterbi
and CRC8), rate de-matching with HARQ soft combining and turbo decoding (`dlsch_decode`), CRC24A.

Grants: `PuschGrant` from a DCI format 0 (`grant_from_dci0`): UL resource allocation type 0 (TS 36.213
8.1.1, the RIV over N_RB_UL), I_MCS of Table 8.6.1-1 (Q_m, I_TBS, RV), TBS of phy/tbs.py.
Coded bits with placeholders are int8: 0, 1, PH_X (x: scrambled to 1), PH_Y (y: repeats the previous
scrambled bit).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from ..dci import Dci0
from ..fec.convolutional import tbcc_decode, tbcc_encode
from ..fec.crc import crc_attach, crc_check
from ..fec.ratematch import rate_dematch_conv, rate_match_conv
from ..fec.segmentation import segment
from ..modulation import modulate
from ..numerology import N_SC_RB, N_SYMB_SUBFRAME
from ..resource_allocation import riv_decode
from ..sequences import gold_sequence_cached
from ..tbs import tbs as tbs_lookup
from ..ul_refsig import PUSCH_DMRS_SYMBOLS, pusch_dmrs
from .pdsch import DlschResult, dlsch_decode, dlsch_encode

__all__ = [
    "PH_X",
    "PH_Y",
    "N_SYMB_PUSCH",
    "PUSCH_DATA_SYMBOLS",
    "BETA_ACK",
    "BETA_RI",
    "BETA_CQI",
    "CQI_BASIS",
    "ul_mcs",
    "valid_pusch_n_prb",
    "PuschGrant",
    "UciConfig",
    "UlschResult",
    "grant_from_dci0",
    "pusch_c_init",
    "q_prime_ack_ri",
    "q_prime_cqi",
    "encode_ack_ri",
    "encode_cqi",
    "ulsch_encode",
    "pusch_scramble",
    "pusch_symbols",
    "transform_precode",
    "transform_deprecode",
    "pusch_map",
    "pusch_llr_to_ulsch",
    "ulsch_decode",
]

PH_X = 2  # "x" placeholder of 5.2.2.6 (scrambled to 1, 36.211 5.3.1)
PH_Y = 3  # "y" repetition placeholder (scrambled to the previous scrambled bit)
N_SYMB_PUSCH = 12  # N_symb^PUSCH = 2 (N_symb^UL - 1), normal CP, no SRS (TS 36.212 5.2.2.6)
PUSCH_DATA_SYMBOLS = tuple(lsym for lsym in range(N_SYMB_SUBFRAME) if lsym not in PUSCH_DMRS_SYMBOLS)
# TS 36.212 5.2.2.8, normal CP: column sets for RI and HARQ-ACK insertion, visited in order j = 0, 3, 2, 1
_RI_COLUMNS = (1, 4, 7, 10)
_ACK_COLUMNS = (2, 3, 8, 9)

# TS 36.213 Table 8.6.3-1 (I_offset^HARQ-ACK 0..14), 8.6.3-2 (I_offset^RI 0..12), 8.6.3-3 (I_offset^CQI 2..15;
# indices 0, 1 reserved: None)
BETA_ACK = (2.0, 2.5, 3.125, 4.0, 5.0, 6.25, 8.0, 10.0, 12.625, 15.875, 20.0, 31.0, 50.0, 80.0, 126.0)
BETA_RI = (1.25, 1.625, 2.0, 2.5, 3.125, 4.0, 5.0, 6.25, 8.0, 10.0, 12.625, 15.875, 20.0)
BETA_CQI = (None, None, 1.125, 1.25, 1.375, 1.625, 1.75, 2.0, 2.25, 2.5, 2.875, 3.125, 3.5, 4.0, 5.0, 6.25)

# TS 36.212 Table 5.2.2.6.4-1: basis sequences M_{i,n} of the (32, O) code, i = 0..31, n = 0..10
CQI_BASIS = np.array(
    [
        [1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1],
        [1, 1, 1, 0, 0, 0, 0, 0, 0, 1, 1],
        [1, 0, 0, 1, 0, 0, 1, 0, 1, 1, 1],
        [1, 0, 1, 1, 0, 0, 0, 0, 1, 0, 1],
        [1, 1, 1, 1, 0, 0, 0, 1, 0, 0, 1],
        [1, 1, 0, 0, 1, 0, 1, 1, 1, 0, 1],
        [1, 0, 1, 0, 1, 0, 1, 0, 1, 1, 1],
        [1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 1],
        [1, 1, 0, 1, 1, 0, 0, 1, 0, 1, 1],
        [1, 0, 1, 1, 1, 0, 1, 0, 0, 1, 1],
        [1, 0, 1, 0, 0, 1, 1, 1, 0, 1, 1],
        [1, 1, 1, 0, 0, 1, 1, 0, 1, 0, 1],
        [1, 0, 0, 1, 0, 1, 0, 1, 1, 1, 1],
        [1, 1, 0, 1, 0, 1, 0, 1, 0, 1, 1],
        [1, 0, 0, 0, 1, 1, 0, 1, 0, 0, 1],
        [1, 1, 0, 0, 1, 1, 1, 1, 0, 1, 1],
        [1, 1, 1, 0, 1, 1, 1, 0, 0, 1, 0],
        [1, 0, 0, 1, 1, 1, 0, 0, 1, 0, 0],
        [1, 1, 0, 1, 1, 1, 1, 1, 0, 0, 0],
        [1, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0],
        [1, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1],
        [1, 1, 0, 1, 0, 0, 0, 0, 0, 1, 1],
        [1, 0, 0, 0, 1, 0, 0, 1, 1, 0, 1],
        [1, 1, 1, 0, 1, 0, 0, 0, 1, 1, 1],
        [1, 1, 1, 1, 1, 0, 1, 1, 1, 1, 0],
        [1, 1, 0, 0, 0, 1, 1, 1, 0, 0, 1],
        [1, 0, 1, 1, 0, 1, 0, 0, 1, 1, 0],
        [1, 1, 1, 1, 0, 1, 0, 1, 1, 1, 0],
        [1, 0, 1, 0, 1, 1, 1, 0, 1, 0, 0],
        [1, 0, 1, 1, 1, 1, 1, 1, 1, 0, 0],
        [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1],
        [1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
    ],
    dtype=np.uint8,
)
CQI_BASIS.setflags(write=False)


def ul_mcs(i_mcs: int, enable_64qam: bool = False) -> tuple[int, int | None, int]:
    """(Q_m, I_TBS, RV) of I_MCS 0..31 (TS 36.213 Table 8.6.1-1, 8.6.1).

    0..10: QPSK, I_TBS = I_MCS; 11..20: 16QAM, I_MCS - 1; 21..28: 64QAM, I_MCS - 2 (16QAM unless the UE
    is configured for 64QAM: Q_m = min(4, Q'_m)); RV 0. 29, 30, 31: retransmission with RV 1, 2, 3, the
    modulation and TBS of the earlier transmission (I_TBS None, Q_m 0 = "keep").
    """
    if not 0 <= i_mcs <= 31:
        raise ValueError(f"I_MCS must be 0..31, got {i_mcs}")
    if i_mcs >= 29:
        return 0, None, i_mcs - 28
    if i_mcs <= 10:
        return 2, i_mcs, 0
    if i_mcs <= 20:
        return 4, i_mcs - 1, 0
    return (6 if enable_64qam else 4), i_mcs - 2, 0


def valid_pusch_n_prb(n_prb: int) -> bool:
    """M_RB^PUSCH = 2^a 3^b 5^c (TS 36.211 5.3.3): the DFT sizes the uplink allows."""
    if n_prb < 1:
        return False
    for p in (2, 3, 5):
        while n_prb % p == 0:
            n_prb //= p
    return n_prb == 1


@dataclass(frozen=True)
class PuschGrant:
    """What one PUSCH transmission occupies and carries.

    prb_start, n_prb: contiguous PRBs (type 0, no hopping); tbs: transport block size (bits); q_m: 2, 4, 6;
    rv: redundancy version; rnti: n_RNTI of the scrambling; n_dmrs2_field: the DCI's cyclic shift for
    DMRS field 0..7 (Table 5.5.2.1.1-1).
    """

    prb_start: int
    n_prb: int
    tbs: int
    q_m: int
    rv: int
    rnti: int
    n_dmrs2_field: int = 0

    def __post_init__(self) -> None:
        if not valid_pusch_n_prb(self.n_prb):
            raise ValueError(f"PUSCH n_prb must be 2^a 3^b 5^c (TS 36.211 5.3.3), got {self.n_prb}")
        if self.q_m not in (2, 4, 6):
            raise ValueError(f"q_m must be 2, 4 or 6, got {self.q_m}")
        if self.rv not in (0, 1, 2, 3):
            raise ValueError(f"rv must be 0..3, got {self.rv}")
        if self.tbs < 1 or self.prb_start < 0:
            raise ValueError(f"need tbs >= 1 and prb_start >= 0, got {self.tbs}, {self.prb_start}")

    @property
    def m_sc(self) -> int:
        """M_sc^PUSCH = 12 n_prb subcarriers."""
        return N_SC_RB * self.n_prb


@dataclass(frozen=True)
class UciConfig:
    """Uplink control information multiplexed on the PUSCH (TS 36.212 5.2.2.6) and its beta offset indices
    (TS 36.213 8.6.3; betaOffset-ACK-Index, -RI-Index, -CQI-Index of RRC).

    ack: 0, 1 or 2 HARQ-ACK bits (1 = ACK); ri: 0, 1 or 2 RI bits; cqi: 0 or more CQI/PMI bits.
    """

    ack: tuple[int, ...] = ()
    ri: tuple[int, ...] = ()
    cqi: tuple[int, ...] = ()
    beta_ack_index: int = 0
    beta_ri_index: int = 0
    beta_cqi_index: int = 2

    def __post_init__(self) -> None:
        if len(self.ack) > 2 or len(self.ri) > 2:
            raise ValueError("HARQ-ACK and RI on PUSCH carry 0, 1 or 2 bits here (FDD, up to 2 codewords)")
        if any(b not in (0, 1) for b in (*self.ack, *self.ri, *self.cqi)):
            raise ValueError("UCI bits must be 0 or 1")
        if not 0 <= self.beta_ack_index < len(BETA_ACK):
            raise ValueError(f"beta_ack_index must be 0..{len(BETA_ACK) - 1}, got {self.beta_ack_index}")
        if not 0 <= self.beta_ri_index < len(BETA_RI):
            raise ValueError(f"beta_ri_index must be 0..{len(BETA_RI) - 1}, got {self.beta_ri_index}")
        if not 2 <= self.beta_cqi_index < len(BETA_CQI):
            raise ValueError(f"beta_cqi_index must be 2..15 (0, 1 reserved), got {self.beta_cqi_index}")

    def shape(self) -> UciConfig:
        """The same configuration with all bits 0: what a receiver knows before decoding."""
        return UciConfig(
            (0,) * len(self.ack), (0,) * len(self.ri), (0,) * len(self.cqi),
            self.beta_ack_index, self.beta_ri_index, self.beta_cqi_index,
        )  # fmt: skip


@dataclass
class UlschResult:
    """Decoded PUSCH: bits (TBS,) uint8, crc_ok; ack / ri bits (tuple of 0/1, empty when none configured);
    cqi bits and cqi_ok (CRC8 for O > 11; True for the block code); soft_buffers for a retransmission."""

    bits: np.ndarray
    crc_ok: bool
    ack: tuple[int, ...] = ()
    ri: tuple[int, ...] = ()
    cqi: tuple[int, ...] = ()
    cqi_ok: bool = True
    soft_buffers: list[np.ndarray] = field(default_factory=list)


def grant_from_dci0(
    dci: Dci0, n_rb_ul: int, rnti: int, tbs_first: int | None = None, q_m_first: int | None = None,
    enable_64qam: bool = False,
) -> PuschGrant:  # fmt: skip
    """PuschGrant of a DCI format 0 without hopping (TS 36.213 8.1.1 type 0 allocation, 8.6.1 MCS, 8.6.2 TBS).

    I_MCS 29..31 (retransmission, RV 1..3) need the first transmission's TBS and Q_m (`tbs_first`,
    `q_m_first`).
    """
    if dci.hopping:
        raise ValueError("PUSCH frequency hopping is not supported: send DCI 0 with hopping = 0")
    rb_start, l_crbs = riv_decode(dci.rb_assignment, n_rb_ul)
    q_m, i_tbs, rv = ul_mcs(dci.mcs_rv, enable_64qam)
    if i_tbs is None:
        if tbs_first is None or q_m_first is None:
            raise ValueError(f"I_MCS {dci.mcs_rv} is a retransmission: give tbs_first and q_m_first")
        return PuschGrant(rb_start, l_crbs, int(tbs_first), int(q_m_first), rv, rnti, dci.cyclic_shift_dmrs)
    return PuschGrant(rb_start, l_crbs, tbs_lookup(i_tbs, l_crbs), q_m, rv, rnti, dci.cyclic_shift_dmrs)


def pusch_c_init(rnti: int, n_id_cell: int, subframe: int) -> int:
    """c_init = n_RNTI 2^14 + floor(n_s / 2) 2^9 + N_ID_cell (TS 36.211 5.3.1)."""
    return int(rnti) * 2**14 + int(subframe) * 2**9 + int(n_id_cell)


def _sum_k(tbs_bits: int) -> int:
    """sum_r K_r of the transport block's code blocks (TS 36.212 5.2.2.6)."""
    return sum(segment(tbs_bits + 24).block_sizes)


def q_prime_ack_ri(o: int, beta: float, m_sc: int, tbs_bits: int) -> int:
    """Q' = min(ceil(O M_sc N_symb beta / sum K_r), 4 M_sc) coded symbols of HARQ-ACK or RI (5.2.2.6)."""
    if o == 0:
        return 0
    return min(math.ceil(o * m_sc * N_SYMB_PUSCH * beta / _sum_k(tbs_bits)), 4 * m_sc)


def q_prime_cqi(o: int, beta: float, m_sc: int, tbs_bits: int, q_prime_ri: int) -> int:
    """Q' = min(ceil((O + L) M_sc N_symb beta / sum K_r), M_sc N_symb - Q'_RI), L = 0 for O <= 11, else 8
    (5.2.2.6)."""
    if o == 0:
        return 0
    lcrc = 0 if o <= 11 else 8
    return min(math.ceil((o + lcrc) * m_sc * N_SYMB_PUSCH * beta / _sum_k(tbs_bits)), m_sc * N_SYMB_PUSCH - q_prime_ri)


def encode_ack_ri(bits: tuple[int, ...], q_m: int, n_coded: int) -> np.ndarray:
    """Coded HARQ-ACK or RI bits q_0 .. q_{Q-1} with placeholders (TS 36.212 5.2.2.6, 1 or 2 bits).

    1 bit: [o, y, x, ...] padded with x to Q_m; 2 bits: [o0 o1 o2 o0 o1 o2] with o2 = o0 XOR o1, each
    Q_m-bit group as [2 bits, x ...]; the block is repeated (the last one partial) to n_coded bits.
    Returns (n_coded,) int8.
    """
    if len(bits) == 1:
        block = [bits[0], PH_Y] + [PH_X] * (q_m - 2)
    elif len(bits) == 2:
        o = (bits[0], bits[1], bits[0] ^ bits[1])
        seq = [o[0], o[1], o[2], o[0], o[1], o[2]]
        block = []
        for pair in range(3):
            block += seq[2 * pair : 2 * pair + 2] + [PH_X] * (q_m - 2)
    else:
        raise ValueError(f"HARQ-ACK / RI on PUSCH is 1 or 2 bits here, got {len(bits)}")
    block = np.array(block, dtype=np.int8)
    return np.resize(block, n_coded)


@lru_cache(maxsize=16)
def _cqi_codewords(o: int) -> np.ndarray:
    """All 2^O codewords of the (32, O) code, row w = payload with o_0 the MSB of w: (2^O, 32) uint8."""
    words = (np.arange(1 << o)[:, None] >> np.arange(o - 1, -1, -1)[None, :]) & 1
    cw = (words @ CQI_BASIS[:, :o].T.astype(np.int64)) % 2
    cw = cw.astype(np.uint8)
    cw.setflags(write=False)
    return cw


def encode_cqi(bits: tuple[int, ...], n_coded: int) -> np.ndarray:
    """Coded CQI/PMI bits q_0 .. q_{Q_CQI-1} (TS 36.212 5.2.2.6.4): O <= 11 the (32, O) block code
    b_i = sum_n o_n M_{i,n} mod 2 repeated cyclically; O > 11: CRC8 (5.1.1), tail-biting convolutional code
    (5.1.3.1) and its rate matching (5.1.4.2) to n_coded bits. Returns (n_coded,) int8."""
    o = np.asarray(bits, dtype=np.uint8)
    if o.size <= 11:
        b = (CQI_BASIS[:, : o.size].astype(np.int64) @ o.astype(np.int64)) % 2
        return np.resize(b.astype(np.int8), n_coded)
    return rate_match_conv(tbcc_encode(crc_attach(o, "8")), n_coded).astype(np.int8)


@lru_cache(maxsize=256)
def _interleaver(h_prime: int, q_ri: int, q_ack: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Channel interleaver (TS 36.212 5.2.2.8) as a map. The (R'_mux, C_mux) matrix of Q_m-bit vectors read
    column by column has, at output vector p, source[p]: 0 .. H'-1 = multiplexed vector g_i, H' .. H'+Q'_RI-1
    = RI vector, H'+Q'_RI .. = HARQ-ACK vector. Also returns the g indices punctured by HARQ-ACK and the
    inverse map (output position of every source id; 0 for the punctured ones)."""
    c_mux = N_SYMB_PUSCH
    h_total = h_prime + q_ri
    if h_total % c_mux:
        raise ValueError(f"H'' = {h_total} is not a multiple of C_mux = {c_mux}")
    r_mux = h_total // c_mux
    if q_ri > 4 * r_mux or q_ack > 4 * r_mux:
        raise ValueError(f"Q'_RI = {q_ri} or Q'_ACK = {q_ack} exceeds 4 M_sc = {4 * r_mux}")
    mat = np.full((r_mux, c_mux), -1, dtype=np.int64)
    order = (0, 3, 2, 1)  # j = (j + 3) mod 4
    for i in range(q_ri):
        mat[r_mux - 1 - i // 4, _RI_COLUMNS[order[i % 4]]] = h_prime + i
    free = mat.reshape(-1) < 0  # row by row, skipping the RI entries
    flat = mat.reshape(-1)
    flat[np.flatnonzero(free)[:h_prime]] = np.arange(h_prime)
    punctured = []
    for i in range(q_ack):
        r, c = r_mux - 1 - i // 4, _ACK_COLUMNS[order[i % 4]]
        if mat[r, c] < h_prime:
            punctured.append(mat[r, c])
        mat[r, c] = h_prime + q_ri + i
    source = mat.T.reshape(-1).copy()  # read out column by column
    punct = np.array(punctured, dtype=np.int64)
    inverse = np.zeros(h_prime + q_ri + q_ack, dtype=np.int64)
    inverse[source] = np.arange(source.size)  # g vectors punctured by HARQ-ACK keep a dummy 0
    for a in (source, punct, inverse):
        a.setflags(write=False)
    return source, punct, inverse


@dataclass(frozen=True)
class _Layout:
    """Sizes of one PUSCH: Q' of each control type, G (data bits), H' and the interleaver map."""

    q_m: int
    q_ack: int
    q_ri: int
    q_cqi: int
    g: int
    source: np.ndarray
    punctured: np.ndarray
    inverse: np.ndarray


def _layout(grant: PuschGrant, uci: UciConfig | None) -> _Layout:
    uci = uci or UciConfig()
    m_sc, q_m = grant.m_sc, grant.q_m
    q_ack = q_prime_ack_ri(len(uci.ack), BETA_ACK[uci.beta_ack_index], m_sc, grant.tbs)
    q_ri = q_prime_ack_ri(len(uci.ri), BETA_RI[uci.beta_ri_index], m_sc, grant.tbs)
    q_cqi = q_prime_cqi(len(uci.cqi), BETA_CQI[uci.beta_cqi_index], m_sc, grant.tbs, q_ri)
    h_prime_data = m_sc * N_SYMB_PUSCH - q_ri - q_cqi
    if h_prime_data <= 0:
        raise ValueError("control information leaves no room for UL-SCH data in this grant")
    source, punct, inverse = _interleaver(h_prime_data + q_cqi, q_ri, q_ack)
    return _Layout(q_m, q_ack, q_ri, q_cqi, h_prime_data * q_m, source, punct, inverse)


def ulsch_encode(tb_bits: np.ndarray, grant: PuschGrant, uci: UciConfig | None = None) -> np.ndarray:
    """UL-SCH with control information to the interleaved coded bits h (TS 36.212 5.2.2).

    tb_bits: (grant.tbs,) 0/1. Returns (12 M_sc Q_m,) int8 with the placeholders PH_X / PH_Y.
    """
    tb_bits = np.asarray(tb_bits, dtype=np.uint8)
    if tb_bits.shape != (grant.tbs,):
        raise ValueError(f"transport block must have TBS = {grant.tbs} bits, got shape {tb_bits.shape}")
    uci = uci or UciConfig()
    lay = _layout(grant, uci)
    q_m = lay.q_m
    f = dlsch_encode(tb_bits, lay.g, q_m, grant.rv, n_l=1, n_soft=None)  # 5.2.2.1-5.2.2.5, N_cb = K_w
    parts = [f.astype(np.int8)]
    if lay.q_cqi:
        parts.insert(0, encode_cqi(uci.cqi, lay.q_cqi * q_m))  # 5.2.2.7: CQI first, then data
    g_vec = np.concatenate(parts).reshape(-1, q_m)
    vectors = [g_vec]
    if lay.q_ri:
        vectors.append(encode_ack_ri(uci.ri, q_m, lay.q_ri * q_m).reshape(-1, q_m))
    if lay.q_ack:
        vectors.append(encode_ack_ri(uci.ack, q_m, lay.q_ack * q_m).reshape(-1, q_m))
    return np.concatenate(vectors)[lay.source].reshape(-1)


def pusch_scramble(h: np.ndarray, rnti: int, n_id_cell: int, subframe: int) -> np.ndarray:
    """Scrambling with the placeholder rules (TS 36.211 5.3.1): x -> 1, y -> the previous scrambled bit,
    else b XOR c. h: (M_bit,) int8 -> (M_bit,) uint8."""
    h = np.asarray(h, dtype=np.int8)
    c = gold_sequence_cached(pusch_c_init(rnti, n_id_cell, subframe), h.size)
    out = (h.astype(np.uint8) & 1) ^ c
    y = np.flatnonzero(h == PH_Y)
    out[y] = out[y - 1]  # a y always follows an HARQ-ACK / RI information bit
    out[h == PH_X] = 1
    return out


def transform_precode(d: np.ndarray, m_sc: int) -> np.ndarray:
    """z(l M + k) = 1/sqrt(M) sum_i d(l M + i) exp(-j 2 pi i k / M) (TS 36.211 5.3.3):
    (12 M,) -> (12, M) complex64."""
    return (np.fft.fft(np.asarray(d).reshape(-1, m_sc), axis=-1) / np.sqrt(m_sc)).astype(np.complex64)


def transform_deprecode(z: np.ndarray) -> np.ndarray:
    """Inverse of transform_precode: (..., M) frequency samples -> (..., M) complex64 time symbols."""
    z = np.asarray(z)
    return (np.fft.ifft(z, axis=-1) * np.sqrt(z.shape[-1])).astype(np.complex64)


def pusch_symbols(
    tb_bits: np.ndarray, grant: PuschGrant, n_id_cell: int, subframe: int, uci: UciConfig | None = None
) -> np.ndarray:
    """UL-SCH coding, scrambling, modulation and transform precoding: (12, M_sc) complex64 for the 12
    PUSCH data symbols (PUSCH_DATA_SYMBOLS)."""
    h = ulsch_encode(tb_bits, grant, uci)
    d = modulate(pusch_scramble(h, grant.rnti, n_id_cell, subframe), grant.q_m)
    return transform_precode(d, grant.m_sc)


def pusch_map(
    grid: np.ndarray,
    tb_bits: np.ndarray,
    grant: PuschGrant,
    n_id_cell: int,
    subframe: int,
    *,
    uci: UciConfig | None = None,
    group_hopping: bool = False,
    sequence_hopping: bool = False,
    delta_ss: int = 0,
    cyclic_shift: int = 0,
) -> None:
    """Write one PUSCH (data and DMRS, beta = 1) into an uplink grid (14, 12 n_rb_ul) in place
    (TS 36.211 5.3.4, 5.5.2.1.2). The reference-signal settings are SIB2's pusch-ConfigCommon."""
    n_sc = grid.shape[-1]
    k0 = N_SC_RB * grant.prb_start
    if grid.shape[-2:] != (N_SYMB_SUBFRAME, n_sc) or k0 + grant.m_sc > n_sc:
        last = grant.prb_start + grant.n_prb - 1
        raise ValueError(f"grant PRBs {grant.prb_start}..{last} exceed the grid {grid.shape}")
    z = pusch_symbols(tb_bits, grant, n_id_cell, subframe, uci)
    grid[list(PUSCH_DATA_SYMBOLS), k0 : k0 + grant.m_sc] = z
    grid[list(PUSCH_DMRS_SYMBOLS), k0 : k0 + grant.m_sc] = pusch_dmrs(
        n_id_cell, subframe, grant.n_prb, group_hopping=group_hopping, sequence_hopping=sequence_hopping,
        delta_ss=delta_ss, cyclic_shift=cyclic_shift, n_dmrs2_field=grant.n_dmrs2_field,
    )  # fmt: skip


def _control_metric(llr: np.ndarray, c: np.ndarray, candidates: np.ndarray) -> np.ndarray:
    """Correlation of scrambled-domain LLRs (positive = bit 0) with candidate codewords with placeholders:
    candidates (n_cand, Q) int8 -> (n_cand,) float. x positions carry nothing; a y position carries the
    previous information bit scrambled with the previous c."""
    eff = candidates.astype(np.int64) & 1
    c_eff = np.broadcast_to(c.astype(np.int64), candidates.shape).copy()
    is_y = candidates == PH_Y
    rows, cols = np.nonzero(is_y)
    eff[rows, cols] = eff[rows, cols - 1]
    c_eff[rows, cols] = c_eff[rows, cols - 1]
    sign = 1.0 - 2.0 * (eff ^ c_eff)
    sign[candidates == PH_X] = 0.0
    return sign @ llr.astype(np.float64)


def _decode_small(llr: np.ndarray, c: np.ndarray, n_bits: int, q_m: int) -> tuple[int, ...]:
    """ML decoding of 1 or 2 HARQ-ACK / RI bits from their scrambled-domain LLRs."""
    cands = [tuple((w >> (n_bits - 1 - i)) & 1 for i in range(n_bits)) for w in range(1 << n_bits)]
    cw = np.stack([encode_ack_ri(cand, q_m, llr.size) for cand in cands])
    return cands[int(np.argmax(_control_metric(llr, c, cw)))]


def _decode_cqi(llr: np.ndarray, o: int) -> tuple[tuple[int, ...], bool]:
    """CQI bits from their descrambled LLRs (positive = bit 0): (32, O) code by correlation with all
    codewords after folding the repetitions; O > 11 by rate de-matching, Viterbi and CRC8."""
    if o <= 11:
        folded = np.zeros(32)
        np.add.at(folded, np.arange(llr.size) % 32, llr)
        metric = (1.0 - 2.0 * _cqi_codewords(o)) @ folded
        w = int(np.argmax(metric))
        return tuple((w >> (o - 1 - i)) & 1 for i in range(o)), True
    bits = tbcc_decode(rate_dematch_conv(llr, o + 8))
    return tuple(int(b) for b in bits[:o]), bool(crc_check(bits, "8"))


def pusch_llr_to_ulsch(
    llr: np.ndarray, grant: PuschGrant, n_id_cell: int, subframe: int, uci: UciConfig | None = None
) -> tuple[np.ndarray, tuple[int, ...], tuple[int, ...], tuple[tuple[int, ...], bool]]:
    """Scrambled-domain LLRs (12 M_sc Q_m,) of the PUSCH (positive = bit 0, in transmit order) ->
    (descrambled data LLRs (G,) float32 with HARQ-ACK-punctured positions zeroed, ack bits, ri bits,
    (cqi bits, cqi_ok)). Inverse of 5.2.2.6-5.2.2.8 and 36.211 5.3.1."""
    uci = uci or UciConfig()
    lay = _layout(grant, uci)
    q_m = lay.q_m
    llr = np.asarray(llr, dtype=np.float32)
    if llr.size != lay.source.size * q_m:
        raise ValueError(f"need {lay.source.size * q_m} LLRs for this grant, got {llr.size}")
    c = gold_sequence_cached(pusch_c_init(grant.rnti, n_id_cell, subframe), llr.size)
    llr_v = llr.reshape(-1, q_m)
    c_v = c.reshape(-1, q_m)
    h_prime = lay.source.size - lay.q_ri
    inv = lay.inverse
    g_pos = inv[:h_prime]
    descrambled = np.where(c_v == 1, -llr_v, llr_v)
    g_llr = descrambled[g_pos]  # de-interleaved
    if lay.punctured.size:
        g_llr[lay.punctured] = 0.0  # overwritten by HARQ-ACK: no information about these data bits
    ack: tuple[int, ...] = ()
    ri: tuple[int, ...] = ()
    if lay.q_ack:
        pos = inv[h_prime + lay.q_ri :]
        ack = _decode_small(llr_v[pos].reshape(-1), c_v[pos].reshape(-1), len(uci.ack), q_m)
    if lay.q_ri:
        pos = inv[h_prime : h_prime + lay.q_ri]
        ri = _decode_small(llr_v[pos].reshape(-1), c_v[pos].reshape(-1), len(uci.ri), q_m)
    cqi: tuple[tuple[int, ...], bool] = ((), True)
    if lay.q_cqi:
        cqi = _decode_cqi(g_llr[: lay.q_cqi].reshape(-1), len(uci.cqi))
    data = g_llr[lay.q_cqi :].reshape(-1).astype(np.float32)
    return data, ack, ri, cqi


def ulsch_decode(
    llr: np.ndarray,
    grant: PuschGrant,
    n_id_cell: int,
    subframe: int,
    uci: UciConfig | None = None,
    soft_buffers: list[np.ndarray] | None = None,
    n_iter: int = 8,
) -> UlschResult:
    """Decode one PUSCH from its scrambled-domain LLRs (12 M_sc Q_m,) float (positive = bit 0): control
    information, then the UL-SCH with HARQ soft combining (soft_buffers of the earlier transmissions of
    this transport block, from a previous UlschResult) and turbo decoding (TS 36.212 5.2.2 inverse)."""
    data, ack, ri, (cqi, cqi_ok) = pusch_llr_to_ulsch(llr, grant, n_id_cell, subframe, uci)
    res: DlschResult = dlsch_decode(
        data, grant.tbs, grant.q_m, grant.rv, n_l=1, n_soft=None, soft_buffers=soft_buffers, n_iter=n_iter
    )
    return UlschResult(res.bits, res.crc_ok, ack, ri, cqi, cqi_ok, res.soft_buffers)
