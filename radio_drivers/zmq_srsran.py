"""srsRAN-compatible ZeroMQ radio: the REQ/REP protocol of srsRAN 4G's ZMQ virtual radio.

Protocol (as implemented by srsRAN 4G lib/src/phy/rf/rf_zmq_imp_{tx,rx}.c; re-implemented here):
- The transmitting side BINDS a REP socket (its `tx_port`, e.g. tcp://*:2000; Soragate binds a ROUTER
  that speaks REP's envelope, to notice a requester that left). For every chunk of
  samples it first waits for a request, then answers with the raw samples: cf32 (interleaved float32
  I/Q, 8 bytes per sample) or sc16 (int16 I/Q scaled by 32767). No header, no timestamp: time is the
  running count of samples on the link; a transmit-time gap is filled with zeros (srsRAN's tx_align).
- The receiving side CONNECTS a REQ socket (its `rx_port`, e.g. tcp://localhost:2001), sends a 1-byte
  request (srsRAN sends 0xFF) and receives one reply of any length up to 3,072,000 samples.

So a peer's rx_port points at our tx_port and vice versa. srsENB's defaults: tx_port=tcp://*:2000,
rx_port=tcp://localhost:2001; srsUE: tx_port=tcp://*:2001, rx_port=tcp://localhost:2000. Soragate as the
eNodeB towards srsUE uses tx_port tcp://*:2000, rx_port tcp://localhost:2001 (docs/radio.md).
"""

from __future__ import annotations

import collections
import threading
import time

import numpy as np
import zmq

from .base import Radio, RadioError, RadioTimeout, RxBlock, nonfinite_count, register_driver
from .formats import bytes_per_sample, check_format, from_wire, to_wire
from .iqframe import FrameFlags

__all__ = ["SrsranZmqRadio", "UplinkDrain", "SRSRAN_MAX_SAMPLES", "REQUEST_BYTE"]

SRSRAN_MAX_SAMPLES = 3_072_000  # srsRAN's ZMQ_MAX_BUFFER_SIZE: largest reply its receiver accepts
REQUEST_BYTE = b"\xff"  # the 1-byte request srsRAN's receiver sends


class SrsranZmqRadio(Radio):
    """srsRAN ZMQ radio peer. tx_port: endpoint to bind for the peer's requests ("" = no tx); rx_port:
    REQ endpoint to connect ("" = no rx); sample_format cf32_le (srsRAN fc32, its default) or ci16_le
    (srsRAN sc16).

    The tx side is a ROUTER socket speaking REP's envelope, with ROUTER_MANDATORY: a reply whose
    requester has gone is not lost silently, it is counted (`orphaned_replies`) and the same samples
    answer the next request. A malformed request (multipart, not 1 byte) is counted and answered; a
    message without REQ's envelope is counted and dropped. The rx side re-creates its REQ socket after
    any protocol error (`socket_resets`); a reply that is not a whole number of samples, is multipart
    or holds NaN/inf is dropped and counted, and the link's sample counter still moves over it, so the
    next block starts after a hole that rx() never splices (radio_drivers.rx_gaps fills and marks it).
    """

    name = "srsran_zmq"

    def __init__(
        self,
        sample_rate_hz: float,
        center_frequency_hz: float,
        *,
        tx_port: str = "tcp://*:2000",
        rx_port: str = "tcp://localhost:2001",
        sample_format: str = "cf32_le",
        timeout_s: float = 2.0,
        max_reply_samples: int = SRSRAN_MAX_SAMPLES,
        context: zmq.Context | None = None,
    ):
        super().__init__(sample_rate_hz, center_frequency_hz)
        self.sample_format = check_format(sample_format)
        self.timeout_s = float(timeout_s)
        self.max_reply_samples = int(max_reply_samples)
        self.tx_port, self.rx_port = tx_port, rx_port
        self._ctx = context or zmq.Context()
        self._own_ctx = context is None
        self._tx_sock = None
        if tx_port:
            self._tx_sock = self._ctx.socket(zmq.ROUTER)
            self._tx_sock.setsockopt(zmq.LINGER, 0)
            self._tx_sock.setsockopt(zmq.ROUTER_MANDATORY, 1)
            self._tx_sock.setsockopt(zmq.SNDTIMEO, max(1, int(self.timeout_s * 1000)))
            try:
                self._tx_sock.bind(tx_port)
            except zmq.ZMQError as exc:
                self._tx_sock.close(0)
                raise RadioError(f"srsran_zmq: cannot bind tx_port {tx_port!r}: {exc}") from None
        self._rx_sock = self._new_req() if rx_port else None
        self._req_pending = False
        self._tx_next_ts = 0
        self._rx_link_ts = 0  # link sample counter of the next reply's first sample
        self._rx_returned = 0  # link sample counter after the last sample rx() returned
        self._rx_queue: collections.deque[tuple[int, np.ndarray]] = collections.deque()

    @property
    def tx_endpoint(self) -> str:
        """The bound tx endpoint (shows the real port when bound to port 0)."""
        return self._tx_sock.getsockopt_string(zmq.LAST_ENDPOINT) if self._tx_sock else ""

    def _new_req(self) -> zmq.Socket:
        sock = self._ctx.socket(zmq.REQ)
        sock.setsockopt(zmq.LINGER, 0)
        sock.setsockopt(zmq.SNDTIMEO, max(1, int(self.timeout_s * 1000)))
        sock.setsockopt(zmq.RECONNECT_IVL, 50)
        try:
            sock.connect(self.rx_port)
        except zmq.ZMQError as exc:
            sock.close(0)
            raise RadioError(f"srsran_zmq: cannot connect rx_port {self.rx_port!r}: {exc}") from None
        return sock

    def _reset_req(self, why: str) -> None:
        """Lazy pirate: drop the REQ socket (and its outstanding request), connect a fresh one."""
        self._rx_sock.close(0)
        self._rx_sock = self._new_req()
        self._req_pending = False
        self.count("socket_resets", f"REQ socket to {self.rx_port} re-created: {why}")

    # ------------------------------------------------------------------------------------------ tx
    def _serve(self, wire: np.ndarray) -> None:
        """Wait for one request and answer it with `wire`'s bytes; a requester that left gets no reply,
        the samples go to the next request (until timeout_s without one: RadioTimeout)."""
        deadline = time.monotonic() + self.timeout_s
        while True:
            remaining_ms = int((deadline - time.monotonic()) * 1000)
            if remaining_ms <= 0 or not self._tx_sock.poll(remaining_ms, zmq.POLLIN):
                self.count(
                    "timeouts", f"no sample request on {self.tx_port} for {self.timeout_s} s (peer's rx gone?)"
                )
                raise RadioTimeout(
                    f"srsran_zmq: nobody requested samples on {self.tx_port} for {self.timeout_s} s; "
                    "is the peer's rx_port pointing here?"
                )
            parts = self._tx_sock.recv_multipart()
            identity, rest = parts[0], parts[1:]
            if not rest or rest[0] != b"":
                self.count("malformed_frames", f"message without a REQ envelope on {self.tx_port}: dropped")
                continue
            body = rest[1:]
            if len(body) != 1 or len(body[0]) != 1:
                sizes = [len(b) for b in body]
                self.count("malformed_frames", f"request of {len(body)} part(s) {sizes} bytes, expected 1 byte")
            try:
                # non-blocking: a REQ peer has room for its one reply unless it is leaving (ROUTER_MANDATORY
                # then says EAGAIN, or EHOSTUNREACH once it has gone)
                self._tx_sock.send_multipart([identity, b"", wire], flags=zmq.NOBLOCK, copy=False)
            except zmq.ZMQError as exc:
                if exc.errno in (zmq.EHOSTUNREACH, zmq.EAGAIN):
                    self.count(
                        "orphaned_replies",
                        f"the requester on {self.tx_port} left before its reply: the samples wait for the next request",
                    )
                    continue
                raise
            self.counters.frames_tx += 1
            return

    def tx(
        self, samples: np.ndarray, timestamp: int | None = None, flags: FrameFlags = FrameFlags.NONE
    ) -> int:
        """Answer the peer's requests with these samples (chunks of at most max_reply_samples).

        A timestamp after the next link sample is reached by sending zeros first (srsRAN's tx_align);
        one before it is late: the late part is dropped and counted in late_bursts.
        """
        if self._tx_sock is None:
            raise RadioError("srsran_zmq: no tx_port configured, this radio only receives")
        samples = np.asarray(samples, dtype=np.complex64)
        n_in = len(samples)
        if timestamp is not None:
            timestamp = int(timestamp)
            if timestamp > self._tx_next_ts:
                self._send(np.zeros(timestamp - self._tx_next_ts, np.complex64))
            elif timestamp < self._tx_next_ts:
                late = min(n_in, self._tx_next_ts - timestamp)
                self.count(
                    "late_bursts",
                    f"tx at n={timestamp} but the link is at n={self._tx_next_ts}: {late} samples dropped",
                )
                samples = samples[late:]
        self._send(samples)
        self.counters.samples_tx += len(samples)
        return n_in

    def _send(self, samples: np.ndarray) -> None:
        for start in range(0, len(samples), self.max_reply_samples):
            chunk = samples[start : start + self.max_reply_samples]
            self._serve(to_wire(chunk, self.sample_format))
            self._tx_next_ts += len(chunk)

    # ------------------------------------------------------------------------------------------ rx
    def _accept_reply(self, parts: list) -> None:
        """Queue one reply's samples at the link counter, or count why not; the counter moves either way."""
        nbytes = bytes_per_sample(self.sample_format)
        total = sum(len(p) for p in parts)
        n_link = -(-total // nbytes)  # samples the reply stood for on the link (bytes lost: a partial sample)
        ts = self._rx_link_ts
        self._rx_link_ts += n_link
        self.counters.frames_rx += 1
        problem = None
        if len(parts) != 1:
            problem = f"reply of {len(parts)} parts ({total} bytes), srsRAN sends one"
        elif total % nbytes:
            problem = f"reply of {total} bytes is not a whole number of {self.sample_format} samples"
        if problem is None:
            samples = from_wire(parts[0], self.sample_format)
            bad = nonfinite_count(samples)
            if bad:
                problem = f"reply holds {bad} NaN/inf samples"
        if problem is not None:
            self.count("malformed_frames", f"{problem}: dropped, a hole of {n_link} samples at n={ts}")
            self.counters.dropped_frames += 1
            return
        if len(samples):
            self._rx_queue.append((ts, samples))

    def _request(self, deadline: float) -> bool:
        """Send a request if none is outstanding, wait for its reply until `deadline`; False on timeout."""
        try:
            if not self._req_pending:
                try:
                    self._rx_sock.send(REQUEST_BYTE)
                except zmq.Again:
                    return False
                self._req_pending = True
            remaining_ms = max(0, int((deadline - time.monotonic()) * 1000))
            if not self._rx_sock.poll(remaining_ms, zmq.POLLIN):
                return False
            parts = self._rx_sock.recv_multipart(copy=False)
        except zmq.ZMQError as exc:
            self._reset_req(f"{exc} (errno {exc.errno})")
            return True
        self._req_pending = False
        self._accept_reply([p.buffer for p in parts])
        return True

    def _contiguous(self) -> tuple[int, bool]:
        """(samples queued contiguous from the head, whether a discontinuity follows them)."""
        if not self._rx_queue:
            return 0, False
        ts0 = self._rx_queue[0][0]
        n = 0
        for ts, x in self._rx_queue:
            if ts != ts0 + n:
                return n, True
            n += len(x)
        return n, self._rx_link_ts != ts0 + n  # a dropped reply after the queued samples

    def rx(self, n: int, timeout_s: float | None = None) -> RxBlock:
        """Request samples until n contiguous ones are buffered; returns them with their link sample count.

        Returns short at a discontinuity (a dropped reply) or after a timeout with samples buffered. On a
        timeout the REQ socket is re-created (the peer may have restarted: "lazy pirate"); with nothing
        buffered RadioTimeout is raised.
        """
        if self._rx_sock is None:
            raise RadioError("srsran_zmq: no rx_port configured, this radio only transmits")
        timeout_s = self.timeout_s if timeout_s is None else timeout_s
        deadline = time.monotonic() + timeout_s
        avail, broken = self._contiguous()
        # samples after a dropped reply are returned at once: the caller learns of the hole now
        after_hole = bool(self._rx_queue) and self._rx_queue[0][0] != self._rx_returned
        while avail < n and not broken and not after_hole:
            if not self._request(deadline):
                self.count("timeouts", f"no samples from {self.rx_port} for {timeout_s} s: peer gone or stalled")
                self._reset_req("timeout")
                self.counters.reconnects += 1
                avail, broken = self._contiguous()
                if avail == 0:
                    raise RadioTimeout(f"srsran_zmq: nothing received from {self.rx_port} in {timeout_s} s")
                break
            avail, broken = self._contiguous()
            after_hole = bool(self._rx_queue) and self._rx_queue[0][0] != self._rx_returned
        take = min(n, avail)
        ts = self._rx_queue[0][0]
        pieces, got = [], 0
        while got < take:
            head_ts, head = self._rx_queue[0]
            k = min(take - got, len(head))
            pieces.append(head[:k])
            got += k
            if k == len(head):
                self._rx_queue.popleft()
            else:
                self._rx_queue[0] = (head_ts + k, head[k:])
        self.counters.samples_rx += take
        self._rx_returned = ts + take
        return RxBlock(np.concatenate(pieces) if len(pieces) > 1 else pieces[0].copy(), ts)

    def close(self) -> None:
        if self.closed:
            return
        for sock in (self._tx_sock, self._rx_sock):
            if sock is not None:
                sock.close(0)
        if self._own_ctx:
            self._ctx.term()
        super().close()


class UplinkDrain:
    """Keeps asking a srsRAN peer for its samples while this side transmits (TS-free srsRAN ZMQ link).

    srsRAN's ZMQ radio blocks its transmitter until its peer requests samples, so a srsUE whose uplink
    nobody reads stalls and stops reading the downlink. A thread requests the peer's samples in step
    with the downlink (at most `lead_samples` past the samples transmitted so far) and hands each block
    to `sink(samples, n)` (None: discarded, counted in samples_rx) until an uplink receiver exists.
    """

    def __init__(self, radio: SrsranZmqRadio, lead_samples: int, sink=None):
        if radio._rx_sock is None:
            raise RadioError("srsran_zmq: the uplink drain needs an rx_port")
        self.radio, self.lead_samples, self.sink = radio, int(lead_samples), sink
        self.samples = 0
        self.error: BaseException | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="srsran-uplink-drain", daemon=True)

    @classmethod
    def for_radio(cls, radio: Radio, lead_samples: int, sink=None) -> UplinkDrain | None:
        """A started drain when `radio` (or the radio a RecordingTap wraps) is srsran_zmq with an rx_port."""
        inner = getattr(radio, "inner", radio)
        if not isinstance(inner, SrsranZmqRadio) or inner._rx_sock is None:
            return None
        drain = cls(inner, lead_samples, sink)
        drain._thread.start()
        return drain

    def _run(self) -> None:
        r = self.radio
        try:
            while not self._stop.is_set():
                if r._rx_link_ts >= r._tx_next_ts + self.lead_samples and not r._req_pending:
                    self._stop.wait(0.001)  # in step: the downlink must move on first
                    continue
                r._request(time.monotonic() + 0.05)  # False: no reply yet, the request stays pending
                while r._rx_queue:
                    ts, x = r._rx_queue.popleft()
                    self.samples += len(x)
                    r.counters.samples_rx += len(x)
                    if self.sink is not None:
                        self.sink(x, ts)
        except BaseException as exc:  # reported by stop()
            self.error = exc

    def stop(self) -> int:
        """Stop requesting; returns the samples drained (an error of the thread is left in `error`)."""
        self._stop.set()
        self._thread.join(timeout=5)
        return self.samples


@register_driver("srsran_zmq")
def _open_srsran(radio_config, sample_rate_hz: float, center_frequency_hz: float) -> SrsranZmqRadio:
    c = radio_config.srsran_zmq
    return SrsranZmqRadio(
        sample_rate_hz,
        center_frequency_hz,
        tx_port=c.tx_port,
        rx_port=c.rx_port,
        sample_format=c.sample_format,
        timeout_s=c.timeout_s,
    )
