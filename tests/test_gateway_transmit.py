"""`python -m gateway transmit`: the eNodeB stream reaches the profile's radio, timed and complete."""

from __future__ import annotations

import numpy as np
import pytest
import yaml
import zmq

from gateway.__main__ import main
from gateway.config import load_config
from gateway.enodeb import downlink_samples
from gateway.prediction import PassPrediction
from orbit.relay import relay_dl
from phy.numerology import numerology
from radio_drivers import ZmqStreamRadio


def _zmq_profile(tmp_path, hw_configs_dir, orbit_enabled: bool, precomp: str = "both", n_rb_dl: int = 6):
    data = yaml.safe_load((hw_configs_dir / "loopback.yaml").read_text())
    data["cell"]["n_rb_dl"] = n_rb_dl
    data["orbit"]["enabled"] = orbit_enabled
    data["orbit"]["tle"] = str(hw_configs_dir / "bluebird.tle")
    data["link"]["precomp"] = precomp
    data["radio"] = {"driver": "zmq", "zmq": {"tx_address": "@tcp://127.0.0.1:0", "timeout_s": 20.0}}
    path = tmp_path / "zmq.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def _transmit_and_collect(profile, n_ms):
    """Run `transmit` with its radio's endpoint taken by a PULL radio in this test."""
    cfg = load_config(profile)
    fs = numerology(cfg.cell.n_rb_dl).sample_rate_hz
    rx = ZmqStreamRadio(fs, cfg.cell.dl_frequency_hz, rx_address="@tcp://127.0.0.1:0", timeout_s=20.0)
    endpoint = rx._rx_sock.getsockopt_string(zmq.LAST_ENDPOINT)  # the port the OS gave the PULL socket
    data = yaml.safe_load(profile.read_text())
    data["radio"]["zmq"]["tx_address"] = ">" + endpoint
    profile.write_text(yaml.safe_dump(data))
    assert main(["transmit", "--config", str(profile), "--seconds", str(n_ms / 1000)]) == 0
    blocks = []
    n_expected = 0
    total = n_ms * numerology(cfg.cell.n_rb_dl).samples_per_subframe
    while n_expected < total:
        block = rx.rx(total - n_expected, timeout_s=5.0)
        assert block.timestamp == n_expected, "timestamps must be continuous from 0"
        blocks.append(block.samples)
        n_expected += len(block.samples)
    rx.close()
    return load_config(profile), np.concatenate(blocks)


def test_transmit_without_orbit_streams_the_enodeb_bit_exact(tmp_path, hw_configs_dir, capsys):
    profile = _zmq_profile(tmp_path, hw_configs_dir, orbit_enabled=False)
    cfg, got = _transmit_and_collect(profile, 12)
    np.testing.assert_array_equal(got, downlink_samples(cfg, 12))
    assert "pre-compensation: off" in capsys.readouterr().out


def test_transmit_with_orbit_applies_the_doppler_of_the_pass(tmp_path, hw_configs_dir, capsys):
    # 5 MHz (7.68 Msps): room for the ~1 MHz two-hop Doppler of a Q/V feeder
    profile = _zmq_profile(tmp_path, hw_configs_dir, orbit_enabled=True, precomp="doppler", n_rb_dl=25)
    cfg, got = _transmit_and_collect(profile, 12)
    ref = downlink_samples(cfg, 12)
    # Doppler-only pre-compensation is a pure phase rotation: same magnitudes, and the phase slope over the
    # 12 ms is minus the two-hop Doppler at AOS predicted by the geometry (DESIGN.md 3)
    np.testing.assert_allclose(np.abs(got), np.abs(ref), rtol=1e-4, atol=1e-6)
    z = got * np.conj(ref)  # |ref|^2 exp(j 2 pi phi(n))
    fs = numerology(25).sample_rate_hz
    slope_hz = np.angle(np.sum(z[1:] * np.conj(z[:-1]))) / (2 * np.pi) * fs  # mean frequency over 12 ms
    sc = PassPrediction.from_config(cfg)
    p = sc.select_pass()
    t_mid = np.array([p.aos_s + 0.006])
    doppler_hz = -relay_dl(sc.gateway, sc.sat, sc.beam, t_mid, sc.carriers).phase_rate_hz[0]
    assert doppler_hz > 5e5  # approaching at AOS: about +1 MHz on the 46 GHz feeder + 770 MHz service
    assert slope_hz == pytest.approx(-doppler_hz, abs=5.0)
    out = capsys.readouterr().out
    assert "pre-compensation: doppler" in out and "D = " in out


def test_transmit_refuses_doppler_beyond_the_stream(tmp_path, hw_configs_dir, capsys):
    # 1.4 MHz at 1.92 Msps: +-1 MHz of feeder Doppler would alias; the error says what to change
    profile = _zmq_profile(tmp_path, hw_configs_dir, orbit_enabled=True, precomp="both", n_rb_dl=6)
    assert main(["transmit", "--config", str(profile), "--seconds", "0.001"]) == 2
    err = capsys.readouterr().err
    assert "link.precomp: both: the pass's two-hop Doppler" in err and "use a wider cell.n_rb_dl" in err


def test_transmit_names_a_missing_device(hw_configs_dir, capsys):
    try:
        import SoapySDR  # noqa: F401
    except ImportError:
        pytest.skip("SoapySDR bindings not installed (tools/install_soapysdr.sh)")
    assert main(["transmit", "--config", str(hw_configs_dir / "bench_b210.yaml"), "--seconds", "0.001"]) == 3
    err = capsys.readouterr().err
    assert "radio error:" in err and "no device matches 'driver=uhd" in err


def test_a_stream_longer_than_the_pass_is_refused_before_it_starts(tmp_path, hw_configs_dir, capsys):
    """Past LOS the satellite is below the horizon: its delay outgrows D. Found running a 10-minute stream of
    the 304 s default pass: it stopped at 308 s with a traceback from the resampler's guard."""
    profile = _zmq_profile(tmp_path, hw_configs_dir, orbit_enabled=True)
    cfg = load_config(profile)
    p = PassPrediction.from_config(cfg).select_pass()
    assert main(["transmit", "--config", str(profile), "--seconds", str(p.los_s - p.aos_s + 5), "--no-pipeline"]) == 2
    err = capsys.readouterr().err
    assert "runs past the end of the selected pass" in err and f"{p.los_s - p.aos_s:.1f} s" in err
    assert "orbit.enabled: false" in err
    # the same for several beams (their common time line is the profile's pass), before any worker starts
    data = yaml.safe_load(profile.read_text())
    data["radio"]["zmq"]["tx_address"] = "@tcp://127.0.0.1:47311"
    profile.write_text(yaml.safe_dump(data))
    assert main(["transmit", "--config", str(profile), "--seconds", str(p.los_s - p.aos_s + 5), "--beams", "2"]) == 2
    assert "runs past the end of the selected pass" in capsys.readouterr().err
