"""Orbit physics shared by the gateway (its prediction) and the channel simulator (the truth).

TLE parsing and SGP4 (TEME -> ITRF), WGS84 sites and look angles, one hop's light time, pass
prediction, the bent-pipe carriers and the two-hop relay tracks (DESIGN.md 3). Imports nothing
from gateway or channel.

    from orbit import Satellite, Site, load_tle, solve_light_time
    sat = Satellite(load_tle("hw_configs/bluebird.tle", 61045)).ephemeris(epoch_utc)
    tau_s, dtau_dt, *_ = solve_light_time(sat, Site("Tokyo", 35.68, 139.77), t_s, fixed="rx")
"""

from .carriers import Carriers
from .ephemeris import OMEGA_EARTH_RAD_S, Satellite, SatelliteEphemeris
from .geometry import C_M_S, Ephemeris, HopGeometry, Site, hop_geometry, look_angles, offset_site, solve_light_time
from .passes import Pass, find_passes
from .relay import RelayTrack, relay_dl, relay_ul
from .scenario import Scenario
from .tle import Tle, TleEpochWarning, TleError, check_epoch_age, load_tle, parse_tle

__all__ = [
    "C_M_S", "OMEGA_EARTH_RAD_S", "Carriers", "Ephemeris", "HopGeometry", "Pass", "RelayTrack", "Satellite",
    "SatelliteEphemeris", "Scenario", "Site", "Tle", "TleEpochWarning", "TleError", "check_epoch_age",
    "find_passes", "hop_geometry", "load_tle", "look_angles", "offset_site", "parse_tle", "relay_dl", "relay_ul",
    "solve_light_time",
]
