"""Pass prediction: AOS, LOS and maximum elevation for one site or several sites jointly.

A joint pass is an interval where every site sees the satellite above its own minimum elevation
(gateway feeder link and beam centre together). Coarse scan (default 10 s) of the elevation margin
min_i(el_i - min_el_i), then AOS/LOS by bisection to 10 ms and the maximum by golden-section search.
Elevations are geometric (no refraction), from the instantaneous ITRF satellite position.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from orbit.geometry import Ephemeris, Site, look_angles

__all__ = ["Pass", "find_passes", "elevation_deg"]


@dataclass(frozen=True)
class Pass:
    """Times are seconds from the ephemeris epoch; elevations in degrees at `max_time_s`, per site."""

    aos_s: float
    los_s: float
    max_time_s: float
    max_elevation_deg: tuple[float, ...]

    @property
    def duration_s(self) -> float:
        return self.los_s - self.aos_s


def elevation_deg(sat: Ephemeris, site: Site, t_s) -> np.ndarray:
    return look_angles(site, sat.state_itrf(np.atleast_1d(t_s))[0])[1]


def _margin(sat: Ephemeris, sites: list[tuple[Site, float]], t_s) -> np.ndarray:
    pos = sat.state_itrf(np.atleast_1d(np.asarray(t_s, dtype=np.float64)))[0]
    return np.min([look_angles(s, pos)[1] - m for s, m in sites], axis=0)


def find_passes(sat: Ephemeris, sites: list[tuple[Site, float]], start_s: float, end_s: float,
                step_s: float = 10.0, tol_s: float = 0.01) -> list[Pass]:
    """Joint passes of `sat` over [(site, min_elevation_deg), ...] between start_s and end_s."""
    t = np.arange(start_s, end_s + step_s, step_s)
    m = _margin(sat, sites, t)
    up = m > 0
    edges = np.diff(up.astype(np.int8))
    rises = list(np.nonzero(edges == 1)[0])
    sets = list(np.nonzero(edges == -1)[0])
    passes = []
    for r in rises:
        later = [s for s in sets if s > r]
        if not later:
            break
        s = later[0]
        aos = _bisect(sat, sites, t[r], t[r + 1], rising=True, tol=tol_s)
        los = _bisect(sat, sites, t[s], t[s + 1], rising=False, tol=tol_s)
        t_max = _golden(lambda x: _margin(sat, sites, x)[0], aos, los, tol_s)
        pos = sat.state_itrf(np.array([t_max]))[0]
        passes.append(Pass(float(aos), float(los), float(t_max),
                           tuple(float(look_angles(s_, pos)[1][0]) for s_, _ in sites)))
    return passes


def _bisect(sat, sites, lo, hi, rising, tol):
    while hi - lo > tol:
        mid = 0.5 * (lo + hi)
        above = _margin(sat, sites, mid)[0] > 0
        if above == rising:
            hi = mid
        else:
            lo = mid
    return 0.5 * (lo + hi)


def _golden(f, a, b, tol):
    g = (np.sqrt(5) - 1) / 2
    c, d = b - g * (b - a), a + g * (b - a)
    fc, fd = f(c), f(d)
    while b - a > tol:
        if fc > fd:
            b, d, fd = d, c, fc
            c = b - g * (b - a)
            fc = f(c)
        else:
            a, c, fc = c, d, fd
            d = a + g * (b - a)
            fd = f(d)
    return 0.5 * (a + b)
