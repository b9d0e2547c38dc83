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


def reference_wrap_around(llr: np.ndarray, wrap_steps: int = 64) -> np.ndarray:
    """The wrap-around Viterbi pass state by state, in NumPy float32 (IEEE: the same roundings as the
    compiled kernel): branch of word w = ((+-l0) + (+-l1)) + (+-l2), new metric = the larger of
    metric + branch over the 2 predecessors (a tie keeps the one with c_{k-6} = 0), minus the
    step's maximum; traceback from the first best state. llr (n, 3, K) float32 -> (n, K) uint8."""
    n_blocks, _, k_len = llr.shape
    s_new = np.arange(64)
    u = s_new & 1
    taps = np.array([[(g >> (6 - j)) & 1 for j in range(7)] for g in G_OCTAL])  # (3, 7)
    words = []
    for pred in (s_new >> 1, (s_new >> 1) | 32):
        reg = np.stack([u] + [(pred >> (j - 1)) & 1 for j in range(1, 7)])  # c_k, c_{k-1}, .., c_{k-6}
        bits = (taps @ reg) % 2  # (3, 64)
        words.append(bits[0] + 2 * bits[1] + 4 * bits[2])
    signs = np.array([[-1.0 if (w >> i) & 1 else 1.0 for i in range(3)] for w in range(8)], np.float32)
    n_steps = k_len + 2 * wrap_steps
    metric = np.zeros((n_blocks, 64), np.float32)
    decisions = np.zeros((n_steps, n_blocks, 64), bool)
    for t in range(n_steps):
        lk = llr[:, :, (t - wrap_steps) % k_len]  # (n, 3)
        branch = (lk[:, None, 0] * signs[:, 0] + lk[:, None, 1] * signs[:, 1]) + lk[:, None, 2] * signs[:, 2]
        m_a = metric[:, s_new >> 1] + branch[:, words[0]]
        m_b = metric[:, (s_new >> 1) | 32] + branch[:, words[1]]
        decisions[t] = m_b > m_a
        new = np.where(decisions[t], m_b, m_a)
        metric = new - new.max(axis=1, keepdims=True)
    state = metric.argmax(axis=1)
    c_hat = np.zeros((n_blocks, k_len), np.uint8)
    for t in range(n_steps - 1, -1, -1):
        if wrap_steps <= t < wrap_steps + k_len:
            c_hat[:, t - wrap_steps] = state & 1
        state = (state >> 1) | (decisions[t, np.arange(n_blocks), state] * 32)
    return c_hat


@pytest.mark.parametrize("k_len", [8, 27, 44, 57, 71, 100])
def test_batched_viterbi_equals_per_row_and_reference(k_len):
    # Random noisy blocks (punctured zeros, integer LLRs for exact ties, pure noise, clean): one
    # batched call gives every row exactly what a one-block call gives (both modes), and the
    # wrap-around result equals the state-by-state reference, bit for bit.
    rng = np.random.default_rng(20 + k_len)
    c = rng.integers(0, 2, (24, k_len), dtype=np.uint8)
    amplitude = np.repeat([0.0, 0.5, 1.0, 2.0], 6)[:, None, None]
    llr = (amplitude * (1.0 - 2.0 * tbcc_encode(c)) + rng.normal(0.0, 1.0, (24, 3, k_len))).astype(np.float32)
    llr[:, rng.random((3, k_len)) < 0.2] = 0.0  # punctured positions
    llr[::4] = np.round(2.0 * llr[::4])  # integer LLRs: many exact ties between the 2 predecessors
    for exact in (False, True):
        batch = tbcc_decode(llr, exact_fallback=exact)
        rows = np.stack([tbcc_decode(x, exact_fallback=exact) for x in llr])
        np.testing.assert_array_equal(batch, rows)
    np.testing.assert_array_equal(tbcc_decode(llr, exact_fallback=False), reference_wrap_around(llr))


def test_butterfly_words_are_complements():
    # The decoder computes one branch metric per butterfly (states j, j + 32 -> 2 j, 2 j + 1):
    # flipping the input c_k or the oldest bit c_{k-6} complements the output word, as every
    # generator taps both.
    taps = np.array([[(g >> (6 - j)) & 1 for j in range(7)] for g in G_OCTAL])
    for state in range(32):
        mem = [(state >> (j - 1)) & 1 for j in range(1, 7)]  # c_{k-1} .. c_{k-6} (c_{k-6} = 0)
        out = [taps @ np.array(w) % 2 for w in ([0] + mem, [1] + mem, [0] + mem[:5] + [1])]
        np.testing.assert_array_equal(out[1], 1 - out[0])
        np.testing.assert_array_equal(out[2], 1 - out[0])
