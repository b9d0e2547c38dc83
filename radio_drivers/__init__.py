"""Soragate radio drivers: one interface (base.Radio), chosen by name in a profile's `radio:` section.

    from radio_drivers import open_radio
    radio = open_radio(cfg.radio, sample_rate_hz=fs, center_frequency_hz=cfg.cell.dl_frequency_hz)
    radio.tx(samples, timestamp=n)          # (N,) complex64, n = stream sample counter
    samples, n = radio.rx(1920)
    radio.counters.as_dict(); radio.close()

Drivers: loopback, zmq (native framed PUSH/PULL, PUB/SUB), srsran_zmq (srsRAN REQ/REP), soapy
(SoapySDR hardware, bindings optional), sigmf (play a recording). SigMF writing: write_sigmf,
SigMFRecorder, RecordingTap.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from . import loopback, sigmf_io, soapy, zmq_srsran, zmq_stream  # noqa: F401  (register the drivers)
from .base import (
    EndOfStream,
    FrameFlags,
    Radio,
    RadioCounters,
    RadioError,
    RadioTimeout,
    RxBlock,
    driver_names,
    get_driver,
    register_driver,
)
from .loopback import LoopbackRadio
from .sigmf_io import Annotation, RecordingTap, SigMFPlayback, SigMFRecorder, read_sigmf, write_sigmf
from .soapy import SoapyRadio, enumerate_devices
from .zmq_srsran import SrsranZmqRadio
from .zmq_stream import ZmqStreamRadio

__all__ = [
    "open_radio",
    "Radio",
    "RadioCounters",
    "RxBlock",
    "FrameFlags",
    "RadioError",
    "RadioTimeout",
    "EndOfStream",
    "register_driver",
    "get_driver",
    "driver_names",
    "LoopbackRadio",
    "ZmqStreamRadio",
    "SrsranZmqRadio",
    "SoapyRadio",
    "SigMFPlayback",
    "SigMFRecorder",
    "RecordingTap",
    "Annotation",
    "write_sigmf",
    "read_sigmf",
    "enumerate_devices",
]


def open_radio(
    radio_config,
    *,
    sample_rate_hz: float,
    center_frequency_hz: float,
    record_stem: str | Path | None = None,
    epoch_utc: dt.datetime | None = None,
) -> Radio:
    """Open the driver named by radio_config.driver (a gateway.config.RadioConfig).

    With radio_config.record.enabled the tx stream is also recorded to SigMF at `record_stem`
    (default: <record.directory>/soragate_<UTC time>), its captures dated from `epoch_utc`.
    """
    radio = get_driver(radio_config.driver)(radio_config, sample_rate_hz, center_frequency_hz)
    rec = radio_config.record
    if rec.enabled:
        now = dt.datetime.now(dt.timezone.utc)
        stem = record_stem or Path(rec.directory) / f"soragate_{now:%Y%m%dT%H%M%SZ}"
        recorder = SigMFRecorder(
            stem,
            sample_rate_hz,
            center_frequency_hz,
            description=rec.description or f"Soragate tx via {radio_config.driver}",
            hw=rec.hw,
            epoch_utc=epoch_utc or now,
        )
        radio = RecordingTap(radio, recorder, "tx")
    return radio
