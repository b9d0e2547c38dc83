"""The pass demo's ZeroMQ topology (DESIGN.md 5): gateway process -> ZeroMQ -> relay process -> ZeroMQ -> handsets.

    gateway stage  (python -m gateway relay --stage gateway)   ENodeB -> Compensator, one IQ frame per subframe
        | PUSH/PULL, native IQ frames (radio_drivers.ZmqStreamRadio), ipc:// in a private temporary directory
    relay stage    (python -m gateway relay)                   channel.RelayEmulator, one stream per handset
        | PUSH/PULL, one socket per handset (stream id = its index)
    this process   (ZmqTopology: the source of gateway.pass_demo.track_pass)   the tracking phones, table, report

The three stages run at once (a pipeline: on a 2-core machine the gateway and relay stages share one core
while the phones decode the previous window on the other) on the one sample clock of the demo's DemoPlan:
window w is subframes k0(w) .. k0(w) + warm + n_keep - 1, each a frame whose timestamp is its gateway
counter (the handset's counter on the relay's outputs). Every stage takes exactly the samples the plan
says, checks each block's timestamp against the plan, and refuses (RadioError) a gap, an overlap or a
repeated sample; at the end the run checks the counters of every socket (samples and frames sent and
received, dropped, duplicate and out-of-order frames) and reports them. The relay stage is the same
code as the in-process chain (gateway.pass_demo.window_relay), the IQ is carried as cf32 (lossless), so
the handsets receive the in-process samples bit for bit (tests/test_pass_topology.py).

The stages get their parameters from a plan file this process writes (the DemoPlan, the handsets, the
relay settings; floats round-trip exactly through JSON) and the profile path. Flow control is ZeroMQ's:
a full queue blocks the sender (high-water mark = two windows of frames, so the relay can run a window
ahead of the phones). Time limits scale with the work: this process waits for each window at most
START_BUDGET_S (the first window: the stages' start-up) plus S_PER_SUBFRAME per subframe and handset,
polling the stage processes every radio.zmq.timeout_s of the profile, so a stage that dies is reported
at once with its exit status ("the relay process exited with status 1 ..."); the stages wait for their
peers as long as their parent lives (they get SIGTERM when it dies, gateway.__main__._die_with_parent).
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import zmq

from channel import Handset, LinkBudget, RelayConfig
from gateway.cli_args import UserError
from orbit import Site
from radio_drivers import FrameFlags, RadioError, RadioTimeout, ZmqStreamRadio

__all__ = ["S_PER_SUBFRAME", "START_BUDGET_S", "ZmqTopology", "gateway_stage", "load_plan", "relay_stage",
           "write_plan"]

# Budgets (scale with the work): at 25 PRB the relay takes ~1.3 ms of CPU per subframe and handset (~2.5 ms
# with NTN-TDL fading), the gateway ~2 ms per subframe (measured on the 2-core box); 0.1 s is ~25x the
# worst of them, room for a loaded machine and a 20 MHz cell. The first window also pays the stages'
# start-up (imports, numba cache, ephemerides: ~4 s idle, tens of seconds loaded).
S_PER_SUBFRAME = 0.1
START_BUDGET_S = 120.0


# -- the plan file ---------------------------------------------------------------------------------------

def write_plan(path: Path, config_path: str, plan, handsets: list[Handset], settings: RelayConfig) -> None:
    """Everything the stage processes need besides the profile (floats as JSON reprs: exact)."""
    doc = {
        "config": str(config_path),
        "plan": dataclasses.asdict(plan),
        "handsets": [dataclasses.asdict(h) for h in handsets],
        "relay": dataclasses.asdict(settings),
    }
    Path(path).write_text(json.dumps(doc, indent=1))


def load_plan(path: str | Path):
    """(config path, DemoPlan, handsets, RelayConfig) from a plan file written by write_plan."""
    from gateway.pass_demo import DemoPlan

    try:
        doc = json.loads(Path(path).read_text())
        p = doc["plan"]
        plan = DemoPlan(**{**p, "k0": tuple(p["k0"])})
        handsets = [Handset(**{**h, "site": Site(**h["site"])}) for h in doc["handsets"]]
        r = doc["relay"]
        interp = tuple(r["interpolator"]) if r.get("interpolator") is not None else None
        settings = RelayConfig(**{**r, "budget": LinkBudget(**r["budget"]), "interpolator": interp})
    except (KeyError, TypeError, ValueError) as exc:
        raise UserError(f"plan file {path}: not a pass-demo plan ({type(exc).__name__}: {exc})") from None
    return doc["config"], plan, handsets, settings


# -- helpers shared by the stages --------------------------------------------------------------------------

def _radio(cfg, plan, ctx, hwm: int, **kw) -> ZmqStreamRadio:
    return ZmqStreamRadio(plan.sample_rate_hz, cfg.cell.dl_frequency_hz, frame_samples=plan.spf,
                          timeout_s=cfg.radio.zmq.timeout_s, high_water_mark=hwm, context=ctx, **kw)


def _window_hwm(plan) -> int:
    return max(64, 2 * plan.subframes_per_window)


def rx_exact(radio: ZmqStreamRadio, n: int, timestamp: int, what: str, keep_waiting: Callable[[], None]) -> np.ndarray:
    """Exactly n samples starting at counter `timestamp`, or RadioError naming the first wrong sample.
    On each silence of radio.timeout_s, keep_waiting() decides: return to wait on, or raise."""
    pieces, need, ts = [], n, timestamp
    while need:
        if not radio.wait_readable(radio.timeout_s):
            keep_waiting()
            continue
        try:
            blk = radio.rx(need)
        except RadioTimeout:
            keep_waiting()
            continue
        if blk.timestamp != ts:
            how = "lost" if blk.timestamp > ts else "repeated"
            raise RadioError(f"{what}: expected sample n={ts}, the stream went on at n={blk.timestamp}: "
                             f"{abs(blk.timestamp - ts)} samples {how}")
        pieces.append(blk.samples)
        need -= blk.samples.size
        ts += blk.samples.size
    return pieces[0] if len(pieces) == 1 else np.concatenate(pieces)


def tx_exact(radio: ZmqStreamRadio, samples: np.ndarray, timestamp: int, flags: FrameFlags,
             keep_waiting: Callable[[], None]) -> None:
    """tx one block of at most frame_samples (one frame: a retry never repeats a frame that went out)."""
    while True:
        try:
            radio.tx(samples, timestamp=timestamp, flags=flags)
            return
        except RadioTimeout:
            keep_waiting()


def _parent_watch(timeout_s: float | None, what: str) -> Callable[[], None]:
    """keep_waiting for a stage: wait on while the parent lives and, if given, up to timeout_s of silence."""
    parent, since = os.getppid(), [time.monotonic()]

    def keep_waiting():
        if os.getppid() != parent:
            raise RadioError(f"{what}: the parent process is gone")
        if timeout_s is not None and time.monotonic() - since[0] > timeout_s:
            raise RadioError(f"{what}: no progress for {timeout_s:g} s (--timeout): peer gone or stalled")

    def progressed():
        since[0] = time.monotonic()

    keep_waiting.progressed = progressed
    return keep_waiting


def _close(radios, ctx) -> None:
    for r in radios:
        if r._tx_sock is not None:
            r._tx_sock.setsockopt(zmq.LINGER, -1)  # deliver every queued frame before the stage exits
        r.close()
    ctx.term()


# -- the stages ----------------------------------------------------------------------------------------

def gateway_stage(cfg, plan, tx_endpoint: str, timeout_s: float | None = None) -> dict:
    """ENodeB -> Compensator for every subframe of the plan, one frame each to tx_endpoint; returns counters."""
    from gateway.pass_demo import gateway_blocks

    ctx = zmq.Context()
    radio = _radio(cfg, plan, ctx, _window_hwm(plan), tx_address=tx_endpoint)
    wait = _parent_watch(timeout_s, f"gateway stage: tx to {tx_endpoint}")
    last = plan.subframes_per_window - 1
    try:
        for w, n, x in gateway_blocks(cfg, plan):
            end = n == plan.first_sample(w) + last * plan.spf
            tx_exact(radio, x, n, FrameFlags.END_OF_BURST if end else FrameFlags.NONE, wait)
            wait.progressed()
        return {"gateway_tx": radio.counters.as_dict()}
    finally:
        _close([radio], ctx)


def relay_stage(cfg, plan, handsets: list[Handset], settings: RelayConfig, rx_endpoint: str,
                tx_endpoints: dict[str, str], timeout_s: float | None = None) -> dict:
    """Receive the gateway's stream, run each window's relay emulator, send each handset its stream
    (every sample, the fill included: the handsets drop the window's first `warm` subframes); counters."""
    from gateway.pass_demo import window_relay

    if set(tx_endpoints) != {h.name for h in handsets}:
        raise RadioError(f"relay stage: one --tx per handset {[h.name for h in handsets]}, got {sorted(tx_endpoints)}")
    ctx = zmq.Context()
    hwm = _window_hwm(plan)
    radios = []
    try:
        rx = _radio(cfg, plan, ctx, hwm, rx_address=rx_endpoint)
        radios.append(rx)
        tx = {}
        for i, h in enumerate(handsets):
            tx[h.name] = _radio(cfg, plan, ctx, hwm, tx_address=tx_endpoints[h.name], stream_id=i)
            radios.append(tx[h.name])
        wait = _parent_watch(timeout_s, f"relay stage: rx from {rx_endpoint}")
        relayed = {"dl_in": 0, **{f"dl_out_{h.name}": 0 for h in handsets}}
        last = plan.subframes_per_window - 1
        for w in range(plan.n_windows):
            relay = window_relay(cfg, plan, w, handsets, settings)
            for j in range(plan.subframes_per_window):
                n = plan.first_sample(w) + j * plan.spf
                x = rx_exact(rx, plan.spf, n, f"relay stage, window {w}", wait)
                wait.progressed()
                for name, y in relay.downlink(x, n).items():
                    tx_exact(tx[name], y, n, FrameFlags.END_OF_BURST if j == last else FrameFlags.NONE, wait)
                    wait.progressed()
            for key in relayed:
                relayed[key] += relay.counters[key]
        return {"relay_rx": rx.counters.as_dict(), "relay_emulator": relayed,
                **{f"relay_tx_{name}": r.counters.as_dict() for name, r in tx.items()}}
    finally:
        _close(radios, ctx)


# -- this process's side ---------------------------------------------------------------------------------

def _start_stage(cmd: list[str]) -> subprocess.Popen:
    from gateway.cmd_run import _start_child

    return _start_child(cmd)


class ZmqTopology:
    """A track_pass source (plan, handsets, settings) -> (w, {handset: kept samples}): starts the gateway
    and relay stage processes, receives each handset's stream, checks every counter at the end.

    After the run, `counters` holds every socket's counters and `accounting` the sample totals."""

    def __init__(self, cfg, config_path: str | None = None):
        self.cfg = cfg
        self.config_path = str(config_path or cfg.source)
        if self.config_path == "<dict>":
            raise ValueError("the ZeroMQ topology's stage processes load the profile: give its file (config_path)")
        self.counters: dict = {}
        self.accounting: dict = {}
        self.wall_s: float | None = None
        self.stages: dict[str, subprocess.Popen] = {}

    def __call__(self, plan, handsets: list[Handset], settings: RelayConfig) -> Iterator[tuple[int, dict]]:
        return self._run(plan, handsets, settings)

    def _run(self, plan, handsets, settings):
        from gateway.cmd_run import _RUN_DIR_PREFIX, _stop_child, remove_stale_run_dirs

        cfg = self.cfg
        remove_stale_run_dirs()
        tmp = Path(tempfile.mkdtemp(prefix=f"{_RUN_DIR_PREFIX}{os.getpid()}-"))
        ctx = zmq.Context()
        radios: dict[str, ZmqStreamRadio] = {}
        stages: dict[str, subprocess.Popen] = {}
        self.stages = stages  # name -> process, for the curious (tests stop one to see the error)
        t0 = time.perf_counter()
        try:
            plan_path = tmp / "plan.json"
            write_plan(plan_path, self.config_path, plan, handsets, settings)
            gw_ep = f"ipc://{tmp}/gateway.ipc"
            for i, h in enumerate(handsets):
                radios[h.name] = _radio(cfg, plan, ctx, _window_hwm(plan), rx_address=f"@ipc://{tmp}/h{i}.ipc")
            base = [sys.executable, "-m", "gateway", "relay", "--plan", str(plan_path)]
            stages["relay"] = _start_stage(
                [*base, "--rx", "@" + gw_ep, "--report", str(tmp / "relay.json"),
                 *[a for i, h in enumerate(handsets) for a in ("--tx", f"{h.name}=>ipc://{tmp}/h{i}.ipc")]])
            stages["gateway"] = _start_stage(
                [*base, "--stage", "gateway", "--tx", ">" + gw_ep, "--report", str(tmp / "gateway.json")])
            per_window = S_PER_SUBFRAME * plan.subframes_per_window * max(1, len(handsets))
            for w in range(plan.n_windows):
                deadline = time.monotonic() + per_window + (START_BUDGET_S if w == 0 else 0.0)
                keep_waiting = self._watch(stages, deadline, w)
                rx = {h.name: [] for h in handsets}
                for j in range(plan.subframes_per_window):
                    n = plan.first_sample(w) + j * plan.spf
                    for h in handsets:
                        y = rx_exact(radios[h.name], plan.spf, n, f"handset {h.name}, window {w}", keep_waiting)
                        if j >= plan.warm:
                            rx[h.name].append(y)
                yield w, {name: np.concatenate(v) for name, v in rx.items()}
            for name, proc in stages.items():
                try:
                    status = proc.wait(timeout=per_window + cfg.radio.zmq.timeout_s)
                except subprocess.TimeoutExpired:
                    raise RadioError(f"the {name} process did not finish after its last window") from None
                if status != 0:
                    raise RadioError(f"the {name} process exited with status {status}")
            for name in stages:
                self.counters.update(json.loads((tmp / f"{name}.json").read_text()))
            self.counters.update({f"handset_rx_{name}": r.counters.as_dict() for name, r in radios.items()})
            self.wall_s = time.perf_counter() - t0
            self.accounting = check_accounting(self.counters, plan, [h.name for h in handsets])
        finally:
            for proc in stages.values():
                _stop_child(proc)
            for r in radios.values():
                r.close()
            ctx.term()
            shutil.rmtree(tmp, ignore_errors=True)

    @staticmethod
    def _watch(stages: dict[str, subprocess.Popen], deadline: float, w: int) -> Callable[[], None]:
        def keep_waiting():
            for name, proc in stages.items():
                status = proc.poll()
                if status is not None and (status != 0 or name == "relay"):
                    raise RadioError(f"the {name} process exited with status {status} while the handsets waited "
                                     f"for window {w} (its error is above)")
            if time.monotonic() > deadline:
                raise RadioError(f"window {w} did not arrive within its budget (the stages are alive but stalled)")
        return keep_waiting


_COUNTERS_ZERO = ("dropped_frames", "duplicate_frames", "sequence_gaps", "timestamp_jumps", "malformed_frames",
                  "reconnects", "stream_changes", "late_bursts", "overlap_samples")


def check_accounting(counters: dict, plan, names: list[str]) -> dict:
    """Every stage moved exactly the plan's samples, one frame per subframe, none dropped or repeated:
    returns {expected_samples, gateway_tx, relay_rx, relay_tx: {name: n}, handset_rx: {name: n}}."""
    expected = plan.n_windows * plan.subframes_per_window * plan.spf
    frames = plan.n_windows * plan.subframes_per_window
    out = {"expected_samples": expected, "expected_frames": frames,
           "gateway_tx": counters["gateway_tx"]["samples_tx"], "relay_rx": counters["relay_rx"]["samples_rx"],
           "relay_emulator_in": counters["relay_emulator"]["dl_in"],
           "relay_tx": {n: counters[f"relay_tx_{n}"]["samples_tx"] for n in names},
           "relay_emulator_out": {n: counters["relay_emulator"][f"dl_out_{n}"] for n in names},
           "handset_rx": {n: counters[f"handset_rx_{n}"]["samples_rx"] for n in names}}
    bad = [k for k in ("gateway_tx", "relay_rx", "relay_emulator_in") if out[k] != expected]
    bad += [f"{k}[{n}]" for k in ("relay_tx", "relay_emulator_out", "handset_rx") for n in names
            if out[k][n] != expected]
    for key, c in counters.items():
        if key == "relay_emulator":
            continue
        bad += [f"{key}.{z}={c[z]}" for z in _COUNTERS_ZERO if c.get(z)]
        f = c.get("frames_tx", 0) or c.get("frames_rx", 0)
        if f != frames:
            bad.append(f"{key}: {f} frames (expected {frames})")
    if bad:
        raise RadioError(f"sample accounting failed ({expected} samples expected everywhere): {', '.join(bad)}")
    return out
