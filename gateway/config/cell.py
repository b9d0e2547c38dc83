"""The `cell:` section: the LTE cell the gateway's eNodeB serves (TS 36.211 / 36.331 / 36.101)."""

from __future__ import annotations

from dataclasses import dataclass

from phy.bands import BANDS, dl_frequency_hz, ul_earfcn_for_dl, ul_frequency_hz

from ._schema import ConfigError, option

# TS 36.101 Table 5.6-1: N_RB per channel bandwidth
N_RB_TO_BANDWIDTH_HZ = {6: 1.4e6, 15: 3e6, 25: 5e6, 50: 10e6, 75: 15e6, 100: 20e6}


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

    @property
    def n_id_1(self) -> int:
        return self.pci // 3

    @property
    def n_id_2(self) -> int:
        return self.pci % 3

    @property
    def n_ctrl_symbols(self) -> int:
        """OFDM symbols of the control region: CFI, or CFI + 1 when N_RB_DL <= 10 (TS 36.211 Table 6.7-1)."""
        return self.cfi + 1 if self.n_rb_dl <= 10 else self.cfi

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
