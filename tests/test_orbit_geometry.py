"""Orbit and link geometry against independent numbers: TLE checks, closed-form circular orbit,
skyfield's route to ITRF, light time in GCRS, Doppler == -f dtau/dt, pass boundaries."""

from __future__ import annotations

import warnings
from datetime import timedelta

import numpy as np
import pytest
from scipy.optimize import brentq

from orbit.ephemeris import OMEGA_EARTH_RAD_S, Satellite
from orbit.geometry import C_M_S, Site, hop_geometry, look_angles, solve_light_time
from orbit.passes import elevation_deg, find_passes
from orbit.tle import TleEpochWarning, TleError, check_epoch_age, load_tle, parse_tle, tle_checksum

L1 = "1 61045U 24163A   26059.13578965  .00010066  00000-0  45836-3 0  9990"
L2 = "2 61045  52.9693  91.0403 0007935 162.8389 197.2875 15.21265803 81179"


@pytest.fixture(scope="module")
def tle(hw_configs_dir):
    return load_tle(hw_configs_dir / "bluebird.tle", 61045)


def test_tle_parses_and_checks():
    t = parse_tle([L1, L2])
    assert t.norad_id == 61045
    assert t.epoch_utc.strftime("%Y-%m-%d %H:%M") == "2026-02-28 03:15"
    bad = L1[:68] + str((int(L1[68]) + 1) % 10)
    with pytest.raises(TleError, match="checksum"):
        parse_tle([bad, L2])
    shifted = L2[:7] + L2[8:68] + " "  # every field after the number moved one column left
    shifted += str(tle_checksum(shifted))  # a valid checksum: only the columns are wrong
    with pytest.raises(TleError, match="column"):
        parse_tle([L1, shifted])
    with pytest.raises(TleError, match="69"):
        parse_tle([L1[:-1], L2])
    with pytest.raises(TleError, match="satellite number"):
        parse_tle([L1, "2 61046" + L2[7:68] + "0"])


def test_tle_epoch_age():
    t = parse_tle([L1, L2])
    with pytest.warns(TleEpochWarning):
        check_epoch_age(t, t.epoch_utc + timedelta(days=5))
    with pytest.raises(TleError, match="days from the requested time"):
        check_epoch_age(t, t.epoch_utc + timedelta(days=40))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert check_epoch_age(t, t.epoch_utc + timedelta(hours=6)) == pytest.approx(0.25)


class _CircularOrbit:
    """Equatorial circular orbit (inertial) seen in ECEF: angle (n - w) t + a0 from the x axis."""

    def __init__(self, radius_m, n_rad_s, a0):
        self.r, self.n, self.a0 = radius_m, n_rad_s, a0

    def state_itrf(self, t_s):
        t_s = np.atleast_1d(t_s)
        a = (self.n - OMEGA_EARTH_RAD_S) * t_s + self.a0
        pos = self.r * np.stack([np.cos(a), np.sin(a), 0 * a], axis=1)
        vel = self.r * (self.n - OMEGA_EARTH_RAD_S) * np.stack([-np.sin(a), np.cos(a), 0 * a], axis=1)
        return pos, vel


def test_circular_orbit_closed_form():
    r_s, r_e = 6_378_137.0 + 520e3, 6_378_137.0
    n = np.sqrt(3.986004418e14 / r_s**3)
    sat = _CircularOrbit(r_s, n, -0.15)
    ground = Site("eq", 0.0, 0.0, 0.0)
    t = np.linspace(0.0, 300.0, 31)
    # instantaneous range and range rate: rho^2 = Rs^2 + Re^2 - 2 Rs Re cos(theta), theta = (n - w) t + a0
    theta = (n - OMEGA_EARTH_RAD_S) * t - 0.15
    rho = np.sqrt(r_s**2 + r_e**2 - 2 * r_s * r_e * np.cos(theta))
    rho_dot = r_s * r_e * np.sin(theta) * (n - OMEGA_EARTH_RAD_S) / rho
    pos, vel = sat.state_itrf(t)
    d = pos - ground.ecef_m
    assert np.allclose(np.linalg.norm(d, axis=1), rho, atol=1e-6)
    assert np.allclose(np.einsum("ij,ij->i", d, vel) / np.linalg.norm(d, axis=1), rho_dot, atol=1e-9)
    # light time, inertial frame: c tau = |Rs e^{i n (t - tau) + a0} - Re e^{i w t}|
    tau_ref = np.array([
        brentq(lambda x, tt=tt: C_M_S * x - np.sqrt(r_s**2 + r_e**2 - 2 * r_s * r_e
                                                    * np.cos(n * (tt - x) - 0.15 - OMEGA_EARTH_RAD_S * tt)),
               0.0, 0.05, xtol=1e-16)
        for tt in t
    ])
    tau, rate, *_ = solve_light_time(sat, ground, t, fixed="rx")
    assert np.max(np.abs(tau - tau_ref)) < 1e-12
    tau_p, *_ = solve_light_time(sat, ground, t + 1e-3, fixed="rx")
    tau_m, *_ = solve_light_time(sat, ground, t - 1e-3, fixed="rx")
    assert np.max(np.abs(rate - (tau_p - tau_m) / 2e-3)) < 1e-11
    # forward light time is the inverse map: sent at t - tau(t) -> received at t
    tau_f, *_ = solve_light_time(sat, ground, t - tau, fixed="tx")
    assert np.max(np.abs(tau_f - tau)) < 1e-13


def _skyfield(tle, epoch):
    from skyfield.api import EarthSatellite, load

    # delta_t = TT - UT1 chosen so that UT1 = UTC (TT - UTC = 32.184 + 37 s in 2026), as our dut1_s = 0
    ts = load.timescale(delta_t=69.184)
    return ts, EarthSatellite(tle.line1, tle.line2, ts=ts)


def _sky_times(ts, epoch, t_s):
    return ts.utc(epoch.year, epoch.month, epoch.day, epoch.hour, epoch.minute,
                  epoch.second + epoch.microsecond * 1e-6 + np.asarray(t_s))


def test_sgp4_itrf_against_skyfield(tle):
    from skyfield.framelib import itrs

    ts, sky = _skyfield(tle, tle.epoch_utc)
    t = np.linspace(0.0, 6 * 3600.0, 25)
    pos, _ = Satellite(tle).ephemeris(tle.epoch_utc).state_itrf(t)
    ref = sky.at(_sky_times(ts, tle.epoch_utc, t)).frame_xyz(itrs).m.T
    assert np.max(np.linalg.norm(pos - ref, axis=1)) < 1.0  # metres


def test_light_time_against_gcrs_and_doppler_is_delay_slope(tle):
    """Light time solved by skyfield in GCRS agrees to < 1 ns; Doppler = -f dtau/dt along the pass."""
    from skyfield.api import wgs84

    eph = Satellite(tle).ephemeris(tle.epoch_utc)
    site = Site("tokyo", 35.6812, 139.7671, 40.0)
    p = find_passes(eph, [(site, 10.0)], 0.0, 86400.0)[0]
    t = np.linspace(p.aos_s, p.los_s, 40)
    ts, sky = _skyfield(tle, tle.epoch_utc)
    ground = wgs84.latlon(site.lat_deg, site.lon_deg, elevation_m=site.alt_m)
    r_rx = ground.at(_sky_times(ts, tle.epoch_utc, t)).position.m
    tau_ref = np.zeros_like(t)
    for _ in range(5):
        r_tx = sky.at(_sky_times(ts, tle.epoch_utc, t - tau_ref)).position.m
        tau_ref = np.linalg.norm(r_tx - r_rx, axis=0) / C_M_S
    hop = hop_geometry(eph, site, t, 770e6, fixed="rx")
    assert np.max(np.abs(hop.delay_s - tau_ref)) < 1e-9
    h = 1e-3
    tp = hop_geometry(eph, site, t + h, 770e6).delay_s
    tm = hop_geometry(eph, site, t - h, 770e6).delay_s
    assert np.max(np.abs(hop.doppler_hz - (-770e6 * (tp - tm) / (2 * h)))) < 0.01
    assert np.max(np.abs(hop.doppler_hz)) > 1e4  # a real LEO pass
    dr = (hop_geometry(eph, site, t + 0.5, 770e6).doppler_hz - hop_geometry(eph, site, t - 0.5, 770e6).doppler_hz)
    assert np.max(np.abs(hop.doppler_rate_hz_s - dr)) < 1.0


def test_passes_boundaries(tle):
    eph = Satellite(tle).ephemeris(tle.epoch_utc)
    gw, beam = Site("gw", 37.40, 140.38, 300.0), Site("tokyo", 35.6812, 139.7671, 40.0)
    passes = find_passes(eph, [(gw, 10.0), (beam, 20.0)], 0.0, 86400.0)
    assert passes
    for p in passes:
        margin = np.minimum(elevation_deg(eph, gw, [p.aos_s, p.los_s]) - 10.0,
                            elevation_deg(eph, beam, [p.aos_s, p.los_s]) - 20.0)
        assert np.all(np.abs(margin) < 0.01)
        t = np.linspace(p.aos_s, p.los_s, 200)
        el = elevation_deg(eph, beam, t)
        assert el.max() <= p.max_elevation_deg[1] + 0.05
    az, el, rng = look_angles(beam, eph.state_itrf([passes[0].max_time_s])[0])
    assert 500e3 < rng[0] < 2000e3
