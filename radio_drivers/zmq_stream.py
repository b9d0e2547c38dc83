"""Native Soragate IQ streaming over ZeroMQ: framed messages (iqframe.py), PUSH/PULL or PUB/SUB.

PUSH/PULL is the lossless pipeline: a full peer blocks the sender (high-water mark = back-pressure),
up to `timeout_s`, after which tx() raises RadioTimeout. PUB/SUB is for monitoring taps: a slow
subscriber loses frames, which its receiver reports as sequence gaps.

Endpoints follow the CZMQ convention: "@tcp://*:5555" binds, ">tcp://host:5555" connects; without a
prefix the transmit side binds and the receive side connects. tcp://, ipc:// and inproc:// all work.

The receiver checks every frame (magic, version, header length, payload length, sequence, timestamp,
sample rate, centre frequency, finite samples) and counts and logs each problem; a bad frame is
dropped, a duplicate (sequence just behind) dropped and counted, a sequence jump beyond
MAX_SEQUENCE_JUMP counted as a restart (not as lost frames), a gap starts a new time segment (rx()
returns short rather than splicing; radio_drivers.rx_gaps marks or refuses it in a capture), and nothing
already received is lost.
"""

from __future__ import annotations

import collections
import logging
import time

import numpy as np
import zmq

from .base import MAX_SEQUENCE_JUMP, Radio, RadioError, RadioTimeout, RxBlock, nonfinite_count, register_driver
from .formats import bytes_per_sample, check_format, from_wire, to_wire
from .iqframe import FrameError, FrameFlags, IQHeader, pack_header, unpack_header

__all__ = ["ZmqStreamRadio", "parse_endpoint"]

_PATTERNS = {"pushpull": (zmq.PUSH, zmq.PULL), "pubsub": (zmq.PUB, zmq.SUB)}
# a frame whose sequence is at most this far behind the expected one is a duplicate (dropped, counted);
# further behind, or back to 0, the sender restarted
DUPLICATE_WINDOW = 4096


def parse_endpoint(spec: str, default_bind: bool) -> tuple[bool, str]:
    """'@addr' -> (True, addr) bind; '>addr' -> (False, addr) connect; bare addr -> (default_bind, addr)."""
    if spec.startswith("@"):
        return True, spec[1:]
    if spec.startswith(">"):
        return False, spec[1:]
    return default_bind, spec


class ZmqStreamRadio(Radio):
    """Framed IQ over ZeroMQ; either direction may be disabled by an empty address.

    sample_rate_hz, center_frequency_hz: what this radio sends, and what it requires of received frames.
    tx_address / rx_address: endpoints ("" = direction unused). pattern: 'pushpull' | 'pubsub'.
    frame_samples: most samples per frame (tx splits longer calls). timeout_s: receive timeout (peer
    gone), and how long tx() waits for a full pipeline. high_water_mark: frames queued per socket.
    """

    name = "zmq"

    def __init__(
        self,
        sample_rate_hz: float,
        center_frequency_hz: float,
        *,
        tx_address: str = "",
        rx_address: str = "",
        pattern: str = "pushpull",
        sample_format: str = "cf32_le",
        stream_id: int = 0,
        frame_samples: int = 30720,
        timeout_s: float = 2.0,
        high_water_mark: int = 64,
        context: zmq.Context | None = None,
    ):
        super().__init__(sample_rate_hz, center_frequency_hz)
        if pattern not in _PATTERNS:
            raise RadioError(f"pattern must be one of {', '.join(_PATTERNS)}, got {pattern!r}")
        if frame_samples < 1:
            raise RadioError(f"frame_samples must be >= 1, got {frame_samples}")
        self.sample_format = check_format(sample_format)
        self.stream_id = int(stream_id)
        self.frame_samples = int(frame_samples)
        self.timeout_s = float(timeout_s)
        self.tx_address, self.rx_address = tx_address, rx_address
        self._ctx = context or zmq.Context()
        self._own_ctx = context is None
        self._hwm = int(high_water_mark)
        tx_type, rx_type = _PATTERNS[pattern]
        self._tx_sock = self._open(tx_type, tx_address, default_bind=True) if tx_address else None
        self._rx_sock = self._open(rx_type, rx_address, default_bind=False) if rx_address else None
        if self._rx_sock is not None and rx_type == zmq.SUB:
            self._rx_sock.setsockopt(zmq.SUBSCRIBE, b"")
        # transmit state
        self._tx_seq = 0
        self._tx_next_ts: int | None = None
        # receive state: expectations from the last accepted frame, and the queue of received samples
        self._rx_seq: int | None = None
        self._rx_next_ts: int | None = None
        self._rx_stream: int | None = None
        self._rx_break = True  # the next accepted frame starts a new time segment
        # (timestamp, samples, starts a new segment, ends a burst)
        self._rx_queue: collections.deque[tuple[int, np.ndarray, bool, bool]] = collections.deque()
        self._rx_poller = zmq.Poller()
        if self._rx_sock is not None:
            self._rx_poller.register(self._rx_sock, zmq.POLLIN)
        self._mismatch_logged: tuple | None = None

    def _open(self, sock_type: int, spec: str, default_bind: bool) -> zmq.Socket:
        bind, address = parse_endpoint(spec, default_bind)
        sock = self._ctx.socket(sock_type)
        sock.setsockopt(zmq.SNDHWM, self._hwm)
        sock.setsockopt(zmq.RCVHWM, self._hwm)
        sock.setsockopt(zmq.SNDTIMEO, max(1, int(self.timeout_s * 1000)))
        sock.setsockopt(zmq.LINGER, max(0, int(self.timeout_s * 1000)))
        sock.setsockopt(zmq.RECONNECT_IVL, 50)
        sock.setsockopt(zmq.RECONNECT_IVL_MAX, 500)
        try:
            if bind:
                sock.bind(address)
            else:
                sock.connect(address)
        except zmq.ZMQError as exc:
            sock.close(0)
            verb = "bind" if bind else "connect"
            raise RadioError(f"cannot {verb} ZeroMQ endpoint {address!r}: {exc}") from None
        return sock

    @property
    def tx_endpoint(self) -> str:
        """The actual bound/connected transmit endpoint (a bound tcp://*:0 shows its real port)."""
        return self._tx_sock.getsockopt_string(zmq.LAST_ENDPOINT) if self._tx_sock else ""

    # ------------------------------------------------------------------------------------------ tx
    def tx(
        self, samples: np.ndarray, timestamp: int | None = None, flags: FrameFlags = FrameFlags.NONE
    ) -> int:
        """Send samples as frames of at most frame_samples; the payload goes out zero-copy.

        The array must not be modified after the call (ZeroMQ may still be reading it).
        """
        if self._tx_sock is None:
            raise RadioError(f"{self.name}: no tx_address configured, this radio only receives")
        wire = to_wire(samples, self.sample_format)
        n_total = len(samples)
        if n_total == 0:
            return 0
        flags = FrameFlags(flags)
        if self._tx_next_ts is None:
            flags |= FrameFlags.START_OF_BURST
            self._tx_next_ts = 0 if timestamp is None else int(timestamp)
        if timestamp is not None and int(timestamp) != self._tx_next_ts:
            if int(timestamp) < self._tx_next_ts:
                self.count(
                    "late_bursts",
                    f"tx timestamp {timestamp} is before the next free sample {self._tx_next_ts}",
                )
            flags |= FrameFlags.START_OF_BURST
            self._tx_next_ts = int(timestamp)
        per_sample = 2 if self.sample_format == "ci16_le" else 1  # wire elements per sample
        sent = 0
        while sent < n_total:
            count = min(self.frame_samples, n_total - sent)
            frame_flags = FrameFlags.TIME_VALID | (flags & (FrameFlags.UNDERFLOW | FrameFlags.OVERFLOW))
            if sent == 0:
                frame_flags |= flags & FrameFlags.START_OF_BURST
            if sent + count == n_total:
                frame_flags |= flags & FrameFlags.END_OF_BURST
            header = pack_header(
                IQHeader(
                    stream_id=self.stream_id,
                    sequence=self._tx_seq,
                    timestamp=self._tx_next_ts,
                    sample_rate_hz=self.sample_rate_hz,
                    center_frequency_hz=self.center_frequency_hz,
                    sample_count=count,
                    sample_format=self.sample_format,
                    flags=frame_flags,
                )
            )
            payload = wire[sent * per_sample : (sent + count) * per_sample]
            try:
                # one ZeroMQ message of two parts; the HWM check (and any wait) happens on the first part
                self._tx_sock.send(header, zmq.SNDMORE)
                self._tx_sock.send(payload, copy=False)
            except zmq.Again:
                self.count(
                    "timeouts",
                    f"tx to {self.tx_address}: no peer took frames for {self.timeout_s} s (gone or stalled)",
                )
                raise RadioTimeout(
                    f"{self.name}: tx blocked {self.timeout_s} s on {self.tx_address}: receiver running?"
                ) from None
            self._tx_seq += 1
            self._tx_next_ts += count
            sent += count
            self.counters.frames_tx += 1
        self.counters.samples_tx += n_total
        return n_total

    # ------------------------------------------------------------------------------------------ rx
    def _accept(self, parts: list) -> None:
        """Validate one received message; queue its samples or count and log why it was rejected."""
        # A message whose header cannot be trusted only counts as malformed; if it took the place of a
        # real frame, the next good frame shows the sequence gap (dropped_frames counts stream frames).
        if len(parts) != 2:
            self.count("malformed_frames", f"message has {len(parts)} parts, expected 2 (header, payload)")
            return
        try:
            h = unpack_header(parts[0].buffer)
        except FrameError as exc:
            self.count("malformed_frames", f"rejected frame ({exc.kind}): {exc}")
            return
        # sequence: a duplicate (just behind) is dropped; a restart (new stream id, sequence back to the
        # start or far behind, or a jump beyond MAX_SEQUENCE_JUMP) or a gap breaks the time line
        if self._rx_seq is not None and h.stream_id == self._rx_stream and 0 < self._rx_seq - h.sequence:
            back = self._rx_seq - h.sequence
            if h.sequence > 0 and back <= DUPLICATE_WINDOW:
                self.count("duplicate_frames", f"frame sequence {h.sequence} received again (expected {self._rx_seq})")
                return
        if self._rx_seq is not None and (h.stream_id != self._rx_stream or h.sequence < self._rx_seq):
            if h.stream_id != self._rx_stream:
                self.count("stream_changes", f"stream id changed {self._rx_stream} -> {h.stream_id}")
            self.count(
                "reconnects",
                f"stream restarted (stream {h.stream_id} sequence {h.sequence}, expected {self._rx_seq})",
                level=logging.INFO,
            )
            self._rx_next_ts = None
            self._rx_break = True
        elif self._rx_seq is not None and h.sequence - self._rx_seq > MAX_SEQUENCE_JUMP:
            self.count(
                "reconnects",
                f"sequence jumped from {self._rx_seq} to {h.sequence} (more than {MAX_SEQUENCE_JUMP} frames): "
                "stream restart or corrupt header, not counted as lost frames",
            )
            self._rx_next_ts = None
            self._rx_break = True
        elif self._rx_seq is not None and h.sequence > self._rx_seq:
            lost = h.sequence - self._rx_seq
            self.count("sequence_gaps", f"sequence gap: expected {self._rx_seq}, got {h.sequence}")
            self.count("dropped_frames", f"{lost} frame(s) lost before sequence {h.sequence}", by=lost)
            self._rx_break = True
        self._rx_seq = h.sequence + 1
        self._rx_stream = h.stream_id
        payload = parts[1].buffer
        expected_bytes = h.sample_count * bytes_per_sample(h.sample_format)
        if payload.nbytes != expected_bytes:
            what = "short" if payload.nbytes < expected_bytes else "long"
            self.count(
                "malformed_frames",
                f"rejected frame seq {h.sequence}: {what} payload, {payload.nbytes} bytes for "
                f"{h.sample_count} {h.sample_format} samples ({expected_bytes} bytes)",
            )
            self.counters.dropped_frames += 1
            self._rx_break = True  # its samples are missing from the time line
            return
        if h.sample_rate_hz != self.sample_rate_hz or h.center_frequency_hz != self.center_frequency_hz:
            key = (h.sample_rate_hz, h.center_frequency_hz)
            msg = (
                f"rejected frame seq {h.sequence}: stream is {h.sample_rate_hz / 1e6:g} Msps at "
                f"{h.center_frequency_hz / 1e6:g} MHz, this radio runs {self.sample_rate_hz / 1e6:g} Msps "
                f"at {self.center_frequency_hz / 1e6:g} MHz"
            )
            if key != self._mismatch_logged:
                self._mismatch_logged = key
                self.count("stream_changes", msg)
            self.counters.dropped_frames += 1
            self._rx_break = True
            self._rx_next_ts = None
            return
        self._mismatch_logged = None
        ts = h.timestamp if h.flags & FrameFlags.TIME_VALID else self._rx_next_ts or 0
        if self._rx_next_ts is not None and ts != self._rx_next_ts and not self._rx_break:
            if h.flags & FrameFlags.START_OF_BURST and ts > self._rx_next_ts:
                log_msg = f"new burst at n={ts} ({ts - self._rx_next_ts} samples after the previous one)"
                logging.getLogger("soragate.radio").info("[%s] %s", self.name, log_msg)
            else:
                self.count(
                    "timestamp_jumps",
                    f"timestamp jump at sequence {h.sequence}: expected n={self._rx_next_ts}, got n={ts}",
                )
            self._rx_break = True
        if h.flags & FrameFlags.UNDERFLOW:
            self.count("underflows", f"peer reported an underflow before n={ts}")
        if h.flags & FrameFlags.OVERFLOW:
            self.count("overflows", f"peer reported an overflow before n={ts}")
        samples = from_wire(payload, h.sample_format)
        bad = nonfinite_count(samples)
        if bad:
            self.count("malformed_frames", f"rejected frame seq {h.sequence}: {bad} NaN/inf samples at n={ts}")
            self.counters.dropped_frames += 1
            self._rx_break = True  # its samples are missing from the time line
            self._rx_next_ts = ts + h.sample_count
            return
        self._rx_queue.append((ts, samples, self._rx_break, bool(h.flags & FrameFlags.END_OF_BURST)))
        self._rx_break = False
        self._rx_next_ts = ts + h.sample_count
        self.counters.frames_rx += 1

    def _receive_one(self, deadline: float) -> bool:
        """Wait until `deadline` for one message and validate it; False on timeout."""
        remaining_ms = max(0, int((deadline - time.monotonic()) * 1000))
        if not self._rx_poller.poll(remaining_ms):
            return False
        parts = self._rx_sock.recv_multipart(copy=False)
        self._accept(parts)
        return True

    def wait_readable(self, timeout_s: float) -> bool:
        """True when samples are queued or a message arrives within timeout_s; a silence is not counted
        (the caller decides whether it is an error, e.g. while a peer process starts)."""
        if self._rx_sock is None:
            raise RadioError(f"{self.name}: no rx_address configured, this radio only transmits")
        return bool(self._rx_queue) or bool(self._rx_poller.poll(max(0, int(timeout_s * 1000))))

    def rx(self, n: int, timeout_s: float | None = None) -> RxBlock:
        """Up to n contiguous samples and the sample counter of the first (see base.Radio.rx)."""
        if self._rx_sock is None:
            raise RadioError(f"{self.name}: no rx_address configured, this radio only transmits")
        timeout_s = self.timeout_s if timeout_s is None else timeout_s
        deadline = time.monotonic() + timeout_s
        pieces: list[np.ndarray] = []
        got = 0
        start_ts = 0
        starts_segment = False  # the block starts after a discontinuity: return it without waiting for more
        while got < n:
            if not self._rx_queue:
                if got and starts_segment:
                    if not self._receive_one(time.monotonic()):  # only what has already arrived
                        break
                    continue
                if not self._receive_one(deadline):
                    self.count(
                        "timeouts",
                        f"no IQ frame from {self.rx_address} for {timeout_s} s: peer gone or stalled",
                    )
                    if got:
                        break
                    raise RadioTimeout(
                        f"{self.name}: nothing received from {self.rx_address} in {timeout_s} s"
                    )
                continue
            ts, samples, new_segment, ends_burst = self._rx_queue[0]
            if got and new_segment:
                break  # a discontinuity: return what is contiguous, never splice
            if not got:
                start_ts = ts
                starts_segment = new_segment
            take = min(n - got, len(samples))
            pieces.append(samples[:take])
            got += take
            if take == len(samples):
                self._rx_queue.popleft()
                if ends_burst:
                    break  # the sender marked the end of a burst: return it now
            else:
                self._rx_queue[0] = (ts + take, samples[take:], False, ends_burst)
        out = np.concatenate(pieces) if len(pieces) > 1 else pieces[0].copy()
        self.counters.samples_rx += got
        return RxBlock(out, start_ts)

    def close(self) -> None:
        if self.closed:
            return
        for sock in (self._tx_sock, self._rx_sock):
            if sock is not None:
                sock.close()
        if self._own_ctx:
            self._ctx.term()
        super().close()


@register_driver("zmq")
def _open_zmq(radio_config, sample_rate_hz: float, center_frequency_hz: float) -> ZmqStreamRadio:
    c = radio_config.zmq
    return ZmqStreamRadio(
        sample_rate_hz,
        center_frequency_hz,
        tx_address=c.tx_address,
        rx_address=c.rx_address,
        pattern=c.pattern,
        sample_format=c.sample_format,
        stream_id=c.stream_id,
        frame_samples=c.frame_samples,
        timeout_s=c.timeout_s,
        high_water_mark=c.high_water_mark,
    )
