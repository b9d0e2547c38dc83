"""`python -m gateway scan FILE`: list the LTE cells of a capture like a phone's cell search (phy.ue.scan).

    python -m gateway scan dl.sigmf-meta                       # SigMF: rate, format, frequency from the meta
    python -m gateway scan hackrf.bin --format ci8 --rate 19.2e6 --freq 2.6e9 --cfo-range 50e3
    python -m gateway scan rtl.bin --format cu8 --rate 2.4M --json
    python -m gateway scan --config hw_configs/bench_b210.yaml --seconds 0.5   # live, the profile's radio

For each cell, strongest first: PCI, CRS ports, bandwidth, SFN, CFO, sample-clock drift, RSRP/SINR, CFI,
and for the strong ones SIB1 (PLMNs, TAC, cell identity, band, SI schedule) and SIB2 (PRACH/RACH, paging)
in plain words. A file that yields no cell gets a hint from its byte statistics ("looks like ci8").
"""

from __future__ import annotations

import argparse
import json
import sys

from gateway.cli_args import UserError, decibels, non_negative_int, positive_hz, positive_int, positive_seconds
from mac.ue_system_info import read_system_info
from phy.ue.cell_search import CellNotFound
from phy.ue.scan import ScanResult, ScanSettings, scan
from radio_drivers.capture_file import CAPTURE_FORMATS, describe_format, memory_capture, open_capture, sniff_formats


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("scan", help="find and read every LTE cell in an IQ capture (SigMF or raw cf32/ci16/ci8/cu8)")
    p.add_argument("file", nargs="?", help="capture: a .sigmf-meta/.sigmf-data (or its stem), or a raw I/Q file")
    p.add_argument("--config", help="instead of a file: receive from this profile's radio (radio: section)")
    p.add_argument("--seconds", type=positive_seconds, default=0.2, help="with --config: seconds to receive")
    p.add_argument("--format", choices=tuple(CAPTURE_FORMATS), help="raw file sample format (ci8 HackRF, cu8 RTL-SDR)")
    p.add_argument("--rate", type=positive_hz, help="raw file sample rate, samples/s (any >= 1.92e6)")
    p.add_argument("--freq", type=positive_hz, help="centre frequency of the capture, Hz (for ppm figures)")
    p.add_argument(
        "--cfo-range", type=positive_hz, default=30e3,
        help="carrier offsets searched, +- Hz (default 30e3: a 10 ppm crystal at 2.6 GHz plus margin)",
    )
    p.add_argument("--segment", type=non_negative_int,
                   help="SigMF recording of bursts (discontinuous captures): read this contiguous segment "
                        "(default the first)")
    p.add_argument("--max-cells", type=positive_int, default=8, help="cells listed at most")
    p.add_argument("--windows", type=positive_int, default=6, help="50 ms detection windows over the capture")
    p.add_argument("--no-sib", action="store_true", help="skip SIB1/SIB2 decoding")
    p.add_argument("--min-sinr", type=decibels, default=-6.0, help="decode SIBs of cells at least this SINR, dB")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("--quiet", action="store_true", help="no progress line on stderr")
    p.set_defaults(func=run_scan)


class _Progress:
    """One stderr line updated in place with \\r."""

    def __init__(self, enabled: bool, name: str = "scan"):
        self.enabled, self.name = enabled, name
        self.shown = False

    def __call__(self, fraction: float, label: str) -> None:
        if self.enabled:
            sys.stderr.write(f"\r{self.name}: {label:<20} {100 * fraction:5.1f} %")
            sys.stderr.flush()
            self.shown = True

    def done(self) -> None:
        if self.shown:
            sys.stderr.write("\r" + " " * 40 + "\r")
            sys.stderr.flush()


def _hint(cap) -> str:
    fits = sniff_formats(cap.head_bytes())
    fmt = cap.sample_format
    if not fits:
        return f"the bytes fit none of the formats' signatures ({', '.join(CAPTURE_FORMATS)})"
    if fmt in fits:
        return f"the bytes look like {fmt} as given; check --rate and --cfo-range, or record longer/stronger"
    others = ", ".join(f"{f} ({describe_format(f)})" for f in fits)
    return f"the bytes do not look like {fmt}: they look like {others}; try --format {fits[0]}"


MAX_LIVE_SAMPLES = 1 << 27  # 1 GiB of complex64: a live capture is held in memory


def receive_live(config: str, seconds: float):
    """Receive `seconds` from a profile's radio at the cell's rate and centre frequency (gaps zero-filled,
    radio_drivers.rx_gaps) into a CaptureFile in memory."""
    from gateway.config import load_config
    from phy.numerology import numerology
    from radio_drivers import open_radio
    from radio_drivers.rx_gaps import read_contiguous

    cfg = load_config(config)
    fs = numerology(cfg.cell.n_rb_dl).sample_rate_hz
    total = int(round(seconds * fs))
    if total > MAX_LIVE_SAMPLES:
        raise UserError(f"--seconds {seconds:g} at {fs / 1e6:g} Msps is more than a live scan holds in memory; "
                        f"record with `python -m gateway radio capture` and scan the file")
    radio = open_radio(cfg.radio, sample_rate_hz=fs, center_frequency_hz=cfg.cell.dl_frequency_hz)
    try:
        cap = read_contiguous(radio, total)
    finally:
        radio.close()
    out = memory_capture(cap.samples, fs, cfg.cell.dl_frequency_hz, f"radio {radio.name} ({config})")
    if cap.gaps:
        out.notes.append(f"{len(cap.gaps)} gap(s) in the stream, {cap.filled_samples} samples zero-filled")
    return out


def run_scan(args: argparse.Namespace) -> int:
    if (args.file is None) == (args.config is None):
        raise UserError("give a capture file, or --config PROFILE (with --seconds) to receive from its radio")
    if args.config is not None:
        cap = receive_live(args.config, args.seconds)
    else:
        cap = open_capture(args.file, args.format, args.rate, args.freq, segment=args.segment)
    for note in cap.notes:
        print(f"warning: {note}", file=sys.stderr)
    settings = ScanSettings(
        cfo_range_hz=args.cfo_range,
        max_windows=args.windows,
        max_cells=args.max_cells,
        min_sinr_db=args.min_sinr,
        decode_si=not args.no_sib,
        check_clipping=cap.sample_format != "cf32",
    )
    progress = _Progress(not args.quiet)
    try:
        result = scan(cap, settings, progress, read_system_info)
    except CellNotFound as exc:
        raise UserError(
            f"no LTE cell found in {cap.path} ({cap.sample_format}, {cap.sample_rate_hz / 1e6:g} Msps, "
            f"{1e3 * cap.duration_s:.1f} ms): {_hint(cap)} [{str(exc)[:120]}]"
        ) from None
    except ValueError as exc:
        raise UserError(f"{cap.path}: {exc}") from None
    finally:
        progress.done()
    fits = sniff_formats(cap.head_bytes())
    if not cap.is_sigmf and fits and cap.sample_format not in fits:
        print(f"warning: the bytes look like {fits[0]} ({describe_format(fits[0])}), not {cap.sample_format}",
              file=sys.stderr)
    if args.json:
        out = result.as_dict()
        out.update(file=str(cap.path), sample_format=cap.sample_format, center_frequency_hz=cap.center_frequency_hz)
        print(json.dumps(out, indent=2, default=str))
    else:
        print(format_scan(result, cap))
    return 0


# --- plain words -------------------------------------------------------------------------------


def _db(x: float) -> str:
    return f"{x:+.1f}" if x == x else "n/a"


def format_scan(result: ScanResult, cap) -> str:
    fc = cap.center_frequency_hz
    lines = [
        f"Capture {cap.path}: {cap.sample_format}, {result.sample_rate_hz / 1e6:g} Msps, "
        f"{1e3 * result.duration_s:.1f} ms" + (f", centre {fc / 1e6:.3f} MHz" if fc else ""),
        f"  level {result.power_dbfs:.1f} dBFS; DC offset {abs(result.iq.dc):.4f} of full scale removed; "
        f"IQ image {-result.iq.image_rejection_db:.1f} dBc (removed); {result.windows} detection window(s)",
    ]
    lines += [f"  note: {n}" for n in result.notes]
    lines.append(f"{len(result.cells)} cell(s), strongest first:")
    for i, c in enumerate(result.cells, 1):
        r = c.report
        mhz = {6: "1.4", 15: "3", 25: "5", 50: "10", 75: "15", 100: "20"}[r.n_rb_dl]
        lines.append("")
        lines.append(
            f"Cell {i}: PCI {r.pci} (N_ID_1 {r.n_id_1}, N_ID_2 {r.n_id_2}), {r.n_ports} CRS port(s), "
            f"{mhz} MHz ({r.n_rb_dl} PRB), PHICH {r.phich_duration}/{r.phich_resource}"
        )
        cfo = f"CFO {c.cfo_hz:+.1f} Hz"
        if fc:
            cfo += f" ({c.cfo_hz / fc * 1e6:+.2f} ppm of the centre frequency)"
        if c.cfo_rate_hz_s:
            cfo += f", changing {c.cfo_rate_hz_s:+.1f} Hz/s"
        lines.append(
            f"  SFN {c.sfn} starts at sample {c.frame_start_sample:.1f}; {cfo}; sample clock "
            f"{c.clock_error_ppm:+.2f} ppm (timing drift {c.clock_error_ppm * 1e3:+.0f} ns/s)"
        )
        cfi = "CFI unknown (central 6 PRB only)" if r.cfi is None else f"CFI {r.cfi}"
        lines.append(
            f"  RSRP {c.rsrp_dbfs:.1f} dBFS, SINR {_db(c.sinr_db)} dB, {cfi}; seen in {c.windows_seen} of "
            f"{result.windows} window(s)" + ("" if c.full_band else "; MIB only: the rate covers the central 6 PRB")
        )
        si = c.system_info
        if si is None:
            if c.full_band:
                lines.append("  SIB1/SIB2 not decoded (SINR below --min-sinr, or --no-sib)")
            continue
        lines += _describe_si(si)
    return "\n".join(lines)


def _describe_si(si) -> list[str]:
    out = []
    if si.sib1 is None:
        out.append(f"  SIB1 not read: {si.note}")
        return out
    s = si.sib1
    cid = s["cell_identity"]
    out.append(
        f"  SIB1: PLMN(s) {', '.join(s['plmns'])}; TAC {s['tac']}; cell identity {cid} (eNB {cid >> 8}, "
        f"cell {cid & 0xFF}); band {s['freq_band_indicator']}; {'barred' if s['cell_barred'] else 'not barred'}; "
        f"q-RxLevMin {s['q_rx_lev_min_dbm']} dBm"
    )
    sched = "; ".join(
        f"SI message {n} every {10 * e['si_periodicity_rf']} ms carries "
        + ", ".join(["SIB2"] * (n == 1) + [f"SIB{t}" for t in e["sib_types"]])
        for n, e in enumerate(s["scheduling_info"], 1)
    )
    out.append(f"        SI window {s['si_window_ms']} ms; {sched}")
    if si.sib2 is None:
        out.append(f"  SIB2 not read: {si.note}")
    else:
        out += _describe_sib2(si.sib2)
    out.append(
        f"  decoded {si.subframes_decoded} subframe(s): SIB1 {si.sib1_ok}/{si.sib1_tx}, SI {si.si_ok}/{si.si_tx}; "
        f"paging (P-RNTI) DCIs seen: {si.paging_dcis}"
    )
    return out


def _get(d: dict, *keys, default="?"):
    for k in keys:
        if not isinstance(d, dict) or k not in d:
            return default
        d = d[k]
    return d


def _describe_sib2(sib2: dict) -> list[str]:
    rr = sib2.get("radioResourceConfigCommon", {})
    rach = rr.get("rach-ConfigCommon", {})
    prach = rr.get("prach-Config", {})
    info = prach.get("prach-ConfigInfo", {})
    step = str(_get(rach, "powerRampingParameters", "powerRampingStep")).removeprefix("dB")
    target = str(_get(rach, "powerRampingParameters", "preambleInitialReceivedTargetPower")).removeprefix("dBm")
    window = str(_get(rach, "ra-SupervisionInfo", "ra-ResponseWindowSize")).removeprefix("sf")
    cr = str(_get(rach, "ra-SupervisionInfo", "mac-ContentionResolutionTimer")).removeprefix("sf")
    tx_max = str(_get(rach, "ra-SupervisionInfo", "preambleTransMax")).removeprefix("n")
    n_pre = str(_get(rach, "preambleInfo", "numberOfRA-Preambles")).removeprefix("n")
    paging = str(_get(rr, "pcch-Config", "defaultPagingCycle")).removeprefix("rf")
    ul_bw = str(_get(sib2, "freqInfo", "ul-Bandwidth", default="n(as DL)")).removeprefix("n")
    ul_earfcn = _get(sib2, "freqInfo", "ul-CarrierFreq", default="the band's default duplex")
    return [
        f"  SIB2: PRACH configuration index {info.get('prach-ConfigIndex', '?')}, root sequence "
        f"{prach.get('rootSequenceIndex', '?')}, zero-correlation zone {info.get('zeroCorrelationZoneConfig', '?')}, "
        f"frequency offset {info.get('prach-FreqOffset', '?')} PRB, high-speed set "
        f"{'on' if info.get('highSpeedFlag') else 'off'}",
        f"        RACH: {n_pre} preambles, initial target {target} dBm, ramping {step} dB, at most {tx_max} "
        f"attempts, RA response window {window} subframes, contention resolution {cr} subframes",
        f"        paging cycle {paging} frames; reference signal power "
        f"{_get(rr, 'pdsch-ConfigCommon', 'referenceSignalPower')} dBm; UL {ul_bw} PRB at EARFCN {ul_earfcn}; "
        f"T300 {str(_get(sib2, 'ue-TimersAndConstants', 't300')).removeprefix('ms')} ms",
    ]
