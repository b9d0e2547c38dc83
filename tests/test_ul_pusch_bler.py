"""PUSCH BLER vs SNR in AWGN with the real receiver (DMRS channel estimation, offset estimation, MMSE, turbo
decoding with 8 iterations): MCS 0, 10, 20 over the whole band at 5 MHz (25 PRB) and 20 MHz (100 PRB).

Chain: ul_subframe_grid -> ul_subframe_samples with a +-1 kHz frequency offset and a +-1 us timing offset
(alternating signs) -> phy.awgn.add_awgn (per-RE SNR, the project convention) -> pusch_receive_many, which
estimates and removes both. The SNR at 10 % BLER is compared with the downlink's reference curve of
tests/test_dl_bler.py (the Vienna LTE link-level simulator's SISO AWGN 10 %-BLER SNR per CQI, read off at
the transport block's efficiency eta = TBS / data REs, here TBS / (12 M_sc)), within 1.5 dB, and must lie
above the Shannon bound 2^eta - 1. The sweep is slow (`make validate`); a fast test checks one point on
each curve each side of the waterfall.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from test_dl_bler import CQI_EFFICIENCY, LITERATURE_TOLERANCE_DB, VIENNA_CQI_SNR_DB

from phy.awgn import add_awgn
from phy.channels.pusch import PuschGrant, grant_from_dci0
from phy.dci import Dci0
from phy.enb.pusch_rx import PuschRxUe, pusch_receive_many
from phy.resource_allocation import riv_encode
from phy.ue.ul_tx import PuschTx, ul_subframe_grid, ul_subframe_samples
from phy.ul_config import UlCellConfig

PCI, RNTI, SUBFRAME = 11, 0x3C01, 2
CURVES = [(n_rb, mcs) for n_rb in (25, 100) for mcs in (0, 10, 20)]
MAX_BLOCKS, MAX_ERRORS, STEP_DB = 60, 12, 0.5
CFO_HZ, TIMING_S = 1000.0, 1.0e-6  # the handset's offsets, +-, inside the receiver's range and the CP


def _grant(n_rb: int, mcs: int) -> PuschGrant:
    return grant_from_dci0(Dci0(rb_assignment=riv_encode(0, n_rb, n_rb), mcs_rv=mcs), n_rb, RNTI)


def efficiency(n_rb: int, mcs: int) -> float:
    """Information bits per PUSCH data RE: TBS / (12 symbols x 12 n_rb subcarriers)."""
    return _grant(n_rb, mcs).tbs / (12 * 12 * n_rb)


def reference_snr_db(n_rb: int, mcs: int) -> float:
    """The downlink's reference 10 %-BLER SNR (tests/test_dl_bler.py) at this transport block's efficiency."""
    return float(np.interp(efficiency(n_rb, mcs), CQI_EFFICIENCY, VIENNA_CQI_SNR_DB))


def shannon_snr_db(n_rb: int, mcs: int) -> float:
    return 10 * math.log10(2 ** efficiency(n_rb, mcs) - 1)


def errors_at(n_rb: int, mcs: int, snr_db: float, n_blocks: int, rng, max_errors: int | None = None) -> tuple[int, int]:
    """(errors, blocks) of up to n_blocks PUSCH transmissions at snr_db (stops at max_errors)."""
    cell = UlCellConfig(n_id_cell=PCI, n_rb_ul=n_rb)
    g = _grant(n_rb, mcs)
    errors = blocks = 0
    while blocks < n_blocks and (max_errors is None or errors < max_errors):
        tb = rng.integers(0, 2, g.tbs).astype(np.uint8)
        sign = 1 if blocks % 2 == 0 else -1  # +-1 kHz and +-1 us, alternating: estimated and removed
        x = ul_subframe_samples(
            ul_subframe_grid(cell, SUBFRAME, PuschTx(g, tb)), n_rb, cfo_hz=sign * CFO_HZ,
            timing_advance_s=-sign * TIMING_S, n0=blocks * 10 * len(tb),
        )  # fmt: skip
        rep = pusch_receive_many(add_awgn(x, snr_db, n_rb, rng), [PuschRxUe(g)], PCI, n_rb, SUBFRAME)[0]
        errors += not (rep.crc_ok and np.array_equal(rep.bits, tb))
        blocks += 1
    return errors, blocks


@pytest.mark.parametrize(("n_rb", "mcs", "expected_db"), [(25, 0, -6.14), (25, 10, 2.93), (100, 20, 11.37)])
def test_reference_read_off(n_rb: int, mcs: int, expected_db: float) -> None:
    """By hand (CQI k at -7 + 27/14 (k - 1) dB): 25 PRB MCS 0 is TBS 680 over 3600 REs, eta 0.1889, between
    CQI 1 (0.1523, -7.0 dB) and CQI 2 (0.2344, -5.07 dB): -6.14 dB; 25 PRB MCS 10: 4392 / 3600 = 1.22,
    between CQI 6 (1.1758, 2.64) and CQI 7 (1.4766, 4.57): 2.93 dB; 100 PRB MCS 20 (16QAM, I_TBS 19):
    43816 / 14400 = 3.043, between CQI 10 (2.7305, 10.36) and CQI 11 (3.3223, 12.29): 11.37 dB."""
    assert reference_snr_db(n_rb, mcs) == pytest.approx(expected_db, abs=0.05)


@pytest.mark.parametrize(("n_rb", "mcs"), CURVES)
def test_one_point_each_side_of_the_waterfall(n_rb: int, mcs: int) -> None:
    """Fast check of each curve: 1.5 dB above the reference nearly every block decodes; at the Shannon bound
    (impossible to decode reliably) every block fails."""
    rng = np.random.default_rng(n_rb + mcs)
    errors, blocks = errors_at(n_rb, mcs, reference_snr_db(n_rb, mcs) + LITERATURE_TOLERANCE_DB, 4, rng)
    assert errors <= 1, f"{errors}/{blocks} errors at reference + 1.5 dB"
    errors, blocks = errors_at(n_rb, mcs, shannon_snr_db(n_rb, mcs) - 0.5, 2, rng)
    assert errors == blocks


def snr_at_bler(n_rb: int, mcs: int, target: float = 0.1, seed: int = 0) -> tuple[float, list[tuple[float, int, int]]]:
    """Sweep up from 2 dB under the reference in STEP_DB steps until BLER <= target, bisect twice,
    interpolate log BLER (BLER 0 counted as 1 %)."""
    rng = np.random.default_rng(seed)
    snr = math.floor((reference_snr_db(n_rb, mcs) - 2.0) / STEP_DB) * STEP_DB
    points = []

    def point(s: float) -> tuple[float, int, int]:
        e, b = errors_at(n_rb, mcs, s, MAX_BLOCKS, rng, MAX_ERRORS)
        points.append((s, e, b))
        return points[-1]

    cur = point(snr)
    prev = None
    while cur[1] / cur[2] > target:
        prev = cur
        cur = point(cur[0] + STEP_DB)
        if cur[0] > reference_snr_db(n_rb, mcs) + 6:
            raise AssertionError(f"{n_rb} PRB MCS {mcs}: BLER still {cur[1]}/{cur[2]} at {cur[0]} dB")
    if prev is None:
        return cur[0], points
    lo, hi = prev, cur
    for _ in range(2):
        mid = point((lo[0] + hi[0]) / 2)
        lo, hi = (mid, hi) if mid[1] / mid[2] > target else (lo, mid)
    la, lb = math.log10(max(lo[1] / lo[2], 1e-2)), math.log10(max(hi[1] / hi[2], 1e-2))
    t = (math.log10(target) - la) / (lb - la) if lb != la else 1.0
    return lo[0] + t * (hi[0] - lo[0]), sorted(points)


@pytest.mark.slow
@pytest.mark.parametrize(("n_rb", "mcs"), CURVES)
def test_pusch_bler_awgn(n_rb: int, mcs: int) -> None:
    snr10, points = snr_at_bler(n_rb, mcs)
    ref, bound = reference_snr_db(n_rb, mcs), shannon_snr_db(n_rb, mcs)
    curve = ", ".join(f"{s:.2f} dB: {e}/{b}" for s, e, b in points)
    print(f"\n{n_rb} PRB MCS {mcs:2d} (TBS {_grant(n_rb, mcs).tbs}): SNR at 10% BLER = {snr10:5.2f} dB "
          f"(reference {ref:5.2f} dB, Shannon {bound:5.2f} dB); {curve}")
    assert bound < snr10
    assert abs(snr10 - ref) <= LITERATURE_TOLERANCE_DB
