"""Cell-wide uplink parameters as SIB2 broadcasts them (TS 36.331 6.3.1 RadioResourceConfigCommonSIB),
in the units the PHY procedures use (TS 36.211 5.4, 5.5, 5.7; TS 36.213 10.1).

The gateway builds them from its profile, the handset from the SIB2 it decoded; phy's uplink chains
take them as plain frozen values (nothing here imports gateway or mac).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["PrachConfig", "PuschConfigCommon", "PucchConfigCommon", "UlCellConfig"]


def _check_range(name: str, value: int, lo: int, hi: int) -> None:
    if not lo <= int(value) <= hi:
        raise ValueError(f"{name} must be {lo}..{hi}, got {value}")


@dataclass(frozen=True)
class PrachConfig:
    """prach-Config (TS 36.331 PRACH-ConfigSIB; TS 36.211 5.7.1-5.7.2).

    root_sequence_index: logical root 0..837 (Table 5.7.2-4 maps it to the physical root u);
    config_index: prach-ConfigurationIndex 0..63 (Table 5.7.1-2: format, SFN and subframes);
    zero_correlation_zone_config: 0..15 (Table 5.7.2-2 gives N_CS); high_speed_flag: restricted set;
    freq_offset_prb: n_PRBoffset^RA, 0..N_RB_UL-6; n_preambles: numberOfRA-Preambles (contention based).
    """

    root_sequence_index: int = 0
    config_index: int = 3
    zero_correlation_zone_config: int = 5
    high_speed_flag: bool = False
    freq_offset_prb: int = 2
    n_preambles: int = 52

    def __post_init__(self) -> None:
        from .channels.prach import prach_time_config  # Table 5.7.1-2 (imports nothing from here)

        _check_range("rootSequenceIndex", self.root_sequence_index, 0, 837)
        _check_range("prach-ConfigurationIndex", self.config_index, 0, 63)
        prach_time_config(self.config_index)  # refuses the FDD N/A rows (30, 46, 60, 61, 62)
        _check_range("zeroCorrelationZoneConfig", self.zero_correlation_zone_config, 0,
                     14 if self.high_speed_flag else 15)
        _check_range("prach-FrequencyOffset", self.freq_offset_prb, 0, 94)
        if self.n_preambles not in range(4, 65, 4):
            raise ValueError(f"numberOfRA-Preambles must be 4, 8, ..., 64, got {self.n_preambles}")


@dataclass(frozen=True)
class PuschConfigCommon:
    """pusch-ConfigCommon (TS 36.331; TS 36.211 5.5.1.3-5.5.2.1): UL reference-signal settings.

    group_hopping: groupHoppingEnabled; sequence_hopping: sequenceHoppingEnabled;
    group_assignment: groupAssignmentPUSCH Delta_ss 0..29; cyclic_shift: cyclicShift 0..7 (gives n_DMRS^(1),
    Table 5.5.2.1.1-2); enable_64qam. Frequency hopping is not supported (n-SB 1).
    """

    group_hopping: bool = False
    sequence_hopping: bool = False
    group_assignment: int = 0
    cyclic_shift: int = 0
    enable_64qam: bool = False

    def __post_init__(self) -> None:
        _check_range("groupAssignmentPUSCH", self.group_assignment, 0, 29)
        _check_range("cyclicShift", self.cyclic_shift, 0, 7)


@dataclass(frozen=True)
class PucchConfigCommon:
    """pucch-ConfigCommon (TS 36.331; TS 36.211 5.4): delta_shift 1..3 (deltaPUCCH-Shift),
    n_rb_cqi N_RB^(2) (nRB-CQI), n_cs_an N_cs^(1) (nCS-AN, a multiple of delta_shift, 0..7),
    n1_pucch_an N^(1)_PUCCH (n1PUCCH-AN, TS 36.213 10.1)."""

    delta_shift: int = 2
    n_rb_cqi: int = 2
    n_cs_an: int = 0
    n1_pucch_an: int = 12

    def __post_init__(self) -> None:
        if self.delta_shift not in (1, 2, 3):
            raise ValueError(f"deltaPUCCH-Shift must be 1, 2 or 3, got {self.delta_shift}")
        _check_range("nRB-CQI", self.n_rb_cqi, 0, 98)
        _check_range("nCS-AN", self.n_cs_an, 0, 7)
        if self.n_cs_an % self.delta_shift:
            raise ValueError(
                f"nCS-AN {self.n_cs_an} must be a multiple of delta_shift {self.delta_shift} (TS 36.211 5.4)"
            )
        _check_range("n1PUCCH-AN", self.n1_pucch_an, 0, 2047)


@dataclass(frozen=True)
class UlCellConfig:
    """What every uplink procedure of one cell needs: PCI, N_RB_UL and the SIB2 common settings."""

    n_id_cell: int
    n_rb_ul: int
    prach: PrachConfig = None  # type: ignore[assignment]  # None: the defaults, offset fitted to n_rb_ul
    pusch: PuschConfigCommon = PuschConfigCommon()
    pucch: PucchConfigCommon = PucchConfigCommon()

    def __post_init__(self) -> None:
        _check_range("n_id_cell", self.n_id_cell, 0, 503)
        if self.n_rb_ul not in (6, 15, 25, 50, 75, 100):
            raise ValueError(f"n_rb_ul must be one of 6, 15, 25, 50, 75, 100, got {self.n_rb_ul}")
        if self.prach is None:  # the default PRACH, moved inside small carriers
            object.__setattr__(self, "prach", PrachConfig(freq_offset_prb=min(2, self.n_rb_ul - 6)))
        if self.prach.freq_offset_prb > self.n_rb_ul - 6:
            raise ValueError(
                f"prach-FrequencyOffset {self.prach.freq_offset_prb} puts the 6-PRB PRACH outside a "
                f"{self.n_rb_ul}-PRB uplink; use 0..{self.n_rb_ul - 6} (TS 36.211 5.7.1)"
            )
        if 2 * self.pucch.n_rb_cqi > self.n_rb_ul:
            raise ValueError(
                f"nRB-CQI {self.pucch.n_rb_cqi} PUCCH format-2 PRB pairs do not fit a {self.n_rb_ul}-PRB uplink"
            )
