"""The `system_info:` section: what SIB1/SIB2 broadcast (PLMN list, TAC, cell identity, ...).

PLMNs are written "MCC-MNC" with a 3-digit MCC and a 2- or 3-digit MNC ("440-10", "310-410"); the
dash keeps the MNC's length explicit ("001-01" and "001-001" are different networks, TS 23.003 2.2).
`mode: normal` broadcasts only the host `plmn`; `mode: disaster_roaming` broadcasts the host followed
by every `partner_plmns` entry, at most 6 in all (TS 36.331 maxPLMN-r11 = 6 in SIB1).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from mac.plmn import Plmn

from ._schema import ConfigError, option

__all__ = ["Plmn", "SystemInfoConfig", "parse_plmn", "MAX_PLMNS", "SI_DCI_FORMATS"]

MAX_PLMNS = 6  # TS 36.331 SIB1 plmn-IdentityList SIZE (1..6)
_PLMN_RE = re.compile(r"([0-9]{3})-([0-9]{2,3})")  # ASCII digits only: \d matches any Unicode digit


def parse_plmn(text: Any, key: str = "plmn") -> Plmn:
    """'440-10' -> Plmn('440', '10'); raises ConfigError naming `key` on any other shape."""
    if not isinstance(text, str) or not _PLMN_RE.fullmatch(text.strip()):
        raise ConfigError(
            f"{key}: {text!r} is not a PLMN; write it as \"MCC-MNC\" with a 3-digit MCC and a 2- or "
            f"3-digit MNC, e.g. \"440-10\" (quote it in YAML)"
        )
    mcc, mnc = _PLMN_RE.fullmatch(text.strip()).groups()
    return Plmn(mcc, mnc)


def _parse_plmn_str(value: Any, key: str) -> str:
    return str(parse_plmn(value, key))


def _parse_plmn_list(value: Any, key: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, (list, tuple)):
        raise ConfigError(f"{key}: expected a list of \"MCC-MNC\" strings, got {value!r}")
    return tuple(str(parse_plmn(v, f"{key}[{i}]")) for i, v in enumerate(value))


SI_DCI_FORMATS = ("1A", "1C")  # the formats a UE monitors with SI-RNTI (TS 36.213 Table 7.1-1)


def _parse_si_dci_format(value: Any, key: str) -> str:
    text = str(value).strip().upper() if isinstance(value, str) else None
    if text not in SI_DCI_FORMATS:
        raise ConfigError(
            f"{key}: {value!r} is not a DCI format for system information; write \"1A\" (TS 36.212 "
            f"5.3.3.1.3) or \"1C\" (5.3.3.1.4), quoted in YAML"
        )
    return text


# TS 36.331 SIB2 timeAlignmentTimerCommon values
_TA_TIMERS = ("sf500", "sf750", "sf1280", "sf1920", "sf2560", "sf5120", "sf10240", "infinity")


@dataclass(frozen=True)
class SystemInfoConfig:
    """System-information contents: SIB1 identity and scheduling, SIB2 common radio settings."""

    # --- SIB1: identity (TS 36.331 SystemInformationBlockType1) -------------------------------------
    mode: str = option("normal", allowed=("normal", "disaster_roaming"),
                       doc="normal: broadcast the host PLMN only; disaster_roaming: host + partner PLMNs")
    plmn: str = option("001-01", parse=_parse_plmn_str, doc="host PLMN \"MCC-MNC\" (001-01 = test network)")
    partner_plmns: tuple[str, ...] = option((), parse=_parse_plmn_list,
                                            doc="partner PLMNs broadcast in disaster_roaming mode (<= 5)")
    cell_reserved_for_operator_use: bool = option(False, doc="SIB1 cellReservedForOperatorUse for every PLMN")
    cell_identity: int = option(0x101, range=(0, 2**28 - 1), doc="28-bit E-UTRAN cell identity")
    tac: int = option(1, range=(0, 65535), doc="tracking area code (16 bits)")
    # Satellite service links arrive weak (RSRP around -120 dBm at the beam edge): the lowest allowed
    # Qrxlevmin lets a handset camp wherever it can decode the cell (TS 36.304 5.2.3.2 S criterion).
    q_rx_lev_min_dbm: int = option(-140, range=(-140, -44),
                                   doc="Qrxlevmin in dBm, even values (q-RxLevMin = value/2, TS 36.331)")
    # --- SIB1: scheduling of the SI message carrying SIB2 (TS 36.331 5.2.3) ----------------------------
    si_periodicity_rf: int = option(16, allowed=(8, 16, 32, 64, 128, 256, 512),
                                    doc="SI message period T in radio frames")
    si_window_ms: int = option(20, allowed=(1, 2, 5, 10, 15, 20, 40), doc="SI window length w in subframes")
    si_transmissions: int = option(4, range=(1, 40),
                                   doc="subframes of each SI window that carry the SI message (repetitions)")
    system_info_value_tag: int = option(0, range=(0, 31), doc="bump when SIB contents change")
    # --- PDCCH format of the SI-RNTI assignments (TS 36.212 5.3.3.1.3 / 5.3.3.1.4) --------------------
    si_dci_format: str = option(
        "1A", parse=_parse_si_dci_format,
        doc="DCI of SIB1/SI messages: \"1A\" (localized PRBs from PRB 0, TBS from I_MCS and N_PRB^1A) or "
            "\"1C\" (compact: distributed VRBs in steps of 2 or 4 RB, TBS Table 7.1.7.2.3-1)")
    si_1c_gap: int = option(1, allowed=(1, 2),
                            doc="gap of the 1C distributed VRBs: 1 = N_gap,1, 2 = N_gap,2 (needs n_rb_dl >= 50, "
                                "TS 36.211 Table 6.2.3.2-1); only with si_dci_format 1C")
    # --- SIB2: radioResourceConfigCommon (values after srsRAN's sib.conf example) ----------------------
    preamble_initial_received_target_power_dbm: int = option(
        -104, range=(-120, -90), doc="PRACH preambleInitialReceivedTargetPower, even dBm")
    root_sequence_index: int = option(128, range=(0, 837), doc="PRACH logical root sequence index")
    prach_config_index: int = option(3, range=(0, 63), doc="PRACH configuration index (TS 36.211 5.7.1)")
    zero_correlation_zone_config: int = option(5, range=(0, 15), doc="PRACH N_CS configuration")
    prach_freq_offset: int | None = option(
        None, range=(0, 94), doc="PRACH n_PRBoffset^RA, 0..N_RB_UL-6 (default: 2, or N_RB_UL-6 if smaller)")
    high_speed_flag: bool = option(False, doc="PRACH restricted set (high Doppler)")
    number_of_ra_preambles: int = option(52, allowed=tuple(range(4, 65, 4)),
                                         doc="rach-ConfigCommon numberOfRA-Preambles (contention-based)")
    # --- SIB2: pusch-ConfigCommon / pucch-ConfigCommon (TS 36.331; TS 36.211 5.4, 5.5) ---------------
    enable_64qam: bool = option(False, doc="pusch-ConfigBasic enable64QAM")
    group_hopping_enabled: bool = option(False, doc="ul-ReferenceSignalsPUSCH groupHoppingEnabled (5.5.1.3)")
    group_assignment_pusch: int = option(0, range=(0, 29), doc="groupAssignmentPUSCH Delta_ss (5.5.1.3)")
    sequence_hopping_enabled: bool = option(False, doc="sequenceHoppingEnabled (5.5.1.4)")
    pusch_cyclic_shift: int = option(0, range=(0, 7), doc="ul-ReferenceSignalsPUSCH cyclicShift (n_DMRS^(1))")
    delta_pucch_shift: int = option(2, allowed=(1, 2, 3), doc="deltaPUCCH-Shift (TS 36.211 5.4.1)")
    n_rb_cqi: int = option(2, range=(0, 98), doc="nRB-CQI N_RB^(2): PRBs for PUCCH formats 2/2a/2b")
    n_cs_an: int = option(0, range=(0, 7), doc="nCS-AN N_cs^(1): a multiple of delta_pucch_shift")
    n1_pucch_an: int = option(12, range=(0, 2047), doc="n1PUCCH-AN N^(1)_PUCCH (TS 36.213 10.1)")
    reference_signal_power_dbm: int = option(0, range=(-60, 50), doc="CRS EPRE in dBm (pathloss reference)")
    p_b: int | None = option(None, range=(0, 3),
                             doc="PDSCH P_B (TS 36.213 Table 5.2-1); default 0 for 1 port, 1 for 2 ports")
    p0_nominal_pusch_dbm: int = option(-85, range=(-126, 24), doc="p0-NominalPUSCH")
    p0_nominal_pucch_dbm: int = option(-107, range=(-127, -96), doc="p0-NominalPUCCH")
    default_paging_cycle_rf: int = option(32, allowed=(32, 64, 128, 256), doc="defaultPagingCycle in frames")
    additional_spectrum_emission: int = option(1, range=(1, 32),
                                               doc="freqInfo additionalSpectrumEmission (NS_xx)")
    time_alignment_timer: str = option("infinity", allowed=_TA_TIMERS, doc="timeAlignmentTimerCommon")

    @property
    def host_plmn(self) -> Plmn:
        return parse_plmn(self.plmn)

    @property
    def plmn_list(self) -> tuple[Plmn, ...]:
        """The PLMNs SIB1 broadcasts, in order: the host first (its TAC/cell identity are the cell's)."""
        if self.mode == "disaster_roaming":
            return (self.host_plmn, *(parse_plmn(p) for p in self.partner_plmns))
        return (self.host_plmn,)

    def prach_offset_prb(self, n_rb_ul: int) -> int:
        """PRACH n_PRBoffset^RA for an `n_rb_ul` uplink: the configured value, which must keep the 6-PRB
        PRACH inside the carrier (0..N_RB_UL - 6, TS 36.211 5.7.1); unset means 2, or N_RB_UL - 6 if smaller."""
        if self.prach_freq_offset is None:
            return min(2, n_rb_ul - 6)
        if self.prach_freq_offset > n_rb_ul - 6:
            raise ConfigError(
                f"system_info.prach_freq_offset: {self.prach_freq_offset} puts the 6-PRB PRACH outside a "
                f"{n_rb_ul}-PRB uplink; use 0..{n_rb_ul - 6} (TS 36.211 5.7.1)"
            )
        return self.prach_freq_offset

    def check_cell(self, n_rb_dl: int, section: str = "system_info") -> None:
        """Rules that need the cell bandwidth: format 1C needs N_RB_DL >= 6 (N_step_RB, TS 36.213
        Table 7.1.6.3-1) and its gap N_gap,2 exists only for N_RB_DL >= 50 (TS 36.211 Table 6.2.3.2-1)."""
        if self.si_dci_format != "1C":
            return
        if n_rb_dl < 6:
            raise ConfigError(f"{section}.si_dci_format: format 1C needs n_rb_dl >= 6, the cell has {n_rb_dl}")
        if self.si_1c_gap == 2 and n_rb_dl < 50:
            raise ConfigError(
                f"{section}.si_1c_gap: gap 2 (N_gap,2) exists only for n_rb_dl >= 50 (TS 36.211 Table "
                f"6.2.3.2-1); the cell has {n_rb_dl} PRB, use si_1c_gap: 1"
            )

    def check(self, section: str = "system_info") -> None:
        """Cross-field rules: PLMN count and duplicates, even dBm values, SI window inside the period."""
        if self.mode == "disaster_roaming" and not self.partner_plmns:
            raise ConfigError(
                f"{section}.partner_plmns: mode disaster_roaming needs at least one partner PLMN "
                f"(e.g. [\"440-50\", \"440-20\"])"
            )
        if 1 + len(self.partner_plmns) > MAX_PLMNS:
            raise ConfigError(
                f"{section}.partner_plmns: {len(self.partner_plmns)} partners + the host = "
                f"{1 + len(self.partner_plmns)} PLMNs; SIB1 carries at most {MAX_PLMNS} "
                f"(keep <= {MAX_PLMNS - 1} partners)"
            )
        all_plmns = (self.plmn, *self.partner_plmns)
        dup = sorted({p for p in all_plmns if all_plmns.count(p) > 1})
        if dup:
            raise ConfigError(f"{section}.partner_plmns: PLMN {dup[0]} is listed twice (the host counts too)")
        if self.q_rx_lev_min_dbm % 2:
            raise ConfigError(
                f"{section}.q_rx_lev_min_dbm: {self.q_rx_lev_min_dbm} is odd; SIB1 q-RxLevMin has 2 dB "
                f"steps, use {self.q_rx_lev_min_dbm - 1} or {self.q_rx_lev_min_dbm + 1}"
            )
        if self.preamble_initial_received_target_power_dbm % 2:
            raise ConfigError(
                f"{section}.preamble_initial_received_target_power_dbm: "
                f"{self.preamble_initial_received_target_power_dbm} is odd; the IE has 2 dB steps (-120..-90)"
            )
        # TS 36.331 5.2.3: one SI message (SIB2) -> its window [0, w) must fit inside the period 10*T
        if self.si_window_ms > 10 * self.si_periodicity_rf:
            raise ConfigError(
                f"{section}.si_window_ms: a {self.si_window_ms} ms window does not fit in a "
                f"{self.si_periodicity_rf}-frame SI period"
            )
        if self.si_1c_gap != 1 and self.si_dci_format != "1C":
            raise ConfigError(
                f"{section}.si_1c_gap: the gap applies to format 1C only; set si_dci_format: \"1C\" or drop it"
            )
        if self.n_cs_an % self.delta_pucch_shift:
            raise ConfigError(
                f"{section}.n_cs_an: {self.n_cs_an} is not a multiple of delta_pucch_shift "
                f"{self.delta_pucch_shift} (TS 36.211 5.4: N_cs^(1) in {{0, ..., 7}} times Delta_shift^PUCCH)"
            )
        if self.si_transmissions > self.si_window_ms:
            raise ConfigError(
                f"{section}.si_transmissions: {self.si_transmissions} repetitions do not fit in a "
                f"{self.si_window_ms} ms SI window; use <= {self.si_window_ms}"
            )
