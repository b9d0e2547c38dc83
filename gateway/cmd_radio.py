"""`python -m gateway radio ...`: list SoapySDR devices, capture from / replay to the configured radio.

python -m gateway radio devices [--args driver=uhd]
python -m gateway radio capture --config hw_configs/bench_b210.yaml --seconds 1 --out cap
python -m gateway radio replay cap --config hw_configs/bench_b210.yaml
"""

from __future__ import annotations

import argparse
import json

from gateway.cli_args import positive_seconds


def _devices(args: argparse.Namespace) -> int:
    from radio_drivers import RadioError, enumerate_devices

    try:
        devices = enumerate_devices(args.args)
    except RadioError as exc:
        print(exc)
        return 1
    if not devices:
        print(f"no SoapySDR device matches {args.args!r} (SoapySDRUtil --info lists the installed modules)")
        return 1
    for d in devices:
        print(", ".join(f"{k}={v}" for k, v in sorted(d.items())))
    return 0


def _open(args: argparse.Namespace):
    from gateway.config import load_config
    from phy.numerology import numerology
    from radio_drivers import open_radio

    cfg = load_config(args.config)
    fs = numerology(cfg.cell.n_rb_dl).sample_rate_hz
    return open_radio(cfg.radio, sample_rate_hz=fs, center_frequency_hz=cfg.cell.dl_frequency_hz)


def _capture(args: argparse.Namespace) -> int:
    from radio_drivers import RadioError, write_sigmf
    from radio_drivers.rx_gaps import read_contiguous

    radio = _open(args)
    try:
        total = int(round(args.seconds * radio.sample_rate_hz))
        # lost frames: zero-filled and annotated; a jump > 1 s or a restart ends the capture (rx_gaps)
        cap = read_contiguous(radio, total)
        data, meta = write_sigmf(
            args.out,
            cap.samples,
            radio.sample_rate_hz,
            radio.center_frequency_hz,
            f"capture via {radio.name} from n={cap.first_timestamp}",
            annotations=cap.annotations(),
        )
        print(f"wrote {len(cap.samples)} samples to {data} ({meta})")
        if cap.gaps:
            print(f"WARNING: {len(cap.gaps)} gap(s) in the stream, {cap.filled_samples} samples zero-filled and "
                  f"{cap.dropped_samples} duplicate samples dropped, marked as SigMF annotations")
        print(json.dumps(radio.counters.as_dict()))
    except RadioError as exc:
        print(f"capture failed: {exc}")
        return 1
    finally:
        radio.close()
    return 0


def _replay(args: argparse.Namespace) -> int:
    from radio_drivers import RadioError, read_sigmf

    rec = read_sigmf(args.recording)
    radio = _open(args)
    try:
        if abs(rec.sample_rate_hz - radio.sample_rate_hz) > 1e-6 * radio.sample_rate_hz:
            print(
                f"recording is {rec.sample_rate_hz / 1e6:g} Msps, "
                f"the profile's cell needs {radio.sample_rate_hz / 1e6:g} Msps"
            )
            return 1
        radio.tx(rec.samples, timestamp=0)
        print(f"sent {len(rec.samples)} samples; counters {json.dumps(radio.counters.as_dict())}")
    except RadioError as exc:
        print(f"replay failed: {exc}")
        return 1
    finally:
        radio.close()
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser("radio", help="radio drivers: list devices, capture, replay")
    sub = p.add_subparsers(dest="radio_command", metavar="ACTION")
    sub.required = True
    d = sub.add_parser("devices", help="enumerate SoapySDR devices")
    d.add_argument("--args", default="", help="SoapySDR args filter, e.g. driver=uhd")
    d.set_defaults(func=_devices)
    c = sub.add_parser("capture", help="receive from the profile's radio into a SigMF recording")
    c.add_argument("--config", default="hw_configs/loopback.yaml")
    c.add_argument("--seconds", type=positive_seconds, default=1.0)
    c.add_argument("--out", required=True, help="recording path stem")
    c.set_defaults(func=_capture)
    r = sub.add_parser("replay", help="transmit a SigMF recording through the profile's radio")
    r.add_argument("recording", help="recording path stem or .sigmf-meta")
    r.add_argument("--config", default="hw_configs/loopback.yaml")
    r.set_defaults(func=_replay)
