"""`python -m gateway run`: the loopback demo end to end.

Two processes joined by ZeroMQ on loopback (DESIGN.md 5): this gateway process builds the LTE
downlink subframe by subframe and streams it as native IQ frames; an emulated handset process
(`python -m gateway handset`) receives it, applies the profile's loopback channel (delay, carrier
offset, noise) and runs cell search, MIB and PCFICH decoding, then PDCCH/PDSCH of every subframe:
SIB1 (PLMN list, TAC, cell identity), SIB2 and the user data of its C-RNTI (BLER, throughput).
`--in-process` runs the same chain without sockets. Prints what the handset read, compares it with
what was sent (SIB1 and SIB2 only when the run's subframes carried them) and writes a JSON report.

The handset process dies with this one: it is stopped in a `finally` (Ctrl+C, SIGTERM, an error on
the gateway side) and, on Linux, gets SIGTERM from the kernel if this process is killed outright
(gateway.cli_args.PARENT_PID_ENV); its temporary report directory goes with it (a directory left by a
run killed with SIGKILL, which nothing can catch, is removed by the next run).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from gateway.cli_args import PARENT_PID_ENV, UserError, format_bytes, positive_int
from gateway.cmd_handset import receive_and_decode
from gateway.config import Config, load_config
from gateway.enodeb import TimedSubframe, combine_ports, downlink_subframes
from phy.numerology import numerology
from radio_drivers import FrameFlags, RadioError, ZmqStreamRadio

DEFAULT_CONFIG = "hw_configs/loopback.yaml"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="run the loopback demo: gateway -> ZeroMQ -> channel -> emulated handset")
    p.add_argument("--config", default=DEFAULT_CONFIG, help=f"YAML profile (default {DEFAULT_CONFIG})")
    p.add_argument("--ms", type=positive_int, default=40, help="milliseconds of downlink to send (default 40)")
    p.add_argument("--report", default="out/run_report.json", help="where to write the JSON report")
    p.add_argument("--in-process", action="store_true", help="no handset process, no sockets")
    p.set_defaults(func=run)


# The receiver keeps about this many copies of the capture at once (capture, channel output, derotated)
_CAPTURE_COPIES = 4


def check_memory(n_subframes: int, samples_per_subframe: int) -> None:
    """A run holds the whole capture in memory (the handset decodes it at the end): refuse a --ms that
    cannot fit, rather than swap or be killed after minutes of streaming."""
    need = n_subframes * samples_per_subframe * 8 * _CAPTURE_COPIES  # complex64
    try:
        meminfo = Path("/proc/meminfo").read_text()
        avail = int(next(ln.split()[1] for ln in meminfo.splitlines() if ln.startswith("MemAvailable:"))) * 1024
    except (OSError, StopIteration, ValueError, IndexError):
        return  # not Linux: no check
    if need > avail:
        raise UserError(
            f"--ms {n_subframes}: the handset keeps the whole capture, about {format_bytes(need)} with its copies, "
            f"and {format_bytes(avail)} of memory is available; use a shorter --ms"
        )


def count_sent_si(sent: dict, sf: TimedSubframe) -> TimedSubframe:
    """Add the SI-RNTI transmissions of subframe `sf` to `sent` ({'sib1_tx': n, 'si_tx': n})."""
    for tx in sf.plan.si if sf.plan is not None else ():
        key = "sib1_tx" if tx.kind == "sib1" else "si_tx"
        sent[key] = sent.get(key, 0) + 1
    return sf


_RUN_DIR_PREFIX = "soragate-run-"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_run_dirs() -> None:
    """Remove the temporary directories of earlier runs whose process is gone (killed with SIGKILL)."""
    for d in Path(tempfile.gettempdir()).glob(f"{_RUN_DIR_PREFIX}*-*"):
        pid_text = d.name[len(_RUN_DIR_PREFIX):].split("-", 1)[0]
        if d.is_dir() and pid_text.isdigit() and int(pid_text) != os.getpid() and not _pid_alive(int(pid_text)):
            shutil.rmtree(d, ignore_errors=True)


def _start_child(cmd: list[str]) -> subprocess.Popen:
    """Start a Soragate child process that dies with this one (gateway.__main__._die_with_parent)."""
    return subprocess.Popen(cmd, env={**os.environ, PARENT_PID_ENV: str(os.getpid())})


def _stop_child(child: subprocess.Popen, grace_s: float = 2.0) -> None:
    """SIGTERM, then SIGKILL after `grace_s`; returns once the child is gone (no-op if it has exited)."""
    if child.poll() is not None:
        return
    child.terminate()
    try:
        child.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()


def stream_to_handset(cfg: Config, n_subframes: int, config_path: str) -> dict:
    """Start the handset process, stream `n_subframes` to it over ZeroMQ, return its report
    (with `gateway_sent`: the SIB1 and SI transmissions the stream carried)."""
    num = numerology(cfg.cell.n_rb_dl)
    radio = ZmqStreamRadio(
        num.sample_rate_hz, cfg.cell.dl_frequency_hz, tx_address="@tcp://127.0.0.1:0", timeout_s=10.0
    )
    endpoint = radio.tx_endpoint
    sent = {"sib1_tx": 0, "si_tx": 0}
    remove_stale_run_dirs()
    with tempfile.TemporaryDirectory(prefix=f"{_RUN_DIR_PREFIX}{os.getpid()}-") as tmp:
        report_path = Path(tmp) / "handset.json"
        cmd = [
            sys.executable,
            "-m",
            "gateway",
            "handset",
            "--config",
            config_path,
            "--connect",
            endpoint,
            "--ms",
            str(n_subframes),
            "--report",
            str(report_path),
        ]
        child = _start_child(cmd)
        t0 = time.perf_counter()
        try:
            for sf in downlink_subframes(cfg, n_subframes):
                count_sent_si(sent, sf)
                last = sf.n + num.samples_per_subframe == n_subframes * num.samples_per_subframe
                flags = FrameFlags.END_OF_BURST if last else FrameFlags.NONE
                radio.tx(combine_ports(sf.samples), timestamp=sf.n, flags=flags)
            stream_s = time.perf_counter() - t0  # includes the handset process's start-up
            status = child.wait(timeout=120)
        except (RadioError, subprocess.TimeoutExpired) as exc:
            raise RadioError(f"the handset process did not take the downlink: {exc}") from exc
        finally:
            _stop_child(child)  # whatever ended the stream (Ctrl+C, SIGTERM, an error here): no orphan
            counters = radio.counters.as_dict()
            radio.close()
        if not report_path.exists():
            raise RadioError(f"the handset process exited with status {status} and wrote no report")
        out = json.loads(report_path.read_text())
    out.update(stream_s=stream_s, gateway_radio_counters=counters, handset_status=status, gateway_sent=sent)
    return out


def in_process(cfg: Config, n_subframes: int) -> dict:
    """The same chain as stream_to_handset without sockets or a second process."""
    t0 = time.perf_counter()
    sent = {"sib1_tx": 0, "si_tx": 0}
    parts = [combine_ports(count_sent_si(sent, sf).samples) for sf in downlink_subframes(cfg, n_subframes)]
    tx = np.concatenate(parts).astype(np.complex64, copy=False)
    out = {"generate_s": time.perf_counter() - t0, "samples": len(tx), "first_sample": 0, "gateway_sent": sent}
    out.update(receive_and_decode(cfg, tx))
    return out


def compare(cfg: Config, cell: dict, downlink: dict | None = None, sent: dict | None = None) -> dict:
    """Fields where the handset's reading differs from what the gateway sent (cell, then SIB1/SIB2).

    sent: {'sib1_tx': n, 'si_tx': n}, the SI-RNTI transmissions of the run; SIB1 contents are compared
    only when SIB1 went out (subframe 5 of an even frame, TS 36.331 5.2.1.2), SIB2 only when an SI
    message did. None compares everything (a run long enough to carry both)."""
    cell_sent = {
        k: getattr(cfg.cell, k)
        for k in ("pci", "n_rb_dl", "n_ports", "phich_duration", "phich_resource", "cfi")
    }
    out = {k: {"received": cell.get(k), "sent": v} for k, v in cell_sent.items() if cell.get(k) != v}
    if downlink is not None:
        si = cfg.system_info
        sib1_sent = sent is None or sent.get("sib1_tx", 0) > 0
        si_sent = sent.get("si_tx", 0) > 0 if sent is not None else bool(downlink.get("si_tx"))
        if sib1_sent:
            sib = {"plmns": [str(p) for p in si.plmn_list], "tac": si.tac, "cell_identity": si.cell_identity}
            out.update({k: {"received": downlink.get(k), "sent": v} for k, v in sib.items() if downlink.get(k) != v})
        if si_sent and not downlink.get("sib2"):
            out["sib2"] = {"received": False, "sent": True}
    return out


def _downlink_lines(cfg: Config, dl: dict, sent: dict) -> str:
    plmns = ", ".join(dl["plmns"]) or "-"
    lines = [
        f"  SIB1         : PLMNs {plmns}, TAC {dl['tac']}, cell identity {dl['cell_identity']} "
        f"({dl['sib1_ok']}/{dl['sib1_tx']} decoded, {sent.get('sib1_tx', 0)} sent)",
        f"  SIB2         : {'read' if dl['sib2'] else 'not read'} ({dl['si_ok']}/{dl['si_tx']} SI messages decoded, "
        f"{sent.get('si_tx', 0)} sent)",
    ]
    if dl["c_rnti"] is not None:
        bler = "-" if dl["bler"] is None else f"{dl['bler']:.3f}"
        lines.append(
            f"  PDSCH        : C-RNTI {dl['c_rnti']:#06x}, MCS {cfg.scheduler.user_mcs}, {dl['user_blocks']} blocks, "
            f"BLER {bler}, throughput {dl['throughput_bps'] / 1e6:.2f} Mbit/s"
        )
    return "\n".join(lines)


def _gateway_time(result: dict) -> str:
    if "stream_s" in result:
        return f"gateway stream {result['stream_s']:.2f} s (with handset start-up)"
    return f"generate {result['generate_s']:.2f} s"


def run(args: argparse.Namespace) -> int:
    cfg = load_config(args.config)
    cell, ch = cfg.cell, cfg.channel
    num = numerology(cell.n_rb_dl)
    mode = "in-process" if args.in_process else "2 processes over ZeroMQ (tcp loopback)"
    check_memory(args.ms, num.samples_per_subframe)
    path = Path(args.report)
    path.parent.mkdir(parents=True, exist_ok=True)  # a bad --report fails now, not after the run
    print(
        f"soragate: profile '{cfg.name}' ({cfg.source}), {mode}\n"
        f"  gateway cell : PCI {cell.pci}, {cell.n_rb_dl} RB ({cell.bandwidth_hz / 1e6:g} MHz), "
        f"{cell.n_ports} port(s), band {cell.band} EARFCN {cell.earfcn_dl} "
        f"({cell.dl_frequency_hz / 1e6:.1f} MHz), CFI {cell.cfi}, SFN from {cell.sfn_start}\n"
        f"  stream       : {num.sample_rate_hz / 1e6:.2f} Msps, {args.ms} ms\n"
        f"  channel      : SNR {ch.snr_db:g} dB per RE, CFO {ch.cfo_hz:g} Hz, delay {ch.delay_samples} samples",
        flush=True,
    )
    result = in_process(cfg, args.ms) if args.in_process else stream_to_handset(cfg, args.ms, args.config)
    if "error" in result:
        path.write_text(json.dumps({"profile": cfg.name, **result}, indent=2, default=str))
        print(f"FAIL: handset: {result['error']} (report {path})", file=sys.stderr)
        return 1
    rep = result["cell"]
    print(
        f"  handset      : found PCI {rep['pci']} (N_ID_1 {rep['n_id_1']}, N_ID_2 {rep['n_id_2']}), "
        f"frame start at sample {rep['timing_offset_samples']}\n"
        f"  MIB          : {rep['n_rb_dl']} RB, {rep['n_ports']} port(s), PHICH {rep['phich_duration']}/"
        f"{rep['phich_resource']}, SFN {rep['sfn']}\n"
        f"  PCFICH       : CFI {rep['cfi']}\n"
        f"{_downlink_lines(cfg, result['downlink'], result['gateway_sent'])}\n"
        f"  KPIs         : CFO {rep['cfo_hz']:+.1f} Hz (applied {ch.cfo_hz:+.1f}), "
        f"RSRP {rep['rsrp_dbfs']:.1f} dBFS, SINR {rep['sinr_db']:.1f} dB\n"
        f"  time         : {_gateway_time(result)}, channel {result['channel_s']:.2f} s, "
        f"cell search {result['receive_s']:.2f} s, PDCCH/PDSCH {result['downlink_s']:.2f} s",
        flush=True,
    )
    mismatches = compare(cfg, rep, result["downlink"], result.get("gateway_sent"))
    path.write_text(
        json.dumps(
            {"profile": cfg.name, "config": dataclasses.asdict(cfg), **result, "mismatches": mismatches},
            indent=2,
            default=str,
        )
    )
    print(f"  report       : {path}")
    if mismatches:
        print(f"FAIL: handset disagrees with the gateway on {sorted(mismatches)}", file=sys.stderr)
        return 1
    sent = result["gateway_sent"]
    unsent = [name for name, key in (("SIB1", "sib1_tx"), ("SIB2", "si_tx")) if not sent.get(key)]
    read = ", ".join(["the MIB"] + [n for n in ("SIB1", "SIB2") if n not in unsent])
    note = f" ({' and '.join(unsent)} not sent in these {args.ms} ms)" if unsent else ""
    print(f"OK: the handset found the cell and read {read}: what the gateway sent{note}")
    return 0
