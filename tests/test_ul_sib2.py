"""UL SIB2 wiring: profile -> SIB2 (UPER) -> the handset's UlCellConfig equals the gateway's."""

from __future__ import annotations

import pytest

from gateway.config import ConfigError, config_from_dict, load_config
from mac.sib import (
    decode_bcch_dl_sch,
    encode_si_sib2,
    sib2_from_message,
    sib2_value,
    ul_cell_config,
    ul_cell_config_from_sib2,
)
from phy.ul_config import PrachConfig, PucchConfigCommon, PuschConfigCommon, UlCellConfig

NON_DEFAULT = {
    "root_sequence_index": 300,
    "prach_config_index": 12,
    "zero_correlation_zone_config": 9,
    "high_speed_flag": True,
    "prach_freq_offset": 7,
    "number_of_ra_preambles": 40,
    "enable_64qam": True,
    "group_hopping_enabled": True,
    "group_assignment_pusch": 17,
    "sequence_hopping_enabled": True,
    "pusch_cyclic_shift": 5,
    "delta_pucch_shift": 3,
    "n_rb_cqi": 4,
    "n_cs_an": 6,
    "n1_pucch_an": 100,
}


def _round_trip(cfg):
    """What the handset builds from the SIB2 bytes it received (PCI and N_RB_DL from sync / the MIB)."""
    sib2 = sib2_from_message(decode_bcch_dl_sch(encode_si_sib2(cfg.cell, cfg.system_info)))
    return ul_cell_config_from_sib2(sib2, n_id_cell=cfg.cell.pci, n_rb_dl=cfg.cell.n_rb_dl)


@pytest.mark.parametrize("system_info", [{}, NON_DEFAULT], ids=["defaults", "non-default"])
@pytest.mark.parametrize("n_rb", [25, 50])
def test_profile_sib2_handset_round_trip(system_info, n_rb):
    cfg = config_from_dict({"cell": {"n_rb_dl": n_rb, "pci": 77}, "system_info": system_info})
    gateway = ul_cell_config(cfg.cell, cfg.system_info)
    assert _round_trip(cfg) == gateway


def test_sib2_carries_the_profile_values():
    cfg = config_from_dict({"system_info": NON_DEFAULT})
    ul = ul_cell_config(cfg.cell, cfg.system_info)
    assert ul.prach == PrachConfig(root_sequence_index=300, config_index=12, zero_correlation_zone_config=9,
                                   high_speed_flag=True, freq_offset_prb=7, n_preambles=40)
    assert ul.pusch == PuschConfigCommon(group_hopping=True, sequence_hopping=True, group_assignment=17,
                                         cyclic_shift=5, enable_64qam=True)
    assert ul.pucch == PucchConfigCommon(delta_shift=3, n_rb_cqi=4, n_cs_an=6, n1_pucch_an=100)
    value = sib2_value(cfg.cell, cfg.system_info)["radioResourceConfigCommon"]
    assert value["pucch-ConfigCommon"] == {"deltaPUCCH-Shift": "ds3", "nRB-CQI": 4, "nCS-AN": 6, "n1PUCCH-AN": 100}
    assert value["rach-ConfigCommon"]["preambleInfo"]["numberOfRA-Preambles"] == "n40"


def test_handset_reads_sib2_not_the_profile():
    """The handset's view follows the broadcast: a different profile gives a different handset config."""
    a = config_from_dict({"system_info": {}})
    b = config_from_dict({"system_info": NON_DEFAULT})
    assert _round_trip(a) != _round_trip(b)
    assert _round_trip(b).pucch.n1_pucch_an == 100


def test_loopback_profile_round_trip(hw_configs_dir):
    cfg = load_config(hw_configs_dir / "loopback.yaml")
    assert _round_trip(cfg) == ul_cell_config(cfg.cell, cfg.system_info)


def test_profile_validation():
    with pytest.raises(ConfigError, match="n_cs_an"):
        config_from_dict({"system_info": {"delta_pucch_shift": 3, "n_cs_an": 4}})
    with pytest.raises(ConfigError, match="group_assignment_pusch"):
        config_from_dict({"system_info": {"group_assignment_pusch": 30}})
    with pytest.raises(ConfigError, match="number_of_ra_preambles"):
        config_from_dict({"system_info": {"number_of_ra_preambles": 50}})


def test_ul_config_validation():
    assert UlCellConfig(3, 6).prach.freq_offset_prb == 0  # default PRACH fitted into a 6-PRB carrier
    with pytest.raises(ValueError, match="outside"):
        UlCellConfig(3, 6, prach=PrachConfig(freq_offset_prb=1))
    with pytest.raises(ValueError, match="multiple of delta_shift"):
        PucchConfigCommon(delta_shift=3, n_cs_an=4)
    with pytest.raises(ValueError, match="N/A"):
        PrachConfig(config_index=46)
    with pytest.raises(ValueError, match="zeroCorrelationZoneConfig"):
        PrachConfig(zero_correlation_zone_config=15, high_speed_flag=True)
    with pytest.raises(ValueError, match="n_id_cell"):
        UlCellConfig(504, 25)
    with pytest.raises(ValueError, match="n_rb_ul"):
        UlCellConfig(1, 30)
    with pytest.raises(ValueError, match="groupAssignmentPUSCH"):
        PuschConfigCommon(group_assignment=30)
    with pytest.raises(ValueError, match="nRB-CQI"):
        UlCellConfig(1, 6, pucch=PucchConfigCommon(n_rb_cqi=4))


def test_handset_ul_config_over_the_air():
    """Pipeline: the gateway's downlink (SIB2 from a non-default profile) -> the emulated handset's cell
    search, PDSCH and SIB2 decode -> its UlCellConfig equals the gateway's."""
    import numpy as np

    from gateway.enodeb import combine_ports, downlink_subframes
    from mac.ue_downlink import read_downlink
    from phy.numerology import numerology
    from phy.ue import read_cell
    from phy.ue.downlink_rx import receive_downlink

    cfg = config_from_dict({"cell": {"n_rb_dl": 25, "pci": 211}, "system_info": NON_DEFAULT})
    x = np.concatenate([combine_ports(sf.samples) for sf in downlink_subframes(cfg, 30)])
    fs = numerology(cfg.cell.n_rb_dl).sample_rate_hz
    cell = read_cell(x, fs)
    dl = read_downlink(receive_downlink(x, fs, cell))
    assert dl.sib2 and cell.pci == 211
    assert dl.ul_cell_config(cell.pci, cell.n_rb_dl) == ul_cell_config(cfg.cell, cfg.system_info)
    assert "sib2_value" not in dl.as_dict()
