"""Satellite ephemeris from a TLE: SGP4 (the `sgp4` package) and TEME -> ITRF.

Time is a UTC epoch plus float64 offsets in seconds (small numbers, so they keep sub-ns
resolution); never a growing float sum. TEME -> ITRF (PEF) rotates by GMST (IAU 1982, as in
Vallado et al. 2006 "Revisiting Spacetrack Report #3", teme2ecef) and removes the Earth-rotation
velocity term. Polar motion (< 20 m at the surface) is neglected and UT1 = UTC + dut1_s with
dut1_s = 0 by default (|UT1-UTC| < 0.9 s, i.e. < 0.5 km along-track at the equator); pass the
bulletin value for better absolute positions. Delay and Doppler differences between nearby sites
are insensitive to both.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

import numpy as np
from sgp4.api import Satrec

from orbit.tle import Tle

__all__ = [
    "OMEGA_EARTH_RAD_S", "Satellite", "SatelliteEphemeris", "gmst_rad", "gmst_rate_rad_s", "julian_date",
    "rot_z", "teme_to_itrf",
]

OMEGA_EARTH_RAD_S = 7.2921158553e-5  # Earth rotation w.r.t. inertial space = d(GMST)/dt (1.00273790935 rev/day)
_J2000_JD = 2451545.0


def julian_date(when_utc: datetime) -> tuple[float, float]:
    """(whole, fraction) Julian date of a UTC datetime; the split keeps sub-microsecond precision."""
    if when_utc.tzinfo is None:
        raise ValueError("datetimes must be timezone-aware UTC (datetime(..., tzinfo=timezone.utc))")
    when_utc = when_utc.astimezone(timezone.utc)
    midnight = when_utc.replace(hour=0, minute=0, second=0, microsecond=0)
    days = (midnight.date().toordinal() - datetime(2000, 1, 1).date().toordinal())
    whole = 2451544.5 + days
    frac = (when_utc - midnight).total_seconds() / 86400.0
    return whole, frac


def gmst_rad(jd_ut1_whole: float, jd_ut1_frac: np.ndarray | float) -> np.ndarray:
    """Greenwich mean sidereal time, IAU 1982 (Vallado gstime), radians in [0, 2 pi)."""
    t = ((jd_ut1_whole - _J2000_JD) + np.asarray(jd_ut1_frac, dtype=np.float64)) / 36525.0
    sec = -6.2e-6 * t**3 + 0.093104 * t**2 + (876600.0 * 3600.0 + 8640184.812866) * t + 67310.54841
    return np.mod(sec * (2.0 * np.pi / 86400.0), 2.0 * np.pi)


def gmst_rate_rad_s(jd_ut1_whole: float, jd_ut1_frac: float) -> float:
    """d(GMST)/dt in rad/s: the analytic derivative of `gmst_rad` (a difference would lose digits)."""
    t = ((jd_ut1_whole - _J2000_JD) + jd_ut1_frac) / 36525.0
    dsec_dt = -3 * 6.2e-6 * t**2 + 2 * 0.093104 * t + (876600.0 * 3600.0 + 8640184.812866)
    return dsec_dt * (2.0 * np.pi / 86400.0) / (36525.0 * 86400.0)


def rot_z(angle: np.ndarray, vec: np.ndarray) -> np.ndarray:
    """Passive rotation R3(angle) of (N, 3) vectors: x' = c x + s y, y' = -s x + c y."""
    c, s = np.cos(angle), np.sin(angle)
    out = np.empty_like(vec)
    out[:, 0] = c * vec[:, 0] + s * vec[:, 1]
    out[:, 1] = -s * vec[:, 0] + c * vec[:, 1]
    out[:, 2] = vec[:, 2]
    return out


def teme_to_itrf(pos_teme_m: np.ndarray, vel_teme_m_s: np.ndarray, gmst: np.ndarray,
                 omega_rad_s: float = OMEGA_EARTH_RAD_S):
    """TEME -> ITRF (PEF; polar motion neglected): r = R3(gmst) r_teme, v = R3(gmst) v_teme - w x r."""
    pos = rot_z(gmst, pos_teme_m)
    vel = rot_z(gmst, vel_teme_m_s)
    vel[:, 0] += omega_rad_s * pos[:, 1]
    vel[:, 1] -= omega_rad_s * pos[:, 0]
    return pos, vel


@dataclass(frozen=True)
class Satellite:
    """A TLE-driven satellite; `ephemeris(epoch_utc)` gives ITRF states at offsets from that epoch."""

    tle: Tle

    def ephemeris(self, epoch_utc: datetime, dut1_s: float = 0.0) -> SatelliteEphemeris:
        return SatelliteEphemeris(self.tle, epoch_utc, dut1_s)


class SatelliteEphemeris:
    """ITRF position/velocity of a TLE satellite at float64 offsets (s) from `epoch_utc`.

    `state_itrf(t_s) -> (pos (N,3) m, vel (N,3) m/s)`. The GMST is evaluated once at the epoch and
    advanced linearly with its analytic rate (the neglected curvature is < 1e-13 rad over a day of
    offsets); evaluating the full formula per sample would quantize the angle to ~1e-11 rad, i.e.
    ~0.1 mm of jitter, a visible phase noise at 46 GHz.
    """

    def __init__(self, tle: Tle, epoch_utc: datetime, dut1_s: float = 0.0):
        self.tle = tle
        self.epoch_utc = epoch_utc
        self._satrec = Satrec.twoline2rv(tle.line1, tle.line2)
        whole, frac = julian_date(epoch_utc)
        # offset of our epoch from the TLE epoch in seconds (small number, precise)
        self._t0_from_tle_s = ((whole - self._satrec.jdsatepoch) + (frac - self._satrec.jdsatepochF)) * 86400.0
        g0 = float(gmst_rad(whole, frac + dut1_s / 86400.0))
        self._gmst0 = g0
        self._gmst_rate = float(gmst_rate_rad_s(whole, frac + dut1_s / 86400.0))

    def state_teme(self, t_s: np.ndarray):
        """(pos (N,3) m, vel (N,3) m/s) in TEME at offsets t_s from the epoch; raises on SGP4 errors."""
        t_s = np.atleast_1d(np.asarray(t_s, dtype=np.float64))
        jd = np.full(t_s.shape, self._satrec.jdsatepoch)
        fr = self._satrec.jdsatepochF + (self._t0_from_tle_s + t_s) / 86400.0
        err, r_km, v_km_s = self._satrec.sgp4_array(jd, fr)
        if np.any(err):
            code = int(err[np.nonzero(err)[0][0]])
            raise ValueError(f"SGP4 error code {code} for NORAD {self.tle.norad_id} (decayed or bad elements)")
        return r_km * 1e3, v_km_s * 1e3

    def gmst(self, t_s: np.ndarray) -> np.ndarray:
        return self._gmst0 + self._gmst_rate * np.asarray(t_s, dtype=np.float64)

    def state_itrf(self, t_s: np.ndarray, vel_step_s: float = 1e-3):
        """(pos (N,3) m, vel (N,3) m/s) in ITRF (Earth-fixed) at offsets t_s (s) from the epoch.

        The velocity is the central difference of the ITRF position over +-vel_step_s, not SGP4's own
        velocity output: that one differs from the derivative of SGP4's position by ~1.4 cm/s (2 Hz of
        Doppler at 46 GHz), which would break Doppler == -f dtau/dt (DESIGN.md 3). Truncation error
        ~ h^2/6 * jerk ~ 2e-9 m/s.
        """
        t_s = np.atleast_1d(np.asarray(t_s, dtype=np.float64))
        n = t_s.size
        tt = np.concatenate([t_s, t_s - vel_step_s, t_s + vel_step_s])
        pos_teme, vel_teme = self.state_teme(tt)
        pos, _ = teme_to_itrf(pos_teme, vel_teme, self.gmst(tt), self._gmst_rate)
        vel = (pos[2 * n:] - pos[n:2 * n]) / (2.0 * vel_step_s)
        return pos[:n], vel
