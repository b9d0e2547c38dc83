"""Rate matching (TS 36.212 5.1.4): spec-text reference, hand-worked values, round trips for every rv."""

from __future__ import annotations

import numpy as np
import pytest

from phy.fec.ratematch import (
    code_block_e,
    rate_dematch_conv,
    rate_dematch_turbo,
    rate_match_conv,
    rate_match_turbo,
    soft_buffer_size,
    subblock_interleaver,
)

# Tables 5.1.4-1 (turbo) and 5.1.4-2 (conv), typed in again from the spec for an independent check.
P_TURBO = [0, 16, 8, 24, 4, 20, 12, 28, 2, 18, 10, 26, 6, 22, 14, 30,
           1, 17, 9, 25, 5, 21, 13, 29, 3, 19, 11, 27, 7, 23, 15, 31]  # fmt: skip
P_CONV = [1, 17, 9, 25, 5, 21, 13, 29, 3, 19, 11, 27, 7, 23, 15, 31,
          0, 16, 8, 24, 4, 20, 12, 28, 2, 18, 10, 26, 6, 22, 14, 30]  # fmt: skip
NULL = None


def ref_interleave(stream: list, perm: list[int], third: bool = False) -> list:
    """Sub-block interleaver written out step by step from 5.1.4.1.1 with an explicit matrix."""
    d_len = len(stream)
    rows = -(-d_len // 32)
    y = [NULL] * (rows * 32 - d_len) + list(stream)
    if third:
        k_pi = rows * 32
        return [y[(perm[k // rows] + 32 * (k % rows) + 1) % k_pi] for k in range(k_pi)]
    matrix = [y[r * 32 : (r + 1) * 32] for r in range(rows)]
    permuted = [[row[perm[j]] for j in range(32)] for row in matrix]
    return [permuted[r][j] for j in range(32) for r in range(rows)]  # column by column


def ref_turbo_rm(d: list[list], e: int, rv: int, n_cb: int) -> list:
    """5.1.4.1.2 bit collection and selection as written: d holds labels or NULL."""
    v0 = ref_interleave(d[0], P_TURBO)
    v1 = ref_interleave(d[1], P_TURBO)
    v2 = ref_interleave(d[2], P_TURBO, third=True)
    k_pi = len(v0)
    w = v0 + [NULL] * (2 * k_pi)
    for k in range(k_pi):
        w[k_pi + 2 * k] = v1[k]
        w[k_pi + 2 * k + 1] = v2[k]
    rows = k_pi // 32
    k0 = rows * (2 * -(-n_cb // (8 * rows)) * rv + 2)
    out, k, j = [], 0, 0
    while k < e:
        bit = w[(k0 + j) % n_cb]
        if bit is not NULL:
            out.append(bit)
            k += 1
        j += 1
    return out


def ref_conv_rm(d: list[list], e: int) -> list:
    """5.1.4.2.2 bit collection and selection as written."""
    w = sum((ref_interleave(s, P_CONV) for s in d), [])
    out, k, j = [], 0, 0
    while k < e:
        if w[j % len(w)] is not NULL:
            out.append(w[j % len(w)])
            k += 1
        j += 1
    return out


def labels(d_len: int, filler: int = 0) -> list[list]:
    """Coded-bit labels: label s * D + i for d^(s)_i; filler bits of d^(0), d^(1) are NULL."""
    return [[NULL if (s < 2 and i < filler) else s * d_len + i for i in range(d_len)] for s in range(3)]


def test_conv_interleaver_hand_worked_pbch():
    # D = 40: R = 2, N_D = 24 dummies. Row 0 = 24 NULLs then d0..d7, row 1 = d8..d39.
    # Columns in the order 1, 17, 9, 25, ...: (NULL, d9), (NULL, d25), (NULL, d17), (d1, d33), ...
    v = subblock_interleaver(40, tuple(P_CONV))
    assert v[:8].tolist() == [-1, 9, -1, 25, -1, 17, 1, 33]
    assert (v == -1).sum() == 24 and sorted(v[v >= 0].tolist()) == list(range(40))


@pytest.mark.parametrize("d_len", [1, 31, 32, 33, 40, 44, 100, 1028])
def test_interleavers_match_spec_reference(d_len):
    stream = list(range(d_len))
    for perm, third in [(P_CONV, False), (P_TURBO, False), (P_TURBO, True)]:
        expected = [-1 if x is NULL else x for x in ref_interleave(stream, perm, third)]
        assert subblock_interleaver(d_len, tuple(perm), third).tolist() == expected


def test_conv_rate_match_matches_reference():
    rng = np.random.default_rng(1)
    for k_len, e in [(40, 1920), (40, 100), (27 + 16, 72), (70, 576), (34, 36)]:
        d = rng.integers(0, 2, (3, k_len), dtype=np.uint8)
        idx = ref_conv_rm(labels(k_len), e)
        np.testing.assert_array_equal(rate_match_conv(d, e), d.reshape(-1)[idx])


def test_pbch_rate_match_is_16_repetitions():
    rng = np.random.default_rng(2)
    d = rng.integers(0, 2, (3, 40), dtype=np.uint8)
    e = rate_match_conv(d, 1920)
    assert e.shape == (1920,) and e.dtype == np.uint8
    np.testing.assert_array_equal(e.reshape(16, 120), np.tile(e[:120], (16, 1)))
    llr = rate_dematch_conv(1.0 - 2.0 * e, 40)
    np.testing.assert_array_equal(llr, 16.0 * (1.0 - 2.0 * d))


@pytest.mark.parametrize("e", [30, 100, 120, 121, 500])
def test_conv_dematch_round_trip(e):
    rng = np.random.default_rng(e)
    d = rng.integers(0, 2, (3, 40), dtype=np.uint8)
    llr = rate_dematch_conv((1.0 - 2.0 * rate_match_conv(d, e)).astype(np.float32), 40)
    sent = llr != 0
    assert np.abs(llr).sum() == e
    np.testing.assert_array_equal((llr[sent] < 0).astype(np.uint8), d[sent])
    assert sent.sum() == min(e, 120)


@pytest.mark.parametrize(
    ("k_len", "filler", "e", "n_cb_args"),
    [
        (40, 0, 132, {}),
        (40, 8, 300, {}),
        (104, 0, 90, {}),
        (512, 24, 1600, {}),
        (1056, 0, 3000, {"n_soft": 250368, "c": 12}),  # N_cb limited by the soft buffer
    ],
)
def test_turbo_rate_match_matches_reference_every_rv(k_len, filler, e, n_cb_args):
    rng = np.random.default_rng(k_len + filler)
    d = rng.integers(0, 2, (3, k_len + 4), dtype=np.uint8)
    n_cb = soft_buffer_size(k_len, **n_cb_args)
    for rv in range(4):
        idx = ref_turbo_rm(labels(k_len + 4, filler), e, rv, n_cb)
        got = rate_match_turbo(d, e, rv, filler=filler, **n_cb_args)
        np.testing.assert_array_equal(got, d.reshape(-1)[idx], err_msg=f"rv={rv}")


def test_turbo_first_bit_hand_worked():
    # K = 6144: D = 6148, R = 193, N_D = 28, k0(rv 0) = 2R = 386 = column 2 (P = 8), row 0.
    # Row 0 of column 8 is y_8 = NULL (dummy), so e_0 = row 1: y_40 = d^(0)_12, e_1 = y_72 = d^(0)_44.
    d = np.zeros((3, 6148), dtype=np.uint8)
    d[0, 12] = 1
    d[0, 44] = 1
    e = rate_match_turbo(d, 3, 0)
    assert e.tolist() == [1, 1, 0]


@pytest.mark.parametrize("k_len", [40, 6144])
@pytest.mark.parametrize("rv", [0, 1, 2, 3])
def test_turbo_round_trip_every_rv(k_len, rv):
    rng = np.random.default_rng(10 * rv + k_len)
    d = rng.integers(0, 2, (3, k_len + 4), dtype=np.uint8)
    for e in [k_len // 2, 3 * k_len, 4 * k_len]:  # puncturing, about the mother rate, repetition
        llr = rate_dematch_turbo((1.0 - 2.0 * rate_match_turbo(d, e, rv)).astype(np.float32), k_len, rv)
        sent = llr != 0
        assert np.abs(llr).sum() == e
        np.testing.assert_array_equal((llr[sent] < 0).astype(np.uint8), d[sent])


def test_turbo_filler_never_sent_and_harq_combining():
    k_len, filler = 512, 24
    rng = np.random.default_rng(3)
    d = rng.integers(0, 2, (3, k_len + 4), dtype=np.uint8)
    d[:2, :filler] = 0
    buffer = None
    for rv in (0, 2, 3, 1):  # the DL rv order
        e = rate_match_turbo(d, 700, rv, filler=filler)
        llr = (1.0 - 2.0 * e).astype(np.float32)
        buffer = rate_dematch_turbo(llr, k_len, rv, filler=filler, soft_buffer=buffer)
    assert buffer.shape == (3, k_len + 4) and buffer.dtype == np.float32
    assert not buffer[:2, :filler].any()  # filler bits of d^(0), d^(1): never transmitted
    assert np.abs(buffer).sum() == 4 * 700
    sent = buffer != 0
    assert sent[2].all()  # 4 x 700 bits cover the whole buffer of non-NULL bits
    np.testing.assert_array_equal((buffer[sent] < 0).astype(np.uint8), d[sent])


def test_soft_buffer_size_hand_worked():
    # K = 6144: K_Pi = 6176, K_w = 18528. Category 1: N_soft = 250368, N_IR = 250368 / 8 = 31296.
    assert soft_buffer_size(6144) == 18528
    assert soft_buffer_size(6144, n_soft=250368, c=1) == 18528
    assert soft_buffer_size(6144, n_soft=250368, c=2) == 15648
    assert soft_buffer_size(6144, n_soft=250368, c=2, k_mimo=2) == 7824


def test_code_block_e_hand_worked():
    # G = 12000, 64QAM, 1 layer, C = 3: G' = 2000, gamma = 2: E = 3996 for r = 0, 4002 for r = 1, 2.
    assert [code_block_e(12000, 1, 6, 3, r) for r in range(3)] == [3996, 4002, 4002]
    assert [code_block_e(1200, 2, 2, 1, 0)] == [1200]
    with pytest.raises(ValueError, match="multiple"):
        code_block_e(1001, 1, 2, 1, 0)


def test_bad_input_messages():
    d = np.zeros((3, 44), dtype=np.uint8)
    with pytest.raises(ValueError, match="rv"):
        rate_match_turbo(d, 100, 4)
    with pytest.raises(ValueError, match="shape"):
        rate_match_conv(np.zeros((2, 40), np.uint8), 100)
    with pytest.raises(ValueError, match="soft_buffer"):
        rate_dematch_turbo(np.zeros(100, np.float32), 40, 0, soft_buffer=np.zeros((3, 40)))
