"""The gateway's prediction of a pass from its profile: the orbit scenario plus the compensation tracks.

    pred = PassPrediction.from_config(load_config("hw_configs/loopback.yaml"))
    p = pred.select_pass()            # Pass (times in s from pred.epoch_utc)
    D = pred.target_delay_s(p, fs)    # the constant delay the pre-compensation aims at
    track = pred.dl_track(fs)         # gateway.precomp.CompensationTrack for the beam centre

The physics (TLE, SGP4, sites, light time, two-hop tracks) is orbit/'s; this module adds what the
profile decides (which TLE, sites, pass, carriers, target delay) and the predicted tracks the
pre-compensation follows. Profile problems raise ConfigError naming the key.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from gateway.config import ConfigError
from gateway.precomp import CompensationTrack, choose_target_delay
from orbit import Carriers, Pass, Scenario, Site, Tle, TleError, check_epoch_age, load_tle, parse_tle

__all__ = ["PassPrediction", "carriers_from_config", "resolve_tle"]


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


def carriers_from_config(cell, link) -> Carriers:
    """Carriers from CellConfig (service DL/UL) and LinkConfig (feeder, LO error in ppm and Hz)."""
    f_sd, f_su = cell.dl_frequency_hz, cell.ul_frequency_hz
    lo_dl = link.feeder_uplink_hz - f_sd
    lo_ul = link.feeder_downlink_hz - f_su
    return Carriers(
        feeder_uplink_hz=link.feeder_uplink_hz,
        feeder_downlink_hz=link.feeder_downlink_hz,
        service_dl_hz=f_sd,
        service_ul_hz=f_su,
        lo_error_dl_hz=link.lo_error_hz + link.lo_error_ppm * 1e-6 * lo_dl,
        lo_error_ul_hz=link.lo_error_hz + link.lo_error_ppm * 1e-6 * lo_ul,
    )


@dataclass
class PassPrediction(Scenario):
    """orbit.Scenario of a profile, with its `orbit:` and `link:` sections and the compensation tracks."""

    orbit: object = None
    link: object = None

    @classmethod
    def from_config(cls, cfg, start_utc: datetime | None = None) -> PassPrediction:
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
        return cls.build(
            tle, start_utc,
            gateway=Site("gateway", o.gateway_lat_deg, o.gateway_lon_deg, o.gateway_alt_m),
            beam=Site("beam centre", o.beam_lat_deg, o.beam_lon_deg, o.beam_alt_m),
            carriers=carriers_from_config(cfg.cell, cfg.link),
            edge_distance_m=o.edge_distance_m, edge_azimuth_deg=o.edge_azimuth_deg, dut1_s=o.dut1_s,
            gateway_min_elevation_deg=o.gateway_min_elevation_deg, beam_min_elevation_deg=o.beam_min_elevation_deg,
            orbit=o, link=cfg.link,
        )

    def passes(self, search_s: float | None = None) -> list[Pass]:
        """Joint passes within the profile's orbit.search_hours (or `search_s`)."""
        return super().passes(self.orbit.search_hours * 3600.0 if search_s is None else search_s)

    def select_pass(self) -> Pass:
        found = self.passes()
        if len(found) <= self.orbit.pass_index:
            raise ConfigError(
                f"orbit.pass_index: {self.orbit.pass_index} but only {len(found)} joint passes in the next "
                f"{self.orbit.search_hours:g} h; raise orbit.search_hours or lower the minimum elevations"
            )
        return found[self.orbit.pass_index]

    def target_delay_s(self, p: Pass, sample_rate_hz: float) -> float:
        if self.link.target_delay_s != "auto":
            return float(self.link.target_delay_s)
        return choose_target_delay(self.max_delay_s(p), sample_rate_hz, self.link.delay_margin_s)

    def dl_track(self, sample_rate_hz: float, site: Site | None = None) -> CompensationTrack:
        """Predicted DL two-hop track to `site` (default the beam centre), for the pre-compensation."""
        lo = self.link.compensate_lo_error

        def func(t):
            r = self.dl(t, site, with_lo_error=lo)
            return r.delay_s, r.delay_rate, r.phase_cycles, r.phase_rate_hz

        return CompensationTrack(func, sample_rate_hz, self.link.grid_step_s)

    def ul_track(self, sample_rate_hz: float, site: Site | None = None) -> CompensationTrack:
        """Predicted UL two-hop track from `site` (default the beam centre), for the post-compensation."""
        lo = self.link.compensate_lo_error

        def func(t):
            r = self.ul(t, site, with_lo_error=lo)
            return r.delay_s, r.delay_rate, r.phase_cycles, r.phase_rate_hz

        return CompensationTrack(func, sample_rate_hz, self.link.grid_step_s)
