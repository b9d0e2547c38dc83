"""PDSCH BLER vs SNR in AWGN (slow; `make validate`): MCS 0, 9, 16, 28, 1 port, 10 MHz (50 PRB, all
PRBs), CFI 1, subframe 1 (no PBCH / sync), max-log-MAP turbo with 8 iterations (early stop on CRC).

Chain: dlsch_encode -> pdsch_map -> ofdm_modulate -> phy.awgn.add_awgn (per-RE SNR, the project
convention) -> ofdm_demodulate -> pdsch_llr with ideal channel knowledge (h = 1, noise variance from
the SNR) -> dlsch_decode. Prints the SNR at 10 % BLER of each MCS.

No published reference figures could be verified (docs/turbo.md); the check here is physical: the
10 % BLER point must lie above the Shannon bound 2^eta - 1 of the transport block's spectral
efficiency eta = TBS / (PDSCH REs) and within 4 dB of it (a max-log turbo decoder at these block
lengths is typically 1-3 dB from capacity).
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
    grant = grant_from_dci(D.Dci1(rb_assignment=(1 << 17) - 1, mcs=mcs), N_RB, RNTI)
    n_re = (14 - CFI) * 12 * N_RB - 3 * 2 * N_RB  # CRS of port 0 in l' = 4, 7, 11
    return 10 * math.log10(2 ** (grant.tbs / n_re) - 1)


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
    print(f"\nMCS {mcs:2d}: SNR at 10% BLER = {snr10:5.2f} dB (Shannon bound {bound:5.2f} dB); {curve}")
    assert bound < snr10 < bound + 4.0
