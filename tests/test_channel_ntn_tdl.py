"""NTN-TDL fading (channel/ntn_tdl.py) against TR 38.811 Tables 6.9.2-1..-4: power-delay profile,
LOS K-factor, Doppler, fractional delays and stream continuity."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import j0

from channel import NTN_TDL_PROFILES, NtnTdlChannel, tap_profile

FS = 30.72e6


def test_tables_as_published():
    """TR 38.811 v15.4.0 Tables 6.9.2-1..-4 (normalised delay, power dB, LOS)."""
    assert NTN_TDL_PROFILES["NTN-TDL-A"] == ((0.0, 0.0, False), (1.0811, -4.675, False), (2.8416, -6.482, False))
    assert [r[:2] for r in NTN_TDL_PROFILES["NTN-TDL-B"]] == [
        (0.0, 0.0), (0.7249, -1.973), (0.7410, -4.332), (5.7392, -11.914)]
    assert [r[:2] for r in NTN_TDL_PROFILES["NTN-TDL-C"]] == [(0.0, -0.394), (0.0, -10.618), (14.8124, -23.373)]
    assert [r[:2] for r in NTN_TDL_PROFILES["NTN-TDL-D"]] == [
        (0.0, -0.284), (0.0, -11.991), (0.5596, -9.887), (7.3340, -16.771)]
    assert tap_profile("NTN-TDL-C").k_factor_db == pytest.approx(10.224, abs=1e-9)
    assert tap_profile("NTN-TDL-D").k_factor_db == pytest.approx(11.707, abs=1e-9)
    assert tap_profile("NTN-TDL-A").k_factor_db is None
    for name in NTN_TDL_PROFILES:
        assert tap_profile(name).powers.sum() == pytest.approx(1.0)
    with pytest.raises(ValueError, match="NTN-TDL-A"):
        tap_profile("TDL-X")


@pytest.mark.parametrize("name", list(NTN_TDL_PROFILES))
def test_tap_powers_and_k_factor(name):
    """Long-run mean power of every tap = the table (normalised); the LOS tap's Ricean K from the moments
    of |g|^2 of the first-delay taps together: gamma = var/mean^2 = (1 + 2K)/(1 + K)^2."""
    prof = tap_profile(name)
    n = np.arange(0, int(FS * 10), int(FS * 2e-3))  # 10 s every 2 ms at f_D = 100 Hz: ~1000 coherence times
    gains = np.concatenate([
        NtnTdlChannel(name, delay_spread_s=100e-9, max_doppler_hz=100.0, sample_rate_hz=FS, seed=s).tap_gains(n)
        for s in range(4)], axis=1)
    power = np.mean(np.abs(gains) ** 2, axis=1)
    assert np.allclose(power, prof.powers, rtol=0.06, atol=1e-4), (power, prof.powers)
    if prof.los.any():
        first = gains[prof.delays_norm == 0].sum(axis=0)
        p = np.abs(first) ** 2
        gamma = p.var() / p.mean() ** 2
        k = ((1 - gamma) + np.sqrt(1 - gamma)) / gamma
        assert 10 * np.log10(k) == pytest.approx(prof.k_factor_db, abs=0.6)
    else:  # Rayleigh: |g|^2 exponential, gamma = 1
        p = np.abs(gains[0]) ** 2
        assert p.var() / p.mean() ** 2 == pytest.approx(1.0, abs=0.15)


def test_power_delay_profile_through_the_filter():
    """An impulse through the channel (no Doppler) is the sum of the tap gains on band-limited pulses at
    the scaled delays tau_n * DS; averaged over realisations, the energy around each delay is the
    table's power (NTN-TDL-A, DS 1 us: taps at 0, 33.2 and 87.3 samples)."""
    ds = 1e-6
    x = np.zeros(200)
    x[20] = 1.0
    prof = tap_profile("NTN-TDL-A")
    delays = prof.delays_norm * ds * FS
    energy = np.zeros(3)
    k = np.arange(200)
    for seed in range(300):
        ch = NtnTdlChannel("NTN-TDL-A", delay_spread_s=ds, max_doppler_hz=0.0, sample_rate_hz=FS, seed=seed)
        y = ch.apply_block(x).astype(np.complex128)
        g = ch.tap_gains(np.array([0]))[:, 0]
        ideal = sum(gi * np.sinc(k - 20 - d) for gi, d in zip(g, delays, strict=True))
        # the Kaiser-windowed sinc interpolator against the ideal pulse (window taper: a few % of the peak)
        assert np.max(np.abs(y - ideal)) < 0.03 * np.max(np.abs(g))
        edges = [0, 20 + (delays[0] + delays[1]) / 2, 20 + (delays[1] + delays[2]) / 2, 200]
        for i in range(3):
            energy[i] += np.sum(np.abs(y[int(edges[i]) : int(edges[i + 1])]) ** 2)
    energy /= 300
    assert np.allclose(energy, prof.powers, rtol=0.2), (energy, prof.powers)
    # the peak of each tap sits at its fractional delay
    ch = NtnTdlChannel("NTN-TDL-A", delay_spread_s=ds, max_doppler_hz=0.0, sample_rate_hz=FS, seed=1)
    y = np.abs(ch.apply_block(x))
    assert int(np.argmax(y[40:70])) + 40 == round(20 + delays[1])


def test_doppler_spectrum_and_los_rotation():
    """Rayleigh taps: autocorrelation J0(2 pi f_D tau) (Clarke); the LOS part turns at f_D cos(angle)."""
    fd = 50.0
    lags_s = np.array([0.0, 1e-3, 2.405 / (2 * np.pi * fd), 10e-3])
    t0 = np.arange(0, 2.0, 0.05)
    acc = np.zeros(lags_s.size, dtype=np.complex128)
    for seed in range(40):
        ch = NtnTdlChannel("NTN-TDL-A", delay_spread_s=0, max_doppler_hz=fd, sample_rate_hz=FS, seed=seed)
        g0 = ch.tap_gains(np.round(t0 * FS))[0]
        for i, lag in enumerate(lags_s):
            acc[i] += np.mean(np.conj(g0) * ch.tap_gains(np.round((t0 + lag) * FS))[0])
    rho = (acc / acc[0]).real
    assert np.allclose(rho, j0(2 * np.pi * fd * lags_s), atol=0.1), rho
    ch = NtnTdlChannel("NTN-TDL-C", delay_spread_s=0, max_doppler_hz=fd, sample_rate_hz=FS, seed=3,
                       los_angle_rad=np.pi / 3)
    los = ch.tap_gains(np.array([0, int(FS * 1e-3)]))[0]
    turn_hz = np.angle(los[1] / los[0]) / (2 * np.pi * 1e-3)
    assert turn_hz == pytest.approx(fd * np.cos(np.pi / 3), abs=1e-6)


def test_stream_is_continuous_and_seeded():
    rng = np.random.default_rng(0)
    x = (rng.standard_normal(5000) + 1j * rng.standard_normal(5000)).astype(np.complex64)
    kw = dict(delay_spread_s=300e-9, max_doppler_hz=500.0, sample_rate_hz=FS, seed=7)
    whole = NtnTdlChannel("NTN-TDL-D", **kw).apply(x)
    ch = NtnTdlChannel("NTN-TDL-D", **kw)
    parts = np.concatenate([ch.apply(x[:1234]), ch.apply(x[1234:3000]), ch.apply(x[3000:])])
    assert np.allclose(whole, parts, atol=1e-5)
    other = NtnTdlChannel("NTN-TDL-D", **{**kw, "seed": 8}).apply(x)
    assert not np.allclose(whole, other, atol=1e-2)
    # mean power is preserved on average (normalised profile): over a long white input
    assert np.mean(np.abs(whole[100:]) ** 2) / np.mean(np.abs(x) ** 2) == pytest.approx(1.0, abs=0.8)


def test_doppler_from_speed_and_errors():
    assert NtnTdlChannel.doppler_from_speed(100 / 3.6, 2e9) == pytest.approx(185.3, abs=0.1)
    with pytest.raises(ValueError):
        NtnTdlChannel("NTN-TDL-A", delay_spread_s=-1.0, max_doppler_hz=0, sample_rate_hz=FS)
    with pytest.raises(ValueError, match="1-D"):
        NtnTdlChannel("NTN-TDL-A", delay_spread_s=0, max_doppler_hz=0, sample_rate_hz=FS).apply(np.zeros((2, 2)))
