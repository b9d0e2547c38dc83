"""SIB1 / SIB2 BCCH-DL-SCH messages: pycrate round trips, and UPER bits built by hand from TS 36.331."""

from __future__ import annotations

import pytest

from gateway.config import ConfigError, config_from_dict, load_config
from mac.plmn import Plmn
from mac.sib import (
    decode_bcch_dl_sch,
    encode_si_sib2,
    encode_sib1,
    pad_to_tbs,
    sib1_info,
    sib1_value,
    sib2_from_message,
    sib2_value,
)

SIX_PLMNS = ["440-50", "440-20", "440-11", "001-001", "310-410"]


def _cfg(**system_info):
    return config_from_dict({"system_info": system_info})


# --------------------------------------------------------------------------------------------
# hand UPER encoder (X.691 unaligned PER) for SIB1 as laid out in TS 36.331 6.2.2
# --------------------------------------------------------------------------------------------


def _b(value: int, n_bits: int) -> str:
    assert 0 <= value < 2**n_bits
    return format(value, f"0{n_bits}b") if n_bits else ""


def _hand_sib1_bits(plmns, tac, cell_identity, q_rx_lev_min_ie, band, period_index, window_index, tag) -> str:
    bits = "0"  # BCCH-DL-SCH-MessageType CHOICE {c1, messageClassExtension}: c1
    bits += "1"  # c1 CHOICE {systemInformation, systemInformationBlockType1}: SIB1
    bits += "000"  # SIB1 OPTIONAL bitmap: p-Max, tdd-Config, nonCriticalExtension absent
    bits += "0"  # cellAccessRelatedInfo OPTIONAL bitmap: csg-Identity absent
    bits += _b(len(plmns) - 1, 3)  # plmn-IdentityList SIZE (1..6)
    for mcc, mnc in plmns:
        bits += "1"  # PLMN-Identity OPTIONAL bitmap: mcc present
        bits += "".join(_b(int(d), 4) for d in mcc)  # MCC: SIZE (3) OF INTEGER (0..9)
        bits += _b(len(mnc) - 2, 1)  # MNC: SIZE (2..3)
        bits += "".join(_b(int(d), 4) for d in mnc)
        bits += "1"  # cellReservedForOperatorUse ENUMERATED {reserved, notReserved}: notReserved
    bits += _b(tac, 16)  # trackingAreaCode BIT STRING (SIZE (16))
    bits += _b(cell_identity, 28)  # cellIdentity BIT STRING (SIZE (28))
    bits += "1"  # cellBarred {barred, notBarred}: notBarred
    bits += "0"  # intraFreqReselection {allowed, notAllowed}: allowed
    bits += "0"  # csg-Indication BOOLEAN FALSE
    bits += "0"  # cellSelectionInfo OPTIONAL bitmap: q-RxLevMinOffset absent
    bits += _b(q_rx_lev_min_ie + 70, 6)  # q-RxLevMin INTEGER (-70..-22)
    bits += _b(band - 1, 6)  # freqBandIndicator INTEGER (1..64)
    bits += _b(0, 5)  # schedulingInfoList SIZE (1..32): one entry
    bits += _b(period_index, 3)  # si-Periodicity {rf8, rf16, rf32, rf64, rf128, rf256, rf512}
    bits += _b(0, 5)  # sib-MappingInfo SIZE (0..31): empty (SIB2 is implicit)
    bits += _b(window_index, 3)  # si-WindowLength {ms1, ms2, ms5, ms10, ms15, ms20, ms40}
    bits += _b(tag, 5)  # systemInfoValueTag INTEGER (0..31)
    return bits + "0" * (-len(bits) % 8)  # the outermost value is padded to an octet (X.691 10.1.3)


def _bits_to_bytes(bits: str) -> bytes:
    return int(bits, 2).to_bytes(len(bits) // 8, "big")


@pytest.mark.parametrize(
    "system_info, plmns",
    [
        ({}, [("001", "01")]),
        (
            {"mode": "disaster_roaming", "plmn": "440-10", "partner_plmns": SIX_PLMNS, "tac": 0xBEEF,
             "cell_identity": 0xABCDEF1, "q_rx_lev_min_dbm": -120, "si_periodicity_rf": 64,
             "si_window_ms": 40, "system_info_value_tag": 17},
            [("440", "10"), ("440", "50"), ("440", "20"), ("440", "11"), ("001", "001"), ("310", "410")],
        ),
    ],
)
def test_sib1_bytes_match_hand_uper(system_info, plmns):
    cfg = _cfg(**system_info)
    si = cfg.system_info
    periods = (8, 16, 32, 64, 128, 256, 512)
    windows = (1, 2, 5, 10, 15, 20, 40)
    bits = _hand_sib1_bits(
        plmns, si.tac, si.cell_identity, si.q_rx_lev_min_dbm // 2, cfg.cell.band,
        periods.index(si.si_periodicity_rf), windows.index(si.si_window_ms), si.system_info_value_tag,
    )
    assert encode_sib1(cfg.cell, si) == _bits_to_bytes(bits)


def test_sib1_first_byte_by_hand():
    # c1 (0), SIB1 (1), no p-Max/tdd/nCE (000), no csg-Identity (0), then the 3-bit PLMN count - 1 (000):
    # byte 0 = 0100 0000; byte 1 opens with the count's last bit (0), MCC present (1), MCC digit 0 (0000).
    data = encode_sib1(_cfg().cell, _cfg().system_info)
    assert data[0] == 0b0100_0000
    assert data[1] >> 2 == 0b0_1_0000


@pytest.mark.parametrize("n_partners", [0, 5])
def test_sib1_round_trip(n_partners):
    mode = "disaster_roaming" if n_partners else "normal"
    cfg = _cfg(mode=mode, plmn="440-10", partner_plmns=SIX_PLMNS[:n_partners], tac=4660,
               cell_identity=2**28 - 1, q_rx_lev_min_dbm=-44)
    data = encode_sib1(cfg.cell, cfg.system_info)
    decoded = decode_bcch_dl_sch(pad_to_tbs(data, 8 * (len(data) + 7)))
    kind, sib1 = decoded["message"][1]
    assert kind == "systemInformationBlockType1"
    assert sib1 == sib1_value(cfg.cell, cfg.system_info)
    info = sib1_info(decoded)
    assert len(info.plmn_list) == 1 + n_partners
    assert info.plmn_list == cfg.system_info.plmn_list
    assert info.tac == 4660 and info.cell_identity == 2**28 - 1
    assert info.q_rx_lev_min_dbm == -44
    assert info.freq_band_indicator == 28
    assert not info.cell_barred
    assert info.si_window_ms == 20 and info.scheduling_info[0].si_periodicity_rf == 16


def test_disaster_roaming_profile_broadcasts_all_partners(hw_configs_dir):
    cfg = load_config(hw_configs_dir / "disaster_roaming.yaml")
    info = sib1_info(decode_bcch_dl_sch(encode_sib1(cfg.cell, cfg.system_info)))
    assert info.plmn_list == (Plmn("440", "10"), Plmn("440", "50"), Plmn("440", "20"), Plmn("440", "11"))
    normal = load_config(hw_configs_dir / "loopback.yaml")
    info = sib1_info(decode_bcch_dl_sch(encode_sib1(normal.cell, normal.system_info)))
    assert info.plmn_list == (Plmn("001", "01"),)


def test_band_above_64_uses_v9e0_extension():
    cfg = config_from_dict({"cell": {"band": 66, "earfcn_dl": 66886}})
    decoded = decode_bcch_dl_sch(encode_sib1(cfg.cell, cfg.system_info))
    assert decoded["message"][1][1]["freqBandIndicator"] == 64  # maxFBI
    assert sib1_info(decoded).freq_band_indicator == 66


def test_sib2_round_trip_and_values():
    cfg = config_from_dict({"cell": {"n_rb_dl": 50, "earfcn_dl": 9360, "n_ports": 2}})
    data = encode_si_sib2(cfg.cell, cfg.system_info)
    sib2 = sib2_from_message(decode_bcch_dl_sch(pad_to_tbs(data, 8 * len(data) + 64)))
    assert sib2 == sib2_value(cfg.cell, cfg.system_info)
    sup = sib2["radioResourceConfigCommon"]["rach-ConfigCommon"]["ra-SupervisionInfo"]
    assert sup["ra-ResponseWindowSize"] == "sf10" and sup["mac-ContentionResolutionTimer"] == "sf64"
    assert sib2["freqInfo"]["ul-Bandwidth"] == "n50"
    assert sib2["freqInfo"]["ul-CarrierFreq"] == cfg.cell.earfcn_ul
    assert sib2["radioResourceConfigCommon"]["pdsch-ConfigCommon"]["p-b"] == 1  # 2 ports


def test_sib2_prefix_by_hand():
    """First 39 bits of the SystemInformation(SIB2) message, UPER by hand from TS 36.331."""
    bits = "0"  # c1
    bits += "0"  # systemInformation
    bits += "0"  # criticalExtensions: systemInformation-r8
    bits += "0"  # SystemInformation-r8-IEs: nonCriticalExtension absent
    bits += _b(0, 5)  # sib-TypeAndInfo SIZE (1..32): one element
    bits += "0" + _b(0, 4)  # extensible CHOICE: root alternative sib2 of {sib2..sib11}
    bits += "0" + "00"  # SIB2: extension bit, ac-BarringInfo and mbsfn-SubframeConfigList absent
    bits += "0"  # RadioResourceConfigCommonSIB extension bit
    bits += "0"  # RACH-ConfigCommon extension bit
    bits += "0" + _b(12, 4)  # preambleInfo: no groupA config; numberOfRA-Preambles n52 (index 12)
    bits += _b(3, 2) + _b(8, 4)  # powerRampingStep dB6; preambleInitialReceivedTargetPower dBm-104
    bits += _b(6, 4)  # preambleTransMax n10 (index 6 of n3..n200)
    bits += _b(7, 3)  # ra-ResponseWindowSize sf10 (the largest, index 7)
    bits += _b(7, 3)  # mac-ContentionResolutionTimer sf64 (the largest, index 7)
    bits += _b(4 - 1, 3)  # maxHARQ-Msg3Tx INTEGER (1..8) = 4
    cfg = _cfg()
    data = encode_si_sib2(cfg.cell, cfg.system_info)
    got = "".join(format(byte, "08b") for byte in data)
    assert got[: len(bits)] == bits


def test_pad_to_tbs():
    assert pad_to_tbs(b"\x12\x34", 40) == b"\x12\x34\x00\x00\x00"
    with pytest.raises(ValueError, match="does not fit a 8-bit transport block"):
        pad_to_tbs(b"\x12\x34", 8)
    with pytest.raises(ValueError, match="not a whole number of bytes"):
        pad_to_tbs(b"\x12", 12)


def test_prach_offset_outside_uplink_is_named():
    # TS 36.211 5.7.1: n_PRBoffset^RA in 0..N_RB_UL - 6; the loader checks it against the cell
    with pytest.raises(ConfigError, match=r"system_info.prach_freq_offset: 2 .* use 0..0"):
        config_from_dict({"cell": {"n_rb_dl": 6}, "system_info": {"prach_freq_offset": 2}})
    # unset: 2 where it fits, else the widest that fits; SIB2 carries it
    narrow = config_from_dict({"cell": {"n_rb_dl": 6}})
    wide = config_from_dict({"cell": {"n_rb_dl": 25}})
    assert narrow.system_info.prach_offset_prb(6) == 0 and wide.system_info.prach_offset_prb(25) == 2
    sib2 = sib2_from_message(decode_bcch_dl_sch(encode_si_sib2(narrow.cell, narrow.system_info)))
    assert sib2["radioResourceConfigCommon"]["prach-Config"]["prach-ConfigInfo"]["prach-FreqOffset"] == 0


def test_decode_rejects_truncated_and_foreign_messages():
    cfg = _cfg()
    with pytest.raises(ValueError, match="not a valid BCCH-DL-SCH"):
        decode_bcch_dl_sch(encode_sib1(cfg.cell, cfg.system_info)[:5])
    # first bit 1 = messageClassExtension: valid UPER, but not a Rel-8 SIB1
    with pytest.raises(ValueError, match="not a Rel-8 c1 message"):
        sib1_info(decode_bcch_dl_sch(b"\x80"))
    with pytest.raises(ValueError, match="expected SystemInformationBlockType1, got systemInformation"):
        sib1_info(decode_bcch_dl_sch(encode_si_sib2(cfg.cell, cfg.system_info)))


@pytest.mark.parametrize(
    "system_info, message",
    [
        ({"plmn": "44010"}, "system_info.plmn: '44010' is not a PLMN"),
        ({"plmn": "440-1"}, "system_info.plmn: '440-1' is not a PLMN"),
        ({"partner_plmns": ["440-50", "44-20"]}, "system_info.partner_plmns[1]: '44-20' is not a PLMN"),
        ({"mode": "disaster_roaming"}, "system_info.partner_plmns: mode disaster_roaming needs at least one"),
        ({"mode": "roaming"}, "system_info.mode: 'roaming' is not allowed; choose one of normal, disaster_"),
        ({"partner_plmns": SIX_PLMNS + ["440-54"]}, "SIB1 carries at most 6"),
        ({"partner_plmns": ["001-01"]}, "PLMN 001-01 is listed twice"),
        ({"q_rx_lev_min_dbm": -141}, "system_info.q_rx_lev_min_dbm: -141 is out of range [-140, -44]"),
        ({"q_rx_lev_min_dbm": -121}, "system_info.q_rx_lev_min_dbm: -121 is odd"),
        ({"cell_identity": 2**28}, "system_info.cell_identity: 268435456 is out of range"),
        ({"si_window_ms": 30}, "system_info.si_window_ms: 30 is not allowed"),
        ({"si_periodicity_rf": 8, "si_window_ms": 40, "si_transmissions": 41}, "si_transmissions: 41 is out"),
        ({"si_window_ms": 5, "si_transmissions": 6}, "system_info.si_transmissions: 6 repetitions do not"),
    ],
)
def test_bad_system_info_names_the_key(system_info, message):
    with pytest.raises(ConfigError) as err:
        _cfg(**system_info)
    assert message in str(err.value)


def test_uper_cache_holds_pycrates_own_bytes(hw_configs_dir, tmp_path, monkeypatch):
    from pycrate_asn1dir import RRCLTE

    cfg = load_config(hw_configs_dir / "loopback.yaml")
    monkeypatch.setenv("SORAGATE_CACHE_DIR", str(tmp_path / "cache"))
    sib1 = encode_sib1(cfg.cell, cfg.system_info)
    cached = list((tmp_path / "cache" / "uper").glob("*.uper"))
    assert len(cached) == 1 and cached[0].read_bytes() == sib1
    codec = RRCLTE.EUTRA_RRC_Definitions.BCCH_DL_SCH_Message
    codec.set_val({"message": ("c1", ("systemInformationBlockType1", sib1_value(cfg.cell, cfg.system_info)))})
    assert codec.to_uper() == sib1  # what the cache returns is pycrate's encoding, byte for byte
    assert encode_sib1(cfg.cell, cfg.system_info) == sib1  # second time from the cache
    # another value, another entry; an unwritable cache directory only costs the import
    other = encode_si_sib2(cfg.cell, cfg.system_info)
    assert len(list((tmp_path / "cache" / "uper").glob("*.uper"))) == 2
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("SORAGATE_CACHE_DIR", str(blocker))
    assert encode_si_sib2(cfg.cell, cfg.system_info) == other


def test_warm_gateway_start_does_not_import_pycrate(hw_configs_dir, tmp_path):
    import os
    import subprocess
    import sys

    code = ("import sys; from gateway.config import load_config; from gateway.enodeb import ENodeB; "
            f"e = ENodeB(load_config({str(hw_configs_dir / 'loopback.yaml')!r})); e.subframe(0); e.subframe(5); "
            "print('pycrate_asn1dir.RRCLTE' in sys.modules)")
    env = dict(os.environ, SORAGATE_CACHE_DIR=str(tmp_path))
    runs = [subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
            for _ in range(2)]
    assert [r.returncode for r in runs] == [0, 0], runs[0].stderr + runs[1].stderr
    assert [r.stdout.strip() for r in runs] == ["True", "False"]  # cold: encodes; warm: from the cache
