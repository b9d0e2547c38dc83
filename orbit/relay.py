"""Two-hop bent-pipe delay and phase, indexed by the first transmitter's send time (DESIGN.md 3).

DL (gateway sends at t): feeder hop gateway -> satellite, tau_f(t) (transmit-time light time);
the satellite relays at t1 = t + tau_f(t); service hop satellite -> handset, tau_s(t1).
    tau(t) = tau_f(t) + tau_s(t1)
    phi(t) = f_fu tau_f(t) + f_sd tau_s(t1) + e_dl t1          (cycles; y = x(.) exp(-j 2 pi phi))
UL (handset sends at t): service hop handset -> satellite tau_s(t), t1 = t + tau_s(t), feeder hop
satellite -> gateway tau_f(t1):  phi(t) = f_su tau_s(t) + f_fd tau_f(t1) - e_ul t1.
Derivatives by the chain rule with the analytic per-hop dtau/dt, so Doppler = -dphi/dt is exact.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from orbit.carriers import Carriers
from orbit.geometry import Ephemeris, solve_light_time

__all__ = ["RelayTrack", "relay_dl", "relay_ul"]


@dataclass(frozen=True)
class RelayTrack:
    """Two-hop quantities at send times t_s: all (N,) float64."""

    t_s: np.ndarray
    delay_s: np.ndarray
    delay_rate: np.ndarray  # dtau/dt
    phase_cycles: np.ndarray
    phase_rate_hz: np.ndarray  # dphi/dt; the Doppler seen is -phase_rate / (1 + delay_rate)
    first_delay_s: np.ndarray  # first hop's delay
    second_delay_s: np.ndarray
    first_doppler_hz: np.ndarray  # -f dtau/dt of each hop at its own carrier
    second_doppler_hz: np.ndarray


def _two_hop(a: Ephemeris, sat: Ephemeris, b: Ephemeris, t_s, f1: float, f2: float, lo_phase_hz: float):
    t_s = np.atleast_1d(np.asarray(t_s, dtype=np.float64))
    tau1, rate1, *_ = solve_light_time(a, sat, t_s, fixed="tx")
    t1 = t_s + tau1
    tau2, rate2, *_ = solve_light_time(sat, b, t1, fixed="tx")
    dt1 = 1.0 + rate1
    return RelayTrack(
        t_s=t_s,
        delay_s=tau1 + tau2,
        delay_rate=rate1 + rate2 * dt1,
        phase_cycles=f1 * tau1 + f2 * tau2 + lo_phase_hz * t1,
        phase_rate_hz=f1 * rate1 + (f2 * rate2 + lo_phase_hz) * dt1,
        first_delay_s=tau1,
        second_delay_s=tau2,
        first_doppler_hz=-f1 * rate1,
        second_doppler_hz=-f2 * rate2,
    )


def relay_dl(gateway: Ephemeris, sat: Ephemeris, handset: Ephemeris, t_s, carriers: Carriers,
             with_lo_error: bool = True) -> RelayTrack:
    """DL two-hop track for gateway send times t_s (s from the common epoch)."""
    e = carriers.lo_error_dl_hz if with_lo_error else 0.0
    return _two_hop(gateway, sat, handset, t_s, carriers.feeder_uplink_hz, carriers.service_dl_hz, e)


def relay_ul(handset: Ephemeris, sat: Ephemeris, gateway: Ephemeris, t_s, carriers: Carriers,
             with_lo_error: bool = True) -> RelayTrack:
    """UL two-hop track for handset send times t_s."""
    e = carriers.lo_error_ul_hz if with_lo_error else 0.0
    return _two_hop(handset, sat, gateway, t_s, carriers.service_ul_hz, carriers.feeder_downlink_hz, -e)
