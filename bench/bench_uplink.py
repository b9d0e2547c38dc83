"""Uplink PHY speed (one core): the gateway's PUSCH receiver and the handset's uplink transmitter at 5 and
20 MHz, full load (one PUSCH over every PRB). `python -m bench uplink`.

PUSCH receiver: pusch_receive_many on one subframe (SC-FDMA demodulation, DMRS channel / timing / frequency
estimation, MMSE, LLRs, de-interleaving, turbo decoding with 8 iterations max, early stop on the CRC) at
an SNR 3 dB above the MCS's 10 %-BLER point, with a 700 Hz offset and a 1 us timing offset.
Handset transmitter: ul_subframe_grid + ul_subframe_samples (UL-SCH coding, scrambling, modulation,
DFT precoding, SC-FDMA, 700 Hz offset and a fractional timing advance).
RTF = 1 ms of signal / CPU seconds per subframe (> 1: faster than real time).
Then the PRACH detector, the PUCCH receiver, and the whole UL receive chain (PRACH + PUSCH + PUCCH on one
subframe) with one and four connected handsets.
"""

from __future__ import annotations

import numpy as np

from bench.timing import cpu_seconds
from phy.awgn import add_awgn
from phy.channels.pusch import grant_from_dci0
from phy.dci import Dci0
from phy.enb.pusch_rx import PuschRxUe, pusch_receive_many
from phy.resource_allocation import riv_encode
from phy.ue.ul_tx import PuschTx, ul_subframe_grid, ul_subframe_samples
from phy.ul_config import UlCellConfig

BANDWIDTHS = ((25, "5"), (100, "20"))
CASES = ((10, 6.0), (20, 14.5))  # (I_MCS, SNR dB): QPSK r~0.6 and 16QAM r~0.76, each ~3 dB above 10 % BLER
SUBFRAME_S = 1e-3


def _pusch_rows() -> list[tuple[str, float]]:
    rows = []
    for n_rb, mhz in BANDWIDTHS:
        cell = UlCellConfig(n_id_cell=42, n_rb_ul=n_rb)
        for mcs, snr_db in CASES:
            g = grant_from_dci0(Dci0(rb_assignment=riv_encode(0, n_rb, n_rb), mcs_rv=mcs), n_rb, 0x4601)
            rng = np.random.default_rng(n_rb + mcs)
            tb = rng.integers(0, 2, g.tbs).astype(np.uint8)

            def transmit(g=g, tb=tb, cell=cell, n_rb=n_rb) -> np.ndarray:
                grid = ul_subframe_grid(cell, 3, PuschTx(g, tb))
                return ul_subframe_samples(grid, n_rb, cfo_hz=700.0, timing_advance_s=0.3e-6, n0=7680)

            y = add_awgn(transmit(), snr_db, n_rb, rng)
            ue = [PuschRxUe(g)]
            assert pusch_receive_many(y, ue, 42, n_rb, 3)[0].crc_ok, "bench signal must decode"
            t_tx = cpu_seconds(transmit, repeat=3, number=3)
            t_rx = cpu_seconds(lambda y=y, ue=ue, n_rb=n_rb: pusch_receive_many(y, ue, 42, n_rb, 3), repeat=3, number=3)
            label = f"{mhz:>2} MHz {n_rb:3d} PRB MCS {mcs:2d} TBS {g.tbs:5d}"
            rows.append((f"PUSCH receiver, {label}, {snr_db:.1f} dB", SUBFRAME_S / t_rx))
            rows.append((f"handset UL transmitter, {label}", SUBFRAME_S / t_tx))
    return rows


def _prach_rows() -> list[tuple[str, float]]:
    """PRACH detector: one format-0 occasion per subframe (prach-ConfigIndex 14, the densest
    FDD configuration), a preamble at 10 us in -10 dB noise; 2 roots (N_CS 26), 64 roots (N_CS 0) and
    the restricted set (15 roots). RTF = 1 ms / CPU seconds per occasion."""
    from phy.channels.prach import prach_subframes
    from phy.enb.prach_rx import PrachDetector
    from phy.numerology import numerology
    from phy.ul_config import PrachConfig

    rows = []
    for n_rb, mhz in BANDWIDTHS:
        fs = numerology(n_rb).sample_rate_hz
        for root, zczc, hs, label in ((22, 5, False, "2 roots"), (22, 0, False, "64 roots"),
                                      (100, 6, True, "restricted, 15 roots")):
            cfg = PrachConfig(root_sequence_index=root, config_index=14, zero_correlation_zone_config=zczc,
                              high_speed_flag=hs, freq_offset_prb=4)
            det = PrachDetector(cfg, n_rb)
            s = prach_subframes(7, n_rb_ul=n_rb, preamble_format=0, root_sequence_index=root,
                                zero_correlation_zone_config=zczc, high_speed_flag=hs, freq_offset_prb=4)
            rng = np.random.default_rng(n_rb)
            x = np.roll(s, int(10e-6 * fs)) + np.sqrt(10 / 2) * (
                rng.standard_normal(s.size) + 1j * rng.standard_normal(s.size))
            x = x.astype(np.complex64)
            assert [d.preamble_index for d in det.detect(x)] == [7], "bench preamble must be detected"
            t = cpu_seconds(lambda det=det, x=x: det.detect(x), repeat=3, number=5)
            rows.append((f"PRACH detector, {mhz:>2} MHz {n_rb:3d} PRB, format 0, {label}", SUBFRAME_S / t))
    return rows


def _pucch_rows() -> list[tuple[str, float]]:
    """PUCCH receiver: SC-FDMA demodulation of the subframe, then every resource of the PUCCH
    region at once: N_RB^(2) = 2 (5 MHz) / 4 (20 MHz) CQI PRB pairs with 6 format-2 UEs each (A = 11, ML
    decoding over 2048 code words) and as many format-1 PRB pairs with all 18 format-1a resources each
    (Dshift 2), all UEs present at 10 dB per RE. RTF = 1 ms / CPU seconds per subframe."""
    from phy.channels.pucch import pucch_signal
    from phy.enb.pucch_rx import PucchReceiver
    from phy.scfdma import scfdma_demodulate, scfdma_modulate
    from phy.ul_config import PucchConfigCommon

    rows = []
    for n_rb, mhz in BANDWIDTHS:
        n_pairs = 2 if n_rb < 50 else 4
        cell = UlCellConfig(42, n_rb, pucch=PucchConfigCommon(delta_shift=2, n_rb_cqi=n_pairs, n_cs_an=0))
        rng = np.random.default_rng(n_rb)
        n2 = list(range(0, 12 * n_pairs, 2))
        rntis = [0x100 + n for n in n2]
        n1 = list(range(18 * n_pairs))
        cqi = rng.integers(0, 2, (len(n2), 11))
        acks = rng.integers(0, 2, (len(n1), 1))
        grid = np.zeros((14, 12 * n_rb), np.complex64)
        sigs = [pucch_signal(cell, 3, "2", n, bits=b, rnti=r) for n, b, r in zip(n2, cqi, rntis, strict=True)]
        sigs += [pucch_signal(cell, 3, "1a", n, bits=b) for n, b in zip(n1, acks, strict=True)]
        for s in sigs:
            for slot in (0, 1):
                k0 = 12 * s.alloc.n_prb[slot]
                grid[7 * slot : 7 * slot + 7, k0 : k0 + 12] += s.values[7 * slot : 7 * slot + 7]
        y = add_awgn(scfdma_modulate(grid), 10.0, n_rb, rng)

        def detect(grid, cell=cell, n1=n1, n2=n2, rntis=rntis):
            rx = PucchReceiver(grid, cell, 3)
            return rx.detect_format1("1a", n1), rx.decode_format2("2", n2, rntis, 11)

        f1, f2 = detect(scfdma_demodulate(y, n_rb))
        assert f1.detected.all() and np.array_equal(f1.bits, acks), "bench HARQ-ACKs must be detected"
        assert np.array_equal(f2.bits, cqi), "bench CQI reports must decode"
        t = cpu_seconds(lambda y=y, n_rb=n_rb, detect=detect: detect(scfdma_demodulate(y, n_rb)), repeat=5, number=5)
        grid_rx = scfdma_demodulate(y, n_rb)
        t_det = cpu_seconds(lambda g=grid_rx, detect=detect: detect(g), repeat=5, number=5)
        label = f"{mhz:>2} MHz {n_rb:3d} PRB, {len(n1)} format-1a + {len(n2)} format-2 resources"
        rows.append((f"PUCCH receiver (SC-FDMA demod + detection), {label}", SUBFRAME_S / t))
        rows.append((f"PUCCH detection only (grid shared with PUSCH), {label}", SUBFRAME_S / t_det))
    return rows


def _chain_rows() -> list[tuple[str, float]]:
    """The gateway's whole UL receive chain on one subframe (issue 15's bench): PRACH detection (an occasion
    in every subframe, prach-ConfigIndex 14, 2 roots, one preamble present), PUSCH for every connected
    handset (the PUSCH region split between them, MCS 10, each with its own CFO and arrival time) and
    PUCCH format 1a (one HARQ-ACK per handset, PRBs 1 and N-2 behind nRB-CQI 2) from the same samples, at 10 dB per RE.
    RTF = 1 ms / CPU seconds per subframe; 1 and 4 connected handsets at 5 and 20 MHz."""
    from functools import partial

    from phy.channels.prach import prach_signal
    from phy.channels.pucch import pucch_put, pucch_signal
    from phy.channels.pusch import PuschGrant
    from phy.enb.prach_rx import PrachDetector
    from phy.enb.pucch_rx import PucchReceiver
    from phy.scfdma import scfdma_demodulate
    from phy.tbs import tbs
    from phy.ul_config import PrachConfig

    subframe = 3
    rows = []
    for n_rb, mhz in BANDWIDTHS:
        prach = PrachConfig(root_sequence_index=22, config_index=14, zero_correlation_zone_config=5,
                            freq_offset_prb=n_rb - 8)  # PRBs N-8..N-3, clear of PUCCH and PUSCH
        cell = UlCellConfig(n_id_cell=42, n_rb_ul=n_rb, prach=prach)
        for n_ue in (1, 4):
            rng = np.random.default_rng(10 * n_rb + n_ue)
            n_prb = {(25, 1): 15, (25, 4): 3, (100, 1): 90, (100, 4): 20}[n_rb, n_ue]  # PUSCH from PRB 2
            x = prach_signal(cell.prach, n_rb, 9).astype(np.complex64) * np.float32(0.3)
            grants, tbs_bits, acks = [], [], rng.integers(0, 2, n_ue)
            for u in range(n_ue):
                g = PuschGrant(prb_start=2 + u * n_prb, n_prb=n_prb, tbs=tbs(10, n_prb), q_m=2, rv=0, rnti=0x4601 + u)
                tb = rng.integers(0, 2, g.tbs).astype(np.uint8)
                x = x + ul_subframe_samples(ul_subframe_grid(cell, subframe, PuschTx(g, tb)), n_rb,
                                            cfo_hz=float(rng.uniform(-500, 500)),
                                            timing_advance_s=float(rng.uniform(-1e-6, 1e-6)))
                ack = partial(pucch_put, signal=pucch_signal(cell, subframe, "1a", 2 * u, bits=[acks[u]]))
                x = x + ul_subframe_samples(ul_subframe_grid(cell, subframe, None, grid_writers=[ack]), n_rb)
                grants.append(g)
                tbs_bits.append(tb)
            y = add_awgn(x, 10.0, n_rb, rng)
            det = PrachDetector(cell.prach, n_rb)
            ues = [PuschRxUe(g) for g in grants]
            n1 = [2 * u for u in range(n_ue)]

            def receive(y=y, det=det, ues=ues, n1=n1, n_rb=n_rb, cell=cell):
                found = det.detect(y)
                reps = pusch_receive_many(y, ues, 42, n_rb, subframe)
                heard = PucchReceiver(scfdma_demodulate(y, n_rb), cell, subframe).detect_format1("1a", n1)
                return found, reps, heard

            found, reps, heard = receive()
            assert [d.preamble_index for d in found] == [9], "bench preamble must be detected"
            assert all(r.crc_ok and np.array_equal(r.bits, b) for r, b in zip(reps, tbs_bits, strict=True))
            assert heard.detected.all() and np.array_equal(heard.bits[:, 0], acks), "bench ACKs must be heard"
            t = cpu_seconds(receive, repeat=3, number=3)
            rows.append((f"UL receive chain (PRACH + PUSCH + PUCCH), {mhz:>2} MHz {n_rb:3d} PRB, "
                         f"{n_ue} handset{'s' if n_ue > 1 else ''} x {n_prb} PRB", SUBFRAME_S / t))
    return rows


def main() -> None:
    rows = _pusch_rows() + _prach_rows() + _pucch_rows() + _chain_rows()
    width = max(len(r[0]) for r in rows)
    print(f"{'case (one core, one subframe)':<{width}}  {'RTF':>7}")
    for name, rtf in rows:
        print(f"{name:<{width}}  {rtf:>7.2f}")


if __name__ == "__main__":
    main()
