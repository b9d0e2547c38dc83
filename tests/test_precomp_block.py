"""Pre/post-compensation against a plain physics channel written here (skyfield GCRS light time per
hop, indexed by receive time as DESIGN.md 3 says), block-partition independence and LTE EVM."""

from __future__ import annotations

import numpy as np
import pytest

from gateway.cmd_plan import pass_residuals
from gateway.precomp import CompensationTrack, Compensator, guard_s
from orbit.geometry import C_M_S


class SkyChannel:
    """Truth: two-hop bent pipe with light time solved in GCRS by skyfield, receive-time indexed."""

    def __init__(self, sc):
        from skyfield.api import EarthSatellite, load, wgs84

        self.ts = load.timescale(delta_t=69.184)  # UT1 = UTC, as the gateway's dut1_s = 0
        self.sat = EarthSatellite(sc.tle.line1, sc.tle.line2, ts=self.ts)
        self.e = sc.epoch_utc
        self.site = lambda s: wgs84.latlon(s.lat_deg, s.lon_deg, elevation_m=s.alt_m)
        self.sc = sc

    def _t(self, t_s):
        e = self.e
        return self.ts.utc(e.year, e.month, e.day, e.hour, e.minute, e.second + e.microsecond * 1e-6 + t_s)

    def hop_rx(self, tx, rx, t_s):
        """tau(t): received at t by `rx`, sent at t - tau by `tx` (each 'sat' or a Site)."""
        def pos(who, t):
            return (self.sat.at(self._t(t)) if who == "sat" else self.site(who).at(self._t(t))).position.m
        r_rx = pos(rx, t_s)
        tau = np.zeros_like(t_s)
        for _ in range(5):
            tau = np.linalg.norm(pos(tx, t_s - tau) - r_rx, axis=0) / C_M_S
        return tau

    def dl(self, handset, t_rx, f1, f2):
        tau_s = self.hop_rx("sat", handset, t_rx)
        tau_f = self.hop_rx(self.sc.gateway, "sat", t_rx - tau_s)
        return tau_s + tau_f, f1 * tau_f + f2 * tau_s

    def ul(self, handset, t_rx, f1, f2):
        tau_f = self.hop_rx("sat", self.sc.gateway, t_rx)
        tau_s = self.hop_rx(handset, "sat", t_rx - tau_f)
        return tau_s + tau_f, f1 * tau_s + f2 * tau_f


def _residual_dl(chan, track, d, site, t_rx, c):
    """Residual delay (s) and phase (cycles) at receive times: y(t) = x(t - D - res) exp(j 2 pi theta)."""
    tau, phi = chan.dl(site, t_rx, c.feeder_uplink_hz, c.service_dl_hz)
    t_tx = t_rx - tau
    tau_hat, _, phi_hat, _ = track.evaluate(t_tx * track.fs)
    return tau - tau_hat, phi_hat - phi


def test_beam_centre_residual_whole_pass(sc, pass_):
    fs = 1.92e6
    chan, c = SkyChannel(sc), sc.carriers
    track = sc.dl_track(fs)
    d = sc.target_delay_s(pass_, fs)
    t = np.arange(pass_.aos_s + 1, pass_.los_s - 1, 2.0)
    res, th1 = _residual_dl(chan, track, d, sc.beam, t, c)
    _, th2 = _residual_dl(chan, track, d, sc.beam, t + 0.01, c)
    doppler = (th2 - th1) / 0.01
    print(f"beam centre over the pass: |res delay| max {np.abs(res).max() * 1e9:.4f} ns, "
          f"|res Doppler| max {np.abs(doppler).max():.4f} Hz")
    assert np.abs(res).max() < 1e-9
    assert np.abs(doppler).max() < 1.0
    # without compensation the same channel shows ~1 MHz of Doppler: the check can fail
    tau, phi = chan.dl(sc.beam, t, c.feeder_uplink_hz, c.service_dl_hz)
    assert np.abs(np.gradient(phi, t)).max() > 1e5


def test_ul_post_compensation_whole_pass(sc, pass_):
    fs = 1.92e6
    chan, c = SkyChannel(sc), sc.carriers
    d = sc.target_delay_s(pass_, fs)
    track = sc.ul_track(fs)
    t_out = np.arange(pass_.aos_s + 1 + d, pass_.los_s - 1, 3.0)  # gateway output time n / fs
    res = []
    for dt in (0.0, 0.01):
        tau_hat, _, phi_hat, _ = track.evaluate((t_out + dt - d) * fs)
        p = t_out + dt - d + tau_hat  # gateway receive time read for output t
        tau, phi = chan.ul(sc.beam, p, c.service_ul_hz, c.feeder_downlink_hz)
        res.append(((t_out + dt - d) - (p - tau), phi_hat - phi))
    doppler = (res[1][1] - res[0][1]) / 0.01
    assert np.abs(res[0][0]).max() < 1e-9
    assert np.abs(doppler).max() < 1.0


def test_one_hop_residual(sc, pass_):
    """One hop (gateway -> satellite feeder uplink) pre-compensated, checked at the satellite."""
    from orbit.geometry import solve_light_time

    fs, f = 1.92e6, sc.carriers.feeder_uplink_hz

    def func(t):
        tau, rate, *_ = solve_light_time(sc.gateway, sc.sat, t, fixed="tx")
        return tau, rate, f * tau, f * rate

    track = CompensationTrack(func, fs, 0.01)
    chan = SkyChannel(sc)
    t = np.arange(pass_.aos_s + 1, pass_.los_s - 1, 5.0)
    out = []
    for dt in (0.0, 0.01):
        tau = chan.hop_rx(sc.gateway, "sat", t + dt)
        tau_hat, _, phi_hat, _ = track.evaluate((t + dt - tau) * fs)
        out.append((tau - tau_hat, phi_hat - f * tau))
    assert np.abs(out[0][0]).max() < 1e-9
    assert np.abs((out[1][1] - out[0][1]) / 0.01).max() < 1.0


def test_sample_level_two_tones(sc, pass_):
    """Run the streaming block on two tones, compare with the channel's ideal pre-distorted samples."""
    fs = 1.92e6
    chan, c = SkyChannel(sc), sc.carriers
    d = sc.target_delay_s(pass_, fs)
    n0 = int(round((pass_.max_time_s - 30.0) * fs))
    n = np.arange(n0, n0 + int(0.002 * fs))  # 2 ms, every sample solved exactly by the channel
    # ideal: the sample sent at n must reach the beam centre at t_rx with t_rx - tau(t_rx) = n / fs
    t_tx = n / fs
    t_rx = t_tx + sc.max_delay_s(pass_, step_s=5.0)
    for _ in range(3):
        tau, _ = chan.dl(sc.beam, t_rx, c.feeder_uplink_hz, c.service_dl_hz)
        t_rx = t_tx + tau
    tau, phi = chan.dl(sc.beam, t_rx, c.feeder_uplink_hz, c.service_dl_hz)
    phases = []
    for f_tone in (-0.4e6, 0.4e6):
        def x(t, f_tone=f_tone):
            return np.exp(2j * np.pi * f_tone * t)
        ideal = x(t_tx + tau - d) * np.exp(2j * np.pi * phi)
        comp = Compensator(sc.dl_track(fs), d, "both")
        m = np.arange(n0 - int(d * fs) - 2000, n[-1] + 1)
        out = comp.process(x(m / fs).astype(np.complex64), int(m[0]))[-n.size:]
        phases.append(np.unwrap(np.angle(out * np.conj(ideal))) / (2 * np.pi))
    res_delay = (phases[1] - phases[0]) / 0.8e6  # cycles / Hz = s
    res_phase = 0.5 * (phases[0] + phases[1])
    slope = np.polyfit(n / fs, res_phase, 1)[0]
    print(f"sample level: residual delay {np.abs(res_delay).max() * 1e9:.3f} ns, Doppler {slope:.4f} Hz")
    assert np.abs(res_delay).max() < 1e-9
    assert abs(slope) < 1.0


def test_handset_24km_sees_predicted_differentials(sc, pass_):
    fs = 1.92e6
    chan, c = SkyChannel(sc), sc.carriers
    track = sc.dl_track(fs)
    d = sc.target_delay_s(pass_, fs)
    t = np.arange(pass_.aos_s + 2, pass_.los_s - 2, 10.0)
    res, th1 = _residual_dl(chan, track, d, sc.edge, t, c)
    _, th2 = _residual_dl(chan, track, d, sc.edge, t + 0.01, c)
    measured_doppler = (th2 - th1) / 0.01
    # geometry's prediction, indexed by the gateway send time of the sample seen at t
    tau_edge, _ = chan.dl(sc.edge, t + 0.005, c.feeder_uplink_hz, c.service_dl_hz)
    pred_delay, pred_doppler = pass_residuals(sc, track, sc.edge, t + 0.005 - tau_edge)
    assert np.abs(measured_doppler).max() > 10.0  # a real differential
    assert np.abs(res - pred_delay).max() < 10e-9
    assert np.abs(measured_doppler - pred_doppler).max() < 1.0


def test_block_partition_independence(sc, pass_):
    fs = 1.92e6
    d = sc.target_delay_s(pass_, fs)
    rng = np.random.default_rng(5)
    n0 = int(pass_.aos_s * fs) + 1234
    x = ((rng.standard_normal(60000) + 1j * rng.standard_normal(60000)) * 0.18).astype(np.complex64)
    for mode, direction in (("both", "dl"), ("delay", "ul"), ("doppler", "dl")):
        track = sc.dl_track(fs) if direction == "dl" else sc.ul_track(fs)
        ref = Compensator(track, d, mode, direction).process(x, n0)
        cuts = np.r_[0, np.sort(rng.choice(np.arange(1, x.size), 25, replace=False)), x.size]
        comp = Compensator(track, d, mode, direction)
        out = np.concatenate([comp.process(x[a:b], n0 + a) for a, b in zip(cuts[:-1], cuts[1:], strict=False)])
        assert np.max(np.abs(out - ref)) <= 1e-6 * np.sqrt(np.mean(np.abs(ref) ** 2))
    off = Compensator(sc.dl_track(fs), d, "off").process(x, n0)
    assert np.array_equal(off, x)


def test_target_delay_too_small_is_refused(sc, pass_):
    fs = 1.92e6
    comp = Compensator(sc.dl_track(fs), 0.003, "both")  # below every two-hop delay of the pass
    n0 = int(pass_.max_time_s * fs)
    with pytest.raises(ValueError, match="too small"):
        comp.process(np.zeros(5000, np.complex64), n0)
    assert guard_s(fs) < sc.target_delay_s(pass_, fs) - sc.max_delay_s(pass_)


def _lte_symbols(rng, n_sym, n_fft=2048, n_sc=1200):
    """LTE-like 20 MHz OFDM at 30.72 Msps: 1200 QAM64 subcarriers around DC (DC unused), normal CP."""
    cps = [160 if i % 7 == 0 else 144 for i in range(n_sym)]
    levels = np.arange(-7, 8, 2) / np.sqrt(42)
    k = np.r_[np.arange(-n_sc // 2, 0), np.arange(1, n_sc // 2 + 1)]
    syms, starts, pos = [], [], 0
    for cp in cps:
        X = np.zeros(n_fft, complex)
        X[k % n_fft] = rng.choice(levels, n_sc) + 1j * rng.choice(levels, n_sc)
        starts.append((pos, cp, X))
        t = np.fft.ifft(X) * np.sqrt(n_fft) * 10 ** (-15 / 20) * np.sqrt(n_fft / n_sc)
        syms.append(np.r_[t[-cp:], t])
        pos += cp + n_fft
    return np.concatenate(syms).astype(np.complex64), starts, k


def test_interpolation_evm_lte_20mhz():
    """Delay-only warp of a 20 MHz LTE signal vs the exact per-symbol waveform: EVM < -50 dB."""
    fs = 30.72e6
    rng = np.random.default_rng(7)
    x, starts, k = _lte_symbols(rng, 28)
    d = 0.001

    def func(t):  # 40 us/s drift plus curvature: all fractional phases get visited within the record
        tau = 0.0009 - 4.7e-5 * t - 3e-4 * t**2
        return tau, -4.7e-5 - 6e-4 * t, 0 * t, 0 * t

    track = CompensationTrack(func, fs, 0.001)
    comp = Compensator(track, d, "delay")
    lead = int(0.0011 * fs)
    src = np.r_[np.zeros(lead, np.complex64), x]
    y = np.concatenate([comp.process(src[i:i + 7000], i) for i in range(0, src.size, 7000)])
    n = np.arange(src.size)
    tau_hat, *_ = track.evaluate(n.astype(float))
    pos = n + fs * (tau_hat - d) - lead  # position in x read for output n
    err = sig = 0.0
    for start, cp, X in starts:
        sel = (pos >= start + 40) & (pos < start + cp + 2048 - 40)
        tt = pos[sel] - start - cp
        truth = (np.exp(2j * np.pi * np.outer(tt, k) / 2048) @ X[k % 2048]) / np.sqrt(2048)
        truth *= 10 ** (-15 / 20) * np.sqrt(2048 / 1200)
        err += np.sum(np.abs(y[sel] - truth) ** 2)
        sig += np.sum(np.abs(truth) ** 2)
    evm_db = 10 * np.log10(err / sig)
    print(f"interpolation EVM on 20 MHz LTE: {evm_db:.1f} dB")
    assert evm_db < -50.0


def test_block_partition_independence_across_batches_and_knots(sc, pass_):
    """20 MHz stream crossing parameter-batch edges (65536 samples) and a track knot (10 ms): tiny,
    odd and large blocks give the same output as one call."""
    fs = 30.72e6
    d = sc.target_delay_s(pass_, fs)
    track = sc.dl_track(fs)
    rng = np.random.default_rng(11)
    n0 = (int(pass_.max_time_s * fs) // track.step + 1) * track.step - 100_003  # knot 100003 samples in
    x = ((rng.standard_normal(200_000) + 1j * rng.standard_normal(200_000)) * 0.18).astype(np.complex64)
    ref = Compensator(track, d, "both").process(x, n0)
    sizes = [1, 15, 17, 30720, 65536, 16, 3, 70000]
    cuts = np.r_[0, np.cumsum(sizes)]
    cuts = np.r_[cuts[cuts < x.size], x.size]
    comp = Compensator(track, d, "both")
    out = np.concatenate([comp.process(x[a:b], n0 + a) for a, b in zip(cuts[:-1], cuts[1:], strict=True)])
    assert np.max(np.abs(out - ref)) <= 1e-6 * np.sqrt(np.mean(np.abs(ref) ** 2))
    # and the warp really moved the samples: the output is not the input
    assert np.max(np.abs(ref - x)) > 0.1
