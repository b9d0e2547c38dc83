"""PRACH transmitter (TS 36.211 5.7): spec tables, preamble sets, occasions and the srsRAN waveforms."""

from __future__ import annotations

import numpy as np
import pytest

from phy.channels import prach as P
from phy.numerology import N_RB_VALUES, numerology

# ---------------------------------------------------------------------------------------------------
# Tables
# ---------------------------------------------------------------------------------------------------


def test_root_table_is_a_permutation_of_pairs():
    """Table 5.7.2-4 lists every root 1..838 once, as pairs (u, 839 - u)."""
    order = P.ROOT_SEQUENCE_ORDER
    assert order.size == 838
    assert sorted(order.tolist()) == list(range(1, 839))
    assert np.all(order[0::2] + order[1::2] == 839)


@pytest.mark.parametrize(
    "logical, u",
    # spot checks against TS 36.211 Table 5.7.2-4: its first row (logical 0..23, ending with the TS 36.141
    # A.6 test roots 22/23 -> 1/838), the next row's start, the vector README's roots 100/102 and the end
    [(0, 129), (1, 710), (2, 140), (19, 779), (20, 2), (21, 837), (22, 1), (23, 838), (24, 56), (29, 691),
     (100, 118), (102, 110), (836, 229), (837, 610)],
)
def test_root_table_spot_checks(logical, u):
    assert P.physical_root(logical) == u


def test_n_cs_tables():
    """Table 5.7.2-2."""
    assert P.N_CS_UNRESTRICTED == (0, 13, 15, 18, 22, 26, 32, 38, 46, 59, 76, 93, 119, 167, 279, 419)
    assert P.N_CS_RESTRICTED == (15, 18, 22, 26, 32, 38, 46, 55, 68, 82, 100, 128, 158, 202, 237)
    assert P.n_cs(5, False) == 26 and P.n_cs(6, True) == 46
    with pytest.raises(ValueError, match="restricted"):
        P.n_cs(15, True)


def test_preamble_format_table():
    """Table 5.7.1-1: T_CP, T_SEQ in Ts; at 7.68 Msps format 0 is 792 + 6144 samples."""
    assert P.PREAMBLE_FORMATS == {0: (3168, 24576), 1: (21024, 24576), 2: (6240, 49152), 3: (21024, 49152)}
    assert P.prach_sample_counts(0, 25) == (792, 6144, 6144)
    assert P.prach_sample_counts(3, 6) == (1314, 3072, 1536)
    with pytest.raises(ValueError, match="frame structure type 2"):
        P.prach_sample_counts(4, 25)


def test_fdd_config_table_all_64_rows():
    """Table 5.7.1-2: every row, written out independently of the module's pattern construction."""
    subframes = {
        0: (1,), 1: (4,), 2: (7,), 3: (1,), 4: (4,), 5: (7,), 6: (1, 6), 7: (2, 7), 8: (3, 8),
        9: (1, 4, 7), 10: (2, 5, 8), 11: (3, 6, 9), 12: (0, 2, 4, 6, 8), 13: (1, 3, 5, 7, 9),
        14: tuple(range(10)), 15: (9,),
    }
    even = {0, 1, 2, 15}
    n_a = {30, 46, 60, 61, 62}
    for index in range(64):
        if index in n_a:
            with pytest.raises(ValueError, match="N/A"):
                P.prach_time_config(index)
            continue
        row = P.prach_time_config(index)
        assert row.preamble_format == index // 16, index
        assert row.subframes == subframes[index % 16], index
        assert row.even_sfn_only == (index % 16 in even), index
    # handover-timing clause of TS 36.211 5.7.1 lists exactly the "Even" configurations
    assert [i for i in range(64) if P.PRACH_CONFIG_FDD[i] and P.PRACH_CONFIG_FDD[i].even_sfn_only] == [
        0, 1, 2, 15, 16, 17, 18, 31, 32, 33, 34, 47, 48, 49, 50, 63]


def test_occasions_and_ra_rnti():
    assert P.is_prach_occasion(3, 0, 1) and P.is_prach_occasion(3, 1, 1)
    assert not P.is_prach_occasion(3, 0, 2)
    assert P.is_prach_occasion(0, 2, 1) and not P.is_prach_occasion(0, 3, 1)  # even SFN only
    assert [sf for sf in range(10) if P.is_prach_occasion(14, 5, sf)] == list(range(10))
    assert [sf for sf in range(10) if P.is_prach_occasion(57, 7, sf)] == [1, 4, 7]
    assert P.ra_rnti(1) == 2 and P.ra_rnti(9) == 10  # TS 36.321 5.1.4, f_id = 0 in FDD
    with pytest.raises(ValueError):
        P.is_prach_occasion(64, 0, 0)
    with pytest.raises(ValueError):
        P.is_prach_occasion(3, 0, 10)


# ---------------------------------------------------------------------------------------------------
# Preamble sets (5.7.2)
# ---------------------------------------------------------------------------------------------------


def test_unrestricted_set_root22():
    """Vector README: logical 22/23 -> u = 1 (preambles 0..31) and 838 (32..63), C_v = 26 v."""
    s = P.preamble_set(22, 5, False)
    assert s.n_cs == 26
    assert s.u.tolist() == [1] * 32 + [838] * 32
    assert s.c_v.tolist() == [26 * v for v in range(32)] * 2


def test_unrestricted_n_cs_zero_uses_64_roots():
    s = P.preamble_set(836, 0, False)
    assert np.all(s.c_v == 0)
    assert s.logical_root.tolist() == [(836 + i) % 838 for i in range(64)]  # wraps 837 -> 0


def test_restricted_set_root100():
    """Vector README: 15 roots (logical 100..114), preamble 10 = logical 102, u = 110, p = d_u = 389,
    n_shift 1, d_start 107, n_group 3, n_shift_bar 1, C_v = 214."""
    s = P.preamble_set(100, 6, True)
    assert s.logical_root.tolist()[0] == 100 and s.logical_root.tolist()[-1] == 114
    assert len(set(s.logical_root.tolist())) == 15
    assert (s.u[10], s.c_v[10], s.logical_root[10]) == (110, 214, 102)
    assert pow(110, -1, 839) == 389 and P.root_d_u(110) == 389
    assert P.restricted_set_params(110, 46) == (1, 107, 3, 1)
    assert s.c_v[s.u == 110].tolist() == [0, 107, 214, 321]


def test_restricted_set_formulas_by_hand():
    """5.7.2 evaluated by hand. u = 56: 56 * 15 = 840 = 1 mod 839, so p = d_u = 15; with N_CS = 15 this is
    case 1: n_shift = 15 // 15 = 1, d_start = 2*15 + 15 = 45, n_group = 839 // 45 = 18,
    n_shift_bar = max(floor((839 - 30 - 18*45) / 15), 0) = max(floor(-1/15), 0) = 0. u = 129: p = 826,
    d_u = 839 - 826 = 13 < N_CS = 15: no restricted shifts. u = 2: p = 420 -> d_u = 419 > (839 - 15)/2: none."""
    assert (56 * 15) % 839 == 1 and P.root_d_u(56) == 15
    assert P.restricted_set_params(56, 15) == (1, 45, 18, 0)
    assert (129 * 826) % 839 == 1 and P.root_d_u(129) == 13
    assert P.restricted_set_params(129, 15) == (0, 0, 0, 0)
    assert P.root_d_u(2) == 419 and P.restricted_set_params(2, 15) == (0, 0, 0, 0)


@pytest.mark.parametrize("zczc", range(15))
def test_restricted_sets_are_cyclic_shift_distinct(zczc):
    """Every restricted configuration gives 64 preambles, distinct (u, C_v), shifts inside the sequence."""
    s = P.preamble_set(300, zczc, True)
    assert len(set(zip(s.u.tolist(), s.c_v.tolist(), strict=True))) == 64
    assert np.all((s.c_v >= 0) & (s.c_v < 839))


def test_preamble_sequence_is_shifted_zc():
    x0 = P.preamble_sequence(25, 0)
    x = P.preamble_sequence(25, 100)
    assert np.allclose(x, np.roll(x0, -100))
    assert np.allclose(np.abs(np.fft.fft(x)), np.sqrt(839))  # CAZAC


# ---------------------------------------------------------------------------------------------------
# Waveform (5.7.3) against srsRAN (../shared/vectors/uplink/README.md section 1)
# ---------------------------------------------------------------------------------------------------

VECTORS = [
    ("prach_fmt0_cfg3_root22_ncs5_pre0_fo4_25prb_7.68Msps.cf32", 22, 5, False, 0),
    ("prach_fmt0_cfg3_root22_ncs5_pre17_fo4_25prb_7.68Msps.cf32", 22, 5, False, 17),
    ("prach_fmt0_cfg3_root22_ncs5_pre63_fo4_25prb_7.68Msps.cf32", 22, 5, False, 63),
    ("prach_fmt0_cfg3_root100_zcz6_hs_pre10_fo4_25prb_7.68Msps.cf32", 100, 6, True, 10),
]


@pytest.mark.parametrize("name, root, zczc, hs, preamble", VECTORS)
def test_waveform_matches_srsran(vectors_dir, name, root, zczc, hs, preamble):
    ref = np.fromfile(vectors_dir / "uplink" / name, dtype="<c8")
    assert ref.size == 7680
    wave = P.prach_subframes(preamble, n_rb_ul=25, preamble_format=0, root_sequence_index=root,
                             zero_correlation_zone_config=zczc, high_speed_flag=hs, freq_offset_prb=4)
    assert wave.dtype == np.complex64 and wave.size == 7680
    assert np.linalg.norm(wave - ref) / np.linalg.norm(ref) < 1e-5
    assert np.all(wave[6936:] == 0)
    # the other 63 preambles do not match (the comparison can fail)
    other = P.prach_subframes((preamble + 1) % 64, n_rb_ul=25, preamble_format=0, root_sequence_index=root,
                              zero_correlation_zone_config=zczc, high_speed_flag=hs, freq_offset_prb=4)
    assert np.linalg.norm(other - ref) / np.linalg.norm(ref) > 0.5


def test_waveform_spectrum_placement():
    """ZC bin 0 at (phi + K (k0 + 1/2)) x 1.25 kHz = -1.51375 MHz for 25 PRB, offset 4 (README)."""
    bins = P.prach_bin_indices(25, 4)
    assert bins[0] * 1250.0 == -1.51375e6 and bins[-1] * 1250.0 == -466.25e3


@pytest.mark.parametrize("n_rb", N_RB_VALUES)
@pytest.mark.parametrize("fmt", [0, 1, 2, 3])
def test_waveform_structure_every_bandwidth(n_rb, fmt):
    """CP is the tail of the sequence, formats 2/3 repeat it, RMS is sqrt(839 / (12 N_fft)), energy sits
    in the 6 PRBs from the offset, and the preamble fits the format's subframes."""
    offset = n_rb - 6
    kw = dict(n_rb_ul=n_rb, preamble_format=fmt, root_sequence_index=7, zero_correlation_zone_config=3,
              high_speed_flag=False, freq_offset_prb=offset)
    w = P.prach_waveform(5, **kw).astype(np.complex128)
    n_cp, n_seq, n_period = P.prach_sample_counts(fmt, n_rb)
    assert w.size == n_cp + n_seq
    seq = w[n_cp:]
    assert np.allclose(w[:n_cp], seq[n_seq - n_cp:] if n_cp <= n_seq else None, atol=1e-6)
    if n_seq == 2 * n_period:
        assert np.allclose(seq[:n_period], seq[n_period:], atol=1e-6)
    assert np.sqrt(np.mean(np.abs(seq) ** 2)) == pytest.approx(np.sqrt(839 / n_period), rel=1e-5)
    spec = np.fft.fft(seq[:n_period]) / np.sqrt(n_period)
    freqs = np.fft.fftfreq(n_period, 1 / numerology(n_rb).sample_rate_hz)
    lo = (offset * 12 - n_rb * 6) * 15e3
    inside = (freqs >= lo) & (freqs < lo + 72 * 15e3)
    assert np.sum(np.abs(spec[~inside]) ** 2) < 1e-8 * np.sum(np.abs(spec) ** 2)
    padded = P.prach_subframes(5, **kw)
    assert padded.size == {0: 1, 1: 2, 2: 2, 3: 3}[fmt] * numerology(n_rb).samples_per_subframe


def test_bad_inputs_raise_clear_errors():
    kw = dict(n_rb_ul=25, preamble_format=0, root_sequence_index=0, zero_correlation_zone_config=1,
              high_speed_flag=False)
    with pytest.raises(ValueError, match="outside"):
        P.prach_waveform(0, freq_offset_prb=20, **kw)
    with pytest.raises(ValueError, match="0..63"):
        P.prach_waveform(64, freq_offset_prb=0, **kw)
    with pytest.raises(ValueError, match="rootSequenceIndex"):
        P.preamble_set(838, 1, False)


def test_prach_signal_from_cell_config():
    """The handset's entry point takes the SIB2 prach-Config: format 2 (index 35) spans 2 subframes."""
    from phy.ul_config import PrachConfig

    cfg = PrachConfig(root_sequence_index=22, config_index=35, zero_correlation_zone_config=5, freq_offset_prb=4)
    x = P.prach_signal(cfg, 25, 17)
    ref = P.prach_subframes(17, n_rb_ul=25, preamble_format=2, root_sequence_index=22,
                            zero_correlation_zone_config=5, high_speed_flag=False, freq_offset_prb=4)
    assert x.size == 2 * 7680 and np.array_equal(x, ref)
