"""BCCH-DL-SCH messages: SIB1 and the SystemInformation message carrying SIB2 (TS 36.331 6.2.2).

The bytes are real ASN.1 UPER encodings (X.691 unaligned PER, as TS 36.331 8 prescribes) made with
pycrate's compiled 36.331 module, not hand-packed bits. The eNodeB side encodes from the validated
config (`cell:` and `system_info:` sections); the emulated handset decodes with the same module.

    sib1 = encode_sib1(cfg.cell, cfg.system_info)          # bytes, octet-aligned UPER
    tb = pad_to_tbs(sib1, tbs_bits=208)                     # BCCH transport block (no MAC header)
    info = sib1_info(decode_bcch_dl_sch(tb))                # PLMN list, TAC, cell identity, ...

Start-up: importing pycrate's 36.331 module takes ~0.8 s, most of a gateway's start-up. Encodings are
therefore kept in a small on-disk cache (`uper_cache_dir()`: $SORAGATE_CACHE_DIR, else
~/.cache/soragate) keyed by the message value and the pycrate version, and pycrate is imported only
when an encoding is not cached or a message is decoded. The cache holds pycrate's own output, byte for
byte; deleting it only costs the next start-up 0.8 s.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from mac.plmn import Plmn
from phy.ul_config import PrachConfig, PucchConfigCommon, PuschConfigCommon, UlCellConfig

if TYPE_CHECKING:
    from gateway.config import CellConfig, SystemInfoConfig

__all__ = [
    "Sib1Info",
    "SiSchedulingInfo",
    "decode_bcch_dl_sch",
    "encode_sib1",
    "encode_si_sib2",
    "pad_to_tbs",
    "sib1_info",
    "sib1_value",
    "sib2_value",
    "sib2_from_message",
    "ul_cell_config",
    "ul_cell_config_from_sib2",
]

_MAX_FBI = 64  # TS 36.331 maxFBI: freqBandIndicator INTEGER (1..maxFBI)
_N_RB_TO_UL_BW = {6: "n6", 15: "n15", 25: "n25", 50: "n50", 75: "n75", 100: "n100"}


class SiSchedulingInfo(NamedTuple):
    """One SIB1 schedulingInfoList entry: SI period in frames, SIBs mapped (SIB2 implicit in the 1st)."""

    si_periodicity_rf: int
    sib_types: tuple[int, ...]


class Sib1Info(NamedTuple):
    """What a handset reports from SIB1 (TS 36.331 SystemInformationBlockType1)."""

    plmn_list: tuple[Plmn, ...]
    tac: int
    cell_identity: int
    cell_barred: bool
    q_rx_lev_min_dbm: int
    freq_band_indicator: int
    si_window_ms: int
    scheduling_info: tuple[SiSchedulingInfo, ...]
    system_info_value_tag: int


# ------------------------------------------------------------------------------------------------
# SIB1
# ------------------------------------------------------------------------------------------------


def _plmn_value(plmn: Plmn, reserved: bool) -> dict:
    """PLMN-IdentityInfo: MCC and MNC as digit lists (TS 36.331 PLMN-Identity, MCC-MNC-Digit)."""
    return {
        "plmn-Identity": {"mcc": [int(d) for d in plmn.mcc], "mnc": [int(d) for d in plmn.mnc]},
        "cellReservedForOperatorUse": "reserved" if reserved else "notReserved",
    }


def sib1_value(cell: CellConfig, si: SystemInfoConfig) -> dict:
    """The SystemInformationBlockType1 value (pycrate form) for a cell and its system-info config."""
    plmns = si.plmn_list
    if not 1 <= len(plmns) <= 6:
        raise ValueError(f"system_info: SIB1 carries 1..6 PLMNs, got {len(plmns)}")
    value: dict[str, Any] = {
        "cellAccessRelatedInfo": {
            "plmn-IdentityList": [_plmn_value(p, si.cell_reserved_for_operator_use) for p in plmns],
            "trackingAreaCode": (si.tac, 16),
            "cellIdentity": (si.cell_identity, 28),
            "cellBarred": "notBarred",
            "intraFreqReselection": "allowed",
            "csg-Indication": False,
        },
        # q-RxLevMin INTEGER (-70..-22), actual value Qrxlevmin = IE * 2 dBm
        "cellSelectionInfo": {"q-RxLevMin": si.q_rx_lev_min_dbm // 2},
        "freqBandIndicator": min(cell.band, _MAX_FBI),
        # SIB2 is always in the first SI message and is not listed in sib-MappingInfo (TS 36.331 6.2.2)
        "schedulingInfoList": [{"si-Periodicity": f"rf{si.si_periodicity_rf}", "sib-MappingInfo": []}],
        "si-WindowLength": f"ms{si.si_window_ms}",
        "systemInfoValueTag": si.system_info_value_tag,
    }
    if cell.band > _MAX_FBI:
        # Bands above 64: freqBandIndicator = maxFBI and the real band in freqBandIndicator-v9e0, which
        # sits in SIB1-v9e0-IEs inside the lateNonCriticalExtension octet string (TS 36.331 6.2.2).
        value["nonCriticalExtension"] = {
            "lateNonCriticalExtension": (
                "SystemInformationBlockType1-v8h0-IEs",
                {"nonCriticalExtension": {"freqBandIndicator-v9e0": cell.band}},
            ),
        }
    return value


def encode_sib1(cell: CellConfig, si: SystemInfoConfig) -> bytes:
    """BCCH-DL-SCH-Message carrying SystemInformationBlockType1, UPER, octet aligned (TS 36.331 6.2.1)."""
    message = {"message": ("c1", ("systemInformationBlockType1", sib1_value(cell, si)))}
    return _encode(message)


# ------------------------------------------------------------------------------------------------
# SIB2 in a SystemInformation message
# ------------------------------------------------------------------------------------------------


def _p_b(cell: CellConfig, si: SystemInfoConfig) -> int:
    """PDSCH P_B: 0 (rho_B/rho_A = 1) for one port, 1 (also 1) for two ports (TS 36.213 Table 5.2-1)."""
    if si.p_b is not None:
        return si.p_b
    return 0 if cell.n_ports == 1 else 1


def sib2_value(cell: CellConfig, si: SystemInfoConfig) -> dict:
    """The SystemInformationBlockType2 value (pycrate form); typical values after srsRAN's sib.conf."""
    n_rb_ul = cell.n_rb_dl  # symmetric FDD carrier
    prach_freq_offset = si.prach_offset_prb(n_rb_ul)
    rach = {
        "preambleInfo": {"numberOfRA-Preambles": f"n{si.number_of_ra_preambles}"},
        "powerRampingParameters": {
            "powerRampingStep": "dB6",
            "preambleInitialReceivedTargetPower": f"dBm{si.preamble_initial_received_target_power_dbm}",
        },
        "ra-SupervisionInfo": {
            "preambleTransMax": "n10",
            # Satellite round trip (DESIGN.md 3): the handset waits for its RAR from 3 subframes after the
            # preamble for at most ra-ResponseWindowSize; sf10 is the largest value the IE allows, so the
            # gateway has the most room to detect the preamble and answer across the 2D round trip.
            "ra-ResponseWindowSize": "sf10",
            # Msg4 must arrive within this timer after Msg3 (plus its HARQ retransmissions), each leg
            # crossing the relay; sf64 is the largest value the IE allows.
            "mac-ContentionResolutionTimer": "sf64",
        },
        "maxHARQ-Msg3Tx": 4,
    }
    rrc_common = {
        "rach-ConfigCommon": rach,
        # modification period = modificationPeriodCoeff * defaultPagingCycle (TS 36.331 5.2.1.3)
        "bcch-Config": {"modificationPeriodCoeff": "n16"},
        "pcch-Config": {"defaultPagingCycle": f"rf{si.default_paging_cycle_rf}", "nB": "oneT"},
        "prach-Config": {
            "rootSequenceIndex": si.root_sequence_index,
            "prach-ConfigInfo": {
                "prach-ConfigIndex": si.prach_config_index,
                "highSpeedFlag": si.high_speed_flag,
                "zeroCorrelationZoneConfig": si.zero_correlation_zone_config,
                "prach-FreqOffset": prach_freq_offset,
            },
        },
        "pdsch-ConfigCommon": {"referenceSignalPower": si.reference_signal_power_dbm, "p-b": _p_b(cell, si)},
        "pusch-ConfigCommon": {
            "pusch-ConfigBasic": {
                "n-SB": 1,
                "hoppingMode": "interSubFrame",
                "pusch-HoppingOffset": 2,
                "enable64QAM": si.enable_64qam,
            },
            "ul-ReferenceSignalsPUSCH": {
                "groupHoppingEnabled": si.group_hopping_enabled,
                "groupAssignmentPUSCH": si.group_assignment_pusch,
                "sequenceHoppingEnabled": si.sequence_hopping_enabled,
                "cyclicShift": si.pusch_cyclic_shift,
            },
        },
        "pucch-ConfigCommon": {
            "deltaPUCCH-Shift": f"ds{si.delta_pucch_shift}",
            "nRB-CQI": si.n_rb_cqi,
            "nCS-AN": si.n_cs_an,
            "n1PUCCH-AN": si.n1_pucch_an,
        },
        "soundingRS-UL-ConfigCommon": ("release", 0),
        "uplinkPowerControlCommon": {
            "p0-NominalPUSCH": si.p0_nominal_pusch_dbm,
            "alpha": "al07",
            "p0-NominalPUCCH": si.p0_nominal_pucch_dbm,
            "deltaFList-PUCCH": {
                "deltaF-PUCCH-Format1": "deltaF0",
                "deltaF-PUCCH-Format1b": "deltaF3",
                "deltaF-PUCCH-Format2": "deltaF1",
                "deltaF-PUCCH-Format2a": "deltaF2",
                "deltaF-PUCCH-Format2b": "deltaF2",
            },
            "deltaPreambleMsg3": 6,  # IE value; Delta_PREAMBLE_Msg3 = 2 * IE dB (TS 36.213 5.1.1.1)
        },
        "ul-CyclicPrefixLength": "len1",
    }
    freq_info: dict[str, Any] = {
        "ul-Bandwidth": _N_RB_TO_UL_BW[n_rb_ul],
        "additionalSpectrumEmission": si.additional_spectrum_emission,
    }
    if cell.earfcn_ul <= 65535:  # ARFCN-ValueEUTRA; above it the band's default duplex applies
        freq_info["ul-CarrierFreq"] = cell.earfcn_ul
    return {
        "radioResourceConfigCommon": rrc_common,
        # RRC connection timers: the longest T300/T301 the IE allows, for the satellite round trip
        "ue-TimersAndConstants": {
            "t300": "ms2000",
            "t301": "ms2000",
            "t310": "ms1000",
            "n310": "n1",
            "t311": "ms10000",
            "n311": "n1",
        },
        "freqInfo": freq_info,
        "timeAlignmentTimerCommon": si.time_alignment_timer,
    }


_UL_BW_TO_N_RB = {v: k for k, v in _N_RB_TO_UL_BW.items()}


def ul_cell_config(cell: CellConfig, si: SystemInfoConfig) -> UlCellConfig:
    """The gateway's uplink cell description, from the same profile values SIB2 broadcasts."""
    n_rb_ul = cell.n_rb_dl  # symmetric FDD carrier, as sib2_value broadcasts
    return UlCellConfig(
        n_id_cell=cell.pci,
        n_rb_ul=n_rb_ul,
        prach=PrachConfig(
            root_sequence_index=si.root_sequence_index,
            config_index=si.prach_config_index,
            zero_correlation_zone_config=si.zero_correlation_zone_config,
            high_speed_flag=si.high_speed_flag,
            freq_offset_prb=si.prach_offset_prb(n_rb_ul),
            n_preambles=si.number_of_ra_preambles,
        ),
        pusch=PuschConfigCommon(
            group_hopping=si.group_hopping_enabled,
            sequence_hopping=si.sequence_hopping_enabled,
            group_assignment=si.group_assignment_pusch,
            cyclic_shift=si.pusch_cyclic_shift,
            enable_64qam=si.enable_64qam,
        ),
        pucch=PucchConfigCommon(
            delta_shift=si.delta_pucch_shift, n_rb_cqi=si.n_rb_cqi, n_cs_an=si.n_cs_an, n1_pucch_an=si.n1_pucch_an
        ),
    )


def ul_cell_config_from_sib2(sib2: dict, n_id_cell: int, n_rb_dl: int) -> UlCellConfig:
    """The handset's uplink cell description, read from the SIB2 it decoded (`sib2_from_message`): the
    PCI comes from its cell search, the uplink bandwidth from freqInfo ul-Bandwidth (absent: the DL
    bandwidth of the MIB, TS 36.331 SystemInformationBlockType2)."""
    common = sib2["radioResourceConfigCommon"]
    prach = common["prach-Config"]
    info = prach["prach-ConfigInfo"]
    pusch = common["pusch-ConfigCommon"]
    basic, refsig = pusch["pusch-ConfigBasic"], pusch["ul-ReferenceSignalsPUSCH"]
    pucch = common["pucch-ConfigCommon"]
    bandwidth = sib2.get("freqInfo", {}).get("ul-Bandwidth")
    n_rb_ul = _UL_BW_TO_N_RB[bandwidth] if bandwidth is not None else int(n_rb_dl)
    return UlCellConfig(
        n_id_cell=int(n_id_cell),
        n_rb_ul=n_rb_ul,
        prach=PrachConfig(
            root_sequence_index=prach["rootSequenceIndex"],
            config_index=info["prach-ConfigIndex"],
            zero_correlation_zone_config=info["zeroCorrelationZoneConfig"],
            high_speed_flag=bool(info["highSpeedFlag"]),
            freq_offset_prb=info["prach-FreqOffset"],
            n_preambles=int(common["rach-ConfigCommon"]["preambleInfo"]["numberOfRA-Preambles"][1:]),
        ),
        pusch=PuschConfigCommon(
            group_hopping=bool(refsig["groupHoppingEnabled"]),
            sequence_hopping=bool(refsig["sequenceHoppingEnabled"]),
            group_assignment=refsig["groupAssignmentPUSCH"],
            cyclic_shift=refsig["cyclicShift"],
            enable_64qam=bool(basic["enable64QAM"]),
        ),
        pucch=PucchConfigCommon(
            delta_shift=int(pucch["deltaPUCCH-Shift"][2:]),
            n_rb_cqi=pucch["nRB-CQI"],
            n_cs_an=pucch["nCS-AN"],
            n1_pucch_an=pucch["n1PUCCH-AN"],
        ),
    )


def encode_si_sib2(cell: CellConfig, si: SystemInfoConfig) -> bytes:
    """BCCH-DL-SCH-Message carrying a SystemInformation message with SIB2 (TS 36.331 6.2.1, 6.2.2)."""
    system_information = {
        "criticalExtensions": ("systemInformation-r8", {"sib-TypeAndInfo": [("sib2", sib2_value(cell, si))]})
    }
    message = {"message": ("c1", ("systemInformation", system_information))}
    return _encode(message)


# ------------------------------------------------------------------------------------------------
# decoding, padding
# ------------------------------------------------------------------------------------------------


def _bcch_dl_sch():
    """pycrate's BCCH-DL-SCH-Message codec (TS 36.331 6.2.1), imported on first use (~0.8 s)."""
    from pycrate_asn1dir import RRCLTE

    return RRCLTE.EUTRA_RRC_Definitions.BCCH_DL_SCH_Message


def uper_cache_dir() -> Path:
    """Where encoded BCCH messages are cached: $SORAGATE_CACHE_DIR, else ~/.cache/soragate (uper/)."""
    root = os.environ.get("SORAGATE_CACHE_DIR") or Path.home() / ".cache" / "soragate"
    return Path(root) / "uper"


@functools.cache
def _pycrate_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("pycrate")
    except PackageNotFoundError:
        return "unknown"


def _encode(message: dict) -> bytes:
    """UPER of a BCCH-DL-SCH-Message value; from the on-disk cache when this value was encoded before."""
    key = hashlib.sha256(f"BCCH-DL-SCH|pycrate {_pycrate_version()}|{message!r}".encode()).hexdigest()
    path = uper_cache_dir() / f"{key}.uper"
    with contextlib.suppress(OSError):
        return path.read_bytes()
    codec = _bcch_dl_sch()
    codec.set_val(message)
    data = codec.to_uper()
    with contextlib.suppress(OSError):  # a read-only home only costs the next start-up the import
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(data)
        tmp.replace(path)
    return data


def decode_bcch_dl_sch(data: bytes) -> dict:
    """Decode a BCCH-DL-SCH transport block (trailing zero padding allowed) into pycrate's value."""
    codec = _bcch_dl_sch()
    try:
        codec.from_uper(bytes(data))
    except Exception as exc:  # pycrate raises several codec error classes
        raise ValueError(f"not a valid BCCH-DL-SCH message ({len(data)} bytes): {exc}") from exc
    return codec.get_val()


def _message_choice(decoded: dict) -> tuple[str, Any]:
    kind, inner = decoded["message"]
    if kind != "c1":
        raise ValueError(f"BCCH-DL-SCH message class {kind!r} is not a Rel-8 c1 message")
    return inner


def sib1_info(decoded: dict) -> Sib1Info:
    """Pull the handset-report fields out of a decoded SIB1 (from `decode_bcch_dl_sch`)."""
    name, sib1 = _message_choice(decoded)
    if name != "systemInformationBlockType1":
        raise ValueError(f"expected SystemInformationBlockType1, got {name}")
    access = sib1["cellAccessRelatedInfo"]
    plmns = []
    for entry in access["plmn-IdentityList"]:
        ident = entry["plmn-Identity"]
        if "mcc" not in ident:  # absent MCC = same as the previous entry's (TS 36.331 PLMN-Identity)
            if not plmns:
                raise ValueError("SIB1: the first PLMN-Identity must carry its MCC")
            mcc = plmns[-1].mcc
        else:
            mcc = "".join(str(d) for d in ident["mcc"])
        plmns.append(Plmn(mcc, "".join(str(d) for d in ident["mnc"])))
    band = sib1["freqBandIndicator"]
    ext = sib1.get("nonCriticalExtension", {}).get("lateNonCriticalExtension")
    if band == _MAX_FBI and isinstance(ext, tuple):  # (contained type name, SIB1-v8h0-IEs value)
        band = ext[1].get("nonCriticalExtension", {}).get("freqBandIndicator-v9e0", band)
    sched = tuple(
        SiSchedulingInfo(
            int(s["si-Periodicity"][2:]),
            tuple(int(t.split("-")[0][len("sibType"):]) for t in s["sib-MappingInfo"]),
        )
        for s in sib1["schedulingInfoList"]
    )
    return Sib1Info(
        plmn_list=tuple(plmns),
        tac=access["trackingAreaCode"][0],
        cell_identity=access["cellIdentity"][0],
        cell_barred=access["cellBarred"] == "barred",
        q_rx_lev_min_dbm=2 * sib1["cellSelectionInfo"]["q-RxLevMin"],
        freq_band_indicator=band,
        si_window_ms=int(sib1["si-WindowLength"][2:]),
        scheduling_info=sched,
        system_info_value_tag=sib1["systemInfoValueTag"],
    )


def sib2_from_message(decoded: dict) -> dict:
    """The SIB2 value inside a decoded SystemInformation message (ValueError if it has none)."""
    name, si_msg = _message_choice(decoded)
    if name != "systemInformation":
        raise ValueError(f"expected SystemInformation, got {name}")
    ext_name, body = si_msg["criticalExtensions"]
    if ext_name != "systemInformation-r8":
        raise ValueError(f"SystemInformation critical extension {ext_name!r} is not r8")
    for sib_name, sib in body["sib-TypeAndInfo"]:
        if sib_name == "sib2":
            return sib
    raise ValueError("the SystemInformation message carries no SIB2")


def pad_to_tbs(payload: bytes, tbs_bits: int) -> bytes:
    """A BCCH transport block: the RRC message then zero bytes up to TBS (TS 36.321 6.1.1: no MAC header).

    The transport block size comes from the DCI (TS 36.213 7.1.7); it is a multiple of 8 bits.
    """
    if tbs_bits % 8:
        raise ValueError(f"tbs_bits={tbs_bits} is not a whole number of bytes (TS 36.213 TBSs are)")
    n_bytes = tbs_bits // 8
    if len(payload) > n_bytes:
        raise ValueError(
            f"a {len(payload)}-byte BCCH message does not fit a {tbs_bits}-bit transport block; "
            f"need at least {8 * len(payload)} bits"
        )
    return bytes(payload) + bytes(n_bytes - len(payload))

