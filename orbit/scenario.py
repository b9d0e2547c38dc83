"""A pass scenario: one TLE satellite, the gateway, the beam centre, a beam-edge point and the carriers.

Physics only (no profile, no prediction): both the gateway (gateway.prediction.PassPrediction, which
adds the profile and the compensation tracks) and the channel simulator build on it.

    sc = Scenario.build(tle, epoch_utc, gateway_site, beam_site, carriers)
    p = sc.passes(search_s=86400.0)[0]     # joint passes (times in s from sc.epoch_utc)
    sc.max_delay_s(p)                      # largest two-hop delay to the beam centre over the pass
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np

from orbit.carriers import Carriers
from orbit.ephemeris import Satellite, SatelliteEphemeris
from orbit.geometry import Site, offset_site
from orbit.passes import Pass, find_passes
from orbit.relay import RelayTrack, relay_dl, relay_ul
from orbit.tle import Tle

__all__ = ["Scenario"]


@dataclass
class Scenario:
    epoch_utc: datetime  # t = 0 of every time array (and of the stream's sample counter)
    tle: Tle
    sat: SatelliteEphemeris
    gateway: Site
    beam: Site
    edge: Site
    carriers: Carriers
    gateway_min_elevation_deg: float = 10.0
    beam_min_elevation_deg: float = 20.0

    @classmethod
    def build(cls, tle: Tle, epoch_utc: datetime, gateway: Site, beam: Site, carriers: Carriers,
              edge_distance_m: float = 24_000.0, edge_azimuth_deg: float = 90.0, dut1_s: float = 0.0,
              gateway_min_elevation_deg: float = 10.0, beam_min_elevation_deg: float = 20.0, **extra):
        """Scenario with the satellite's ephemeris at `epoch_utc` and a beam-edge site `edge_distance_m`
        from the beam centre towards `edge_azimuth_deg`; `extra` goes to subclasses' fields."""
        return cls(
            epoch_utc=epoch_utc, tle=tle, sat=Satellite(tle).ephemeris(epoch_utc, dut1_s), gateway=gateway,
            beam=beam, edge=offset_site(beam, edge_distance_m, edge_azimuth_deg, "beam edge"), carriers=carriers,
            gateway_min_elevation_deg=gateway_min_elevation_deg, beam_min_elevation_deg=beam_min_elevation_deg,
            **extra,
        )

    def passes(self, search_s: float = 86400.0) -> list[Pass]:
        """Joint passes (gateway and beam centre above their minimum elevations) in [0, search_s]."""
        return find_passes(self.sat, [(self.gateway, self.gateway_min_elevation_deg),
                                      (self.beam, self.beam_min_elevation_deg)], 0.0, search_s)

    def dl(self, t_s, site: Site | None = None, with_lo_error: bool = True) -> RelayTrack:
        """DL two-hop track gateway -> satellite -> `site` (default the beam centre) at gateway send times."""
        return relay_dl(self.gateway, self.sat, site or self.beam, t_s, self.carriers, with_lo_error)

    def ul(self, t_s, site: Site | None = None, with_lo_error: bool = True) -> RelayTrack:
        """UL two-hop track `site` -> satellite -> gateway at handset send times."""
        return relay_ul(site or self.beam, self.sat, self.gateway, t_s, self.carriers, with_lo_error)

    def max_delay_s(self, p: Pass, step_s: float = 1.0) -> float:
        """Largest DL or UL two-hop delay to the beam centre over the pass."""
        t = np.arange(p.aos_s, p.los_s + step_s, step_s)
        return float(max(self.dl(t).delay_s.max(), self.ul(t).delay_s.max()))
