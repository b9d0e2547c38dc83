"""`python -m gateway handset`: an emulated handset process fed by ZeroMQ IQ frames.

It receives the gateway's downlink (native framed stream, DESIGN.md 2), passes it through the
profile's loopback channel (delay, CFO, AWGN), runs the phy receive chain (cell search, MIB,
PCFICH, then every subframe's PDCCH and PDSCH: SIB1, SIB2 and the data for its C-RNTI) and writes
its report as JSON. The handset's C-RNTI is the first of the profile's `scheduler.c_rntis` (there
is no random access yet to assign one). `python -m gateway run` starts it as a child process.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path

import numpy as np

from gateway.cli_args import positive_int, timeout_seconds
from gateway.config import Config, load_config
from mac.ue_downlink import read_downlink
from phy.numerology import numerology
from phy.ue import read_cell
from phy.ue.downlink_rx import receive_downlink
from radio_drivers import RadioTimeout, ZmqStreamRadio
from radio_drivers.impairments import SimpleChannel
from radio_drivers.rx_gaps import Capture, read_contiguous


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("handset", help="emulated handset: receive IQ over ZeroMQ, read MIB, SIB1/SIB2, PDSCH")
    p.add_argument("--config", default="hw_configs/loopback.yaml", help="YAML profile (cell and channel)")
    p.add_argument("--connect", required=True, help="ZeroMQ endpoint of the gateway's IQ stream")
    p.add_argument("--ms", type=positive_int, default=40, help="milliseconds of downlink to collect")
    p.add_argument("--timeout", type=timeout_seconds, default=10.0, help="seconds without IQ before giving up")
    p.add_argument("--report", required=True, help="JSON file for the handset's report")
    p.set_defaults(func=handset)


def receive_and_decode(cfg: Config, rx_samples: np.ndarray) -> dict:
    """Channel + receiver on a collected capture; returns the handset's report as a dict."""
    cell, ch = cfg.cell, cfg.channel
    fs = numerology(cell.n_rb_dl).sample_rate_hz
    t0 = time.perf_counter()
    impaired = SimpleChannel(ch.snr_db, ch.cfo_hz, ch.delay_samples, cell.n_rb_dl, fs, ch.seed)(rx_samples)
    t1 = time.perf_counter()
    report = read_cell(impaired, fs)
    t2 = time.perf_counter()
    c_rnti = cfg.scheduler.c_rntis[0] if cfg.scheduler.c_rntis else None
    downlink = read_downlink(receive_downlink(impaired, fs, report, c_rnti=c_rnti), c_rnti)
    t3 = time.perf_counter()
    return {
        "cell": dataclasses.asdict(report),
        "downlink": downlink.as_dict(),
        "channel_s": t1 - t0,
        "receive_s": t2 - t1,
        "downlink_s": t3 - t2,
    }


def collect(radio: ZmqStreamRadio, n_samples: int, timeout_s: float) -> Capture:
    """Read `n_samples` on the stream's clock (radio_drivers.rx_gaps): a lost or rejected frame becomes
    zeros marked in Capture.gaps (and the radio's rx_holes counter), a duplicate is dropped, a jump
    longer than 1 s or a restart ends the collection with GapError. Never spliced."""
    return read_contiguous(radio, n_samples, timeout_s=timeout_s)


def handset(args: argparse.Namespace) -> int:
    cfg = load_config(args.config)
    num = numerology(cfg.cell.n_rb_dl)
    radio = ZmqStreamRadio(
        num.sample_rate_hz, cfg.cell.dl_frequency_hz, rx_address=">" + args.connect, timeout_s=args.timeout
    )
    out: dict = {"endpoint": args.connect}
    try:
        cap = collect(radio, args.ms * num.samples_per_subframe, args.timeout)
        out.update(first_sample=cap.first_timestamp, discontinuities=len(cap.gaps), samples=len(cap.samples))
        out["capture_gaps"] = cap.summary()
        out.update(receive_and_decode(cfg, cap.samples))
        status = 0
    except RadioTimeout as exc:
        out["error"] = f"no downlink from the gateway: {exc}"
        status = 3
    except Exception as exc:  # the report must say why the handset failed, whatever it was
        out["error"] = f"{type(exc).__name__}: {exc}"
        status = 4
    finally:
        out["radio_counters"] = radio.counters.as_dict()
        radio.close()
    Path(args.report).write_text(json.dumps(out, indent=2, default=str))
    return status
