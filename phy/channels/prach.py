"""Physical random access channel: the handset's preamble (TS 36.211 5.7, FDD, preamble formats 0-3).

Chain, as the spec reads:
    prach-ConfigurationIndex -> format, SFN rule, subframes          (Table 5.7.1-2, prach_time_config)
    rootSequenceIndex + zeroCorrelationZoneConfig + highSpeedFlag
        -> 64 preambles (physical root u, cyclic shift C_v)           (5.7.2, Tables 5.7.2-2/-4, preamble_set)
    x_{u,v}(n) -> N_ZC-point DFT -> placed at 1.25 kHz bins -> CP      (5.7.3, prach_waveform)

Format 4 exists only in frame structure type 2 (TDD UpPTS) and is refused. The waveform is produced
at the cell's standard sample rate (phy/numerology.py): the sequence part T_SEQ = 24576 Ts is exactly
12 * N_fft samples, so the 839 PRACH subcarriers are integer bins of one 12 * N_fft-point IFFT.

Scaling: the TS 36.211 5.7.3 sum with beta_PRACH = `beta` times 1 / sqrt(N_ZC * 12 N_fft): each of the
839 bins has unit magnitude in a unitary DFT of the sequence part (the srsRAN convention of
../shared/vectors/uplink, RMS sqrt(839 / (12 N_fft)) over CP + sequence).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ..numerology import numerology

__all__ = [
    "N_ZC",
    "DELTA_F_RA_HZ",
    "PHI",
    "K_RA",
    "PREAMBLE_FORMATS",
    "N_CS_UNRESTRICTED",
    "N_CS_RESTRICTED",
    "ROOT_SEQUENCE_ORDER",
    "PrachTimeConfig",
    "PreambleSet",
    "prach_time_config",
    "is_prach_occasion",
    "ra_rnti",
    "n_cs",
    "physical_root",
    "root_d_u",
    "restricted_set_params",
    "preamble_set",
    "preamble_sequence",
    "prach_bin_indices",
    "prach_sample_counts",
    "prach_waveform",
    "prach_subframes",
    "prach_signal",
]

N_ZC = 839  # sequence length, preamble formats 0-3 (TS 36.211 Table 5.7.2-1)
DELTA_F_RA_HZ = 1250.0  # PRACH subcarrier spacing, formats 0-3 (Table 5.7.3-1)
PHI = 7  # phi, formats 0-3 (Table 5.7.3-2)
K_RA = 12  # K = delta_f / delta_f_RA (5.7.3)

# TS 36.211 Table 5.7.1-1: preamble format -> (T_CP, T_SEQ) in Ts; format 4 is frame structure type 2 only.
PREAMBLE_FORMATS: dict[int, tuple[int, int]] = {
    0: (3168, 24576),
    1: (21024, 24576),
    2: (6240, 2 * 24576),
    3: (21024, 2 * 24576),
}
# Subframes one preamble of each format spans (CP + sequence + guard).
_FORMAT_SUBFRAMES = {0: 1, 1: 2, 2: 2, 3: 3}

# TS 36.211 Table 5.7.2-2: N_CS for zeroCorrelationZoneConfig 0..15 (unrestricted) and 0..14 (restricted).
N_CS_UNRESTRICTED = (0, 13, 15, 18, 22, 26, 32, 38, 46, 59, 76, 93, 119, 167, 279, 419)
N_CS_RESTRICTED = (15, 18, 22, 26, 32, 38, 46, 55, 68, 82, 100, 128, 158, 202, 237)

# TS 36.211 Table 5.7.2-4: logical root sequence number 0..837 -> physical root u (formats 0-3).
# Consecutive entries are pairs (u, N_ZC - u).
ROOT_SEQUENCE_ORDER = np.array([
    129, 710, 140, 699, 120, 719, 210, 629, 168, 671, 84, 755,
    105, 734, 93, 746, 70, 769, 60, 779, 2, 837, 1, 838,
    56, 783, 112, 727, 148, 691, 80, 759, 42, 797, 40, 799,
    35, 804, 73, 766, 146, 693, 31, 808, 28, 811, 30, 809,
    27, 812, 29, 810, 24, 815, 48, 791, 68, 771, 74, 765,
    178, 661, 136, 703, 86, 753, 78, 761, 43, 796, 39, 800,
    20, 819, 21, 818, 95, 744, 202, 637, 190, 649, 181, 658,
    137, 702, 125, 714, 151, 688, 217, 622, 128, 711, 142, 697,
    122, 717, 203, 636, 118, 721, 110, 729, 89, 750, 103, 736,
    61, 778, 55, 784, 15, 824, 14, 825, 12, 827, 23, 816,
    34, 805, 37, 802, 46, 793, 207, 632, 179, 660, 145, 694,
    130, 709, 223, 616, 228, 611, 227, 612, 132, 707, 133, 706,
    143, 696, 135, 704, 161, 678, 201, 638, 173, 666, 106, 733,
    83, 756, 91, 748, 66, 773, 53, 786, 10, 829, 9, 830,
    7, 832, 8, 831, 16, 823, 47, 792, 64, 775, 57, 782,
    104, 735, 101, 738, 108, 731, 208, 631, 184, 655, 197, 642,
    191, 648, 121, 718, 141, 698, 149, 690, 216, 623, 218, 621,
    152, 687, 144, 695, 134, 705, 138, 701, 199, 640, 162, 677,
    176, 663, 119, 720, 158, 681, 164, 675, 174, 665, 171, 668,
    170, 669, 87, 752, 169, 670, 88, 751, 107, 732, 81, 758,
    82, 757, 100, 739, 98, 741, 71, 768, 59, 780, 65, 774,
    50, 789, 49, 790, 26, 813, 17, 822, 13, 826, 6, 833,
    5, 834, 33, 806, 51, 788, 75, 764, 99, 740, 96, 743,
    97, 742, 166, 673, 172, 667, 175, 664, 187, 652, 163, 676,
    185, 654, 200, 639, 114, 725, 189, 650, 115, 724, 194, 645,
    195, 644, 192, 647, 182, 657, 157, 682, 156, 683, 211, 628,
    154, 685, 123, 716, 139, 700, 212, 627, 153, 686, 213, 626,
    215, 624, 150, 689, 225, 614, 224, 615, 221, 618, 220, 619,
    127, 712, 147, 692, 124, 715, 193, 646, 205, 634, 206, 633,
    116, 723, 160, 679, 186, 653, 167, 672, 79, 760, 85, 754,
    77, 762, 92, 747, 58, 781, 62, 777, 69, 770, 54, 785,
    36, 803, 32, 807, 25, 814, 18, 821, 11, 828, 4, 835,
    3, 836, 19, 820, 22, 817, 41, 798, 38, 801, 44, 795,
    52, 787, 45, 794, 63, 776, 67, 772, 72, 767, 76, 763,
    94, 745, 102, 737, 90, 749, 109, 730, 165, 674, 111, 728,
    209, 630, 204, 635, 117, 722, 188, 651, 159, 680, 198, 641,
    113, 726, 183, 656, 180, 659, 177, 662, 196, 643, 155, 684,
    214, 625, 126, 713, 131, 708, 219, 620, 222, 617, 226, 613,
    230, 609, 232, 607, 262, 577, 252, 587, 418, 421, 416, 423,
    413, 426, 411, 428, 376, 463, 395, 444, 283, 556, 285, 554,
    379, 460, 390, 449, 363, 476, 384, 455, 388, 451, 386, 453,
    361, 478, 387, 452, 360, 479, 310, 529, 354, 485, 328, 511,
    315, 524, 337, 502, 349, 490, 335, 504, 324, 515, 323, 516,
    320, 519, 334, 505, 359, 480, 295, 544, 385, 454, 292, 547,
    291, 548, 381, 458, 399, 440, 380, 459, 397, 442, 369, 470,
    377, 462, 410, 429, 407, 432, 281, 558, 414, 425, 247, 592,
    277, 562, 271, 568, 272, 567, 264, 575, 259, 580, 237, 602,
    239, 600, 244, 595, 243, 596, 275, 564, 278, 561, 250, 589,
    246, 593, 417, 422, 248, 591, 394, 445, 393, 446, 370, 469,
    365, 474, 300, 539, 299, 540, 364, 475, 362, 477, 298, 541,
    312, 527, 313, 526, 314, 525, 353, 486, 352, 487, 343, 496,
    327, 512, 350, 489, 326, 513, 319, 520, 332, 507, 333, 506,
    348, 491, 347, 492, 322, 517, 330, 509, 338, 501, 341, 498,
    340, 499, 342, 497, 301, 538, 366, 473, 401, 438, 371, 468,
    408, 431, 375, 464, 249, 590, 269, 570, 238, 601, 234, 605,
    257, 582, 273, 566, 255, 584, 254, 585, 245, 594, 251, 588,
    412, 427, 372, 467, 282, 557, 403, 436, 396, 443, 392, 447,
    391, 448, 382, 457, 389, 450, 294, 545, 297, 542, 311, 528,
    344, 495, 345, 494, 318, 521, 331, 508, 325, 514, 321, 518,
    346, 493, 339, 500, 351, 488, 306, 533, 289, 550, 400, 439,
    378, 461, 374, 465, 415, 424, 270, 569, 241, 598, 231, 608,
    260, 579, 268, 571, 276, 563, 409, 430, 398, 441, 290, 549,
    304, 535, 308, 531, 358, 481, 316, 523, 293, 546, 288, 551,
    284, 555, 368, 471, 253, 586, 256, 583, 263, 576, 242, 597,
    274, 565, 402, 437, 383, 456, 357, 482, 329, 510, 317, 522,
    307, 532, 286, 553, 287, 552, 266, 573, 261, 578, 236, 603,
    303, 536, 356, 483, 355, 484, 405, 434, 404, 435, 406, 433,
    235, 604, 267, 572, 302, 537, 309, 530, 265, 574, 233, 606,
    367, 472, 296, 543, 336, 503, 305, 534, 373, 466, 280, 559,
    279, 560, 419, 420, 240, 599, 258, 581, 229, 610,
], dtype=np.int64)
ROOT_SEQUENCE_ORDER.setflags(write=False)


# --------------------------------------------------------------------------------------------------
# Time structure (TS 36.211 5.7.1, Table 5.7.1-2) and RA-RNTI (TS 36.321 5.1.4)
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PrachTimeConfig:
    """One row of TS 36.211 Table 5.7.1-2 (frame structure type 1).

    preamble_format: 0..3; even_sfn_only: True for "Even" (only even system frames), False for "Any";
    subframes: the subframe numbers 0..9 in which a preamble may start.
    """

    preamble_format: int
    even_sfn_only: bool
    subframes: tuple[int, ...]


# The 16 subframe/SFN patterns repeat for each format; index 16 f + r. None: "N/A" in the table
# (14 for format 0 only; row 14 of formats 1-2 and rows 12-14 of format 3 do not exist).
_PATTERNS = (
    (True, (1,)), (True, (4,)), (True, (7,)),
    (False, (1,)), (False, (4,)), (False, (7,)),
    (False, (1, 6)), (False, (2, 7)), (False, (3, 8)),
    (False, (1, 4, 7)), (False, (2, 5, 8)), (False, (3, 6, 9)),
    (False, (0, 2, 4, 6, 8)), (False, (1, 3, 5, 7, 9)),
    (False, tuple(range(10))),
    (True, (9,)),
)
_NOT_AVAILABLE = frozenset({30, 46, 60, 61, 62})


def _build_fdd_table() -> tuple[PrachTimeConfig | None, ...]:
    rows: list[PrachTimeConfig | None] = []
    for index in range(64):
        fmt, r = divmod(index, 16)
        even, sfs = _PATTERNS[r]
        rows.append(None if index in _NOT_AVAILABLE else PrachTimeConfig(fmt, even, sfs))
    return tuple(rows)


PRACH_CONFIG_FDD = _build_fdd_table()


def prach_time_config(config_index: int) -> PrachTimeConfig:
    """Row `config_index` (prach-ConfigurationIndex 0..63) of TS 36.211 Table 5.7.1-2 (FDD)."""
    if not 0 <= int(config_index) <= 63:
        raise ValueError(f"prach-ConfigurationIndex must be 0..63, got {config_index}")
    row = PRACH_CONFIG_FDD[int(config_index)]
    if row is None:
        raise ValueError(
            f"prach-ConfigurationIndex {config_index} is N/A for FDD (TS 36.211 Table 5.7.1-2: 30, 46, 60, 61 "
            f"and 62 do not exist for frame structure type 1); pick another index"
        )
    return row


def is_prach_occasion(config_index: int, sfn: int, subframe: int) -> bool:
    """True when a preamble of configuration `config_index` may start in subframe `subframe` (0..9) of
    system frame `sfn` (0..1023), FDD (TS 36.211 5.7.1, Table 5.7.1-2)."""
    if not 0 <= int(subframe) <= 9:
        raise ValueError(f"subframe must be 0..9, got {subframe}")
    if not 0 <= int(sfn) <= 1023:
        raise ValueError(f"SFN must be 0..1023, got {sfn}")
    row = prach_time_config(config_index)
    if row.even_sfn_only and sfn % 2:
        return False
    return int(subframe) in row.subframes


def ra_rnti(subframe: int, f_id: int = 0) -> int:
    """RA-RNTI = 1 + t_id + 10 f_id (TS 36.321 5.1.4): t_id = the first subframe of the PRACH (0..9);
    f_id = 0 in FDD (one PRACH resource per subframe)."""
    if not 0 <= int(subframe) <= 9:
        raise ValueError(f"t_id (first subframe of the PRACH) must be 0..9, got {subframe}")
    if not 0 <= int(f_id) <= 5:
        raise ValueError(f"f_id must be 0..5, got {f_id}")
    return 1 + int(subframe) + 10 * int(f_id)


# --------------------------------------------------------------------------------------------------
# Preamble sequences (TS 36.211 5.7.2)
# --------------------------------------------------------------------------------------------------


def n_cs(zero_correlation_zone_config: int, high_speed_flag: bool) -> int:
    """N_CS from zeroCorrelationZoneConfig (TS 36.211 Table 5.7.2-2, formats 0-3)."""
    z = int(zero_correlation_zone_config)
    table = N_CS_RESTRICTED if high_speed_flag else N_CS_UNRESTRICTED
    if not 0 <= z < len(table):
        kind = "restricted (highSpeedFlag true)" if high_speed_flag else "unrestricted"
        raise ValueError(
            f"zeroCorrelationZoneConfig {z} is not defined for the {kind} set: use 0..{len(table) - 1} "
            f"(TS 36.211 Table 5.7.2-2)"
        )
    return table[z]


def physical_root(logical_root: int) -> int:
    """Physical root u of logical root sequence number 0..837 (TS 36.211 Table 5.7.2-4); the logical
    numbers are cyclic (837 is followed by 0, 5.7.2)."""
    return int(ROOT_SEQUENCE_ORDER[int(logical_root) % (N_ZC - 1)])


def root_d_u(u: int) -> int:
    """d_u = p if p < N_ZC/2 else N_ZC - p, where p is the smallest non-negative integer with
    (p u) mod N_ZC = 1 (TS 36.211 5.7.2): the cyclic shift one PRACH subcarrier of Doppler moves a
    correlation peak by."""
    p = pow(int(u), -1, N_ZC)
    return p if p < N_ZC / 2 else N_ZC - p


def restricted_set_params(u: int, n_cs_value: int) -> tuple[int, int, int, int]:
    """(n_shift^RA, d_start, n_group^RA, n̄_shift^RA) of root u for the restricted set (TS 36.211 5.7.2).

    The root gives n_shift * n_group + n̄_shift preambles; (0, 0, 0, 0) when d_u is outside both cases.
    """
    d_u = root_d_u(u)
    ncs = int(n_cs_value)
    if ncs <= d_u < N_ZC / 3:
        n_shift = d_u // ncs
        d_start = 2 * d_u + n_shift * ncs
        n_group = N_ZC // d_start
        n_shift_bar = max((N_ZC - 2 * d_u - n_group * d_start) // ncs, 0)
    elif N_ZC / 3 <= d_u <= (N_ZC - ncs) / 2:
        n_shift = (N_ZC - 2 * d_u) // ncs
        d_start = N_ZC - 2 * d_u + n_shift * ncs
        n_group = d_u // d_start
        n_shift_bar = min(max((d_u - n_group * d_start) // ncs, 0), n_shift)
    else:
        return 0, 0, 0, 0
    return n_shift, d_start, n_group, n_shift_bar


@dataclass(frozen=True)
class PreambleSet:
    """The cell's 64 preambles (TS 36.211 5.7.2), in preamble-index order.

    u: (64,) int physical root of each preamble; c_v: (64,) int its cyclic shift C_v;
    logical_root: (64,) int the logical root number it came from; d_u: (64,) int (5.7.2);
    n_cs: N_CS; high_speed: restricted set; roots: the distinct physical roots in first-use order.
    """

    u: np.ndarray
    c_v: np.ndarray
    logical_root: np.ndarray
    d_u: np.ndarray
    n_cs: int
    high_speed: bool

    @property
    def roots(self) -> tuple[int, ...]:
        return tuple(dict.fromkeys(int(x) for x in self.u))


@lru_cache(maxsize=64)
def preamble_set(root_sequence_index: int, zero_correlation_zone_config: int, high_speed_flag: bool) -> PreambleSet:
    """The 64 preambles of a cell (TS 36.211 5.7.2): cyclic shifts of the root of logical number
    rootSequenceIndex, then of consecutive logical roots, until 64 preambles exist.

    Unrestricted: C_v = v N_CS, v = 0 .. floor(N_ZC / N_CS) - 1 (v = 0 only when N_CS = 0).
    Restricted: C_v = d_start floor(v / n_shift) + (v mod n_shift) N_CS, v = 0 .. n_shift n_group + n̄_shift - 1;
    roots that give no shift are skipped.
    """
    if not 0 <= int(root_sequence_index) <= N_ZC - 2:
        raise ValueError(f"rootSequenceIndex must be 0..837, got {root_sequence_index}")
    ncs = n_cs(zero_correlation_zone_config, bool(high_speed_flag))
    u_list: list[int] = []
    c_list: list[int] = []
    logical_list: list[int] = []
    logical = int(root_sequence_index)
    for _ in range(N_ZC - 1):  # at most every root once
        u = physical_root(logical)
        if not high_speed_flag:
            shifts = [0] if ncs == 0 else [v * ncs for v in range(N_ZC // ncs)]
        else:
            n_shift, d_start, n_group, n_shift_bar = restricted_set_params(u, ncs)
            shifts = [d_start * (v // n_shift) + (v % n_shift) * ncs for v in range(n_shift * n_group + n_shift_bar)]
        for c in shifts:
            if len(u_list) == 64:
                break
            u_list.append(u)
            c_list.append(c)
            logical_list.append(logical % (N_ZC - 1))
        if len(u_list) == 64:
            break
        logical += 1
    else:  # pragma: no cover - every Table 5.7.2-2 value reaches 64 preambles
        raise ValueError("the configured root sequences do not give 64 preambles")
    arrays = [np.array(a, dtype=np.int64) for a in (u_list, c_list, logical_list, [root_d_u(u) for u in u_list])]
    for a in arrays:
        a.setflags(write=False)
    return PreambleSet(*arrays, n_cs=ncs, high_speed=bool(high_speed_flag))


def preamble_sequence(u: int, c_v: int) -> np.ndarray:
    """x_{u,v}(n) = x_u((n + C_v) mod N_ZC), x_u(n) = exp(-j pi u n (n+1) / N_ZC) (TS 36.211 5.7.2).

    Returns (839,) complex128.
    """
    if not 1 <= int(u) <= N_ZC - 1:
        raise ValueError(f"physical root u must be 1..838, got {u}")
    n = (np.arange(N_ZC, dtype=np.int64) + int(c_v)) % N_ZC
    phase_num = (int(u) * n * (n + 1)) % (2 * N_ZC)  # exact integer phase, as phy/sequences.zadoff_chu
    return np.exp(-1j * np.pi * phase_num / N_ZC)


@lru_cache(maxsize=256)
def _unit_spectrum(u: int, c_v: int) -> np.ndarray:
    """X_{u,v}(k) / sqrt(N_ZC): the N_ZC-point DFT of x_{u,v}, unit magnitude, (839,) complex128."""
    spec = np.fft.fft(preamble_sequence(u, c_v)) / np.sqrt(N_ZC)
    spec.setflags(write=False)
    return spec


# --------------------------------------------------------------------------------------------------
# Baseband signal (TS 36.211 5.7.3)
# --------------------------------------------------------------------------------------------------


def _check_format(preamble_format: int) -> int:
    f = int(preamble_format)
    if f == 4:
        raise ValueError("PRACH preamble format 4 exists only in frame structure type 2 (TDD UpPTS); "
                         "this FDD eNodeB supports formats 0-3")
    if f not in PREAMBLE_FORMATS:
        raise ValueError(f"PRACH preamble format must be 0..3, got {preamble_format}")
    return f


def prach_sample_counts(preamble_format: int, n_rb_ul: int) -> tuple[int, int, int]:
    """(N_CP, N_SEQ, N_period) in samples at the standard rate of `n_rb_ul`: T_CP and T_SEQ of Table
    5.7.1-1, and N_period = 12 N_fft, the length of one sequence repetition (1 / delta_f_RA)."""
    f = _check_format(preamble_format)
    n_fft = numerology(n_rb_ul).fft_size
    t_cp, t_seq = PREAMBLE_FORMATS[f]
    return t_cp * n_fft // 2048, t_seq * n_fft // 2048, K_RA * n_fft


def prach_bin_indices(n_rb_ul: int, freq_offset_prb: int) -> np.ndarray:
    """Signed bin of ZC DFT index k = 0..838 in the 12 N_fft-point DFT of one sequence period:
    k + phi + K (k0 + 1/2), k0 = n_PRB^RA N_sc^RB - N_RB^UL N_sc^RB / 2 (TS 36.211 5.7.3), with
    n_PRB^RA = n_PRBoffset^RA for FDD formats 0-3 (5.7.1). Returns (839,) int64 (negative below DC)."""
    numerology(n_rb_ul)  # validates n_rb_ul
    if not 0 <= int(freq_offset_prb) <= n_rb_ul - 6:
        raise ValueError(
            f"prach-FrequencyOffset {freq_offset_prb} puts the 6-PRB PRACH outside a {n_rb_ul}-PRB uplink; "
            f"use 0..{n_rb_ul - 6} (TS 36.211 5.7.1)"
        )
    twice_k0 = 2 * int(freq_offset_prb) * 12 - n_rb_ul * 12  # 2 k0, an integer for every N_RB
    first = PHI + K_RA * twice_k0 // 2 + K_RA // 2  # phi + K (k0 + 1/2); K k0 is an integer since K = 12
    return np.arange(N_ZC, dtype=np.int64) + first


@lru_cache(maxsize=64)
def _sequence_period(u: int, c_v: int, n_rb_ul: int, freq_offset_prb: int) -> np.ndarray:
    """One 0.8 ms period of the sequence part (12 N_fft samples, unit bins in a unitary DFT), complex128."""
    n_period = K_RA * numerology(n_rb_ul).fft_size
    spectrum = np.zeros(n_period, dtype=np.complex128)
    spectrum[prach_bin_indices(n_rb_ul, freq_offset_prb) % n_period] = _unit_spectrum(u, c_v)
    period = np.fft.ifft(spectrum, norm="ortho")
    period.setflags(write=False)
    return period


def prach_waveform(
    preamble_index: int,
    *,
    n_rb_ul: int,
    preamble_format: int,
    root_sequence_index: int,
    zero_correlation_zone_config: int,
    high_speed_flag: bool,
    freq_offset_prb: int,
    beta: float = 1.0,
) -> np.ndarray:
    """The preamble s(t) of TS 36.211 5.7.3 at the standard rate of `n_rb_ul`: CP then sequence
    (repeated for formats 2 and 3), t = 0 at the first CP sample (the start of the uplink subframe
    with N_TA = 0). Returns (N_CP + N_SEQ,) complex64, scaled as the module docstring says (beta =
    beta_PRACH, an amplitude factor)."""
    if not 0 <= int(preamble_index) <= 63:
        raise ValueError(f"preamble index must be 0..63, got {preamble_index}")
    n_cp, n_seq, n_period = prach_sample_counts(preamble_format, n_rb_ul)
    pset = preamble_set(int(root_sequence_index), int(zero_correlation_zone_config), bool(high_speed_flag))
    period = _sequence_period(int(pset.u[preamble_index]), int(pset.c_v[preamble_index]), n_rb_ul,
                              int(freq_offset_prb))
    # s(t) is periodic in 1 / delta_f_RA; sample n <-> t - T_CP = (n - N_CP) / fs.
    idx = (np.arange(n_cp + n_seq) - n_cp) % n_period
    return (float(beta) * period[idx]).astype(np.complex64)


def prach_subframes(preamble_index: int, *, n_rb_ul: int, preamble_format: int, **kwargs) -> np.ndarray:
    """prach_waveform(...) zero-padded to the whole subframes the format occupies (1, 2, 2, 3 ms):
    the guard time is silence. Same keyword arguments as prach_waveform. Returns complex64."""
    wave = prach_waveform(preamble_index, n_rb_ul=n_rb_ul, preamble_format=preamble_format, **kwargs)
    total = _FORMAT_SUBFRAMES[_check_format(preamble_format)] * numerology(n_rb_ul).samples_per_subframe
    out = np.zeros(total, dtype=np.complex64)
    out[: wave.size] = wave
    return out


def prach_signal(prach, n_rb_ul: int, preamble_index: int, beta: float = 1.0) -> np.ndarray:
    """The handset's preamble for a cell's prach-Config (a phy.ul_config.PrachConfig): the format from
    Table 5.7.1-2, zero-padded to the whole subframes it occupies, t = 0 at the start of the uplink
    subframe of the PRACH occasion (N_TA = 0). Returns complex64."""
    fmt = prach_time_config(prach.config_index).preamble_format
    return prach_subframes(
        preamble_index,
        n_rb_ul=n_rb_ul,
        preamble_format=fmt,
        root_sequence_index=prach.root_sequence_index,
        zero_correlation_zone_config=prach.zero_correlation_zone_config,
        high_speed_flag=prach.high_speed_flag,
        freq_offset_prb=prach.freq_offset_prb,
        beta=beta,
    )
