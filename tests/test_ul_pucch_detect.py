"""PUCCH detection performance (phy/enb/pucch_rx.py) against the TS 36.104 8.3 style requirements.

What TS 36.104 8.3 asks for format 1a: the DTX-to-ACK probability (ACK detected when nothing was sent) at
most 1 %, and the ACK missed-detection probability (ACK not detected, or detected as NACK, when ACK was
sent) at most 1 % at a stated SNR. The conformance SNRs are for 2 receive antennas in 3GPP fading. As
quoted by MathWorks' LTE Toolbox conformance examples (the 36.104 tables themselves were not available
here): 8.3.2.1 single-user format 1a, 1.4 MHz, 1 TX: ACK missed <= 1 % at -4.2 dB (its fading conditions
were not in what we could read); 8.3.4.1 multi-user
format 1a, 1.4 MHz: ETU 70 Hz, 2 RX, cell 150, 4 UEs on resources 2, 1, 7, 14 with Dshift 2 and relative
powers 0, 0, -3, +3 dB (Annex A.9), ACK missed <= 1 % at -4.1 dB. This gateway has one receive antenna and
an NTN channel, so the figures below are our own operating points, measured and asserted; the 8.3.4.1
point itself is also run with 2 RX (the receiver sums antenna statistics) through NTN-TDL-A scaled to
ETU 70's RMS delay spread and Doppler, our stand-in for ETU 70:

- SNR: per resource element, the PUCCH RE energy (unit RE) over the noise per RE after the receiver's
  DFT, per receive antenna (phy/awgn.py convention; the 36.104 SNR is also per RE per antenna).
- Channels: AWGN (grid level: white noise per RE, which the SC-FDMA demodulator produces exactly), and
  NTN-TDL-A (TR 38.811, channel/ntn_tdl.py) with 100 ns delay spread and 5 Hz maximum Doppler through
  the time-domain waveform, one independent realisation per trial and per UE.
- Thresholds: the detector's default false-alarm target P_fa = 1 % per resource (CFAR, noise estimated on
  the unused cover of the same PRB pair); DTX-to-ACK is about half of that for format 1a.
- Measured (make validate): AWGN 1 RX, ACK missed 3.4 % / 0.75 % / 0.08 % / 0.01 % at -10 / -9 / -8 / -7 dB
  (20000 subframes each), DTX-to-ACK 0.50 %; NTN-TDL-A 1 RX 1.4 MHz, ACK missed 1.3 % / 0.40 % / 0.07 % at
  0 / 3 / 6 dB single user, 1.8 % / 0.47 % / 0.10 % with the 4-UE multi-user set (3000 each); format 2
  (A = 11) AWGN BLER 5.4 % / 1.7 % / 0.44 % / 0.04 % at -7 / -6 / -5 / -4 dB (10000 each); 8.3.4.1-style
  multi-user, 2 RX, NTN-TDL-A 991 ns / 70 Hz: ACK missed 1.5 % at -6.1 dB and 0.53 % at -4.1 dB (3000 each,
  requirement <= 1 % at -4.1 dB), DTX-to-ACK 0.52 % (20000).

Fast tests run a few hundred to a few thousand trials each and still fail if the detector regresses;
the @slow ones are the statistically meaningful sweeps (run by `make validate`, printed with -s).
"""

from __future__ import annotations

import numpy as np
import pytest

from channel.ntn_tdl import NtnTdlChannel
from phy.awgn import add_awgn
from phy.channels.pucch import pucch_allocation, pucch_put, pucch_signal
from phy.enb.pucch_rx import PucchReceiver
from phy.numerology import numerology
from phy.scfdma import scfdma_demodulate, scfdma_modulate
from phy.ul_config import PucchConfigCommon, UlCellConfig

# the 36.104 Annex A.9 style PUCCH setup: cell 150, Dshift 2, no format-2 RBs, no mixed RB
CFG = PucchConfigCommon(delta_shift=2, n_rb_cqi=0, n_cs_an=0, n1_pucch_an=0)
CELL6 = UlCellConfig(n_id_cell=150, n_rb_ul=6, pucch=CFG)
CELL25 = UlCellConfig(n_id_cell=150, n_rb_ul=25, pucch=CFG)
SF = 4


def _grid(cell: UlCellConfig, fmt: str, n: int, bits, *, rnti: int = 0x4601, harq_bits=()) -> np.ndarray:
    g = np.zeros((14, 12 * cell.n_rb_ul), np.complex64)
    pucch_put(g, pucch_signal(cell, SF, fmt, n, bits=bits, rnti=rnti, harq_bits=harq_bits))
    return g


def _awgn_grids(clean: np.ndarray, n_trials: int, snr_db: float, rng: np.random.Generator) -> np.ndarray:
    """n_trials copies of clean (14, N) plus complex white noise of variance 10^(-snr/10) per RE."""
    sigma = np.sqrt(10 ** (-snr_db / 10) / 2)
    noise = rng.standard_normal((2, n_trials, *clean.shape), dtype=np.float32) * np.float32(sigma)
    return clean[None] + (noise[0] + 1j * noise[1])


def _ntn_grids(
    cell: UlCellConfig,
    grids_per_ue,
    powers_db,
    n_trials: int,
    snr_db: float,
    seed: int,
    *,
    n_rx: int = 1,
    delay_spread_s: float = 100e-9,
    max_doppler_hz: float = 5.0,
) -> np.ndarray:
    """Every UE's waveform through its own NTN-TDL-A realisation per receive antenna, summed, plus AWGN at
    per-RE SNR snr_db; returns the demodulated grids (n_trials, 14, N), or (n_trials, n_rx, 14, N)."""
    num = numerology(cell.n_rb_ul)
    waves = [scfdma_modulate(g) * np.float32(10 ** (p / 20)) for g, p in zip(grids_per_ue, powers_db, strict=True)]
    rng = np.random.default_rng(seed)
    rx = np.zeros((n_trials, n_rx, num.samples_per_subframe), np.complex64)
    for t in range(n_trials):
        for u, w in enumerate(waves):
            for a in range(n_rx):
                ch = NtnTdlChannel(
                    "NTN-TDL-A",
                    delay_spread_s=delay_spread_s,
                    max_doppler_hz=max_doppler_hz,
                    sample_rate_hz=num.sample_rate_hz,
                    seed=seed * 1_000_003 + 7919 * t + 31 * u + a,
                )
                rx[t, a] += ch.apply_block(w)
    grids = scfdma_demodulate(add_awgn(rx, snr_db, cell.n_rb_ul, rng), cell.n_rb_ul)
    return grids if n_rx > 1 else grids[:, 0]


def _ack_missed(res, ack_bit: int = 1) -> np.ndarray:
    return ~(res.detected[..., 0] & (res.bits[..., 0, 0] == ack_bit))


# ---------------------------------------------------------------- fast


def test_false_alarm_matches_target_on_noise_only():
    """Noise only (DTX) on 3 resources x 4000 subframes: the CFAR threshold gives P_fa = 1 % (union bound,
    tight here) and DTX-to-ACK about 0.5 %; with a known noise level the same."""
    rng = np.random.default_rng(1)
    noise = _awgn_grids(np.zeros((14, 72), np.complex64), 4000, 0.0, rng)
    rx = PucchReceiver(noise, CELL6, SF)
    for known in (None, 1.0):
        res = rx.detect_format1("1a", [2, 7, 14], noise_var=known)
        p_fa = res.detected.mean()
        dtx_to_ack = (res.detected & (res.bits[..., 0] == 1)).mean()
        assert 0.007 <= p_fa <= 0.013, (known, p_fa)
        assert dtx_to_ack <= 0.01, (known, dtx_to_ack)
    sr = rx.detect_format1("1", [2, 7, 14], p_false_alarm=0.001)
    assert sr.detected.mean() <= 0.002


def test_false_alarm_in_the_mixed_prb_with_a_format2_user():
    """Mixed PRB (N_cs1 = 4): a format-2 UE 20 dB above the noise shares it; the silent format-1 resources
    still see P_fa near 1 % (the noise estimate skips the format-2 bins; 2 x 4 noise values)."""
    rng = np.random.default_rng(6)
    cell = UlCellConfig(n_id_cell=150, n_rb_ul=6, pucch=PucchConfigCommon(delta_shift=2, n_rb_cqi=1, n_cs_an=4))
    f2 = _grid(cell, "2", 12, [1, 0, 1, 1, 0, 0, 1, 0])  # n2 = 12 N_RB2: the mixed PRB, shift 5
    grids = _awgn_grids(f2 * np.float32(10.0), 3000, 0.0, rng)
    silent = list(range(6))  # all format-1 resources of the mixed PRB (3 N_cs1 / Dshift = 6)
    assert {pucch_allocation(cell, SF, "1a", n).n_prb for n in silent} == {pucch_allocation(cell, SF, "2", 12).n_prb}
    res = PucchReceiver(grids, cell, SF).detect_format1("1a", silent)
    assert 0.005 <= res.detected.mean() <= 0.016
    assert np.median(res.noise_var) == pytest.approx(1.0, rel=0.25)


def test_ack_missed_detection_awgn():
    """Format 1a ACK at -8 dB per RE, AWGN, 1 RX, 2000 subframes: missed <= 1 % (measured 0.08 %);
    at -12 dB it is far above, so the threshold is not trivially low."""
    rng = np.random.default_rng(2)
    clean = _grid(CELL6, "1a", 2, [1])
    res = PucchReceiver(_awgn_grids(clean, 2000, -8.0, rng), CELL6, SF).detect_format1("1a", 2)
    assert _ack_missed(res).mean() <= 0.01
    low = PucchReceiver(_awgn_grids(clean, 500, -12.0, rng), CELL6, SF).detect_format1("1a", 2)
    assert _ack_missed(low).mean() > 0.05
    # the per-RE SNR estimate is unbiased enough to report
    assert np.median(res.snr_db) == pytest.approx(-8.0, abs=1.0)


def test_sr_and_format1b_awgn():
    rng = np.random.default_rng(3)
    sr = PucchReceiver(_awgn_grids(_grid(CELL6, "1", 7, []), 1000, -8.0, rng), CELL6, SF).detect_format1("1", 7)
    assert (~sr.detected).mean() <= 0.01
    res = PucchReceiver(_awgn_grids(_grid(CELL6, "1b", 14, [1, 0]), 1000, -6.0, rng), CELL6, SF).detect_format1(
        "1b", 14
    )
    ok = res.detected[:, 0] & np.all(res.bits[:, 0] == [1, 0], axis=-1)
    assert ok.mean() >= 0.99


def test_format2_cqi_decode_rate_awgn():
    """Format 2, A = 11 CQI bits, -4 dB per RE, AWGN, 1 RX: block error rate <= 1 % over 600 subframes
    (measured 0.04 %); 2a's HARQ bit as well."""
    rng = np.random.default_rng(4)
    cell = UlCellConfig(n_id_cell=150, n_rb_ul=6, pucch=PucchConfigCommon(delta_shift=2, n_rb_cqi=1))
    bits = rng.integers(0, 2, 11)
    for fmt, hq in (("2", ()), ("2a", (1,))):
        grids = _awgn_grids(_grid(cell, fmt, 5, bits, harq_bits=hq), 600, -4.0, rng)
        res = PucchReceiver(grids, cell, SF).decode_format2(fmt, 5, 0x4601, 11)
        assert np.any(res.bits[:, 0] != bits, axis=-1).mean() <= 0.01, fmt
        if hq:
            assert (res.harq_bits[:, 0, 0] != 1).mean() <= 0.01


def test_multi_user_ack_missed_ntn_tdl():
    """36.104 8.3.4.1-style multi-user format 1a (4 UEs on resources 2, 1, 7, 14 of one PRB, relative
    powers 0, 0, -3, +3 dB), each through its own NTN-TDL-A channel, 1 RX, 8 dB per RE, 150 subframes:
    ACK missed for the UE on resource 2 <= 2 % (measured 0.03 % at 9 dB, 3000; the @slow sweep has the curve)."""
    ues = [(2, [1]), (1, [0]), (7, [1]), (14, [0])]
    grids = [_grid(CELL6, "1a", n, b) for n, b in ues]
    rx = _ntn_grids(CELL6, grids, [0, 0, -3, 3], 150, 8.0, seed=5)
    assert len({pucch_allocation(CELL6, SF, "1a", n).n_prb for n, _ in ues}) == 1
    res = PucchReceiver(rx, CELL6, SF).detect_format1("1a", 2)
    assert _ack_missed(res).mean() <= 0.02


MULTI_USER = [(2, [1]), (1, [0]), (7, [1]), (14, [0])]  # 36.104 Annex A.9 resources, UE of interest first
MULTI_POWERS_DB = [0, 0, -3, 3]


def test_two_rx_false_alarm_and_36104_multi_user_point():
    """Two receive antennas (statistics summed): noise-only P_fa still 1 %; the 8.3.4.1-style multi-user set
    at its -4.1 dB operating point through NTN-TDL-A scaled to ETU's RMS delay spread (991 ns) and 70 Hz
    Doppler (our stand-in for ETU 70, which we do not have), 200 subframes: ACK missed <= 2 % (measured
    0.2 % over 1000; the @slow test asserts the 1 % requirement over 3000)."""
    rng = np.random.default_rng(8)
    noise = _awgn_grids(np.zeros((2, 14, 72), np.complex64), 3000, 0.0, rng)
    res = PucchReceiver(noise, CELL6, SF, n_rx=2).detect_format1("1a", [2, 7, 14])
    assert 0.006 <= res.detected.mean() <= 0.014
    grids = [_grid(CELL6, "1a", n, b) for n, b in MULTI_USER]
    rx = _ntn_grids(CELL6, grids, MULTI_POWERS_DB, 200, -4.1, 9, n_rx=2, delay_spread_s=991e-9, max_doppler_hz=70)
    res = PucchReceiver(rx, CELL6, SF, n_rx=2).detect_format1("1a", 2)
    assert _ack_missed(res).mean() <= 0.02


# ---------------------------------------------------------------- slow sweeps


@pytest.mark.slow
def test_sweep_awgn_single_user():
    rng = np.random.default_rng(10)
    clean = _grid(CELL25, "1a", 2, [1])
    noise = _awgn_grids(np.zeros_like(clean), 20000, 0.0, rng)
    dtx = PucchReceiver(noise, CELL25, SF).detect_format1("1a", 2)
    dtx_to_ack = float((dtx.detected[:, 0] & (dtx.bits[:, 0, 0] == 1)).mean())
    print(f"\nPUCCH 1a AWGN 1RX 5MHz: DTX->ACK {dtx_to_ack:.4f} (20000 noise-only subframes)")
    assert dtx_to_ack <= 0.01
    missed = {}
    for snr in (-10.0, -9.0, -8.0, -7.0):
        res = PucchReceiver(_awgn_grids(clean, 20000, snr, rng), CELL25, SF).detect_format1("1a", 2)
        missed[snr] = float(_ack_missed(res).mean())
        print(f"PUCCH 1a AWGN 1RX 5MHz: SNR {snr:+.1f} dB  ACK missed {missed[snr]:.4f} (20000 subframes)")
    assert missed[-8.0] <= 0.01


@pytest.mark.slow
def test_sweep_ntn_tdl_single_and_multi_user():
    out = {}
    for label, ues, powers in (
        ("single", [(2, [1])], [0]),
        ("multi", [(2, [1]), (1, [0]), (7, [1]), (14, [0])], [0, 0, -3, 3]),
    ):
        grids = [_grid(CELL6, "1a", n, b) for n, b in ues]
        for snr in (0.0, 3.0, 6.0, 9.0):
            rx = _ntn_grids(CELL6, grids, powers, 3000, snr, seed=int(snr) + 100 * len(ues))
            res = PucchReceiver(rx, CELL6, SF).detect_format1("1a", 2)
            out[label, snr] = float(_ack_missed(res).mean())
            print(
                f"\nPUCCH 1a NTN-TDL-A 100ns 5Hz 1RX 1.4MHz {label}-user: SNR {snr:+.1f} dB ACK missed "
                f"{out[label, snr]:.4f} (3000 subframes)"
            )
    assert out["single", 3.0] <= 0.01
    assert out["multi", 3.0] <= 0.01


@pytest.mark.slow
def test_36104_multi_user_operating_point_two_rx():
    """TS 36.104 8.3.4.1-style: 4 UEs (Annex A.9 resources and powers), 1.4 MHz, 2 RX, ACK missed <= 1 % at
    -4.1 dB; channel NTN-TDL-A with ETU 70's RMS delay spread (991 ns) and Doppler (70 Hz). And DTX-to-ACK
    with the same receiver on noise only."""
    grids = [_grid(CELL6, "1a", n, b) for n, b in MULTI_USER]
    missed = {}
    for snr in (-6.1, -4.1):
        rx = _ntn_grids(CELL6, grids, MULTI_POWERS_DB, 3000, snr, 20, n_rx=2, delay_spread_s=991e-9, max_doppler_hz=70)
        missed[snr] = float(_ack_missed(PucchReceiver(rx, CELL6, SF, n_rx=2).detect_format1("1a", 2)).mean())
        print(
            f"\nPUCCH 1a multi-user 2RX NTN-TDL-A 991ns 70Hz 1.4MHz: SNR {snr:+.1f} dB ACK missed {missed[snr]:.4f}"
            " (3000 subframes)"
        )
    rng = np.random.default_rng(21)
    dtx = PucchReceiver(_awgn_grids(np.zeros((2, 14, 72), np.complex64), 20000, 0.0, rng), CELL6, SF, n_rx=2)
    res = dtx.detect_format1("1a", 2)
    dtx_to_ack = float((res.detected[:, 0] & (res.bits[:, 0, 0] == 1)).mean())
    print(f"PUCCH 1a 2RX: DTX->ACK {dtx_to_ack:.4f} (20000 noise-only subframes)")
    assert missed[-4.1] <= 0.01
    assert dtx_to_ack <= 0.01


@pytest.mark.slow
def test_sweep_format2_cqi_awgn():
    rng = np.random.default_rng(12)
    cell = UlCellConfig(n_id_cell=150, n_rb_ul=6, pucch=PucchConfigCommon(delta_shift=2, n_rb_cqi=1))
    bler = {}
    for snr in (-7.0, -6.0, -5.0, -4.0):
        errors = 0
        for _ in range(10):
            bits = rng.integers(0, 2, 11)
            grids = _awgn_grids(_grid(cell, "2", 5, bits), 1000, snr, rng)
            res = PucchReceiver(grids, cell, SF).decode_format2("2", 5, 0x4601, 11)
            errors += int(np.any(res.bits[:, 0] != bits, axis=-1).sum())
        bler[snr] = errors / 10000
        print(f"\nPUCCH 2 (A=11) AWGN 1RX: SNR {snr:+.1f} dB  BLER {bler[snr]:.4f} (10000 subframes)")
    assert bler[-4.0] <= 0.01
