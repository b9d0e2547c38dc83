"""Issue 10, defect 1 and read_cell on NaN: the handset discards impossible DCIs (false alarms of the
16-bit CRC) through one check (phy.ue.dci_check) and counts them; it never raises on one.

- the two reproduced crashes: a 1C for SI-RNTI with RIV 103 at N_RB 25 (N'_VRB = 12: RIV 0..77) and a
  distributed 1A for an RA-RNTI with RB 0+25 > N_VRB_DL = 24, placed on a PDCCH and decoded by the
  whole handset chain (decode_subframe): discarded and counted, nothing raised;
- 10^4 random DCI payloads of random size, RNTI and candidate, each passing the CRC by construction:
  every one is either accepted (and its PDSCH decodes without an exception) or counted as discarded;
  a small independent oracle (RIV range, I_MCS of a common 1A, format 0 with a common RNTI, format 1C
  with the C-RNTI) agrees with the verdicts;
- read_cell on NaN/inf samples: ValueError naming the problem, no LinAlgError, no phantom cell.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from phy import dci as D
from phy.channels.pdcch import PdcchTx, pdcch_map, pdcch_multiplex
from phy.regs import control_regs
from phy.resource_allocation import n_vrb_1c, riv_bits, riv_encode
from phy.search_space import ue_candidates
from phy.ue import read_cell
from phy.ue.dci_check import DciRejected, DciStats, check_dci
from phy.ue.pdcch_rx import P_RNTI, RA_RNTIS, SI_RNTI, blind_decode, blind_decode_llr
from phy.ue.pdsch_rx import decode_subframe, receive_pdsch

pytestmark = pytest.mark.timeout(300)

N_RB = 25
C_RNTI = 0x46


def _cell(pci=1, n_rb=N_RB, cfi=3):
    return SimpleNamespace(
        n_rb_dl=n_rb, pci=pci, n_ports=1, phich_duration="normal", phich_resource="one", cfi=cfi,
        n_ctrl_symbols=cfi + (1 if n_rb <= 10 else 0),
    )


def _bits(value: int, width: int) -> list[int]:
    return [(value >> (width - 1 - i)) & 1 for i in range(width)]


def _noiseless_grid(cell, subframe, pdcchs):
    regs = control_regs(cell, subframe)
    grid = np.zeros((1, 14, 12 * cell.n_rb_dl), np.complex64)
    pdcch_map(grid, pdcchs, regs, cell.pci, subframe)
    return grid[0]


# --- the reproduced crashes, through the whole handset chain -------------------------------------------
def test_1c_with_riv_out_of_range_is_a_counted_false_alarm():
    # format 1C, N_RB 25: N'_VRB = 12, RIV field 7 bits, valid RIV 0..77; 103 is what crashed the handset
    assert n_vrb_1c(N_RB) == 12 and D.dci_size("1C", N_RB) == 7 + 5
    payload = np.array(_bits(103, 7) + _bits(5, 5), np.uint8)
    with pytest.raises(DciRejected) as exc:
        check_dci(payload, "1C", SI_RNTI, "common", N_RB, C_RNTI)
    assert exc.value.reason == "allocation" and "RIV 103" in str(exc.value)
    cell = _cell()
    rx = _noiseless_grid(cell, 5, [PdcchTx(payload, SI_RNTI, 4, 0)])
    stats = DciStats()
    h = np.ones((1,) + rx.shape, np.complex64)
    assert blind_decode(rx, h, 1e-2, cell, 5, c_rnti=C_RNTI, stats=stats) == []
    assert stats.discarded == 1 and stats.reasons == {"allocation": 1}
    assert decode_subframe(rx, cell, 5, c_rnti=C_RNTI) == []  # the handset chain: nothing raised


def test_distributed_1a_beyond_n_vrb_is_a_counted_false_alarm():
    # 1A, RA-RNTI, distributed, RIV of RB_start 0 and L 25 at N_RB 25: N_VRB_DL (gap 1) = 24
    dci = D.Dci1A(riv=riv_encode(0, 25, N_RB), mcs=2, distributed=True)
    payload = D.dci_pack(dci, N_RB, "common")
    with pytest.raises(DciRejected, match="exceeds N_VRB_DL=24"):
        check_dci(payload, "0/1A", RA_RNTIS[3], "common", N_RB, C_RNTI)
    cell = _cell(pci=7)
    rx = _noiseless_grid(cell, 2, [PdcchTx(payload, RA_RNTIS[3], 8, 0)])
    stats = DciStats()
    h = np.ones((1,) + rx.shape, np.complex64)
    assert blind_decode(rx, h, 1e-2, cell, 2, c_rnti=C_RNTI, stats=stats) == []
    assert stats.reasons == {"allocation": 1}
    assert decode_subframe(rx, cell, 2, c_rnti=C_RNTI) == []


def test_formats_per_rnti_and_space_follow_36213_tables():
    """Table 7.1-1..7.1-3: SI/P/RA-RNTI use 1A/1C in the common space; 7.1-5 and 8-3: the C-RNTI uses
    0/1A in both spaces, 1 in the UE-specific space; never 1C."""
    si_1a = D.dci_pack(D.Dci1A(riv=5, mcs=3), N_RB, "common")
    c_1 = D.dci_pack(D.Dci1(rb_assignment=0b1, mcs=3), N_RB, "c")
    one_c = D.dci_pack(D.Dci1C(riv=5, tbs_index=3), N_RB, "common")
    assert isinstance(check_dci(si_1a, "0/1A", SI_RNTI, "common", N_RB, C_RNTI), D.Dci1A)
    assert isinstance(check_dci(c_1, "1", C_RNTI, "ue", N_RB, C_RNTI), D.Dci1)
    for payload, fmt, rnti, space in [
        (one_c, "1C", C_RNTI, "common"),  # 1C is never scrambled with a C-RNTI
        (c_1, "1", C_RNTI, "common"),  # format 1 only in the UE-specific space
        (si_1a, "0/1A", SI_RNTI, "ue"),  # SI-RNTI only in the common space
    ]:
        with pytest.raises(DciRejected) as exc:
            check_dci(payload, fmt, rnti, space, N_RB, C_RNTI)
        assert exc.value.reason == "format_for_rnti"
    ul = D.dci_pack(D.Dci0(rb_assignment=3, mcs_rv=4), N_RB, "c")
    with pytest.raises(DciRejected, match="format 0"):
        check_dci(ul, "0/1A", P_RNTI, "common", N_RB, C_RNTI)  # an uplink grant with P-RNTI
    with pytest.raises(DciRejected) as exc:
        check_dci(si_1a[:-1], "0/1A", SI_RNTI, "common", N_RB, C_RNTI)
    assert exc.value.reason == "size"
    bad_mcs = D.dci_pack(D.Dci1A(riv=5, mcs=27), N_RB, "common")  # I_TBS = I_MCS must be <= 26
    with pytest.raises(DciRejected) as exc:
        check_dci(bad_mcs, "0/1A", SI_RNTI, "common", N_RB, C_RNTI)
    assert exc.value.reason == "mcs"


# --- 10^4 random payloads that pass the CRC --------------------------------------------------------------
def _oracle_invalid(payload: np.ndarray, fmt: str, rnti: int) -> str | None:
    """An independent reading of a few rules (not check_dci): a reason the DCI must be rejected, or None
    when these rules do not decide."""
    common = rnti != C_RNTI
    if fmt == "1C":
        if not common:
            return "1C with C-RNTI"
        n = n_vrb_1c(N_RB)
        riv = int("".join(map(str, payload[:7])), 2)
        if riv >= n * (n + 1) // 2:
            return "1C RIV"
        return None
    if fmt == "0/1A":
        if payload[0] == 0:
            return "format 0 with a common RNTI" if common else None
        nb = riv_bits(N_RB)
        riv = int("".join(map(str, payload[2 : 2 + nb])), 2)
        if riv >= N_RB * (N_RB + 1) // 2 and not (not common and payload[1] == 0 and riv == (1 << nb) - 1):
            return "1A RIV"
        mcs = int("".join(map(str, payload[2 + nb : 7 + nb])), 2)
        if common and mcs > 26:
            return "1A common I_MCS"
    return None


def test_1e4_random_dci_payloads_never_raise_and_invalid_ones_are_counted():
    rng = np.random.default_rng(10)
    cell = _cell()
    sizes = {"0/1A": D.dci_size("1A", N_RB), "1C": D.dci_size("1C", N_RB), "1": D.dci_size("1", N_RB)}
    common_rntis = (SI_RNTI, P_RNTI, *RA_RNTIS, C_RNTI)
    n_cce = 16  # common space: L=4 at CCE 0, 4, 8, 12 (TS 36.213 9.1.1)
    placed = accepted_placed = invalid_placed = 0
    oracle_hits: dict[str, int] = {}
    total = DciStats()
    accepted_dcis = []
    while placed < 10_000:
        subframe = int(rng.integers(0, 10))
        ue_l4 = {c.first_cce for c in ue_candidates(n_cce, C_RNTI, subframe) if c.aggregation == 4}
        pdcchs, keys, meta = [], set(), []
        for first_cce in (0, 4, 8, 12):
            if first_cce in ue_l4 and rng.random() < 0.3:
                fmt, rnti = "1", C_RNTI  # format 1 lives in the UE-specific space only
            else:
                fmt, rnti = str(rng.choice(["0/1A", "1C"])), int(rng.choice(common_rntis))
            if (rnti, sizes[fmt]) in keys:
                continue  # one DCI per (RNTI, size) and subframe (the handset reports each once)
            keys.add((rnti, sizes[fmt]))
            payload = rng.integers(0, 2, sizes[fmt]).astype(np.uint8)
            pdcchs.append(PdcchTx(payload, rnti, 4, first_cce))
            meta.append((payload, fmt, rnti))
        bits, used = pdcch_multiplex(pdcchs, 9 * n_cce)
        llr = np.where(used, 4.0 * (1.0 - 2.0 * bits), 0.0).astype(np.float32)
        stats = DciStats()
        found = blind_decode_llr(llr, n_cce, N_RB, subframe, C_RNTI, stats=stats)  # must not raise
        total.add(stats)
        got = {(f.rnti, f.payload.tobytes()) for f in found}
        n_invalid = 0
        for payload, fmt, rnti in meta:
            placed += 1
            space = "ue" if fmt == "1" else "common"
            try:
                check_dci(payload, fmt, rnti, space, N_RB, C_RNTI)
                valid = True
            except DciRejected:
                valid = False
            why = _oracle_invalid(payload, fmt, rnti)
            if why is not None:
                oracle_hits[why] = oracle_hits.get(why, 0) + 1
                assert not valid, (why, payload, fmt, rnti)
            if valid:
                accepted_placed += 1
                assert (rnti, payload.tobytes()) in got, (fmt, rnti, payload)
            else:
                n_invalid += 1
                assert (rnti, payload.tobytes()) not in got
        invalid_placed += n_invalid
        assert stats.discarded >= n_invalid  # every invalid one counted (a partial decode may add one)
        accepted_dcis.extend(f for f in found if not isinstance(f.dci, (D.Dci0, D.Dci1APdcchOrder)))
    assert placed >= 10_000 and invalid_placed > 1000 and accepted_placed > 1000
    assert set(oracle_hits) == {"1C with C-RNTI", "1C RIV", "format 0 with a common RNTI", "1A RIV",
                                "1A common I_MCS"}
    assert total.discarded >= invalid_placed and total.accepted >= accepted_placed
    assert set(total.reasons) >= {"allocation", "format_for_rnti", "mcs"}
    # the PDSCH of every accepted downlink assignment (a sample) decodes without an exception
    noise = (rng.standard_normal((14, 12 * N_RB)) + 1j * rng.standard_normal((14, 12 * N_RB))).astype(np.complex64)
    h = np.ones((1, 14, 12 * N_RB), np.complex64)
    skipped = 0
    for f in accepted_dcis[::20]:
        if isinstance(f.dci, (D.Dci1, D.Dci1A)) and f.rnti == C_RNTI and f.dci.mcs >= 29:
            continue  # a retransmission: its TBS is the HARQ entity's (receive_downlink skips it too)
        tb = receive_pdsch(noise, h, 1.0, cell, 1, f, n_iter=1, rv=0)
        assert not tb.result.crc_ok  # noise: no block (an all-zero one would pass CRC24A)
        skipped += tb.skipped_code_rate is not None
    assert 0 < skipped < len(accepted_dcis[::20])


# --- read_cell on non-finite samples -------------------------------------------------------------------
@pytest.mark.parametrize("bad", [np.nan, np.inf, complex(0, -np.inf)])
@pytest.mark.parametrize("n_bad", [1, 10, 200_000])
def test_read_cell_rejects_nonfinite_samples_with_a_clear_error(bad, n_bad):
    rng = np.random.default_rng(3)
    x = (rng.standard_normal(200_000) + 1j * rng.standard_normal(200_000)).astype(np.complex64) * 0.1
    x[rng.choice(x.size, n_bad, replace=False)] = bad
    with pytest.raises(ValueError, match="non-finite") as exc:
        read_cell(x, 7.68e6)
    assert type(exc.value) is ValueError  # not numpy.linalg.LinAlgError, not a phantom PCI
    assert f"{n_bad} non-finite" in str(exc.value)


def test_run_in_process_pci_7_reproduction_discards_the_false_alarm(hw_configs_dir):
    """The reproduction of the issue (`gateway run --in-process` with cell.pci: 7, 40 ms): the handset
    crashed on a 1A for an RA-RNTI beyond N_VRB_DL; now it reads the cell and counts the false alarm."""
    from dataclasses import replace

    from gateway.cmd_run import in_process
    from gateway.config import load_config

    cfg = load_config(hw_configs_dir / "loopback.yaml")
    out = in_process(replace(cfg, cell=replace(cfg.cell, pci=7)), 40)
    dl = out["downlink"]
    assert out["cell"]["pci"] == 7 and dl["sib1_ok"] == dl["sib1_tx"] == 2
    assert dl["dci_false_alarms"] >= 1 and dl["dci_discard_reasons"].get("allocation", 0) >= 1
    assert dl["dci_expected_false_alarms"] == pytest.approx(dl["dci_rnti_checks"] * 2.0**-16)
