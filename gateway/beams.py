"""Many beams (issue 13): N cells, each with its own PCI, carrier, PLMN, beam centre and pre-compensation
track, each streamed to its own radio endpoint by supervised worker processes.

    plan = beam_plan(cfg, 3, spacing_m=40e3, reuse=3)        # Beam per cell: its own profile (Config)
    sup = BeamSupervisor(plan, n_subframes=1000, workers=2)   # backend "local" (multiprocessing) or "ray"
    report = sup.run()                                        # {beam: BeamReport(subframes, restarts ...)}

Layout: beam 0 is the profile's beam centre (orbit.beam_lat/lon_deg); beams 1.. sit on the hexagonal
rings around it, `spacing_m` between neighbouring centres (ring r has 6 r beams, starting east and
turning counter-clockwise). Beam i has PCI (pci + i) mod 504, E-UTRAN cell identity cell_identity + i,
carrier earfcn_dl + (i mod reuse) x (the channel bandwidth in 100 kHz steps), the i-th of `plmns`
(default: the profile's PLMN), and radio endpoint i: the profile's zmq tx_address with port + i (ipc:
path + ".i") and stream_id + i. All beams share one time line: the stream's sample 0 is the AOS of the
profile's pass at its beam centre; each beam is pre-compensated towards its own centre with its own
target delay D_i (gateway.prediction, gateway.precomp).

Data plane (ZeroMQ): a worker runs its beams' eNodeBs and pre-compensators and pushes each beam's
subframes (one IQ frame per subframe, radio_drivers.iqframe) to a per-beam socket of the supervisor
(ipc:// on one machine, tcp:// from a Ray cluster); the supervisor forwards every frame to the beam's
radio on the stream's sample counter. The supervisor is the one place that knows, per beam, the first
subframe the radio has not received: a worker that dies (killed, out of memory) loses only frames that
never reached the supervisor, and its restarted successor resumes each of its beams exactly there. To
give the same samples as an uninterrupted stream, a resumed beam regenerates ceil(D ms) + 1 subframes
before that point (the pre-compensator reads up to D of past input) and drops them; the eNodeB's
scheduler is fast-forwarded (ENodeB.fast_forward). Workers are independent: a restart stalls nothing
but its own beams, which catch up from the worker's lead (the frames queued ahead).

Backends: "local" forks worker processes here (default: as many as cores, at most one per beam; beam i
on worker i mod W); "ray" runs each worker as a Ray actor on an existing cluster (ray.init(address=...);
`pip install -e .[cluster]` on every node), which Ray restarts when its process dies (max_restarts);
the supervisor then re-issues its run at the beams' resume points.
"""

from __future__ import annotations

import contextlib
import logging
import math
import multiprocessing
import os
import re
import signal
import tempfile
import time
import traceback
from dataclasses import dataclass, field, replace

import numpy as np

from gateway.config import Config, ConfigError
from phy.numerology import numerology

__all__ = ["Beam", "BeamJob", "BeamReport", "BeamSupervisor", "beam_plan", "beam_stream", "hex_offsets_m",
           "plan_jobs", "resume_subframes"]

AHEAD_FRAMES = 8  # subframes a worker may run ahead per beam (ZeroMQ high-water mark per socket)
WORKER_TIMEOUT_S = 30.0  # no frame of a beam for this long: its worker is stuck
POLL_S = 0.1  # supervisor's receive slice between liveness checks
MAX_RESTARTS = 3  # per worker (killed without an exception)
N_PCI = 504  # TS 36.211 6.11: N_ID_cell = 3 N_ID_1 + N_ID_2 in 0..503
log = logging.getLogger("soragate.beams")


# -- the plan ----------------------------------------------------------------------------------------
def hex_offsets_m(n_beams: int, spacing_m: float) -> np.ndarray:
    """(n_beams, 2) east, north offsets (m) of the beam centres: 0 at the centre, then hexagonal rings
    (ring r holds 6 r centres, `spacing_m` between neighbours), starting east, counter-clockwise."""
    # axial hex coordinates, ring by ring: corner 0 then walking the six sides
    axial = [(0, 0)]
    sides = [(-1, 1), (-1, 0), (0, -1), (1, -1), (1, 0), (0, 1)]
    r = 0
    while len(axial) < n_beams:
        r += 1
        q, s = r, 0
        for dq, ds in sides:
            for _ in range(r):
                axial.append((q, s))
                q, s = q + dq, s + ds
    a = np.array(axial[:n_beams], dtype=np.float64)
    east = spacing_m * (a[:, 0] + 0.5 * a[:, 1])
    north = spacing_m * (np.sqrt(3.0) / 2.0) * a[:, 1]
    return np.stack([east, north], axis=1)


@dataclass(frozen=True)
class Beam:
    """One cell of the satellite: its index, its own profile `cfg` (cell, system_info, orbit beam centre,
    radio endpoint) and its centre's offset from the profile's (east_m, north_m)."""

    index: int
    cfg: Config
    east_m: float = 0.0
    north_m: float = 0.0

    def describe(self) -> str:
        c, o = self.cfg.cell, self.cfg.orbit
        return (f"beam {self.index}: PCI {c.pci}, EARFCN {c.earfcn_dl} ({c.dl_frequency_hz / 1e6:.1f} MHz), "
                f"PLMN {self.cfg.system_info.plmn}, centre {o.beam_lat_deg:.4f} N {o.beam_lon_deg:.4f} E "
                f"({self.east_m / 1e3:+.1f} km E, {self.north_m / 1e3:+.1f} km N), radio {_endpoint(self.cfg)}")


def _endpoint(cfg: Config) -> str:
    return cfg.radio.zmq.tx_address if cfg.radio.driver == "zmq" else cfg.radio.driver


def _beam_address(address: str, index: int, key: str) -> str:
    """Endpoint `index` of a profile's zmq address: tcp port + index, ipc path + '.index'."""
    if index == 0:
        return address
    m = re.fullmatch(r"([@>]?tcp://.*:)(\d+)", address)
    if m:
        port = int(m.group(2))
        if port == 0:
            raise ConfigError(f"{key}: port 0 (any) cannot be numbered per beam; give a base port, e.g. :5555")
        if port + index > 65535:
            raise ConfigError(f"{key}: port {port} + beam {index} exceeds 65535; use a lower base port")
        return f"{m.group(1)}{port + index}"
    m = re.fullmatch(r"([@>]?ipc://.+)", address)
    if m:
        return f"{address}.{index}"
    raise ConfigError(f"{key}: {address!r}: per-beam endpoints need a tcp://host:port or ipc:// address")


def beam_plan(cfg: Config, n_beams: int, spacing_m: float = 40e3, reuse: int | None = None,
              plmns: list[str] | tuple[str, ...] | None = None) -> list[Beam]:
    """N beams derived from profile `cfg` (module docstring); ConfigError names the option to change.

    reuse: carriers cycled over the beams (default min(N, 3)); plmns: one "MCC-MNC" per beam (or one for
    all; default the profile's system_info.plmn)."""
    from gateway.config.system_info import parse_plmn
    from orbit.geometry import Site, offset_site

    if n_beams < 1:
        raise ConfigError(f"--beams: {n_beams}: give at least 1 beam")
    if n_beams > N_PCI:
        raise ConfigError(f"--beams: {n_beams} beams need more than the {N_PCI} physical cell identities")
    if not spacing_m > 0 and n_beams > 1:
        raise ConfigError(f"--beam-spacing-km: {spacing_m / 1e3:g}: give a spacing > 0")
    reuse = min(n_beams, 3) if reuse is None else reuse
    if not 1 <= reuse <= n_beams:
        raise ConfigError(f"--beam-reuse: {reuse}: give 1 .. {n_beams} (the number of beams)")
    if plmns is not None and len(plmns) not in (1, n_beams):
        raise ConfigError(f"--beam-plmns: {len(plmns)} PLMNs for {n_beams} beams; give one per beam, or one for all")
    if cfg.radio.driver != "zmq" or not cfg.radio.zmq.tx_address:
        raise ConfigError(f"radio.driver: {cfg.radio.driver!r}: --beams streams each beam to its own endpoint; use "
                          "driver zmq with a tx_address (beam i on port + i)")
    step_earfcn = round(cfg.cell.bandwidth_hz / 100e3)  # adjacent carriers, channel raster 100 kHz
    centre = Site("beam centre", cfg.orbit.beam_lat_deg, cfg.orbit.beam_lon_deg, cfg.orbit.beam_alt_m)
    beams = []
    for i, (east_m, north_m) in enumerate(hex_offsets_m(n_beams, spacing_m)):
        earfcn_dl = cfg.cell.earfcn_dl + (i % reuse) * step_earfcn
        cell = replace(cfg.cell, pci=(cfg.cell.pci + i) % N_PCI, earfcn_dl=earfcn_dl)
        try:
            cell.check(f"beam {i} cell")
        except ConfigError as exc:
            raise ConfigError(f"--beam-reuse: {reuse} carriers {step_earfcn} EARFCN apart from {cfg.cell.earfcn_dl} "
                              f"leave the band: {exc}; use a smaller --beam-reuse or move cell.earfcn_dl") from None
        si = cfg.system_info
        plmn = si.plmn if plmns is None else str(parse_plmn(plmns[i % len(plmns)], "--beam-plmns"))
        if plmn in si.partner_plmns:
            raise ConfigError(f"--beam-plmns: {plmn} is also a partner PLMN of the profile")
        si = replace(si, plmn=plmn, cell_identity=(si.cell_identity + i) % 2**28)
        distance_m = float(np.hypot(east_m, north_m))
        site = centre
        if distance_m > 0:
            site = offset_site(centre, distance_m, float(np.degrees(np.arctan2(east_m, north_m))))
        orbit = replace(cfg.orbit, beam_lat_deg=float(site.lat_deg), beam_lon_deg=float(site.lon_deg))
        z = cfg.radio.zmq
        zmq_section = replace(z, tx_address=_beam_address(z.tx_address, i, "radio.zmq.tx_address"),
                              stream_id=(z.stream_id + i) % 2**32)
        radio = replace(cfg.radio, zmq=zmq_section)
        beam_cfg = replace(cfg, cell=cell, system_info=si, orbit=orbit, radio=radio, name=f"{cfg.name}-beam{i}")
        beams.append(Beam(i, beam_cfg, float(east_m), float(north_m)))
    return beams


# -- one beam's stream in a worker ---------------------------------------------------------------------
@dataclass(frozen=True)
class BeamJob:
    """What a worker needs for one beam: the beam, the stream length, the common AOS offset n_aos
    (samples from the TLE epoch to the stream's sample 0) and the beam's target delay D (None: no
    pre-compensation)."""

    beam: Beam
    n_subframes: int
    n_aos: int = 0
    target_delay_s: float | None = None


def plan_jobs(plan: list[Beam], n_subframes: int) -> tuple[dict[int, BeamJob], float | None]:
    """Per beam its BeamJob: the common time line (the AOS of the profile's pass at beam 0, the profile's
    centre) and the beam's own target delay; checks every beam's Doppler fits its stream. Also the AOS
    (s after the TLE epoch), None without an orbit or pre-compensation."""
    first = plan[0].cfg
    fs = numerology(first.cell.n_rb_dl).sample_rate_hz
    if not first.orbit.enabled or first.link.precomp == "off":
        return {b.index: BeamJob(b, n_subframes) for b in plan}, None
    from gateway.cmd_transmit import check_doppler_fits, check_stream_fits_pass
    from gateway.prediction import PassPrediction

    p = PassPrediction.from_config(first).select_pass()
    check_stream_fits_pass(first, p, n_subframes / 1000)
    n_aos = round(p.aos_s * fs)
    jobs = {}
    for b in plan:
        sc = PassPrediction.from_config(b.cfg)
        check_doppler_fits(b.cfg, sc, p, fs)
        jobs[b.index] = BeamJob(b, n_subframes, n_aos, sc.target_delay_s(p, fs))
    return jobs, p.aos_s


def resume_subframes(target_delay_s: float | None) -> int:
    """Subframes to regenerate before a resume point so the pre-compensator's history is the same as in
    an uninterrupted stream: its DL output at n reads input back to n - D fs - 4 (gateway.precomp)."""
    return 0 if target_delay_s is None else math.ceil(target_delay_s * 1000.0) + 1


def beam_stream(job: BeamJob, k_first: int = 0):
    """Iterator of (n, x): subframe k's stream sample counter n = k N and its pre-compensated samples
    (N,) complex64, for k = k_first .. n_subframes - 1, the same samples as from k_first = 0."""
    from gateway.enodeb import ENodeB

    cfg = job.beam.cfg
    fs = numerology(cfg.cell.n_rb_dl).sample_rate_hz
    comp = None
    if job.target_delay_s is not None:
        from gateway.precomp import Compensator
        from gateway.prediction import PassPrediction

        track = PassPrediction.from_config(cfg).dl_track(fs)
        comp = Compensator(track, job.target_delay_s, cfg.link.precomp, direction="dl")
    k_warm = max(0, k_first - resume_subframes(job.target_delay_s))
    enb = ENodeB(cfg)
    enb.fast_forward(k_warm)
    for k in range(k_warm, job.n_subframes):
        n, x = enb.antenna_subframe(k)
        if comp is not None:
            x = comp.process(x, job.n_aos + n)
        if k >= k_first:
            yield n, x


def run_worker(jobs: list[BeamJob], k_first: list[int], addresses: list[str]) -> None:
    """A worker's body: its beams' streams interleaved subframe by subframe, each beam's frames pushed to
    its supervisor socket (blocks when AHEAD_FRAMES ahead). Exceptions propagate."""
    from radio_drivers import ZmqStreamRadio

    links = []
    try:
        streams = []
        for job, k0, address in zip(jobs, k_first, addresses, strict=True):
            c = job.beam.cfg.cell
            num = numerology(c.n_rb_dl)
            links.append(ZmqStreamRadio(num.sample_rate_hz, c.dl_frequency_hz, tx_address=">" + address,
                                        frame_samples=num.samples_per_subframe, timeout_s=WORKER_TIMEOUT_S,
                                        high_water_mark=AHEAD_FRAMES, stream_id=job.beam.index))
            streams.append(beam_stream(job, k0))
        active = list(range(len(streams)))
        while active:
            for i in list(active):
                item = next(streams[i], None)
                if item is None:
                    active.remove(i)
                    continue
                links[i].tx(item[1], timestamp=item[0])
    finally:
        for link in links:
            link.close()


def _local_worker(jobs, k_first, addresses, errors, worker: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C is the supervisor's to handle
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:
        run_worker(jobs, k_first, addresses)
    except Exception:  # noqa: BLE001 - everything is reported to the supervisor
        errors.put((worker, traceback.format_exc()))
        raise SystemExit(1) from None


# -- backends --------------------------------------------------------------------------------------------
class _LocalBackend:
    """Forked worker processes on this machine (gateway/pipeline.py's way: fork, ipc:// sockets)."""

    name = "local"

    def __init__(self):
        methods = multiprocessing.get_all_start_methods()
        self._ctx = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
        self._errors = self._ctx.Queue()
        self._procs: dict[int, multiprocessing.Process] = {}
        self._tmp = tempfile.mkdtemp(prefix="soragate-beams-")

    def bind_address(self, beam: int) -> tuple[str, str]:
        address = f"ipc://{self._tmp}/beam{beam}.ipc"
        return address, address

    def start(self, worker: int, jobs, k_first, addresses) -> None:
        proc = self._ctx.Process(target=_local_worker, args=(jobs, k_first, addresses, self._errors, worker),
                                 name=f"soragate-beams-{worker}", daemon=True)
        proc.start()
        self._procs[worker] = proc

    def pid(self, worker: int) -> int | None:
        proc = self._procs.get(worker)
        return None if proc is None else proc.pid

    def poll(self) -> dict[int, tuple[str, str]]:
        """{worker: (state, detail)} for workers that ended: 'done', 'died' (restartable) or 'failed'."""
        errors = {}
        with contextlib.suppress(Exception):
            while True:
                w, tb = self._errors.get_nowait()
                errors[w] = tb
        out = {}
        for w, proc in list(self._procs.items()):
            if proc.is_alive() and w not in errors:
                continue
            proc.join(timeout=1.0 if w in errors else 0.0)
            if w in errors:
                out[w] = ("failed", errors[w])
            elif proc.exitcode == 0:
                out[w] = ("done", "")
            elif proc.exitcode is not None:
                out[w] = ("died", f"exit code {proc.exitcode}")
            else:
                continue
            del self._procs[w]
        return out

    def close(self) -> None:
        for proc in self._procs.values():
            proc.join(timeout=2.0)
            if proc.is_alive():
                proc.terminate()
                proc.join(timeout=5.0)
        self._errors.close()
        for name in os.listdir(self._tmp):
            with contextlib.suppress(OSError):
                os.unlink(os.path.join(self._tmp, name))
        with contextlib.suppress(OSError):
            os.rmdir(self._tmp)


class _BeamWorkerActor:
    """The Ray actor: one worker (its beams); Ray restarts its process when it dies."""

    def pid(self) -> int:
        return os.getpid()

    def run(self, jobs, k_first, addresses) -> bool:
        run_worker(jobs, k_first, addresses)
        return True


class _RayBackend:
    """Workers as Ray actors on an existing cluster (ray.init(address) unless already initialised);
    tcp:// sockets on this host's cluster address."""

    name = "ray"

    def __init__(self, address: str | None = None, max_restarts: int = MAX_RESTARTS):
        try:
            import ray
        except ImportError:
            from gateway.cli_args import UserError

            raise UserError("--cluster ray needs Ray: pip install -e '.[cluster]' (or pip install ray)") from None
        self._ray = ray
        if not ray.is_initialized():
            try:
                ray.init(address=address or "auto", log_to_driver=False)
            except ConnectionError as exc:
                from gateway.cli_args import UserError

                raise UserError(f"--cluster ray: no Ray cluster at {address or 'auto'}: {exc} (start one with "
                                "`ray start --head`, or give --ray-address)") from None
        self._host = ray.util.get_node_ip_address()
        self._cls = ray.remote(num_cpus=1, max_restarts=max_restarts, max_task_retries=0)(_BeamWorkerActor)
        self._actors: dict[int, object] = {}
        self._runs: dict[int, object] = {}
        self._pids: dict[int, int] = {}

    def bind_address(self, beam: int) -> tuple[str, str]:
        return "tcp://0.0.0.0:0", ""  # the connect address follows from the bound port (set_bound)

    def connect_address(self, bound_endpoint: str) -> str:
        port = bound_endpoint.rsplit(":", 1)[1]
        return f"tcp://{self._host}:{port}"

    def start(self, worker: int, jobs, k_first, addresses) -> None:
        actor = self._actors.get(worker)
        if actor is None:
            actor = self._actors[worker] = self._cls.remote()
        self._pids[worker] = self._ray.get(actor.pid.remote())  # waits for a restarted actor too
        self._runs[worker] = actor.run.remote(jobs, k_first, addresses)

    def pid(self, worker: int) -> int | None:
        return self._pids.get(worker)

    def poll(self) -> dict[int, tuple[str, str]]:
        ray = self._ray
        refs = list(self._runs.values())
        if not refs:
            return {}
        ready, _ = ray.wait(refs, num_returns=len(refs), timeout=0)
        out = {}
        for w, ref in list(self._runs.items()):
            if ref not in ready:
                continue
            del self._runs[w]
            try:
                ray.get(ref)
                out[w] = ("done", "")
            except ray.exceptions.RayActorError as exc:
                out[w] = ("died", f"Ray actor died: {str(exc).splitlines()[0]}")
            except ray.exceptions.RayTaskError as exc:
                out[w] = ("failed", str(exc))
        return out

    def close(self) -> None:
        for actor in self._actors.values():
            with contextlib.suppress(Exception):
                self._ray.kill(actor, no_restart=True)


# -- the supervisor ---------------------------------------------------------------------------------------
@dataclass
class BeamReport:
    """Per beam: subframes and samples forwarded to its radio, its worker's restarts (with the subframe
    each resumed at), and the radio's counters."""

    beam: int
    subframes: int = 0
    samples: int = 0
    restarts: list[int] = field(default_factory=list)
    radio_counters: dict = field(default_factory=dict)


class BeamSupervisor:
    """Runs the beams of `plan` for `n_subframes` on `workers` workers (backend 'local' or 'ray') and
    forwards each beam's subframes to its radio; see the module docstring.

    radios: one open radio per beam (default: open_radio of each beam's profile). `run(on_tick)` calls
    on_tick(self) after each receive slice (progress display; tests kill a worker from it)."""

    def __init__(self, plan: list[Beam], n_subframes: int, workers: int | None = None, backend: str = "local",
                 ray_address: str | None = None, radios: list | None = None, max_restarts: int = MAX_RESTARTS):
        import zmq

        from radio_drivers import ZmqStreamRadio, open_radio

        self._links, self._connect, self._radios = {}, {}, {}
        self.backend = None
        if backend not in ("local", "ray"):
            raise ValueError(f"backend must be 'local' or 'ray', got {backend!r}")
        self.plan, self.n_subframes = plan, int(n_subframes)
        n_workers = min(len(plan), workers or os.cpu_count() or 1)
        self.assignment = [[b.index for b in plan if b.index % n_workers == w] for w in range(n_workers)]
        self.worker_of = {b: w for w, beams in enumerate(self.assignment) for b in beams}
        self.max_restarts = max_restarts
        self.jobs, self.aos_s = plan_jobs(plan, self.n_subframes)
        self.report = {b.index: BeamReport(b.index) for b in plan}
        self._restarts = [0] * n_workers
        self._done_workers: set[int] = set()
        self._spsf = {b.index: numerology(b.cfg.cell.n_rb_dl).samples_per_subframe for b in plan}
        self.backend = _LocalBackend() if backend == "local" else _RayBackend(ray_address, max_restarts)
        try:
            for b in plan:
                c = b.cfg.cell
                fs = numerology(c.n_rb_dl).sample_rate_hz
                bind, connect = self.backend.bind_address(b.index)
                link = ZmqStreamRadio(fs, c.dl_frequency_hz, rx_address="@" + bind, timeout_s=WORKER_TIMEOUT_S,
                                      high_water_mark=AHEAD_FRAMES)
                self._links[b.index] = link
                self._connect[b.index] = connect or self.backend.connect_address(
                    link._rx_sock.getsockopt_string(zmq.LAST_ENDPOINT))
            for b in plan:
                c = b.cfg.cell
                fs = numerology(c.n_rb_dl).sample_rate_hz
                self._radios[b.index] = (radios[b.index] if radios is not None else open_radio(
                    b.cfg.radio, sample_rate_hz=fs, center_frequency_hz=c.dl_frequency_hz))
        except BaseException:
            self.close()
            raise
        self._last_rx = {b.index: time.monotonic() for b in plan}

    def next_subframe(self, beam: int) -> int:
        """The first subframe of `beam` its radio has not received (where a restart resumes)."""
        return self.report[beam].subframes

    def worker_pid(self, beam: int) -> int | None:
        return self.backend.pid(self.worker_of[beam])

    def _start(self, w: int) -> None:
        beams = self.assignment[w]
        todo = [b for b in beams if self.next_subframe(b) < self.n_subframes]
        self.backend.start(w, [self.jobs[b] for b in todo], [self.next_subframe(b) for b in todo],
                           [self._connect[b] for b in todo])

    def _forward(self, beam: int) -> None:
        """Move every frame waiting on beam's link to its radio, checking the one sample clock."""
        link, radio, rep, spsf = self._links[beam], self._radios[beam], self.report[beam], self._spsf[beam]
        while link._rx_queue or link._rx_sock.poll(0):
            b = link.rx(spsf, timeout_s=0.0)
            n_due = rep.subframes * spsf
            if b.timestamp != n_due or len(b.samples) != spsf:
                raise RuntimeError(f"beam {beam}: {len(b.samples)} samples at n={b.timestamp} arrived where subframe "
                                   f"{rep.subframes} (n={n_due}) was due (a gap or a duplicate)")
            c = link.counters
            if c.dropped_frames or c.duplicate_frames or c.malformed_frames or c.sequence_gaps:
                raise RuntimeError(f"beam {beam}: the worker link lost frames: {c.as_dict()}")
            radio.tx(b.samples, timestamp=b.timestamp)
            rep.subframes += 1
            rep.samples += spsf
            self._last_rx[beam] = time.monotonic()

    def _supervise(self) -> None:
        for w, (state, detail) in self.backend.poll().items():
            beams = self.assignment[w]
            left = [b for b in beams if self.next_subframe(b) < self.n_subframes]
            if state == "failed":
                raise RuntimeError(f"beams worker {w} (beams {beams}) failed:\n{detail}")
            if state == "done":
                self._done_workers.add(w)
                continue
            if self._restarts[w] >= self.max_restarts:
                raise RuntimeError(f"beams worker {w} (beams {beams}) died ({detail}) after "
                                   f"{self._restarts[w]} restarts")
            if not left:
                self._done_workers.add(w)
                continue
            self._restarts[w] += 1
            for b in left:
                self.report[b].restarts.append(self.next_subframe(b))
                self._last_rx[b] = time.monotonic()
            log.warning("beams: worker %d (beams %s) died (%s); restart %d of %d resumes at subframes %s", w, beams,
                        detail, self._restarts[w], self.max_restarts, [self.next_subframe(b) for b in left])
            self._start(w)
        now = time.monotonic()
        for b, rep in self.report.items():
            if rep.subframes < self.n_subframes and now - self._last_rx[b] > WORKER_TIMEOUT_S:
                raise RuntimeError(f"beam {b}: no subframe {rep.subframes} for {WORKER_TIMEOUT_S:.0f} s "
                                   "(worker stalled)")

    def run(self, on_tick=None) -> dict[int, BeamReport]:
        """Stream every beam to its radio; returns the per-beam reports (radio counters included)."""
        import zmq

        poller = zmq.Poller()
        by_sock = {}
        for b, link in self._links.items():
            poller.register(link._rx_sock, zmq.POLLIN)
            by_sock[link._rx_sock] = b
        for w in range(len(self.assignment)):
            self._start(w)
        t_check = time.monotonic()
        while any(r.subframes < self.n_subframes for r in self.report.values()):
            for sock, _ in poller.poll(int(POLL_S * 1000)):
                self._forward(by_sock[sock])
            if time.monotonic() - t_check >= POLL_S:
                self._supervise()
                t_check = time.monotonic()
            if on_tick is not None:
                on_tick(self)
        for b, rep in self.report.items():
            rep.radio_counters = self._radios[b].counters.as_dict()
        return self.report

    def close(self) -> None:
        if self.backend is not None:
            self.backend.close()
        for link in self._links.values():
            link.close()
        for radio in self._radios.values():
            radio.close()


# -- `python -m gateway transmit --beams N` ------------------------------------------------------------------
def add_arguments(p) -> None:
    """The multi-beam options of `transmit` (gateway/cmd_transmit.py)."""
    from gateway.cli_args import positive_int

    def spacing_km(text: str) -> float:
        import argparse

        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not 0 < value <= 2000:
            raise argparse.ArgumentTypeError(f"{text!r}: give a beam spacing in km, 0 < spacing <= 2000")
        return value

    g = p.add_argument_group("many beams (docs/radio.md)")
    g.add_argument("--beams", type=positive_int, default=None,
                   help="stream N cells (own PCI, carrier, beam centre, pre-compensation, zmq endpoint port + i)")
    g.add_argument("--beam-spacing-km", type=spacing_km, default=40.0,
                   help="distance between neighbouring beam centres on the hexagonal layout (default 40 km)")
    g.add_argument("--beam-reuse", type=positive_int, default=None,
                   help="carriers cycled over the beams, one channel bandwidth apart (default min(N, 3))")
    g.add_argument("--beam-plmns", default=None,
                   help="comma-separated PLMNs \"MCC-MNC\", one per beam or one for all (default the profile's)")
    g.add_argument("--workers", type=positive_int, default=None,
                   help="worker processes (default: the machine's cores, at most one per beam)")
    g.add_argument("--cluster", choices=("local", "ray"), default="local",
                   help="local: forked workers here (default); ray: Ray actors on an existing cluster")
    g.add_argument("--ray-address", default=None, help="Ray cluster address (default: auto, RAY_ADDRESS)")


def transmit_beams(args, cfg: Config) -> int:
    """`transmit --beams N`: plan, print the beams, stream them supervised, print the per-beam result."""
    plmns = None if args.beam_plmns is None else [t.strip() for t in args.beam_plmns.split(",")]
    plan = beam_plan(cfg, args.beams or 1, args.beam_spacing_km * 1e3, args.beam_reuse, plmns)
    n_subframes = max(1, round(args.seconds * 1000))
    fs = numerology(cfg.cell.n_rb_dl).sample_rate_hz
    sup = BeamSupervisor(plan, n_subframes, workers=args.workers, backend=args.cluster, ray_address=args.ray_address)
    try:
        print(f"soragate transmit: profile '{cfg.name}', {len(plan)} beams, {fs / 1e6:.2f} Msps each, "
              f"{n_subframes} ms, "
              f"{len(sup.assignment)} {sup.backend.name} workers; pre-compensation "
              f"{'off' if sup.aos_s is None else cfg.link.precomp + ' (per beam centre)'}", flush=True)
        for b in plan:
            d = sup.jobs[b.index].target_delay_s
            print(f"  {b.describe()}" + ("" if d is None else f", D = {d * 1e3:.3f} ms"), flush=True)
        t0, cpu0 = time.perf_counter(), time.process_time()
        shown = [0]

        def progress(s: BeamSupervisor) -> None:
            done = min(r.subframes for r in s.report.values())
            if done // 1000 > shown[0]:
                shown[0] = done // 1000
                print(f"  {shown[0]} s sent on every beam ({done / 1000 / (time.perf_counter() - t0):.2f} x real "
                      "time)", flush=True)

        try:
            report = sup.run(progress)
        except KeyboardInterrupt:
            print("  stopped by the user", flush=True)
            report = sup.report
    finally:
        sup.close()
    wall_s, cpu_s = time.perf_counter() - t0, time.process_time() - cpu0
    worst = min(r.subframes for r in report.values())
    forwarded = sum(r.subframes for r in report.values())
    print(f"  sent {worst} ms on each of {len(plan)} beams in {wall_s:.2f} s "
          f"({worst / 1000 / wall_s:.2f} x real time per beam, start-up included); the supervisor used "
          f"{cpu_s:.2f} s of CPU ({cpu_s / max(1, forwarded) * 1e6:.0f} us per forwarded subframe)")
    for b, r in report.items():
        restarts = f", restarts resumed at subframes {r.restarts}" if r.restarts else ""
        print(f"  beam {b}: {r.subframes} subframes, {r.samples} samples{restarts}; radio {r.radio_counters}")
    return 0
