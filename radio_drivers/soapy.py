"""SoapySDR hardware radios (USRP B210/X310, LimeSDR, bladeRF, HackRF ...) through the real bindings.

The bindings are Debian's python3-soapysdr (`make install` adds them when it can, see
tools/install_soapysdr.sh); they are imported lazily so the rest of Soragate works without them.

Time: the stream's sample counter n maps to hardware time t_ns = t0_ns + n * 1e9 / fs (exact integer
arithmetic), with t0_ns the hardware time of n = 0 chosen at open (a little after "now").
Transmission is in MTU-sized writeStream calls; a timed burst carries SOAPY_SDR_HAS_TIME on its first
write and SOAPY_SDR_END_BURST on its last. readStreamStatus is polled after each tx() and reports
underflows (SOAPY_SDR_UNDERFLOW) and late bursts (SOAPY_SDR_TIME_ERROR) through the counters.
"""

from __future__ import annotations

import time
from fractions import Fraction
from typing import Any

import numpy as np

from .base import Radio, RadioError, RadioTimeout, RxBlock, register_driver
from .iqframe import FrameFlags

__all__ = ["SoapyRadio", "soapy_module", "enumerate_devices", "open_device", "SOAPY_MISSING_HELP"]

SOAPY_MISSING_HELP = (
    "SoapySDR Python bindings are not importable. On Debian/Ubuntu: "
    "sudo apt-get install python3-soapysdr soapysdr-tools (plus soapysdr-module-uhd / -lms7 / -bladerf "
    "for your hardware), then `.venv/bin/python tools/link_soapysdr.py` (or `make install`)."
)


def soapy_module() -> Any:
    """The SoapySDR module; RadioError with the install instructions when it cannot be imported."""
    try:
        import SoapySDR
    except ImportError as exc:
        raise RadioError(f"{SOAPY_MISSING_HELP} ({exc})") from None
    return SoapySDR


def enumerate_devices(args: str = "") -> list[dict[str, str]]:
    """Devices SoapySDR can see that match `args` ("" = all), as plain dicts (driver, label, serial ...)."""
    soapy = soapy_module()
    return [dict(d) for d in soapy.Device.enumerate(args)]


def open_device(args: str) -> Any:
    """Open the one device matching `args`; clear RadioError when none matches."""
    soapy = soapy_module()
    if not soapy.Device.enumerate(args):
        raise RadioError(
            f"no device matches {args!r}: check the cable/power, the SoapySDR module for it "
            "(SoapySDRUtil --info lists modules), and `python -m gateway radio devices`"
        )
    try:
        return soapy.Device(args)
    except RuntimeError as exc:
        raise RadioError(f"cannot open SoapySDR device {args!r}: {exc}") from None


class SoapyRadio(Radio):
    """A SoapySDR device, one tx and one rx channel, host format CF32.

    device: an opened SoapySDR.Device (or anything with its methods, for tests); `soapy` is the module
    whose constants are used (default: the real SoapySDR). clock_source / time_source: 'internal',
    'external' (10 MHz / PPS inputs) or 'gpsdo'. With external or gpsdo time, the hardware time is set
    at the next PPS edge to the host's UTC (run NTP/GPS on the host).
    """

    name = "soapy"

    def __init__(
        self,
        device: Any,
        sample_rate_hz: float,
        center_frequency_hz: float,
        *,
        soapy: Any = None,
        channel: int = 0,
        bandwidth_hz: float = 0.0,
        tx_gain_db: float = 0.0,
        rx_gain_db: float = 0.0,
        tx_antenna: str = "",
        rx_antenna: str = "",
        clock_source: str = "internal",
        time_source: str = "internal",
        start_delay_s: float = 0.1,
        timeout_s: float = 1.0,
        enable_tx: bool = True,
        enable_rx: bool = True,
    ):
        super().__init__(sample_rate_hz, center_frequency_hz)
        self.s = soapy or soapy_module()
        self.dev = device
        self.channel = int(channel)
        self.timeout_us = int(timeout_s * 1e6)
        self._fs = Fraction(self.sample_rate_hz).limit_denominator(10**6)
        s, ch = self.s, self.channel
        dirs = [d for d, on in ((s.SOAPY_SDR_TX, enable_tx), (s.SOAPY_SDR_RX, enable_rx)) if on]
        # clock first: rates and tuning depend on the reference
        if clock_source != "internal":
            self.dev.setClockSource(clock_source)
        if time_source != "internal":
            self.dev.setTimeSource(time_source)
        for d in dirs:
            self.dev.setSampleRate(d, ch, self.sample_rate_hz)
            if bandwidth_hz:
                self.dev.setBandwidth(d, ch, float(bandwidth_hz))
            self.dev.setFrequency(d, ch, self.center_frequency_hz)
        if enable_tx:
            self.dev.setGain(s.SOAPY_SDR_TX, ch, float(tx_gain_db))
            if tx_antenna:
                self.dev.setAntenna(s.SOAPY_SDR_TX, ch, tx_antenna)
        if enable_rx:
            self.dev.setGain(s.SOAPY_SDR_RX, ch, float(rx_gain_db))
            if rx_antenna:
                self.dev.setAntenna(s.SOAPY_SDR_RX, ch, rx_antenna)
        self._sync_time(time_source)
        # sample counter n = 0 sits start_delay_s after the current hardware time
        self.t0_ns = int(self.dev.getHardwareTime()) + int(start_delay_s * 1e9)
        self._tx_stream = self._rx_stream = None
        self._tx_next_ts = 0
        self._rx_next_ts: int | None = None
        self._rx_pending: tuple[int, np.ndarray] | None = None  # read past a time jump, for the next rx()
        if enable_tx:
            self._tx_stream = self.dev.setupStream(s.SOAPY_SDR_TX, s.SOAPY_SDR_CF32, [ch])
            self.tx_mtu = int(self.dev.getStreamMTU(self._tx_stream))
            self.dev.activateStream(self._tx_stream)
        if enable_rx:
            self._rx_stream = self.dev.setupStream(s.SOAPY_SDR_RX, s.SOAPY_SDR_CF32, [ch])
            self.rx_mtu = int(self.dev.getStreamMTU(self._rx_stream))
            self.dev.activateStream(self._rx_stream, s.SOAPY_SDR_HAS_TIME, self.t0_ns)

    def _sync_time(self, time_source: str) -> None:
        if time_source == "internal":
            self.dev.setHardwareTime(0)
            return
        # external PPS or GPSDO: at the next PPS edge the hardware time becomes the next whole UTC second
        now = time.time()
        next_second_ns = (int(now) + 1) * 10**9
        self.dev.setHardwareTime(next_second_ns, "PPS")
        time.sleep(max(0.0, (int(now) + 1) - time.time()) + 0.1)

    def ns_of(self, n: int) -> int:
        """Hardware time (ns) of stream sample n."""
        return self.t0_ns + int(round(Fraction(int(n)) * 10**9 / self._fs))

    def n_of(self, time_ns: int) -> int:
        """Stream sample counter at hardware time time_ns (nearest sample)."""
        return int(round(Fraction(int(time_ns) - self.t0_ns) * self._fs / 10**9))

    # ------------------------------------------------------------------------------------------ tx
    def tx(
        self, samples: np.ndarray, timestamp: int | None = None, flags: FrameFlags = FrameFlags.NONE
    ) -> int:
        """Write samples in MTU-sized pieces; a timestamp makes a timed burst (HAS_TIME on the first write),
        END_OF_BURST in flags ends it. Reports underflows / late bursts from readStreamStatus."""
        if self._tx_stream is None:
            raise RadioError("soapy: tx is disabled for this radio")
        s = self.s
        x = np.ascontiguousarray(samples, dtype=np.complex64)
        timed = timestamp is not None
        ts = int(timestamp) if timed else self._tx_next_ts
        sent = 0
        while sent < len(x):
            count = min(self.tx_mtu, len(x) - sent)
            wflags = 0
            if timed and sent == 0:
                wflags |= s.SOAPY_SDR_HAS_TIME
            if flags & FrameFlags.END_OF_BURST and sent + count == len(x):
                wflags |= s.SOAPY_SDR_END_BURST
            sr = self.dev.writeStream(
                self._tx_stream,
                [x[sent : sent + count]],
                count,
                wflags,
                self.ns_of(ts + sent),
                self.timeout_us,
            )
            if sr.ret == s.SOAPY_SDR_TIMEOUT:
                self.count("timeouts", f"writeStream timed out after {self.timeout_us} us")
                raise RadioTimeout(f"soapy: the device took no samples for {self.timeout_us / 1e6} s")
            if sr.ret == s.SOAPY_SDR_TIME_ERROR:
                self.count("late_bursts", f"burst at n={ts} (t={self.ns_of(ts)} ns) is late: dropped")
                break
            if sr.ret == s.SOAPY_SDR_UNDERFLOW:
                self.count("underflows", f"underflow while writing n={ts + sent}")
                continue
            if sr.ret < 0:
                raise RadioError(f"soapy: writeStream failed: {s.errToStr(sr.ret)} ({sr.ret})")
            sent += sr.ret  # a partial write continues with the rest (no HAS_TIME: it follows on)
            timed = timed and sent == 0
        self._tx_next_ts = ts + len(x)
        self.counters.samples_tx += sent
        self.poll_status()
        return sent

    def poll_status(self) -> None:
        """Drain readStreamStatus (non-blocking) and count underflows and late bursts."""
        s = self.s
        while True:
            sr = self.dev.readStreamStatus(self._tx_stream, 0)
            if sr.ret == s.SOAPY_SDR_TIMEOUT or sr.ret == s.SOAPY_SDR_NOT_SUPPORTED:
                return
            if sr.ret == s.SOAPY_SDR_UNDERFLOW:
                self.count("underflows", f"device reported an underflow (t={sr.timeNs} ns)")
            elif sr.ret == s.SOAPY_SDR_TIME_ERROR:
                self.count("late_bursts", f"device reported a late burst (t={sr.timeNs} ns)")
            elif sr.ret < 0:
                self.count("dropped_frames", f"device stream status {s.errToStr(sr.ret)} ({sr.ret})")
            # ret == 0: an event such as the END_BURST acknowledgement

    # ------------------------------------------------------------------------------------------ rx
    def rx(self, n: int, timeout_s: float | None = None) -> RxBlock:
        """Read up to n samples; an overflow (lost samples) ends the block early (no splice)."""
        if self._rx_stream is None:
            raise RadioError("soapy: rx is disabled for this radio")
        s = self.s
        timeout_us = self.timeout_us if timeout_s is None else int(timeout_s * 1e6)
        out = np.empty(int(n), np.complex64)
        got = 0
        start_ts = self._rx_next_ts or 0
        if self._rx_pending is not None:
            start_ts, held = self._rx_pending
            got = min(len(held), int(n))
            out[:got] = held[:got]
            self._rx_pending = (start_ts + got, held[got:]) if got < len(held) else None
            self._rx_next_ts = start_ts + got
        while got < n and self._rx_pending is None:
            view = out[got:]
            sr = self.dev.readStream(self._rx_stream, [view], min(len(view), self.rx_mtu), 0, timeout_us)
            if sr.ret == s.SOAPY_SDR_TIMEOUT:
                self.count("timeouts", f"readStream timed out after {timeout_us} us")
                if got:
                    break
                raise RadioTimeout(f"soapy: no samples from the device in {timeout_us / 1e6} s")
            if sr.ret == s.SOAPY_SDR_OVERFLOW:
                self.count("overflows", "device overflow: samples lost (host too slow)")
                self._rx_next_ts = None  # re-read the time from the next packet
                if got:
                    break
                continue
            if sr.ret < 0:
                raise RadioError(f"soapy: readStream failed: {s.errToStr(sr.ret)} ({sr.ret})")
            ts = self.n_of(sr.timeNs) if sr.flags & s.SOAPY_SDR_HAS_TIME else self._rx_next_ts
            if got == 0:
                start_ts = ts if ts is not None else 0
            elif ts is not None and ts != start_ts + got:
                self.count("timestamp_jumps", f"rx time jumped to n={ts}, expected n={start_ts + got}")
                self._rx_pending = (ts, view[: sr.ret].copy())  # start of the next block: kept
                self._rx_next_ts = ts
                break
            got += sr.ret
            self._rx_next_ts = start_ts + got
        self.counters.samples_rx += got
        return RxBlock(out[:got].copy(), start_ts)

    def set_gain(self, gain_db: float, direction: str = "tx") -> None:
        super().set_gain(gain_db, direction)
        d = self.s.SOAPY_SDR_TX if direction == "tx" else self.s.SOAPY_SDR_RX
        self.dev.setGain(d, self.channel, float(gain_db))

    def close(self) -> None:
        if self.closed:
            return
        for stream in (self._tx_stream, self._rx_stream):
            if stream is not None:
                self.dev.deactivateStream(stream)
                self.dev.closeStream(stream)
        super().close()


@register_driver("soapy")
def _open_soapy(radio_config, sample_rate_hz: float, center_frequency_hz: float) -> SoapyRadio:
    c = radio_config.soapy
    return SoapyRadio(
        open_device(c.args),
        sample_rate_hz,
        center_frequency_hz,
        channel=c.channel,
        bandwidth_hz=c.bandwidth_hz,
        tx_gain_db=c.tx_gain_db,
        rx_gain_db=c.rx_gain_db,
        tx_antenna=c.tx_antenna,
        rx_antenna=c.rx_antenna,
        clock_source=c.clock_source,
        time_source=c.time_source,
        start_delay_s=c.start_delay_s,
        timeout_s=c.timeout_s,
    )
