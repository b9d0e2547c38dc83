"""Tail-biting convolutional code of LTE: encoder and soft-input Viterbi decoder (TS 36.212 5.1.3.1).

Constraint length 7, rate 1/3, generators G0 = 133, G1 = 171, G2 = 165 (octal). The octal word's
most significant of its 7 bits taps the current input c_k, the least significant taps c_{k-6}:
d_k^(i) = sum_j g_i,j c_{k-j} mod 2, j = 0..6. The shift register starts with the last 6 input bits
(s_i = c_{K-1-i}), so c_{k-j} for k < j reads c_{K+k-j}: the code is cyclic in k.

Soft bits follow the project convention LLR = log(P(b=0)/P(b=1)): positive means bit 0.
"""

from __future__ import annotations

import numpy as np
from numba import njit

GENERATORS_OCTAL = (0o133, 0o171, 0o165)  # TS 36.212 5.1.3.1, G0, G1, G2
CONSTRAINT_LENGTH = 7
N_STATES = 1 << (CONSTRAINT_LENGTH - 1)
# Trellis steps decoded before and after the block (wrapping around it) so that the survivor paths
# of the K decided steps forget the unknown start state and merge: about 9 constraint lengths.
_WRAP_STEPS = 64


def _taps(generator_octal: int) -> np.ndarray:
    """(7,) uint8 g_i,j for j = 0..6 (j = delay, 0 = current input)."""
    return np.array(
        [(generator_octal >> (CONSTRAINT_LENGTH - 1 - j)) & 1 for j in range(CONSTRAINT_LENGTH)],
        dtype=np.uint8,
    )


TAPS = np.stack([_taps(g) for g in GENERATORS_OCTAL])  # (3, 7)


def tbcc_encode(c: np.ndarray) -> np.ndarray:
    """Tail-biting convolutional encoding (TS 36.212 5.1.3.1).

    c: (K,) uint8 0/1, or a batch (..., K). Returns d: (3, K) (or (..., 3, K)) uint8, row i = d^(i).
    """
    c = np.asarray(c)
    if c.ndim < 1 or c.shape[-1] < 1:
        raise ValueError(f"c must be a (K,) bit array with K >= 1, got shape {c.shape}")
    if c.dtype != np.uint8 and c.size and (c.min() < 0 or c.max() > 1):
        raise ValueError("c must hold only 0/1 values")
    flat = np.ascontiguousarray(c.reshape(-1, c.shape[-1]), dtype=np.uint8)
    d = np.empty((flat.shape[0], 3, flat.shape[1]), dtype=np.uint8)
    if not _tbcc_encode_kernel(flat, _OUTPUTS, d):
        raise ValueError("c must hold only 0/1 values")
    return d.reshape(c.shape[:-1] + (3, c.shape[-1]))


def _trellis_outputs() -> np.ndarray:
    """(64, 2) int8: 3-bit output word (bit i = d^(i)) leaving state s with input u.

    State s holds the previous inputs, bit (j-1) = c_{k-j} for j = 1..6.
    """
    out = np.zeros((N_STATES, 2), dtype=np.int8)
    for s in range(N_STATES):
        for u in (0, 1):
            reg = [u] + [(s >> (j - 1)) & 1 for j in range(1, CONSTRAINT_LENGTH)]
            word = 0
            for i in range(3):
                bit = sum(int(TAPS[i, j]) * reg[j] for j in range(CONSTRAINT_LENGTH)) & 1
                word |= bit << i
            out[s, u] = word
    return out


_OUTPUTS = _trellis_outputs()


# numba: the encoder is a shift register stepped bit by bit; for the short blocks of PBCH and DCI
# (K = 40..70) one compiled loop costs less than the NumPy calls that would vectorise it.
@njit(cache=True)
def _tbcc_encode_kernel(c, outputs, d):  # pragma: no cover - compiled
    """c (n, K) uint8 -> d (n, 3, K) uint8 via the trellis output words; False if c holds a non-bit."""
    n_blocks, k_len = c.shape
    n_mem = CONSTRAINT_LENGTH - 1
    for b in range(n_blocks):
        state = 0  # tail-biting start: bit (j-1) = c_{K-j}, j = 1..6 (c_{-j} read cyclically)
        for j in range(1, n_mem + 1):
            state |= np.int64(c[b, (k_len - j) % k_len]) << (j - 1)
        for k in range(k_len):
            u = c[b, k]
            if u > 1:
                return False
            word = outputs[state, u]
            d[b, 0, k] = word & 1
            d[b, 1, k] = (word >> 1) & 1
            d[b, 2, k] = (word >> 2) & 1
            state = ((state << 1) | u) & (N_STATES - 1)
    return True


def _branch_signs() -> np.ndarray:
    """(3, 32) float32: 1 - 2 d^(i) of the output word leaving state j < 32 with input 0.

    Every generator taps both c_k and c_{k-6} (g_i,0 = g_i,6 = 1), so flipping the input or the
    oldest state bit complements the whole word: the words of (j, 1) and (j + 32, 0) are the
    complement of (j, 0)'s, and (j + 32, 1)'s equals it. One branch metric per butterfly.
    """
    words = _OUTPUTS[: N_STATES // 2, 0]
    return np.stack([1.0 - 2.0 * ((words >> i) & 1) for i in range(3)]).astype(np.float32)


_SIGNS = _branch_signs()


# numba: the add-compare-select recursion is sequential along the trellis (each step needs the
# previous step's 64 path metrics), so it cannot be written as whole-array NumPy code. Inside a
# step the 32 butterflies are independent, contiguous loops that the compiler turns into SIMD.
# The float32 arithmetic is that of a state-by-state decoder (branch ((+-l0) + (+-l1)) + (+-l2),
# metric + branch, ties to the predecessor with c_{k-6} = 0, minus the step's maximum; x - g equals
# x + (-g) exactly), so the decisions are bit-identical to it (tests: reference_wrap_around).
@njit(cache=True, inline="always")
def _acs_step(metric, new_metric, decisions, t, signs, l0, l1, l2, pair_max):  # pragma: no cover - compiled
    """Trellis step t: new_metric[s'] = max over the 2 predecessors; decisions[t, s'] = which;
    pair_max[j] = the larger of new_metric[2 j] and new_metric[2 j + 1] (for _normalise).

    Butterfly j: states j and j + 32 (oldest bit c_{k-6} = 0 / 1) lead to 2 j + u for input u.
    Branch metric g = sum_i llr_i (1 - 2 d_i) of the word (j, 0): larger = better; the other
    three words of the butterfly are its complement (-g) or itself (signs: _branch_signs).
    """
    half = metric.shape[0] >> 1
    for j in range(half):
        g = signs[0, j] * l0 + signs[1, j] * l1 + signs[2, j] * l2
        m_a0 = metric[j] + g
        m_b0 = metric[j + half] - g
        m_a1 = metric[j] - g
        m_b1 = metric[j + half] + g
        pick_b0 = m_b0 > m_a0
        pick_b1 = m_b1 > m_a1
        new_0 = m_b0 if pick_b0 else m_a0
        new_1 = m_b1 if pick_b1 else m_a1
        new_metric[2 * j] = new_0
        new_metric[2 * j + 1] = new_1
        pair_max[j] = new_1 if new_1 > new_0 else new_0
        decisions[t, 2 * j] = pick_b0
        decisions[t, 2 * j + 1] = pick_b1


@njit(cache=True, inline="always")
def _normalise(new_metric, metric, pair_max, lanes):  # pragma: no cover - compiled
    """metric = new_metric - max(new_metric), keeping the metrics bounded.

    The maximum comes from the butterflies' pair_max (32,), folded onto lanes (8,) element-wise,
    then from the last 8 (SIMD-friendly; the maximum of finite values does not depend on the order
    it is taken in).
    """
    n_lanes = lanes.shape[0]
    for i in range(n_lanes):
        a = pair_max[i]
        b = pair_max[i + n_lanes]
        c = pair_max[i + 2 * n_lanes]
        d = pair_max[i + 3 * n_lanes]
        ab = b if b > a else a
        cd = d if d > c else c
        lanes[i] = cd if cd > ab else ab
    top = lanes[0]
    for i in range(1, n_lanes):
        top = lanes[i] if lanes[i] > top else top
    for s in range(metric.shape[0]):
        metric[s] = new_metric[s] - top


@njit(cache=True)
def _viterbi_tb(llr, signs, wrap_steps, exact):  # pragma: no cover - compiled
    """Tail-biting Viterbi over a batch: llr (n, 3, K) float32 -> ((n, K) uint8, (n,) bool fallback).

    One call decodes every block of the batch, one after the other.
    Pass 1 (wrap-around): the trellis runs over the block extended cyclically by `wrap_steps` at
    both ends from equal start metrics; the K middle decisions are traced back. If that path is
    not tail-biting inside the window (state entering it != state leaving it) and `exact`, pass 2
    runs one Viterbi per start state, forced to end there, and keeps the best: exact ML.
    """
    n_blocks, _, k_len = llr.shape
    n_states = 2 * signs.shape[1]
    half = n_states >> 1
    n_steps = k_len + 2 * wrap_steps
    result = np.zeros((n_blocks, k_len), dtype=np.uint8)
    used_exact = np.zeros(n_blocks, dtype=np.bool_)
    decisions = np.zeros((n_steps, n_states), dtype=np.uint8)
    metric = np.zeros(n_states, dtype=np.float32)
    new_metric = np.zeros(n_states, dtype=np.float32)
    best_bits = np.zeros(k_len, dtype=np.uint8)
    pair_max = np.zeros(half, dtype=np.float32)
    lanes = np.zeros(half // 4, dtype=np.float32)
    for b in range(n_blocks):
        metric[:] = 0.0  # tail-biting: every start state equally likely
        k = (k_len - wrap_steps % k_len) % k_len  # step t reads k = (t - wrap_steps) mod K
        for t in range(n_steps):
            _acs_step(metric, new_metric, decisions, t, signs, llr[b, 0, k], llr[b, 1, k], llr[b, 2, k], pair_max)
            _normalise(new_metric, metric, pair_max, lanes)
            k = k + 1 if k + 1 < k_len else 0
        state = np.argmax(metric)
        state_out = -1
        for t in range(n_steps - 1, -1, -1):
            if t == wrap_steps + k_len - 1:
                state_out = state
            if wrap_steps <= t < wrap_steps + k_len:
                result[b, t - wrap_steps] = state & 1
            state = (state >> 1) | (decisions[t, state] * half)
            if t == wrap_steps:
                state_in = state  # state before the window's first step
        if state_in == state_out or not exact:
            continue
        used_exact[b] = True
        best_total = -np.inf
        for s0 in range(n_states):
            metric[:] = -np.inf
            metric[s0] = 0.0
            for k in range(k_len):
                _acs_step(metric, new_metric, decisions, k, signs, llr[b, 0, k], llr[b, 1, k], llr[b, 2, k], pair_max)
                metric[:] = new_metric
            if metric[s0] > best_total:
                best_total = metric[s0]
                state = s0
                for k in range(k_len - 1, -1, -1):
                    best_bits[k] = state & 1
                    state = (state >> 1) | (decisions[k, state] * half)
        result[b] = best_bits
    return result, used_exact


def tbcc_decode(llr: np.ndarray, exact_fallback: bool = True) -> np.ndarray:
    """Soft-input Viterbi decoding of the tail-biting code (TS 36.212 5.1.3.1).

    llr: (3, K) float, row i = LLRs of d^(i), positive = bit 0; or a batch (..., 3, K), decoded in
    one compiled call (each block exactly as if alone: the batched decoder of PDCCH blind decoding).
    Returns c_hat: (K,) (or (..., K)) uint8. Wrap-around Viterbi first (the trellis runs over the
    block extended cyclically by 64 steps at each end, the K middle decisions are kept); when the
    traced path is not tail-biting and `exact_fallback` is True, an exact search (one Viterbi per
    start state, 64 times the work) replaces it. The result is then the maximum-likelihood codeword
    in nearly every block (tests compare with exhaustive ML).
    exact_fallback=False returns the wrap-around result directly, at the same cost for every block:
    for blind decoding (PDCCH candidates, most of them noise-only) where the CRC check decides. It
    gives up ML decoding only in the blocks whose wrap-around path is not tail-biting (rare once
    the block is decodable at all).
    """
    llr = np.asarray(llr)
    if llr.ndim < 2 or llr.shape[-2] != 3 or llr.shape[-1] < 1:
        raise ValueError(f"llr must have shape (3, K) or (..., 3, K), got {llr.shape}")
    lead = llr.shape[:-2]
    k_len = llr.shape[-1]
    flat = np.ascontiguousarray(llr.reshape(-1, 3, k_len), dtype=np.float32)
    if not np.all(np.isfinite(flat)):
        raise ValueError("llr holds NaN or infinite values")
    c_hat, _ = _viterbi_tb(flat, _SIGNS, _WRAP_STEPS, bool(exact_fallback))
    return c_hat.reshape(lead + (k_len,))
