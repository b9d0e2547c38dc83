"""Config loading: the default profile validates; every bad key is named with what is allowed."""

from __future__ import annotations

import pytest
import yaml

from gateway.config import ConfigError, config_from_dict, load_config
from phy.bands import BANDS, dl_frequency_hz, ul_earfcn_for_dl, ul_frequency_hz


def test_every_shipped_profile_loads(hw_configs_dir):
    profiles = sorted(hw_configs_dir.glob("*.yaml"))
    assert profiles, "hw_configs/ has no profiles"
    for path in profiles:
        cfg = load_config(path)
        assert cfg.cell.n_rb_dl in (6, 15, 25, 50, 75, 100)


def test_loopback_defaults(hw_configs_dir):
    cfg = load_config(hw_configs_dir / "loopback.yaml")
    assert cfg.name == "loopback"
    assert cfg.cell.band == 28
    # TS 36.101 5.7.3: band 28, F_DL_low 758 MHz, N_Offs-DL 9210 -> 9330 is 770.0 MHz
    assert cfg.cell.dl_frequency_hz == pytest.approx(770.0e6)
    # paired UL at the band's duplex spacing (55 MHz)
    assert cfg.cell.ul_frequency_hz == pytest.approx(715.0e6)


@pytest.mark.parametrize(
    "section, key, value, message",
    [
        ("cell", "n_rb_dl", 24, "cell.n_rb_dl: 24 is not allowed; choose one of 6, 15, 25, 50, 75, 100"),
        ("cell", "pci", 504, "cell.pci: 504 is out of range [0, 503]"),
        ("cell", "pci", -1, "cell.pci: -1 is out of range"),
        ("cell", "pci", "one", "cell.pci: expected an integer"),
        ("cell", "n_ports", 4, "cell.n_ports: 4 is not allowed; choose one of 1, 2"),
        ("cell", "phich_resource", "1/6", "cell.phich_resource: '1/6' is not allowed"),
        ("cell", "earfcn_dl", 300, "cell.earfcn_dl: 300 is not a DL EARFCN of band 28; allowed 9210..9659"),
        ("cell", "cfi", 4, "cell.cfi: 4 is out of range [1, 3]"),
        ("cell", "bogus", 1, "cell.bogus: unknown key; allowed keys in 'cell' are:"),
        ("channel", "snr_db", "loud", "channel.snr_db: expected a number"),
    ],
)
def test_bad_values_name_the_key(section, key, value, message):
    with pytest.raises(ConfigError) as err:
        config_from_dict({section: {key: value}})
    assert message in str(err.value)


def test_channel_must_fit_in_band():
    # 20 MHz centred 2 MHz above the band-28 lower edge spills out of the band
    with pytest.raises(ConfigError, match=r"cell.earfcn_dl: a 20 MHz channel .* does not fit in band 28; "
                       r"for n_rb_dl=100 use 9310..9560"):
        config_from_dict({"cell": {"n_rb_dl": 100, "earfcn_dl": 9230}})
    config_from_dict({"cell": {"n_rb_dl": 100, "earfcn_dl": 9310}})


def test_unknown_section_and_bad_file(tmp_path):
    with pytest.raises(ConfigError, match="celll: unknown section"):
        config_from_dict({"celll": {}})
    bad = tmp_path / "bad.yaml"
    bad.write_text("cell: [1, 2\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad)
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "missing.yaml")
    scalar = tmp_path / "scalar.yaml"
    scalar.write_text(yaml.safe_dump([1, 2]))
    with pytest.raises(ConfigError, match="top level must be a mapping"):
        load_config(scalar)


def test_control_symbols_follow_table_6_7_1():
    # TS 36.211 Table 6.7-1: N_RB <= 10 uses CFI + 1 symbols
    assert config_from_dict({"cell": {"n_rb_dl": 6, "earfcn_dl": 9330, "cfi": 3}}).cell.n_ctrl_symbols == 4
    assert config_from_dict({"cell": {"n_rb_dl": 50, "cfi": 3}}).cell.n_ctrl_symbols == 3


@pytest.mark.parametrize(
    "band, earfcn, f_dl_mhz, f_ul_mhz",
    [
        (1, 300, 2140.0, 1950.0),  # the classic band-1 centre: 2140 / 1950 MHz
        (3, 1575, 1842.5, 1747.5),
        (7, 3100, 2655.0, 2535.0),
        (28, 9210, 758.0, 703.0),
        (28, 9659, 802.9, 747.9),
    ],
)
def test_earfcn_to_frequency(band, earfcn, f_dl_mhz, f_ul_mhz):
    # TS 36.101 5.7.3: F = F_low + 0.1 (N - N_Offs)
    assert dl_frequency_hz(band, earfcn) == pytest.approx(f_dl_mhz * 1e6)
    assert ul_frequency_hz(band, ul_earfcn_for_dl(band, earfcn)) == pytest.approx(f_ul_mhz * 1e6)


def test_band_table_ranges_are_consistent():
    for b in BANDS.values():
        if b.number == 66:  # TS 36.101 Table 5.5-1: band 66 is asymmetric, DL 2110-2200, UL 1710-1780 MHz
            assert (b.f_dl_high_hz - b.f_dl_low_hz, b.n_ul_max - b.n_offs_ul + 1) == (90e6, 700)
            continue
        assert b.n_dl_max > b.n_offs_dl and b.n_ul_max - b.n_offs_ul == b.n_dl_max - b.n_offs_dl


def test_si_format_1c_gap_checked_against_the_cell_at_load():
    # TS 36.211 Table 6.2.3.2-1: N_gap,2 exists only for 50..110 PRB
    with pytest.raises(ConfigError, match=r"system_info.si_1c_gap: gap 2 .* the cell has 25 PRB"):
        config_from_dict({"cell": {"n_rb_dl": 25}, "system_info": {"si_dci_format": "1C", "si_1c_gap": 2}})
    cfg = config_from_dict({"cell": {"n_rb_dl": 50}, "system_info": {"si_dci_format": "1C", "si_1c_gap": 2}})
    assert cfg.system_info.si_1c_gap == 2
