"""One uplink subframe shared by three handsets, as the gateway hears it: a PRACH preamble, a PUSCH and a
PUCCH format 1a (TS 36.211 5.3, 5.4, 5.7), each sent by phy.ue.ul_tx with its own carrier offset and
arrival time, summed with noise, then read by the eNodeB's three receivers (phy.enb) from the same samples.
"""

from __future__ import annotations

from functools import partial

import numpy as np
import pytest

from phy.awgn import add_awgn
from phy.channels.prach import is_prach_occasion, prach_signal
from phy.channels.pucch import pucch_put, pucch_signal
from phy.channels.pusch import PuschGrant
from phy.enb.prach_rx import PrachDetector
from phy.enb.pucch_rx import PucchReceiver
from phy.enb.pusch_rx import PuschRxUe, pusch_receive_many
from phy.scfdma import scfdma_demodulate
from phy.tbs import tbs
from phy.ue.ul_tx import PuschTx, ul_subframe_grid, ul_subframe_samples
from phy.ul_config import PrachConfig, UlCellConfig

N_RB = 25
SUBFRAME = 1  # prach-ConfigIndex 3: PRACH in subframe 1 of every frame (TS 36.211 Table 5.7.1-2)
# PRACH on PRBs 4..9, PUSCH on PRBs 10..21, PUCCH format 1 on PRBs 1 / 23 (m = 2 behind nRB-CQI 2)
CELL = UlCellConfig(n_id_cell=77, n_rb_ul=N_RB, prach=PrachConfig(root_sequence_index=22, freq_offset_prb=4))


def _mean_power(x: np.ndarray) -> float:
    return float(np.mean(np.abs(x) ** 2))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_prach_pusch_and_pucch_of_three_handsets_in_one_subframe(seed: int) -> None:
    assert is_prach_occasion(CELL.prach.config_index, sfn=0, subframe=SUBFRAME)
    rng = np.random.default_rng(seed)
    n0 = 7680 * (10 * seed + SUBFRAME)
    empty = np.zeros((14, 12 * N_RB), np.complex64)

    # handset 1: preamble 17, 3.1 us late (no timing advance yet), +500 Hz; PRACH power spectral density set
    # equal to a PUSCH's (its 839 bins of 1.25 kHz over 72 subcarriers of 15 kHz)
    pusch_grant = PuschGrant(prb_start=10, n_prb=12, tbs=tbs(10, 12), q_m=2, rv=0, rnti=0x4601)
    tb = rng.integers(0, 2, pusch_grant.tbs).astype(np.uint8)
    pusch_grid = ul_subframe_grid(CELL, SUBFRAME, PuschTx(pusch_grant, tb))
    pusch_psd = _mean_power(ul_subframe_samples(pusch_grid, N_RB)) / pusch_grant.n_prb
    preamble = prach_signal(CELL.prach, N_RB, 17)
    beta = np.sqrt(6 * pusch_psd / _mean_power(preamble))
    x_prach = ul_subframe_samples(
        empty, N_RB, cfo_hz=500.0, timing_advance_s=-3.1e-6, n0=n0, extra_samples=preamble * np.float32(beta)
    )
    # handset 2: PUSCH, +320 Hz, 1.3 us late (inside the CP); the receiver estimates both
    x_pusch = ul_subframe_samples(pusch_grid, N_RB, cfo_hz=320.0, timing_advance_s=-1.3e-6, n0=n0)
    # handset 3: HARQ-ACK = 1 on PUCCH format 1a, resource n1 = 12 (n_CCE 0 + n1PUCCH-AN 12, TS 36.213 10.1)
    pucch = partial(pucch_put, signal=pucch_signal(CELL, SUBFRAME, "1a", 12, bits=[1]))
    x_pucch = ul_subframe_samples(ul_subframe_grid(CELL, SUBFRAME, None, grid_writers=[pucch]), N_RB, n0=n0)

    rx = add_awgn(x_prach + x_pusch + x_pucch, 10.0, N_RB, rng)

    detections = PrachDetector(CELL.prach, N_RB).detect(rx)
    assert [d.preamble_index for d in detections] == [17]
    assert abs(detections[0].delay_s - 3.1e-6) < 16 / 30.72e6  # 16 Ts

    (rep,) = pusch_receive_many(rx, [PuschRxUe(pusch_grant)], CELL.n_id_cell, N_RB, SUBFRAME, CELL.pusch)
    assert rep.crc_ok and np.array_equal(rep.bits, tb)
    assert abs(rep.cfo_hz - 320.0) < 10.0
    assert abs(rep.timing_s - 1.3e-6) < 0.2e-6

    pucch_rx = PucchReceiver(scfdma_demodulate(rx, N_RB), CELL, SUBFRAME)
    heard = pucch_rx.detect_format1("1a", [12, 13, 30])
    assert heard.detected.tolist() == [True, False, False]
    assert heard.bits[0, 0] == 1
