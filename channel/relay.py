"""The BlueBird bent-pipe relay emulator: the truth between the gateway and the handsets (DESIGN.md 3, 4).

DL, for each handset h receiving at true time t (its sample m, its own clock, see below):
    service hop  tau_s(t)   (satellite -> h, receive-time light time, channel.hop)
    on board     t1 = t - tau_s(t): the satellite relays what it hears at t1
    feeder hop   tau_f(t1)  (gateway -> satellite)
    y_h(t) = a_h(t) x(t - tau_s - tau_f) exp(-j 2 pi [f_fu tau_f + f_sd tau_s + phi_lo(t1) + f_sd e_h (t - t_ref)])
             (+ NTN-TDL fading, + AWGN at the link budget's per-RE SNR)
with phi_lo(t1) = e_lo (t1 - t_ref) + drift (t1 - t_ref)^2 / 2 cycles the on-board LO's error (down-
conversion f_fu -> f_sd = f_fu - f_lo: an LO too high by e moves the relayed signal by -e).
UL, at gateway receive time t (the gateway's clock is the reference):
    feeder hop tau_f(t) (satellite -> gateway), t1 = t - tau_f, service hop tau_s,h(t1) (h -> satellite)
    y(t) = sum_h a_h(t1) x_h(t1 - tau_s,h) exp(-j 2 pi [f_fd tau_f + f_su tau_s,h - phi_lo_ul(t1)
                                                          - f_su e_h (t1 - tau_s,h - t_ref)]) + AWGN
Handset clocks: a crystal off by e_h = clock_ppm 1e-6 runs its sample clock at fs (1 + e_h) and its
carrier at f (1 + e_h); its sample m is at true time t_ref + (m - n_ref) / (fs (1 + e_h)), aligned with
the gateway's counter at the stream's first sample n_ref (t_ref = n_ref / fs).

Streaming: `downlink(block, n0)` takes the gateway's consecutive blocks (sample counter n0 at fs from the
ephemerides' epoch) and returns, per handset, the same number of samples on that handset's counter
n0 .. n0 + L - 1; `uplink({name: block}, n0)` the mirror. Every output sample is a function of its own
counter only (absolute knot grids, absolute gain grid, sequential noise draws), so any block partition
gives the same stream; gaps, overlaps and reads of not-yet-received input raise ValueError. Fractional
delays use the Farrow interpolator of dsp.farrow, designed over the band a pre-compensated input can
occupy (`interpolator_design`): it carries the feeder's Doppler (up to ~1.2 MHz at 46 GHz), which pushes
a 5 MHz cell's edge to ~0.42 fs at 7.68 Msps (24 taps, +-0.44 fs) and a 20 MHz cell's to 0.33 fs (12 taps).
The truth (delay, phase, gain) is evaluated every 16 samples on the absolute counter and linearly
interpolated per sample: the phase's curvature (<= ~1e4 Hz/s) leaves < 1e-8 cycle between grid points.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from dsp.farrow import FarrowKernel, interpolate_at
from orbit import C_M_S, Carriers, Ephemeris, Site
from phy.awgn import noise_variance

from .hop import HopTruth
from .link_budget import LinkBudget
from .ntn_tdl import NTN_TDL_PROFILES, NtnTdlChannel

__all__ = ["Handset", "RelayConfig", "RelayEmulator", "interpolator_design"]

_KERNELS: dict[tuple, tuple[FarrowKernel, np.ndarray]] = {}
_SUB = 16  # truth evaluated every _SUB samples (absolute grid), linear in between
# Farrow designs (taps, order, band in cycles/sample), mean error over the band: -60, -69, -70, -72, -57 dB
_DESIGNS = ((8, 5, 0.30), (12, 6, 0.34), (16, 8, 0.38), (20, 8, 0.40), (24, 8, 0.44))
_V_MAX_M_S = 7_900.0  # bound on a LEO satellite's speed (circular at 200 km: 7.79 km/s)


def interpolator_design(n_rb: int, sample_rate_hz: float, feeder_hz: float) -> tuple[int, int, float]:
    """The cheapest design whose band holds the cell's occupied half-band plus the largest Doppler a
    pre-compensated input can carry (the feeder's, bounded by v_max f / c), capped at 0.44 fs."""
    need = (6 * 15e3 * n_rb + feeder_hz * _V_MAX_M_S / C_M_S) / sample_rate_hz
    for design in _DESIGNS:
        if design[2] >= need:
            return design
    return _DESIGNS[-1]


def _wide_kernel(n_taps: int, order: int, band: float) -> tuple[FarrowKernel, np.ndarray]:
    """(kernel, tap table) of a Farrow design, computed once per process (an immutable cache)."""
    key = (n_taps, order, band)
    if key not in _KERNELS:
        k = FarrowKernel.design(n_taps, order, band, n_mu=48, n_freq=192)
        _KERNELS[key] = (k, k.table(4096))
    return _KERNELS[key]


@dataclass(frozen=True)
class Handset:
    """A handset at a WGS84 site with its crystal's offset (ppm on carrier and sample clock) and speed
    (m/s, the NTN-TDL fading's maximum Doppler v f / c)."""

    name: str
    site: Site
    clock_ppm: float = 0.0
    speed_m_s: float = 0.0

    def __post_init__(self) -> None:
        if not -50.0 <= self.clock_ppm <= 50.0:
            raise ValueError(f"handset {self.name}: clock_ppm {self.clock_ppm} is outside +-50 ppm")
        if not 0.0 <= self.speed_m_s <= 350.0:
            raise ValueError(f"handset {self.name}: speed_m_s {self.speed_m_s} must be 0 .. 350 m/s")


@dataclass(frozen=True)
class RelayConfig:
    """The relay and the world around it. Link budget defaults: see channel.link_budget.LinkBudget.

    lo_drift_*_hz_s: on-board LO drift (the LO error itself is the Carriers' lo_error_*_hz; an OCXO
    drifts ~1e-10/s, i.e. ~5 Hz/s at a 46 GHz LO chain: default 0). fading: "none" or NTN-TDL-A..D
    (TR 38.811 6.9.2) with delay_spread_s scaling its normalised delays (default 100 ns, the "nominal"
    delay spread of TR 38.901 Table 7.7.3-1). noise_ref_db: output scaling; the noise has the variance
    of a per-RE SNR of noise_ref_db against a unit resource element, so a handset at that SNR receives
    unit-RMS RE's.
    """

    budget: LinkBudget = field(default_factory=LinkBudget)
    lo_drift_dl_hz_s: float = 0.0
    lo_drift_ul_hz_s: float = 0.0
    fading: str = "none"
    delay_spread_s: float = 100e-9
    awgn: bool = True
    noise_ref_db: float = 20.0
    knot_step_s: float = 0.005
    gain_step_s: float = 0.01
    history_s: float = 0.03
    interpolator: tuple[int, int, float] | None = None  # (taps, order, band); None: interpolator_design()
    seed: int = 0

    def __post_init__(self) -> None:
        if self.fading != "none" and self.fading not in NTN_TDL_PROFILES:
            raise ValueError(f"fading must be 'none' or one of {sorted(NTN_TDL_PROFILES)}, got {self.fading!r}")
        if not 0.005 <= self.history_s <= 1.0:
            raise ValueError(f"history_s must be 0.005 .. 1 s (longer than the largest two-hop delay), "
                             f"got {self.history_s}")
        if not 1e-4 <= self.gain_step_s <= 1.0:
            raise ValueError(f"gain_step_s must be 1e-4 .. 1 s, got {self.gain_step_s}")


class _History:
    """Input samples of one stream by absolute counter, in a linear buffer rewound when full; samples
    before the stream's first counter read as zeros (nothing was sent yet)."""

    def __init__(self, keep: int, name: str):
        self.keep, self.name = keep, name
        self.buf = np.zeros(0, dtype=np.complex64)
        self.base = 0  # counter of buf[0]
        self.end = None  # counter after the last sample written

    def append(self, block: np.ndarray, n0: int) -> None:
        if self.end is not None and n0 != self.end:
            raise ValueError(f"{self.name}: block starts at n0={n0} but the stream continues at {self.end}: "
                             "gap or overlap")
        if self.buf.size == 0:
            self.buf = np.zeros(4 * self.keep + 4 * block.size + 1024, dtype=np.complex64)
            self.base = n0 - self.keep
        pos = n0 - self.base
        if pos + block.size > self.buf.size:
            if block.size + self.keep > self.buf.size // 2:
                self.buf = np.concatenate([self.buf, np.zeros(2 * block.size, dtype=np.complex64)])
            self.buf[:self.keep] = self.buf[pos - self.keep:pos]
            self.base, pos = n0 - self.keep, self.keep
        self.buf[pos:pos + block.size] = block
        self.end = n0 + block.size

    def read(self, origin: int, offset: np.ndarray, kernel: FarrowKernel, table: np.ndarray) -> np.ndarray:
        """Samples at counters origin + offset (offset float64, small: full precision), Farrow-interpolated."""
        before, after = kernel.reach
        local = offset + float(origin - self.base)  # buffer positions
        lo, hi = float(local.min()), float(local.max())
        if self.base + hi + after + 1 > self.end:
            raise ValueError(f"{self.name}: output needs input up to sample {self.base + hi + after + 1:.0f} but "
                             f"only {self.end} arrived: the two-hop delay is shorter than the block latency")
        if lo - before < 0:
            raise ValueError(f"{self.name}: output needs input from sample {self.base + lo - before:.0f}, already "
                             f"dropped (history starts at {self.base}); raise RelayConfig.history_s")
        return interpolate_at(self.buf[:self.end - self.base], local, kernel, table)


class _Leg:
    """One handset's state for one direction: fading channel, noise generator, priming flag."""

    def __init__(self, fading: NtnTdlChannel | None, rng: np.random.Generator):
        self.fading, self.rng, self.primed = fading, rng, False


class RelayEmulator:
    """Gateway <-> satellite <-> handsets, both directions, streaming (see the module docstring).

    sat: the satellite's ephemeris (orbit.SatelliteEphemeris, time 0 = the streams' sample 0);
    gateway, beam: sites; carriers: the true carriers and LO errors (orbit.Carriers); handsets;
    n_rb: the cell's bandwidth (per-RE SNR convention of phy.awgn); sample_rate_hz.
    """

    def __init__(self, sat: Ephemeris, gateway: Site, beam: Site, carriers: Carriers, handsets: list[Handset],
                 n_rb: int, sample_rate_hz: float, config: RelayConfig | None = None):
        if not handsets:
            raise ValueError("the relay needs at least one handset")
        names = [h.name for h in handsets]
        if len(set(names)) != len(names):
            raise ValueError(f"handset names must be unique, got {names}")
        self.cfg = config or RelayConfig()
        self.sat, self.gateway, self.beam, self.carriers = sat, gateway, beam, carriers
        self.handsets = {h.name: h for h in handsets}
        self.n_rb, self.fs = int(n_rb), float(sample_rate_hz)
        step = self.cfg.knot_step_s
        self._feeder_dl = HopTruth(gateway, sat, step)
        self._feeder_ul = HopTruth(sat, gateway, step)
        self._service_dl = {h.name: HopTruth(sat, h.site, step) for h in handsets}
        self._service_ul = {h.name: HopTruth(h.site, sat, step) for h in handsets}
        feeder_hz = max(carriers.feeder_uplink_hz, carriers.feeder_downlink_hz)
        design = self.cfg.interpolator or interpolator_design(self.n_rb, self.fs, feeder_hz)
        self._kernel, self._table = _wide_kernel(*design)
        keep = int(np.ceil(self.cfg.history_s * self.fs)) + design[0]
        self._dl_in = _History(keep, "relay DL input")
        self._ul_in = {name: _History(keep, f"relay UL input of {name}") for name in self.handsets}
        self._noise_var = noise_variance(self.cfg.noise_ref_db, self.n_rb, self.fs)
        self._dl_legs = {name: self._leg(i, 0, carriers.service_dl_hz) for i, name in enumerate(self.handsets)}
        self._ul_legs = {name: self._leg(i, 1, carriers.service_ul_hz) for i, name in enumerate(self.handsets)}
        self._ul_rng = np.random.default_rng([self.cfg.seed, 2])
        self._gain_cache: dict[tuple[str, str], dict[int, float]] = {}  # link budget on the absolute grid
        self.n_ref: int | None = None  # gateway counter where the handset clocks were aligned
        self.counters = {"dl_in": 0, "ul_out": 0, **{f"dl_out_{n}": 0 for n in names},
                         **{f"ul_in_{n}": 0 for n in names}}

    def _leg(self, index: int, direction: int, carrier_hz: float) -> _Leg:
        h = list(self.handsets.values())[index]
        fading = None
        if self.cfg.fading != "none":
            fading = NtnTdlChannel(
                self.cfg.fading, delay_spread_s=self.cfg.delay_spread_s,
                max_doppler_hz=NtnTdlChannel.doppler_from_speed(h.speed_m_s, carrier_hz),
                sample_rate_hz=self.fs, seed=self.cfg.seed * 1000 + 2 * index + direction,
            )
        return _Leg(fading, np.random.default_rng([self.cfg.seed, direction, index]))

    # -- the truth, at any instants ------------------------------------------------------------------
    def _align(self, n0: int) -> None:
        if self.n_ref is None:
            self.n_ref = int(n0)

    def _lo_cycles(self, t1: np.ndarray, e_hz: float, drift_hz_s: float) -> np.ndarray:
        dt = t1 - self.n_ref / self.fs
        return e_hz * dt + 0.5 * drift_hz_s * dt * dt

    def dl_truth(self, name: str, m: np.ndarray):
        """DL at handset `name`'s sample counters m: (t_s true receive time, delay_s, phase_cycles, input
        position in gateway samples relative to n_ref); y = x(n_ref + offset) exp(-j 2 pi phase)."""
        self._align(int(np.min(m)))
        h, c = self.handsets[name], self.carriers
        e = h.clock_ppm * 1e-6
        dt = (np.asarray(m, dtype=np.float64) - self.n_ref) / (self.fs * (1.0 + e))  # since t_ref, own clock
        t = self.n_ref / self.fs + dt
        tau_s, _ = self._service_dl[name].evaluate(t)
        t1 = t - tau_s
        tau_f, _ = self._feeder_dl.evaluate(t1)
        delay = tau_s + tau_f
        phase = (c.feeder_uplink_hz * tau_f + c.service_dl_hz * tau_s
                 + self._lo_cycles(t1, c.lo_error_dl_hz, self.cfg.lo_drift_dl_hz_s) + c.service_dl_hz * e * dt)
        return t, delay, phase, (dt - delay) * self.fs

    def ul_truth(self, name: str, n: np.ndarray):
        """UL from handset `name` at gateway counters n: (t1 on-board times, delay_s, phase_cycles, input
        position in the handset's samples relative to n_ref); y += x_h(n_ref + offset) exp(-j 2 pi phase)."""
        self._align(int(np.min(n)))
        h, c = self.handsets[name], self.carriers
        e = h.clock_ppm * 1e-6
        dt = (np.asarray(n, dtype=np.float64) - self.n_ref) / self.fs
        t = self.n_ref / self.fs + dt
        tau_f, _ = self._feeder_ul.evaluate(t)
        t1 = t - tau_f
        tau_s, _ = self._service_ul[name].evaluate(t1)
        delay = tau_f + tau_s
        dt_tx = dt - delay  # the handset's send time since t_ref
        phase = (c.feeder_downlink_hz * tau_f + c.service_ul_hz * tau_s
                 - self._lo_cycles(t1, c.lo_error_ul_hz, self.cfg.lo_drift_ul_hz_s) - c.service_ul_hz * e * dt_tx)
        return t1, delay, phase, dt_tx * self.fs * (1.0 + e)

    def off_axis_deg(self, site: Site, t_s: np.ndarray) -> np.ndarray:
        """Angle at the satellite between the beam centre and `site` (deg) at times t_s."""
        pos = self.sat.state_itrf(np.atleast_1d(np.asarray(t_s, dtype=np.float64)))[0]
        a = self.beam.ecef_m - pos
        b = site.ecef_m - pos
        cosang = np.einsum("ij,ij->i", a, b) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
        return np.degrees(np.arccos(np.clip(cosang, -1.0, 1.0)))

    def snr_db(self, name: str, t_s, direction: str = "dl") -> np.ndarray:
        """Link-budget per-RE SNR (dB) of handset `name` at its receive time (DL) or on-board time (UL)."""
        t = np.atleast_1d(np.asarray(t_s, dtype=np.float64))
        site = self.handsets[name].site
        if direction == "dl":
            tau, _ = self._service_dl[name].evaluate(t)
            return self.cfg.budget.dl_snr_db(tau * C_M_S, self.off_axis_deg(site, t - tau),
                                             self.carriers.service_dl_hz)
        if direction == "ul":
            tau, _ = self._service_ul[name].evaluate(t)
            return self.cfg.budget.ul_snr_db(tau * C_M_S, self.off_axis_deg(site, t), self.carriers.service_ul_hz,
                                             self.n_rb)
        raise ValueError(f"direction must be 'dl' or 'ul', got {direction!r}")

    def _amplitude(self, name: str, t: np.ndarray, direction: str) -> np.ndarray:
        """Linear amplitude sqrt(SNR / noise_ref) at times t: the budget on the absolute grid k gain_step_s,
        linear in dB between (the same values whatever the blocks)."""
        g = self.cfg.gain_step_s
        k = np.arange(np.floor(t.min() / g), np.floor(t.max() / g) + 2).astype(np.int64)
        cache = self._gain_cache.setdefault((name, direction), {})
        missing = [kk for kk in k.tolist() if kk not in cache]
        if missing:
            if len(cache) > 4096:
                cache.clear()
            cache.update(zip(missing, self.snr_db(name, np.array(missing) * g, direction).tolist(), strict=True))
        snr = np.array([cache[kk] for kk in k.tolist()])
        return 10.0 ** ((np.interp(t, k * g, snr) - self.cfg.noise_ref_db) / 20.0)

    def _on_subgrid(self, truth, name: str, a: int, size: int, direction: str):
        """(rotation (size,) complex64 incl. the link-budget amplitude, input offsets (size,) float64) for
        counters a .. a + size - 1: the truth on the absolute sub-grid of every _SUB-th counter, linear in
        between (phase curvature <= ~1e4 Hz/s: < 1e-8 cycle over _SUB samples; delay error < 1e-18 s)."""
        j0, j1 = a // _SUB, (a + size - 1) // _SUB + 1
        g = np.arange(j0, j1 + 1, dtype=np.int64) * _SUB
        t, _, phase, off = truth(name, g)
        amp = self._amplitude(name, t, direction)
        frac = np.arange(_SUB) / _SUB  # sub-chunks of _SUB samples along axis 1, then sliced to the block
        lo = a - g[0]

        def lerp(v):
            return (v[:-1, None] + (v[1:] - v[:-1])[:, None] * frac).reshape(-1)[lo:lo + size]

        ph = lerp(phase - phase[0])  # small numbers: full precision in the interpolation
        ph += phase[0] - np.floor(phase[0])
        ang = (-2.0 * np.pi * (ph - np.floor(ph))).astype(np.float32)
        amp_s = lerp(amp).astype(np.float32)
        rot = np.empty(size, dtype=np.complex64)
        np.multiply(np.cos(ang), amp_s, out=rot.real)
        np.multiply(np.sin(ang), amp_s, out=rot.imag)
        return rot, lerp(off)

    # -- streaming -----------------------------------------------------------------------------------
    def _noise(self, rng: np.random.Generator, size: int) -> np.ndarray:
        # interleaved re/im from one sequential draw: the same samples whatever the block sizes
        w = rng.standard_normal(2 * size, dtype=np.float32)
        w *= np.float32(np.sqrt(self._noise_var / 2.0))
        return w.view(np.complex64)

    def _through(self, leg: _Leg, produce, n0: int, size: int) -> np.ndarray:
        """Fading (when configured) with its fixed interpolator latency absorbed: the delay stage
        produces samples `lat` ahead, the first call primes the fading's history."""
        if leg.fading is None:
            return produce(n0, size)
        lat = leg.fading.latency_samples
        if not leg.primed:
            leg.fading.apply(produce(n0, lat))
            leg.primed = True
        return leg.fading.apply(produce(n0 + lat, size))

    def downlink(self, block: np.ndarray, n0: int) -> dict[str, np.ndarray]:
        """Gateway block (L,) complex64 at counter n0 -> {handset: (L,) complex64 on its own counter n0..}."""
        block = np.asarray(block)
        if block.ndim != 1:
            raise ValueError(f"downlink takes a 1-D sample block, got shape {block.shape}")
        self._align(n0)
        self._dl_in.append(block.astype(np.complex64, copy=False), n0)
        self.counters["dl_in"] += block.size
        out = {}
        for name, leg in self._dl_legs.items():
            def produce(a, size, name=name):
                rot, off = self._on_subgrid(self.dl_truth, name, a, size, "dl")
                return self._dl_in.read(self.n_ref, off, self._kernel, self._table) * rot

            y = self._through(leg, produce, n0, block.size)
            if self.cfg.awgn:
                y = y + self._noise(leg.rng, block.size)
            out[name] = y.astype(np.complex64, copy=False)
            self.counters[f"dl_out_{name}"] += block.size
        return out

    def uplink(self, blocks: dict[str, np.ndarray], n0: int) -> np.ndarray:
        """{handset: (L,) complex64 on its own counter n0..} -> the gateway's (L,) complex64 at counter n0:
        the sum over every handset (all must be given, same length) plus the satellite receiver's noise."""
        if set(blocks) != set(self.handsets):
            raise ValueError(f"uplink needs one block per handset {sorted(self.handsets)}, got {sorted(blocks)}")
        sizes = {np.asarray(b).size for b in blocks.values()}
        if len(sizes) != 1:
            raise ValueError(f"uplink blocks must have one length, got {sorted(sizes)}")
        size = sizes.pop()
        self._align(n0)
        out = np.zeros(size, dtype=np.complex64)
        for name, x in blocks.items():
            hist = self._ul_in[name]
            hist.append(np.asarray(x, dtype=np.complex64).reshape(-1), n0)
            self.counters[f"ul_in_{name}"] += size

            def produce(a, n, name=name, hist=hist):
                rot, off = self._on_subgrid(self.ul_truth, name, a, n, "ul")
                return hist.read(self.n_ref, off, self._kernel, self._table) * rot

            out += self._through(self._ul_legs[name], produce, n0, size)
        if self.cfg.awgn:
            out += self._noise(self._ul_rng, size)
        self.counters["ul_out"] += size
        return out
