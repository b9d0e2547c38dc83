"""The tracking receiver (phy.ue.tracker.CellTracker) and `python -m gateway monitor` on a recording with a
known Doppler ramp: the project's eNodeB through one hop whose delay tau(t) = tau0 + v t + a t^2 / 2 is
applied by the project's Farrow time warp with the matching carrier phase -f_c tau(t) (DESIGN.md 3), as a
pass without pre-compensation looks to a handset. Every 100 ms point must give the Doppler -f_c dtau/dt
within 2 Hz and the timing drift dtau/dt within 5 ns/s (over the interval between two points)."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from scan_captures import DopplerRamp, enodeb_config, enodeb_downlink, sdr_capture, write_raw

from gateway.__main__ import main
from phy.awgn import add_awgn
from phy.numerology import numerology
from phy.ue.scan import find_cells
from phy.ue.tracker import CellTracker

N_RB, PCI = 25, 137
FS = numerology(N_RB).sample_rate_hz
# LEO-like at 770 MHz: 20 us/s closing (+15.4 kHz), the Doppler falling 308 Hz/s
RAMP = DopplerRamp(fc_hz=770e6, tau0_s=2e-4, v=-20e-6, a_per_s=4e-7)


@pytest.fixture(scope="module")
def ramp_signal():
    x = enodeb_downlink(enodeb_config(N_RB, 2, PCI, sfn_start=100), 640)
    return add_awgn(RAMP.apply(x, FS), 20.0, N_RB, np.random.default_rng(5))


def _check_points(points):
    assert len(points) >= 5
    for p in points:
        assert abs(p.cfo_hz - RAMP.doppler_hz(p.t_s)) < 2.0, (p.t_s, p.cfo_hz, RAMP.doppler_hz(p.t_s))
        assert p.mib_ok and p.cfi == 2 and p.sinr_db == pytest.approx(20.0, abs=1.5)
        assert p.sib1_ok == 1.0  # every 100 ms interval holds SIB1 occasions (every 20 ms)
    for prev, p in zip(points, points[1:], strict=False):
        truth_ns_s = (RAMP.tau(p.t_s) - RAMP.tau(prev.t_s)) / (p.t_s - prev.t_s) * 1e9
        assert abs(p.drift_ns_s - truth_ns_s) < 5.0, (p.t_s, p.drift_ns_s, truth_ns_s)
        # timing against the nominal clock follows tau(t) (a constant apart)
        d_ns = p.timing_ns - points[0].timing_ns
        assert d_ns == pytest.approx((RAMP.tau(p.t_s) - RAMP.tau(points[0].t_s)) * 1e9, abs=2.0)


def test_tracker_follows_the_doppler_ramp(ramp_signal):
    (cell,) = find_cells(ramp_signal[: int(0.05 * FS)], FS)
    tracker = CellTracker(cell.pci, N_RB, cell.n_ports, cell.sfn, cell.timing_offset_samples, cell.cfo_hz,
                          c_rnti=0x46)  # the loopback profile's full-buffer user
    for s in range(0, ramp_signal.size, 77_777):  # any block sizes
        tracker.push(ramp_signal[s : s + 77_777])
    _check_points(tracker.points)
    assert [p.sfn for p in tracker.points[:3]] == [100, 110, 120]
    for p in tracker.points:  # about one block per subframe (none where SIB/paging leave no room)
        assert p.user_blocks >= 80 and p.bler == 0.0


def test_monitor_cli_on_a_hackrf_like_recording(ramp_signal, tmp_path, capsys):
    """Through an SDR at 19.2 Msps (int8, -25 dBc IQ image, DC): the ramp survives the front end."""
    y = sdr_capture(ramp_signal, N_RB, 19.2e6, snr_db=None, duration_s=0.62, image_dbc=-25.0, dc=0.02 - 0.01j,
                    level_dbfs=-14.0)
    path = write_raw(tmp_path / "pass.ci8", y, "ci8")
    out = tmp_path / "kpi"
    argv = ["monitor", str(path), "--format", "ci8", "--rate", "19.2e6", "--quiet",
            "--json", f"{out}.json", "--csv", f"{out}.csv", "--png", f"{out}.png"]
    assert main(argv) == 0
    data = json.loads((tmp_path / "kpi.json").read_text())
    assert data["cell"]["pci"] == PCI and data["interval_s"] == 0.1

    class P:
        def __init__(self, d):
            self.__dict__.update(d)

    _check_points([P(d) for d in data["points"]])
    rows = list(csv.DictReader(open(tmp_path / "kpi.csv")))
    assert len(rows) == len(data["points"]) and float(rows[1]["cfo_hz"]) == data["points"][1]["cfo_hz"]
    assert (tmp_path / "kpi.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_monitor_rejects_a_capture_without_a_cell(tmp_path, capsys):
    rng = np.random.default_rng(0)
    noise = (0.05 * (rng.standard_normal(200_000) + 1j * rng.standard_normal(200_000))).astype(np.complex64)
    path = write_raw(tmp_path / "noise.ci8", noise, "ci8")
    assert main(["monitor", str(path), "--format", "ci8", "--rate", "1.92e6", "--quiet"]) == 2
    assert "no LTE cell" in capsys.readouterr().err
