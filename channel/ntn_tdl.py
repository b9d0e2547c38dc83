"""NTN tapped-delay-line fading (3GPP TR 38.811 6.9.2, NTN-TDL-A/B/C/D) applied to a sample stream.

Tap profiles: TR 38.811 v15.4.0 Tables 6.9.2-1 (NTN-TDL-A), 6.9.2-2 (-B), 6.9.2-3 (-C) and 6.9.2-4 (-D):
normalised delays tau_n (multiplied by the wanted RMS delay spread, as TR 38.901 7.7.3 scales its TDL
models) and powers in dB. C and D are line-of-sight: their first tap is split into a specular (LOS) part
and a Rayleigh part at the same delay, with K = 10.224 dB (C) and 11.707 dB (D).

Small-scale fading per Rayleigh tap: a sum of `n_sinusoids` complex exponentials with random arrival
angles and phases (Clarke/Jakes spectrum, maximum Doppler f_D = v f_c / c); the LOS part turns at
f_D cos(los_angle). Tap gains are functions of absolute time t = n / fs, so consecutive blocks of one
stream continue the same fading, and two channels with the same seed are identical. Delays are
fractional: each tap is a Kaiser-windowed sinc interpolator, which gives the stream a fixed extra
latency of `latency_samples` (the interpolators' half length), reported and removable.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["NTN_TDL_PROFILES", "TapProfile", "NtnTdlChannel", "tap_profile"]

SPEED_OF_LIGHT_M_S = 299_792_458.0


@dataclass(frozen=True)
class TapProfile:
    """A TDL profile: normalised delays (n_taps,), linear mean powers (n_taps,), which taps are the
    specular LOS component (n_taps,) bool. Powers sum to 1 when normalised."""

    name: str
    delays_norm: np.ndarray
    powers: np.ndarray
    los: np.ndarray

    @property
    def k_factor_db(self) -> float | None:
        """Ricean K of the first tap (LOS power over the Rayleigh power at the same delay), dB."""
        if not self.los.any():
            return None
        i = int(np.flatnonzero(self.los)[0])
        same = (self.delays_norm == self.delays_norm[i]) & ~self.los
        return float(10 * np.log10(self.powers[i] / self.powers[same].sum()))


# (normalised delay, power dB, LOS?) per tap, TR 38.811 v15.4.0 Tables 6.9.2-1 .. 6.9.2-4
NTN_TDL_PROFILES: dict[str, tuple[tuple[float, float, bool], ...]] = {
    "NTN-TDL-A": ((0.0, 0.0, False), (1.0811, -4.675, False), (2.8416, -6.482, False)),
    "NTN-TDL-B": ((0.0, 0.0, False), (0.7249, -1.973, False), (0.7410, -4.332, False), (5.7392, -11.914, False)),
    "NTN-TDL-C": ((0.0, -0.394, True), (0.0, -10.618, False), (14.8124, -23.373, False)),
    "NTN-TDL-D": ((0.0, -0.284, True), (0.0, -11.991, False), (0.5596, -9.887, False), (7.3340, -16.771, False)),
}


def tap_profile(name: str, normalize: bool = True) -> TapProfile:
    """The named profile ("NTN-TDL-A" .. "NTN-TDL-D"), powers linear, normalised to a sum of 1 unless
    `normalize` is False."""
    key = str(name).upper()
    if key not in NTN_TDL_PROFILES:
        raise ValueError(f"unknown NTN-TDL profile {name!r}; use one of {', '.join(NTN_TDL_PROFILES)}")
    rows = NTN_TDL_PROFILES[key]
    delays = np.array([r[0] for r in rows])
    powers = 10 ** (np.array([r[1] for r in rows]) / 10)
    if normalize:
        powers = powers / powers.sum()
    return TapProfile(key, delays, powers, np.array([r[2] for r in rows]))


class NtnTdlChannel:
    """One NTN-TDL fading link, applied block by block to a sample stream.

    profile: "NTN-TDL-A" .. "NTN-TDL-D"; delay_spread_s: RMS delay spread the normalised delays are
    scaled by; max_doppler_hz: f_D of the handset's motion (use `doppler_from_speed`); sample_rate_hz;
    seed: fading realisation; los_angle_rad: angle between the motion and the LOS path (C/D);
    n_sinusoids: per Rayleigh tap; half_length: sinc interpolator half length (= latency_samples).
    """

    def __init__(
        self,
        profile: str,
        *,
        delay_spread_s: float,
        max_doppler_hz: float,
        sample_rate_hz: float,
        seed: int = 0,
        los_angle_rad: float = np.pi / 4,
        n_sinusoids: int = 32,
        half_length: int = 16,
        normalize: bool = True,
    ) -> None:
        if delay_spread_s < 0 or max_doppler_hz < 0 or sample_rate_hz <= 0:
            raise ValueError("delay_spread_s and max_doppler_hz must be >= 0 and sample_rate_hz > 0")
        if n_sinusoids < 4 or half_length < 1:
            raise ValueError("n_sinusoids must be >= 4 and half_length >= 1")
        self.profile = tap_profile(profile, normalize)
        self.delays_s = self.profile.delays_norm * float(delay_spread_s)
        self.max_doppler_hz = float(max_doppler_hz)
        self.sample_rate_hz = float(sample_rate_hz)
        self.latency_samples = int(half_length)
        rng = np.random.default_rng(seed)
        n_taps = self.profile.powers.size
        # Rayleigh taps: sum of sinusoids with random angles of arrival and phases, unit mean power
        self._alpha = rng.uniform(0, 2 * np.pi, (n_taps, n_sinusoids))
        self._phi = rng.uniform(0, 2 * np.pi, (n_taps, n_sinusoids))
        self._los_phase = rng.uniform(0, 2 * np.pi, n_taps)
        self._los_doppler_hz = self.max_doppler_hz * np.cos(los_angle_rad)
        self._n_sin = n_sinusoids
        # fractional-delay interpolators, causal with the fixed latency
        delays_samples = self.delays_s * self.sample_rate_hz + half_length
        self._filters = [self._sinc_filter(d, half_length) for d in delays_samples]
        self._history = np.zeros(max(f.size for f in self._filters) - 1, dtype=np.complex128)
        self._n = 0  # absolute index of the next input sample

    @staticmethod
    def doppler_from_speed(speed_m_s: float, carrier_hz: float) -> float:
        """Maximum Doppler f_D = v f_c / c of a handset moving at `speed_m_s`."""
        return float(speed_m_s) * float(carrier_hz) / SPEED_OF_LIGHT_M_S

    @staticmethod
    def _sinc_filter(delay: float, half: int) -> np.ndarray:
        """Kaiser-windowed sinc taps h[k], k = 0 .. ceil(delay) + half: h[k] ~ sinc(k - delay)."""
        k = np.arange(int(np.ceil(delay)) + half + 1)
        x = k - delay
        beta = 8.0  # Kaiser window over |x| <= half
        w = np.where(np.abs(x) <= half, np.i0(beta * np.sqrt(np.clip(1 - (x / half) ** 2, 0, None))) / np.i0(beta), 0)
        return np.sinc(x) * w

    def tap_gains(self, n: np.ndarray) -> np.ndarray:
        """Complex gains of every tap at absolute sample indices `n`: (n_taps, len(n)) complex128, mean
        power per tap = the profile's power."""
        t = np.asarray(n, dtype=np.float64) / self.sample_rate_hz
        p = self.profile.powers
        gains = np.empty((p.size, t.size), dtype=np.complex128)
        for i in range(p.size):
            if self.profile.los[i]:
                g = np.exp(1j * (2 * np.pi * self._los_doppler_hz * t + self._los_phase[i]))
            else:
                phase = (2 * np.pi * self.max_doppler_hz * np.cos(self._alpha[i])[:, None] * t[None, :]
                         + self._phi[i][:, None])
                g = np.exp(1j * phase).sum(axis=0) / np.sqrt(self._n_sin)
            gains[i] = np.sqrt(p[i]) * g
        return gains

    def _gains_for_block(self, n0: int, size: int) -> np.ndarray:
        """Tap gains over a block, evaluated on a grid fine for the Doppler and linearly interpolated."""
        if self.max_doppler_hz == 0:
            return np.repeat(self.tap_gains(np.array([n0])), size, axis=1)
        step = max(1, int(self.sample_rate_hz / (200 * self.max_doppler_hz)))
        grid = np.arange((n0 // step) * step, n0 + size + step, step)  # absolute grid: blocks agree
        g = self.tap_gains(grid)
        n = np.arange(n0, n0 + size)
        return np.stack([np.interp(n, grid, gi.real) + 1j * np.interp(n, grid, gi.imag) for gi in g])

    def apply(self, x: np.ndarray) -> np.ndarray:
        """Pass the next block of the stream: y[n] = sum_i g_i(n) x(n - tau_i fs - latency). Returns
        complex64 of the same length; state (history, time) carries to the next call."""
        x = np.asarray(x, dtype=np.complex128)
        if x.ndim != 1:
            raise ValueError(f"apply takes a 1-D sample block, got shape {x.shape}")
        ext = np.concatenate([self._history, x])
        gains = self._gains_for_block(self._n, x.size)
        y = np.zeros(x.size, dtype=np.complex128)
        h = self._history.size
        for g, f in zip(gains, self._filters, strict=True):
            conv = np.convolve(ext, f)[h : h + x.size]
            y += g * conv
        if h:
            self._history = ext[-h:]
        self._n += x.size
        return y.astype(np.complex64)

    def apply_block(self, x: np.ndarray) -> np.ndarray:
        """One self-contained block with the interpolators' latency removed: the output is aligned with
        the input (tap 0 at delay 0). Uses the same fading process as a stream starting here."""
        padded = np.concatenate([np.asarray(x, dtype=np.complex128), np.zeros(self.latency_samples)])
        return self.apply(padded)[self.latency_samples :]
