"""Our TRANSMITTER against an independent eNodeB: the Amarisoft capture
../shared/vectors/lte_dl_pci1_6prb_1port_cfi3_1.92Msps.cf32 (PCI 1, 6 PRB, 1 port, CFI 3), re-encoded.

For subframe 5 (SIB1) and subframe 2 (the SI message with SIB2) our receiver reads the DCI payload and
the transport block from the capture (phy.ue.pdsch_rx.decode_subframe, as tests/test_dl_capture.py);
our transmit chain re-encodes them with the capture's cell parameters: phy.downlink.build_subframe
(CRS, PSS/SSS, PCFICH), phy.dci.dci_pack + phy.channels.pdcch.pdcch_map at the same CCE and
aggregation level with SI-RNTI, and phy.channels.pdsch (grant_from_dci, dlsch_encode, pdsch_symbols,
pdsch_map). The capture's REs are equalised with phy.ue.chest.estimate_channel (y / h, port 0) and
compared with our symbols: QPSK hard decisions, the fit |<ours, rx>| / (|ours| |rx|), and the
coded bits themselves (after rate matching, before and after scrambling).

Measured with this file (2026-11-23):
  subframe 5, PDCCH CCEs 0..3 (144 REs): hard decisions 144/144, fit 0.9989;
              PDSCH (540 REs, G = 1080):  hard decisions 540/540, fit 0.9962; e: 1080/1080 bits;
  subframe 2, PDCCH CCEs 0..3 (144 REs): hard decisions 144/144, fit 0.9989;
              PDSCH (684 REs, G = 1368):  hard decisions 684/684, fit 0.9976; e: 1368/1368 bits;
  PDCCH coded bits of CCEs 0..3 (288 per subframe): all equal.
  Whole subframe (every RE except PHICH, PSS/SSS/CRS/PCFICH included): fit 0.9968 (sf 5), 0.9978 (sf 2).
  Unused CCEs 4, 5 and the 5 REGs past CCE 5 (92 REs): mean power -27.5 dB (sf 5) and -28.3 dB (sf 2)
  below the used CCEs, at the noise floor (CRS noise estimate -23.6 / -27.2 dB re a unit RE): <NIL>
  is sent with zero power, as we do.
  Other RVs re-encoded: 49..54 % of the coded bits agree (chance), against 100 % for the DCI's RV.

Notes:
- The README says aggregation level 2; the DCI decodes at L = 4 from CCE 0 (the common search space
  only has L = 4 and 8, TS 36.213 Table 9.1.1-1), and CCEs 0..3 carry the energy.
- RV: SIB1's DCI says RV 0; TS 36.321 5.3.1 gives RV = ceil(3k/2) mod 4 with k = (SFN/2) mod 4 = 0 for
  SFN 656 (the MIB's), so both agree. The SI message's RV 3 is k = 2: subframe 2 of a 40 ms window
  starting in subframe 0 of SFN 656 (SIB1: si-WindowLength ms40, si-Periodicity rf16, 656 mod 16 = 0).
- N_soft: each of these blocks is one code block (C = 1); N_IR / C = N_soft / 8 >= 31296 (category 1)
  exceeds K_w <= 18528 for any K, so N_cb = K_w (TS 36.212 5.1.4.1.2) whatever N_soft is taken for SI.
- Power (not compared, QPSK decisions do not depend on it): the capture's PDSCH REs in the CRS symbols
  l' = 4, 7, 11 are 1.0..1.1 dB weaker than in the other symbols, rho_B/rho_A = 4/5 of its SIB2 p-b = 1
  (TS 36.213 Table 5.2-1, one port); ours sends rho_B = rho_A.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from gateway.config.cell import CellConfig
from mac.si_schedule import si_occasion, si_schedule_from_sib1, sib1_occasion
from mac.sib import decode_bcch_dl_sch, sib1_info
from phy.channels.pdcch import (
    BITS_PER_CCE,
    PdcchTx,
    dci_encode,
    pdcch_c_init,
    pdcch_llr,
    pdcch_map,
    quadruplet_permutation,
)
from phy.channels.pdsch import (
    PdschGrant,
    dlsch_encode,
    grant_from_dci,
    pdsch_c_init,
    pdsch_llr,
    pdsch_map,
    pdsch_re_flat,
    pdsch_symbols,
)
from phy.dci import Dci1A, dci_pack
from phy.downlink import build_subframe
from phy.ofdm import ofdm_demodulate
from phy.regs import ControlRegs, control_regs
from phy.sequences import gold_sequence
from phy.ue.chest import estimate_channel
from phy.ue.mib import decode_mib
from phy.ue.pdcch_rx import SI_RNTI
from phy.ue.pdsch_rx import ReceivedTb, decode_subframe

FILE = "lte_dl_pci1_6prb_1port_cfi3_1.92Msps.cf32"
SAMPLES_PER_SUBFRAME = 1920  # 6 PRB at 1.92 Msps
PCI, N_RB = 1, 6
CELL = CellConfig(n_rb_dl=6, pci=PCI, n_ports=1, cfi=3)  # README; MIB: PHICH normal, Ng = one (defaults)
SFN = 656  # the capture's MIB (checked in test_tx_rv_matches_the_mac_schedule)
# README: subframe -> (TBS, I_MCS, RV) of its DCI 1A for SI-RNTI, RIV 11 (PRBs 0..5)
CONTENT = {5: (144, 2, 0), 2: (256, 6, 3)}


@dataclass(frozen=True)
class Case:
    """One subframe of the capture and our re-encoding of it.

    rx, eq: (14, 72) received and equalised (y / h) grids; h: (1, 14, 72); noise_var: per RE;
    got: what our receiver decoded (DCI + TB); regs: control region layout; grant: from the DCI;
    ours: (1, 14, 72) complex64, our transmit grid for the same content.
    """

    subframe: int
    rx: np.ndarray
    eq: np.ndarray
    h: np.ndarray
    noise_var: float
    got: ReceivedTb
    regs: ControlRegs
    grant: PdschGrant
    ours: np.ndarray


@pytest.fixture(scope="module")
def frame(vectors_dir) -> np.ndarray:
    x = np.fromfile(vectors_dir / FILE, dtype="<c8")
    assert x.size == 10 * SAMPLES_PER_SUBFRAME
    return ofdm_demodulate(x.reshape(10, SAMPLES_PER_SUBFRAME), N_RB)  # (10, 14, 72)


@pytest.fixture(scope="module", params=sorted(CONTENT, reverse=True), ids=lambda sf: f"subframe{sf}")
def case(frame, request) -> Case:
    subframe = request.param
    rx = frame[subframe]
    ce = estimate_channel(rx, PCI, N_RB, 1, subframe)
    (got,) = decode_subframe(rx, CELL, subframe)  # our receiver: DCI payload bits and the TB bits
    assert got.result.crc_ok and got.found.rnti == SI_RNTI
    regs = control_regs(CELL, subframe)
    grant = grant_from_dci(got.found.dci, N_RB, SI_RNTI, common=True)

    # our transmitter, same content: broadcast channels, then the PDCCH and its PDSCH
    ours = build_subframe(CELL, SFN, subframe).grid
    payload = dci_pack(got.found.dci, N_RB, rnti_kind="common")
    pdcch = PdcchTx(payload, SI_RNTI, got.found.aggregation, got.found.first_cce)
    pdcch_map(ours, [pdcch], regs, PCI, subframe)
    pdsch_map(ours, got.result.bits, grant, PCI, CELL.n_ctrl_symbols, subframe)
    return Case(subframe, rx, rx / ce.h[0], ce.h, ce.noise_var, got, regs, grant, ours)


def _fit(ours: np.ndarray, received: np.ndarray) -> float:
    """|<ours, rx>| / (|ours| |rx|): 1 when rx = a * ours for one complex gain a."""
    return float(np.abs(np.vdot(ours, received)) / np.linalg.norm(ours) / np.linalg.norm(received))


def _qpsk_bits(symbols: np.ndarray) -> np.ndarray:
    """Hard QPSK decisions as bits (2 n,) uint8: b(2i) = 1 if Re < 0, b(2i+1) = 1 if Im < 0 (TS 36.211 7.1.2)."""
    return np.stack([symbols.real < 0, symbols.imag < 0], axis=-1).reshape(-1).astype(np.uint8)


def _reg_cce(regs: ControlRegs) -> np.ndarray:
    """(n_reg,) CCE whose quadruplet each PDCCH REG (6.8.5 order) carries, -1 past the last CCE:
    REG i carries quadruplet perm(i) (TS 36.211 6.8.5), CCE n = quadruplets 9n .. 9n+8 (6.8.1, 6.8.2)."""
    quad = quadruplet_permutation(regs.n_pdcch_regs, PCI)
    return np.where(quad < 9 * regs.n_cce, quad // 9, -1)


def _pdcch_res(c: Case, used: bool) -> tuple[np.ndarray, np.ndarray]:
    """(l', k) of the REs of the PDCCH's CCEs (used=True) or of every other PDCCH REG (False)."""
    cce = _reg_cce(c.regs)
    first, n = c.got.found.first_cce, c.got.found.aggregation
    sel = (cce >= first) & (cce < first + n)
    sel = sel if used else ~sel
    return np.repeat(c.regs.pdcch_l[sel], 4), c.regs.pdcch_k[sel].reshape(-1)


def test_tx_dci_content(case):
    """The DCI the capture carries (README) re-packs with our dci_pack to the payload decoded."""
    dci = case.got.found.dci
    tbs, mcs, rv = CONTENT[case.subframe]
    assert isinstance(dci, Dci1A) and (dci.riv, dci.distributed, dci.mcs, dci.rv) == (11, False, mcs, rv)
    assert (case.got.found.first_cce, case.got.found.aggregation) == (0, 4)
    assert case.grant.tbs == tbs and case.grant.q_m == 2
    assert np.array_equal(dci_pack(dci, N_RB, rnti_kind="common"), case.got.found.payload)


def test_tx_pdcch_symbols_match_capture(case):
    """On the REGs of CCEs 0..3 our PDCCH equals the capture's: every QPSK decision, fit > 0.98
    (measured 0.9989 in both subframes)."""
    l_re, k_re = _pdcch_res(case, used=True)
    assert l_re.size == 36 * case.got.found.aggregation  # 144 REs
    ours, rx = case.ours[0, l_re, k_re], case.eq[l_re, k_re]
    assert np.all(np.abs(ours) > 0.5)
    assert np.array_equal(_qpsk_bits(ours), _qpsk_bits(rx))
    assert _fit(ours, rx) > 0.98
    # the quadruplet interleaver's cyclic shift by N_ID_cell (6.8.5) matters: reading the capture's
    # REGs with a shift of 0 or 2 instead of 1 agrees with our quadruplets on about a quarter only
    n_reg = case.regs.n_pdcch_regs
    l_all, k_all = case.regs.pdcch_re()
    ours_q, rx_q = np.empty((2, n_reg, 4), dtype=np.complex64)
    ours_q[quadruplet_permutation(n_reg, PCI)] = case.ours[0, l_all, k_all].reshape(n_reg, 4)
    for shift in (0, 2):
        rx_q[quadruplet_permutation(n_reg, shift)] = case.eq[l_all, k_all].reshape(n_reg, 4)
        same = _qpsk_bits(ours_q[:36].ravel()) == _qpsk_bits(rx_q[:36].ravel())
        assert same.reshape(-1, 2).all(axis=1).mean() < 0.5, shift


def test_tx_pdcch_coded_bits_match_capture(case):
    """Our coded DCI bits (RNTI-masked CRC16, TBCC, rate matching to 72 L; TS 36.212 5.3.3) equal the
    capture's descrambled hard decisions on CCEs 0..3, and our scrambled bits (TS 36.211 6.8.2) its raw
    QPSK decisions, bit for bit (288 bits)."""
    found = case.got.found
    e = dci_encode(dci_pack(found.dci, N_RB, rnti_kind="common"), SI_RNTI, found.aggregation)
    sl = slice(BITS_PER_CCE * found.first_cce, BITS_PER_CCE * (found.first_cce + found.aggregation))
    llr = pdcch_llr(case.rx, case.h, case.noise_var, case.regs, PCI, case.subframe)
    assert np.array_equal(e, (llr[sl] < 0).astype(np.uint8))
    # raw (scrambled) decisions, read back in quadruplet order through the interleaver
    n_reg = case.regs.n_pdcch_regs
    l_all, k_all = case.regs.pdcch_re()
    z = np.empty((n_reg, 4), dtype=np.complex64)
    z[quadruplet_permutation(n_reg, PCI)] = case.eq[l_all, k_all].reshape(n_reg, 4)
    c = gold_sequence(pdcch_c_init(PCI, case.subframe), 8 * n_reg)
    assert np.array_equal(e ^ c[sl], _qpsk_bits(z.reshape(-1))[sl])


def test_tx_pdcch_unused_cces_empty(case):
    """Unused CCEs 4, 5 and the REGs past the last CCE hold <NIL>: zero in our grid, and at the noise
    floor in the capture (measured -27.5 dB / -28.3 dB below the used CCEs in subframes 5 / 2)."""
    l_used, k_used = _pdcch_res(case, used=True)
    l_nil, k_nil = _pdcch_res(case, used=False)
    assert l_nil.size == 4 * (case.regs.n_pdcch_regs - 9 * case.got.found.aggregation)  # 92 REs
    assert np.all(case.ours[0, l_nil, k_nil] == 0)
    p_nil = np.mean(np.abs(case.eq[l_nil, k_nil]) ** 2)
    p_used = np.mean(np.abs(case.eq[l_used, k_used]) ** 2)
    assert 10 * np.log10(p_nil / p_used) < -20


def test_tx_pdsch_symbols_match_capture(case):
    """On every PDSCH RE of the allocation (PRBs 0..5, TS 36.211 6.3.5) our symbols equal the
    capture's: every QPSK decision, fit > 0.98 (measured 0.9962 / 0.9976 in subframes 5 / 2)."""
    flat = pdsch_re_flat(case.grant.prbs, N_RB, PCI, 1, CELL.n_ctrl_symbols, case.subframe)
    assert flat.size == {5: 540, 2: 684}[case.subframe]  # 10 data symbols x 72 - CRS (- PSS/SSS in sf 5)
    ours, rx = case.ours[0].reshape(-1)[flat], case.eq.reshape(-1)[flat]
    assert np.all(np.abs(ours) > 0.5)
    assert np.array_equal(_qpsk_bits(ours), _qpsk_bits(rx))
    assert _fit(ours, rx) > 0.98


def test_tx_dlsch_coded_bits_match_capture(case):
    """Our DL-SCH coded bits e (CRC24A, turbo coding, rate matching with the DCI's RV; TS 36.212
    5.3.2) equal the hard decisions of the capture's descrambled PDSCH bit for bit, and our scrambled
    bits (TS 36.211 6.3.1) its raw QPSK decisions; the other RVs do not fit."""
    flat = pdsch_re_flat(case.grant.prbs, N_RB, PCI, 1, CELL.n_ctrl_symbols, case.subframe)
    g = 2 * flat.size
    tb, rv = case.got.result.bits, case.grant.rv
    e = dlsch_encode(tb, g, 2, rv)
    llr = pdsch_llr(case.rx, case.h, case.noise_var, case.grant, PCI, CELL.n_ctrl_symbols, case.subframe)
    assert np.array_equal(e, (llr < 0).astype(np.uint8))
    c = gold_sequence(pdsch_c_init(SI_RNTI, PCI, case.subframe), g)
    assert np.array_equal(e ^ c, _qpsk_bits(case.eq.reshape(-1)[flat]))
    # pdsch_symbols of these bits are what pdsch_map wrote into our grid
    assert np.array_equal(pdsch_symbols(e, 2, SI_RNTI, PCI, case.subframe, 1)[0], case.ours[0].reshape(-1)[flat])
    # N_soft plays no part for a one-code-block SI transport block (module docstring)
    assert np.array_equal(dlsch_encode(tb, g, 2, rv, n_soft=None), e)
    assert np.array_equal(dlsch_encode(tb, g, 2, rv, n_soft=250368), e)  # category 1 (TS 36.306 4.1-1)
    for other in {0, 1, 2, 3} - {rv}:
        assert np.mean(dlsch_encode(tb, g, 2, other) == e) < 0.75, other


def test_tx_whole_subframe_matches_capture(case):
    """Our whole grid (broadcast channels + PDCCH + PDSCH) fits the capture on every RE except the
    PHICH's (the capture sends none; ours leaves it empty too): fit 0.9968 / 0.9978 in subframes 5 / 2,
    and the REs we leave empty are empty in the capture too."""
    phich = np.zeros((14, 12 * N_RB), dtype=bool)
    phich[case.regs.phich_re()] = True
    ours = case.ours[0]
    assert _fit(ours[~phich], case.eq[~phich]) > 0.98
    empty = (ours == 0) & ~phich
    assert np.mean(np.abs(case.eq[empty]) ** 2) < 0.01 * np.mean(np.abs(case.eq[~empty]) ** 2)


def test_tx_rv_matches_the_mac_schedule(frame, case):
    """The capture's RVs are those of TS 36.321 5.3.1 as our MAC schedules them: SIB1 at SFN 656
    (MIB) subframe 5 -> RV 0; SI message 1 (SIB2) in its window (from the SIB1 decoded) subframe 2 -> RV 3."""
    found_mib = decode_mib(frame[0], estimate_channel(frame[0], PCI, N_RB, 1, 0), PCI, N_RB)
    assert found_mib is not None and found_mib.mib.sfn == SFN
    if case.subframe == 5:
        assert sib1_occasion(SFN, 5) == case.grant.rv == 0
    else:
        (sib1,) = decode_subframe(frame[5], CELL, 5)
        info = sib1_info(decode_bcch_dl_sch(np.packbits(sib1.result.bits).tobytes()))
        assert si_occasion(SFN, 2, si_schedule_from_sib1(info)) == (0, case.grant.rv) == (0, 3)
