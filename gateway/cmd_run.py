"""`python -m gateway run` (`make run`): the pass demo; `run --static`: the static-channel loopback demo.

The pass demo (DESIGN.md 4): the gateway's eNodeB and DL pre-compensation, the relay emulator (the
truth: two hops from the shipped TLE, link budget, AWGN, optional NTN-TDL fading) and two handsets
(beam centre and beam edge) over about a minute of a BlueBird pass around its highest elevation
(gateway.pass_demo.track_pass). Each handset is a Rel-8 phone: one blind cell search, then a tracking
receiver (timing loop and AFC on the CRS, MIB, SIB1, its PDSCH) on a DRX-like duty cycle, `--window-ms`
of signal every second, its prediction carried across the gaps. A live table (rich; plain lines when
stdout is not a terminal) shows per second: pass time, elevation, per handset sync, CFO, drift,
SINR, MIB/SIB1 decodes, BLER and throughput. A short slice without pre-compensation follows
(COMPARE_WINDOWS windows): the raw two-hop Doppler is far outside a Rel-8 phone's +-25 kHz search.
The report directory (gateway.run_report) holds the per-second KPI JSON, a summary and the plots.
By default (`--topology zmq`) the gateway and the relay emulator are processes of their own joined to
this one (the phones) by ZeroMQ, pipelined, every sample counted (gateway.pass_topology);
`--topology in-process` runs the same chain here and gives the same samples bit for bit.
`--record-handset NAME` writes what that phone receives to a SigMF recording in the report directory;
`--handsets N` places up to 20 phones (centre, edge, then rings: gateway.pass_demo.demo_handsets).

    python -m gateway run                                # a minute around the highest elevation
    python -m gateway run --whole-pass --fading NTN-TDL-C --report-dir out/pass
    python -m gateway run --precomp doppler --handsets edge --seconds 20
    python -m gateway run --handsets 8 --record-handset r1-3 --topology in-process

The static demo (`run --static`): two processes joined by ZeroMQ on loopback (DESIGN.md 5): this
gateway process builds the LTE downlink subframe by subframe and streams it as native IQ frames; an
emulated handset process (`python -m gateway handset`) receives it, applies the profile's loopback
channel (delay, carrier offset, noise) and runs cell search, MIB and PCFICH decoding, then
PDCCH/PDSCH of every subframe: SIB1 (PLMN list, TAC, cell identity), SIB2 and the user data of its
C-RNTI (BLER, throughput). `--in-process` runs the same chain without sockets. Prints what the
handset read, compares it with what was sent (SIB1 and SIB2 only when the run's subframes carried
them) and writes a JSON report.

The handset process dies with this one: it is stopped in a `finally` (Ctrl+C, SIGTERM, an error on
the gateway side) and, on Linux, gets SIGTERM from the kernel if this process is killed outright
(gateway.cli_args.PARENT_PID_ENV); its temporary report directory goes with it (a directory left by a
run killed with SIGKILL, which nothing can catch, is removed by the next run).
"""

from __future__ import annotations

import argparse
import contextlib
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

from gateway.cli_args import PARENT_PID_ENV, UserError, format_bytes, positive_int, positive_seconds
from gateway.cmd_handset import receive_and_decode
from gateway.config import Config, load_config
from gateway.enodeb import TimedSubframe, combine_ports, downlink_subframes
from gateway.pass_demo import RING_SIZE, RING_STEP_M, ring_handset_names
from phy.numerology import numerology
from radio_drivers import FrameFlags, RadioError, RadioTimeout, ZmqStreamRadio

DEFAULT_CONFIG = "hw_configs/loopback.yaml"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="run the pass demo: gateway -> pre-compensation -> relay emulator -> tracking "
                                   "handsets (--static: the static-channel loopback demo)")
    p.add_argument("--config", default=DEFAULT_CONFIG, help=f"YAML profile (default {DEFAULT_CONFIG})")
    p.add_argument("--static", action="store_true",
                   help="the static-channel demo instead: fixed delay/offset/AWGN, one handset over ZeroMQ")
    g = p.add_argument_group("the pass demo (default)")
    g.add_argument("--seconds", type=positive_seconds, default=60.0,
                   help="seconds of the pass around its highest elevation (default 60)")
    g.add_argument("--whole-pass", action="store_true", help="the whole selected pass, horizon to horizon")
    g.add_argument("--precomp", type=precomp_mode, help="gateway pre-compensation: off | doppler | delay | both "
                                                        "(default: the profile's link.precomp)")
    g.add_argument("--handsets", type=handset_names, default=HANDSET_NAMES,
                   help=f"a count (1 .. {MAX_HANDSETS}: centre, edge, then rings of {RING_SIZE} every "
                        f"{RING_STEP_M / 1e3:g} km, docs/channel.md) or names such as 'centre,edge,r1-0' "
                        "(default centre,edge)")
    g.add_argument("--topology", choices=TOPOLOGIES, default="zmq",
                   help="zmq (default): gateway, relay emulator and handsets as processes joined by ZeroMQ "
                        "(python -m gateway relay); in-process: one process, no sockets (the same samples)")
    g.add_argument("--record-handset", action="append", default=[], metavar="NAME",
                   help="write what handset NAME receives to <report-dir>/handset_NAME.sigmf-{meta,data} "
                        "(one capture per window; repeatable)")
    g.add_argument("--fading", type=fading_profile, help="none | NTN-TDL-A | NTN-TDL-B | NTN-TDL-C | NTN-TDL-D "
                                                         "(default: the profile's relay.fading)")
    g.add_argument("--window-ms", type=positive_int, default=DEFAULT_WINDOW_MS,
                   help=f"ms of signal per second of pass (the DRX on-duration; default {DEFAULT_WINDOW_MS}, "
                        "10 .. 1000)")
    g.add_argument("--no-compare", action="store_true", help="skip the short pre-compensation-off comparison")
    g.add_argument("--report-dir", help="report directory (default out/run_<UTC timestamp>)")
    g.add_argument("--quiet", action="store_true", help="no progress table")
    s = p.add_argument_group("the static demo (--static)")
    s.add_argument("--ms", type=positive_int, help="milliseconds of downlink to send (default 40)")
    s.add_argument("--report", help="where to write the JSON report (default out/run_report.json)")
    s.add_argument("--in-process", action="store_true", help="no handset process, no sockets")
    p.set_defaults(func=run)


HANDSET_NAMES = ("centre", "edge")
MAX_HANDSETS = 2 + 3 * RING_SIZE  # three rings: 12, 24 and 36 km from the beam centre
TOPOLOGIES = ("zmq", "in-process")
DEFAULT_WINDOW_MS = 100
COMPARE_WINDOWS = 5  # the pre-compensation-off slice: this many windows around the highest elevation


def precomp_mode(text: str) -> str:
    from gateway.precomp import MODES

    if text not in MODES:
        raise argparse.ArgumentTypeError(f"{text!r}: give one of {', '.join(MODES)}")
    return text


def fading_profile(text: str) -> str:
    from channel.ntn_tdl import NTN_TDL_PROFILES

    names = {"none": "none", **{k.upper(): k for k in NTN_TDL_PROFILES}}
    if text.upper() not in names and text != "none":
        raise argparse.ArgumentTypeError(f"{text!r}: give none or one of {', '.join(NTN_TDL_PROFILES)}")
    return names.get(text.upper(), text)


def all_handset_names() -> tuple[str, ...]:
    """Every handset the demo can place, in placement order (gateway.pass_demo.demo_handsets)."""
    return HANDSET_NAMES + tuple(ring_handset_names(MAX_HANDSETS - len(HANDSET_NAMES)))


def handset_names(text: str) -> tuple[str, ...]:
    """'2' -> ('centre', 'edge'); '1' -> ('centre',); '5' -> centre, edge, r1-0, r1-1, r1-2;
    'edge' or 'centre,r1-3' -> those names (in placement order)."""
    t = text.strip()
    known = all_handset_names()
    if t.isdigit():
        n = int(t)
        if not 1 <= n <= MAX_HANDSETS:
            raise argparse.ArgumentTypeError(f"{text!r}: the demo places 1 .. {MAX_HANDSETS} handsets")
        return known[:n]
    names = set(n.strip() for n in t.split(","))
    bad = sorted(names - set(known))
    if bad or not names:
        raise argparse.ArgumentTypeError(f"{text!r}: give a count or names from {','.join(HANDSET_NAMES)} "
                                         f"or r<ring>-<0..{RING_SIZE - 1}> (rings 1 .. 3)")
    return tuple(n for n in known if n in names)


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


# The handset process decodes the whole capture after it is streamed: its budget scales with the work
# (the measured cost is ~0.1 s of CPU per subframe at 25 PRB; x10 for a loaded machine, plus its start-up)
_HANDSET_S_PER_SUBFRAME = 1.0
_HANDSET_START_S = 60.0


def handset_budget_s(n_subframes: int) -> float:
    """Longest wait for the handset process to decode and report once the stream has ended."""
    return _HANDSET_START_S + _HANDSET_S_PER_SUBFRAME * n_subframes


def _tx_while_alive(radio: ZmqStreamRadio, child: subprocess.Popen, samples: np.ndarray, n: int,
                    flags: FrameFlags) -> None:
    """tx one subframe, waiting for the handset as long as its process lives. The wait has no fixed
    limit: the child's start-up (imports) takes seconds to tens of seconds on a loaded machine, and once
    it runs its own --timeout bounds a stall; each try lasts the profile's radio.zmq.timeout_s. One
    subframe is one frame (samples per subframe <= 30720 <= frame_samples), so a retry never repeats a
    frame that went out."""
    while True:
        try:
            radio.tx(samples, timestamp=n, flags=flags)
            return
        except RadioTimeout:
            if child.poll() is not None:
                raise


def stream_to_handset(cfg: Config, n_subframes: int, config_path: str) -> dict:
    """Start the handset process, stream `n_subframes` to it over ZeroMQ, return its report
    (with `gateway_sent`: the SIB1 and SI transmissions the stream carried)."""
    num = numerology(cfg.cell.n_rb_dl)
    radio = ZmqStreamRadio(
        num.sample_rate_hz, cfg.cell.dl_frequency_hz, tx_address="@tcp://127.0.0.1:0",
        timeout_s=cfg.radio.zmq.timeout_s, frame_samples=max(cfg.radio.zmq.frame_samples, num.samples_per_subframe),
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
                _tx_while_alive(radio, child, combine_ports(sf.samples), sf.n, flags)
            stream_s = time.perf_counter() - t0  # includes the handset process's start-up
            status = child.wait(timeout=handset_budget_s(n_subframes))
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
    if not args.static:
        given = [o for o, v in (("--ms", args.ms), ("--report", args.report), ("--in-process", args.in_process)) if v]
        if given:
            raise UserError(f"only the static demo takes {', '.join(given)}: add --static")
        return run_pass(args)
    args.ms = 40 if args.ms is None else args.ms
    args.report = "out/run_report.json" if args.report is None else args.report
    return run_static(args)


def run_static(args: argparse.Namespace) -> int:
    """The static-channel demo (`run --static`)."""
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


# -- the pass demo -----------------------------------------------------------------------------------------

def _cell(k: dict, key: str, spec: str, scale: float = 1.0) -> str:
    v = k.get(key)
    return "-" if v is None else format(v * scale, spec)


def _handset_cells(k: dict) -> list[str]:
    """sync, CFO (Hz), drift (ns/s), SINR (dB), MIB, SIB1, BLER, throughput (Mbit/s) of one window."""
    mib = f"{k['mib_decoded']}/{k['mib_sent']}" if "mib_sent" in k else "-"
    sib1 = f"{k['sib1_decoded']}/{k['sib1_sent']}" if "sib1_sent" in k else "-"
    state = k["state"] + ("*" if k.get("acquired") else "")
    return [state, _cell(k, "cfo_hz", "+.1f"), _cell(k, "drift_ns_s", "+.1f"), _cell(k, "sinr_db", ".1f"), mib, sib1,
            _cell(k, "bler", ".2f"), _cell(k, "throughput_bps", ".2f", 1e-6)]


_HANDSET_COLUMNS = ("sync", "CFO Hz", "drift ns/s", "SINR dB", "MIB", "SIB1", "BLER", "Mbit/s")


class _ProgressTable:
    """The live per-second table: rich (a table of the latest rows above a progress bar) on a terminal,
    one plain line per window otherwise (CI logs), nothing with quiet."""

    def __init__(self, names: list[str], n_windows: int, title: str, quiet: bool = False):
        self.names, self.n, self.title, self.quiet = names, n_windows, title, quiet
        self.rows: list[list[str]] = []
        self.tty = sys.stdout.isatty() and not quiet
        self._live = None

    def __enter__(self):
        if self.quiet:
            return self
        if self.tty:
            from rich.console import Console
            from rich.live import Live
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            self._console = Console()
            self._progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                      TimeRemainingColumn(), console=self._console)
            self._task = self._progress.add_task("pass seconds", total=self.n)
            self._live = Live(self._render(), console=self._console, refresh_per_second=4)
            self._live.__enter__()
        else:
            cols = ["t_s", "elev"] + [f"{n}:{c.split()[0]}" for n in self.names for c in _HANDSET_COLUMNS]
            print(" ".join(cols), flush=True)
        return self

    def _render(self):
        from rich.console import Group
        from rich.table import Table

        table = Table(title=self.title, title_justify="left", header_style="bold")
        table.add_column("t (s)", justify="right")
        table.add_column("elev", justify="right")
        for n in self.names:
            for c in _HANDSET_COLUMNS:
                table.add_column(f"{n}\n{c}", justify="right")
        height = max(5, self._console.size.height - 10)
        for row in self.rows[-height:]:
            style = None if all(cell != "search" and not cell.startswith("lost") for cell in row) else "yellow"
            table.add_row(*row, style=style)
        return Group(table, self._progress)

    def add(self, rec: dict) -> None:
        row = [f"{rec['t_from_max_s']:+.0f}", f"{rec['elevation_deg']:.1f}"]
        for n in self.names:
            row += _handset_cells(rec["handsets"][n])
        self.rows.append(row)
        if self.quiet:
            return
        if self.tty:
            self._progress.advance(self._task)
            self._live.update(self._render())
        else:
            print(" ".join(row), flush=True)

    def __exit__(self, *exc):
        if self._live is not None:
            self._live.__exit__(*exc)
        return False


def _utc_stamp() -> str:
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())


_TOPOLOGY_TEXT = {"zmq": "gateway -> relay -> handsets as 3 processes over ZeroMQ (ipc)",
                  "in-process": "gateway, relay and handsets in one process"}


def _topology(name: str, cfg: Config, config_path: str):
    """The track_pass source of --topology: None (in process) or a gateway.pass_topology.ZmqTopology."""
    if name == "in-process":
        return None
    from gateway.pass_topology import ZmqTopology

    return ZmqTopology(cfg, config_path)


def _transport_info(source) -> dict | None:
    if source is None:
        return None
    return {**source.accounting, "stages_wall_s": source.wall_s, "counters": source.counters}


def _distance_km(a, b) -> float:
    return float(np.linalg.norm(a.ecef_m - b.ecef_m) / 1e3)


def _recorder(report_dir: Path, name: str, fs: float, cfg: Config, pred, sl, mode: str):
    """A SigMF recorder of handset `name`'s received samples (one capture per window, core:global_index =
    the handset's sample counter, core:datetime from the ephemerides' epoch)."""
    from radio_drivers import SigMFRecorder

    desc = (f"Soragate pass demo: what handset '{name}' receives from the BlueBird relay emulator "
            f"(profile {cfg.name}, PCI {cfg.cell.pci}, {cfg.cell.n_rb_dl} RB, pre-compensation {mode}); "
            f"{sl.n_windows} windows of {sl.window_s * 1e3:.0f} ms every {sl.step_s:g} s")
    return SigMFRecorder(report_dir / f"handset_{name}", fs, cfg.cell.dl_frequency_hz, description=desc,
                         hw="soragate relay emulator (channel.RelayEmulator), emulated handset",
                         epoch_utc=pred.epoch_utc)


def run_pass(args: argparse.Namespace) -> int:
    """The pass demo (module docstring): table while it runs, then the report directory."""
    from gateway import run_report
    from gateway.pass_demo import demo_handsets, pass_slice, relay_config, track_pass
    from gateway.prediction import PassPrediction
    from orbit.passes import elevation_deg

    cfg = load_config(args.config)
    if not 10 <= args.window_ms <= 1000:
        raise UserError(f"--window-ms {args.window_ms}: give 10 .. 1000 ms of signal per second of pass")
    report_dir = Path(args.report_dir or f"out/run_{_utc_stamp()}")
    report_dir.mkdir(parents=True, exist_ok=True)  # a bad --report-dir fails now, not after the run
    mode = args.precomp or cfg.link.precomp
    fading = args.fading or cfg.relay.fading
    settings = dataclasses.replace(relay_config(cfg.relay), fading=fading)
    pred = PassPrediction.from_config(cfg)
    known = all_handset_names()
    n_placed = 1 + max(known.index(n) for n in args.handsets)
    handsets = [h for h in demo_handsets(pred, cfg.relay, n_placed) if h.name in args.handsets]
    unknown = [n for n in args.record_handset if n not in args.handsets]
    if unknown:
        raise UserError(f"--record-handset {', '.join(unknown)}: not among this run's handsets "
                        f"({', '.join(args.handsets)})")
    try:
        sl = pass_slice(cfg, args.seconds, 1.0, args.window_ms / 1000, args.whole_pass)
    except ValueError as exc:
        raise UserError(f"--seconds: {exc}") from None
    p, cell = sl.pass_, cfg.cell
    num = numerology(cell.n_rb_dl)
    max_el = float(elevation_deg(pred.sat, pred.beam, p.max_time_s)[0])
    t_first, t_last = sl.first_from_max_s, sl.first_from_max_s + (sl.n_windows - 1) * sl.step_s
    print(
        f"soragate: profile '{cfg.name}' ({cfg.source}), pass demo, "
        f"{_TOPOLOGY_TEXT[args.topology]}\n"
        f"  satellite    : {pred.tle.name or pred.tle.norad_id}, pass {p.duration_s:.0f} s, max elevation "
        f"{max_el:.1f} deg at the beam centre\n"
        f"  gateway cell : PCI {cell.pci}, {cell.n_rb_dl} RB ({num.sample_rate_hz / 1e6:.2f} Msps), "
        f"{cell.dl_frequency_hz / 1e6:.1f} MHz, pre-compensation {mode}\n"
        f"  relay        : fading {fading}, AWGN {'on' if settings.awgn else 'off'}; handsets "
        f"{', '.join(f'{h.name} ({h.clock_ppm:+g} ppm)' for h in handsets)}\n"
        f"  slice        : {sl.n_windows} windows of {sl.window_s * 1e3:.0f} ms every {sl.step_s:g} s "
        f"({t_first:+.0f} .. {t_last:+.0f} s from the highest elevation; PDSCH decoded in every tracked "
        f"subframe, duty cycle {100 * sl.duty_cycle:.0f} %)\n"
        f"  report       : {report_dir}",
        flush=True,
    )
    t0 = time.perf_counter()
    windows = []
    names = [h.name for h in handsets]
    source = _topology(args.topology, cfg, args.config)
    with contextlib.ExitStack() as stack:
        taps = {n: stack.enter_context(_recorder(report_dir, n, num.sample_rate_hz, cfg, pred, sl, mode))
                for n in args.record_handset}
        with _ProgressTable(names, sl.n_windows, f"pre-compensation {mode}", args.quiet) as table:
            for rec in track_pass(cfg, sl, mode, handsets, settings, source=source, taps=taps):
                rec["wall_s"] = time.perf_counter() - t0
                windows.append(rec)
                table.add(rec)
    wall_s = time.perf_counter() - t0
    off, source_off = None, None
    if mode != "off" and not args.no_compare:
        print(f"  without pre-compensation: {COMPARE_WINDOWS} windows around the highest elevation ...", flush=True)
        sl_off = pass_slice(cfg, COMPARE_WINDOWS - 1.0, 1.0, min(sl.window_s, 0.04), False)
        source_off = _topology(args.topology, cfg, args.config)
        off = list(track_pass(cfg, sl_off, "off", handsets, settings, decode_pdsch=False, source=source_off))
    run_info = {
        "profile": cfg.name, "config_path": str(args.config), "precomp": mode, "fading": fading,
        "topology": args.topology, "recorded": {n: f"handset_{n}.sigmf-meta" for n in args.record_handset},
        "transport": _transport_info(source), "transport_precomp_off": _transport_info(source_off),
        "handsets": [{"name": h.name, "lat_deg": h.site.lat_deg, "lon_deg": h.site.lon_deg, "clock_ppm": h.clock_ppm,
                      "distance_km": _distance_km(pred.beam, h.site)}
                     for h in handsets],
        "n_windows": sl.n_windows, "window_s": sl.window_s, "step_s": sl.step_s, "t_first_s": t_first,
        "t_last_s": t_last, "pass_max_time_s": p.max_time_s, "pass_duration_s": p.duration_s,
        "max_elevation_deg": max_el, "sample_rate_hz": num.sample_rate_hz, "wall_s": wall_s,
        "compare_wall_s": time.perf_counter() - t0 - wall_s,
    }
    res = run_report.write_report(report_dir, run_info, windows, off)
    for line in res["lines"]:
        print(line)
    acc = run_info["transport"]
    if acc:
        print(f"  ZeroMQ       : {acc['expected_samples']} samples per stream, gateway sent {acc['gateway_tx']}, "
              f"relay took {acc['relay_rx']} and sent {min(acc['relay_tx'].values())} per handset, the handsets "
              f"took {min(acc['handset_rx'].values())}: none lost or repeated")
    for n in args.record_handset:
        print(f"  recording    : {report_dir / f'handset_{n}.sigmf-meta'} (what handset {n} received)")
    print(f"  time         : {wall_s:.1f} s for {sl.n_windows} windows"
          + (f", {run_info['compare_wall_s']:.1f} s without pre-compensation" if off else "")
          + f"\n  report       : {report_dir} (kpi.json, summary.txt, {', '.join(run_report.PLOTS)})")
    synced = [n for n, s in res["summary"].items() if s["in_sync"]]
    print(f"OK: {', '.join(synced) or 'no handset'} tracked the cell" if synced else
          "no handset acquired the cell", flush=True)
    return 0
