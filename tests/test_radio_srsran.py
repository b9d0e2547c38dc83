"""srsRAN ZMQ radio mode against a small peer that follows srsRAN's REQ/REP protocol (as srsUE would)."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import zmq

from radio_drivers import RadioTimeout, SrsranZmqRadio

pytestmark = pytest.mark.timeout(60)


def _echo_peer(ctx, our_tx: str, peer_tx: str, rounds: int, stop: threading.Event):
    """srsUE-like peer: REQ to our tx_port (1-byte request, 0xFF), echoes each reply on its REP tx_port."""
    req = ctx.socket(zmq.REQ)
    req.connect(our_tx)
    rep = ctx.socket(zmq.REP)
    rep.bind(peer_tx)
    for _ in range(rounds):
        req.send(b"\xff")
        samples = req.recv()
        assert len(rep.recv()) == 1  # our rx sends a 1-byte request
        rep.send(samples)
    stop.wait(5)
    req.close(0)
    rep.close(0)


@pytest.mark.parametrize("fmt", ["cf32_le", "ci16_le"])
def test_round_trip_through_a_srsran_style_peer(fmt, tmp_path):
    our_tx, peer_tx = f"ipc://{tmp_path}/enb_tx", f"ipc://{tmp_path}/ue_tx"
    radio = SrsranZmqRadio(1.92e6, 770e6, tx_port=our_tx, rx_port=peer_tx, sample_format=fmt, timeout_s=5)
    ctx = zmq.Context()
    ctx.setsockopt(zmq.LINGER, 2000)  # a test that fails before closing must not hang GC (term waits on linger)
    stop = threading.Event()
    peer = threading.Thread(target=_echo_peer, args=(ctx, our_tx, peer_tx, 3, stop))
    peer.start()
    rng = np.random.default_rng(2)
    x = (0.3 * (rng.standard_normal(3 * 1920) + 1j * rng.standard_normal(3 * 1920))).astype(np.complex64)
    x = np.clip(x.real, -1, 1) + 1j * np.clip(x.imag, -1, 1)
    x = x.astype(np.complex64)

    def send():
        radio.tx(x[:1920], timestamp=0)
        radio.tx(x[1920:3840])
        radio.tx(x[3840:])

    sender = threading.Thread(target=send)
    sender.start()
    y0, ts0 = radio.rx(2500)
    y1, ts1 = radio.rx(3 * 1920 - 2500)
    sender.join(10)
    stop.set()
    peer.join(10)
    y = np.concatenate([y0, y1])
    assert (ts0, ts1) == (0, 2500)
    if fmt == "cf32_le":
        assert np.array_equal(y, x)
    else:
        assert np.max(np.abs(y - x)) <= np.sqrt(2) * 0.5 / 32767 + 1e-7
    assert radio.counters.samples_tx == radio.counters.samples_rx == 3 * 1920
    radio.close()
    ctx.term()


def test_wire_bytes_and_tx_gap_zero_fill(tmp_path):
    """A transmit timestamp after the link's next sample is filled with zeros (srsRAN's tx_align)."""
    our_tx = f"ipc://{tmp_path}/tx"
    radio = SrsranZmqRadio(1.92e6, 770e6, tx_port=our_tx, rx_port="", timeout_s=5)
    ctx = zmq.Context()
    ctx.setsockopt(zmq.LINGER, 2000)  # a test that fails before closing must not hang GC (term waits on linger)
    req = ctx.socket(zmq.REQ)
    req.connect(our_tx)
    x = np.array([1 + 2j, 3 - 4j], np.complex64)
    t = threading.Thread(target=lambda: radio.tx(x, timestamp=3))
    t.start()
    replies = []
    for _ in range(2):
        req.send(b"\xff")
        replies.append(req.recv())
    t.join(5)
    assert replies[0] == np.zeros(3, np.complex64).tobytes()  # 3 zero samples, float32 I/Q
    assert replies[1] == np.array([1, 2, 3, -4], "<f4").tobytes()
    # a late timestamp drops the late part and is counted
    t = threading.Thread(target=lambda: radio.tx(np.ones(4, np.complex64), timestamp=3))
    t.start()
    req.send(b"\xff")
    assert len(req.recv()) == 2 * 8  # samples for n=5, 6 only
    t.join(5)
    assert radio.counters.late_bursts == 1
    req.close(0)
    ctx.term()
    radio.close()


def test_silent_peer_times_out_and_rx_recovers(tmp_path):
    radio = SrsranZmqRadio(1.92e6, 770e6, tx_port="", rx_port=f"ipc://{tmp_path}/none", timeout_s=0.2)
    with pytest.raises(RadioTimeout):
        radio.rx(100)
    assert radio.counters.timeouts == 1 and radio.counters.reconnects == 1
    ctx = zmq.Context()
    ctx.setsockopt(zmq.LINGER, 2000)  # a test that fails before closing must not hang GC (term waits on linger)
    rep = ctx.socket(zmq.REP)
    rep.bind(f"ipc://{tmp_path}/none")  # the peer appears: the fresh REQ socket gets through
    t = threading.Thread(target=lambda: (rep.recv(), rep.send(np.ones(100, np.complex64).tobytes())))
    t.start()
    s, ts = radio.rx(100, timeout_s=5)
    t.join(5)
    assert len(s) == 100 and ts == 0 and np.all(s == 1)
    rep.close(0)
    ctx.term()
    radio.close()
