"""The gateway's PUSCH receiver and the handset's transmitter (phy/enb/pusch_rx.py, phy/ue/ul_tx.py): the
srsRAN vectors decoded from samples, round trips at every bandwidth and modulation, frequency and timing
offsets estimated and removed, several handsets in one subframe, HARQ soft combining measured."""

from __future__ import annotations

import numpy as np
import pytest

from phy.awgn import add_awgn
from phy.channels.pusch import PuschGrant, UciConfig, grant_from_dci0
from phy.dci import Dci0
from phy.enb.pusch_rx import PuschHarq, PuschRxUe, pusch_receive_many
from phy.numerology import N_RB_VALUES, numerology
from phy.resource_allocation import riv_encode
from phy.tbs import tbs
from phy.ue.ul_tx import PuschTx, apply_cfo, fractional_delay, ul_subframe_grid, ul_subframe_samples
from phy.ul_config import UlCellConfig

PAYLOAD = np.unpackbits(np.arange(217, dtype=np.uint8))
VECTORS = [
    ("pusch_pci1_rnti0x46_sf4_prb5-14_mcs10_rv0_25prb_7.68Msps.cf32", None),
    ("pusch_pci1_rnti0x46_sf4_prb5-14_mcs10_rv0_ack1_betaidx0_25prb_7.68Msps.cf32", (1,)),
    ("pusch_pci1_rnti0x46_sf4_prb5-14_mcs10_rv0_ack0_betaidx0_25prb_7.68Msps.cf32", (0,)),
]


@pytest.mark.parametrize(("name", "ack"), VECTORS)
def test_receiver_decodes_srsran_vectors(vectors_dir, name: str, ack) -> None:
    x = np.fromfile(vectors_dir / "uplink" / name, dtype="<c8")
    g = grant_from_dci0(Dci0(rb_assignment=230, mcs_rv=10), 25, 0x46)
    uci = None if ack is None else UciConfig(ack=(0,), beta_ack_index=0)
    rep = pusch_receive_many(x, [PuschRxUe(g, uci)], 1, 25, 4)[0]
    assert rep.crc_ok and np.array_equal(rep.bits, PAYLOAD)
    assert rep.ack == (() if ack is None else ack)
    assert abs(rep.cfo_hz) < 1.0 and abs(rep.timing_s) < 0.01e-6 and rep.snr_db > 40
    wrong = PuschGrant(5, 10, 1736, 2, 0, 0x47)
    assert not pusch_receive_many(x, [PuschRxUe(wrong, uci)], 1, 25, 4)[0].crc_ok


def _send(cell: UlCellConfig, subframe: int, grant: PuschGrant, rng, uci=None, **impairments) -> tuple:
    tb = rng.integers(0, 2, grant.tbs).astype(np.uint8)
    grid = ul_subframe_grid(cell, subframe, PuschTx(grant, tb, uci))
    return tb, ul_subframe_samples(grid, cell.n_rb_ul, **impairments)


# (n_rb_ul, q_m, I_TBS, prb_start, n_prb): every bandwidth, each modulation, DFT sizes 2^a 3^b 5^c
ROUND_TRIPS = [
    (6, 2, 5, 0, 6), (6, 4, 14, 1, 5), (6, 6, 22, 2, 3),
    (15, 2, 9, 0, 15), (15, 4, 12, 3, 9), (15, 6, 24, 5, 4),
    (25, 2, 6, 0, 25), (25, 4, 16, 7, 18), (25, 6, 20, 1, 2),
    (50, 2, 3, 0, 50), (50, 4, 11, 10, 27), (50, 6, 18, 40, 10),
    (75, 2, 8, 5, 64), (75, 4, 15, 0, 16), (75, 6, 26, 70, 5),
    (100, 2, 1, 0, 100), (100, 4, 13, 20, 45), (100, 6, 21, 2, 8),
]


@pytest.mark.parametrize(("n_rb", "q_m", "i_tbs", "prb_start", "n_prb"), ROUND_TRIPS)
def test_round_trip_every_bandwidth(n_rb: int, q_m: int, i_tbs: int, prb_start: int, n_prb: int) -> None:
    rng = np.random.default_rng(n_rb * 7 + q_m)
    cell = UlCellConfig(n_id_cell=int(rng.integers(0, 504)), n_rb_ul=n_rb)
    g = PuschGrant(prb_start, n_prb, tbs(i_tbs, n_prb), q_m, 0, int(rng.integers(1, 0xFFF4)), 3)
    tb, x = _send(cell, 7, g, rng)
    y = add_awgn(x, 30.0, n_rb, rng)
    rep = pusch_receive_many(y, [PuschRxUe(g)], cell.n_id_cell, n_rb, 7)[0]
    assert rep.crc_ok and np.array_equal(rep.bits, tb)
    assert 27.0 < rep.snr_db < 33.0


@pytest.mark.parametrize(
    ("cfo_hz", "timing_s"), [(1000.0, 1.5e-6), (-1000.0, -1.0e-6), (620.0, 0.4e-6), (-1400.0, 0.0), (1450.0, 1e-6)]
)
def test_frequency_and_timing_offset_estimated_and_removed(cfo_hz: float, timing_s: float) -> None:
    """+-1 kHz and a timing offset inside the CP (the receiver's window tolerates half a CP each way) at
    10 dB: the offset estimate within 10 Hz, timing within 0.1 us, the block decodes, HARQ-ACK read.
    Up to +-1.5 kHz the DMRS phase wraps and the alias is resolved on the data."""
    rng = np.random.default_rng(int(abs(cfo_hz)))
    cell = UlCellConfig(n_id_cell=101, n_rb_ul=25)
    g = grant_from_dci0(Dci0(rb_assignment=riv_encode(0, 25, 25), mcs_rv=8, cyclic_shift_dmrs=2), 25, 0x2001)
    for trial in range(3):
        tb, x = _send(cell, 2, g, rng, UciConfig(ack=(trial % 2,)), cfo_hz=cfo_hz, timing_advance_s=-timing_s,
                      n0=123_456 + trial * 7680)  # fmt: skip
        rep = pusch_receive_many(add_awgn(x, 10.0, 25, rng), [PuschRxUe(g, UciConfig(ack=(0,)))], 101, 25, 2)[0]
        assert abs(rep.cfo_hz - cfo_hz) < 10.0
        assert abs(rep.timing_s - timing_s) < 0.1e-6
        assert rep.crc_ok and np.array_equal(rep.bits, tb) and rep.ack == (trial % 2,)


def test_inter_carrier_interference_of_1_khz_is_removed() -> None:
    """64QAM at 35 dB with a 1 kHz offset: left in place, the inter-carrier interference (about -18 dB)
    would cap the SNR near 18 dB; removed, the receiver measures > 27 dB and decodes."""
    rng = np.random.default_rng(8)
    cell = UlCellConfig(n_id_cell=7, n_rb_ul=25)
    g = grant_from_dci0(Dci0(riv_encode(5, 15, 25), 26), 25, 0x1234, enable_64qam=True)
    assert g.q_m == 6
    for cfo in (1000.0, -1000.0):
        tb, x = _send(cell, 3, g, rng, cfo_hz=cfo, timing_advance_s=-1e-6)
        rep = pusch_receive_many(add_awgn(x, 35.0, 25, rng), [PuschRxUe(g)], 7, 25, 3)[0]
        assert rep.crc_ok and np.array_equal(rep.bits, tb)
        assert rep.snr_db > 27.0


def test_several_handsets_in_one_subframe() -> None:
    """Three handsets on disjoint PRBs with their own offsets, summed at the gateway, one demodulation."""
    rng = np.random.default_rng(5)
    cell = UlCellConfig(n_id_cell=17, n_rb_ul=50)
    ues = [  # (prb_start, n_prb, mcs, rnti, cfo_hz, timing_s, dci cyclic shift)
        (0, 12, 6, 0x101, 950.0, 1.2e-6, 0),
        (12, 20, 14, 0x102, -700.0, -0.8e-6, 5),
        (40, 10, 20, 0x103, 120.0, 0.0, 7),
    ]
    rx = np.zeros(numerology(50).samples_per_subframe, np.complex64)
    sent, expected = [], []
    for start, n, mcs, rnti, cfo, tau, cs in ues:
        g = grant_from_dci0(Dci0(riv_encode(start, n, 50), mcs, cyclic_shift_dmrs=cs), 50, rnti)
        tb, x = _send(cell, 9, g, rng, cfo_hz=cfo, timing_advance_s=-tau, n0=76_800)
        rx += x
        sent.append(tb)
        expected.append(PuschRxUe(g, harq_pid=1))
    reps = pusch_receive_many(add_awgn(rx, 18.0, 50, rng), expected, 17, 50, 9)
    for rep, tb, (_, _, _, rnti, cfo, tau, _) in zip(reps, sent, ues, strict=True):
        assert rep.rnti == rnti and rep.crc_ok and np.array_equal(rep.bits, tb)
        assert abs(rep.cfo_hz - cfo) < 10.0 and abs(rep.timing_s - tau) < 0.1e-6
    with pytest.raises(ValueError, match="overlap"):
        pusch_receive_many(rx, [expected[0], expected[0]], 17, 50, 9)


def test_harq_soft_combining_measured() -> None:
    """At an SNR where RV 0 alone fails often, RV 0 combined with RV 2 succeeds clearly more often."""
    rng = np.random.default_rng(21)
    cell = UlCellConfig(n_id_cell=3, n_rb_ul=6)
    g0 = grant_from_dci0(Dci0(riv_encode(0, 6, 6), 10), 6, 0x77)  # I_TBS 10 QPSK, code rate ~0.6
    g2 = PuschGrant(0, 6, g0.tbs, 2, 2, 0x77)
    snr_db, trials = 3.0, 12  # measured: RV0 alone 4/12, RV0+RV2 12/12
    alone = combined = 0
    for _ in range(trials):
        tb = rng.integers(0, 2, g0.tbs).astype(np.uint8)
        harq = PuschHarq()
        x0 = ul_subframe_samples(ul_subframe_grid(cell, 0, PuschTx(g0, tb)), 6)
        r0 = pusch_receive_many(add_awgn(x0, snr_db, 6, rng), [PuschRxUe(g0, harq_pid=3)], 3, 6, 0, harq=harq)[0]
        alone += r0.crc_ok
        if r0.crc_ok:
            combined += 1
            continue
        assert len(harq) == 1
        x2 = ul_subframe_samples(ul_subframe_grid(cell, 8, PuschTx(g2, tb)), 6)
        r2 = pusch_receive_many(
            add_awgn(x2, snr_db, 6, rng), [PuschRxUe(g2, harq_pid=3, new_data=False)], 3, 6, 8, harq=harq
        )[0]
        combined += r2.crc_ok and np.array_equal(r2.bits, tb)
    print(f"\nHARQ at {snr_db} dB, {trials} blocks: RV0 alone {alone}, RV0+RV2 combined {combined}")
    assert alone <= 2 * trials // 3
    assert combined >= alone + trials // 3


def test_harq_buffer_bookkeeping() -> None:
    harq = PuschHarq()
    buf = [np.ones((3, 44), np.float32)]
    harq.update(5, 0, False, buf)
    assert harq.get(5, 0, new_data=False) is buf
    assert harq.get(5, 0, new_data=True) is None and len(harq) == 0
    harq.update(5, 1, False, buf)
    harq.update(5, 1, True, buf)
    assert len(harq) == 0


def test_cfo_is_phase_continuous_across_subframes() -> None:
    fs = 1.92e6
    x = np.ones(2 * 1920, np.complex64)
    whole = apply_cfo(x, 733.0, fs, n0=10**9)
    parts = np.concatenate([apply_cfo(x[:1920], 733.0, fs, n0=10**9), apply_cfo(x[1920:], 733.0, fs, n0=10**9 + 1920)])
    np.testing.assert_allclose(parts, whole, atol=1e-5)
    n = np.arange(10)
    np.testing.assert_allclose(apply_cfo(x[:10], 733.0, fs), np.exp(2j * np.pi * 733.0 * n / fs), atol=1e-6)


def test_fractional_delay_of_a_tone() -> None:
    """A band-limited tone delayed by 2.3 samples is the tone with phase -2 pi f 2.3 / fs (away from edges);
    an integer delay is an exact shift."""
    fs = 1.92e6
    n = np.arange(1920)
    f = 123_000.0
    x = np.exp(2j * np.pi * f * n / fs).astype(np.complex64) * np.hanning(1920)
    y = fractional_delay(x, 2.3 / fs, fs)
    ref = np.exp(2j * np.pi * f * (n - 2.3) / fs) * np.hanning(1920 + 0)[np.clip(n - 2, 0, 1919)]
    mid = slice(200, 1700)
    np.testing.assert_allclose(np.angle(y[mid] / ref[mid]), 0.0, atol=2e-3)
    z = fractional_delay(x, -5 / fs, fs)
    np.testing.assert_allclose(z[:-5], x[5:], atol=1e-6)
    assert np.all(z[-5:] == 0)


def test_timing_advance_moves_the_signal_earlier() -> None:
    rng = np.random.default_rng(2)
    cell = UlCellConfig(n_id_cell=0, n_rb_ul=6)
    g = PuschGrant(0, 6, 256, 2, 0, 9)
    _, x = _send(cell, 0, g, rng)
    _, y = _send(cell, 0, g, np.random.default_rng(2), timing_advance_s=8 / 1.92e6)
    np.testing.assert_allclose(y[:-8], x[8:], atol=1e-6)


@pytest.mark.parametrize("n_rb", N_RB_VALUES)
def test_grid_shape_and_unused_subcarriers(n_rb: int) -> None:
    cell = UlCellConfig(n_id_cell=5, n_rb_ul=n_rb)
    g = PuschGrant(1, 2, 56, 2, 0, 1)
    grid = ul_subframe_grid(cell, 1, PuschTx(g, np.zeros(56, np.uint8)), grid_writers=[lambda gr: None])
    assert grid.shape == (14, 12 * n_rb) and grid.dtype == np.complex64
    assert np.count_nonzero(np.abs(grid) > 0) == 14 * 24
    assert np.all(grid[:, :12] == 0) and np.all(grid[:, 36:] == 0)
