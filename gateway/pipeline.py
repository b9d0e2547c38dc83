"""The transmit pipeline's source stage: the eNodeB's subframes, in this process or in worker processes.

    with downlink_source(cfg, n_subframes, pipeline=True) as blocks:
        for n, x in blocks:            # n: stream sample counter of x[0]; x: (N,) complex64 (ports summed)
            radio.tx(precomp(x, n), timestamp=n)

`pipeline=False`: the eNodeB runs here, subframe after subframe (gateway.enodeb.ENodeB).
`pipeline=True`: the eNodeB runs in W worker processes (DESIGN.md 5: stages are processes so a pipeline
uses every core; W = `workers`, default one per core but one). Worker w builds subframes k = w mod W and runs
only the scheduler for the others (the scheduler is the eNodeB's only state and costs ~0.04 ms per
subframe; the PHY is pure), so the W workers give the single-worker stream while the OS spreads them
and this process (pre-compensation, radio) over the cores. Each worker puts its subframes, with their
sequence numbers and sample counters, into its own bounded ring of slots in shared memory
(gateway/shm_ring.py; a worker blocks when its ring is full: backpressure). Shared memory, not ZeroMQ
frames, because at 20 MHz the socket hop cost ~0.2 ms of CPU per 1 ms subframe. This side takes subframe
k from ring k mod W and checks the one sample clock: subframe k must carry sequence k and start at exactly
k * samples_per_subframe with a whole subframe (no gap, no duplicate); anything else stops the stream
with a RuntimeError. A worker killed outright (no exception) is restarted, up to MAX_RESTARTS times per
stream: the new worker fast-forwards its scheduler and resumes at the first of its subframes this side
has not taken. The samples are the same as the in-process source, bit for bit.
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

__all__ = ["downlink_source", "default_pipeline", "default_workers"]

# subframes the workers may run ahead, all rings together (each has AHEAD_FRAMES // W slots, at least 2)
AHEAD_FRAMES = 16
WORKER_TIMEOUT_S = 30.0  # no frame for this long: the worker is stuck or gone
POLL_S = 0.25  # receive slice between checks that the worker is alive
MAX_RESTARTS = 3  # a worker that dies without an exception is restarted this often per stream
log = logging.getLogger("soragate.pipeline")


def default_pipeline() -> bool:
    """Pipelined by default where there is a second core to run the eNodeB on."""
    return (os.cpu_count() or 1) >= 2


def default_workers() -> int:
    """eNodeB workers of a pipelined stream: one per core but the one left to this process (pre-compensation
    and radio), at least one. On 2 cores a second worker measured no faster (the CPU of all the stages
    together is the bound there, and two workers importing at once delay the first sample by ~0.2 s)."""
    return max(1, (os.cpu_count() or 1) - 1)


def _in_process(cfg, n_subframes: int, k_first: int = 0, stride: int = 1) -> Iterator[tuple[int, np.ndarray]]:
    """(n, x) of subframes k_first, k_first + stride, ... < n_subframes; the scheduler runs for every
    subframe (its state is the stream's), the PHY only for those built here."""
    # imported here: with the pipeline, only the workers load the MAC/PHY (pycrate, numba kernels)
    from gateway.enodeb import ENodeB

    enb = ENodeB(cfg)
    enb.fast_forward(k_first)
    for k in range(k_first, n_subframes):
        if (k - k_first) % stride:
            enb.skip_subframe(k)  # another worker builds it
        else:
            yield enb.antenna_subframe(k)


def _worker(cfg, n_subframes: int, k_first: int, stride: int, ring, errors) -> None:
    """Worker process: run the eNodeB and put subframes k_first, k_first + stride, ... into its ring
    (blocks when ahead)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C is the main process's to handle
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # not the parent command's handler
    try:
        for i, (n, x) in enumerate(_in_process(cfg, n_subframes, k_first, stride)):
            ring.put(k_first + i * stride, n, x, timeout_s=WORKER_TIMEOUT_S)
    except Exception:  # noqa: BLE001 - everything is reported to the main process
        errors.put(traceback.format_exc())


@contextlib.contextmanager
def downlink_source(cfg, n_subframes: int, *, pipeline: bool,
                    workers: int | None = None) -> Iterator[Iterator[tuple[int, np.ndarray]]]:
    """Context manager giving an iterator of (n, x): subframe k's sample counter n = k * N and its
    single-antenna samples x, (N,) complex64, from this process or from `workers` worker processes
    (default `default_workers()`) that build the subframes in turn: worker w builds k = w mod workers
    and puts them into its own ring (module docstring)."""
    if not pipeline:
        yield _in_process(cfg, n_subframes)
        return
    from gateway.shm_ring import SubframeRing

    n_workers = default_workers() if workers is None else int(workers)
    if n_workers < 1:
        raise ValueError(f"the pipeline needs at least one eNodeB worker, got {n_workers}")
    n_workers = min(n_workers, max(1, n_subframes))
    spsf = numerology(cfg.cell.n_rb_dl).samples_per_subframe
    methods = multiprocessing.get_all_start_methods()
    ctx = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    errors = ctx.Queue()
    slots = max(2, AHEAD_FRAMES // n_workers)
    rings = [SubframeRing(slots, spsf, ctx, stride=n_workers) for _ in range(n_workers)]

    def start_worker(w: int, k_first: int):
        proc = ctx.Process(target=_worker, args=(cfg, n_subframes, k_first, n_workers, rings[w], errors),
                           name=f"soragate-enodeb-{w}", daemon=True)
        proc.start()
        return proc

    procs = [start_worker(w, w) for w in range(n_workers)]
    restarts = 0

    def worker_error(timeout_s: float) -> str:
        """The traceback an exception in a worker left, or ''."""
        with contextlib.suppress(Exception):
            return errors.get(timeout=timeout_s)
        return ""

    def blocks() -> Iterator[tuple[int, np.ndarray]]:
        nonlocal restarts
        for k in range(n_subframes):
            w = k % n_workers
            n_expected = k * spsf
            waited_s = 0.0
            while (got := rings[w].take(k, POLL_S)) is None:
                # wait in slices, so that a worker that died is noticed at once (its start-up takes ~1 s)
                waited_s += POLL_S
                if procs[w].is_alive() and waited_s < WORKER_TIMEOUT_S:
                    continue
                error = worker_error(0.5)
                if not procs[w].is_alive() and not error and restarts < MAX_RESTARTS:
                    # died without an exception (killed, out of memory): a new worker resumes at the
                    # first of its subframes not taken (slots hold whole subframes: nothing half-sent)
                    restarts += 1
                    log.warning("pipeline: eNodeB worker %d died (exit code %s) before subframe %d; "
                                "restart %d of %d resumes there", w, procs[w].exitcode, k, restarts, MAX_RESTARTS)
                    rings[w].reset()
                    procs[w] = start_worker(w, k)
                    waited_s = 0.0
                    continue
                why = error or (f"it exited with code {procs[w].exitcode} ({restarts} restarts)"
                                if not procs[w].is_alive() else f"stalled for {waited_s:.0f} s")
                raise RuntimeError(f"pipeline: no subframe {k} from eNodeB worker {w}: {why}")
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
        for proc in procs:
            proc.join(timeout=2.0)  # all taken: the worker has finished
        for proc in procs:
            if proc.is_alive():  # stopped early (Ctrl+C, radio error)
                proc.terminate()
                proc.join(timeout=5.0)
        for ring in rings:
            ring.close()
        errors.close()
