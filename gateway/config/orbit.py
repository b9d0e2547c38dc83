"""The `orbit:` section: satellite elements (TLE), gateway site, beam centre and pass selection."""

from __future__ import annotations

from dataclasses import dataclass

from ._schema import ConfigError, option


@dataclass(frozen=True)
class OrbitConfig:
    """Where the satellite, the gateway and the beam centre are, and which pass to fly."""

    enabled: bool = option(False, doc="propagate a satellite pass (false: static loopback, no orbit)")
    tle: str = option("bluebird.tle", doc="TLE file (relative to the profile) or the 2 TLE lines inline")
    norad_id: int | None = option(61045, range=(1, 99999), doc="satellite in a multi-TLE file (null: first)")
    start_utc: str = option("epoch", doc="search passes from: 'epoch' (the TLE epoch), 'now', or ISO 8601 UTC")
    dut1_s: float = option(0.0, range=(-0.9, 0.9), doc="UT1-UTC (s) for the Earth rotation angle")
    gateway_lat_deg: float = option(37.40, range=(-90.0, 90.0), doc="gateway latitude (WGS84, Fukushima area)")
    gateway_lon_deg: float = option(140.38, range=(-180.0, 360.0), doc="gateway longitude (deg east)")
    gateway_alt_m: float = option(300.0, range=(-500.0, 9000.0), doc="gateway height above the ellipsoid (m)")
    beam_lat_deg: float = option(35.6812, range=(-90.0, 90.0), doc="beam centre latitude (Tokyo)")
    beam_lon_deg: float = option(139.7671, range=(-180.0, 360.0), doc="beam centre longitude")
    beam_alt_m: float = option(40.0, range=(-500.0, 9000.0), doc="beam centre height above the ellipsoid (m)")
    gateway_min_elevation_deg: float = option(10.0, range=(0.0, 89.0), doc="feeder link minimum elevation")
    beam_min_elevation_deg: float = option(20.0, range=(0.0, 89.0), doc="service minimum elevation at beam centre")
    pass_index: int = option(0, range=(0, 1000), doc="which joint pass after start_utc to fly (0 = next)")
    search_hours: float = option(48.0, range=(0.1, 24.0 * 14), doc="how far ahead to search for passes")
    edge_distance_m: float = option(24_000.0, range=(0.0, 500_000.0), doc="beam-edge handset distance")
    edge_azimuth_deg: float = option(90.0, range=(0.0, 360.0), doc="direction of the beam-edge point")
    epoch_warn_days: float = option(3.0, range=(0.0, 365.0), doc="warn when the TLE is older than this")
    epoch_max_days: float = option(30.0, range=(0.0, 3650.0), doc="refuse a TLE further than this from start")

    def check(self, section: str = "orbit") -> None:
        if self.epoch_max_days < self.epoch_warn_days:
            raise ConfigError(
                f"{section}.epoch_max_days: {self.epoch_max_days:g} is below epoch_warn_days "
                f"({self.epoch_warn_days:g}); refusing must come no sooner than warning"
            )
        if self.start_utc not in ("epoch", "now"):
            from datetime import datetime

            try:
                datetime.fromisoformat(self.start_utc.replace("Z", "+00:00"))
            except ValueError:
                raise ConfigError(
                    f"{section}.start_utc: {self.start_utc!r} is not 'epoch', 'now' or an ISO 8601 time "
                    "(e.g. 2026-02-28T12:00:00Z)"
                ) from None
        if "\n" in self.tle.strip() or self.tle.lstrip().startswith("1 "):
            from orbit.tle import TleError, parse_tle

            try:
                parse_tle(self.tle)
            except TleError as exc:
                raise ConfigError(f"{section}.tle: {exc}") from None
