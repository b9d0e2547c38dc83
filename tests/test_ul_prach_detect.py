"""PRACH detector (phy/enb/prach_rx.py): srsRAN vectors, several preambles, detection statistics.

SNR convention for PRACH (stated, as TS 36.104 8.4 leaves the receiver model to us): the per-PRACH-
subcarrier SNR, i.e. the preamble's mean power over its sequence part divided by the noise power in the
839 x 1.25 kHz PRACH band, at the single receive antenna. With the generator's unit bins this is a
complex noise variance of 1 / SNR per sample at the cell's standard rate.

Operating points. TS 36.104 Table 8.4.1-1 asks Pd >= 99 % for format 0 with 2 RX antennas at -13.9 dB in
AWGN and -7.4 dB in ETU 70 (270 Hz offset); it has no 1-RX row (values as we read the table; the search
tool did not return its text, MathWorks' conformance example uses -8.0 dB for ETU 70). Our gateway has ONE
antenna, so we require the same total received energy: the 2-RX SNR + 3 dB (the combining gain):
  * AWGN, unrestricted set: -10.9 dB;
  * NTN-TDL-C (LOS, K = 10.2 dB, DS 100 ns, f_D 70 Hz): -4.4 dB;
  * AWGN, restricted set, frequency offset uniform in +-1 kHz: -10.9 dB.
The measured Pd at the 2-RX SNRs themselves (1 RX, -13.9 / -7.4 dB) is in the lead's report.
Timing error must stay within 16 Ts = 0.52 us of the true arrival (the first, strongest tap); arrival times
are uniform over the detection window (the zone minus the 2-lag guard minus the channel's delay spread).
Fast tests run 200 trials; the slow ones (`make validate`) 2000 trials and 10^4 noise-only occasions.
"""

from __future__ import annotations

import numpy as np
import pytest

from channel import NtnTdlChannel, tap_profile
from phy.channels.prach import prach_subframes
from phy.enb.prach_rx import LAG_S, PrachDetector
from phy.numerology import numerology
from phy.ul_config import PrachConfig

TS_S = 1 / 30.72e6
TIMING_TOLERANCE_S = 16 * TS_S  # 0.52 us

UNRESTRICTED = PrachConfig(root_sequence_index=22, config_index=3, zero_correlation_zone_config=5,
                           high_speed_flag=False, freq_offset_prb=4)
RESTRICTED = PrachConfig(root_sequence_index=100, config_index=3, zero_correlation_zone_config=6,
                         high_speed_flag=True, freq_offset_prb=4)

VECTORS = [
    ("prach_fmt0_cfg3_root22_ncs5_pre0_fo4_25prb_7.68Msps.cf32", UNRESTRICTED, 0),
    ("prach_fmt0_cfg3_root22_ncs5_pre17_fo4_25prb_7.68Msps.cf32", UNRESTRICTED, 17),
    ("prach_fmt0_cfg3_root22_ncs5_pre63_fo4_25prb_7.68Msps.cf32", UNRESTRICTED, 63),
    ("prach_fmt0_cfg3_root100_zcz6_hs_pre10_fo4_25prb_7.68Msps.cf32", RESTRICTED, 10),
]


# ---------------------------------------------------------------------------------------------------
# Known answers
# ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name, cfg, preamble", VECTORS)
def test_detects_srsran_vectors(vectors_dir, name, cfg, preamble):
    x = np.fromfile(vectors_dir / "uplink" / name, dtype="<c8")
    found = PrachDetector(cfg, 25).detect(x)
    assert [d.preamble_index for d in found] == [preamble]  # restricted: 10, not srsRAN's 41
    assert abs(found[0].delay_s) < 0.01e-6
    # README: RMS 0.3695 over the sequence -> mean power 0.1365
    assert found[0].power == pytest.approx(839 / 6144, rel=1e-3)


@pytest.mark.parametrize("name, cfg, preamble", VECTORS)
def test_delayed_vector_timing(vectors_dir, name, cfg, preamble):
    """README: 40 zeros prepended, 40 guard samples dropped: true delay 40 / 7.68 MHz = 5.208 us (srsRAN
    reports 4.768 us, quantised to whole lags); we must be within 16 Ts."""
    x = np.fromfile(vectors_dir / "uplink" / name, dtype="<c8")
    delayed = np.concatenate([np.zeros(40, np.complex64), x[:-40]])
    found = PrachDetector(cfg, 25).detect(delayed)
    assert [d.preamble_index for d in found] == [preamble]
    assert found[0].delay_s == pytest.approx(40 / 7.68e6, abs=TIMING_TOLERANCE_S)
    assert found[0].delay_s == pytest.approx(40 / 7.68e6, abs=0.01e-6)  # noiseless: far better
    assert found[0].timing_advance_16ts == round(40 / 7.68e6 / (16 * TS_S))


def test_nothing_in_silence_or_in_another_configuration(vectors_dir):
    det = PrachDetector(UNRESTRICTED, 25)
    assert det.detect(np.zeros(7680, np.complex64)) == []
    x = np.fromfile(vectors_dir / "uplink" / VECTORS[1][0], dtype="<c8")
    other_root = PrachConfig(root_sequence_index=200, config_index=3, zero_correlation_zone_config=5,
                             high_speed_flag=False, freq_offset_prb=4)
    assert PrachDetector(other_root, 25).detect(x) == []


def test_input_checks():
    det = PrachDetector(UNRESTRICTED, 25)
    with pytest.raises(ValueError, match="needs >= 6936 samples"):
        det.detect(np.zeros(6000, np.complex64))
    with pytest.raises(ValueError, match="N/A"):
        PrachDetector(PrachConfig(config_index=30, freq_offset_prb=4), 25)


# ---------------------------------------------------------------------------------------------------
# Simulation helpers
# ---------------------------------------------------------------------------------------------------


def _delay(x: np.ndarray, delay_s: float, fs: float) -> np.ndarray:
    """Exact fractional delay by a phase ramp (the guard time absorbs the circular wrap)."""
    f = np.fft.fftfreq(x.size, 1 / fs)
    return np.fft.ifft(np.fft.fft(x) * np.exp(-2j * np.pi * f * delay_s))


def _occasion(cfg, n_rb, preambles, delays_s, rng, snr_db=None, cfo_hz=0.0, channel_seed=None, amplitudes=None,
              profile="NTN-TDL-C"):
    """One received occasion: the given preambles at their delays (and amplitudes), optional NTN-TDL
    fading (DS 100 ns, f_D 70 Hz), frequency offset and AWGN at the per-PRACH-subcarrier SNR of a unit
    preamble."""
    fs = numerology(n_rb).sample_rate_hz
    kw = dict(n_rb_ul=n_rb, preamble_format=0, root_sequence_index=cfg.root_sequence_index,
              zero_correlation_zone_config=cfg.zero_correlation_zone_config,
              high_speed_flag=cfg.high_speed_flag, freq_offset_prb=cfg.freq_offset_prb)
    rx = np.zeros(numerology(n_rb).samples_per_subframe, np.complex128)
    for i, (v, d) in enumerate(zip(preambles, delays_s, strict=True)):
        s = _delay(prach_subframes(v, **kw).astype(np.complex128), d, fs)
        if channel_seed is not None:
            s = NtnTdlChannel(profile, delay_spread_s=100e-9, max_doppler_hz=70.0, sample_rate_hz=fs,
                              seed=channel_seed + i).apply_block(s)
        rx += (1.0 if amplitudes is None else amplitudes[i]) * s
    if cfo_hz:
        rx *= np.exp(2j * np.pi * cfo_hz * np.arange(rx.size) / fs)
    if snr_db is not None:
        sigma = np.sqrt(10 ** (-snr_db / 10) / 2)
        rx += sigma * (rng.standard_normal(rx.size) + 1j * rng.standard_normal(rx.size))
    return rx.astype(np.complex64)


def run_detection_trials(cfg, n_rb, snr_db, n_trials, seed, *, max_cfo_hz=0.0, fading=False, profile="NTN-TDL-C",
                         tolerance_s=TIMING_TOLERANCE_S):
    """Pd (right preamble, timing within `tolerance_s` of the first tap), timing-error quantile and ghost
    rate over random preambles and arrival times uniform over the detection window."""
    rng = np.random.default_rng(seed)
    det = PrachDetector(cfg, n_rb)
    spread_s = float(tap_profile(profile).delays_norm.max()) * 100e-9 if fading else 0.0  # last tap, DS 100 ns
    window_s = det.window_lags * LAG_S - spread_s
    ok, errors, ghosts = 0, [], 0
    for t in range(n_trials):
        v = int(rng.integers(64))
        delay = float(rng.uniform(0, window_s))
        cfo = float(rng.uniform(-max_cfo_hz, max_cfo_hz)) if max_cfo_hz else 0.0
        rx = _occasion(cfg, n_rb, [v], [delay], rng, snr_db, cfo, channel_seed=(seed * 100_000 + t) if fading
                       else None, profile=profile)
        found = det.detect(rx)
        mine = [d for d in found if d.preamble_index == v]
        ghosts += len(found) - len(mine)
        if mine:
            err = abs(mine[0].delay_s - delay)
            errors.append(err)
            ok += err <= tolerance_s
    return {
        "pd": ok / n_trials,
        "timing_err_p99_us": float(np.quantile(errors, 0.99)) * 1e6 if errors else float("nan"),
        "ghosts_per_occasion": ghosts / n_trials,
    }


def run_false_alarm(cfg, n_rb, n_occasions, seed):
    """Noise-only occasions: (false detections per preamble per occasion, occasions with any)."""
    rng = np.random.default_rng(seed)
    det = PrachDetector(cfg, n_rb)
    n = numerology(n_rb).samples_per_subframe
    total, any_false = 0, 0
    for _ in range(n_occasions):
        noise = (rng.standard_normal(n) + 1j * rng.standard_normal(n)).astype(np.complex64)
        k = len(det.detect(noise))
        total += k
        any_false += k > 0
    return total / (n_occasions * 64), any_false / n_occasions


# ---------------------------------------------------------------------------------------------------
# Behaviour
# ---------------------------------------------------------------------------------------------------


def test_several_preambles_in_one_occasion():
    """Four handsets: two on the same root in neighbouring zones, one on the second root, one weaker by
    10 dB; each found once with its own arrival time, no ghosts."""
    rng = np.random.default_rng(5)
    preambles, delays = [3, 4, 40, 20], [2.0e-6, 11.3e-6, 7.7e-6, 0.4e-6]
    rx = _occasion(UNRESTRICTED, 25, preambles, delays, rng, snr_db=0.0, amplitudes=[1, 1, 1, 10 ** (-10 / 20)])
    found = PrachDetector(UNRESTRICTED, 25).detect(rx)
    assert sorted(d.preamble_index for d in found) == sorted(preambles)
    for d in found:
        assert d.delay_s == pytest.approx(delays[preambles.index(d.preamble_index)], abs=TIMING_TOLERANCE_S)
    power = {d.preamble_index: d.power for d in found}
    assert 10 * np.log10(power[3] / power[20]) == pytest.approx(10, abs=1.5)


@pytest.mark.parametrize("n_rb", [6, 100])
def test_other_bandwidths_and_formats(n_rb):
    for fmt_index in (3, 19, 35, 51):  # formats 0, 1, 2, 3
        cfg = PrachConfig(root_sequence_index=129, config_index=fmt_index, zero_correlation_zone_config=10,
                          high_speed_flag=False, freq_offset_prb=n_rb - 6)
        det = PrachDetector(cfg, n_rb)
        fmt = fmt_index // 16
        s = prach_subframes(33, n_rb_ul=n_rb, preamble_format=fmt, root_sequence_index=129,
                            zero_correlation_zone_config=10, high_speed_flag=False, freq_offset_prb=n_rb - 6)
        fs = numerology(n_rb).sample_rate_hz
        rx = _delay(s.astype(np.complex128), 20e-6, fs)
        found = det.detect(rx)
        assert [d.preamble_index for d in found] == [33], fmt
        assert found[0].delay_s == pytest.approx(20e-6, abs=TIMING_TOLERANCE_S)


def test_detection_awgn_fast():
    r = run_detection_trials(UNRESTRICTED, 25, -10.9, 200, seed=1)
    assert r["pd"] >= 0.97, r
    assert r["ghosts_per_occasion"] <= 0.02, r


def test_detection_restricted_with_frequency_offset_fast():
    r = run_detection_trials(RESTRICTED, 25, -10.9, 200, seed=2, max_cfo_hz=1000.0)
    assert r["pd"] >= 0.97, r


def test_detection_ntn_tdl_c_fast():
    r = run_detection_trials(UNRESTRICTED, 25, -4.4, 200, seed=3, fading=True)
    assert r["pd"] >= 0.97, r


def test_false_alarm_fast():
    per_preamble, per_occasion = run_false_alarm(UNRESTRICTED, 25, 300, seed=4)
    assert per_occasion <= 0.02 and per_preamble <= 1e-3


# ---------------------------------------------------------------------------------------------------
# Long runs (make validate)
# ---------------------------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize(
    "cfg, snr_db, cfo, fading",
    [(UNRESTRICTED, -10.9, 0.0, False), (RESTRICTED, -10.9, 1000.0, False), (UNRESTRICTED, -4.4, 0.0, True)],
    ids=["awgn", "restricted-1kHz", "ntn-tdl-c"],
)
def test_detection_statistics_slow(cfg, snr_db, cfo, fading):
    r = run_detection_trials(cfg, 25, snr_db, 2000, seed=11, max_cfo_hz=cfo, fading=fading)
    print(r)
    assert r["pd"] >= 0.99, r
    assert r["timing_err_p99_us"] <= TIMING_TOLERANCE_S * 1e6, r


@pytest.mark.slow
@pytest.mark.parametrize("cfg", [UNRESTRICTED, RESTRICTED], ids=["unrestricted", "restricted"])
def test_false_alarm_slow(cfg):
    per_preamble, per_occasion = run_false_alarm(cfg, 25, 10_000, seed=12)
    print(per_preamble, per_occasion)
    assert per_occasion <= 1e-3 and per_preamble <= 1e-3
