"""The `cell:` section: the LTE cell the gateway's eNodeB serves (TS 36.211 / 36.331 / 36.101)."""

from __future__ import annotations

from dataclasses import dataclass

from phy.bands import BANDS, dl_frequency_hz, ul_earfcn_for_dl, ul_frequency_hz
from phy.cell import DlCell

from ._schema import ConfigError, option

# TS 36.101 Table 5.6-1: N_RB per channel bandwidth
N_RB_TO_BANDWIDTH_HZ = {6: 1.4e6, 15: 3e6, 25: 5e6, 50: 10e6, 75: 15e6, 100: 20e6}
EXTENDED_PHICH_SYMBOLS = 3  # TS 36.211 Table 6.9.3-1: extended duration, FDD, non-MBSFN subframes
# phy.channels.phich.phich_map places PHICH REGs in symbol 0 only; set True when it maps l'_i = i too
EXTENDED_PHICH_TRANSMITTED = False


@dataclass(frozen=True)
class CellConfig:
    """Cell parameters: bandwidth, identity, carrier, control region (normal CP, FDD)."""

    n_rb_dl: int = option(25, allowed=(6, 15, 25, 50, 75, 100), doc="DL bandwidth in resource blocks")
    pci: int = option(1, range=(0, 503), doc="physical cell identity N_ID_cell = 3 N_ID_1 + N_ID_2")
    n_ports: int = option(1, allowed=(1, 2), doc="cell-specific reference signal antenna ports")
    band: int = option(28, allowed=tuple(sorted(BANDS)), doc="E-UTRA operating band (TS 36.101)")
    earfcn_dl: int = option(9330, range=(0, 262143), doc="DL EARFCN; must lie in the band")
    phich_duration: str = option("normal", allowed=("normal", "extended"), doc="MIB phich-Duration")
    phich_resource: str = option("one", allowed=("one_sixth", "half", "one", "two"), doc="MIB phich-Resource Ng")
    cfi: int = option(2, range=(1, 3), doc="control format indicator: OFDM symbols of the control region")
    sfn_start: int = option(0, range=(0, 1023), doc="system frame number of the first frame sent")

    # The identity and control-region rules live in phy.cell.DlCell; these read them from there.
    n_id_1 = property(lambda self: self.dl_cell().n_id_1)
    n_id_2 = property(lambda self: self.dl_cell().n_id_2)
    n_ctrl_symbols = property(lambda self: self.dl_cell().n_ctrl_symbols)

    @property
    def bandwidth_hz(self) -> float:
        return N_RB_TO_BANDWIDTH_HZ[self.n_rb_dl]

    @property
    def dl_frequency_hz(self) -> float:
        return dl_frequency_hz(self.band, self.earfcn_dl)

    @property
    def earfcn_ul(self) -> int:
        return ul_earfcn_for_dl(self.band, self.earfcn_dl)

    @property
    def ul_frequency_hz(self) -> float:
        return ul_frequency_hz(self.band, self.earfcn_ul)

    def dl_cell(self) -> DlCell:
        """The cell as phy sees it (phy.cell.DlCell): what phy's downlink functions take."""
        return DlCell(n_rb_dl=self.n_rb_dl, pci=self.pci, n_ports=self.n_ports, cfi=self.cfi,
                      phich_duration=self.phich_duration, phich_resource=self.phich_resource)

    def check(self, section: str = "cell") -> None:
        """Cross-field rules: EARFCN in the band, the whole channel inside the band, CFI vs bandwidth."""
        b = BANDS[self.band]
        if not b.n_offs_dl <= self.earfcn_dl <= b.n_dl_max:
            raise ConfigError(
                f"{section}.earfcn_dl: {self.earfcn_dl} is not a DL EARFCN of band {self.band}; "
                f"allowed {b.n_offs_dl}..{b.n_dl_max}"
            )
        f_c = self.dl_frequency_hz
        half = self.bandwidth_hz / 2
        if f_c - half < b.f_dl_low_hz - 1 or f_c + half > b.f_dl_high_hz + 1:
            lo = b.n_offs_dl + round(half / 100e3)
            hi = b.n_dl_max + 1 - round(half / 100e3)
            raise ConfigError(
                f"{section}.earfcn_dl: a {self.bandwidth_hz / 1e6:g} MHz channel at {f_c / 1e6:.1f} MHz does not "
                f"fit in band {self.band}; for n_rb_dl={self.n_rb_dl} use {lo}..{hi}"
            )
        if self.phich_duration == "extended":
            # TS 36.211 6.9.3, Table 6.9.3-1: the extended PHICH spans 3 OFDM symbols (FDD, non-MBSFN) and
            # its duration is a lower limit on the control region the CFI signals (Table 6.7-1: CFI symbols
            # for N_RB_DL > 10, CFI + 1 for N_RB_DL <= 10).
            if self.n_ctrl_symbols < EXTENDED_PHICH_SYMBOLS:
                min_cfi = EXTENDED_PHICH_SYMBOLS - (self.n_ctrl_symbols - self.cfi)
                raise ConfigError(
                    f"{section}.cfi: {self.cfi} gives a {self.n_ctrl_symbols}-symbol control region, but "
                    f"phich_duration: extended spans {EXTENDED_PHICH_SYMBOLS} symbols (TS 36.211 Table 6.9.3-1); "
                    f"use cfi >= {min_cfi} for n_rb_dl={self.n_rb_dl}, or phich_duration: normal"
                )
            if not EXTENDED_PHICH_TRANSMITTED:
                raise ConfigError(
                    f"{section}.phich_duration: extended is valid LTE but the transmitter maps the normal "
                    "duration only (phy/channels/phich.py); use phich_duration: normal"
                )
