"""`python -m gateway run`: the pass demo with tracking handsets (gateway.pass_demo.track_pass), its CLI
and report directory. Pipeline tier: eNodeB -> pre-compensation -> relay emulator -> Rel-8 phones that
search once and then track the cell across DRX gaps (phy.ue.tracker.CellTracker)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from gateway.__main__ import main
from gateway.config import load_config
from gateway.pass_demo import pass_slice, track_pass
from gateway.run_report import PLOTS
from phy.ue.tracker import CellTracker


@pytest.fixture(scope="module")
def cfg(hw_configs_dir):
    return load_config(hw_configs_dir / "loopback.yaml")


@pytest.fixture(scope="module")
def tracked(cfg):
    """3 windows of 40 ms, 1 s apart, at the pass's highest elevation, pre-compensation on."""
    return list(track_pass(cfg, pass_slice(cfg, seconds=2.0, window_s=0.04), precomp="both"))


def _print(rec):
    for name, k in rec["handsets"].items():
        print(f"{rec['t_from_max_s']:+.0f} s {name}: {k['state']} CFO {k.get('cfo_hz')} (geometry "
              f"{k['expected_cfo_hz']:.3f}) Hz, drift {k.get('drift_ns_s')} ns/s, delay {k.get('delay_residual_ns')} "
              f"(geometry {k['expected_delay_residual_ns']:.1f}) ns, SINR {k.get('sinr_db')} dB, MIB "
              f"{k.get('mib_decoded')}/{k.get('mib_sent')}, SIB1 {k.get('sib1_decoded')}/{k.get('sib1_sent')}, "
              f"BLER {k.get('bler')}, raw Doppler {k['raw_doppler_hz'] / 1e3:.1f} kHz")


def test_precompensated_centre_handset_stays_in_sync(tracked):
    """Beam centre: synchronised in every window after one acquisition, |CFO| < 5 Hz, |drift| < 10 ns/s,
    every MIB and SIB1 of the tracked subframes decoded, the PDSCH too."""
    for rec in tracked:
        _print(rec)
    ks = [rec["handsets"]["centre"] for rec in tracked]
    assert [k["state"] for k in ks] == ["sync"] * len(ks)
    assert [bool(k["acquired"]) for k in ks] == [True] + [False] * (len(ks) - 1)  # one cell search only
    for i, k in enumerate(ks):
        assert abs(k["cfo_hz"]) < 5.0
        assert (k["drift_ns_s"] is None) == (i == 0)  # the drift is measured across the DRX gap
        if i:
            assert abs(k["drift_ns_s"]) < 10.0
        assert k["mib_sent"] == 4 and k["mib_decoded"] == k["mib_sent"]  # PBCH in every subframe 0
        assert k["sib1_sent"] == 2 and k["sib1_decoded"] == k["sib1_sent"]  # subframe 5 of even frames
        assert k["pdsch_blocks"] > 0 and k["bler"] == 0.0 and k["throughput_bps"] > 1e6
        assert abs(k["sinr_db"] - k["budget_snr_db"]) < 1.0


def test_precompensated_edge_handset_sees_the_geometry_residual(tracked):
    """24 km from the beam centre the pre-compensation leaves the geometry's residual (plus the edge
    phone's 0.1 ppm crystal): measured CFO within 5 Hz and frame delay within 100 ns of the prediction."""
    ks = [rec["handsets"]["edge"] for rec in tracked]
    for k in ks:
        assert k["state"] == "sync"
        assert abs(k["cfo_hz"] - k["expected_cfo_hz"]) < 5.0
        assert abs(k["delay_residual_ns"] - k["expected_delay_residual_ns"]) < 100.0
        assert abs(k["expected_delay_residual_ns"]) > 1000.0 and abs(k["expected_cfo_hz"]) > 100.0  # off centre
    # the drift it tracks is the residual delay's rate plus its crystal's 100 ns/s
    exp = np.array([k["expected_delay_residual_ns"] for k in ks])
    rate = np.diff(exp) / np.diff([rec["t_from_max_s"] for rec in tracked])
    assert [k["drift_ns_s"] for k in ks[1:]] == pytest.approx(rate + 100.0, abs=10.0)


def test_without_precompensation_a_rel8_phone_fails_to_acquire(cfg):
    """The raw two-hop Doppler (46 GHz feeder + 770 MHz service) is far outside a phone's +-25 kHz search:
    the handset stays in cell search."""
    recs = list(track_pass(cfg, pass_slice(cfg, seconds=1.0, window_s=0.02), precomp="off", decode_pdsch=False))
    for rec in recs:
        for name, k in rec["handsets"].items():
            print(f"{name}: raw Doppler {k['raw_doppler_hz'] / 1e3:.1f} kHz, drift {k['raw_drift_ns_s']:.0f} ns/s "
                  f"-> {k['state']} ({k.get('reason')})")
            assert abs(k["raw_doppler_hz"]) > 25e3 and abs(k["raw_drift_ns_s"]) > 1000.0
            assert k["state"] == "search" and "cfo_hz" not in k


def test_cli_pass_demo_writes_the_report(tmp_path, capsys):
    """`run` (what `make run` calls) on a 2 s slice: plain lines when stdout is not a terminal, then the
    report directory with the KPI JSON (with the pre-compensation-off comparison) and every plot."""
    out_dir = tmp_path / "report"
    assert main(["run", "--seconds", "1", "--window-ms", "20", "--report-dir", str(out_dir)]) == 0
    out = capsys.readouterr().out
    assert "t_s elev centre:sync" in out  # the plain table header (pytest's stdout is not a TTY)
    assert "does not acquire the cell" in out and "OK: centre, edge tracked the cell" in out
    doc = json.loads((out_dir / "kpi.json").read_text())
    assert doc["run"]["precomp"] == "both" and doc["run"]["n_windows"] == 2
    tr = doc["run"]["transport"]  # the default topology: 3 processes over ZeroMQ, every sample counted
    assert doc["run"]["topology"] == "zmq" and "none lost or repeated" in out
    assert tr["gateway_tx"] == tr["relay_rx"] == tr["handset_rx"]["edge"] == tr["expected_samples"] > 0
    assert len(doc["windows"]) == 2 and set(doc["windows"][0]["handsets"]) == {"centre", "edge"}
    assert doc["summary"]["centre"]["in_sync"] == 2
    off = doc["precomp_off"]
    assert off["summary"]["centre"]["in_sync"] == 0 and off["summary"]["centre"]["max_abs_raw_doppler_hz"] > 25e3
    for name in PLOTS:
        assert (out_dir / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
    assert "does not acquire" in (out_dir / "summary.txt").read_text()


def test_cli_pass_demo_options(tmp_path):
    """--handsets by name, --precomp, --fading and --no-compare reach the run."""
    out_dir = tmp_path / "r"
    argv = ["run", "--seconds", "0.5", "--window-ms", "20", "--handsets", "edge", "--precomp", "doppler",
            "--fading", "ntn-tdl-c", "--no-compare", "--quiet", "--report-dir", str(out_dir)]
    assert main(argv) == 0
    doc = json.loads((out_dir / "kpi.json").read_text())
    assert doc["run"]["precomp"] == "doppler" and doc["run"]["fading"] == "NTN-TDL-C"
    assert [h["name"] for h in doc["run"]["handsets"]] == ["edge"] and doc["precomp_off"] is None
    assert doc["windows"][0]["handsets"]["edge"]["state"] == "sync"  # Doppler removed: the phone locks


@pytest.mark.parametrize(
    "argv, message",
    [
        (["run", "--precomp", "sometimes"], "argument --precomp: 'sometimes': give one of off, doppler, delay, both"),
        (["run", "--handsets", "21"], "argument --handsets: '21': the demo places 1 .. 20 handsets"),
        (["run", "--handsets", "centre,moon"], "argument --handsets: 'centre,moon': give a count or names"),
        (["run", "--fading", "NTN-TDL-Z"], "argument --fading: 'NTN-TDL-Z': give none or one of"),
        (["run", "--seconds", "nan"], "argument --seconds"),
        (["run", "--seconds", "-1"], "argument --seconds"),
        (["run", "--window-ms", "0"], "argument --window-ms"),
    ],
)
def test_cli_bad_values_end_in_one_line(argv, message, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0], err


@pytest.mark.parametrize(
    "argv, message",
    [
        (["run", "--ms", "40"], "error: only the static demo takes --ms: add --static"),
        (["run", "--in-process"], "error: only the static demo takes --in-process: add --static"),
        (["run", "--window-ms", "5"], "error: --window-ms 5: give 10 .. 1000 ms"),
        (["run", "--seconds", "1000"], "error: --seconds: seconds must be in [0, 304]"),
    ],
)
def test_cli_unusable_values_are_user_errors(argv, message, tmp_path, capsys):
    assert main([*argv, "--report-dir", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(message), err


def test_tracker_push_refuses_overlap():
    tracker = CellTracker(1, 25, 1, 0, 100.0, 0.0)
    tracker.push(np.zeros(1000, np.complex64), start=5000)
    with pytest.raises(ValueError, match="overlaps"):
        tracker.push(np.zeros(10, np.complex64), start=5500)


@pytest.mark.slow
def test_default_slice_tracks_through_a_minute(cfg):
    """`make run`'s default slice (61 windows of 100 ms around the highest elevation): both handsets in
    sync throughout, centre within 5 Hz / 10 ns/s, edge within 5 Hz / 100 ns of the geometry."""
    recs = list(track_pass(cfg, pass_slice(cfg, seconds=60.0, window_s=0.1), precomp="both"))
    for name in ("centre", "edge"):
        ks = [r["handsets"][name] for r in recs]
        assert all(k["state"] == "sync" for k in ks)
        assert all(k["mib_decoded"] == k["mib_sent"] and k["sib1_decoded"] == k["sib1_sent"] for k in ks)
        assert max(abs(k["cfo_hz"] - k["expected_cfo_hz"]) for k in ks) < 5.0
        assert max(abs(k["delay_residual_ns"] - k["expected_delay_residual_ns"]) for k in ks) < 100.0
    assert max(abs(r["handsets"]["centre"]["drift_ns_s"]) for r in recs[1:]) < 10.0
