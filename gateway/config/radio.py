"""The `radio:` section: which radio driver streams the gateway's IQ, and each driver's settings.

    radio:
      driver: zmq            # one of radio_drivers.driver_names()
      zmq: {tx_address: "@tcp://*:5555"}
      record: {enabled: true, directory: recordings}

Only the section of the chosen driver is used; every key of every section is validated.
The sample rate comes from the cell's bandwidth, the centre frequency from its EARFCN.
"""

from __future__ import annotations

from dataclasses import dataclass

from ._schema import ConfigError, option

SAMPLE_FORMATS = ("cf32_le", "ci16_le")
REFERENCE_SOURCES = ("internal", "external", "gpsdo")
# radio_drivers registers these names (radio_drivers.driver_names()); a test keeps the two in step
DRIVERS = ("loopback", "zmq", "srsran_zmq", "soapy", "sigmf")


@dataclass(frozen=True)
class LoopbackSection:
    """In-process loopback radio (tx comes back at rx)."""

    delay_samples: int = option(0, range=(0, 100_000_000), doc="integer delay from tx to rx in samples")
    capacity_samples: int = option(
        1 << 21, range=(1, 1 << 28), doc="ring buffer of samples in flight (bounded memory: 8 bytes each)"
    )
    overflow: str = option(
        "block", allowed=("block", "error"), doc="receiver behind by a full ring: tx waits (block) or raises"
    )
    timeout_s: float = option(2.0, range=(0.001, 3600.0), doc="longest tx wait for room / rx wait for samples")


@dataclass(frozen=True)
class ZmqSection:
    """Native framed IQ over ZeroMQ ('@' binds, '>' connects; '' disables that direction)."""

    tx_address: str = option("@tcp://127.0.0.1:5555", doc="where our IQ frames go out")
    rx_address: str = option("", doc="where IQ frames come in from (e.g. >tcp://127.0.0.1:5556)")
    pattern: str = option(
        "pushpull", allowed=("pushpull", "pubsub"), doc="lossless pipeline or monitoring tap"
    )
    sample_format: str = option("cf32_le", allowed=SAMPLE_FORMATS, doc="wire sample format")
    stream_id: int = option(0, range=(0, 2**32 - 1), doc="stream id written into every frame")
    frame_samples: int = option(30720, range=(1, 2**24), doc="most samples per frame")
    timeout_s: float = option(
        2.0, range=(0.01, 3600.0), doc="peer-gone timeout (rx) / back-pressure limit (tx)"
    )
    high_water_mark: int = option(64, range=(1, 100_000), doc="frames queued per socket before blocking")


@dataclass(frozen=True)
class SrsranZmqSection:
    """srsRAN 4G ZMQ radio protocol (REQ/REP); see docs/radio.md for the port pairing."""

    tx_port: str = option("tcp://*:2000", doc="REP endpoint we bind; the peer's rx_port connects here")
    rx_port: str = option("tcp://localhost:2001", doc="REQ endpoint we connect; the peer's tx_port")
    sample_format: str = option(
        "cf32_le", allowed=SAMPLE_FORMATS, doc="cf32_le (srsRAN fc32) or ci16_le (sc16)"
    )
    timeout_s: float = option(2.0, range=(0.01, 3600.0), doc="how long to wait for the peer")


@dataclass(frozen=True)
class SoapySection:
    """SoapySDR hardware (needs python3-soapysdr and the device's SoapySDR module)."""

    args: str = option("driver=uhd", doc="device selection, e.g. 'driver=uhd,type=b200' or 'driver=lime'")
    channel: int = option(0, range=(0, 7), doc="tx and rx channel")
    bandwidth_hz: float = option(0.0, range=(0.0, 1e9), doc="analog filter bandwidth (0 = driver default)")
    tx_gain_db: float = option(0.0, range=(-50.0, 100.0), doc="overall tx gain")
    rx_gain_db: float = option(0.0, range=(-50.0, 100.0), doc="overall rx gain")
    tx_antenna: str = option("", doc="tx antenna port name ('' = default), e.g. TX/RX")
    rx_antenna: str = option("", doc="rx antenna port name ('' = default), e.g. RX2")
    clock_source: str = option("internal", allowed=REFERENCE_SOURCES, doc="10 MHz reference")
    time_source: str = option("internal", allowed=REFERENCE_SOURCES, doc="PPS / time reference")
    start_delay_s: float = option(0.1, range=(0.0, 60.0), doc="hardware time of sample 0 after open")
    timeout_s: float = option(1.0, range=(0.01, 60.0), doc="stream read/write timeout")


@dataclass(frozen=True)
class SigmfSection:
    """Play a SigMF recording as the radio's receive side."""

    path: str = option("", doc="recording to play: .sigmf-meta path or its stem")
    loop: bool = option(False, doc="start again at the end")


@dataclass(frozen=True)
class RecordSection:
    """Record the transmitted stream to SigMF while running (any driver)."""

    enabled: bool = option(False, doc="record the tx stream")
    directory: str = option("recordings", doc="where recordings go")
    description: str = option("", doc="core:description of the recording")
    hw: str = option("", doc="core:hw: the hardware, antenna, cabling")


@dataclass(frozen=True)
class RadioConfig:
    """Radio driver choice plus the per-driver sections (radio_drivers.open_radio reads them)."""

    driver: str = option("loopback", allowed=DRIVERS, doc="radio driver name")
    loopback: LoopbackSection = option(LoopbackSection(), doc="settings of driver: loopback")
    zmq: ZmqSection = option(ZmqSection(), doc="settings of driver: zmq")
    srsran_zmq: SrsranZmqSection = option(SrsranZmqSection(), doc="settings of driver: srsran_zmq")
    soapy: SoapySection = option(SoapySection(), doc="settings of driver: soapy")
    sigmf: SigmfSection = option(SigmfSection(), doc="settings of driver: sigmf")
    record: RecordSection = option(RecordSection(), doc="SigMF recording of the tx stream")

    def check(self, section: str) -> None:
        if self.driver == "sigmf" and not self.sigmf.path:
            raise ConfigError(f"{section}.sigmf.path: required when driver is sigmf (the recording to play)")
        if self.driver == "zmq" and not (self.zmq.tx_address or self.zmq.rx_address):
            raise ConfigError(f"{section}.zmq.tx_address: set tx_address and/or rx_address")
