"""The orbit scenario of a profile: TLE, satellite, sites, carriers, the chosen pass and its target delay D.

    sc = Scenario.from_config(load_config("hw_configs/loopback.yaml"))
    p = sc.select_pass()            # Pass (times in s from sc.epoch_utc)
    D = sc.target_delay_s(p, fs)    # the constant delay the pre-compensation aims at
    track = sc.dl_track(fs, D)      # gateway.precomp.CompensationTrack for the beam centre
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from gateway.carriers import Carriers, carriers_from_config
from gateway.config import ConfigError
from gateway.geometry import Site, offset_site
from gateway.orbit import Satellite, SatelliteEphemeris
from gateway.passes import Pass, find_passes
from gateway.precomp import CompensationTrack, choose_target_delay
from gateway.relay import relay_dl, relay_ul
from gateway.tle import Tle, TleError, check_epoch_age, load_tle, parse_tle

__all__ = ["Scenario", "resolve_tle"]


def resolve_tle(orbit, source: str) -> Tle:
    """The profile's TLE: inline lines, or a file relative to the profile (then to hw_configs/)."""
    text = orbit.tle.strip()
    try:
        if "\n" in text or text.startswith("1 "):
            return parse_tle(text)
        base = Path(source).parent if source not in ("<dict>", "") else Path("hw_configs")
        path = Path(text) if Path(text).is_absolute() else base / text
        if not path.exists():
            path = Path(__file__).resolve().parents[1] / "hw_configs" / text
        return load_tle(path, orbit.norad_id)
    except TleError as exc:
        raise ConfigError(f"orbit.tle: {exc}") from None


@dataclass
class Scenario:
    epoch_utc: datetime  # t = 0 of every time array (and of the stream's sample counter)
    tle: Tle
    sat: SatelliteEphemeris
    gateway: Site
    beam: Site
    edge: Site
    carriers: Carriers
    orbit: object
    link: object

    @classmethod
    def from_config(cls, cfg, start_utc: datetime | None = None) -> Scenario:
        o = cfg.orbit
        tle = resolve_tle(o, cfg.source)
        if start_utc is None:
            if o.start_utc == "epoch":
                start_utc = tle.epoch_utc
            elif o.start_utc == "now":
                start_utc = datetime.now(timezone.utc)
            else:
                start_utc = datetime.fromisoformat(o.start_utc.replace("Z", "+00:00"))
                if start_utc.tzinfo is None:
                    start_utc = start_utc.replace(tzinfo=timezone.utc)
        try:
            check_epoch_age(tle, start_utc, o.epoch_warn_days, o.epoch_max_days)
        except TleError as exc:
            raise ConfigError(f"orbit: {exc}") from None
        beam = Site("beam centre", o.beam_lat_deg, o.beam_lon_deg, o.beam_alt_m)
        return cls(
            epoch_utc=start_utc,
            tle=tle,
            sat=Satellite(tle).ephemeris(start_utc, o.dut1_s),
            gateway=Site("gateway", o.gateway_lat_deg, o.gateway_lon_deg, o.gateway_alt_m),
            beam=beam,
            edge=offset_site(beam, o.edge_distance_m, o.edge_azimuth_deg, "beam edge"),
            carriers=carriers_from_config(cfg.cell, cfg.link),
            orbit=o,
            link=cfg.link,
        )

    def passes(self) -> list[Pass]:
        o = self.orbit
        return find_passes(self.sat, [(self.gateway, o.gateway_min_elevation_deg),
                                      (self.beam, o.beam_min_elevation_deg)], 0.0, o.search_hours * 3600.0)

    def select_pass(self) -> Pass:
        found = self.passes()
        if len(found) <= self.orbit.pass_index:
            raise ConfigError(
                f"orbit.pass_index: {self.orbit.pass_index} but only {len(found)} joint passes in the next "
                f"{self.orbit.search_hours:g} h; raise orbit.search_hours or lower the minimum elevations"
            )
        return found[self.orbit.pass_index]

    def max_delay_s(self, p: Pass, step_s: float = 1.0) -> float:
        """Largest DL or UL two-hop delay to the beam centre over the pass."""
        t = np.arange(p.aos_s, p.los_s + step_s, step_s)
        dl = relay_dl(self.gateway, self.sat, self.beam, t, self.carriers).delay_s
        ul = relay_ul(self.beam, self.sat, self.gateway, t, self.carriers).delay_s
        return float(max(dl.max(), ul.max()))

    def target_delay_s(self, p: Pass, sample_rate_hz: float) -> float:
        if self.link.target_delay_s != "auto":
            return float(self.link.target_delay_s)
        return choose_target_delay(self.max_delay_s(p), sample_rate_hz, self.link.delay_margin_s)

    def dl_track(self, sample_rate_hz: float, site: Site | None = None) -> CompensationTrack:
        site = site or self.beam
        lo = self.link.compensate_lo_error

        def func(t):
            r = relay_dl(self.gateway, self.sat, site, t, self.carriers, with_lo_error=lo)
            return r.delay_s, r.delay_rate, r.phase_cycles, r.phase_rate_hz

        return CompensationTrack(func, sample_rate_hz, self.link.grid_step_s)

    def ul_track(self, sample_rate_hz: float, site: Site | None = None) -> CompensationTrack:
        site = site or self.beam
        lo = self.link.compensate_lo_error

        def func(t):
            r = relay_ul(site, self.sat, self.gateway, t, self.carriers, with_lo_error=lo)
            return r.delay_s, r.delay_rate, r.phase_cycles, r.phase_rate_hz

        return CompensationTrack(func, sample_rate_hz, self.link.grid_step_s)
