"""The transmit pipeline's source stage: the eNodeB's subframes, in this process or in a worker process.

    with downlink_source(cfg, n_subframes, pipeline=True) as blocks:
        for n, x in blocks:            # n: stream sample counter of x[0]; x: (N,) complex64 (ports summed)
            radio.tx(precomp(x, n), timestamp=n)

`pipeline=False`: the eNodeB runs here, subframe after subframe (gateway.enodeb.ENodeB).
`pipeline=True`: the eNodeB runs in a worker process (DESIGN.md 5: stages are processes so a pipeline
uses every core) and sends each subframe as IQ frames (radio_drivers.iqframe: sequence number and
sample counter) over ZeroMQ PUSH/PULL on an ipc:// socket; the worker blocks when its high-water mark
is reached (backpressure). This side reassembles whole subframes and checks the one sample clock: each
subframe must start at exactly k * samples_per_subframe (no gap, no duplicate), and the link's frame
counters must show no dropped, duplicate or malformed frame; anything else stops the stream with a
RuntimeError. A worker killed outright (no exception) is restarted, up to MAX_RESTARTS times: the new
worker fast-forwards its scheduler and resumes at the first subframe this side has not received. The
samples are the same as the in-process source, bit for bit (cf32 on the wire).
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import signal
import tempfile
import traceback
from collections.abc import Iterator

import numpy as np

from phy.numerology import numerology

__all__ = ["downlink_source", "default_pipeline"]

# frames the worker may run ahead (ZeroMQ high-water mark per socket; one frame = one subframe)
AHEAD_FRAMES = 16
WORKER_TIMEOUT_S = 30.0  # no frame for this long: the worker is stuck or gone
POLL_S = 0.25  # receive slice between checks that the worker is alive
MAX_RESTARTS = 3  # a worker that dies without an exception is restarted this often per stream
log = logging.getLogger("soragate.pipeline")


def default_pipeline() -> bool:
    """Pipelined by default where there is a second core to run the eNodeB on."""
    return (os.cpu_count() or 1) >= 2


def _in_process(cfg, n_subframes: int, k_first: int = 0) -> Iterator[tuple[int, np.ndarray]]:
    # imported here: with the pipeline, only the worker loads the MAC/PHY (pycrate, numba kernels)
    from gateway.enodeb import ENodeB, combine_ports

    enb = ENodeB(cfg)
    enb.fast_forward(k_first)
    for k in range(k_first, n_subframes):
        sf = enb.subframe(k)
        yield sf.n, combine_ports(sf.samples)


def _worker(cfg, n_subframes: int, k_first: int, address: str, fs: float, f_c: float, errors) -> None:
    """Worker process: run the eNodeB and send each subframe as one IQ frame (blocks when ahead)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C is the main process's to handle
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # not the parent command's handler
    from radio_drivers import ZmqStreamRadio

    radio = None
    try:
        radio = ZmqStreamRadio(
            fs, f_c, tx_address=">" + address, frame_samples=numerology(cfg.cell.n_rb_dl).samples_per_subframe,
            timeout_s=WORKER_TIMEOUT_S, high_water_mark=AHEAD_FRAMES,
        )
        for n, x in _in_process(cfg, n_subframes, k_first):
            radio.tx(x, timestamp=n)
    except Exception:  # noqa: BLE001 - everything is reported to the main process
        errors.put(traceback.format_exc())
    finally:
        if radio is not None:
            radio.close()


@contextlib.contextmanager
def downlink_source(cfg, n_subframes: int, *, pipeline: bool) -> Iterator[Iterator[tuple[int, np.ndarray]]]:
    """Context manager giving an iterator of (n, x): subframe k's sample counter n = k * N and its
    single-antenna samples x, (N,) complex64, from this process or a worker process (module docstring)."""
    if not pipeline:
        yield _in_process(cfg, n_subframes)
        return
    from radio_drivers import RadioTimeout, ZmqStreamRadio

    num = numerology(cfg.cell.n_rb_dl)
    fs, spsf = num.sample_rate_hz, num.samples_per_subframe
    f_c = cfg.cell.dl_frequency_hz
    tmp = tempfile.mkdtemp(prefix="soragate-pipe-")
    address = f"ipc://{tmp}/enodeb.ipc"
    methods = multiprocessing.get_all_start_methods()
    ctx = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    errors = ctx.Queue()

    def start_worker(k_first: int):
        proc = ctx.Process(target=_worker, args=(cfg, n_subframes, k_first, address, fs, f_c, errors),
                           name="soragate-enodeb", daemon=True)
        proc.start()
        return proc

    proc = start_worker(0)  # before this process opens ZeroMQ (its context is not for a forked child)
    restarts = 0
    link = ZmqStreamRadio(fs, f_c, rx_address="@" + address, timeout_s=WORKER_TIMEOUT_S,
                          high_water_mark=AHEAD_FRAMES)

    def worker_error(timeout_s: float) -> str:
        """The traceback an exception in the worker left, or ''."""
        with contextlib.suppress(Exception):
            return errors.get(timeout=timeout_s)
        return ""

    def blocks() -> Iterator[tuple[int, np.ndarray]]:
        nonlocal proc, restarts
        for k in range(n_subframes):
            n_expected = k * spsf
            parts, got = [], 0
            waited_s = 0.0
            while got < spsf:
                # wait in slices, so that a worker that died is noticed at once (its start-up takes ~1 s)
                if not link._rx_queue and not link._rx_sock.poll(int(POLL_S * 1000)):
                    waited_s += POLL_S
                    if proc.is_alive() and waited_s < WORKER_TIMEOUT_S:
                        continue
                    error = worker_error(0.5)
                    if not proc.is_alive() and not error and restarts < MAX_RESTARTS:
                        # died without an exception (killed, out of memory): a new worker resumes at the
                        # first subframe not received (frames are whole subframes: nothing half-sent)
                        restarts += 1
                        log.warning("pipeline: the eNodeB worker died (exit code %s) before subframe %d; "
                                    "restart %d of %d resumes there", proc.exitcode, k, restarts, MAX_RESTARTS)
                        proc = start_worker(k)
                        parts, got, waited_s = [], 0, 0.0
                        continue
                    why = error or (f"it exited with code {proc.exitcode} ({restarts} restarts)"
                                    if not proc.is_alive() else f"stalled for {waited_s:.0f} s")
                    raise RuntimeError(f"pipeline: no subframe {k} from the eNodeB worker: {why}")
                try:
                    b = link.rx(spsf - got, timeout_s=WORKER_TIMEOUT_S)
                except RadioTimeout:
                    raise RuntimeError(f"pipeline: no subframe {k} from the eNodeB worker: stalled") from None
                if b.timestamp != n_expected + got:
                    raise RuntimeError(
                        f"pipeline: subframe {k} sample n={b.timestamp} arrived where n={n_expected + got} was "
                        "due (a gap or a duplicate at the stage boundary)"
                    )
                parts.append(b.samples)
                got += len(b.samples)
            c = link.counters
            if c.dropped_frames or c.duplicate_frames or c.malformed_frames or c.sequence_gaps:
                raise RuntimeError(f"pipeline: the eNodeB link lost frames: {c.as_dict()}")
            yield n_expected, parts[0] if len(parts) == 1 else np.concatenate(parts)

    try:
        yield blocks()
    finally:
        proc.join(timeout=2.0)  # all received: the worker is flushing and closing
        if proc.is_alive():  # stopped early (Ctrl+C, radio error)
            proc.terminate()
            proc.join(timeout=5.0)
        link.close()
        errors.close()
        with contextlib.suppress(OSError):
            os.unlink(f"{tmp}/enodeb.ipc")
        with contextlib.suppress(OSError):
            os.rmdir(tmp)
