"""E-UTRA operating bands and EARFCN <-> carrier frequency (TS 36.101 5.5, Table 5.7.3-1).

F_DL = F_DL_low + 0.1 MHz * (N_DL - N_Offs-DL);  F_UL = F_UL_low + 0.1 MHz * (N_UL - N_Offs-UL).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Band", "BANDS", "dl_frequency_hz", "ul_frequency_hz", "ul_earfcn_for_dl", "band_of_dl_earfcn"]


@dataclass(frozen=True)
class Band:
    """One FDD band row of TS 36.101 Table 5.7.3-1 (frequencies in Hz)."""

    number: int
    f_dl_low_hz: float
    n_offs_dl: int
    n_dl_max: int
    f_ul_low_hz: float
    n_offs_ul: int
    n_ul_max: int

    @property
    def f_dl_high_hz(self) -> float:
        return self.f_dl_low_hz + 100e3 * (self.n_dl_max - self.n_offs_dl + 1)

    @property
    def duplex_spacing_hz(self) -> float:
        return self.f_dl_low_hz - self.f_ul_low_hz


# TS 36.101 Table 5.7.3-1 (FDD bands): band, F_DL_low [MHz], N_Offs-DL, N_DL max, F_UL_low [MHz], N_Offs-UL, N_UL max
_TABLE_5_7_3_1 = (
    (1, 2110.0, 0, 599, 1920.0, 18000, 18599),
    (2, 1930.0, 600, 1199, 1850.0, 18600, 19199),
    (3, 1805.0, 1200, 1949, 1710.0, 19200, 19949),
    (4, 2110.0, 1950, 2399, 1710.0, 19950, 20399),
    (5, 869.0, 2400, 2649, 824.0, 20400, 20649),
    (7, 2620.0, 2750, 3449, 2500.0, 20750, 21449),
    (8, 925.0, 3450, 3799, 880.0, 21450, 21799),
    (11, 1475.9, 4750, 4949, 1427.9, 22750, 22949),
    (12, 729.0, 5010, 5179, 699.0, 23010, 23179),
    (13, 746.0, 5180, 5279, 777.0, 23180, 23279),
    (14, 758.0, 5280, 5379, 788.0, 23280, 23379),
    (17, 734.0, 5730, 5849, 704.0, 23730, 23849),
    (18, 860.0, 5850, 5999, 815.0, 23850, 23999),
    (19, 875.0, 6000, 6149, 830.0, 24000, 24149),
    (20, 791.0, 6150, 6449, 832.0, 24150, 24449),
    (21, 1495.9, 6450, 6599, 1447.9, 24450, 24599),
    (25, 1930.0, 8040, 8689, 1850.0, 26040, 26689),
    (26, 859.0, 8690, 9039, 814.0, 26690, 27039),
    (28, 758.0, 9210, 9659, 703.0, 27210, 27659),
    (66, 2110.0, 66436, 67335, 1710.0, 131972, 132671),
)

BANDS: dict[int, Band] = {
    row[0]: Band(row[0], row[1] * 1e6, row[2], row[3], row[4] * 1e6, row[5], row[6]) for row in _TABLE_5_7_3_1
}


def band_of_dl_earfcn(earfcn_dl: int) -> Band:
    """The band whose DL EARFCN range holds `earfcn_dl` (ValueError if none of the known bands)."""
    for band in BANDS.values():
        if band.n_offs_dl <= earfcn_dl <= band.n_dl_max:
            return band
    raise ValueError(f"DL EARFCN {earfcn_dl} is in none of the supported bands {sorted(BANDS)}")


def dl_frequency_hz(band: int, earfcn_dl: int) -> float:
    """DL carrier frequency F_DL for `earfcn_dl` in `band` (TS 36.101 5.7.3)."""
    b = BANDS[band]
    if not b.n_offs_dl <= earfcn_dl <= b.n_dl_max:
        raise ValueError(f"DL EARFCN {earfcn_dl} is outside band {band} ({b.n_offs_dl}..{b.n_dl_max})")
    return b.f_dl_low_hz + 100e3 * (earfcn_dl - b.n_offs_dl)


def ul_earfcn_for_dl(band: int, earfcn_dl: int) -> int:
    """The UL EARFCN paired with `earfcn_dl` at the band's default duplex spacing (TS 36.101 5.7.4)."""
    b = BANDS[band]
    return earfcn_dl - b.n_offs_dl + b.n_offs_ul


def ul_frequency_hz(band: int, earfcn_ul: int) -> float:
    """UL carrier frequency F_UL for `earfcn_ul` in `band` (TS 36.101 5.7.3)."""
    b = BANDS[band]
    if not b.n_offs_ul <= earfcn_ul <= b.n_ul_max:
        raise ValueError(f"UL EARFCN {earfcn_ul} is outside band {band} ({b.n_offs_ul}..{b.n_ul_max})")
    return b.f_ul_low_hz + 100e3 * (earfcn_ul - b.n_offs_ul)
