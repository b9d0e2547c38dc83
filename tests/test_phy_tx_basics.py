"""PHY-TX basics: Gold / Zadoff-Chu sequences, PSS, SSS, CRS known answers (TS 36.211 6.10, 6.11, 7.2),
OFDM round trip and scaling (6.12), modulation (7.1), scrambling, transmit diversity (6.3.3.3, 6.3.4.3).

Known answers are recomputed here in plain Python straight from the spec formulas, independent of the
vectorised implementations under test.
"""

from __future__ import annotations

import cmath
import math

import numpy as np
import pytest

from phy.grid import new_grid, subcarrier_bins
from phy.mimo import tx_diversity_decode, tx_diversity_encode
from phy.modulation import constellation, demodulate_llr, modulate
from phy.numerology import N_RB_VALUES, SAMPLE_RMS_FULL_LOAD, numerology
from phy.ofdm import ofdm_demodulate, ofdm_modulate
from phy.refsig import crs_positions, crs_sequence, crs_symbols, crs_values, map_crs
from phy.scrambling import descramble_llr, scramble_bits
from phy.sequences import gold_sequence, zadoff_chu
from phy.sync import map_sync, pss_sequence, sss_indices, sss_sequence


def gold_reference(c_init: int, length: int) -> list[int]:
    """TS 36.211 7.2 as two plain shift registers, bit by bit."""
    x1 = [1] + [0] * 30
    x2 = [(c_init >> i) & 1 for i in range(31)]
    for n in range(length + 1600):
        x1.append(x1[n + 3] ^ x1[n])
        x2.append(x2[n + 3] ^ x2[n + 2] ^ x2[n + 1] ^ x2[n])
    return [x1[n + 1600] ^ x2[n + 1600] for n in range(length)]


# ---------------------------------------------------------------- sequences (7.2)


@pytest.mark.parametrize("c_init", [0, 1, 0x155, 2**30 + 12345, 2**31 - 1])
def test_gold_sequence_matches_shift_register(c_init):
    ref = gold_reference(c_init, 700)
    assert gold_sequence(c_init, 700).tolist() == ref
    assert gold_sequence(c_init, 5).tolist() == ref[:5]  # prefixes agree across length buckets


def test_gold_sequence_c_init_zero_first_bits():
    # c_init = 0: x2 == 0, so c(n) = x1(n + 1600); x1 alone is easy to run by hand
    x1 = [1] + [0] * 30
    for n in range(1700):
        x1.append(x1[n + 3] ^ x1[n])
    assert gold_sequence(0, 64).tolist() == x1[1600:1664]


def test_gold_sequence_rejects_bad_c_init():
    with pytest.raises(ValueError, match="c_init"):
        gold_sequence(2**31, 10)


def test_zadoff_chu_formula():
    z = zadoff_chu(29, 63)
    for n in (0, 1, 17, 62):
        assert z[n] == pytest.approx(cmath.exp(-1j * math.pi * 29 * n * (n + 1) / 63), abs=1e-12)


# ---------------------------------------------------------------- PSS / SSS (6.11)


@pytest.mark.parametrize(("n_id_2", "u"), [(0, 25), (1, 29), (2, 34)])
def test_pss_known_values(n_id_2, u):
    d = pss_sequence(n_id_2)
    assert d.shape == (62,)
    for n in (0, 5, 30):
        assert d[n] == pytest.approx(cmath.exp(-1j * math.pi * u * n * (n + 1) / 63), abs=1e-12)
    for n in (31, 44, 61):
        assert d[n] == pytest.approx(cmath.exp(-1j * math.pi * u * (n + 1) * (n + 2) / 63), abs=1e-12)


def _sss_reference(n_id_1: int, n_id_2: int, subframe: int) -> list[int]:
    def mseq(taps):
        x = [0, 0, 0, 0, 1]
        for i in range(26):
            x.append(sum(x[i + t] for t in taps) % 2)
        return [1 - 2 * v for v in x]

    s, c, z = mseq((2, 0)), mseq((3, 0)), mseq((4, 2, 1, 0))
    qp = n_id_1 // 30
    q = (n_id_1 + qp * (qp + 1) // 2) // 30
    mp = n_id_1 + q * (q + 1) // 2
    m0 = mp % 31
    m1 = (m0 + mp // 31 + 1) % 31
    d = []
    for n in range(31):
        s0, s1 = s[(n + m0) % 31], s[(n + m1) % 31]
        c0, c1 = c[(n + n_id_2) % 31], c[(n + n_id_2 + 3) % 31]
        z1m0, z1m1 = z[(n + m0 % 8) % 31], z[(n + m1 % 8) % 31]
        if subframe == 0:
            d += [s0 * c0, s1 * c1 * z1m0]
        else:
            d += [s1 * c0, s0 * c1 * z1m1]
    return d


@pytest.mark.parametrize(
    ("n_id_1", "m0_m1"), [(0, (0, 1)), (1, (1, 2)), (29, (29, 30)), (30, (0, 2)), (167, (2, 9))]
)
def test_sss_m0_m1_table(n_id_1, m0_m1):
    # TS 36.211 Table 6.11.2.1-1 rows
    assert sss_indices(n_id_1) == m0_m1


@pytest.mark.parametrize("n_id_1", [0, 167, 55])
@pytest.mark.parametrize("n_id_2", [0, 2])
@pytest.mark.parametrize("subframe", [0, 5])
def test_sss_known_values(n_id_1, n_id_2, subframe):
    d = sss_sequence(n_id_1, n_id_2, subframe)
    assert d.tolist() == _sss_reference(n_id_1, n_id_2, subframe)


def test_sss_subframes_differ():
    assert not np.array_equal(sss_sequence(10, 1, 0), sss_sequence(10, 1, 5))


@pytest.mark.parametrize("n_rb", [6, 25, 100])
def test_map_sync_positions(n_rb):
    pci = 3 * 100 + 2
    grid = new_grid(2, n_rb)
    map_sync(grid, n_rb, pci, 5)
    k0 = n_rb * 6 - 31
    assert np.allclose(grid[0, 6, k0 : k0 + 62], pss_sequence(2))
    assert np.allclose(grid[0, 5, k0 : k0 + 62], sss_sequence(100, 2, 5))
    assert np.count_nonzero(grid) == 124  # port 0 only, nothing else written
    assert np.count_nonzero(grid[0, 6, :k0]) == 0 and np.count_nonzero(grid[0, 6, k0 + 62 :]) == 0
    # d(31) sits on the first subcarrier above DC
    assert subcarrier_bins(n_rb)[k0 + 31] == 1
    g2 = new_grid(1, n_rb)
    map_sync(g2, n_rb, pci, 3)
    assert not g2.any()


# ---------------------------------------------------------------- CRS (6.10.1)


def _crs_reference(n_s: int, l: int, pci: int, m: int) -> complex:
    c_init = 2**10 * (7 * (n_s + 1) + l + 1) * (2 * pci + 1) + 2 * pci + 1
    c = gold_reference(c_init, 2 * m + 2)
    return complex(1 - 2 * c[2 * m], 1 - 2 * c[2 * m + 1]) / math.sqrt(2)


@pytest.mark.parametrize(("pci", "n_s", "l"), [(0, 0, 0), (1, 1, 4), (301, 11, 0), (503, 19, 4)])
def test_crs_sequence_known_values(pci, n_s, l):
    r = crs_sequence(n_s, l, pci)
    assert r.shape == (220,)
    for m in (0, 3, 109, 219):
        assert r[m] == pytest.approx(_crs_reference(n_s, l, pci, m), abs=1e-12)


@pytest.mark.parametrize(("pci", "n_rb"), [(1, 6), (150, 25), (503, 100)])
def test_crs_mapping_values_and_positions(pci, n_rb):
    v_shift = pci % 6
    # port 0, l = 0: k = 6m + v_shift; port 1, l = 0: k = 6m + (3 + v_shift) mod 6; port 0, l = 4: v = 3
    assert crs_positions(0, 0, 2, pci, n_rb)[:2].tolist() == [v_shift, 6 + v_shift]
    assert crs_positions(1, 0, 2, pci, n_rb)[0] == (3 + v_shift) % 6
    assert crs_positions(0, 4, 2, pci, n_rb)[0] == (3 + v_shift) % 6
    assert crs_positions(1, 4, 2, pci, n_rb)[0] == v_shift
    val = crs_values(0, 4, 3, pci, n_rb)
    # a_{k,l} = r(m + N_RB_max - N_RB)
    for m in (0, 2 * n_rb - 1):
        assert val[m] == pytest.approx(_crs_reference(3, 4, pci, m + 110 - n_rb), abs=1e-12)


def test_crs_symbols():
    assert crs_symbols(0) == (0, 4, 7, 11)
    assert crs_symbols(1) == (0, 4, 7, 11)
    assert crs_symbols(2) == (1, 8)


@pytest.mark.parametrize("n_ports", [1, 2])
def test_map_crs_grid(n_ports):
    pci, n_rb, subframe = 77, 15, 3
    grid = np.ones((n_ports, 14, 12 * n_rb), dtype=np.complex64)
    map_crs(grid, pci, n_rb, subframe)
    for slot in (0, 1):
        n_s = 2 * subframe + slot
        for l in (0, 4):
            lp = 7 * slot + l
            for p in range(n_ports):
                k = crs_positions(p, l, n_s, pci, n_rb)
                assert np.allclose(grid[p, lp, k], crs_values(p, l, n_s, pci, n_rb))
                for q in range(n_ports):
                    if q != p:
                        assert not grid[q, lp, k].any()  # 6.10.1.2: not used by any other port
    # 12 n_rb / 6 * 2 ... CRS REs per subframe per port: 4 symbols x 2 n_rb
    n_crs = 8 * n_rb * n_ports
    assert np.count_nonzero(grid != 1) == n_crs + (n_crs if n_ports == 2 else 0)


# ---------------------------------------------------------------- OFDM (6.12)


@pytest.mark.parametrize("n_rb", N_RB_VALUES)
def test_ofdm_round_trip_and_scaling(n_rb):
    rng = np.random.default_rng(n_rb)
    shape = (2, 14, 12 * n_rb)
    grid = ((rng.standard_normal(shape) + 1j * rng.standard_normal(shape)) / np.sqrt(2)).astype(np.complex64)
    x = ofdm_modulate(grid)
    num = numerology(n_rb)
    assert x.shape == (2, num.samples_per_subframe) and x.dtype == np.complex64
    rms = np.sqrt(np.mean(np.abs(x) ** 2))
    assert rms == pytest.approx(SAMPLE_RMS_FULL_LOAD, rel=0.05)
    back = ofdm_demodulate(x, n_rb)
    assert back.dtype == np.complex64
    assert np.max(np.abs(back - grid)) < 1e-5
    back_early = ofdm_demodulate(x, n_rb, fft_offset=int(num.cp_lengths[1]) // 2)
    assert np.max(np.abs(back_early - grid)) < 1e-5


def test_ofdm_single_subcarrier_is_a_tone_with_cp():
    n_rb = 6
    num = numerology(n_rb)
    grid = new_grid(1, n_rb)
    k = 36 + 5  # k' = k - 36 + 1 = +6 subcarriers above DC
    grid[0, :, k] = 1
    x = ofdm_modulate(grid)[0]
    n_fft = num.fft_size
    for l in (0, 3):
        start, cp = int(num.symbol_starts[l]), int(num.cp_lengths[l])
        t = np.arange(cp + n_fft) - cp
        expected = np.exp(2j * np.pi * 6 * t / n_fft)
        seg = x[start : start + cp + n_fft]
        # constant gain, positive frequency, continuous phase through the CP
        ratio = seg / expected
        assert np.allclose(ratio, ratio[0], atol=1e-5)
        assert abs(ratio[0]) > 0


@pytest.mark.parametrize("n_rb", [6, 100])
def test_ofdm_modulate_fft_paths_agree_with_the_dft_sum(n_rb, monkeypatch):
    """Both inverse-FFT back ends (ducc0, numpy fallback) give s_l(n) = gain/N sum_k a_k e^{+j2pi k' n/N}
    (TS 36.211 6.12), checked against the DFT sum written out for two symbols."""
    import phy.ofdm as ofdm

    rng = np.random.default_rng(n_rb)
    shape = (1, 14, 12 * n_rb)
    grid = (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(np.complex64)
    num = numerology(n_rb)
    n_fft, half = num.fft_size, 6 * n_rb
    k_prime = np.concatenate([np.arange(-half, 0), np.arange(1, half + 1)])  # DC skipped (6.12)
    outputs = [ofdm_modulate(grid)]
    monkeypatch.setattr(ofdm, "_ducc_c2c", None)
    outputs.append(ofdm_modulate(grid))
    for l in (0, 9):
        start, cp = int(num.symbol_starts[l]), int(num.cp_lengths[l])
        n = np.arange(-cp, n_fft)
        expected = ofdm.ofdm_gain(n_rb) / n_fft * (
            np.exp(2j * np.pi * np.outer(n, k_prime) / n_fft) @ grid[0, l].astype(np.complex128)
        )
        for x in outputs:
            assert np.allclose(x[0, start : start + cp + n_fft], expected, rtol=0, atol=1e-6)


def test_ofdm_rejects_bad_shapes():
    with pytest.raises(ValueError, match="14"):
        ofdm_modulate(np.zeros((13, 72), dtype=np.complex64))
    with pytest.raises(ValueError, match="samples"):
        ofdm_demodulate(np.zeros(100, dtype=np.complex64), 6)


# ---------------------------------------------------------------- modulation (7.1)


def test_modulation_tables():
    s2 = np.sqrt(2)
    assert np.allclose(
        modulate(np.array([0, 0, 0, 1, 1, 0, 1, 1], np.uint8), 2) * s2, [1 + 1j, 1 - 1j, -1 + 1j, -1 - 1j]
    )
    # Table 7.1.3-1 rows 0000, 0001, 0010, 0111, 1101
    q16 = constellation(4) * np.sqrt(10)
    assert np.allclose(
        q16[[0b0000, 0b0001, 0b0010, 0b0111, 0b1101]], [1 + 1j, 1 + 3j, 3 + 1j, 3 - 3j, -1 - 3j]
    )
    # Table 7.1.4-1 rows 000000, 000001, 000100, 001000, 000111, 111111
    q64 = constellation(6) * np.sqrt(42)
    assert np.allclose(
        q64[[0b000000, 0b000001, 0b000100, 0b001000, 0b000111, 0b111111]],
        [3 + 3j, 3 + 1j, 3 + 5j, 5 + 3j, 1 + 7j, -7 - 7j],
    )
    for q_m in (2, 4, 6):
        c = constellation(q_m)
        assert np.mean(np.abs(c) ** 2) == pytest.approx(1.0, rel=1e-6)
        assert len(np.unique(np.round(c, 5))) == 2**q_m


@pytest.mark.parametrize("q_m", [2, 4, 6])
def test_modulation_llr_round_trip(q_m):
    rng = np.random.default_rng(q_m)
    bits = rng.integers(0, 2, 3000 * q_m, dtype=np.uint8)
    sym = modulate(bits, q_m)
    noisy = sym + 0.02 * (rng.standard_normal(sym.size) + 1j * rng.standard_normal(sym.size))
    llr = demodulate_llr(noisy, q_m, 0.01)
    assert llr.dtype == np.float32 and llr.shape == bits.shape
    assert np.array_equal((llr < 0).astype(np.uint8), bits)  # positive LLR = bit 0


def test_qpsk_llr_value():
    # LLR = 4 a y / N0 with a = 1/sqrt(2) per axis
    llr = demodulate_llr(np.array([0.5 - 0.25j]), 2, 0.5)
    assert llr == pytest.approx([4 / np.sqrt(2) * 0.5 / 0.5, -4 / np.sqrt(2) * 0.25 / 0.5], rel=1e-6)


# ---------------------------------------------------------------- scrambling, transmit diversity


def test_scrambling_round_trip():
    rng = np.random.default_rng(3)
    bits = rng.integers(0, 2, 500, dtype=np.uint8)
    c_init = 12345
    sb = scramble_bits(bits, c_init)
    assert sb.tolist() == [b ^ c for b, c in zip(bits.tolist(), gold_reference(c_init, 500), strict=True)]
    llr = descramble_llr(1 - 2 * sb.astype(np.float32), c_init)
    assert np.array_equal((llr < 0).astype(np.uint8), bits)


def test_tx_diversity_precoding_matrix():
    d = np.array([1 + 2j, 3 - 1j, -2 + 0.5j, 0.25 - 4j], np.complex64)
    y = tx_diversity_encode(d) * np.sqrt(2)
    # 6.3.4.3: y0(2i) = x0, y1(2i) = -x1*, y0(2i+1) = x1, y1(2i+1) = x0*
    assert np.allclose(y[0], [d[0], d[1], d[2], d[3]])
    assert np.allclose(y[1], [-np.conj(d[1]), np.conj(d[0]), -np.conj(d[3]), np.conj(d[2])])


def test_tx_diversity_round_trip():
    rng = np.random.default_rng(5)
    d = modulate(rng.integers(0, 2, 480, dtype=np.uint8), 2)
    y = tx_diversity_encode(d)
    h_pair = rng.standard_normal((2, 120)) + 1j * rng.standard_normal((2, 120))
    h = np.repeat(h_pair, 2, axis=1)  # channel flat over each RE pair
    r = np.sum(h * y, axis=0)
    est, nv = tx_diversity_decode(r, h, 0.1)
    assert np.allclose(est, d, atol=1e-5)
    p = np.abs(h_pair[0]) ** 2 + np.abs(h_pair[1]) ** 2
    assert np.allclose(nv[0::2], 0.2 / p, rtol=1e-5)
    # one port: plain division
    est1, nv1 = tx_diversity_decode(d * h[0], h[:1], 0.1)
    assert np.allclose(est1, d, atol=1e-5)
    assert np.allclose(nv1, 0.1 / np.abs(h[0]) ** 2, rtol=1e-5)


def test_ofdm_calls_do_not_share_state():
    # modulate, demodulate (same array shapes) and modulate again: the second result must not change
    rng = np.random.default_rng(9)
    n_rb = 6
    g1 = np.zeros((2, 14, 72), dtype=np.complex64)
    g1[:, :, 10] = 1
    x1 = ofdm_modulate(g1).copy()
    noise = (rng.standard_normal((2, 1920)) + 1j * rng.standard_normal((2, 1920))).astype(np.complex64)
    ofdm_demodulate(noise, n_rb)
    g2 = ((rng.standard_normal((2, 14, 72)) + 1j) * 1).astype(np.complex64)
    ofdm_modulate(g2)
    assert np.array_equal(ofdm_modulate(g1), x1)
    y = ofdm_demodulate(x1, n_rb)
    y2 = ofdm_demodulate(noise, n_rb)
    assert not np.shares_memory(y, y2) and np.allclose(y, g1, atol=1e-5)
