"""One propagation hop of the truth: receive-time light time on a fine grid, cubic Hermite between knots.

DESIGN.md 3, receive-time convention: the signal received at t left the transmitter at t - tau(t),
    y(t) = a x(t - tau(t)) exp(-j 2 pi f_c tau(t)).
The light time is solved here, independently of the gateway's prediction (orbit.relay, indexed by send
time): in the inertial frame whose axes coincide with ECEF at the receive instant t, the transmitter's
ECEF state at t - tau is rotated by the Earth's turn omega tau and
    c tau = |R3(-omega tau) r_tx(t - tau) - r_rx(t)|
is iterated from tau = 0 (each round contracts the error by |v|/c ~ 3e-5; 5 rounds leave < 1e-20 s).
Only the ephemerides (orbit's SGP4 -> ITRF and WGS84 sites) are shared with the gateway.

Knots sit on a fixed absolute grid t_k = k h (default h = 5 ms), computed lazily in segments of 256,
with the analytic dtau/dt = u.(V_tx - V_rx) / (c + u.V_tx) (V inertial velocities, u the unit vector
receiver -> transmitter, from differentiating c tau = |r_tx(t - tau) - r_rx(t)|). Between knots a
cubic Hermite: error ~ h^4 / 384 max|tau''''| (~1e-19 s at h = 5 ms for a LEO hop; the tests measure
< 1e-12 s against the direct solution).
"""

from __future__ import annotations

import numpy as np

from orbit import C_M_S, OMEGA_EARTH_RAD_S, Ephemeris

__all__ = ["HopTruth", "light_time_rx"]


def _inertial(eph: Ephemeris, t_s: np.ndarray, frame_t_s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """ECEF state at t_s expressed in the inertial frame aligned with ECEF at frame_t_s: position and
    inertial velocity (v + omega x r), both rotated by R3(-omega (frame_t - t)) about the pole."""
    pos, vel = eph.state_itrf(t_s)
    v_in = vel.copy()
    v_in[:, 0] -= OMEGA_EARTH_RAD_S * pos[:, 1]
    v_in[:, 1] += OMEGA_EARTH_RAD_S * pos[:, 0]
    ang = OMEGA_EARTH_RAD_S * (frame_t_s - t_s)  # the Earth turned by this much since t_s
    c, s = np.cos(ang)[:, None], np.sin(ang)[:, None]

    def rot(v):  # an Earth-fixed vector at t_s, seen in axes that turned by +ang: rotate by -ang
        return np.stack([c[:, 0] * v[:, 0] + s[:, 0] * v[:, 1], c[:, 0] * v[:, 1] - s[:, 0] * v[:, 0], v[:, 2]],
                        axis=1)

    return rot(pos), rot(v_in)


def light_time_rx(tx: Ephemeris, rx: Ephemeris, t_rx_s, n_iter: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """(tau_s, dtau_dt) (N,) float64 of a hop received at t_rx_s (s from the ephemerides' epoch)."""
    t = np.atleast_1d(np.asarray(t_rx_s, dtype=np.float64))
    r_rx, v_rx = _inertial(rx, t, t)
    tau = np.zeros_like(t)
    for _ in range(n_iter):
        r_tx, v_tx = _inertial(tx, t - tau, t)
        tau = np.linalg.norm(r_tx - r_rx, axis=1) / C_M_S
    r_tx, v_tx = _inertial(tx, t - tau, t)
    d = r_tx - r_rx
    u = d / np.linalg.norm(d, axis=1)[:, None]
    rate = np.einsum("ij,ij->i", u, v_tx - v_rx) / (C_M_S + np.einsum("ij,ij->i", u, v_tx))
    return tau, rate


class HopTruth:
    """tau(t), dtau/dt(t) of one hop (receive-time indexed) by cubic Hermite on knots k * step_s."""

    _SEG = 256

    def __init__(self, tx: Ephemeris, rx: Ephemeris, step_s: float = 0.005):
        if not 1e-4 <= step_s <= 0.1:
            raise ValueError(f"step_s must be 1e-4 .. 0.1 s (a 1-10 ms grid is the design), got {step_s}")
        self.tx, self.rx, self.step_s = tx, rx, float(step_s)
        self._segments: dict[int, np.ndarray] = {}

    def _seg(self, s: int) -> np.ndarray:
        arr = self._segments.get(s)
        if arr is None:
            k = np.arange(s * self._SEG, (s + 1) * self._SEG + 1, dtype=np.int64)  # one overlap knot
            arr = np.stack(light_time_rx(self.tx, self.rx, k * self.step_s))  # (2, SEG + 1)
            if len(self._segments) > 32:
                self._segments.pop(next(iter(self._segments)))
            self._segments[s] = arr
        return arr

    def evaluate(self, t_s) -> tuple[np.ndarray, np.ndarray]:
        """(tau_s, dtau_dt) at receive times t_s (float64 s from the epoch), any shape -> same shape."""
        t = np.asarray(t_s, dtype=np.float64)
        flat = t.reshape(-1)
        k = np.floor(flat / self.step_s).astype(np.int64)
        u = flat / self.step_s - k
        seg = np.floor_divide(k, self._SEG)
        s_lo, s_hi = int(seg.min()), int(seg.max())
        if s_lo == s_hi:  # a streaming block: one segment of knots
            arr = self._seg(s_lo)
            i = k - s_lo * self._SEG
            y0, m0, y1, m1 = arr[0, i], arr[1, i], arr[0, i + 1], arr[1, i + 1]
        else:
            y0, m0, y1, m1 = (np.empty(flat.size) for _ in range(4))
            for s in np.unique(seg):
                sel = seg == s
                arr = self._seg(int(s))
                i = k[sel] - s * self._SEG
                y0[sel], m0[sel], y1[sel], m1[sel] = arr[0, i], arr[1, i], arr[0, i + 1], arr[1, i + 1]
        h = self.step_s
        m0 = m0 * h
        m1 = m1 * h
        c2 = 3 * (y1 - y0) - 2 * m0 - m1
        c3 = 2 * (y0 - y1) + m0 + m1
        tau = ((c3 * u + c2) * u + m0) * u + y0
        rate = ((3 * c3 * u + 2 * c2) * u + m0) / h
        return tau.reshape(t.shape), rate.reshape(t.shape)
