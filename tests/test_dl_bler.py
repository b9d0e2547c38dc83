"""PDSCH BLER vs SNR in AWGN (slow; `make validate`): MCS 0, 9, 16, 28, 1 port, 10 MHz (50 PRB, all
PRBs), CFI 1, subframe 1 (no PBCH / sync), max-log-MAP turbo with 8 iterations (early stop on CRC).

Chain: dlsch_encode -> pdsch_map -> ofdm_modulate -> phy.awgn.add_awgn (per-RE SNR, the project
convention) -> ofdm_demodulate -> pdsch_llr with ideal channel knowledge (h = 1, noise variance from
the SNR) -> dlsch_decode. Prints the SNR at 10 % BLER of each MCS.

Two checks on the 10 % BLER point:
- physics: it lies above the Shannon bound 2^eta - 1 of the transport block's spectral efficiency
  eta = TBS / (PDSCH REs), and within 4 dB of it;
- literature: it lies within 1.5 dB of the Vienna LTE link-level simulator's SISO AWGN 10 %-BLER SNR
  per CQI (Mehlfuehrer et al., "Simulating the Long Term Evolution Physical Layer", EUSIPCO 2009;
  Ikuno et al., "System level simulation of LTE networks", VTC 2010-Spring), as tabulated by RaPlaT
  (Jozef Stefan Institute, raster/r.MaxPower/LTE_RaPlaT_Fun.h, "CINR for gaussian channel"): -7.0 dB
  at CQI 1 rising 27/14 dB per CQI to 20.0 dB at CQI 15. The reference for an MCS is read off that
  line at the TB's eta, interpolating between the CQI efficiencies of TS 36.213 Table 7.2.3-1. The
  Vienna curves use an SNR per subcarrier, as phy/awgn.py does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pytest

from phy import dci as D
from phy.awgn import add_awgn
from phy.channels.pdsch import dlsch_decode, grant_from_dci, pdsch_llr, pdsch_map
from phy.ofdm import ofdm_demodulate, ofdm_modulate

N_RB, CFI, SUBFRAME, PCI, RNTI = 50, 1, 1, 1, 0x1234
MAX_BLOCKS, MAX_ERRORS, STEP_DB = 100, 15, 0.5
N_PDSCH_RE = (14 - CFI) * 12 * N_RB - 3 * 2 * N_RB  # subframe 1: CRS of port 0 in l' = 4, 7, 11


@dataclass
class Point:
    snr_db: float
    blocks: int
    errors: int

    @property
    def bler(self) -> float:
        return self.errors / self.blocks


def _bler_point(mcs: int, snr_db: float, rng: np.random.Generator) -> Point:
    grant = grant_from_dci(D.Dci1(rb_assignment=(1 << 17) - 1, mcs=mcs), N_RB, RNTI)
    nv = 10 ** (-snr_db / 10)  # per-RE noise variance for unit-energy REs (phy/awgn.py convention)
    h = np.ones((1, 14, 12 * N_RB), np.complex64)
    errors = blocks = 0
    while blocks < MAX_BLOCKS and errors < MAX_ERRORS:
        tb = rng.integers(0, 2, grant.tbs).astype(np.uint8)
        grid = np.zeros((1, 14, 12 * N_RB), np.complex64)
        pdsch_map(grid, tb, grant, PCI, CFI, SUBFRAME)
        rx = ofdm_demodulate(add_awgn(ofdm_modulate(grid)[0], snr_db, N_RB, rng), N_RB)
        llr = pdsch_llr(rx, h, nv, grant, PCI, CFI, SUBFRAME)
        res = dlsch_decode(llr, grant.tbs, grant.q_m, grant.rv, n_iter=8)
        errors += not (res.crc_ok and np.array_equal(res.bits, tb))
        blocks += 1
    return Point(snr_db, blocks, errors)


def shannon_snr_db(mcs: int) -> float:
    """SNR (dB) where AWGN capacity log2(1 + SNR) equals the TB's bits per PDSCH RE."""
    return 10 * math.log10(2 ** efficiency(mcs) - 1)


# TS 36.213 Table 7.2.3-1: efficiency (information bits per RE) of CQI 1..15
CQI_EFFICIENCY = (0.1523, 0.2344, 0.3770, 0.6016, 0.8770, 1.1758, 1.4766, 1.9141, 2.4063, 2.7305, 3.3223,
                  3.9023, 4.5234, 5.1152, 5.5547)
# Vienna LTE LL simulator, SISO AWGN, SNR at 10 % BLER of CQI 1..15 (see the module docstring)
VIENNA_CQI_SNR_DB = tuple(-7.0 + 27.0 / 14.0 * i for i in range(15))
LITERATURE_TOLERANCE_DB = 1.5


def efficiency(mcs: int) -> float:
    """Information bits per PDSCH RE of the test's transport block (TBS / REs)."""
    grant = grant_from_dci(D.Dci1(rb_assignment=(1 << 17) - 1, mcs=mcs), N_RB, RNTI)
    return grant.tbs / N_PDSCH_RE


def literature_snr_db(mcs: int) -> float:
    """Vienna SISO AWGN 10 %-BLER SNR at this MCS's efficiency (linear in efficiency between CQIs)."""
    return float(np.interp(efficiency(mcs), CQI_EFFICIENCY, VIENNA_CQI_SNR_DB))


def snr_at_bler(mcs: int, target: float = 0.1, seed: int = 0) -> tuple[float, list[Point]]:
    """Sweep up from the Shannon bound in STEP_DB steps until BLER <= target, bisect the bracket twice,
    interpolate log BLER (BLER 0 counted as 1 %)."""
    rng = np.random.default_rng(seed)
    snr = math.floor(shannon_snr_db(mcs) / STEP_DB) * STEP_DB
    points = [_bler_point(mcs, snr, rng)]
    while points[-1].bler > target:
        snr += STEP_DB
        points.append(_bler_point(mcs, snr, rng))
        if snr > shannon_snr_db(mcs) + 10:
            raise AssertionError(f"MCS {mcs}: BLER still {points[-1].bler} at {snr} dB")
    if len(points) == 1:
        return points[0].snr_db, points
    lo, hi = points[-2], points[-1]  # bracket: BLER(lo) > target >= BLER(hi)
    for _ in range(2):  # two bisections: 0.125 dB resolution on a steep waterfall
        mid = _bler_point(mcs, (lo.snr_db + hi.snr_db) / 2, rng)
        points.append(mid)
        lo, hi = (mid, hi) if mid.bler > target else (lo, mid)
    la, lb = math.log10(max(lo.bler, 1e-2)), math.log10(max(hi.bler, 1e-2))
    t = (math.log10(target) - la) / (lb - la) if lb != la else 1.0
    return lo.snr_db + t * (hi.snr_db - lo.snr_db), sorted(points, key=lambda p: p.snr_db)


@pytest.mark.slow
@pytest.mark.parametrize("mcs", [0, 9, 16, 28])
def test_pdsch_bler_awgn(mcs):
    snr10, points = snr_at_bler(mcs)
    bound = shannon_snr_db(mcs)
    curve = ", ".join(f"{p.snr_db:.1f} dB: {p.errors}/{p.blocks}" for p in points)
    reference = literature_snr_db(mcs)
    print(f"\nMCS {mcs:2d}: SNR at 10% BLER = {snr10:5.2f} dB (Shannon bound {bound:5.2f} dB, "
          f"Vienna reference {reference:5.2f} dB); {curve}")
    assert bound < snr10 < bound + 4.0
    assert abs(snr10 - reference) <= LITERATURE_TOLERANCE_DB


@pytest.mark.parametrize(("mcs", "expected_db"), [(0, -6.24), (9, 1.93), (16, 6.97), (28, 17.35)])
def test_literature_reference_values(mcs, expected_db):
    """The reference read-off, recomputed by hand: e.g. MCS 28 (TBS 36696 over 7500 REs, eta 4.893)
    lies between CQI 13 (4.5234, 16.14 dB) and CQI 14 (5.1152, 18.07 dB): 17.35 dB."""
    assert literature_snr_db(mcs) == pytest.approx(expected_db, abs=0.01)
