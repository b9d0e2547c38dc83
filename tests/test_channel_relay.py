"""The relay emulator (channel.relay) against physics: delay by cross-correlation, Doppler on a tone, SNR
against a link budget worked by hand, block-size invariance, UL superposition, and the gateway's
pre-compensation end to end through the relay (beam centre and a handset 24 km away)."""

from __future__ import annotations

import numpy as np
import pytest

from channel import Handset, HopTruth, RelayConfig, RelayEmulator, light_time_rx
from gateway.cmd_plan import pass_residuals
from gateway.precomp import Compensator
from orbit import C_M_S, look_angles, offset_site, relay_dl
from phy.numerology import SAMPLE_RMS_FULL_LOAD, numerology
from phy.ofdm import ofdm_modulate

FS_5MHZ = 7.68e6  # 25 PRB: a pre-compensated 5 MHz cell (~1 MHz feeder Doppler) still fits +-fs/2


@pytest.fixture(scope="module")
def edge_site(sc):
    return offset_site(sc.beam, 24_000.0, 90.0, "edge")


def _relay(sc, handsets, fs=FS_5MHZ, n_rb=25, **cfg):
    return RelayEmulator(sc.sat, sc.gateway, sc.beam, sc.carriers, handsets, n_rb, fs, RelayConfig(**cfg))


def _noise(rng, n, scale=0.1):
    return (rng.standard_normal(2 * n).view(np.complex128) * scale).astype(np.complex64)


def _lowpass_noise(rng, n, band=0.35):
    """White noise band-limited to +-band fs (FFT mask): a wideband probe inside the interpolator's band."""
    x = np.fft.fft(rng.standard_normal(2 * n).view(np.complex128))
    f = np.fft.fftfreq(n)
    x[np.abs(f) > band] = 0
    return (np.fft.ifft(x) * 0.1).astype(np.complex64)


def test_hop_grid_interpolation_error_far_below_1ns(sc, pass_):
    hop = HopTruth(sc.sat, sc.beam, step_s=0.005)
    t = pass_.max_time_s + np.random.default_rng(1).uniform(-30.0, 30.0, 400)
    tau_i, rate_i = hop.evaluate(t)
    tau_d, rate_d = light_time_rx(sc.sat, sc.beam, t)
    print(f"hop interpolation error: {np.abs(tau_i - tau_d).max() * 1e15:.3f} fs, "
          f"rate {np.abs(rate_i - rate_d).max():.2e}")
    assert np.abs(tau_i - tau_d).max() < 1e-12
    assert np.abs(rate_i - rate_d).max() < 1e-10


def test_two_hop_truth_agrees_with_the_send_time_formulation(sc, pass_):
    """The relay's receive-time two-hop delay at t equals orbit.relay's send-time delay at t - T."""
    relay = _relay(sc, [Handset("c", sc.beam)], awgn=False)
    n = np.arange(5) * int(FS_5MHZ * 20) + int(pass_.max_time_s * FS_5MHZ)
    t, delay, phase, pos = relay.dl_truth("c", n)
    r = relay_dl(sc.gateway, sc.sat, sc.beam, t - delay, sc.carriers)
    assert np.abs(r.delay_s - delay).max() < 1e-12
    assert np.abs(np.mod(r.phase_cycles - phase + 0.5, 1.0) - 0.5).max() < 1e-3


def test_delay_by_cross_correlation_equals_geometric_two_hop_delay(sc, pass_):
    fs = FS_5MHZ
    relay = _relay(sc, [Handset("c", sc.beam)], awgn=False)
    n0 = int(round((pass_.max_time_s - 40.0) * fs))
    size = int(0.016 * fs)
    x = _lowpass_noise(np.random.default_rng(2), size)
    y = relay.downlink(x, n0)["c"]
    # geometry (orbit.relay, send-time indexed) at the middle of the analysed window
    m_mid = n0 + size - 4096 - 32
    t_rx = m_mid / fs
    t_send = t_rx - 0.006
    for _ in range(4):
        r = relay_dl(sc.gateway, sc.sat, sc.beam, np.array([t_send]), sc.carriers)
        t_send = t_rx - r.delay_s[0]
    doppler_hz = -r.phase_rate_hz[0] / (1 + r.delay_rate[0])
    seg = np.arange(m_mid - 4096, m_mid + 4096)
    derot = y[seg - n0] * np.exp(-2j * np.pi * doppler_hz * (seg - m_mid) / fs)
    lag0 = int(round(r.delay_s[0] * fs))
    lags = np.arange(lag0 - 20, lag0 + 21)
    corr = np.array([np.abs(np.vdot(x[seg - n0 - lag], derot)) for lag in lags])
    i = int(np.argmax(corr))
    a, b, c = corr[i - 1], corr[i], corr[i + 1]
    lag_hat = lags[i] + 0.5 * (a - c) / (a - 2 * b + c)
    print(f"xcorr delay {lag_hat / fs * 1e3:.6f} ms vs geometry {r.delay_s[0] * 1e3:.6f} ms "
          f"({lag_hat - r.delay_s[0] * fs:+.3f} samples)")
    assert abs(lag_hat - r.delay_s[0] * fs) < 1.0


@pytest.mark.parametrize("clock_ppm", [0.0, 0.5])
def test_doppler_on_a_tone_equals_minus_f_dtau_dt(sc, pass_, clock_ppm):
    fs = FS_5MHZ
    relay = _relay(sc, [Handset("h", sc.beam, clock_ppm=clock_ppm)], awgn=False)
    n0 = int(round((pass_.aos_s + 60.0) * fs))
    size = int(0.016 * fs)
    y = relay.downlink(np.ones(size, np.complex64), n0)["h"][-int(0.005 * fs):]
    m = np.arange(n0 + size - y.size, n0 + size)
    f_meas = np.polyfit((m - m[0]) / fs, np.unwrap(np.angle(y.astype(np.complex128))), 1)[0] / (2 * np.pi)
    e = clock_ppm * 1e-6
    t_rx = relay.n_ref / fs + (m.mean() - relay.n_ref) / (fs * (1 + e))
    t_send = t_rx - 0.006
    for _ in range(4):
        r = relay_dl(sc.gateway, sc.sat, sc.beam, np.array([t_send]), sc.carriers)
        t_send = t_rx - r.delay_s[0]
    # -f dtau/dt per hop, summed: d(phase)/dt_rx = phase_rate / (1 + delay_rate) (send -> receive time)
    doppler_hz = -r.phase_rate_hz[0] / (1 + r.delay_rate[0])
    expected = (doppler_hz - sc.carriers.service_dl_hz * e) / (1 + e)  # the handset's LO and sample clock
    print(f"tone: measured {f_meas:.3f} Hz, geometry {expected:.3f} Hz (ppm {clock_ppm})")
    assert abs(doppler_hz) > 1e5  # the raw two-hop Doppler is hundreds of kHz at a 46 GHz feeder
    assert abs(f_meas - expected) < 1.0


def _full_load_ofdm(rng, n_rb, n_subframes):
    qpsk = (rng.choice([-1.0, 1.0], (n_subframes, 14, 12 * n_rb, 2)) @ [1, 1j]) / np.sqrt(2)
    return ofdm_modulate(qpsk).reshape(-1)


@pytest.mark.parametrize("where", ["centre", "edge"])
def test_snr_at_handset_equals_link_budget(sc, pass_, edge_site, where):
    """Per-RE SNR measured on a full-load OFDM signal vs the budget worked out here from the geometry."""
    fs, n_rb = 1.92e6, 6
    site = sc.beam if where == "centre" else edge_site
    kw = dict(noise_ref_db=10.0)
    n0 = int(round((pass_.max_time_s - 10.0) * fs))
    x = _full_load_ofdm(np.random.default_rng(3), n_rb, 24)
    assert np.sqrt(np.mean(np.abs(x) ** 2)) == pytest.approx(SAMPLE_RMS_FULL_LOAD, rel=0.01)
    clean = _relay(sc, [Handset("h", site)], fs, n_rb, awgn=False, **kw).downlink(x, n0)["h"]
    noisy = _relay(sc, [Handset("h", site)], fs, n_rb, awgn=True, **kw).downlink(x, n0)["h"]
    keep = slice(int(0.010 * fs), None)  # after the two-hop delay: the signal has arrived
    p_sig = np.mean(np.abs(clean[keep]) ** 2)
    p_noise = np.mean(np.abs(noisy[keep] - clean[keep]) ** 2)
    num = numerology(n_rb)
    snr_meas = 10 * np.log10(p_sig / p_noise * (fs / 15e3) / num.n_subcarriers)
    # the budget by hand: EIRP 34 dBW/MHz, beam -12 (theta/3.4 deg)^2, FSPL, 5.3 dB losses, NF 7 dB, 290 K
    t = (n0 + x.size) / fs
    sat = sc.sat.state_itrf(np.array([t]))[0][0]
    _, _, rng_m = look_angles(site, sat[None, :])
    u, v = sc.beam.ecef_m - sat, site.ecef_m - sat
    theta = np.degrees(np.arccos(u @ v / np.linalg.norm(u) / np.linalg.norm(v)))
    f = sc.carriers.service_dl_hz
    fspl = 20 * np.log10(4 * np.pi * rng_m[0] * f / C_M_S)
    budget = (34.0 - 10 * np.log10(1e6 / 15e3) - 12 * (theta / 3.4) ** 2 - fspl - 5.3 + 0.0
              - (10 * np.log10(1.380649e-23 * 290 * 15e3) + 7.0))
    print(f"{where}: SNR measured {snr_meas:.2f} dB, budget {budget:.2f} dB (off axis {theta:.2f} deg)")
    assert abs(snr_meas - budget) < 0.5


def test_block_size_invariance_dl_and_ul_with_fading(sc, pass_, edge_site):
    fs = 1.92e6
    hs = [Handset("c", sc.beam, speed_m_s=3.0), Handset("e", edge_site, clock_ppm=-0.3, speed_m_s=30.0)]
    kw = dict(fading="NTN-TDL-C", awgn=True, seed=7)
    n0 = int(round(pass_.max_time_s * fs)) + 123
    rng = np.random.default_rng(4)
    size = 30000
    x = _noise(rng, size)
    ul_in = {"c": _noise(rng, size), "e": _noise(rng, size)}
    whole = _relay(sc, hs, fs, 6, **kw)
    ref_dl = whole.downlink(x, n0)
    ref_ul = whole.uplink(ul_in, n0)
    cuts = np.r_[0, np.sort(rng.choice(np.arange(1, size), 12, replace=False)), size]
    split = _relay(sc, hs, fs, 6, **kw)
    dl = {"c": [], "e": []}
    ul = []
    for a, b in zip(cuts[:-1], cuts[1:], strict=True):
        for k, v in split.downlink(x[a:b], n0 + a).items():
            dl[k].append(v)
        ul.append(split.uplink({k: v[a:b] for k, v in ul_in.items()}, n0 + a))
    for k in dl:
        got = np.concatenate(dl[k])
        assert np.max(np.abs(got - ref_dl[k])) <= 1e-5 * np.sqrt(np.mean(np.abs(ref_dl[k]) ** 2))
    got = np.concatenate(ul)
    assert np.max(np.abs(got - ref_ul)) <= 1e-5 * np.sqrt(np.mean(np.abs(ref_ul) ** 2))
    assert split.counters["dl_in"] == size and split.counters["dl_out_e"] == size and split.counters["ul_out"] == size
    with pytest.raises(ValueError, match="gap or overlap"):
        split.downlink(x[:10], n0)


def test_uplink_sums_the_handsets(sc, pass_, edge_site):
    fs = 1.92e6
    hs = [Handset("c", sc.beam), Handset("e", edge_site)]
    n0 = int(round(pass_.max_time_s * fs))
    size = int(0.02 * fs)
    rng = np.random.default_rng(6)
    xa, xb, zero = _noise(rng, size), _noise(rng, size), np.zeros(size, np.complex64)
    both = _relay(sc, hs, fs, 6, awgn=False).uplink({"c": xa, "e": xb}, n0)
    only_a = _relay(sc, hs, fs, 6, awgn=False).uplink({"c": xa, "e": zero}, n0)
    only_b = _relay(sc, hs, fs, 6, awgn=False).uplink({"c": zero, "e": xb}, n0)
    assert np.max(np.abs(both - only_a - only_b)) < 1e-5 * np.max(np.abs(both))
    keep = slice(int(0.012 * fs), None)
    relay = _relay(sc, hs, fs, 6)
    t1 = np.array([(n0 + size) / fs - 0.004])
    ratio_db = 10 * np.log10(np.mean(np.abs(only_a[keep]) ** 2) / np.mean(np.abs(only_b[keep]) ** 2))
    expected_db = relay.snr_db("c", t1, "ul")[0] - relay.snr_db("e", t1, "ul")[0]
    print(f"UL: centre/edge power ratio {ratio_db:.2f} dB, budget {expected_db:.2f} dB")
    assert expected_db > 3.0  # the edge is well down the beam
    assert abs(ratio_db - expected_db) < 0.3


# -- the gateway's pre-compensation through the relay ------------------------------------------------

TONES_HZ = (-0.4e6, 0.4e6, 0.405e6)  # a wide pair (fine delay) and a close pair (ambiguity 200 us)


def _through_gateway_and_relay(sc, pass_, handsets, t_centre_s, mode, fs=FS_5MHZ, length_s=0.016):
    """Three tones sent by the gateway (pre-compensated in `mode`) through the relay, noise-free.
    Returns (handset counters of the analysed last 5 ms, {name: {tone: samples}}, D)."""
    d = sc.target_delay_s(pass_, fs)
    n0 = int(round((t_centre_s - length_s) * fs))
    n = np.arange(n0, n0 + int(length_s * fs))
    x = sum(np.exp(2j * np.pi * f * n / fs) for f in TONES_HZ).astype(np.complex64)
    comp = Compensator(sc.dl_track(fs), d, mode, direction="dl")
    relay = _relay(sc, handsets, fs, 25, awgn=False)
    y = relay.downlink(comp.process(x, n0), n0)
    keep = int(0.005 * fs) + _AVG - 1  # analyse the last 5 ms
    return n[-keep:], {name: yy[-keep:] for name, yy in y.items()}, d


_AVG = 1536  # 200 us moving average at 7.68 Msps: nulls every 5 kHz


def _tone_phase(cnt, yy, f, offset_hz, fs=FS_5MHZ):
    """Phase (cycles) of the tone near f + offset_hz against exp(j 2 pi f cnt / fs), at the centres of
    200 us moving averages: mixed to DC first (so the other tones, 5 kHz and more away, fall in nulls)."""
    rel = (cnt - cnt[0]) / fs
    z = yy * np.exp(-2j * np.pi * (f * cnt / fs + offset_hz * rel))
    avg = np.convolve(z, np.ones(_AVG) / _AVG, mode="valid")
    centre = cnt[: avg.size] + (_AVG - 1) / 2.0
    return centre, np.unwrap(np.angle(avg)) / (2 * np.pi) + offset_hz * (centre - cnt[0]) / fs


def _residuals(cnt, yy, d, fs=FS_5MHZ):
    """Residual delay (s, per analysed instant) and frequency offset (Hz) relative to x(t - D): the phase
    of tone f against its ideal exp(j 2 pi f (t - D)) is -f d(t) + psi(t)."""
    f0, f1, f2 = TONES_HZ
    m, p0 = _tone_phase(cnt, yy, f0, 0.0)  # the lone tone (800 kHz from the others): a coarse offset
    offset = np.polyfit((m - m[0]) / fs, p0, 1)[0]
    ph = {f: _tone_phase(cnt, yy, f, offset)[1] + f * d for f in TONES_HZ}  # + f D: x(t - D)
    close = ph[f2] - ph[f1]  # = -(f2 - f1) d: unambiguous for |d| < 100 us
    coarse = -(close - np.round(np.mean(close))) / (f2 - f1)
    period = 1.0 / (f1 - f0)
    wide = -(ph[f1] - ph[f0]) / (f1 - f0)  # fine, modulo 1.25 us
    delay = wide + np.round((coarse - wide) / period) * period
    psi = ph[f1] + f1 * delay
    cfo = np.polyfit((m - m[0]) / fs, psi, 1)[0]
    return m, delay, cfo


def test_precomp_through_relay_beam_centre_and_edge(sc, pass_, edge_site):
    hs = [Handset("centre", sc.beam), Handset("edge", edge_site)]
    results = {}
    for dt in (0.0, 1.0):  # two windows 1 s apart: the timing drift
        t_c = pass_.max_time_s - 60.0 + dt
        cnt, y, d = _through_gateway_and_relay(sc, pass_, hs, t_c, "both")
        results[dt] = {name: _residuals(cnt, yy, d) for name, yy in y.items()}
    _, delay_c0, cfo_c0 = results[0.0]["centre"]
    _, delay_c1, cfo_c1 = results[1.0]["centre"]
    drift_ns_s = (np.mean(delay_c1) - np.mean(delay_c0)) * 1e9
    print(f"beam centre: residual delay {np.abs(delay_c0).max() * 1e9:.3f} ns, CFO {cfo_c0:.4f} / {cfo_c1:.4f} Hz, "
          f"drift {drift_ns_s:.3f} ns/s")
    assert np.abs(delay_c0).max() < 2e-9
    assert abs(cfo_c0) < 1.0 and abs(cfo_c1) < 1.0
    assert abs(drift_ns_s) < 10.0
    # the edge handset: the geometry's predicted residual (gateway.cmd_plan.pass_residuals)
    m, delay_e, cfo_e = results[0.0]["edge"]
    fs = FS_5MHZ
    t_rx = m.mean() / fs
    t_send = t_rx - 0.006
    for _ in range(4):
        t_send = t_rx - relay_dl(sc.gateway, sc.sat, edge_site, np.array([t_send]), sc.carriers).delay_s[0]
    pred_delay, pred_cfo = pass_residuals(sc, sc.dl_track(fs), edge_site, np.array([t_send]))
    print(f"edge 24 km: residual delay {np.mean(delay_e) * 1e9:.1f} ns (predicted {pred_delay[0] * 1e9:.1f}), "
          f"CFO {cfo_e:.2f} Hz (predicted {pred_cfo[0]:.2f})")
    assert abs(pred_delay[0]) > 10e-6 and abs(pred_cfo[0]) > 100.0  # a real differential
    assert abs(np.mean(delay_e) - pred_delay[0]) < 100e-9
    assert abs(cfo_e - pred_cfo[0]) < 5.0


def test_without_precomp_the_handset_sees_the_raw_doppler(sc, pass_):
    fs = FS_5MHZ
    d = sc.target_delay_s(pass_, fs)
    n0 = int(round((pass_.max_time_s - 20.0) * fs))
    size = int(0.016 * fs)
    comp = Compensator(sc.dl_track(fs), d, "off", direction="dl")
    relay = _relay(sc, [Handset("centre", sc.beam)], awgn=False)
    y = relay.downlink(comp.process(np.ones(size, np.complex64), n0), n0)["centre"][-int(0.005 * fs):]
    m = np.arange(n0 + size - y.size, n0 + size)
    cfo = np.polyfit((m - m[0]) / fs, np.unwrap(np.angle(y.astype(np.complex128))), 1)[0] / (2 * np.pi)
    t_rx = m.mean() / fs
    t_send = t_rx - 0.006
    for _ in range(4):
        r = relay_dl(sc.gateway, sc.sat, sc.beam, np.array([t_send]), sc.carriers)
        t_send = t_rx - r.delay_s[0]
    raw = -r.phase_rate_hz[0] / (1 + r.delay_rate[0])
    service = -sc.carriers.service_dl_hz * light_time_rx(sc.sat, sc.beam, np.array([t_rx]))[1][0]
    print(f"precomp off: CFO at the beam centre {cfo / 1e3:.3f} kHz (two-hop geometry {raw / 1e3:.3f} kHz, "
          f"of which the 770 MHz service hop {service / 1e3:.3f} kHz)")
    assert abs(cfo) > 1e5
    assert abs(cfo - raw) < 1.0


def test_on_board_lo_offset_and_drift(sc, pass_):
    """An LO too high by e(t) = e0 + drift (t - t_ref) moves the relayed DL by -e(t) (down-conversion)."""
    from dataclasses import replace

    fs = 1.92e6
    n0 = int(round((pass_.max_time_s - 5.0) * fs))
    size = int(0.02 * fs)
    ref = _relay(sc, [Handset("h", sc.beam)], fs, 6, awgn=False)
    lo = RelayEmulator(sc.sat, sc.gateway, sc.beam, replace(sc.carriers, lo_error_dl_hz=150.0), [Handset("h", sc.beam)],
                       6, fs, RelayConfig(awgn=False, lo_drift_dl_hz_s=-40.0))
    x = np.ones(size, np.complex64)
    ratio = (lo.downlink(x, n0)["h"] * np.conj(ref.downlink(x, n0)["h"]))[-int(0.008 * fs):].astype(np.complex128)
    m = np.arange(n0 + size - ratio.size, n0 + size)
    ph = np.unwrap(np.angle(ratio)) / (2 * np.pi)
    coef = np.polyfit((m - n0) / fs, ph, 2)  # -(e0 (t1 - t_ref) + drift (t1 - t_ref)^2 / 2), t1 ~ t - 3.8 ms
    print(f"LO: offset {-coef[1]:.3f} Hz at the stream start, drift {-2 * coef[0]:.3f} Hz/s")
    tau_s = light_time_rx(sc.sat, sc.beam, np.array([n0 / fs]))[0][0]
    assert -coef[1] == pytest.approx(150.0 + 40.0 * tau_s, abs=0.01)  # e(t1), t1 = t_ref - tau_s
    assert -2 * coef[0] == pytest.approx(-40.0, abs=1.0)


def test_subgrid_truth_equals_the_per_sample_truth(sc, pass_, edge_site):
    """The relay evaluates its truth every 16 samples and interpolates: compare with every sample solved."""
    from channel.relay import _wide_kernel, interpolator_design
    from dsp.farrow import interpolate_at

    fs = FS_5MHZ
    relay = _relay(sc, [Handset("e", edge_site, clock_ppm=0.3)], awgn=False)
    n0 = int(round((pass_.aos_s + 30.0) * fs)) + 5
    x = _lowpass_noise(np.random.default_rng(9), 100000, band=0.4)  # 13 ms: longer than the two-hop delay
    y = relay.downlink(x, n0)["e"]
    m = np.arange(n0 + 95000, n0 + 100000)
    t, _, phase, off = relay.dl_truth("e", m)
    amp = relay._amplitude("e", t, "dl")
    kernel, table = _wide_kernel(*interpolator_design(25, fs, sc.carriers.feeder_uplink_hz))
    direct = interpolate_at(x, off + (relay.n_ref - n0), kernel, table) * np.exp(-2j * np.pi * (phase % 1.0)) * amp
    err = np.abs(y[-m.size:] - direct).max() / np.sqrt(np.mean(np.abs(direct) ** 2))
    print(f"sub-grid vs per-sample truth: max error {20 * np.log10(err):.1f} dB")
    assert err < 5e-4  # -66 dB: the tap table's 1/4096 fraction steps can round a read to its neighbour
