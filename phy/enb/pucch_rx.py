"""The gateway's PUCCH receiver: format 1 (SR) and 1a/1b (HARQ-ACK) detection, format 2/2a/2b decoding,
from one demodulated uplink subframe (TS 36.211 5.4, 5.5.2.2; TS 36.212 5.2.3.3; TS 36.213 10.1).

Shift domain. Every PUCCH in a PRB uses the same base sequence r̄_u and the same cell-specific hopping
n_cs^cell(n_s, l); they differ in the shift they add on top of it (5.4.1, 5.4.2) and, for format 1, in the
orthogonal cover. Multiplying symbol l of the PRB by conj(r̄_u(n)) exp(-j 2 pi n_cs^cell(n_s, l) n / 12) and
taking a 12-point DFT over n therefore puts every UE in its own bin k = its relative shift, in every symbol:
C_l(k) = 12 h v_l for a UE with symbol value v_l and flat channel h over the PRB (12 x 15 kHz). Each slot
is one PRB with its own channel, so the receiver estimates one complex gain per slot.

Format 1/1a/1b (GLRT, unknown gain per slot): for each candidate symbol d of the format,
  Z_s(d) = sum_DMRS C_l(k_s) conj(w̄(m)) + conj(d) sum_data C_l(k_s) conj(S(n_s) w(m)),   s = slot,
which is the correlation of the slot's 84 REs with the full signature (|.| = 1 per RE), and
T(d) = sum_s |Z_s(d)|^2 / (84 sigma^2). With noise only, T(d) ~ Gamma(2, 1) (chi^2_4 / 2). The decision is
"present" when max_d T(d) exceeds the threshold set from the target false-alarm probability P_fa by a union
bound over the M = 1, 2, 4 candidates (P(Gamma(2,1) > gamma) = P_fa / M), and then d = argmax T(d).
sigma^2 is either given or estimated from the same PRB pair: the data symbols projected onto the fourth
length-4 Walsh cover [1, 1, -1, -1], which no format-1 resource uses (Table 5.4.1-2 has three), in all 12
bins of both slots: 24 noise-only values of variance 48 sigma^2. With the estimate the statistic is
2 F(4, 48) under noise only and the threshold follows from the F distribution, so P_fa holds without
knowing the noise level (CFAR). In a mixed PRB (N_cs^(1) > 0) format-2 users leak into that cover and
would raise the estimate, so there it uses only the format-1 bins 0 .. N_cs^(1)-1 (2 N_cs^(1) values, the
threshold follows their F distribution). The estimate is floored at NOISE_FLOOR_REL
(-50 dB) of the pair's received energy per RE, so noise-free inputs do not divide rounding by rounding.

Format 2/2a/2b (maximum likelihood over all 2^A code words, 36.212 5.2.3.3, and the 2a/2b symbol d(10)):
metric(a, d10) = sum_s |sum_data C_l(k_s) conj(d_a(l)) + C_l1(k_s) + conj(d10) C_l2(k_s)|^2, the same GLRT
with the code word's scrambled QPSK symbols; the best pair is the decision. The noise is estimated from the
residual of the fitted per-slot gain (12 complex degrees of freedom).

A known carrier-frequency offset (cfo_hz) is removed as a phase per SC-FDMA symbol (its common phase
error at the centre of the FFT window; the inter-carrier leakage of a few hundred Hz is negligible).

Several receive antennas (n_rx): the per-antenna statistics are summed (T ~ Gamma(2 n_rx, 1) on noise).

Not done here: DTX detection for format 2 (the MAC knows when a periodic report is due; `metric` and
`snr_db` are returned), the shortened format (SRS), extended CP, timing
and frequency estimation (both are taken as known: the UE's PRACH / PUSCH estimates).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy import special, stats

from ..channels.pucch import (
    CQI_MAX_BITS,
    DATA_SYMBOLS,
    DMRS_SYMBOLS,
    RM_BASIS_20,
    W_DMRS_FORMAT1,
    W_NSF4,
    format2_c_init,
    n_cs_cell,
    pucch_allocation,
)
from ..numerology import N_SC_RB, N_SYMB_SUBFRAME, SUBCARRIER_SPACING_HZ, numerology
from ..sequences import gold_sequence_cached
from ..ul_config import UlCellConfig
from ..ul_refsig import base_sequence, f_ss_pucch, sequence_group

__all__ = [
    "Format1Result",
    "Format2Result",
    "PucchReceiver",
    "format1_threshold",
    "detect_format1",
    "decode_format2",
    "N_NOISE_FORMAT1",
    "NOISE_FLOOR_REL",
]

_N_CANDIDATES = {"1": 1, "1a": 2, "1b": 4}
_CANDIDATES = {
    "1": (np.array([1.0 + 0j]), np.zeros((1, 0), dtype=np.uint8)),
    "1a": (np.array([1.0 + 0j, -1.0 + 0j]), np.array([[0], [1]], dtype=np.uint8)),  # Table 5.4.1-1
    "1b": (np.array([1.0 + 0j, -1j, 1j, -1.0 + 0j]), np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.uint8)),
}
_HARQ_2AB = {"2": _CANDIDATES["1"], "2a": _CANDIDATES["1a"], "2b": _CANDIDATES["1b"]}  # Table 5.4.2-1
N_NOISE_FORMAT1 = 24  # noise-only values per PRB pair: 12 bins x 2 slots on the unused cover
NOISE_FLOOR_REL = 1e-5  # lowest noise estimate relative to the PRB pair's received energy per RE (-50 dB)
_W_UNUSED = np.array([1.0, 1.0, -1.0, -1.0])  # orthogonal to every row of Table 5.4.1-2
_RE_PER_SLOT_F1 = 84  # 7 symbols x 12 subcarriers
_DATA1 = np.array(DATA_SYMBOLS["1"])
_DMRS1 = np.array(DMRS_SYMBOLS["1"])
_DATA2 = np.array(DATA_SYMBOLS["2"])
_DMRS2 = np.array(DMRS_SYMBOLS["2"])


@lru_cache(maxsize=64)
def format1_threshold(fmt: str, p_false_alarm: float, noise_dof: int | None = N_NOISE_FORMAT1, n_rx: int = 1) -> float:
    """Threshold on T = max_d T(d) for a false-alarm probability <= p_false_alarm on noise only (union bound
    over the format's candidates). noise_dof: number of complex noise-only values behind the sigma^2 estimate
    (None: sigma^2 known exactly). n_rx: receive antennas summed in T (Gamma(2 n_rx, 1) on noise); with the
    estimate, T is 2 n_rx F(4 n_rx, 2 noise_dof) on noise."""
    if fmt not in _N_CANDIDATES:
        raise ValueError(f"format must be '1', '1a' or '1b', got {fmt!r}")
    if not 0.0 < p_false_alarm < 1.0:
        raise ValueError(f"p_false_alarm must be in (0, 1), got {p_false_alarm}")
    p = p_false_alarm / _N_CANDIDATES[fmt]
    if noise_dof is None:
        return float(special.gammainccinv(2 * n_rx, p))
    return float(2.0 * n_rx * stats.f.isf(p, 4 * n_rx, 2 * noise_dof))


@dataclass(frozen=True)
class Format1Result:
    """Detection of format 1/1a/1b resources; every field has shape (*batch, n_resources[, n_bits]).

    detected: bool; bits: uint8 HARQ-ACK bits b(0)[, b(1)] (1 = ACK) of the best candidate (meaningful where
    detected; empty last axis for format 1); statistic: T / threshold (> 1 means detected);
    snr_db: estimated per-RE SNR of the resource; noise_var: sigma^2 per RE used.
    """

    detected: np.ndarray
    bits: np.ndarray
    statistic: np.ndarray
    snr_db: np.ndarray
    noise_var: np.ndarray


@dataclass(frozen=True)
class Format2Result:
    """Decoding of format 2/2a/2b resources; fields have shape (*batch, n_resources[, bits]).

    bits: (*batch, R, A) uint8 CQI payload a_0..a_{A-1}; harq_bits: (*batch, R, 0/1/2) uint8 from d(10);
    metric: the best GLRT metric in units of the per-slot noise energy (Gamma(2 n_rx, 1) on noise for a
    fixed hypothesis, about 2 n_rx (1 + 84 SNR) when present);
    snr_db: estimated per-RE SNR; noise_var: sigma^2 per RE from the residual.
    """

    bits: np.ndarray
    harq_bits: np.ndarray
    metric: np.ndarray
    snr_db: np.ndarray
    noise_var: np.ndarray


@lru_cache(maxsize=256)
def _derotation(cell: UlCellConfig, subframe: int) -> np.ndarray:
    """conj(r̄_u(n)) exp(-j 2 pi n_cs^cell(n_s, l) n / 12) for the 14 symbols: (14, 12) complex64. The group u
    of a slot is cell-wide (5.5.1.3, f_ss = N_ID mod 30), the same for every PUCCH PRB."""
    slots = (2 * subframe, 2 * subframe + 1)
    u0, u1 = (
        sequence_group(cell.n_id_cell, n_s, cell.pusch.group_hopping, f_ss_pucch(cell.n_id_cell)) for n_s in slots
    )
    cs = n_cs_cell(cell.n_id_cell)[[2 * subframe, 2 * subframe + 1]].reshape(N_SYMB_SUBFRAME)
    n = np.arange(N_SC_RB)
    base = np.concatenate([np.repeat(base_sequence(u, 0, N_SC_RB)[None, :], 7, axis=0) for u in (u0, u1)])
    out = (np.conj(base) * np.exp(-2j * np.pi * np.outer(cs, n) / N_SC_RB)).astype(np.complex64)
    out.setflags(write=False)
    return out


@lru_cache(maxsize=16)
def _cfo_phase(n_rb_ul: int, cfo_hz: float) -> np.ndarray:
    """exp(-j 2 pi f t_l), t_l the centre of symbol l's FFT window from the subframe start: (14, 1) complex64."""
    num = numerology(n_rb_ul)
    t = (num.symbol_starts + num.cp_lengths + num.fft_size / 2) / num.sample_rate_hz
    return np.exp(-2j * np.pi * cfo_hz * t)[:, None].astype(np.complex64)


@lru_cache(maxsize=16)
def _code_signs(n_bits: int) -> tuple[np.ndarray, np.ndarray]:
    """All 2^A payloads a_0..a_{A-1} (a_0 the MSB of the row index), (2^A, A) uint8, and 1 - 2 b_i of their
    (20, A) code words (36.212 5.2.3.3), (2^A, 20) float32; both read-only."""
    idx = np.arange(1 << n_bits)
    a = ((idx[:, None] >> np.arange(n_bits - 1, -1, -1)[None, :]) & 1).astype(np.uint8)
    code = (a.astype(np.int64) @ RM_BASIS_20[:, :n_bits].T.astype(np.int64)) % 2
    signs = (1 - 2 * code).astype(np.float32)
    a.setflags(write=False)
    signs.setflags(write=False)
    return a, signs


@lru_cache(maxsize=16)
def _code_signs_aug(n_bits: int) -> np.ndarray:
    """The code-word sign matrix per slot with a row of ones for the DMRS term: (22, 2^A) float32, rows 0..9 =
    1 - 2 b_i (i = 0..9, slot 0), row 10 = 1, rows 11..20 = 1 - 2 b_i (i = 10..19, slot 1), row 21 = 1."""
    signs = _code_signs(n_bits)[1]
    ones = np.ones((1, signs.shape[0]), dtype=np.float32)
    out = np.ascontiguousarray(np.concatenate([signs[:, :10].T, ones, signs[:, 10:].T, ones]))
    out.setflags(write=False)
    return out


def _best_code_words(groups: np.ndarray, signs_aug: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each group of rows (Re/Im x slot x antenna) of groups (G, n_rows, 22): the largest sum of squares
    of y = rows @ signs_aug over the code words, and its index; in chunks of about 4 M products so memory
    stays bounded. Returns (G,) float32 and (G,) intp."""
    n_g, n_rows, n_cw = groups.shape[0], groups.shape[1], signs_aug.shape[1]
    best_val = np.empty(n_g, dtype=np.float32)
    best_cw = np.empty(n_g, dtype=np.intp)
    step = max(1, (1 << 22) // (n_rows * n_cw))
    for g0 in range(0, n_g, step):
        y = groups[g0 : g0 + step].reshape(-1, 22) @ signs_aug  # (n_rows g, 2^A)
        y *= y
        metric = y.reshape(-1, n_rows, n_cw).sum(axis=1)
        idx = np.argmax(metric, axis=-1)
        best_cw[g0 : g0 + step] = idx
        best_val[g0 : g0 + step] = metric[np.arange(idx.size), idx]
    return best_val, best_cw


@lru_cache(maxsize=4096)
def _descrambling_signs(n_id_cell: int, subframe: int, rnti: int) -> np.ndarray:
    """1 - 2 c(i), i = 0..19, of the format-2 scrambling (36.211 5.4.2) as (2 slots, 10) float32, read-only."""
    c = gold_sequence_cached(format2_c_init(n_id_cell, subframe, rnti), 20).astype(np.float32)
    out = (1 - 2 * c).reshape(2, 10)
    out.setflags(write=False)
    return out


@dataclass(frozen=True)
class _Plan:
    """Where a list of R resources of one format family sits: the distinct PRB pairs (n_prb per slot), each
    resource's pair index (R,), its shift-domain bin per symbol (R, 14), for format 1 the conjugated
    DMRS and data weights over the 14 symbols (R, 14) (zero elsewhere), and per pair the bins whose unused
    cover is noise only (P, 12) bool: all 12, or in the mixed PRB only the format-1 shifts 0 .. N_cs^(1)-1."""

    pairs: tuple[tuple[int, int], ...]
    pair_of: np.ndarray
    bins: np.ndarray
    w_dmrs: np.ndarray
    w_data: np.ndarray
    noise_bins: np.ndarray


@lru_cache(maxsize=512)
def _plan(cell: UlCellConfig, subframe: int, family: str, n_list: tuple[int, ...]) -> _Plan:
    allocs = [pucch_allocation(cell, subframe, "1" if family == "1" else "2", n) for n in n_list]
    pairs = tuple(dict.fromkeys(a.n_prb for a in allocs))
    pair_of = np.array([pairs.index(a.n_prb) for a in allocs], dtype=np.intp)
    bins = np.array([np.repeat(a.rel_shift, 7) for a in allocs], dtype=np.intp).reshape(-1, N_SYMB_SUBFRAME)
    w_dmrs = np.zeros((len(allocs), N_SYMB_SUBFRAME), dtype=np.complex64)
    w_data = np.zeros_like(w_dmrs)
    if family == "1":
        for r, a in enumerate(allocs):
            for s in (0, 1):
                s_ns = 1.0 if a.n_prime[s] % 2 == 0 else 1j  # S(n_s), 5.4.1
                w_dmrs[r, 7 * s + _DMRS1] = np.conj(W_DMRS_FORMAT1[a.n_oc[s]])
                w_data[r, 7 * s + _DATA1] = np.conj(s_ns * W_NSF4[a.n_oc[s]])
    noise_bins = np.ones((len(pairs), N_SC_RB), dtype=bool)
    for a in allocs:
        if family == "1" and a.m == cell.pucch.n_rb_cqi and cell.pucch.n_cs_an > 0:  # the mixed PRB (5.4)
            noise_bins[pairs.index(a.n_prb), cell.pucch.n_cs_an :] = False
    for arr in (pair_of, bins, w_dmrs, w_data, noise_bins):
        arr.setflags(write=False)
    return _Plan(pairs, pair_of, bins, w_dmrs, w_data, noise_bins)


class PucchReceiver:
    """PUCCH detection for one uplink subframe of one cell.

    grid: (*batch, 14, 12 N_RB_UL) complex, the demodulated subframe (phy.scfdma.scfdma_demodulate), or
    (*batch, n_rx, 14, 12 N_RB_UL) with n_rx > 1 receive antennas (their statistics are summed: maximum-ratio
    combining of the per-antenna GLRTs, a common noise level); a leading batch axis runs many independent
    subframes (Monte Carlo) at once. cfo_hz: the UE group's known
    residual frequency offset, removed per symbol (0: none). timing_offset_s: its known residual arrival
    time (positive = late, within the CP), removed as a phase slope over the subcarriers (an uncorrected
    1 us costs about 0.5 dB, 2 us about 2 dB). Many resources are detected in one call (vectorised over
    resources and PRB pairs).
    """

    def __init__(
        self,
        grid: np.ndarray,
        cell: UlCellConfig,
        subframe: int,
        *,
        cfo_hz: float = 0.0,
        timing_offset_s: float = 0.0,
        n_rx: int = 1,
    ):
        grid = np.asarray(grid)
        if grid.ndim < 2 or grid.shape[-2:] != (N_SYMB_SUBFRAME, N_SC_RB * cell.n_rb_ul):
            raise ValueError(
                f"grid must be (..., 14, {N_SC_RB * cell.n_rb_ul}) for n_rb_ul={cell.n_rb_ul}, got {grid.shape}"
            )
        if n_rx < 1 or (n_rx > 1 and (grid.ndim < 3 or grid.shape[-3] != n_rx)):
            raise ValueError(f"with n_rx={n_rx} the grid must be (..., {n_rx}, 14, N_sc), got {grid.shape}")
        if not 0 <= subframe <= 9:
            raise ValueError(f"subframe must be 0..9, got {subframe}")
        self.n_rx = int(n_rx)
        self.grid = grid if n_rx > 1 else grid[..., None, :, :]  # always (*batch, n_rx, 14, N_sc) inside
        self.cell = cell
        self.subframe = subframe
        self.cfo_hz = float(cfo_hz)
        self.timing_offset_s = float(timing_offset_s)
        self._shift: dict[tuple[tuple[int, int], ...], np.ndarray] = {}
        self._noise: dict[tuple, np.ndarray] = {}

    @property
    def batch_shape(self) -> tuple[int, ...]:
        return self.grid.shape[:-3]

    def shift_domain(self, pairs: tuple[tuple[int, int], ...]) -> np.ndarray:
        """C_l(k) of the PRB pairs (n_prb slot 0, n_prb slot 1): (*batch, n_rx, P, 14, 12) complex64 (module
        doc)."""
        if pairs not in self._shift:
            prb = np.array(pairs, dtype=np.intp)[:, np.repeat([0, 1], 7)]  # (P, 14)
            k = N_SC_RB * prb[:, :, None] + np.arange(N_SC_RB)  # (P, 14, 12)
            y = self.grid[..., np.arange(N_SYMB_SUBFRAME)[None, :, None], k].astype(np.complex64, copy=False)
            y = y * _derotation(self.cell, self.subframe)
            if self.cfo_hz:
                y = y * _cfo_phase(self.cell.n_rb_ul, self.cfo_hz)
            if self.timing_offset_s:  # exp(+j 2 pi f_k tau), f_k = (k - 6 N_RB + 1/2) 15 kHz (5.6)
                f_k = (k - 6 * self.cell.n_rb_ul + 0.5) * SUBCARRIER_SPACING_HZ
                y = y * np.exp(2j * np.pi * f_k * self.timing_offset_s).astype(np.complex64)
            self._shift[pairs] = np.fft.fft(y, axis=-1)
        return self._shift[pairs]

    def noise_var_format1(self, pairs: tuple[tuple[int, int], ...], noise_bins: np.ndarray) -> np.ndarray:
        """sigma^2 per RE of each PRB pair, estimated on the unused cover [1, 1, -1, -1] of the data symbols in
        the bins noise_bins (P, 12) of both slots (2 x 12 = N_NOISE_FORMAT1 values, 2 N_cs^(1) in the mixed
        PRB, whose other bins carry format 2), averaged over the receive antennas: (*batch, P) float64."""
        key = (pairs, noise_bins.tobytes())
        if key not in self._noise:
            c = self.shift_domain(pairs)
            q = np.stack([np.einsum("...mk,m->...k", c[..., 7 * s + _DATA1, :], _W_UNUSED) for s in (0, 1)], -2)
            q2 = np.sum((q.real**2 + q.imag**2) * noise_bins[:, None, :], axis=(-2, -1), dtype=np.float64)
            est = q2 / (2 * noise_bins.sum(axis=-1)) / (len(_DATA1) * N_SC_RB)
            # floor: NOISE_FLOOR_REL of the pair's received energy per RE (float32 processing and the sequences'
            # orthogonality bound the usable dynamic range; matters only for noise-free test signals)
            energy = np.mean(c.real**2 + c.imag**2, axis=(-2, -1), dtype=np.float64) / N_SC_RB
            self._noise[key] = np.mean(np.maximum(est, NOISE_FLOOR_REL * energy), axis=-2)
        return self._noise[key]

    def _columns(self, plan: _Plan) -> np.ndarray:
        """Each resource's bin in every symbol: (*batch, n_rx, R, 14) complex64."""
        c = self.shift_domain(plan.pairs)
        return c[..., plan.pair_of[:, None], np.arange(N_SYMB_SUBFRAME)[None, :], plan.bins]

    def detect_format1(self, fmt: str, n1_pucch, *, noise_var=None, p_false_alarm: float = 0.01) -> Format1Result:
        """Detect format fmt ('1' SR, '1a', '1b') on resource(s) n1_pucch (int or sequence of R ints).

        noise_var: sigma^2 per RE (scalar or batch-shaped) if known, else estimated per PRB pair (CFAR).
        p_false_alarm: probability of declaring a resource present on noise only (per resource, subframe).
        """
        if fmt not in _N_CANDIDATES:
            raise ValueError(f"detect_format1 takes format '1', '1a' or '1b', got {fmt!r}")
        n_list = tuple(int(n) for n in np.atleast_1d(np.asarray(n1_pucch, dtype=np.int64)))
        plan = _plan(self.cell, self.subframe, "1", n_list)
        cand, cand_bits = _CANDIDATES[fmt]
        col = self._columns(plan)  # (*batch, n_rx, R, 14)
        a = (col * plan.w_dmrs).reshape(*col.shape[:-1], 2, 7).sum(axis=-1)  # (*batch, n_rx, R, 2): DMRS part
        b = (col * plan.w_data).reshape(*col.shape[:-1], 2, 7).sum(axis=-1)  # data part (with d = 1)
        res_shape = (*self.batch_shape, len(n_list))
        if noise_var is None:
            sig2 = self.noise_var_format1(plan.pairs, plan.noise_bins)[..., plan.pair_of]  # (*batch, R)
            dof = 2 * self.n_rx * plan.noise_bins.sum(axis=-1)[plan.pair_of]  # noise values behind the estimate
            threshold = np.array([format1_threshold(fmt, p_false_alarm, int(n), self.n_rx) for n in dof])
        else:
            sig2 = np.broadcast_to(np.asarray(noise_var, dtype=np.float64)[..., None], res_shape)
            threshold = format1_threshold(fmt, p_false_alarm, None, self.n_rx)
        sig2 = np.maximum(sig2, np.finfo(np.float64).tiny)
        # Z_s(d) is the correlation over the slot's 84 REs: signal 84 h, noise variance 84 sigma^2
        zd = a[..., None] + np.conj(cand).astype(np.complex64) * b[..., None]  # (*batch, n_rx, R, 2, M)
        energy = np.sum(zd.real**2 + zd.imag**2, axis=(-4, -2), dtype=np.float64)  # (*batch, R, M)
        t = energy / (_RE_PER_SLOT_F1 * sig2[..., None])
        best = np.argmax(t, axis=-1)
        t_best = np.take_along_axis(t, best[..., None], axis=-1)[..., 0]
        e_best = np.take_along_axis(energy, best[..., None], axis=-1)[..., 0]
        # E|Z_s|^2 = 84^2 |h|^2 + 84 sigma^2 per slot and antenna
        g = _RE_PER_SLOT_F1
        h2 = np.maximum(e_best / (2.0 * self.n_rx) - g * sig2, 0.0) / g**2
        snr_db = 10 * np.log10(np.maximum(h2, 1e-30) / sig2)
        return Format1Result(
            detected=t_best > threshold,
            bits=cand_bits[best],
            statistic=t_best / threshold,
            snr_db=snr_db,
            noise_var=sig2,
        )

    def decode_format2(self, fmt: str, n2_pucch, rnti, n_bits: int) -> Format2Result:
        """Decode format fmt ('2', '2a', '2b') on resource(s) n2_pucch (int or sequence of R ints) for the
        C-RNTI(s) rnti (int or R ints) with an A = n_bits CQI payload: maximum likelihood over the 2^A code
        words and the d(10) candidates, the per-antenna metrics summed. Fields have shape (*batch, R[, bits])."""
        if fmt not in _HARQ_2AB:
            raise ValueError(f"decode_format2 takes format '2', '2a' or '2b', got {fmt!r}")
        if not 1 <= n_bits <= CQI_MAX_BITS:
            raise ValueError(f"n_bits (A) must be 1..{CQI_MAX_BITS}, got {n_bits}")
        n_list = tuple(int(n) for n in np.atleast_1d(np.asarray(n2_pucch, dtype=np.int64)))
        rntis = np.broadcast_to(np.asarray(rnti, dtype=np.int64), (len(n_list),))
        plan = _plan(self.cell, self.subframe, "2", n_list)
        col = self._columns(plan).reshape(*self.batch_shape, self.n_rx, len(n_list), 2, 7)
        zd = col[..., _DATA2]  # (*batch, n_rx, R, 2, 5)
        zr = col[..., _DMRS2]  # (*batch, n_rx, R, 2, 2)
        # descrambling signs c'(i) = 1 - 2 c(i) per resource (36.211 5.4.2): (R, 2, 10)
        c_sign = np.stack([_descrambling_signs(self.cell.n_id_cell, self.subframe, int(x)) for x in rntis])
        # conj(d) z = (a'_0 c'_0 - j a'_1 c'_1) z / sqrt(2) for QPSK d = ((1 - 2 b_0) + j (1 - 2 b_1)) / sqrt(2),
        # b = code XOR c: the code-word correlation is a real +-1 matrix times a descrambled vector
        mix = (c_sign * np.tile(np.array([1.0, -1j], dtype=np.complex64), 5) / np.sqrt(2)).astype(np.complex64)
        v = np.repeat(zd, 2, axis=-1) * mix  # (*batch, n_rx, R, 2, 10)
        payloads, signs = _code_signs(n_bits)
        d10, d10_bits = _HARQ_2AB[fmt]
        r = zr[..., 0, None] + np.conj(d10).astype(np.complex64) * zr[..., 1, None]  # (*batch, n_rx, R, 2, H)
        # y_s(a, h) = sum_data conj(d_a) z + z_DMRS1 + conj(d10_h) z_DMRS2 for both slots and every code word a
        # as one real matrix product: rows [Re, Im] x slot of [v_s, r_s] against [signs; 1] per slot (22, 2^A)
        n_h = len(d10)
        rows = np.zeros((*r.shape[:-2], n_h, 4, 22), dtype=np.float32)  # (*batch, n_rx, R, H, 4, 22)
        for s_ in (0, 1):
            vs = np.broadcast_to(v[..., s_, None, :], (*v.shape[:-2], n_h, 10))
            rs = r[..., s_, :]  # (*batch, n_rx, R, H)
            rows[..., 2 * s_, 11 * s_ : 11 * s_ + 10] = vs.real
            rows[..., 2 * s_, 11 * s_ + 10] = rs.real
            rows[..., 2 * s_ + 1, 11 * s_ : 11 * s_ + 10] = vs.imag
            rows[..., 2 * s_ + 1, 11 * s_ + 10] = rs.imag
        rows = np.moveaxis(rows, -5, -3)  # (*batch, R, H, n_rx, 4, 22)
        groups = rows.reshape(-1, 4 * self.n_rx, 22)  # one group per (batch, resource, d10 candidate)
        best_val, best_cw = _best_code_words(groups, _code_signs_aug(n_bits))
        best_val = best_val.reshape(rows.shape[:-3])  # (*batch, R, H): max over a of sum_{s, rx} |y|^2
        hq = np.argmax(best_val, axis=-1)
        cw = np.take_along_axis(best_cw.reshape(rows.shape[:-3]), hq[..., None], axis=-1)[..., 0]
        best_metric = np.take_along_axis(best_val, hq[..., None], axis=-1)[..., 0]
        # residual of the fitted per-slot gain: signature = 5 data symbols, DMRS 1, DMRS 2 x d10
        b_sign = signs[cw].reshape(*cw.shape, 2, 10) * c_sign  # 1 - 2 b of the scrambled bits
        sig = np.empty((*cw.shape, 2, 7), dtype=np.complex64)
        sig[..., :5] = (b_sign[..., 0::2] + 1j * b_sign[..., 1::2]) / np.sqrt(2)
        sig[..., 5] = 1.0
        sig[..., 6] = d10[hq][..., None]
        obs = np.concatenate([zd, zr], axis=-1)  # (*batch, n_rx, R, 2, 7)
        sig = sig[..., None, :, :, :]  # antenna axis
        h = np.sum(obs * np.conj(sig), axis=-1) / 7.0  # (*batch, n_rx, R, 2)
        resid = obs - h[..., None] * sig
        sig2 = np.sum(np.abs(resid) ** 2, axis=(-4, -2, -1), dtype=np.float64) / (12.0 * N_SC_RB * self.n_rx)
        sig2 = np.maximum(sig2, np.finfo(np.float64).tiny)
        h2 = np.mean(np.abs(h.astype(np.complex128)) ** 2, axis=(-3, -1)) / N_SC_RB**2
        return Format2Result(
            bits=payloads[cw],
            harq_bits=d10_bits[hq],
            metric=best_metric / (7 * N_SC_RB * sig2),
            snr_db=10 * np.log10(np.maximum(h2, 1e-30) / sig2),
            noise_var=sig2,
        )


def detect_format1(
    grid: np.ndarray,
    cell: UlCellConfig,
    subframe: int,
    fmt: str,
    n1_pucch,
    *,
    noise_var=None,
    p_false_alarm: float = 0.01,
    cfo_hz: float = 0.0,
    timing_offset_s: float = 0.0,
    n_rx: int = 1,
) -> Format1Result:
    """One-call form of PucchReceiver(grid, cell, subframe).detect_format1(fmt, n1_pucch, ...)."""
    rx = PucchReceiver(grid, cell, subframe, cfo_hz=cfo_hz, timing_offset_s=timing_offset_s, n_rx=n_rx)
    return rx.detect_format1(fmt, n1_pucch, noise_var=noise_var, p_false_alarm=p_false_alarm)


def decode_format2(
    grid: np.ndarray,
    cell: UlCellConfig,
    subframe: int,
    fmt: str,
    n2_pucch: int,
    rnti: int,
    n_bits: int,
    *,
    cfo_hz: float = 0.0,
    timing_offset_s: float = 0.0,
    n_rx: int = 1,
) -> Format2Result:
    """One-call form of PucchReceiver(grid, cell, subframe).decode_format2(fmt, n2_pucch, rnti, n_bits)."""
    rx = PucchReceiver(grid, cell, subframe, cfo_hz=cfo_hz, timing_offset_s=timing_offset_s, n_rx=n_rx)
    return rx.decode_format2(fmt, n2_pucch, rnti, n_bits)
