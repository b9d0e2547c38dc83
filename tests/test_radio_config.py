"""radio: config section, hw_configs profiles, open_radio and the loopback radio."""

from __future__ import annotations

import numpy as np
import pytest

import radio_drivers
from gateway.config import ConfigError, config_from_dict, load_config
from gateway.config.radio import DRIVERS
from radio_drivers import LoopbackRadio, RadioTimeout, open_radio

pytestmark = pytest.mark.timeout(30)
PROFILES = ["loopback", "bench_b210", "bench_x310_gpsdo", "bench_limesdr", "field_trial"]


def test_config_driver_names_match_the_registry():
    assert set(DRIVERS) == set(radio_drivers.driver_names())


@pytest.mark.parametrize("name", PROFILES)
def test_profiles_load(hw_configs_dir, name):
    cfg = load_config(hw_configs_dir / f"{name}.yaml")
    assert cfg.radio.driver in DRIVERS


def test_field_trial_is_gpsdo_timed_recorded_and_conservative(hw_configs_dir):
    r = load_config(hw_configs_dir / "field_trial.yaml").radio
    assert r.driver == "soapy" and r.soapy.time_source == "gpsdo" and r.soapy.clock_source == "gpsdo"
    assert r.record.enabled and r.soapy.tx_gain_db <= 50


@pytest.mark.parametrize(
    "radio, key",
    [
        ({"driver": "usrp"}, "radio.driver"),
        ({"zmq": {"pattern": "router"}}, "radio.zmq.pattern"),
        ({"zmq": {"timeout_s": "soon"}}, "radio.zmq.timeout_s"),
        ({"soapy": {"time_source": "ntp"}}, "radio.soapy.time_source"),
        ({"soapy": {"gain": 3}}, "radio.soapy.gain"),
        ({"driver": "sigmf"}, "radio.sigmf.path"),
        ({"srsran_zmq": {"sample_format": "cu8"}}, "radio.srsran_zmq.sample_format"),
    ],
)
def test_errors_name_the_key(radio, key):
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        config_from_dict({"radio": radio})


def test_unknown_driver_at_open_lists_the_known_ones():
    with pytest.raises(radio_drivers.RadioError, match="known drivers: .*zmq"):
        radio_drivers.get_driver("usrp")


def test_loopback_delay_and_gaps():
    cfg = config_from_dict({"radio": {"driver": "loopback", "loopback": {"delay_samples": 3}}})
    r = open_radio(cfg.radio, sample_rate_hz=1.92e6, center_frequency_hz=770e6)
    assert isinstance(r, LoopbackRadio)
    x = np.arange(1, 6).astype(np.complex64)
    r.tx(x)
    s, ts = r.rx(8)
    assert ts == 0 and np.array_equal(s, np.concatenate([np.zeros(3), x]).astype(np.complex64))
    r.tx(x[:2], timestamp=10)  # transmit gap n = 5..9 reads as silence
    s, ts = r.rx(100)
    assert ts == 8 and np.array_equal(s, np.array([0, 0, 0, 0, 0, 1, 2], np.complex64))
    with pytest.raises(RadioTimeout):
        r.rx(1)
    r.tx(x, timestamp=0)  # late: counted, dropped
    assert r.counters.late_bursts == 1
