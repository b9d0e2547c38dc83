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


# numba: the add-compare-select recursion is sequential along the trellis (each step needs the
# previous step's 64 path metrics), so it cannot be written as whole-array NumPy code.
@njit(cache=True)
def _acs_step(metric, new_metric, decisions_t, outputs, branch):  # pragma: no cover - compiled
    """One trellis step: new_metric[s'] = max over the 2 predecessors; decisions_t[s'] = which."""
    n_states = metric.shape[0]
    half = n_states >> 1
    for s_new in range(n_states):
        u = s_new & 1
        s_a = s_new >> 1  # predecessor whose oldest bit c_{k-6} is 0
        s_b = s_a | half  # predecessor whose oldest bit c_{k-6} is 1
        m_a = metric[s_a] + branch[outputs[s_a, u]]
        m_b = metric[s_b] + branch[outputs[s_b, u]]
        if m_b > m_a:
            new_metric[s_new] = m_b
            decisions_t[s_new] = 1
        else:
            new_metric[s_new] = m_a
            decisions_t[s_new] = 0


@njit(cache=True)
def _branch_metrics(llr_b, k, branch):  # pragma: no cover - compiled
    """branch[w] = sum_i llr_i (1 - 2 d_i) for the 8 output words w (bit i = d^(i)): larger = better."""
    l0 = llr_b[0, k]
    l1 = llr_b[1, k]
    l2 = llr_b[2, k]
    for w in range(8):
        branch[w] = (-l0 if w & 1 else l0) + (-l1 if w & 2 else l1) + (-l2 if w & 4 else l2)


@njit(cache=True)
def _viterbi_tb(llr, outputs, wrap_steps, exact):  # pragma: no cover - compiled
    """Tail-biting Viterbi over a batch: llr (n, 3, K) float32 -> ((n, K) uint8, (n,) bool fallback).

    Pass 1 (wrap-around): the trellis runs over the block extended cyclically by `wrap_steps` at
    both ends from equal start metrics; the K middle decisions are traced back. If that path is
    not tail-biting inside the window (state entering it != state leaving it) and `exact`, pass 2
    runs one Viterbi per start state, forced to end there, and keeps the best: exact ML.
    """
    n_blocks, _, k_len = llr.shape
    n_states = outputs.shape[0]
    half = n_states >> 1
    n_steps = k_len + 2 * wrap_steps
    result = np.zeros((n_blocks, k_len), dtype=np.uint8)
    used_exact = np.zeros(n_blocks, dtype=np.bool_)
    decisions = np.zeros((n_steps, n_states), dtype=np.uint8)
    metric = np.zeros(n_states, dtype=np.float32)
    new_metric = np.zeros(n_states, dtype=np.float32)
    branch = np.zeros(8, dtype=np.float32)
    best_bits = np.zeros(k_len, dtype=np.uint8)
    for b in range(n_blocks):
        metric[:] = 0.0  # tail-biting: every start state equally likely
        for t in range(n_steps):
            _branch_metrics(llr[b], (t - wrap_steps) % k_len, branch)
            _acs_step(metric, new_metric, decisions[t], outputs, branch)
            top = new_metric.max()
            for s in range(n_states):
                metric[s] = new_metric[s] - top  # keep metrics bounded
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
                _branch_metrics(llr[b], k, branch)
                _acs_step(metric, new_metric, decisions[k], outputs, branch)
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

    llr: (3, K) float, row i = LLRs of d^(i), positive = bit 0; or a batch (..., 3, K).
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
    c_hat, _ = _viterbi_tb(flat, _OUTPUTS, _WRAP_STEPS, bool(exact_fallback))
    return c_hat.reshape(lead + (k_len,))
