"""`python -m gateway monitor FILE`: track one cell through a long capture (phy.ue.tracker.CellTracker).

    python -m gateway monitor pass.sigmf-meta --csv kpi.csv --json kpi.json --png kpi.png
    python -m gateway monitor hackrf.bin --format ci8 --rate 19.2e6 --pci 137 --interval 0.1

The cell is found in the first 50 ms (phy.ue.scan.find_cells; the strongest, or --pci), then the whole
capture is streamed in pieces (bounded memory): conditioned (DC, IQ imbalance from the first second),
resampled to the cell's rate without seams (phy.ue.iq_input.StreamResampler) and tracked. Per interval:
CFO, frame timing (ns, against the nominal clock) and its drift (ns/s), RSRP, SINR, CFI, MIB and SIB1
CRC success, and with --rnti that C-RNTI's PDSCH BLER.
A residual Doppler ramp or delay drift after pre-compensation shows up here.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

from gateway.cli_args import UserError, positive_hz, positive_seconds
from gateway.cmd_scan import _Progress
from phy.numerology import numerology
from phy.ue.cell_search import CellNotFound
from phy.ue.iq_input import IqStats, StreamResampler, condition
from phy.ue.scan import STANDARD_RATES, WINDOW_S, covers_band, find_cells
from phy.ue.tracker import CellTracker, TrackPoint
from radio_drivers.capture_file import CAPTURE_FORMATS, open_capture

CHUNK = 1 << 19  # input samples per read
FIELDS = (
    "t_s", "sfn", "cfo_hz", "timing_ns", "drift_ns_s", "rsrp_dbfs", "sinr_db", "cfi", "mib_ok", "sib1_ok", "subframes",
    "user_blocks", "bler",
)


def _rnti(text: str) -> int:
    try:
        value = int(text, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an RNTI (e.g. 0x46 or 70)") from None
    if not 1 <= value <= 0xFFF3:  # C-RNTI range, TS 36.321 Table 7.1-1
        raise argparse.ArgumentTypeError(f"{text!r}: a C-RNTI is 0x0001 .. 0xFFF3")
    return value


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("monitor", help="track one LTE cell through a capture: CFO, timing drift, RSRP/SINR")
    p.add_argument("file", help="capture: a .sigmf-meta/.sigmf-data (or its stem), or a raw I/Q file")
    p.add_argument("--format", choices=tuple(CAPTURE_FORMATS), help="raw file sample format")
    p.add_argument("--rate", type=positive_hz, help="raw file sample rate, samples/s")
    p.add_argument("--freq", type=positive_hz, help="centre frequency, Hz")
    p.add_argument("--pci", type=int, help="cell to track (default: the strongest)")
    p.add_argument("--rnti", type=_rnti, help="C-RNTI whose PDSCH BLER to report (e.g. 0x46)")
    p.add_argument("--interval", type=positive_seconds, default=0.1, help="KPI interval, s (default 0.1)")
    p.add_argument("--cfo-range", type=positive_hz, default=30e3, help="carrier offsets searched, +- Hz")
    p.add_argument("--json", dest="json_out", help="write the KPIs as JSON here")
    p.add_argument("--csv", dest="csv_out", help="write the KPIs as CSV here")
    p.add_argument("--png", dest="png_out", help="plot CFO, timing drift and SINR against time here")
    p.add_argument("--quiet", action="store_true", help="no progress line, no table")
    p.set_defaults(func=run_monitor)


def monitor(cap, pci: int | None, interval_s: float, cfo_range_hz: float, progress=None, c_rnti: int | None = None):
    """(the CellReport tracked, list[TrackPoint]) for a CaptureFile."""
    fs = cap.sample_rate_hz
    head = cap.read(0, min(cap.n_samples, int(fs)))
    stats = IqStats()
    stats.add(head)
    iq = stats.correction()
    n_win = int(round(WINDOW_S * fs))
    if cap.n_samples < 0.011 * fs:
        raise UserError(f"{cap.path}: {1e3 * cap.duration_s:.1f} ms is too short to monitor (>= 11 ms, and a few "
                        "intervals to be useful)")
    x0, _ = condition(head[:n_win], iq)
    try:
        cells = find_cells(x0, fs, cfo_range_hz)
    except CellNotFound as exc:
        raise UserError(f"no LTE cell found in the first {WINDOW_S * 1e3:.0f} ms of {cap.path}: {exc}") from None
    if pci is not None:
        cells = [c for c in cells if c.pci == pci]
        if not cells:
            raise UserError(f"PCI {pci} is not among the cells found in the first {WINDOW_S * 1e3:.0f} ms")
    cell = cells[0]
    if not (cell.n_rb_dl == 6 or covers_band(fs, cell.n_rb_dl)):
        raise UserError(
            f"PCI {cell.pci} is a {cell.n_rb_dl}-PRB cell: {fs / 1e6:g} Msps does not cover its band; monitor "
            f"needs >= {cell.n_rb_dl * 0.18:g} Msps"
        )
    fs_cell = STANDARD_RATES[cell.n_rb_dl]
    rs = StreamResampler(fs, fs_cell)
    scale = rs.rate_out / fs
    tracker = CellTracker(
        cell.pci, cell.n_rb_dl, cell.n_ports, cell.sfn, cell.timing_offset_samples * scale, cell.cfo_hz, interval_s,
        phich_duration=cell.phich_duration, phich_resource=cell.phich_resource, c_rnti=c_rnti,
    )
    n = cap.n_samples
    for start in range(0, n, CHUNK):
        x, _ = condition(cap.read(start, CHUNK), iq, block_dc=False)
        tracker.push(rs.push(x))
        if progress:
            progress(min(1.0, (start + CHUNK) / n), "tracking")
    tracker.push(rs.flush())
    return cell, tracker.points


def run_monitor(args: argparse.Namespace) -> int:
    cap = open_capture(args.file, args.format, args.rate, args.freq)
    for note in cap.notes:
        print(f"warning: {note}", file=sys.stderr)
    progress = _Progress(not args.quiet, "monitor")
    try:
        cell, points = monitor(cap, args.pci, args.interval, args.cfo_range, progress, args.rnti)
    finally:
        progress.done()
    if not points:
        raise UserError(f"{cap.path}: the capture holds no complete {args.interval:g} s interval after the cell")
    out = {
        "file": str(cap.path),
        "sample_rate_hz": cap.sample_rate_hz,
        "center_frequency_hz": cap.center_frequency_hz,
        "cell": {"pci": cell.pci, "n_rb_dl": cell.n_rb_dl, "n_ports": cell.n_ports,
                 "sample_rate_hz": numerology(cell.n_rb_dl).sample_rate_hz},
        "interval_s": args.interval,
        "points": [p.as_dict() for p in points],
    }
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(out, indent=2))
    if args.csv_out:
        write_csv(Path(args.csv_out), points)
    if args.png_out:
        plot(Path(args.png_out), points, cell.pci)
    if not args.quiet:
        print(f"PCI {cell.pci}, {cell.n_rb_dl} PRB, {cell.n_ports} port(s): {len(points)} interval(s) of "
              f"{args.interval:g} s")
        print(f"{'t (s)':>8} {'SFN':>5} {'CFO (Hz)':>11} {'timing (ns)':>12} {'drift (ns/s)':>13} "
              f"{'RSRP dBFS':>10} {'SINR dB':>8} {'CFI':>4} {'MIB':>4} {'SIB1':>5}" + (" BLER" if args.rnti else ""))
        for p in points:
            drift = "" if p.drift_ns_s is None else f"{p.drift_ns_s:.1f}"
            mib = {None: "-", True: "ok", False: "FAIL"}[p.mib_ok]
            sib1 = "-" if p.sib1_ok is None else f"{100 * p.sib1_ok:.0f}%"
            print(f"{p.t_s:8.3f} {p.sfn:5d} {p.cfo_hz:11.2f} {p.timing_ns:12.1f} {drift:>13} {p.rsrp_dbfs:10.1f} "
                  f"{p.sinr_db:8.1f} {p.cfi if p.cfi is not None else '-':>4} {mib:>4} {sib1:>5}"
                  + (f" {p.bler:.3f} of {p.user_blocks}" if p.bler is not None else ""))
    return 0


def write_csv(path: Path, points: list[TrackPoint]) -> None:
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(FIELDS)
        for p in points:
            d = p.as_dict()
            w.writerow(["" if d[k] is None else d[k] for k in FIELDS])


def plot(path: Path, points: list[TrackPoint], pci: int) -> None:
    """CFO, timing drift and SINR against time, one panel each (matplotlib, Agg)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t = [p.t_s for p in points]
    fig, ax = plt.subplots(3, 1, figsize=(8, 8), sharex=True)
    ax[0].plot(t, [p.cfo_hz for p in points], ".-")
    ax[0].set_ylabel("CFO (Hz)")
    ax[1].plot(t[1:], [p.drift_ns_s for p in points[1:]], ".-")
    ax[1].set_ylabel("timing drift (ns/s)")
    ax[2].plot(t, [p.sinr_db for p in points], ".-")
    ax[2].set_ylabel("SINR (dB)")
    ax[2].set_xlabel("time in capture (s)")
    ax[0].set_title(f"PCI {pci}")
    for a in ax:
        a.grid(True)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
