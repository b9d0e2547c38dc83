"""Pipeline tier: gateway -> (ZeroMQ) -> loopback channel -> emulated handset, and `record` -> SigMF."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import yaml

from gateway import cmd_run
from gateway.__main__ import main
from phy.numerology import numerology
from phy.ue import read_cell
from radio_drivers import read_sigmf


def _profile(tmp_path, hw_configs_dir, **cell):
    data = yaml.safe_load((hw_configs_dir / "loopback.yaml").read_text())
    data["cell"].update(cell)
    path = tmp_path / "profile.yaml"
    path.write_text(yaml.safe_dump(data))
    return path, data


@pytest.mark.parametrize("in_process", [True, False], ids=["in-process", "zmq-2-processes"])
def test_run_finds_the_cell_it_sent(tmp_path, hw_configs_dir, in_process, capsys):
    profile, data = _profile(tmp_path, hw_configs_dir, pci=301, n_ports=2, cfi=3, sfn_start=517)
    report_path = tmp_path / "report.json"
    argv = ["run", "--static", "--config", str(profile), "--ms", "25", "--report", str(report_path)]
    assert main(argv + (["--in-process"] if in_process else [])) == 0
    out = capsys.readouterr().out
    assert "found PCI 301" in out and "OK:" in out
    report = json.loads(report_path.read_text())
    assert report["mismatches"] == {}
    cell = report["cell"]
    assert (cell["pci"], cell["n_ports"], cell["cfi"]) == (301, 2, 3)
    # the handset's frame timing and SFN: the channel delays by delay_samples, frames start at SFN 517
    assert cell["timing_offset_samples"] == data["channel"]["delay_samples"]
    assert cell["sfn"] == 517
    assert cell["cfo_hz"] == pytest.approx(data["channel"]["cfo_hz"], abs=5.0)
    if not in_process:
        assert report["discontinuities"] == 0
        assert report["samples"] == 25 * numerology(data["cell"]["n_rb_dl"]).samples_per_subframe
        assert report["radio_counters"]["malformed_frames"] == 0


def _slow_child(delay_s: float):
    """cmd_run._start_child, but the handset process starts `delay_s` late (a loaded machine)."""
    real = cmd_run._start_child

    def start(cmd):
        return real(["sh", "-c", f'sleep {delay_s}; exec "$@"', "sh", *cmd])

    return start


def test_zmq_run_waits_for_a_slow_handset_process(tmp_path, hw_configs_dir, monkeypatch, capsys):
    """The gateway's tx waits as long as the handset process lives, however long its start-up takes: here
    the profile's ZeroMQ timeout is 0.2 s and the handset starts 2 s late (the flaky 'tx blocked 10.0 s'
    was a fixed timeout shorter than a loaded machine's start-up)."""
    profile, data = _profile(tmp_path, hw_configs_dir, n_rb_dl=6)
    data["radio"]["zmq"] = {"timeout_s": 0.2}
    profile.write_text(yaml.safe_dump(data))
    monkeypatch.setattr(cmd_run, "_start_child", _slow_child(2.0))
    report_path = tmp_path / "report.json"
    assert main(["run", "--static", "--config", str(profile), "--ms", "12", "--report", str(report_path)]) == 0
    report = json.loads(report_path.read_text())
    assert report["discontinuities"] == 0 and report["mismatches"] == {}
    assert report["gateway_radio_counters"]["timeouts"] >= 5  # it did wait, one radio timeout at a time


def test_zmq_run_stops_waiting_when_the_handset_process_dies(tmp_path, hw_configs_dir, monkeypatch, capsys):
    profile, data = _profile(tmp_path, hw_configs_dir, n_rb_dl=6)
    data["radio"]["zmq"] = {"timeout_s": 0.2}
    profile.write_text(yaml.safe_dump(data))
    monkeypatch.setattr(cmd_run, "_start_child", lambda cmd: subprocess.Popen([sys.executable, "-c", "exit(7)"]))
    assert main(["run", "--static", "--config", str(profile), "--ms", "12", "--report", str(tmp_path / "r.json")]) == 3
    assert "the handset process did not take the downlink" in capsys.readouterr().err


def test_run_reports_a_bad_profile(tmp_path, hw_configs_dir, capsys):
    profile, _ = _profile(tmp_path, hw_configs_dir, n_rb_dl=24)
    assert main(["run", "--config", str(profile)]) == 2
    assert "cell.n_rb_dl: 24 is not allowed" in capsys.readouterr().err


def test_record_writes_sigmf_a_receiver_can_read(tmp_path, hw_configs_dir):
    profile, data = _profile(tmp_path, hw_configs_dir, n_rb_dl=6, pci=17, sfn_start=100)
    stem = tmp_path / "dl"
    assert main(["record", "--config", str(profile), "--seconds", "0.02", "--out", str(stem)]) == 0
    rec = read_sigmf(stem)
    num = numerology(6)
    assert rec.sample_rate_hz == num.sample_rate_hz == 1.92e6
    assert rec.center_frequency_hz == pytest.approx(770e6)
    assert "PCI 17" in rec.description and "6 PRB" in rec.description
    assert rec.samples.dtype == np.complex64 and len(rec.samples) == 20 * num.samples_per_subframe
    meta = json.loads(stem.with_suffix(".sigmf-meta").read_text())
    assert meta["global"]["core:datatype"] == "cf32_le"
    # the file is raw cf32_le: an independent reader sees the same samples
    raw = np.fromfile(stem.with_suffix(".sigmf-data"), dtype="<c8")
    np.testing.assert_array_equal(raw, rec.samples)
    report = read_cell(rec.samples, rec.sample_rate_hz)
    assert (report.pci, report.n_rb_dl, report.sfn, report.timing_offset_samples) == (17, 6, 100, 0)
