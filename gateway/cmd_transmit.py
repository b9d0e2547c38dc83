"""`python -m gateway transmit`: the gateway process proper, streaming to the profile's radio.

    python -m gateway transmit --config hw_configs/bench_b210.yaml --seconds 10

Each 1 ms subframe: eNodeB (mac scheduler + phy) -> DL pre-compensation (when `orbit.enabled` and
`link.precomp` is not `off`: x(t + tau_hat(t) - D) exp(+j 2 pi phi_hat(t)), DESIGN.md 3) -> radio
driver chosen by `radio.driver` (SoapySDR hardware, ZeroMQ, loopback, ...), tagged with the stream's
sample counter. With an orbit, the stream's sample 0 is the acquisition of signal (AOS) of the
selected pass. Prints progress and the radio's counters; Ctrl+C stops cleanly.
"""

from __future__ import annotations

import argparse
import math
import os
import time

from gateway.cli_args import UserError, positive_int, positive_seconds
from gateway.config import Config, ConfigError, load_config
from gateway.pipeline import default_pipeline, default_workers, downlink_source
from phy.numerology import numerology

DEFAULT_CONFIG = "hw_configs/loopback.yaml"
_T_IMPORT = time.perf_counter()


def process_age_s() -> float:
    """Seconds since this process started (Linux /proc; elsewhere since this module was imported)."""
    try:
        with open("/proc/self/stat") as f:
            start_ticks = int(f.read().rsplit(")", 1)[1].split()[19])  # field 22: starttime
        with open("/proc/uptime") as f:
            uptime_s = float(f.read().split()[0])
        return uptime_s - start_ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return time.perf_counter() - _T_IMPORT


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("transmit", help="stream the downlink (pre-compensated with an orbit) to the profile's radio")
    p.add_argument("--config", default=DEFAULT_CONFIG, help=f"YAML profile (default {DEFAULT_CONFIG})")
    p.add_argument("--seconds", type=positive_seconds, default=1.0, help="how long to transmit (default 1 s)")
    p.add_argument(
        "--pipeline", action=argparse.BooleanOptionalAction, default=None,
        help="run the eNodeB in a worker process feeding pre-compensation + radio here (default: on with "
        ">= 2 cores); --no-pipeline: one process",
    )
    p.add_argument(
        "--enodeb-workers", type=positive_int, default=None, metavar="N",
        help="eNodeB worker processes of the pipeline, building the subframes in turn (default: cores - 1, at least 1)",
    )
    from gateway.beams import add_arguments

    add_arguments(p)  # --beams N and its options (gateway/beams.py)
    p.set_defaults(func=transmit)


def dl_precompensator(cfg: Config, sample_rate_hz: float, seconds: float | None = None):
    """(Compensator, stream offset in samples, description) for the selected pass, or (None, 0, why not).
    seconds: the stream's length; more than the pass lasts (AOS to LOS) is refused (UserError)."""
    if not cfg.orbit.enabled or cfg.link.precomp == "off":
        return None, 0, "off (orbit disabled or link.precomp: off)"
    from gateway.precomp import Compensator
    from gateway.prediction import PassPrediction

    sc = PassPrediction.from_config(cfg)
    p = sc.select_pass()
    if seconds is not None:
        check_stream_fits_pass(cfg, p, seconds)
    check_doppler_fits(cfg, sc, p, sample_rate_hz)
    d_s = sc.target_delay_s(p, sample_rate_hz)
    comp = Compensator(sc.dl_track(sample_rate_hz), d_s, cfg.link.precomp, direction="dl")
    n_aos = round(p.aos_s * sample_rate_hz)
    text = (f"{cfg.link.precomp}, stream starts at the pass's AOS, {p.aos_s:.0f} s after "
            f"{sc.epoch_utc:%Y-%m-%d %H:%M:%S} UTC; D = {d_s * 1e3:.3f} ms")
    return comp, n_aos, text


def check_stream_fits_pass(cfg: Config, p, seconds: float) -> None:
    """A pre-compensated stream starts at the pass's AOS and must end by its LOS: past it the satellite is
    below the horizon and its delay outgrows the target D (UserError saying what to change)."""
    if seconds > p.duration_s:
        raise UserError(
            f"--seconds {seconds:g} runs past the end of the selected pass (orbit.pass_index "
            f"{cfg.orbit.pass_index}: AOS to LOS is {p.duration_s:.1f} s); pre-compensation follows the "
            f"satellite only while it is up: use --seconds <= {math.floor(p.duration_s)}, or "
            "orbit.enabled: false for a longer stream without the orbit"
        )


def check_doppler_fits(cfg: Config, sc, p, sample_rate_hz: float) -> None:
    """The Doppler-shifted occupied band must stay inside +-fs/2: the two-hop DL Doppler of a pass reaches
    ~1 MHz on a Q/V feeder, more than a 1.4 MHz cell's 1.92 Msps stream can carry without aliasing."""
    if cfg.link.precomp not in ("doppler", "both"):
        return
    import numpy as np

    from orbit.relay import relay_dl

    t_s = np.linspace(p.aos_s, p.los_s, 61)
    doppler_hz = float(np.max(np.abs(relay_dl(sc.gateway, sc.sat, sc.beam, t_s, sc.carriers).phase_rate_hz)))
    edge_hz = cfg.cell.n_rb_dl * 12 * 15e3 / 2 + doppler_hz
    if edge_hz > 0.45 * sample_rate_hz:
        raise ConfigError(
            f"link.precomp: {cfg.link.precomp}: the pass's two-hop Doppler (up to {doppler_hz / 1e3:.0f} kHz) moves "
            f"the {cfg.cell.bandwidth_hz / 1e6:g} MHz cell's edge to {edge_hz / 1e3:.0f} kHz, beyond the "
            f"{sample_rate_hz / 1e6:.2f} Msps stream; use a wider cell.n_rb_dl, or link.precomp: delay and "
            "remove the Doppler in the RF up-converter"
        )


def transmit(args: argparse.Namespace) -> int:
    cfg = load_config(args.config)
    if getattr(args, "beams", None) is not None:
        from gateway.beams import transmit_beams

        return transmit_beams(args, cfg)
    num = numerology(cfg.cell.n_rb_dl)
    pipeline = default_pipeline() if getattr(args, "pipeline", None) is None else args.pipeline
    n_subframes = max(1, round(args.seconds * 1000))
    workers = getattr(args, "enodeb_workers", None)
    if workers is not None and not pipeline:
        raise UserError(f"--enodeb-workers {workers} needs the pipeline, which is off (--no-pipeline, or one core): "
                        "add --pipeline or drop --enodeb-workers")
    workers = min(default_workers() if workers is None else workers, n_subframes) if pipeline else 0
    with downlink_source(cfg, n_subframes, pipeline=pipeline, workers=workers or None) as blocks:
        # with the pipeline the eNodeB workers start up while this process predicts the pass
        return _transmit(args, cfg, num, blocks, workers, n_subframes)


def _transmit(args, cfg: Config, num, blocks, workers: int, n_subframes: int) -> int:
    """The transmit loop; workers: eNodeB worker processes (0: the eNodeB runs here)."""
    # the drivers are imported here, once the eNodeB worker is started (it imports in parallel)
    from radio_drivers import LoopbackRadio, open_radio
    from radio_drivers.zmq_srsran import UplinkDrain

    fs = num.sample_rate_hz
    comp, n_aos, comp_text = dl_precompensator(cfg, fs, n_subframes / 1000)
    mode = f"pipelined ({workers} eNodeB worker process{'es' if workers > 1 else ''})" if workers else "one process"
    print(
        f"soragate transmit: profile '{cfg.name}', radio '{cfg.radio.driver}', {fs / 1e6:.2f} Msps at "
        f"{cfg.cell.dl_frequency_hz / 1e6:.1f} MHz, {n_subframes} ms, "
        f"{mode}\n  pre-compensation: {comp_text}",
        flush=True,
    )
    radio = open_radio(cfg.radio, sample_rate_hz=fs, center_frequency_hz=cfg.cell.dl_frequency_hz)
    if isinstance(radio, LoopbackRadio):
        radio.detach_receiver()  # nothing in this process reads the loopback: count, don't store
    # srsRAN peer (srsUE): its ZMQ radio blocks its transmitter until asked, so keep requesting its
    # uplink in step with the downlink (discarded until the uplink receiver exists; docs/radio.md)
    drain = UplinkDrain.for_radio(radio, lead_samples=20 * num.samples_per_subframe)
    t0 = time.perf_counter()
    sent = 0
    uplink_samples = 0
    first_sample_s = None
    try:
        for n, x in blocks:
            if comp is not None:
                x = comp.process(x, n_aos + n)
            radio.tx(x, timestamp=n)
            sent += 1
            if first_sample_s is None:
                first_sample_s = process_age_s()
            if sent % 1000 == 0:
                rate = sent / 1000 / (time.perf_counter() - t0)
                print(f"  {sent / 1000:.0f} s sent ({rate:.2f} x real time)", flush=True)
    except KeyboardInterrupt:
        print("  stopped by the user", flush=True)
    finally:
        if drain is not None:
            uplink_samples = drain.stop()
        counters = radio.counters.as_dict()
        radio.close()
    wall_s = time.perf_counter() - t0
    if drain is not None:
        print(f"  uplink: {uplink_samples} samples requested from the srsRAN peer (discarded: no uplink receiver yet)")
        if drain.error is not None:
            print(f"  WARNING: the uplink requests stopped: {drain.error}")
    volume = ("samples_tx", "frames_tx", "samples_rx", "frames_rx")
    problems = {k: v for k, v in counters.items() if v and k not in volume}
    if first_sample_s is not None:
        print(f"  first subframe handed to the radio {first_sample_s:.2f} s after the process started")
    print(f"  sent {sent} ms in {wall_s:.2f} s ({sent / 1000 / wall_s:.2f} x real time); radio counters: {counters}")
    if problems:
        print(f"  WARNING: the radio reported {problems}")
    return 0
