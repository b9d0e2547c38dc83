"""The gateway's PRACH detector: which preambles arrived in one occasion, when, and how strong
(the receiver side of TS 36.211 5.7; performance targets of TS 36.104 8.4).

Steps, for one occasion (the samples from the nominal preamble start, N_TA = 0):
  1. one 12 N_fft-point FFT of each sequence period (formats 2/3: the two periods averaged),
     the 839 PRACH bins picked out (the placement of phy/channels/prach.prach_bin_indices);
  2. per configured root u: multiply by conj(X_u(k)) and a zero-padded `ifft_size`-point IFFT (4096, a
     power of two: 4.9 profile samples per lag): the power delay profile over cyclic lags, one lag =
     1 / (839 * 1.25 kHz) = 0.954 us. A preamble with shift C_v arriving D lags late peaks at lag
     (D - C_v) mod 839;
  3. per preamble, its zone [C_v, C_v + W) read from the profile (W = N_CS - guard_lags: the zone minus
     the delay-spread guard; N_CS = 0: the whole period); for the restricted set the two Doppler alias
     zones +-d_u are read too (a frequency offset of one PRACH subcarrier moves the peak by d_u lags): the
     main zone plus the stronger of the two alias zones, added delay by delay, collects what a frequency
     offset of up to one subcarrier (1.25 kHz) leaves of the preamble's energy;
  4. noise per lag from a trimmed mean of the root's profile at whole lags (robust to the few peaks), the
     threshold from the exponential (Gamma(2, 1) for main + alias) tail so that a noise-only occasion
     raises any false detection with probability <= `false_alarm` (TS 36.104 8.4: 0.1 %; union bound
     over preambles and samples);
  5. a candidate weaker than the sidelobe bound of a stronger detection on the same root (the profile of
     a band-limited peak falls as <= 1/(4 d^2) at d lags), or sitting on one of its Doppler images
     (k d_u lags away) with a small share of its power, is dropped (restricted set: any same-root
     candidate 17 dB below it): one strong preamble does not raise ghosts in its neighbours' zones;
  6. arrival time from the peak with parabolic interpolation between profile samples, then refined on
     the continuous correlation (a fine 0.025-lag grid around it) with a last parabola.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.fft
from scipy.special import gammainccinv

from ..channels.prach import (
    DELTA_F_RA_HZ,
    N_ZC,
    _unit_spectrum,
    prach_bin_indices,
    prach_sample_counts,
    prach_time_config,
    preamble_set,
)
from ..numerology import numerology
from ..ul_config import PrachConfig

__all__ = ["PrachDetection", "PrachDetector", "LAG_S"]

LAG_S = 1.0 / (N_ZC * DELTA_F_RA_HZ)  # one cyclic-shift lag, 0.9537 us
_SIDELOBE_FACTOR = 0.5  # leakage bound P_strong * 0.5 / d^2, twice the 1/(4 d^2) envelope of a Dirichlet peak
_TRIMMED_MEAN_FACTOR = (1 - 0.05 * (1 - np.log(0.05))) / 0.95  # E[X | X < -ln 0.05], X ~ Exp(1)
_IMAGE_FACTOR = 0.15  # a Doppler image of a stronger preamble carries at most this share of its statistic
# Restricted set: a fractional frequency offset spreads images of a preamble over its whole root (k d_u for
# every k, each with delay sidelobes); a weaker detection on the same root must be within 17 dB of it.
_RESTRICTED_DYNAMIC_RANGE = 0.02
# timing refinement grid: +-0.25 lag in 0.025-lag steps, exp(j 2 pi k delta / 839) for k = 0..838
_FINE_DELTA = np.linspace(-0.25, 0.25, 21)
_FINE_BASIS_T = np.ascontiguousarray(np.exp(2j * np.pi * np.outer(np.arange(N_ZC), _FINE_DELTA) / N_ZC))


@dataclass(frozen=True)
class PrachDetection:
    """One detected preamble.

    preamble_index: 0..63; delay_s: arrival time after the nominal start (the timing advance the
    handset needs); delay_samples: the same at the cell's standard rate (float); power: the preamble's
    mean sample power over its sequence at the detector input (linear, input units squared);
    snr_db: per-PRACH-subcarrier SNR estimate; metric: peak over the detection threshold's noise unit.
    """

    preamble_index: int
    delay_s: float
    delay_samples: float
    power: float
    snr_db: float
    metric: float

    @property
    def timing_advance_16ts(self) -> int:
        """The RAR timing-advance command T_A = round(delay / (16 Ts)) >= 0 (TS 36.213 4.2.3, 36.321 6.1.3.5)."""
        return max(0, int(round(self.delay_s * 30.72e6 / 16)))


class PrachDetector:
    """Detector for one cell's PRACH configuration; `detect(samples)` runs one occasion.

    prach: the SIB2 prach-Config (phy.ul_config.PrachConfig); n_rb_ul: uplink bandwidth (its standard
    rate is the input rate); ifft_size: correlation IFFT length (4096: profile samples 0.195 us apart
    before interpolation); false_alarm: design probability of any false detection in one noise-only occasion
    (TS 36.104 8.4: <= 0.1 %), split evenly over the 64 preambles, so each preamble's share is
    false_alarm / 64; guard_lags: the end of each zone left out of the detection window (delay spread).
    """

    def __init__(
        self,
        prach: PrachConfig,
        n_rb_ul: int,
        *,
        ifft_size: int = 4096,
        false_alarm: float = 1e-3,
        guard_lags: int = 2,
    ) -> None:
        if ifft_size < 2 * N_ZC:
            raise ValueError(f"ifft_size must be >= {2 * N_ZC} (two profile samples per lag), got {ifft_size}")
        if not 0 < false_alarm < 1:
            raise ValueError(f"false_alarm must be in (0, 1), got {false_alarm}")
        self.prach = prach
        self.n_rb_ul = n_rb_ul
        self.preamble_format = prach_time_config(prach.config_index).preamble_format
        self.n_cp, self.n_seq, self.n_period = prach_sample_counts(self.preamble_format, n_rb_ul)
        self.sample_rate_hz = numerology(n_rb_ul).sample_rate_hz
        self._bins = prach_bin_indices(n_rb_ul, prach.freq_offset_prb) % self.n_period
        pset = preamble_set(prach.root_sequence_index, prach.zero_correlation_zone_config, prach.high_speed_flag)
        self.preambles = pset
        self._n_fft = int(ifft_size)
        self._step = N_ZC / self._n_fft  # lags per profile sample
        roots = pset.roots
        self._root_of = np.array([roots.index(int(u)) for u in pset.u])
        # conj(X_u(k)) with the IFFT's 1/n and the 1/839 of the correlation folded in: unit peak
        scale = self._n_fft / N_ZC
        self._conj_roots_unit = np.conj(np.stack([_unit_spectrum(u, 0) for u in roots]))
        self._conj_roots = (scale * self._conj_roots_unit).astype(np.complex64)
        self._whole = np.round(np.arange(N_ZC) / self._step).astype(np.int64) % self._n_fft  # ~ integer lags
        zone = pset.n_cs if pset.n_cs > 0 else N_ZC
        width = zone - int(guard_lags)
        if width < 1:
            raise ValueError(f"guard_lags {guard_lags} leaves no detection window in a {zone}-lag zone")
        self.window_lags = width
        # zone starts (lags) of each preamble: main zone at -C_v; restricted set also +-d_u
        main = (-pset.c_v) % N_ZC
        if pset.high_speed:
            starts = np.stack([main, (main + pset.d_u) % N_ZC, (main - pset.d_u) % N_ZC], axis=1)
        else:
            starts = main[:, None]
        self._zone_starts = starts  # (64, n_zones) int
        # a common delay grid tau_j = j * step for every zone, each zone read at its nearest profile sample
        # (<= step / 2 = 0.1 lag away); flat indices into the (n_roots, n_fft) profile array
        j = np.arange(int(width / self._step))
        idx = np.round((starts[:, :, None] + j * self._step) / self._step).astype(np.int64) % self._n_fft
        self._window_flat = self._root_of[:, None, None] * self._n_fft + idx  # (64, Z, J)
        self._main_offset = idx[:, 0, 0] * self._step - starts[:, 0]  # lag of the main zone's sample 0
        # statistic: restricted set, main zone + the stronger-combining alias zone (two Gamma(2, 1) sums
        # per delay); unrestricted, the main zone alone (exponential)
        self._n_combined = 2 if pset.high_speed else 1
        n_tests = j.size * (2 if pset.high_speed else 1)
        self.false_alarm_per_preamble = false_alarm / 64
        # union bound over the window's samples, with a factor 4: at thresholds this high a band-limited
        # profile crosses more often than once per profile sample (Rice), and the noise is estimated
        # (with a factor 2, 10^4 noise-only occasions gave 0.07 % per occasion: too close to 0.1 %)
        per_sample = self.false_alarm_per_preamble / (4 * n_tests)
        self.threshold = float(gammainccinv(self._n_combined, per_sample))  # in units of the noise per lag

    # ----------------------------------------------------------------------------------------------

    def prach_bins(self, samples: np.ndarray) -> np.ndarray:
        """The 839 received PRACH bins y(k), unitary DFT of each sequence period, periods averaged:
        (839,) complex128. `samples` start at the nominal preamble start (first CP sample)."""
        x = np.asarray(samples)
        need = self.n_cp + self.n_seq
        if x.ndim != 1 or x.size < need:
            raise ValueError(
                f"PRACH occasion needs >= {need} samples (CP + sequence, format {self.preamble_format} at "
                f"{self.sample_rate_hz / 1e6:g} Msps) from the preamble start, got shape {x.shape}"
            )
        reps = self.n_seq // self.n_period
        blocks = x[self.n_cp : self.n_cp + reps * self.n_period].reshape(reps, self.n_period)
        spec = scipy.fft.fft(blocks, axis=1, norm="ortho")
        return spec[:, self._bins].mean(axis=0)

    def power_delay_profiles(self, bins: np.ndarray) -> np.ndarray:
        """|z_r(lag)|^2 per configured root r over cyclic lags, sample m at lag m * 839 / ifft_size:
        (n_roots, ifft_size) float32, scaled so a unit-bin preamble at its exact lag gives 1."""
        padded = np.zeros((self._conj_roots.shape[0], self._n_fft), dtype=np.complex64)
        np.multiply(bins.astype(np.complex64)[None, :], self._conj_roots, out=padded[:, :N_ZC])
        z = scipy.fft.ifft(padded, axis=1, overwrite_x=True)
        return z.real**2 + z.imag**2

    def detect(self, samples: np.ndarray) -> list[PrachDetection]:
        """Detected preambles of one occasion, strongest first (see the module docstring)."""
        bins = self.prach_bins(samples)
        pdp = self.power_delay_profiles(bins)
        whole = pdp[:, self._whole]  # ~ whole lags: nearly independent exponentials on noise
        # trimmed mean: the smallest 95 % of the lags over E[X | X < q95] = 0.8423 of an exponential's
        # mean (the few signal peaks and their sidelobes fall in the trimmed tail)
        keep = int(0.95 * N_ZC)
        low = np.partition(whole, keep, axis=1)[:, :keep]
        noise = low.mean(axis=1, dtype=np.float64) / _TRIMMED_MEAN_FACTOR
        noise = np.maximum(noise, 1e-30 + 1e-13 * float(pdp.max(initial=0.0)))
        per_zone = pdp.ravel()[self._window_flat]  # (64, Z, J)
        if self._n_combined == 2:  # a frequency offset within +-1 PRACH subcarrier: main + one alias
            pair = per_zone[:, :1, :] + per_zone[:, 1:, :]  # (64, 2, J)
            best = np.argmax(pair.max(axis=2), axis=1)
            combined = pair[np.arange(64), best]
            zones_used = np.stack([np.zeros(64, np.int64), best + 1], axis=1)  # main + that alias
        else:
            combined = per_zone[:, 0, :]
            zones_used = np.zeros((64, 1), np.int64)
        stat = combined / noise[self._root_of][:, None]  # (64, J)
        peak_j = np.argmax(stat, axis=1)
        peak = stat[np.arange(64), peak_j]
        candidates = np.flatnonzero(peak > self.threshold)
        if candidates.size == 0:
            return []
        candidates = candidates[np.argsort(-peak[candidates])]
        accepted: list[tuple[int, float, np.ndarray]] = []  # (root, power, zone peak lags)
        out: list[PrachDetection] = []
        for v in candidates:
            tau = self._interpolate(stat[v], int(peak_j[v])) * self._step + self._main_offset[v]  # lags
            tau, peak_power = self._refine(bins, int(self._root_of[v]), self._zone_starts[v, zones_used[v]], tau)
            lags = (self._zone_starts[v] + tau) % N_ZC
            root = int(self._root_of[v])
            p = float(peak[v])
            d_u = int(self.preambles.d_u[v])
            floor = _RESTRICTED_DYNAMIC_RANGE if self.preambles.high_speed else 0.0
            if any(r == root and (p < floor * pa or self._is_sidelobe(p, lags, pa, la, d_u)) for r, pa, la in accepted):
                continue
            accepted.append((root, p, lags[:1]))
            noise_lag = float(noise[root])
            h2 = max(peak_power - self._n_combined * noise_lag, 0.0)  # signal power per PRACH bin (unitary DFT)
            snr = h2 / (noise_lag * N_ZC)
            delay_s = tau * LAG_S
            out.append(PrachDetection(
                preamble_index=int(v),
                delay_s=float(delay_s),
                delay_samples=float(delay_s * self.sample_rate_hz),
                power=float(h2 * N_ZC / self.n_period),
                snr_db=float(10 * np.log10(snr)) if snr > 0 else float("-inf"),
                metric=float(p / self.threshold),
            ))
        return out

    def _refine(self, bins: np.ndarray, root: int, zone_starts: np.ndarray, tau: float) -> tuple[float, float]:
        """Arrival time (lags) refined on the continuous correlation z(t) = (1/839) sum_k y(k) conj(X_u(k))
        exp(j 2 pi k t / 839) over +-0.25 lag around `tau` in 0.025-lag steps, summed over the zones used,
        with a final parabola: free of the profile grid's sampling bias. Returns (tau, peak power)."""
        w = bins * self._conj_roots_unit[root] / N_ZC
        k = np.arange(N_ZC)
        phase = np.exp(2j * np.pi * np.outer(zone_starts + tau, k) / N_ZC)  # (zones, 839)
        z = (phase * w) @ _FINE_BASIS_T  # (zones, 21): z(start + tau + delta)
        power = (z.real**2 + z.imag**2).sum(axis=0)
        j = int(np.argmax(power))
        return tau + _FINE_DELTA[0] + self._interpolate(power, j) * (_FINE_DELTA[1] - _FINE_DELTA[0]), float(power[j])

    @staticmethod
    def _interpolate(profile: np.ndarray, j: int) -> float:
        """Peak position (in profile samples) by a parabola through the peak and its two neighbours."""
        if j == 0 or j == profile.size - 1:
            return float(j)
        a, b, c = profile[j - 1], profile[j], profile[j + 1]
        den = a - 2 * b + c
        return float(j) if den >= 0 else j + 0.5 * (a - c) / den

    @staticmethod
    def _is_sidelobe(p: float, lags: np.ndarray, p_strong: float, lag_strong: np.ndarray, d_u: int) -> bool:
        """Whether a candidate (statistic p, zone peak lags) is explained by a stronger detection on the
        same root (p_strong, its main-zone peak lag): a delay-domain sidelobe (<= 1/(4 d^2) of the peak
        at d lags), or a Doppler image at k d_u, |k| <= 3 (a frequency offset of eps subcarriers leaves
        sinc^2(k - eps) of the energy there, <= 5 % for |k| >= 2 and |eps| <= 0.8)."""
        d = np.abs(lags[:, None] - lag_strong[None, :]) % N_ZC
        d = float(np.min(np.minimum(d, N_ZC - d)))
        if d < 1.0 or p < p_strong * _SIDELOBE_FACTOR / d**2:
            return True
        images = (lag_strong[0] + d_u * np.array([-3, -2, -1, 1, 2, 3])) % N_ZC
        d_img = np.abs(lags[:, None] - images[None, :]) % N_ZC
        return bool(np.min(np.minimum(d_img, N_ZC - d_img)) < 1.5 and p < _IMAGE_FACTOR * p_strong)
