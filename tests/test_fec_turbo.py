"""Turbo code of TS 36.212 5.1.3.2: QPP table, encoder known answers, decoder round trips and AWGN BER."""

from __future__ import annotations

import math

import numpy as np
import pytest

from phy.fec.turbo import (
    QPP_PARAMS,
    qpp_interleaver,
    turbo_decode,
    turbo_decode_blocks,
    turbo_encode,
    turbo_encode_blocks,
)

# K values of Table 5.1.3-3 by the rule printed with it
SPEC_K = (
    list(range(40, 513, 8)) + list(range(528, 1025, 16)) + list(range(1056, 2049, 32))
    + list(range(2112, 6145, 64))
)

# rows copied by hand from TS 36.212 Table 5.1.3-3 (i, K_i, f1, f2), a few in every K range
SPEC_ROWS = [
    (1, 40, 3, 10),
    (2, 48, 7, 12),
    (11, 120, 103, 90),
    (39, 344, 193, 86),
    (60, 512, 31, 64),
    (61, 528, 17, 66),
    (63, 560, 227, 420),
    (92, 1024, 31, 64),
    (93, 1056, 17, 66),
    (107, 1504, 49, 846),
    (113, 1696, 55, 954),
    (124, 2048, 31, 64),
    (125, 2112, 17, 66),
    (144, 3328, 51, 104),
    (157, 4160, 33, 130),
    (170, 4992, 127, 234),
    (174, 5248, 113, 902),
    (188, 6144, 263, 480),
]


def reference_encode(c: list[int]) -> np.ndarray:
    """Bit-serial turbo encoder written from the register description of TS 36.212 5.1.3.2.1-2."""
    k = len(c)
    f1, f2 = QPP_PARAMS[k]

    def constituent(bits):
        d1 = d2 = d3 = 0  # the three delay elements, all zero at the start
        z = []
        for b in bits:
            a = b ^ d2 ^ d3  # g0 = 1 + D^2 + D^3 feeds back
            z.append(a ^ d1 ^ d3)  # g1 = 1 + D + D^3
            d1, d2, d3 = a, d1, d2
        x_tail, z_tail = [], []
        for _ in range(3):  # switch moved to the feedback: the register input becomes 0
            fb = d2 ^ d3
            x_tail.append(fb)
            a = fb ^ d2 ^ d3
            z_tail.append(a ^ d1 ^ d3)
            d1, d2, d3 = a, d1, d2
        assert (d1, d2, d3) == (0, 0, 0), "termination must return the encoder to state 0"
        return z, x_tail, z_tail

    c_int = [c[(f1 * i + f2 * i * i) % k] for i in range(k)]
    z, x_t, z_t = constituent(c)
    z2, x2_t, z2_t = constituent(c_int)
    # 5.1.3.2.2: d_K^(0) = x_K, d_K+1^(0) = z_K+1, d_K+2^(0) = x'_K, d_K+3^(0) = z'_K+1, etc.
    d0 = list(c) + [x_t[0], z_t[1], x2_t[0], z2_t[1]]
    d1 = z + [z_t[0], x_t[2], z2_t[0], x2_t[2]]
    d2 = z2 + [x_t[1], z_t[2], x2_t[1], z2_t[2]]
    return np.array([d0, d1, d2], dtype=np.uint8)


def bpsk_llr(d: np.ndarray, ebn0_db: float, rng: np.random.Generator) -> np.ndarray:
    """BPSK (bit 0 -> +1) over real AWGN at Eb/N0 per information bit; LLR = 2 y / sigma^2.

    A code-level channel (no OFDM grid), so phy/awgn.py's per-RE convention does not apply here.
    """
    k = d.shape[1] - 4
    rate = k / d.size
    sigma = math.sqrt(1.0 / (2.0 * rate * 10 ** (ebn0_db / 10)))
    y = (1.0 - 2.0 * d) + sigma * rng.standard_normal(d.shape)
    return (2.0 * y / sigma**2).astype(np.float32)


# --- QPP interleaver table -----------------------------------------------------------------------

def test_qpp_table_has_the_188_spec_block_sizes():
    assert len(SPEC_K) == 188
    assert sorted(QPP_PARAMS) == SPEC_K


@pytest.mark.parametrize("i, k, f1, f2", SPEC_ROWS)
def test_qpp_rows_match_spec(i, k, f1, f2):
    assert SPEC_K[i - 1] == k
    assert QPP_PARAMS[k] == (f1, f2)


def test_every_qpp_row_is_a_permutation():
    for k in SPEC_K:
        pi = qpp_interleaver(k)
        assert np.array_equal(np.sort(pi), np.arange(k)), f"K={k} is not a bijection"


def test_qpp_interleaver_formula():
    for k in (40, 1504, 6144):
        f1, f2 = QPP_PARAMS[k]
        expected = [(f1 * i + f2 * i * i) % k for i in range(k)]  # Python ints: no overflow
        assert qpp_interleaver(k).tolist() == expected


# --- encoder -------------------------------------------------------------------------------------

def test_encoder_all_zero_block_gives_all_zero_codeword():
    d = turbo_encode(np.zeros(40, np.uint8))
    assert d.shape == (3, 44) and d.dtype == np.uint8
    assert not d.any()


def test_encoder_impulse_response_by_hand():
    # c = delta_0. pi(0) = 0, so both constituent encoders see the impulse. Hand-run registers:
    # a_k = c_k + a_k-2 + a_k-3 -> 1 0 1 1 1 0 0 (period 7); z_k = a_k + a_k-1 + a_k-3.
    c = np.zeros(40, np.uint8)
    c[0] = 1
    d = turbo_encode(c)
    z_hand = [1, 1, 1, 1, 0, 0, 1, 0, 1, 1, 1, 0, 0, 1]
    assert d[1, :14].tolist() == z_hand
    assert d[2, :14].tolist() == z_hand
    assert d[0, :40].tolist() == c.tolist()


@pytest.mark.parametrize("k", [40, 48, 120, 512, 528, 1056, 2112, 6144])
def test_encoder_matches_bit_serial_reference(k):
    rng = np.random.default_rng(k)
    c = rng.integers(0, 2, k).astype(np.uint8)
    assert np.array_equal(turbo_encode(c), reference_encode(c.tolist()))


def test_tail_bits_terminate_both_encoders():
    """Feeding the transmitted tail systematic bits into each register as ordinary inputs must give
    register input 0, end in state 0 and reproduce the transmitted tail parity bits."""
    rng = np.random.default_rng(5)
    for k in (40, 6144):
        c = rng.integers(0, 2, k).astype(np.uint8)
        d = turbo_encode(c)
        tail = d[:, k:].T.reshape(12)  # x_K z_K x_K+1 z_K+1 x_K+2 z_K+2 x'_K z'_K ... (5.1.3.2.2)
        for bits, x_tail, z_tail in ((c, tail[0:6:2], tail[1:6:2]),
                                     (c[qpp_interleaver(k)], tail[6:12:2], tail[7:12:2])):
            s1 = s2 = s3 = 0
            for b in bits:
                a = int(b) ^ s2 ^ s3
                s1, s2, s3 = a, s1, s2
            for x, z in zip(x_tail, z_tail, strict=True):
                a = int(x) ^ s2 ^ s3
                assert a == 0
                assert int(z) == a ^ s1 ^ s3
                s1, s2, s3 = a, s1, s2
            assert (s1, s2, s3) == (0, 0, 0)


@pytest.mark.parametrize("k", [40, 56, 504, 1088, 3200, 5824, 6144])
def test_block_encoder_matches_bit_serial_reference(k):
    """The batch encoder (8 input bits per table step) equals the bit-serial register description
    for every block of a batch: random blocks plus all-ones and alternating ones, so the byte steps
    start from many register states."""
    rng = np.random.default_rng(1000 + k)
    c = rng.integers(0, 2, (5, k)).astype(np.uint8)
    c[3] = 1
    c[4] = np.arange(k) % 2
    out = np.full((5, 3, k + 4), 7, dtype=np.uint8)  # every entry must be overwritten
    assert turbo_encode_blocks(c, out=out) is out
    for r in range(5):
        assert np.array_equal(out[r], reference_encode(c[r].tolist())), r
    assert np.array_equal(turbo_encode_blocks(c[1:3]), out[1:3])


def test_encoder_rejects_bad_input():
    with pytest.raises(ValueError, match="Table 5.1.3-3"):
        turbo_encode(np.zeros(41, np.uint8))
    with pytest.raises(ValueError, match="0/1"):
        turbo_encode(np.full(40, 2, np.uint8))


# --- decoder -------------------------------------------------------------------------------------

def test_noiseless_round_trip_every_k():
    rng = np.random.default_rng(1)
    for k in SPEC_K:
        c = rng.integers(0, 2, k).astype(np.uint8)
        llr = 4.0 * (1.0 - 2.0 * turbo_encode(c))
        assert np.array_equal(turbo_decode(llr, n_iter=1), c), f"K={k}"


def test_high_snr_round_trip_every_k():
    # Eb/N0 = 4 dB: far beyond the waterfall of every block size, a few raw bit errors per block
    rng = np.random.default_rng(2)
    for k in SPEC_K:
        c = rng.integers(0, 2, k).astype(np.uint8)
        llr = bpsk_llr(turbo_encode(c), 4.0, rng)
        assert np.array_equal(turbo_decode(llr, n_iter=4), c), f"K={k}"


def test_parity_recovers_erased_systematic_bits():
    rng = np.random.default_rng(3)
    k = 1024
    c = rng.integers(0, 2, k).astype(np.uint8)
    llr = 4.0 * (1.0 - 2.0 * turbo_encode(c))
    llr[0, 0:k:2] = 0.0  # half of the systematic bits erased (as by puncturing)
    assert np.array_equal(turbo_decode(llr), c)


def test_known_filler_bits_as_infinite_llr():
    rng = np.random.default_rng(4)
    k, f = 6144, 40
    c = rng.integers(0, 2, k).astype(np.uint8)
    c[:f] = 0  # filler bits enter the encoder as 0 (TS 36.212 5.1.3.2.1)
    llr = bpsk_llr(turbo_encode(c), 1.0, rng)
    llr[0, :f] = np.inf
    assert np.array_equal(turbo_decode(llr), c)


def test_early_stop_is_called_each_iteration_and_stops():
    rng = np.random.default_rng(6)
    k = 512
    c = rng.integers(0, 2, k).astype(np.uint8)
    llr = 4.0 * (1.0 - 2.0 * turbo_encode(c))
    calls = []

    def matches(bits):
        calls.append(bits)
        return np.array_equal(bits, c)

    assert np.array_equal(turbo_decode(llr, n_iter=8, early_stop=matches), c)
    assert len(calls) == 1
    calls.clear()
    turbo_decode(llr, n_iter=5, early_stop=lambda b: calls.append(b) and False)
    assert len(calls) == 5


def test_decoder_rejects_bad_input():
    with pytest.raises(ValueError, match=r"\(3, K\+4\)"):
        turbo_decode(np.zeros((2, 44)))
    with pytest.raises(ValueError, match="Table 5.1.3-3"):
        turbo_decode(np.zeros((3, 45)))
    with pytest.raises(ValueError, match="NaN"):
        turbo_decode(np.full((3, 44), np.nan))


@pytest.mark.parametrize(
    "k, ebn0_db, n_blocks, max_ber",
    [
        (6144, 1.0, 16, 1e-4),  # about 0.5 dB beyond the max-log waterfall of the longest block
        (1024, 1.5, 40, 1e-4),
        (40, 3.0, 400, 2e-3),  # short blocks gain less; uncoded BPSK at 3 dB has BER 2.3e-2
    ],
)
def test_awgn_ber_after_8_iterations(k, ebn0_db, n_blocks, max_ber):
    rng = np.random.default_rng(k)
    errors = 0
    for _ in range(n_blocks):
        c = rng.integers(0, 2, k).astype(np.uint8)
        errors += int(np.count_nonzero(turbo_decode(bpsk_llr(turbo_encode(c), ebn0_db, rng), n_iter=8) != c))
    assert errors / (k * n_blocks) < max_ber


def test_iterations_gain_at_the_waterfall():
    rng = np.random.default_rng(8)
    k = 6144
    c = rng.integers(0, 2, k).astype(np.uint8)
    llr = bpsk_llr(turbo_encode(c), 0.75, rng)
    ber_1 = np.mean(turbo_decode(llr, n_iter=1) != c)
    ber_8 = np.mean(turbo_decode(llr, n_iter=8) != c)
    uncoded = 0.5 * math.erfc(math.sqrt(10 ** (0.75 / 10)))  # BPSK at Eb/N0 = 0.75 dB: 0.13
    assert ber_1 > 1e-2  # one iteration is still in the waterfall
    assert ber_8 < 1e-4 < uncoded


@pytest.mark.parametrize(("k", "n_blocks"), [(40, 3), (1024, 9), (6144, 2)])
def test_batched_decoder_matches_block_by_block(k, n_blocks):
    """turbo_decode_blocks decodes each block as turbo_decode does alone (same LLRs, same decisions),
    with and without per-block early stop, across a lane-group boundary (9 blocks = 8 + 1)."""
    rng = np.random.default_rng(k + n_blocks)
    c = rng.integers(0, 2, (n_blocks, k)).astype(np.uint8)
    d = turbo_encode_blocks(c)
    llr = (2.0 * (1.0 - 2.0 * d) + 1.6 * rng.standard_normal(d.shape)).astype(np.float32)
    for n_iter in (1, 4):
        one_by_one = np.array([turbo_decode(llr[r], n_iter=n_iter) for r in range(n_blocks)])
        assert np.array_equal(turbo_decode_blocks(llr, n_iter=n_iter), one_by_one)
    want = [np.array_equal(turbo_decode(llr[r], n_iter=8, early_stop=lambda b, r=r: np.array_equal(b, c[r])), c[r])
            for r in range(n_blocks)]
    got = turbo_decode_blocks(llr, n_iter=8, early_stop=lambda b: (b == c).all(axis=1))
    assert [np.array_equal(got[r], c[r]) for r in range(n_blocks)] == want


def test_batched_decoder_corrects_a_noisy_block():
    """K = 6144 at Eb/N0 = 1.5 dB (BPSK, rate 1/3): about 5 % raw bit errors, all corrected."""
    rng = np.random.default_rng(7)
    k = 6144
    c = rng.integers(0, 2, (3, k)).astype(np.uint8)
    d = turbo_encode_blocks(c)
    sigma = math.sqrt(1.0 / (2.0 * (k / d[0].size) * 10 ** (1.5 / 10)))
    y = (1.0 - 2.0 * d) + sigma * rng.standard_normal(d.shape)
    assert (y[:, 0, :k] < 0).astype(np.uint8).__ne__(c).mean() > 0.02
    assert np.array_equal(turbo_decode_blocks(2.0 * y / sigma**2, n_iter=8), c)
