"""The pass demo's topologies (gateway.pass_topology): gateway process -> ZeroMQ -> relay process -> ZeroMQ ->
handsets gives the handsets the in-process chain's samples bit for bit and the same KPIs, moves every
sample exactly once (counted at every socket), and names the stage that died; `--record-handset` writes
a SigMF recording an independent receiver (python -m gateway scan, phy.ue.read_cell) decodes the cell
from; `--handsets N` places handsets deterministically on rings around the beam centre."""

from __future__ import annotations

import json

import numpy as np
import pytest

from gateway.__main__ import main
from gateway.cmd_run import MAX_HANDSETS, handset_names
from gateway.config import load_config
from gateway.pass_demo import (
    RING_SIZE,
    RING_STEP_M,
    demo_handsets,
    demo_plan,
    pass_slice,
    relay_config,
    track_pass,
    window_relay,
)
from gateway.pass_topology import ZmqTopology, check_accounting
from gateway.prediction import PassPrediction
from orbit.geometry import look_angles
from phy.ue import read_cell
from radio_drivers import RadioError, read_sigmf
from radio_drivers.capture_file import contiguous_segments


@pytest.fixture(scope="module")
def cfg(hw_configs_dir):
    return load_config(hw_configs_dir / "loopback.yaml")


class _Tap:
    """Collects what track_pass hands a handset: [(counter, samples)]."""

    def __init__(self):
        self.got: list[tuple[int, np.ndarray]] = []

    def tx(self, samples, timestamp):
        self.got.append((timestamp, np.array(samples, copy=True)))


def _run(cfg, sl, source=None, **kw):
    taps = {"centre": _Tap(), "edge": _Tap()}
    recs = list(track_pass(cfg, sl, "both", source=source, taps=taps, **kw))
    return recs, taps


def _assert_identical(a, b):
    """Same KPI records (every float equal, not close) and the same received IQ, bit for bit."""
    recs_a, taps_a = a
    recs_b, taps_b = b
    assert recs_a == recs_b
    for name in taps_a:
        assert len(taps_a[name].got) == len(recs_a)
        for (ta, ya), (tb, yb) in zip(taps_a[name].got, taps_b[name].got, strict=True):
            assert ta == tb and ya.dtype == yb.dtype == np.complex64 and ya.shape == yb.shape
            assert np.array_equal(ya.view(np.uint32), yb.view(np.uint32)), f"{name}: IQ differs at n={ta}"


@pytest.fixture(scope="module")
def both_topologies(cfg):
    """2 windows of 20 ms, 1 s apart at the highest elevation, both handsets: in process, then over ZeroMQ."""
    sl = pass_slice(cfg, seconds=1.0, window_s=0.02)
    topo = ZmqTopology(cfg)
    return sl, _run(cfg, sl), _run(cfg, sl, topo), topo


def test_zmq_topology_gives_the_in_process_handsets_bit_for_bit(cfg, both_topologies):
    sl, in_proc, zmq_run, topo = both_topologies
    _assert_identical(in_proc, zmq_run)
    recs = zmq_run[0]
    # the comparison is of a live signal: both phones locked, the AWGN is on (each window's noise differs)
    assert all(k["state"] == "sync" and k["mib_decoded"] == k["mib_sent"] > 0
               for r in recs for k in r["handsets"].values())
    (_, y0), (_, y1) = zmq_run[1]["centre"].got
    assert y0.size == y1.size and np.mean(np.abs(y0) ** 2) > 0.01 and not np.array_equal(y0, y1)
    assert not np.array_equal(zmq_run[1]["centre"].got[0][1], zmq_run[1]["edge"].got[0][1])


def test_zmq_topology_moves_every_sample_once(cfg, both_topologies):
    """Every stage moved exactly the plan's samples, one frame per subframe, and said so in its counters."""
    sl, _, _, topo = both_topologies
    plan = demo_plan(cfg, sl, "both")
    expected = plan.n_windows * plan.subframes_per_window * plan.spf
    acc = topo.accounting
    assert acc["expected_samples"] == expected == 2 * 31 * 7680
    assert acc["gateway_tx"] == acc["relay_rx"] == acc["relay_emulator_in"] == expected
    for name in ("centre", "edge"):
        assert acc["relay_tx"][name] == acc["relay_emulator_out"][name] == acc["handset_rx"][name] == expected
    c = topo.counters
    for key in ("gateway_tx", "relay_rx", "relay_tx_centre", "handset_rx_edge"):
        assert c[key].get("frames_tx", 0) + c[key].get("frames_rx", 0) == plan.n_windows * plan.subframes_per_window
        assert c[key]["dropped_frames"] == c[key]["duplicate_frames"] == c[key]["timestamp_jumps"] == 0
    # the check itself refuses one missing sample or one duplicated frame
    short = json.loads(json.dumps(c))
    short["handset_rx_edge"]["samples_rx"] -= 1
    with pytest.raises(RadioError, match=r"handset_rx\[edge\]"):
        check_accounting(short, plan, ["centre", "edge"])
    dup = json.loads(json.dumps(c))
    dup["relay_rx"]["duplicate_frames"] = 1
    with pytest.raises(RadioError, match="relay_rx.duplicate_frames=1"):
        check_accounting(dup, plan, ["centre", "edge"])


def test_relay_noise_depends_on_the_seed(cfg):
    """The identity above is not a constant: another relay seed gives other received samples."""
    sl = pass_slice(cfg, seconds=0.0, window_s=0.02)
    pred = PassPrediction.from_config(cfg)
    plan = demo_plan(cfg, sl, "both", pred)
    hs = demo_handsets(pred, cfg.relay, 1)
    x = np.ones(plan.spf, np.complex64)
    n = plan.first_sample(0)
    st = relay_config(cfg.relay)
    import dataclasses

    a = window_relay(cfg, plan, 0, hs, st, pred).downlink(x, n)["centre"]
    b = window_relay(cfg, plan, 0, hs, st, pred).downlink(x, n)["centre"]
    c = window_relay(cfg, plan, 0, hs, dataclasses.replace(st, seed=st.seed + 1), pred).downlink(x, n)["centre"]
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_a_vanished_relay_is_named(cfg):
    """The relay process killed after the first window: the run stops with its exit status, no hang."""
    sl = pass_slice(cfg, seconds=8.0, window_s=0.02)  # 9 windows: the relay cannot be done at the kill
    topo = ZmqTopology(cfg)
    windows = topo(demo_plan(cfg, sl, "both"), demo_handsets(PassPrediction.from_config(cfg), cfg.relay, 1),
                   relay_config(cfg.relay))
    w, rx = next(windows)
    assert w == 0 and rx["centre"].size == 21 * 7680
    topo.stages["relay"].kill()
    with pytest.raises(RadioError, match=r"the relay process exited with status -9"):
        for _ in windows:
            pass
    assert all(p.poll() is not None for p in topo.stages.values())  # both stages stopped


def test_record_handset_is_a_sigmf_recording_an_independent_receiver_decodes(cfg, tmp_path, capsys):
    """`run --record-handset centre`: one SigMF capture per window at the handset's counter; `gateway scan`
    finds the cell (PCI, SIB1: PLMN, cell identity) with no residual CFO in each window (a contiguous SigMF
segment), and phy.ue.read_cell on the second
    capture finds the gateway's frame boundary D after it left (within a sample) and its SFN."""
    out = tmp_path / "r"
    argv = ["run", "--seconds", "1", "--window-ms", "20", "--handsets", "1", "--topology", "in-process",
            "--record-handset", "centre", "--no-compare", "--quiet", "--report-dir", str(out)]
    assert main(argv) == 0
    capsys.readouterr()
    rec = read_sigmf(out / "handset_centre")
    sl = pass_slice(cfg, seconds=1.0, window_s=0.02)
    plan = demo_plan(cfg, sl, "both")
    assert rec.sample_rate_hz == plan.sample_rate_hz and rec.center_frequency_hz == cfg.cell.dl_frequency_hz
    assert rec.samples.size == plan.n_windows * plan.n_keep * plan.spf
    assert [c[:2] for c in rec.captures] == [(w * plan.n_keep * plan.spf, plan.kept_sample(w)) for w in range(2)]
    assert json.loads((out / "kpi.json").read_text())["run"]["recorded"] == {"centre": "handset_centre.sigmf-meta"}

    for segment in (0, 1):  # the windows are bursts: scan reads one contiguous segment at a time
        assert main(["scan", str(out / "handset_centre.sigmf-meta"), "--json", "--quiet",
                     "--segment", str(segment)]) == 0
        res = capsys.readouterr()
        cells = json.loads(res.out)["cells"]
        assert cells[0]["pci"] == cfg.cell.pci and cells[0]["n_rb_dl"] == cfg.cell.n_rb_dl
        sib1 = cells[0]["system_info"]["sib1"]
        assert sib1["plmns"] == [str(p) for p in cfg.system_info.plmn_list]
        assert sib1["cell_identity"] == cfg.system_info.cell_identity
        assert abs(cells[0]["cfo_hz"]) < 5.0  # pre-compensated at the beam centre
    assert main(["scan", str(out / "handset_centre.sigmf-meta"), "--quiet", "--no-sib"]) == 0
    assert "2 discontinuous capture segments" in capsys.readouterr().err  # not read as one stream

    start, c0 = rec.captures[1][:2]
    cell = read_cell(rec.samples[start:start + plan.n_keep * plan.spf], plan.sample_rate_hz)
    # the frame found at handset counter c left the gateway at c - D (beam centre: residual < 1 ns)
    k = (c0 + cell.timing_offset_samples - plan.d_s * plan.sample_rate_hz - plan.n_aos) / plan.spf
    assert abs(k - round(k)) * plan.spf < 1.0 and round(k) % 10 == 0
    assert cell.sfn == (cfg.cell.sfn_start + round(k) // 10) % 1024 and cell.pci == cfg.cell.pci


def test_handsets_on_rings(cfg):
    """--handsets N: centre, edge, then RING_SIZE per ring at 12, 24, 36 km, 60 deg apart starting 30 deg
    past the edge's azimuth, crystals alternating +-0.1 ppm; the same placement every call."""
    assert handset_names("2") == ("centre", "edge")
    assert handset_names("5") == ("centre", "edge", "r1-0", "r1-1", "r1-2")
    assert handset_names("r2-1,centre") == ("centre", "r2-1")
    pred = PassPrediction.from_config(cfg)
    hs = demo_handsets(pred, cfg.relay, MAX_HANDSETS)
    assert hs == demo_handsets(pred, cfg.relay, MAX_HANDSETS) and len(hs) == 20 == 2 + 3 * RING_SIZE
    assert [h.name for h in hs[:2]] == ["centre", "edge"] and hs[1].site == pred.edge
    edge_az = look_angles(pred.beam, pred.edge.ecef_m)[0][0]
    for j, h in enumerate(hs[2:]):
        ring, pos = j // RING_SIZE + 1, j % RING_SIZE
        az, _, rng = look_angles(pred.beam, h.site.ecef_m)
        assert h.name == f"r{ring}-{pos}"
        assert rng[0] == pytest.approx(ring * RING_STEP_M, abs=5.0)  # surface distance ~ chord at 36 km
        assert (az[0] - edge_az - 30.0 - 60.0 * pos + 180.0) % 360.0 - 180.0 == pytest.approx(0.0, abs=0.05)
        assert h.clock_ppm == pytest.approx(0.1 if j % 2 == 0 else -0.1)
    sites = {(round(h.site.lat_deg, 5), round(h.site.lon_deg, 5)) for h in hs}
    assert len(sites) == len(hs)  # nobody on top of anybody


def test_cli_more_handsets_and_bad_record_name(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["run", "--handsets", str(MAX_HANDSETS + 1)])
    assert f"the demo places 1 .. {MAX_HANDSETS} handsets" in capsys.readouterr().err
    argv = ["run", "--handsets", "centre", "--record-handset", "edge", "--report-dir", str(tmp_path / "r")]
    assert main(argv) == 2
    assert "--record-handset edge: not among this run's handsets (centre)" in capsys.readouterr().err


@pytest.mark.slow
def test_zmq_topology_identical_with_fading_and_ring_handsets(cfg):
    """The longer variant: 6 windows of 100 ms, NTN-TDL-C fading, 5 handsets (rings), both topologies."""
    import dataclasses

    sl = pass_slice(cfg, seconds=5.0, window_s=0.1)
    pred = PassPrediction.from_config(cfg)
    hs = demo_handsets(pred, cfg.relay, 5)
    st = dataclasses.replace(relay_config(cfg.relay), fading="NTN-TDL-C")
    a = _run(cfg, sl, handsets=hs, relay_settings=st)
    topo = ZmqTopology(cfg)
    b = _run(cfg, sl, topo, handsets=hs, relay_settings=st)
    _assert_identical(a, b)
    assert set(topo.accounting["handset_rx"]) == {h.name for h in hs}


def test_sigmf_bursts_split_into_contiguous_segments():
    """radio_drivers.capture_file.contiguous_segments: captures merge while core:global_index continues."""
    caps = [{"core:sample_start": 0, "core:global_index": 100}, {"core:sample_start": 50, "core:global_index": 150},
            {"core:sample_start": 80, "core:global_index": 1000}]
    assert contiguous_segments(caps, 120) == [(0, 80), (80, 120)]
    assert contiguous_segments(caps[:2], 120) == [(0, 120)]  # a retune without a time jump: one stream
    assert contiguous_segments([{"core:sample_start": 0}], 10) == [(0, 10)]
