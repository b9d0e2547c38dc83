"""The real capture ../shared/vectors/lte_dl_pci1_6prb_1port_cfi3_1.92Msps.cf32 (an Amarisoft eNodeB,
PCI 1, 6 PRB, 1 port, CFI 3): the handset chain decodes the SI-RNTI DCIs of subframes 5 and 2 with the
content its README states, and their PDSCH transport blocks (SIB1 144 bits, an SI message 256 bits)
pass CRC24A and parse as BCCH-DL-SCH messages (TS 36.331) with pycrate."""

from __future__ import annotations

import numpy as np
import pytest

from gateway.config.cell import CellConfig
from phy import dci as D
from phy.channels.pdcch import pdcch_llr
from phy.ofdm import ofdm_demodulate
from phy.regs import control_regs
from phy.ue.chest import estimate_channel
from phy.ue.pdcch_rx import SI_RNTI, blind_decode
from phy.ue.pdsch_rx import decode_subframe

FILE = "lte_dl_pci1_6prb_1port_cfi3_1.92Msps.cf32"
SAMPLES_PER_SUBFRAME = 1920  # 6 PRB at 1.92 Msps


def make_cell(**kw) -> CellConfig:  # from the README / its MIB and PCFICH
    """A CellConfig with this file's defaults (n_rb_dl=6, pci=1, n_ports=1, cfi=3)."""
    return CellConfig(**{**dict(n_rb_dl=6, pci=1, n_ports=1, cfi=3), **kw})


@pytest.fixture(scope="module")
def grids(vectors_dir):
    x = np.fromfile(vectors_dir / FILE, dtype="<c8")
    assert x.size == 10 * SAMPLES_PER_SUBFRAME
    return [ofdm_demodulate(x[i * SAMPLES_PER_SUBFRAME : (i + 1) * SAMPLES_PER_SUBFRAME], 6) for i in range(10)]


def _dcis(grids, subframe):
    ce = estimate_channel(grids[subframe], 1, 6, 1, subframe)
    return blind_decode(grids[subframe], ce.h, ce.noise_var, make_cell(), subframe)


def test_capture_dci_subframe5_sib1(grids):
    (found,) = _dcis(grids, 5)
    assert found.rnti == SI_RNTI and found.space == "common" and found.first_cce == 0
    assert isinstance(found.dci, D.Dci1A)
    assert (found.dci.riv, found.dci.distributed, found.dci.mcs, found.dci.rv) == (11, False, 2, 0)
    assert found.dci.n_prb_1a == 3  # TPC LSB 1 -> TBS column 3: I_TBS 2 -> 144 bits


def test_capture_dci_subframe2(grids):
    (found,) = _dcis(grids, 2)
    assert found.rnti == SI_RNTI and isinstance(found.dci, D.Dci1A)
    assert (found.dci.riv, found.dci.distributed, found.dci.mcs, found.dci.rv) == (11, False, 6, 3)


def test_capture_no_other_dci(grids):
    for subframe in (0, 1, 3, 4, 6, 7, 8, 9):
        assert _dcis(grids, subframe) == [], subframe


def test_capture_pdcch_occupies_cces_0_to_3(grids):
    """The README says aggregation level 2; the common search space only has L = 4 and 8 (TS 36.213
    Table 9.1.1-1) and the energy shows the PDCCH on CCEs 0..3 with CCEs 4, 5 (of N_CCE = 6) empty."""
    regs = control_regs(make_cell(), 5)
    assert regs.n_cce == 6
    ce = estimate_channel(grids[5], 1, 6, 1, 5)
    llr = np.abs(pdcch_llr(grids[5], ce.h, ce.noise_var, regs, 1, 5))[: 6 * 72].reshape(6, 72).mean(axis=1)
    assert llr[:4].min() > 10 * llr[4:].max()


def test_capture_pdsch_sib1_and_si(grids):
    from pycrate_asn1dir import RRCLTE

    msg = RRCLTE.EUTRA_RRC_Definitions.BCCH_DL_SCH_Message
    tb5 = decode_subframe(grids[5], make_cell(), 5)
    assert len(tb5) == 1 and tb5[0].grant.tbs == 144 and tb5[0].result.crc_ok
    msg.from_uper(np.packbits(tb5[0].result.bits).tobytes())
    sib1 = msg.get_val()["message"][1]
    assert sib1[0] == "systemInformationBlockType1"
    plmn = sib1[1]["cellAccessRelatedInfo"]["plmn-IdentityList"][0]["plmn-Identity"]
    assert plmn["mcc"] == [0, 0, 1] and plmn["mnc"] == [0, 1]

    tb2 = decode_subframe(grids[2], make_cell(), 2)
    assert len(tb2) == 1 and tb2[0].grant.tbs == 256 and tb2[0].result.crc_ok
    msg.from_uper(np.packbits(tb2[0].result.bits).tobytes())
    si = msg.get_val()["message"][1]
    assert si[0] == "systemInformation"
    sibs = si[1]["criticalExtensions"][1]["sib-TypeAndInfo"]
    assert sibs[0][0] == "sib2"
