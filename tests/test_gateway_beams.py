"""Many beams (issue 13): N cells, each with its own PCI/carrier/PLMN/beam centre/pre-compensation and radio
endpoint, on supervised worker processes (gateway/beams.py), checked over real ZeroMQ sockets on loopback."""

from __future__ import annotations

import os
import random
import signal
from dataclasses import replace

import numpy as np
import pytest
import yaml

from channel.relay import Handset, RelayConfig, RelayEmulator
from gateway.__main__ import main
from gateway.beams import BeamSupervisor, beam_plan, beam_stream, hex_offsets_m, plan_jobs
from gateway.cmd_plan import pass_residuals
from gateway.config import ConfigError, load_config
from gateway.enodeb import downlink_samples
from gateway.precomp import Compensator
from gateway.prediction import PassPrediction
from mac.ue_downlink import read_downlink
from orbit.geometry import Site
from phy.numerology import numerology
from phy.ue import read_cell
from phy.ue.downlink_rx import receive_downlink
from radio_drivers import RadioError, ZmqStreamRadio

N_MS = 40  # SIB1 in SFN 0 and 2 (subframe 5), heard D ~ 8.4 ms later
KILL_AT = 12  # beam 1's worker is killed once its radio has 12 subframes, well before its stream ends


def _cfg(hw_configs_dir, orbit: bool = True):
    cfg = load_config(hw_configs_dir / "loopback.yaml")  # 5 MHz: room for the ~1 MHz two-hop Doppler
    return replace(cfg, orbit=replace(cfg.orbit, enabled=orbit, pass_index=2,
                                      tle=str(hw_configs_dir / "bluebird.tle")),
                   link=replace(cfg.link, precomp="both"))


def _sinks(cfg, n_beams: int):
    """PULL radios bound on consecutive loopback ports (beam i on port + i), and the profile sending there."""
    fs = numerology(cfg.cell.n_rb_dl).sample_rate_hz
    for _ in range(20):
        base = random.randint(20000, 60000)
        sinks = []
        try:
            for i in range(n_beams):
                f_c = cfg.cell.dl_frequency_hz + (i % 3) * cfg.cell.bandwidth_hz  # checked by the sink
                sinks.append(ZmqStreamRadio(fs, f_c, rx_address=f"@tcp://127.0.0.1:{base + i}", timeout_s=10.0,
                                            high_water_mark=100_000))
        except RadioError:  # a port in use: another base
            for s in sinks:
                s.close()
            continue
        radio = replace(cfg.radio, driver="zmq",
                        zmq=replace(cfg.radio.zmq, tx_address=f">tcp://127.0.0.1:{base}", timeout_s=20.0))
        return replace(cfg, radio=radio), sinks
    raise RuntimeError("no free run of loopback ports")


def _collect(sink, n_samples: int) -> np.ndarray:
    """Every sample of a beam's stream, timestamps continuous from 0, nothing beyond."""
    blocks, n = [], 0
    while n < n_samples:
        b = sink.rx(n_samples - n, timeout_s=5.0)
        assert b.timestamp == n, "a gap or a duplicate in the beam's stream"
        blocks.append(b.samples)
        n += len(b.samples)
    with pytest.raises(Exception):  # noqa: B017 - nothing beyond the last sample
        sink.rx(1, timeout_s=0.2)
    c = sink.counters
    assert (c.dropped_frames, c.duplicate_frames, c.sequence_gaps, c.timestamp_jumps, c.reconnects) == (0,) * 5
    return np.concatenate(blocks)


def test_hex_layout_rings_and_spacing():
    xy = hex_offsets_m(19, 40e3)
    r = np.hypot(xy[:, 0], xy[:, 1])
    assert r[0] == 0 and np.allclose(r[1:7], 40e3)  # ring 1: six neighbours at the spacing
    assert np.allclose(r[7:19].max(), 80e3) and r[7:19].min() == pytest.approx(40e3 * np.sqrt(3))  # ring 2
    d = np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))
    assert d[np.triu_indices(19, 1)].min() == pytest.approx(40e3)  # no two centres closer than the spacing
    assert xy[1] == pytest.approx([40e3, 0.0])  # ring 1 starts east


def test_beam_plan_identities_carriers_endpoints(hw_configs_dir):
    cfg, sinks = _sinks(_cfg(hw_configs_dir), 0)
    cfg = replace(cfg, radio=replace(cfg.radio, zmq=replace(cfg.radio.zmq, tx_address="@tcp://*:6000")))
    plan = beam_plan(cfg, 4, 40e3, plmns=["440-10", "440-20", "440-30", "440-40"])
    assert [b.cfg.cell.pci for b in plan] == [1, 2, 3, 4]
    assert [b.cfg.cell.earfcn_dl for b in plan] == [9330, 9380, 9430, 9330]  # reuse 3, 5 MHz apart
    assert [b.cfg.system_info.plmn for b in plan] == ["440-10", "440-20", "440-30", "440-40"]
    assert len({b.cfg.system_info.cell_identity for b in plan}) == 4
    assert [b.cfg.radio.zmq.tx_address for b in plan] == [f"@tcp://*:{6000 + i}" for i in range(4)]
    assert [b.cfg.radio.zmq.stream_id for b in plan] == [0, 1, 2, 3]
    beam1 = Site("b1", plan[1].cfg.orbit.beam_lat_deg, plan[1].cfg.orbit.beam_lon_deg, plan[1].cfg.orbit.beam_alt_m)
    beam0 = Site("b0", cfg.orbit.beam_lat_deg, cfg.orbit.beam_lon_deg, cfg.orbit.beam_alt_m)
    assert np.linalg.norm(beam1.ecef_m - beam0.ecef_m) == pytest.approx(40e3, rel=1e-3)
    # bad input: one clear error naming the option
    with pytest.raises(ConfigError, match="--beam-plmns: 2 PLMNs for 4 beams"):
        beam_plan(cfg, 4, plmns=["440-10", "440-20"])
    with pytest.raises(ConfigError, match="--beam-reuse: 3 carriers .* leave the band"):
        beam_plan(replace(cfg, cell=replace(cfg.cell, n_rb_dl=100, earfcn_dl=9310)), 3)
    with pytest.raises(ConfigError, match="radio.driver: 'loopback'"):
        beam_plan(replace(cfg, radio=replace(cfg.radio, driver="loopback")), 2)
    with pytest.raises(ConfigError, match="port 0"):
        beam_plan(replace(cfg, radio=replace(cfg.radio, zmq=replace(cfg.radio.zmq, tx_address="@tcp://*:0"))), 2)


def test_resume_regenerates_the_precompensator_history(hw_configs_dir, monkeypatch):
    import gateway.beams as beams_mod

    cfg, _ = _sinks(_cfg(hw_configs_dir), 0)
    plan = beam_plan(cfg, 2)
    job = plan_jobs(plan, 24)[0][1]
    spsf = numerology(cfg.cell.n_rb_dl).samples_per_subframe
    full = np.concatenate([x for _, x in beam_stream(job)])
    resumed = list(beam_stream(job, 20))
    assert [n for n, _ in resumed] == [k * spsf for k in range(20, 24)]
    np.testing.assert_array_equal(np.concatenate([x for _, x in resumed]), full[20 * spsf:])
    # without the regenerated history the pre-compensator reads zeros for the first ~D: not the same stream
    monkeypatch.setattr(beams_mod, "resume_subframes", lambda d: 0)
    cold = np.concatenate([x for _, x in beam_stream(job, 20)])
    assert not np.array_equal(cold, full[20 * spsf:])


def test_three_beams_decode_carry_their_own_precomp_and_survive_a_killed_worker(hw_configs_dir):
    cfg, sinks = _sinks(_cfg(hw_configs_dir), 3)
    plmns = ["001-01", "440-10", "310-410"]
    plan = beam_plan(cfg, 3, 40e3, plmns=plmns)
    num = numerology(cfg.cell.n_rb_dl)
    fs, spsf = num.sample_rate_hz, num.samples_per_subframe
    killed = {}

    def kill_beam_1(sup):
        if not killed and sup.report[1].subframes >= KILL_AT:
            killed["pid"], killed["at"] = sup.worker_pid(1), sup.report[1].subframes
            os.kill(killed["pid"], signal.SIGKILL)

    sup = BeamSupervisor(plan, N_MS, workers=3)  # one worker per beam
    try:
        report = sup.run(kill_beam_1)
    finally:
        sup.close()
    streams = [_collect(s, N_MS * spsf) for s in sinks]
    for s in sinks:
        s.close()
    # the kill landed mid-stream; only beam 1 restarted, where its radio had stopped: at the count seen when the
    # kill was sent or a little later (frames the worker had already queued still arrive; the bit-exact
    # comparison below shows nothing was lost or repeated either way)
    assert killed and KILL_AT <= killed["at"] < N_MS
    assert report[0].restarts == report[2].restarts == [] and len(report[1].restarts) == 1
    # resumed at the first subframe not received: frames the worker had queued (high-water marks, kernel socket
    # buffers) arrive before, so at or after the count seen at the kill
    assert killed["at"] <= report[1].restarts[0] < N_MS
    assert [r.samples for r in report.values()] == [N_MS * spsf] * 3

    # the single-process reference of each beam: its eNodeB, pre-compensated towards its own centre on the
    # profile pass's time line (AOS at the profile's beam centre); equal bit for bit, across the restart too
    pred0 = PassPrediction.from_config(cfg)
    p = pred0.select_pass()
    n_aos = round(p.aos_s * fs)
    site0 = pred0.beam
    for b, y in zip(plan, streams, strict=True):
        pred = PassPrediction.from_config(b.cfg)
        d_s = pred.target_delay_s(p, fs)
        comp = Compensator(pred.dl_track(fs), d_s, "both")
        ref = comp.process(downlink_samples(b.cfg, N_MS), n_aos)
        np.testing.assert_array_equal(y, ref)

        # a handset at the beam's own centre (and one at beam 0's) behind the independent relay model
        handsets = [Handset("own", pred.beam), Handset("centre0", site0)]
        relay = RelayEmulator(pred.sat, pred.gateway, pred.beam, pred.carriers, handsets, cfg.cell.n_rb_dl, fs,
                              RelayConfig(awgn=False))
        rx = {"own": [], "centre0": []}
        for k in range(N_MS):
            for name, z in relay.downlink(y[k * spsf:(k + 1) * spsf], n_aos + k * spsf).items():
                rx[name].append(z)
        own = np.concatenate(rx["own"])
        cell = read_cell(own, fs)
        assert cell.pci == b.cfg.cell.pci and cell.sfn == 0
        # pre-compensated towards this centre: no Doppler left and the frame at exactly D (+-1 sample)
        assert abs(cell.cfo_hz) < 1.0
        assert cell.timing_offset_samples == pytest.approx(d_s * fs, abs=1.0)
        dl = read_downlink(receive_downlink(own, fs, cell))
        assert dl.sib1_ok >= 1 and dl.plmns == (plmns[b.index],)
        assert dl.cell_identity == b.cfg.system_info.cell_identity
        if b.index:
            # at beam 0's centre the beam shows its differential Doppler, as its own track predicts
            t_mid = np.array([p.aos_s + 0.02])
            res_delay_s, expected_cfo_hz = pass_residuals(pred, pred.dl_track(fs), site0, t_mid)
            cell0 = read_cell(np.concatenate(rx["centre0"]), fs)
            # (beam 1, 40 km east: about -141 Hz and -610 samples; beam 2: about -55 Hz and +339 samples)
            assert abs(res_delay_s[0] * fs) > 100 and abs(expected_cfo_hz[0]) > 30  # the tracks differ measurably
            assert cell0.cfo_hz == pytest.approx(expected_cfo_hz[0], abs=1.0)
            assert cell0.timing_offset_samples == pytest.approx((d_s + res_delay_s[0]) * fs, abs=1.5)


def test_a_killed_worker_with_two_beams_resumes_each_where_its_radio_stopped(hw_configs_dir):
    # 3 beams on 2 workers: beams 0 and 2 share worker 0; no orbit (the eNodeB streams, exactly)
    cfg, sinks = _sinks(_cfg(hw_configs_dir, orbit=False), 3)
    plan = beam_plan(cfg, 3)
    spsf = numerology(cfg.cell.n_rb_dl).samples_per_subframe
    killed = {}

    def kill_worker_0(sup):
        if not killed and sup.report[0].subframes >= 6:
            killed["pid"] = sup.worker_pid(0)
            killed["shared"] = sup.worker_pid(2) == killed["pid"]
            killed["at"] = [sup.next_subframe(b) for b in (0, 2)]
            os.kill(killed["pid"], signal.SIGKILL)

    sup = BeamSupervisor(plan, 30, workers=2)
    try:
        assert sup.assignment == [[0, 2], [1]]
        report = sup.run(kill_worker_0)
    finally:
        sup.close()
    streams = [_collect(s, 30 * spsf) for s in sinks]
    for s in sinks:
        s.close()
    assert killed and killed["shared"] and killed["at"][0] < 30 and killed["at"][1] < 30
    # each of the worker's beams resumed at its own next subframe (they need not be equal), unless the worker
    # had already put all of a beam's subframes into its sockets before the kill (the queues run ahead by the
    # high-water marks plus the kernel's socket buffers); beam 1 untouched
    assert report[1].restarts == [] and 1 <= len(report[0].restarts) + len(report[2].restarts) <= 2
    for b, at in zip((0, 2), killed["at"], strict=True):
        assert len(report[b].restarts) <= 1 and all(r >= at for r in report[b].restarts)
    for b, y in zip(plan, streams, strict=True):
        np.testing.assert_array_equal(y, downlink_samples(b.cfg, 30))


def test_transmit_beams_command_streams_each_beam_to_its_endpoint(hw_configs_dir, tmp_path, capsys):
    cfg, sinks = _sinks(_cfg(hw_configs_dir, orbit=False), 2)
    data = yaml.safe_load((hw_configs_dir / "loopback.yaml").read_text())
    data["radio"] = {"driver": "zmq", "zmq": {"tx_address": cfg.radio.zmq.tx_address, "timeout_s": 20.0}}
    profile = tmp_path / "beams.yaml"
    profile.write_text(yaml.safe_dump(data))
    spsf = numerology(25).samples_per_subframe
    try:
        assert main(["transmit", "--config", str(profile), "--seconds", "0.012", "--beams", "2",
                     "--beam-plmns", "440-10,440-20", "--workers", "2"]) == 0
        out = capsys.readouterr().out
        assert "2 beams" in out and "beam 1: PCI 2, EARFCN 9380" in out and "PLMN 440-20" in out
        assert "sent 12 ms on each of 2 beams" in out
        for i, s in enumerate(sinks):  # each sink only accepts its own beam's carrier
            y = _collect(s, 12 * spsf)
            np.testing.assert_array_equal(y, downlink_samples(beam_plan(load_config(profile), 2, plmns=[
                "440-10", "440-20"])[i].cfg, 12))
    finally:
        for s in sinks:
            s.close()
    assert main(["transmit", "--config", str(hw_configs_dir / "loopback.yaml"), "--beams", "2"]) == 2
    assert "radio.driver: 'loopback'" in capsys.readouterr().err
