"""srsRAN-compatible ZeroMQ radio: the REQ/REP protocol of srsRAN 4G's ZMQ virtual radio.

Protocol (as implemented by srsRAN 4G lib/src/phy/rf/rf_zmq_imp_{tx,rx}.c; re-implemented here):
- The transmitting side BINDS a REP socket (its `tx_port`, e.g. tcp://*:2000). For every chunk of
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
import time

import numpy as np
import zmq

from .base import Radio, RadioError, RadioTimeout, RxBlock, register_driver
from .formats import bytes_per_sample, check_format, from_wire, to_wire
from .iqframe import FrameFlags

__all__ = ["SrsranZmqRadio", "SRSRAN_MAX_SAMPLES", "REQUEST_BYTE"]

SRSRAN_MAX_SAMPLES = 3_072_000  # srsRAN's ZMQ_MAX_BUFFER_SIZE: largest reply its receiver accepts
REQUEST_BYTE = b"\xff"  # the 1-byte request srsRAN's receiver sends


class SrsranZmqRadio(Radio):
    """srsRAN ZMQ radio peer. tx_port: REP endpoint to bind ("" = no tx); rx_port: REQ endpoint to
    connect ("" = no rx); sample_format cf32_le (srsRAN fc32, its default) or ci16_le (srsRAN sc16)."""

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
            self._tx_sock = self._ctx.socket(zmq.REP)
            self._tx_sock.setsockopt(zmq.LINGER, 0)
            self._tx_sock.setsockopt(zmq.SNDTIMEO, max(1, int(self.timeout_s * 1000)))
            try:
                self._tx_sock.bind(tx_port)
            except zmq.ZMQError as exc:
                self._tx_sock.close(0)
                raise RadioError(f"srsran_zmq: cannot bind tx_port {tx_port!r}: {exc}") from None
        self._rx_sock = self._new_req() if rx_port else None
        self._req_pending = False
        self._tx_next_ts = 0
        self._rx_next_ts = 0
        self._rx_queue: collections.deque[np.ndarray] = collections.deque()
        self._rx_buffered = 0

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

    # ------------------------------------------------------------------------------------------ tx
    def _serve(self, wire: np.ndarray) -> None:
        """Wait for one request on the REP socket, answer with `wire`'s bytes."""
        if not self._tx_sock.poll(int(self.timeout_s * 1000), zmq.POLLIN):
            self.count(
                "timeouts", f"no sample request on {self.tx_port} for {self.timeout_s} s (peer's rx gone?)"
            )
            raise RadioTimeout(
                f"srsran_zmq: nobody requested samples on {self.tx_port} for {self.timeout_s} s; "
                "is the peer's rx_port pointing here?"
            )
        request = self._tx_sock.recv()
        if len(request) != 1:
            self.count("malformed_frames", f"request of {len(request)} bytes on {self.tx_port}, expected 1")
        self._tx_sock.send(wire, copy=False)
        self.counters.frames_tx += 1

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
    def _request(self, deadline: float) -> bool:
        """Send a request if none is outstanding, wait for its reply until `deadline`; False on timeout."""
        if not self._req_pending:
            try:
                self._rx_sock.send(REQUEST_BYTE)
            except zmq.Again:
                return False
            self._req_pending = True
        remaining_ms = max(0, int((deadline - time.monotonic()) * 1000))
        if not self._rx_sock.poll(remaining_ms, zmq.POLLIN):
            return False
        reply = self._rx_sock.recv(copy=False)
        self._req_pending = False
        nbytes = bytes_per_sample(self.sample_format)
        if len(reply.buffer) % nbytes:
            self.count(
                "malformed_frames",
                f"reply of {len(reply.buffer)} bytes is not a whole number of {self.sample_format} samples",
            )
            self.counters.dropped_frames += 1
            return True
        samples = from_wire(reply.buffer, self.sample_format)
        if len(samples):
            self._rx_queue.append(samples)
            self._rx_buffered += len(samples)
        self.counters.frames_rx += 1
        return True

    def rx(self, n: int, timeout_s: float | None = None) -> RxBlock:
        """Request samples from the peer until n are buffered; returns them with their link sample count.

        On a timeout the REQ socket is re-created (the peer may have restarted: "lazy pirate"), buffered
        samples are returned (short read) or RadioTimeout is raised when there are none.
        """
        if self._rx_sock is None:
            raise RadioError("srsran_zmq: no rx_port configured, this radio only transmits")
        timeout_s = self.timeout_s if timeout_s is None else timeout_s
        deadline = time.monotonic() + timeout_s
        while self._rx_buffered < n:
            if not self._request(deadline):
                self.count(
                    "timeouts", f"no samples from {self.rx_port} for {timeout_s} s: peer gone or stalled"
                )
                self._rx_sock.close(0)
                self._rx_sock = self._new_req()
                self._req_pending = False
                self.counters.reconnects += 1
                if self._rx_buffered == 0:
                    raise RadioTimeout(f"srsran_zmq: nothing received from {self.rx_port} in {timeout_s} s")
                break
        take = min(n, self._rx_buffered)
        pieces, got = [], 0
        while got < take:
            head = self._rx_queue[0]
            k = min(take - got, len(head))
            pieces.append(head[:k])
            got += k
            if k == len(head):
                self._rx_queue.popleft()
            else:
                self._rx_queue[0] = head[k:]
        self._rx_buffered -= take
        ts = self._rx_next_ts
        self._rx_next_ts += take
        self.counters.samples_rx += take
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
