"""`transmit --pipeline`: the eNodeB in a worker process gives the single-process stream bit for bit."""

from __future__ import annotations

import os

import numpy as np
import pytest
import yaml
import zmq

import gateway.pipeline as pipeline_mod
from gateway.__main__ import main
from gateway.config import load_config
from gateway.pipeline import downlink_source
from phy.numerology import numerology
from radio_drivers import ZmqStreamRadio


def _profile(tmp_path, hw_configs_dir, name, **cell):
    data = yaml.safe_load((hw_configs_dir / "loopback.yaml").read_text())
    data["cell"].update(cell)
    data["orbit"]["enabled"] = True
    data["orbit"]["tle"] = str(hw_configs_dir / "bluebird.tle")
    data["link"]["precomp"] = "both"
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def _transmit(profile, n_ms: int, *flags: str) -> np.ndarray:
    """Run `transmit` to a zmq sink in this test; every sample of the n_ms, timestamps continuous from 0."""
    cfg = load_config(profile)
    num = numerology(cfg.cell.n_rb_dl)
    sink = ZmqStreamRadio(num.sample_rate_hz, cfg.cell.dl_frequency_hz, rx_address="@tcp://127.0.0.1:0",
                          timeout_s=20.0, high_water_mark=10_000)
    data = yaml.safe_load(profile.read_text())
    endpoint = sink._rx_sock.getsockopt_string(zmq.LAST_ENDPOINT)
    data["radio"] = {"driver": "zmq", "zmq": {"tx_address": ">" + endpoint, "timeout_s": 20.0}}
    profile.write_text(yaml.safe_dump(data))
    try:
        assert main(["transmit", "--config", str(profile), "--seconds", str(n_ms / 1000), *flags]) == 0
        total, blocks, n = n_ms * num.samples_per_subframe, [], 0
        while n < total:
            b = sink.rx(total - n, timeout_s=5.0)
            assert b.timestamp == n, "a gap or a duplicate in the transmitted stream"
            blocks.append(b.samples)
            n += len(b.samples)
        with pytest.raises(Exception):  # noqa: B017 - nothing beyond the last sample
            sink.rx(1, timeout_s=0.2)
    finally:
        sink.close()
    return np.concatenate(blocks)


def test_pipelined_transmit_with_precomp_both_equals_one_process(tmp_path, hw_configs_dir, capsys):
    # the default profile's cell and pass (5 MHz, pass_index 2), pre-compensation both
    profile = _profile(tmp_path, hw_configs_dir, "both")
    one = _transmit(profile, 25, "--no-pipeline")
    assert "one process" in capsys.readouterr().out
    two = _transmit(profile, 25, "--pipeline", "--enodeb-workers", "1")
    out = capsys.readouterr().out
    assert "pipelined (1 eNodeB worker process)" in out and "WARNING" not in out
    assert np.any(one != 0)
    np.testing.assert_array_equal(two, one)  # bit for bit: cf32 on the wire carries the floats exactly
    three = _transmit(profile, 25, "--pipeline", "--enodeb-workers", "2")  # subframes built in turn
    assert "pipelined (2 eNodeB worker processes)" in capsys.readouterr().out
    np.testing.assert_array_equal(three, one)


def test_transmit_refuses_enodeb_workers_it_cannot_use(hw_configs_dir, capsys):
    profile = str(hw_configs_dir / "loopback.yaml")
    with pytest.raises(SystemExit) as exc:  # argparse's usage error
        main(["transmit", "--config", profile, "--enodeb-workers", "0"])
    assert exc.value.code == 2 and "--enodeb-workers: '0': give a whole number >= 1" in capsys.readouterr().err
    assert main(["transmit", "--config", profile, "--no-pipeline", "--enodeb-workers", "2"]) == 2
    assert "--enodeb-workers 2 needs the pipeline, which is off" in capsys.readouterr().err


def test_pipelined_source_is_sample_exact_with_two_ports(hw_configs_dir):
    from dataclasses import replace

    cfg = load_config(hw_configs_dir / "loopback.yaml")
    cfg = replace(cfg, cell=replace(cfg.cell, n_rb_dl=6, n_ports=2))
    with downlink_source(cfg, 30, pipeline=False) as blocks:
        ref = list(blocks)
    for workers in (1, 2, 3):  # one worker, or several building the subframes in turn
        with downlink_source(cfg, 30, pipeline=True, workers=workers) as blocks:
            got = list(blocks)
        assert [n for n, _ in got] == [n for n, _ in ref] == [k * 1920 for k in range(30)]
        for (_, a), (_, b) in zip(got, ref, strict=True):
            np.testing.assert_array_equal(a, b)


def test_a_failing_worker_stops_the_stream_with_its_error(hw_configs_dir, monkeypatch):
    cfg = load_config(hw_configs_dir / "loopback.yaml")

    def broken(cfg, n_subframes, k_first=0, stride=1):
        yield 0, np.zeros(numerology(cfg.cell.n_rb_dl).samples_per_subframe, np.complex64)
        raise ValueError("scheduler exploded")

    monkeypatch.setattr(pipeline_mod, "_in_process", broken)
    with pytest.raises(RuntimeError, match="(?s)no subframe 1 .*scheduler exploded"):
        with downlink_source(cfg, 5, pipeline=True, workers=1) as blocks:
            list(blocks)


def test_a_gap_at_the_stage_boundary_is_refused(hw_configs_dir, monkeypatch):
    cfg = load_config(hw_configs_dir / "loopback.yaml")
    spsf = numerology(cfg.cell.n_rb_dl).samples_per_subframe

    def skipping(cfg, n_subframes, k_first=0, stride=1):
        for k in (0, 2):  # subframe 1 never sent
            yield k * spsf, np.ones(spsf, np.complex64)

    monkeypatch.setattr(pipeline_mod, "_in_process", skipping)
    with pytest.raises(RuntimeError, match="starts at sample n=15360 where n=7680 was due"):
        with downlink_source(cfg, 3, pipeline=True, workers=1) as blocks:
            list(blocks)


def test_a_killed_worker_is_restarted_and_the_stream_resumes_sample_exact(hw_configs_dir, monkeypatch, tmp_path):
    from dataclasses import replace

    cfg = load_config(hw_configs_dir / "loopback.yaml")
    cfg = replace(cfg, cell=replace(cfg.cell, n_rb_dl=6))
    with downlink_source(cfg, 40, pipeline=False) as blocks:
        ref = np.concatenate([x for _, x in blocks])
    original = pipeline_mod._in_process
    marker = tmp_path / "killed_once"

    def dies_once(cfg, n_subframes, k_first=0, stride=1):
        for n, x in original(cfg, n_subframes, k_first, stride):
            if n == 23 * 1920 and not marker.exists():  # the first worker dies before sending subframe 23
                marker.write_text("x")
                os._exit(9)
            yield n, x

    monkeypatch.setattr(pipeline_mod, "_in_process", dies_once)
    for workers in (1, 2):  # with 2, worker 1 (odd subframes) dies while worker 0 goes on
        marker.unlink(missing_ok=True)
        with downlink_source(cfg, 40, pipeline=True, workers=workers) as blocks:
            got = list(blocks)
        assert marker.exists()
        assert [n for n, _ in got] == [k * 1920 for k in range(40)]  # no gap, no duplicate across the restart
        np.testing.assert_array_equal(np.concatenate([x for _, x in got]), ref)


def test_antenna_subframe_is_the_sum_of_the_ports_ofdm_signals(hw_configs_dir):
    """Summing the ports on the grid before one IFFT (what transmit streams) equals OFDM per port then
    the sum (TS 36.211 6.12 is linear), to float32 rounding; same scheduler state either way."""
    from dataclasses import replace

    from gateway.enodeb import ENodeB, combine_ports

    cfg = load_config(hw_configs_dir / "loopback.yaml")
    cfg = replace(cfg, cell=replace(cfg.cell, n_rb_dl=25, n_ports=2))
    a, b = ENodeB(cfg), ENodeB(cfg)
    for k in range(12):
        n, x = a.antenna_subframe(k)
        sf = b.subframe(k)
        ref = combine_ports(sf.samples)
        assert n == sf.n == k * 7680
        assert np.max(np.abs(x - ref)) <= 1e-6 * np.max(np.abs(ref))
        assert np.max(np.abs(ref)) > 0.1


def test_shared_memory_ring_is_a_bounded_ordered_buffer():
    import multiprocessing

    from gateway.shm_ring import SubframeRing

    ctx = multiprocessing.get_context("fork")
    ring = SubframeRing(3, 8, ctx)
    try:
        for seq in range(3):
            ring.put(seq, 8 * seq, np.full(8, seq + 1j, np.complex64), timeout_s=1.0)
        with pytest.raises(TimeoutError, match="consumer stopped"):  # full: the producer waits, then says so
            ring.put(3, 24, np.zeros(8, np.complex64), timeout_s=0.05)
        seq, n, x = ring.take(0, timeout_s=1.0)
        assert (seq, n) == (0, 0) and np.array_equal(x, np.full(8, 1j, np.complex64))
        ring.put(3, 24, np.full(8, 7, np.complex64), timeout_s=1.0)  # the slot just freed
        assert [ring.take(k, 1.0)[1] for k in (1, 2, 3)] == [8, 16, 24]
        assert ring.take(4, timeout_s=0.05) is None  # empty
        with pytest.raises(ValueError, match="do not fit"):
            ring.put(4, 32, np.zeros(9, np.complex64), timeout_s=0.05)
    finally:
        ring.close()


def _spawned_producer(ring):
    for seq in range(3):
        ring.put(seq, 4 * seq, np.full(4, seq, np.complex64), timeout_s=10.0)


def test_shared_memory_ring_crosses_a_spawned_process():
    """Where there is no fork (macOS, Windows) the ring is a named shared-memory block a spawned child maps."""
    import multiprocessing

    from gateway.shm_ring import SubframeRing

    ctx = multiprocessing.get_context("spawn")
    ring = SubframeRing(2, 4, ctx)
    try:
        child = ctx.Process(target=_spawned_producer, args=(ring,))
        child.start()
        got = [ring.take(k, timeout_s=30.0) for k in range(3)]
        child.join(timeout=30.0)
        assert child.exitcode == 0
        assert [(s, n) for s, n, _ in got] == [(0, 0), (1, 4), (2, 8)]
        assert [x.tolist() for _, _, x in got] == [[k + 0j] * 4 for k in range(3)]
    finally:
        ring.close()
