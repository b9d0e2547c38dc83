"""Pipeline tier for issue 4: eNodeB (scheduler + phy) -> AWGN/CFO/delay -> emulated handset reading
SIB1, SIB2 and its C-RNTI's PDSCH; and `record` -> SigMF -> the handset decodes SIB1/SIB2 from the file."""

from __future__ import annotations

from dataclasses import replace

import pytest

from gateway.__main__ import main
from gateway.config import load_config
from gateway.enodeb import combine_ports, downlink_subframes
from mac.ue_downlink import read_downlink
from phy.numerology import numerology
from phy.ue import read_cell
from phy.ue.downlink_rx import receive_downlink
from radio_drivers import read_sigmf
from radio_drivers.impairments import SimpleChannel

SI_RNTI = 0xFFFF


def _transmit(cfg, n_ms):
    """The downlink samples (one antenna) and the scheduler's plans, subframe by subframe."""
    import numpy as np

    parts, plans = [], []
    for sf in downlink_subframes(cfg, n_ms):
        parts.append(combine_ports(sf.samples))
        plans.append(sf.plan)
    return np.concatenate(parts), plans


def _handset(cfg, x, c_rnti):
    fs = numerology(cfg.cell.n_rb_dl).sample_rate_hz
    cell = read_cell(x, fs)
    return cell, read_downlink(receive_downlink(x, fs, cell, c_rnti=c_rnti), c_rnti)


@pytest.mark.parametrize("profile", ["loopback.yaml", "disaster_roaming.yaml"])
def test_sib1_and_sib2_every_transmission_at_5db(hw_configs_dir, profile):
    cfg = load_config(hw_configs_dir / profile)
    x, plans = _transmit(cfg, 80)
    ch = SimpleChannel(snr_db=5.0, cfo_hz=1500.0, delay=1234, n_rb=cfg.cell.n_rb_dl,
                       sample_rate_hz=numerology(cfg.cell.n_rb_dl).sample_rate_hz, seed=4)
    cell, dl = _handset(cfg, ch(x), c_rnti=cfg.scheduler.c_rntis[0])
    assert cell.pci == cfg.cell.pci and cell.sfn == cfg.cell.sfn_start
    sent_sib1 = sum(t.kind == "sib1" for p in plans for t in p.si)
    sent_si = sum(t.kind == "si" for p in plans for t in p.si)
    assert (sent_sib1, sent_si) == (4, 4)  # 80 ms from SFN 0: SFN 0, 2, 4, 6 and the SFN 0 window
    assert dl.subframes == 80
    assert (dl.sib1_tx, dl.sib1_ok) == (sent_sib1, sent_sib1)
    assert (dl.si_tx, dl.si_ok, dl.si_outside_window) == (sent_si, sent_si, 0)
    assert dl.sib2
    assert dl.plmns == tuple(str(p) for p in cfg.system_info.plmn_list)
    assert (dl.tac, dl.cell_identity) == (cfg.system_info.tac, cfg.system_info.cell_identity)
    if profile == "disaster_roaming.yaml":
        assert dl.plmns == ("440-10", "440-50", "440-20", "440-11")


def test_user_data_bler_zero_at_high_snr_two_ports_10mhz(hw_configs_dir):
    cfg = load_config(hw_configs_dir / "loopback.yaml")
    cfg = replace(
        cfg,
        cell=replace(cfg.cell, n_rb_dl=50, n_ports=2, pci=77, cfi=3, sfn_start=7),
        scheduler=replace(cfg.scheduler, c_rntis=(0x46, 0x3039), user_mcs=20),
    )
    x, plans = _transmit(cfg, 20)
    ch = SimpleChannel(snr_db=30.0, cfo_hz=-700.0, delay=321, n_rb=50,
                       sample_rate_hz=numerology(50).sample_rate_hz, seed=5)
    me = 0x3039
    _, dl = _handset(cfg, ch(x), c_rnti=me)
    mine = [u for p in plans for u in p.users if u.rnti == me]
    assert len(mine) >= 15  # every TTI but those without room
    assert dl.user_blocks == len(mine) and dl.user_errors == 0 and dl.bler == 0.0
    assert dl.throughput_bps == pytest.approx(sum(u.tbs for u in mine) / 20e-3)
    assert dl.user_sdu_bytes == sum(u.tbs // 8 - 1 for u in mine)
    assert dl.plmns == ("001-01",)  # SIB1 of SFN 8 is inside the 20 ms


def test_record_then_handset_decodes_sib1_sib2_from_the_file(tmp_path, hw_configs_dir):
    stem = tmp_path / "dl"
    profile = hw_configs_dir / "disaster_roaming.yaml"
    assert main(["record", "--config", str(profile), "--seconds", "0.03", "--out", str(stem)]) == 0
    rec = read_sigmf(stem)
    cell = read_cell(rec.samples, rec.sample_rate_hz)
    dl = read_downlink(receive_downlink(rec.samples, rec.sample_rate_hz, cell))
    assert dl.subframes == 30
    assert (dl.sib1_tx, dl.sib1_ok) == (2, 2)  # SFN 0 and 2
    assert (dl.si_tx, dl.si_ok) == (4, 4) and dl.sib2
    assert dl.plmns == ("440-10", "440-50", "440-20", "440-11")
    assert "440-50" in rec.description
