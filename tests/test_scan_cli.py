"""`python -m gateway scan` from the command line: the ../shared/vectors captures as their README states,
SigMF input (rate, format, frequency from the meta), JSON output, and clear one-line errors for bad files
(empty, truncated, missing meta, wrong --format with the format its bytes suggest, too short)."""

from __future__ import annotations

import json
import types

import numpy as np
import pytest
from scan_captures import enodeb_config, enodeb_downlink, quantise, sdr_capture, write_raw

from gateway.__main__ import main
from radio_drivers import write_sigmf

PCI150 = "lte_dl_pci150_2port_1.92Msps.cf32"
PCI1 = "lte_dl_pci1_6prb_1port_cfi3_1.92Msps.cf32"


def _scan_json(capsys, *argv) -> dict:
    assert main(["scan", *argv, "--json", "--quiet"]) == 0
    return json.loads(capsys.readouterr().out)


def test_vector_pci150_two_ports_mib_only(capsys, vectors_dir):
    out = _scan_json(capsys, str(vectors_dir / PCI150), "--format", "cf32", "--rate", "1.92e6")
    (cell,) = out["cells"]
    assert (cell["pci"], cell["n_ports"], cell["n_rb_dl"], cell["sfn"]) == (150, 2, 50, 28)
    assert (cell["phich_duration"], cell["phich_resource"]) == ("normal", "one")
    assert cell["frame_start_sample"] == 0.0  # its PSS of subframe 0 at sample 832
    assert not cell["full_band"] and cell["cfi"] is None and cell["system_info"] is None
    assert any("central 6 PRB" in n and "MIB only" in n for n in out["notes"])


def test_vector_pci1_cfi3_sib1(capsys, vectors_dir):
    out = _scan_json(capsys, str(vectors_dir / PCI1), "--format", "cf32", "--rate", "1.92M")
    (cell,) = out["cells"]
    assert (cell["pci"], cell["n_ports"], cell["n_rb_dl"], cell["cfi"]) == (1, 1, 6, 3)
    assert cell["frame_start_sample"] == 0.0  # the file starts at subframe 0
    si = cell["system_info"]
    assert si["sib1_ok"] == 1 and si["sib1"]["plmns"] == ["001-01"] and si["sib1"]["freq_band_indicator"] == 7
    assert si["sib1"]["si_window_ms"] == 40
    # the SI message of subframe 2 (before SIB1 in the file) is read on the second pass: SIB2
    assert si["si_ok"] == 1 and si["sib2"] is not None


def test_vector_plain_words(capsys, vectors_dir):
    assert main(["scan", str(vectors_dir / PCI1), "--format", "cf32", "--rate", "1.92e6", "--quiet"]) == 0
    text = capsys.readouterr().out
    assert "PCI 1 (N_ID_1 0, N_ID_2 1), 1 CRS port(s), 1.4 MHz (6 PRB)" in text
    assert "SIB1: PLMN(s) 001-01" in text and "band 7" in text and "CFI 3" in text
    assert "SIB2: PRACH configuration index" in text and "RACH: 52 preambles" in text


@pytest.fixture(scope="module")
def sdr_signal():
    """30 ms of a 5 MHz eNodeB downlink (PCI 77) through an SDR at 7.68 Msps: +12 kHz CFO, DC, 10 dB."""
    x = enodeb_downlink(enodeb_config(25, 1, 77, sfn_start=3), 40)
    return sdr_capture(x, 25, 7.68e6, snr_db=10.0, cfo_hz=12e3, start=4321, duration_s=0.03,
                       dc=0.02 + 0.01j, level_dbfs=-18.0)


def test_sigmf_recording_rate_and_frequency_from_the_meta(tmp_path, capsys, sdr_signal):
    write_sigmf(tmp_path / "rec", sdr_signal, 7.68e6, 2.6e9, "scan test")
    out = _scan_json(capsys, str(tmp_path / "rec.sigmf-meta"), "--no-sib")
    assert out["sample_rate_hz"] == 7.68e6 and out["center_frequency_hz"] == 2.6e9
    (cell,) = out["cells"]
    assert cell["pci"] == 77 and cell["cfo_hz"] == pytest.approx(12e3, abs=30)


def test_raw_ci8_with_progress_line(tmp_path, capsys, sdr_signal):
    path = write_raw(tmp_path / "hackrf.bin", sdr_signal, "ci8")
    assert main(["scan", str(path), "--format", "ci8", "--rate", "7.68M", "--no-sib"]) == 0
    cap = capsys.readouterr()
    assert "PCI 77" in cap.out
    assert "\rscan: " in cap.err and "\n" not in cap.err.strip("\n")  # one line, updated in place


# --- bad files ---------------------------------------------------------------------------------


def _fails(capsys, argv, status, *words):
    assert main(["scan", *argv, "--quiet"]) == status
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    for w in words:
        assert w in err, err
    return err


def test_empty_file(tmp_path, capsys):
    (tmp_path / "e.bin").write_bytes(b"")
    _fails(capsys, [str(tmp_path / "e.bin"), "--format", "ci8", "--rate", "19.2e6"], 3, "empty")


def test_missing_sigmf_meta(tmp_path, capsys, sdr_signal):
    data, meta = write_sigmf(tmp_path / "rec", sdr_signal, 7.68e6, 2.6e9, "x")
    meta.unlink()
    _fails(capsys, [str(data)], 3, "metadata", "not found", "--format")


def test_truncated_sigmf_recording(tmp_path, capsys, sdr_signal):
    data, _ = write_sigmf(tmp_path / "rec", sdr_signal, 7.68e6, 2.6e9, "x")
    with open(data, "r+b") as f:
        f.truncate(data.stat().st_size - 3)
    _fails(capsys, [str(tmp_path / "rec")], 3, "truncated")


def test_truncated_raw_file_scans_what_is_there(tmp_path, capsys, sdr_signal):
    path = write_raw(tmp_path / "cut.cf32", sdr_signal, "cf32")
    with open(path, "r+b") as f:
        f.truncate(path.stat().st_size - 5)
    assert main(["scan", str(path), "--format", "cf32", "--rate", "7.68e6", "--no-sib", "--quiet"]) == 0
    cap = capsys.readouterr()
    assert "PCI 77" in cap.out and "truncated" in cap.err


def test_too_short_capture(tmp_path, capsys, sdr_signal):
    path = write_raw(tmp_path / "short.ci8", sdr_signal[:20_000], "ci8")
    _fails(capsys, [str(path), "--format", "ci8", "--rate", "7.68e6"], 2, "at least 5 ms")


def test_raw_file_needs_format_and_rate(tmp_path, capsys, sdr_signal):
    path = write_raw(tmp_path / "x.bin", sdr_signal, "ci8")
    _fails(capsys, [str(path)], 3, "--format", "--rate")


@pytest.mark.parametrize("actual,given", [("ci8", "cf32"), ("ci16", "cf32"), ("cf32", "ci16")])
def test_wrong_format_says_what_the_bytes_look_like(tmp_path, capsys, sdr_signal, actual, given):
    path = tmp_path / "x.bin"
    path.write_bytes(quantise(sdr_signal, actual))
    err = _fails(capsys, [str(path), "--format", given, "--rate", "7.68e6", "--no-sib"], 2, "no LTE cell")
    assert f"look like {actual}" in err and f"--format {actual}" in err


def test_bad_rate_argument(capsys, vectors_dir):
    with pytest.raises(SystemExit) as exc:
        main(["scan", str(vectors_dir / PCI1), "--format", "cf32", "--rate", "fast"])
    assert exc.value.code == 2
    assert "--rate" in capsys.readouterr().err


def test_live_scan_from_a_profiles_radio(tmp_path, capsys, hw_configs_dir):
    """--config: receive from the profile's radio (here the sigmf playback driver, no hardware)."""
    assert main(["record", "--config", str(hw_configs_dir / "loopback.yaml"), "--seconds", "0.2",
                 "--out", str(tmp_path / "dl")]) == 0
    capsys.readouterr()
    text = (hw_configs_dir / "loopback.yaml").read_text()
    assert "radio:\n  driver: loopback\n" in text
    profile = tmp_path / "play.yaml"
    profile.write_text(text.replace("radio:\n  driver: loopback\n",
                                    f"radio:\n  driver: sigmf\n  sigmf:\n    path: {tmp_path / 'dl'}\n"))
    out = _scan_json(capsys, "--config", str(profile), "--seconds", "0.18")
    (cell,) = out["cells"]
    assert (cell["pci"], cell["n_rb_dl"], cell["sfn"]) == (1, 25, 0)
    assert out["center_frequency_hz"] == 770e6 and cell["system_info"]["sib1"]["plmns"] == ["001-01"]


def test_file_or_config_not_both(capsys, vectors_dir, hw_configs_dir):
    _fails(capsys, [], 2, "--config")
    _fails(capsys, [str(vectors_dir / PCI1), "--config", str(hw_configs_dir / "loopback.yaml")], 2, "--config")


def test_rtl_sdr_rate_reads_the_mib_and_says_so(tmp_path, capsys):
    """A 5 MHz cell in a 2.4 Msps uint8 capture: only the central 6 PRB fit, so MIB only, and it says so."""
    x = enodeb_downlink(enodeb_config(25, 2, 77, sfn_start=3), 40)
    y = sdr_capture(x, 25, 2.4e6, snr_db=10.0, cfo_hz=-7e3, start=999, duration_s=0.03, level_dbfs=-12.0)
    path = write_raw(tmp_path / "rtl.cu8", y, "cu8")
    out = _scan_json(capsys, str(path), "--format", "cu8", "--rate", "2.4M")
    (cell,) = out["cells"]
    assert (cell["pci"], cell["n_ports"], cell["n_rb_dl"]) == (77, 2, 25)
    assert not cell["full_band"] and cell["system_info"] is None and cell["cfi"] is None
    assert any("2.4 Msps covers only the central 6 PRB" in n for n in out["notes"])


def test_non_finite_samples_are_zeroed_and_counted(tmp_path, capsys, sdr_signal):
    y = sdr_signal.copy()
    y[1000:1100] = np.nan
    path = write_raw(tmp_path / "nan.cf32", y, "cf32")
    out = _scan_json(capsys, str(path), "--format", "cf32", "--rate", "7.68e6", "--no-sib")
    assert out["cells"][0]["pci"] == 77 and out["non_finite_samples"] == 100
    assert any("non-finite" in n for n in out["notes"])


class _LiveFakeSoapyDevice:
    """A SoapySDR.Device stand-in streaming a recording like a receiver: MTU-sized timed packets from the
    activation time, then timeouts. Settings calls are accepted and ignored."""

    def __init__(self, samples: np.ndarray, sample_rate_hz: float, mtu: int = 4096):
        import SoapySDR

        self.soapy, self.samples, self.fs, self.mtu = SoapySDR, samples, sample_rate_hz, mtu
        self.hw_time_ns, self.t0_ns, self.pos, self.tuned = 0, 0, 0, []

    def __getattr__(self, name):
        return lambda *args: self.tuned.append((name, *args))

    def setHardwareTime(self, t_ns, what=""):
        self.hw_time_ns = int(t_ns)

    def getHardwareTime(self, what=""):
        return self.hw_time_ns

    def setupStream(self, direction, fmt, channels, args=None):
        return direction

    def getStreamMTU(self, stream):
        return self.mtu

    def activateStream(self, stream, flags=0, time_ns=0, num_elems=0):
        if stream == self.soapy.SOAPY_SDR_RX:
            self.t0_ns = int(time_ns)
        return 0

    def readStream(self, stream, buffs, num_elems, flags=0, timeout_us=100000):
        n = min(int(num_elems), self.samples.size - self.pos)
        if n <= 0:
            return types.SimpleNamespace(ret=self.soapy.SOAPY_SDR_TIMEOUT, flags=0, timeNs=0)
        buffs[0][:n] = self.samples[self.pos : self.pos + n]
        t_ns = self.t0_ns + round(self.pos / self.fs * 1e9)
        self.pos += n
        return types.SimpleNamespace(ret=n, flags=self.soapy.SOAPY_SDR_HAS_TIME, timeNs=t_ns)


def test_live_scan_through_the_soapysdr_driver(tmp_path, capsys, hw_configs_dir, monkeypatch):
    """--config with `driver: soapy`: the real SoapySDR driver (radio_drivers/soapy.py, the real bindings'
    constants) reading timed packets from a fake device that plays the gateway's own downlink."""
    pytest.importorskip("SoapySDR", reason="SoapySDR bindings not installed (tools/install_soapysdr.sh)")
    import radio_drivers.soapy as soapy_driver
    from radio_drivers import read_sigmf

    assert main(["record", "--config", str(hw_configs_dir / "loopback.yaml"), "--seconds", "0.2",
                 "--out", str(tmp_path / "dl")]) == 0
    capsys.readouterr()
    rec = read_sigmf(tmp_path / "dl")
    opened = []

    def open_fake(args):
        opened.append(args)
        return _LiveFakeSoapyDevice(rec.samples, rec.sample_rate_hz)

    monkeypatch.setattr(soapy_driver, "open_device", open_fake)
    text = (hw_configs_dir / "loopback.yaml").read_text()
    profile = tmp_path / "live.yaml"
    profile.write_text(text.replace("radio:\n  driver: loopback\n",
                                    "radio:\n  driver: soapy\n  soapy:\n    args: \"driver=fake\"\n"))
    out = _scan_json(capsys, "--config", str(profile), "--seconds", "0.18")
    assert opened == ["driver=fake"]
    (cell,) = out["cells"]
    assert (cell["pci"], cell["n_rb_dl"], cell["sfn"]) == (1, 25, 0)
    assert cell["system_info"]["sib1"]["plmns"] == ["001-01"]
