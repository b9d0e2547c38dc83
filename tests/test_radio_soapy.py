"""SoapySDR driver: call sequences on a fake device with SoapySDR's signatures; real enumeration."""

from __future__ import annotations

import types

import numpy as np
import pytest

from radio_drivers import RadioError, SoapyRadio
from radio_drivers.soapy import open_device

pytestmark = pytest.mark.timeout(30)

try:
    import SoapySDR as SOAPY

    SOAPY_REASON = ""
except ImportError as exc:  # the constants below then follow SoapySDR's Constants.h / Errors.h
    SOAPY = types.SimpleNamespace(
        SOAPY_SDR_TX=0, SOAPY_SDR_RX=1, SOAPY_SDR_CF32="CF32", SOAPY_SDR_HAS_TIME=4, SOAPY_SDR_END_BURST=2,
        SOAPY_SDR_TIMEOUT=-1, SOAPY_SDR_STREAM_ERROR=-2, SOAPY_SDR_CORRUPTION=-3, SOAPY_SDR_OVERFLOW=-4,
        SOAPY_SDR_NOT_SUPPORTED=-5, SOAPY_SDR_TIME_ERROR=-6, SOAPY_SDR_UNDERFLOW=-7,
        errToStr=lambda code: str(code),
    )  # fmt: skip
    SOAPY_REASON = f"SoapySDR bindings not importable: {exc}"


class Result:
    """Like SoapySDR.StreamResult: ret, flags, timeNs."""

    def __init__(self, ret, flags=0, time_ns=0):
        self.ret, self.flags, self.timeNs, self.chanMask = ret, flags, time_ns, 0


class FakeDevice:
    """Records every call; writeStream accepts up to `accept` samples; statuses are injected."""

    def __init__(self, mtu=1000, statuses=(), rx_script=()):
        self.calls = []
        self.mtu = mtu
        self.statuses = list(statuses)
        self.rx_script = list(rx_script)
        self.hw_time_ns = 5_000_000_000
        self.written = []

    def __getattr__(self, name):  # setters we do not model: just record them
        def record(*args):
            self.calls.append((name, *args))

        return record

    def getHardwareTime(self, what=""):
        return self.hw_time_ns

    def setupStream(self, direction, fmt, channels, args=None):
        self.calls.append(("setupStream", direction, fmt, list(channels)))
        return f"stream{direction}"

    def getStreamMTU(self, stream):
        return self.mtu

    def activateStream(self, stream, flags=0, time_ns=0, num_elems=0):
        self.calls.append(("activateStream", stream, flags, time_ns))
        return 0

    def writeStream(self, stream, buffs, num_elems, flags=0, time_ns=0, timeout_us=100000):
        self.calls.append(("writeStream", num_elems, flags, time_ns))
        self.written.append(np.array(buffs[0][:num_elems]))
        return Result(num_elems)

    def readStreamStatus(self, stream, timeout_us=100000):
        if self.statuses:
            return Result(*self.statuses.pop(0))
        return Result(SOAPY.SOAPY_SDR_TIMEOUT)

    def readStream(self, stream, buffs, num_elems, flags=0, timeout_us=100000):
        ret, rflags, t_ns, values = (
            self.rx_script.pop(0) if self.rx_script else (SOAPY.SOAPY_SDR_TIMEOUT, 0, 0, 0)
        )
        if ret > 0:
            buffs[0][:ret] = values
        return Result(ret, rflags, t_ns)


def _radio(dev, **kw):
    return SoapyRadio(dev, 1.92e6, 770e6, soapy=SOAPY, tx_gain_db=10, rx_gain_db=20, start_delay_s=0.1, **kw)


def test_setup_call_sequence_with_gpsdo_references():
    dev = FakeDevice()
    _radio(dev, clock_source="gpsdo", time_source="gpsdo", bandwidth_hz=5e6)
    names = [c[0] for c in dev.calls]
    assert names[:2] == ["setClockSource", "setTimeSource"]  # references first
    assert ("setSampleRate", SOAPY.SOAPY_SDR_TX, 0, 1.92e6) in dev.calls
    assert ("setFrequency", SOAPY.SOAPY_SDR_RX, 0, 770e6) in dev.calls
    assert ("setGain", SOAPY.SOAPY_SDR_RX, 0, 20.0) in dev.calls
    assert ("setBandwidth", SOAPY.SOAPY_SDR_TX, 0, 5e6) in dev.calls
    pps = [c for c in dev.calls if c[0] == "setHardwareTime"]
    assert len(pps) == 1 and pps[0][2] == "PPS" and pps[0][1] % 10**9 == 0  # whole second at next PPS
    assert names.index("setHardwareTime") < names.index("setupStream")


def test_timed_burst_call_sequence():
    dev = FakeDevice(mtu=1000)
    radio = _radio(dev)
    t0 = dev.hw_time_ns + 100_000_000  # sample 0 is start_delay_s after the hardware time at open
    assert radio.t0_ns == t0
    dev.calls.clear()
    x = np.arange(2500, dtype=np.float32).astype(np.complex64)
    n = 1920 * 7  # 7 ms after sample 0 at 1.92 Msps
    assert radio.tx(x, timestamp=n, flags=radio_flags("END_OF_BURST")) == 2500
    writes = [c for c in dev.calls if c[0] == "writeStream"]
    t_burst = t0 + 7_000_000
    assert writes[0] == ("writeStream", 1000, SOAPY.SOAPY_SDR_HAS_TIME, t_burst)
    assert writes[1][1:3] == (1000, 0)
    assert writes[2][1:3] == (500, SOAPY.SOAPY_SDR_END_BURST)
    assert np.array_equal(np.concatenate(dev.written), x)
    assert radio.counters.underflows == 0 and radio.counters.late_bursts == 0


def radio_flags(name):
    from radio_drivers import FrameFlags

    return getattr(FrameFlags, name)


def test_injected_underflow_and_late_burst_are_reported():
    dev = FakeDevice(
        statuses=[(SOAPY.SOAPY_SDR_UNDERFLOW, 0, 123), (0, SOAPY.SOAPY_SDR_END_BURST, 0),
                  (SOAPY.SOAPY_SDR_TIME_ERROR, 0, 456)]
    )  # fmt: skip
    radio = _radio(dev)
    radio.tx(np.zeros(3000, np.complex64))  # continuous stream, MTU-sized writes
    assert [c[1] for c in dev.calls if c[0] == "writeStream"] == [1000, 1000, 1000]
    assert radio.counters.underflows == 1 and radio.counters.late_bursts == 1


def test_rx_timestamps_and_overflow_is_not_spliced():
    dev = FakeDevice(mtu=100)
    radio = _radio(dev)
    t0 = radio.t0_ns
    has_time = SOAPY.SOAPY_SDR_HAS_TIME
    dev.rx_script = [
        (100, has_time, t0, 1),  # n = 0..99
        (100, has_time, t0 + round(100 / 1.92e6 * 1e9), 2),  # n = 100..199
        (SOAPY.SOAPY_SDR_OVERFLOW, 0, 0, 0),
        (100, has_time, radio.ns_of(1000), 3),  # after the overflow: n = 1000
    ]
    s, ts = radio.rx(1000)
    assert ts == 0 and len(s) == 200 and np.all(s[100:] == 2)
    s, ts = radio.rx(100)
    assert ts == 1000 and np.all(s == 3)
    assert radio.counters.overflows == 1


@pytest.mark.skipif(bool(SOAPY_REASON), reason=SOAPY_REASON or "x")
def test_real_enumeration_and_clear_no_device_error():
    from radio_drivers import enumerate_devices

    devices = enumerate_devices()
    assert isinstance(devices, list) and all(isinstance(d, dict) for d in devices)
    if not enumerate_devices("driver=uhd"):
        with pytest.raises(RadioError, match="no device matches 'driver=uhd'"):
            open_device("driver=uhd")
