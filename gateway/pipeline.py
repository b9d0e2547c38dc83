"""The transmit pipeline's source stage: the eNodeB's subframes, in this process or in a worker process.

    with downlink_source(cfg, n_subframes, pipeline=True) as blocks:
        for n, x in blocks:            # n: stream sample counter of x[0]; x: (N,) complex64 (ports summed)
            radio.tx(precomp(x, n), timestamp=n)

`pipeline=False`: the eNodeB runs here, subframe after subframe (gateway.enodeb.ENodeB).
`pipeline=True`: the eNodeB runs in a worker process (DESIGN.md 5: stages are processes so a pipeline
uses every core) and puts each subframe, with its sequence number and sample counter, into a bounded
ring of slots in shared memory (gateway/shm_ring.py; the worker blocks when it is AHEAD_FRAMES
subframes ahead: backpressure). Shared memory, not ZeroMQ frames, because at 20 MHz the socket hop
cost ~0.2 ms of CPU per 1 ms subframe. This side checks the one sample clock: subframe k must carry
sequence k and start at exactly k * samples_per_subframe with a whole subframe (no gap, no
duplicate); anything else stops the stream with a RuntimeError. A worker killed outright (no exception)
is restarted, up to MAX_RESTARTS times: the new worker fast-forwards its scheduler and resumes at the
first subframe this side has not taken. The samples are the same as the in-process source, bit for bit.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import signal
import traceback
from collections.abc import Iterator

import numpy as np

from phy.numerology import numerology

__all__ = ["downlink_source", "default_pipeline"]

# subframes the worker may run ahead (slots of the shared-memory ring)
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
    from gateway.enodeb import ENodeB

    enb = ENodeB(cfg)
    enb.fast_forward(k_first)
    for k in range(k_first, n_subframes):
        yield enb.antenna_subframe(k)


def _worker(cfg, n_subframes: int, k_first: int, ring, errors) -> None:
    """Worker process: run the eNodeB and put each subframe into the ring (blocks when ahead)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C is the main process's to handle
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # not the parent command's handler
    try:
        for seq, (n, x) in enumerate(_in_process(cfg, n_subframes, k_first), start=k_first):
            ring.put(seq, n, x, timeout_s=WORKER_TIMEOUT_S)
    except Exception:  # noqa: BLE001 - everything is reported to the main process
        errors.put(traceback.format_exc())


@contextlib.contextmanager
def downlink_source(cfg, n_subframes: int, *, pipeline: bool) -> Iterator[Iterator[tuple[int, np.ndarray]]]:
    """Context manager giving an iterator of (n, x): subframe k's sample counter n = k * N and its
    single-antenna samples x, (N,) complex64, from this process or a worker process (module docstring)."""
    if not pipeline:
        yield _in_process(cfg, n_subframes)
        return
    from gateway.shm_ring import SubframeRing

    spsf = numerology(cfg.cell.n_rb_dl).samples_per_subframe
    methods = multiprocessing.get_all_start_methods()
    ctx = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    errors = ctx.Queue()
    ring = SubframeRing(AHEAD_FRAMES, spsf, ctx)

    def start_worker(k_first: int):
        proc = ctx.Process(target=_worker, args=(cfg, n_subframes, k_first, ring, errors),
                           name="soragate-enodeb", daemon=True)
        proc.start()
        return proc

    proc = start_worker(0)
    restarts = 0

    def worker_error(timeout_s: float) -> str:
        """The traceback an exception in the worker left, or ''."""
        with contextlib.suppress(Exception):
            return errors.get(timeout=timeout_s)
        return ""

    def blocks() -> Iterator[tuple[int, np.ndarray]]:
        nonlocal proc, restarts
        for k in range(n_subframes):
            n_expected = k * spsf
            waited_s = 0.0
            while (got := ring.take(k, POLL_S)) is None:
                # wait in slices, so that a worker that died is noticed at once (its start-up takes ~1 s)
                waited_s += POLL_S
                if proc.is_alive() and waited_s < WORKER_TIMEOUT_S:
                    continue
                error = worker_error(0.5)
                if not proc.is_alive() and not error and restarts < MAX_RESTARTS:
                    # died without an exception (killed, out of memory): a new worker resumes at the
                    # first subframe not taken (slots hold whole subframes: nothing half-sent)
                    restarts += 1
                    log.warning("pipeline: the eNodeB worker died (exit code %s) before subframe %d; "
                                "restart %d of %d resumes there", proc.exitcode, k, restarts, MAX_RESTARTS)
                    ring.reset()
                    proc = start_worker(k)
                    waited_s = 0.0
                    continue
                why = error or (f"it exited with code {proc.exitcode} ({restarts} restarts)"
                                if not proc.is_alive() else f"stalled for {waited_s:.0f} s")
                raise RuntimeError(f"pipeline: no subframe {k} from the eNodeB worker: {why}")
            seq, n, x = got
            if seq != k or n != n_expected or x.size != spsf:
                raise RuntimeError(
                    f"pipeline: subframe {k} (sequence {seq}, {x.size} samples) starts at sample n={n} where "
                    f"n={n_expected} was due (a gap or a duplicate at the stage boundary)"
                )
            yield n, x

    try:
        yield blocks()
    finally:
        proc.join(timeout=2.0)  # all taken: the worker has finished
        if proc.is_alive():  # stopped early (Ctrl+C, radio error)
            proc.terminate()
            proc.join(timeout=5.0)
        ring.close()
        errors.close()
