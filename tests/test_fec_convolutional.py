"""Tail-biting convolutional code (TS 36.212 5.1.3.1): encoder known answers, Viterbi near-ML."""

from __future__ import annotations

import numpy as np
import pytest

from phy.fec.convolutional import tbcc_decode, tbcc_encode

G_OCTAL = (0o133, 0o171, 0o165)  # TS 36.212 5.1.3.1


def serial_encode(c: np.ndarray) -> tuple[np.ndarray, list[int], list[int]]:
    """Shift-register reference of Figure 5.1.3-1: returns d (3, K), start and end register."""
    k_len = len(c)
    reg = [int(c[k_len - 1 - i]) for i in range(6)]  # s_i = c_{K-1-i}
    start = list(reg)
    d = np.zeros((3, k_len), dtype=np.uint8)
    for k in range(k_len):
        window = [int(c[k])] + reg  # c_k, c_{k-1}, ..., c_{k-6}
        for i, g in enumerate(G_OCTAL):
            taps = [(g >> (6 - j)) & 1 for j in range(7)]  # MSB of the octal word taps c_k
            d[i, k] = sum(t * w for t, w in zip(taps, window, strict=True)) % 2
        reg = [int(c[k])] + reg[:5]
    return d, start, reg


def test_impulse_response_is_the_generators():
    # c = 1 0 0 0 0 0 0 0: d^(i)_k = g_i,k, i.e. the generators' bits read from the MSB.
    c = np.zeros(8, dtype=np.uint8)
    c[0] = 1
    d = tbcc_encode(c)
    assert d[0].tolist() == [1, 0, 1, 1, 0, 1, 1, 0]  # 133 octal = 1 011 011
    assert d[1].tolist() == [1, 1, 1, 1, 0, 0, 1, 0]  # 171 octal = 1 111 001
    assert d[2].tolist() == [1, 1, 1, 0, 1, 0, 1, 0]  # 165 octal = 1 110 101


@pytest.mark.parametrize("k_len", [8, 24, 40, 57, 70, 200])
def test_encoder_equals_shift_register(k_len):
    rng = np.random.default_rng(k_len)
    c = rng.integers(0, 2, k_len, dtype=np.uint8)
    expected, start, end = serial_encode(c)
    np.testing.assert_array_equal(tbcc_encode(c), expected)
    assert start == end  # tail-biting: the register ends where it started


def test_encoder_batch_and_linearity():
    rng = np.random.default_rng(7)
    c = rng.integers(0, 2, (4, 40), dtype=np.uint8)
    d = tbcc_encode(c)
    assert d.shape == (4, 3, 40) and d.dtype == np.uint8
    for row, dd in zip(c, d, strict=True):
        np.testing.assert_array_equal(tbcc_encode(row), dd)
    np.testing.assert_array_equal(tbcc_encode(c[0] ^ c[1]), d[0] ^ d[1])
    # cyclic code: rotating the input rotates every output stream
    np.testing.assert_array_equal(tbcc_encode(np.roll(c[2], 5)), np.roll(d[2], 5, axis=-1))


@pytest.mark.parametrize("k_len", [24, 34, 40, 41, 55, 70, 100])
def test_decode_noiseless(k_len):
    rng = np.random.default_rng(100 + k_len)
    c = rng.integers(0, 2, (20, k_len), dtype=np.uint8)
    llr = (1.0 - 2.0 * tbcc_encode(c)).astype(np.float32) * 4.0  # positive LLR = bit 0
    np.testing.assert_array_equal(tbcc_decode(llr), c)
    np.testing.assert_array_equal(tbcc_decode(llr[3]), c[3])


def test_decode_all_dci_sizes_noiseless():
    rng = np.random.default_rng(11)
    for k_len in range(34, 71):
        c = rng.integers(0, 2, k_len, dtype=np.uint8)
        llr = (1.0 - 2.0 * tbcc_encode(c)).astype(np.float32)
        np.testing.assert_array_equal(tbcc_decode(llr), c, err_msg=f"K={k_len}")


def test_decode_with_erasures():
    # punctured positions arrive as LLR 0: a third of all bits erased still decodes noiselessly
    rng = np.random.default_rng(12)
    c = rng.integers(0, 2, 40, dtype=np.uint8)
    llr = (1.0 - 2.0 * tbcc_encode(c)).astype(np.float32)
    llr[2, :] = 0.0
    np.testing.assert_array_equal(tbcc_decode(llr), c)


def awgn_llr(d: np.ndarray, eb_n0_db: float, rng: np.random.Generator) -> np.ndarray:
    """BPSK (bit 0 -> +1) over AWGN at Eb/N0 for rate 1/3, exact LLR 2y/sigma^2."""
    sigma2 = 1.0 / (2.0 * (1.0 / 3.0) * 10.0 ** (eb_n0_db / 10.0))
    y = 1.0 - 2.0 * d + rng.normal(0.0, np.sqrt(sigma2), d.shape)
    return (2.0 * y / sigma2).astype(np.float32)


def ml_metric(llr: np.ndarray) -> np.ndarray:
    """Exact tail-biting ML metric max_c sum(llr * (1-2 d(c))) over all codewords, by 64 Viterbi
    runs (one per start state, forced to end there), vectorised over blocks and start states."""
    n_blocks, _, k_len = llr.shape
    s_new = np.arange(64)
    u = s_new & 1
    preds = [s_new >> 1, (s_new >> 1) | 32]
    words = []
    for p in preds:
        reg = np.stack([u] + [(p >> (j - 1)) & 1 for j in range(1, 7)])  # (7, 64)
        taps = np.array([[(g >> (6 - j)) & 1 for j in range(7)] for g in G_OCTAL])  # (3, 7)
        words.append((taps @ reg) % 2)  # (3, 64) output bits per new state
    metric = np.full((n_blocks, 64, 64), -np.inf)
    metric[:, np.arange(64), np.arange(64)] = 0.0  # [block, start, state]
    for k in range(k_len):
        lk = llr[:, :, k]  # (n, 3)
        cand = [
            metric[:, :, p] + ((1.0 - 2.0 * w).T @ lk.T).T[:, np.newaxis, :]
            for p, w in zip(preds, words, strict=True)
        ]
        metric = np.maximum(cand[0], cand[1])
    return metric[:, np.arange(64), np.arange(64)].max(axis=1)


def codeword_metric(llr: np.ndarray, c: np.ndarray) -> np.ndarray:
    return (llr * (1.0 - 2.0 * tbcc_encode(c))).sum(axis=(-2, -1))


def test_viterbi_is_near_maximum_likelihood():
    # At Eb/N0 = 1 dB many blocks are in error; the decoder must still pick the ML codeword
    # (its metric equals the exhaustive 64-start ML metric) in nearly every block.
    rng = np.random.default_rng(13)
    c = rng.integers(0, 2, (300, 40), dtype=np.uint8)
    llr = awgn_llr(tbcc_encode(c), 1.0, rng)
    c_hat = tbcc_decode(llr)
    ml = ml_metric(llr.astype(np.float64))
    got = codeword_metric(llr.astype(np.float64), c_hat)
    assert np.all(got <= ml + 1e-3 * np.abs(ml))  # nothing beats ML (checks the reference too)
    not_ml = got < ml - 1e-3 * np.abs(ml)
    assert not_ml.mean() <= 0.01, f"{not_ml.sum()} of 300 blocks not ML"
    assert (c_hat != c).any(axis=1).mean() > 0.02  # the SNR is low enough to exercise errors


@pytest.mark.parametrize("k_len", [40, 34, 70])
def test_awgn_bler(k_len):
    # K=7 rate-1/3 code, soft ML decoding: BLER of short blocks at Eb/N0 = 3 dB is well below 1%
    # (union bound with free distance 15); at 0 dB it is far from zero.
    rng = np.random.default_rng(14 + k_len)
    c = rng.integers(0, 2, (400, k_len), dtype=np.uint8)
    d = tbcc_encode(c)
    bler_3db = (tbcc_decode(awgn_llr(d, 3.0, rng)) != c).any(axis=1).mean()
    bler_0db = (tbcc_decode(awgn_llr(d, 0.0, rng)) != c).any(axis=1).mean()
    assert bler_3db <= 0.01
    assert bler_0db >= 0.1


def test_bad_input_messages():
    with pytest.raises(ValueError, match="0/1"):
        tbcc_encode(np.array([0, 1, 2]))
    with pytest.raises(ValueError, match="shape"):
        tbcc_decode(np.zeros((2, 40), np.float32))
    with pytest.raises(ValueError, match="NaN"):
        tbcc_decode(np.full((3, 40), np.nan, np.float32))


def test_without_exact_fallback_keeps_decodable_blocks():
    # exact_fallback=False returns the wrap-around path: same result as the default wherever that
    # path is tail-biting, so clean blocks decode and the 3 dB BLER stays below 1 %.
    rng = np.random.default_rng(15)
    c = rng.integers(0, 2, (400, 40), dtype=np.uint8)
    d = tbcc_encode(c)
    noiseless = (1.0 - 2.0 * d).astype(np.float32)
    np.testing.assert_array_equal(tbcc_decode(noiseless, exact_fallback=False), c)
    llr = awgn_llr(d, 3.0, rng)
    fast = tbcc_decode(llr, exact_fallback=False)
    assert (fast != c).any(axis=1).mean() <= 0.01
    np.testing.assert_array_equal(fast, tbcc_decode(llr))


def test_without_exact_fallback_differs_only_off_ml_on_noise():
    # Noise-only input (a blind-decoding candidate with no DCI): the fallback changes some blocks,
    # and there the default (exact search) result is never worse than the wrap-around one.
    rng = np.random.default_rng(16)
    llr = rng.normal(0.0, 2.0, (200, 3, 40)).astype(np.float32)
    exact = tbcc_decode(llr)
    fast = tbcc_decode(llr, exact_fallback=False)
    differ = (exact != fast).any(axis=1)
    assert differ.any()
    m_exact = codeword_metric(llr.astype(np.float64), exact)
    m_fast = codeword_metric(llr.astype(np.float64), fast)
    assert np.all(m_exact[differ] >= m_fast[differ] - 1e-6 * np.abs(m_fast[differ]))
