"""The pass demo's report directory (`python -m gateway run`): per-second KPI JSON, a summary, PNG plots.

    out/run_<UTC timestamp>/
        kpi.json           {"run": settings, "summary": per handset, "windows": [...], "precomp_off": {...}}
        summary.txt        the summary as the terminal printed it, with the pre-compensation-off verdict
        cfo_timing.png     residual CFO and frame timing (measured and the geometry's prediction) vs time
        sinr.png           SINR (CRS) and the link budget's per-RE SNR vs time
        bler_throughput.png PDSCH BLER and throughput vs time
        elevation.png      the satellite's elevation at the beam centre vs time
        precomp_off.png    without pre-compensation: the raw two-hop Doppler and delay drift a phone sees
        overview.png       elevation, CFO, timing, SINR and throughput in one figure (the README's plot)

Windows are records of gateway.pass_demo.track_pass; plots use matplotlib's Agg backend.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

__all__ = ["summarise", "write_report", "PLOTS"]

PLOTS = ("cfo_timing.png", "sinr.png", "bler_throughput.png", "elevation.png", "precomp_off.png", "overview.png")


def _values(windows: list[dict], name: str, key: str) -> np.ndarray:
    """(n_windows,) float64 of handset `name`'s `key`, NaN where the window has none."""
    out = []
    for w in windows:
        v = w["handsets"].get(name, {}).get(key)
        out.append(np.nan if v is None else float(v))
    return np.asarray(out, dtype=np.float64)


def _max_abs(a: np.ndarray) -> float | None:
    a = a[np.isfinite(a)]
    return float(np.max(np.abs(a))) if a.size else None


def summarise(windows: list[dict]) -> dict:
    """Per handset over the windows: sync count, CFO / delay against the geometry, drift, decodes, BLER."""
    names = list(windows[0]["handsets"]) if windows else []
    out = {}
    for name in names:
        ks = [w["handsets"][name] for w in windows]
        cfo, exp_cfo = _values(windows, name, "cfo_hz"), _values(windows, name, "expected_cfo_hz")
        dres = _values(windows, name, "delay_residual_ns")
        exp_dres = _values(windows, name, "expected_delay_residual_ns")
        blocks = sum(k.get("pdsch_blocks") or 0 for k in ks)
        errors = sum(round((k.get("bler") or 0.0) * (k.get("pdsch_blocks") or 0)) for k in ks)
        thr = _values(windows, name, "throughput_bps")
        out[name] = {
            "windows": len(ks),
            "in_sync": sum(k["state"] == "sync" for k in ks),
            "acquisitions": sum(bool(k.get("acquired")) for k in ks),
            "first_sync_window": next((i for i, k in enumerate(ks) if k["state"] == "sync"), None),
            "max_abs_cfo_hz": _max_abs(cfo),
            "max_abs_cfo_error_hz": _max_abs(cfo - exp_cfo),
            "max_abs_drift_ns_s": _max_abs(_values(windows, name, "drift_ns_s")),
            "median_drift_ns_s": (float(np.nanmedian(_values(windows, name, "drift_ns_s")))
                                  if np.isfinite(_values(windows, name, "drift_ns_s")).any() else None),
            "max_abs_delay_residual_error_ns": _max_abs(dres - exp_dres),
            "mib_decoded": sum(k.get("mib_decoded") or 0 for k in ks),
            "mib_sent": sum(k.get("mib_sent") or 0 for k in ks),
            "sib1_decoded": sum(k.get("sib1_decoded") or 0 for k in ks),
            "sib1_sent": sum(k.get("sib1_sent") or 0 for k in ks),
            "pdsch_blocks": blocks,
            "pdsch_errors": errors,
            "bler": errors / blocks if blocks else None,
            "mean_throughput_bps": float(np.nanmean(thr)) if np.isfinite(thr).any() else None,
            "min_sinr_db": (float(np.nanmin(_values(windows, name, "sinr_db")))
                            if np.isfinite(_values(windows, name, "sinr_db")).any() else None),
            "max_abs_raw_doppler_hz": _max_abs(_values(windows, name, "raw_doppler_hz")),
            "max_abs_raw_drift_ns_s": _max_abs(_values(windows, name, "raw_drift_ns_s")),
        }
    return out


def _fmt(v, spec: str) -> str:
    return "-" if v is None or (isinstance(v, float) and not math.isfinite(v)) else format(v, spec)


def summary_lines(summary: dict, off_summary: dict | None, run: dict) -> list[str]:
    lines = [f"pre-compensation {run['precomp']}: {run['n_windows']} windows of {run['window_s'] * 1e3:.0f} ms every "
             f"{run['step_s']:g} s ({run['t_first_s']:+.0f} .. {run['t_last_s']:+.0f} s from the highest elevation)"]
    for name, s in summary.items():
        lines.append(
            f"  {name:>7}: in sync {s['in_sync']}/{s['windows']}, |CFO| <= {_fmt(s['max_abs_cfo_hz'], '.2f')} Hz "
            f"(vs geometry <= {_fmt(s['max_abs_cfo_error_hz'], '.2f')} Hz), drift median "
            f"{_fmt(s['median_drift_ns_s'], '.1f')} ns/s, delay vs geometry <= "
            f"{_fmt(s['max_abs_delay_residual_error_ns'], '.1f')} ns, MIB {s['mib_decoded']}/{s['mib_sent']}, "
            f"SIB1 {s['sib1_decoded']}/{s['sib1_sent']}, PDSCH BLER {_fmt(s['bler'], '.1e')} ({s['pdsch_errors']} of "
            f"{s['pdsch_blocks']} blocks failed), "
            f"{_fmt(None if s['mean_throughput_bps'] is None else s['mean_throughput_bps'] / 1e6, '.2f')} Mbit/s")
    if off_summary is not None:
        for name, s in off_summary.items():
            found = s["in_sync"] > 0
            lines.append(
                f"  without pre-compensation, {name}: raw two-hop Doppler up to "
                f"{s['max_abs_raw_doppler_hz'] / 1e3:.1f} kHz and delay drift up to "
                f"{s['max_abs_raw_drift_ns_s'] / 1e3:.2f} us/s: "
                + ("the phone acquired the cell" if found else
                   "a Rel-8 phone's cell search (+-25 kHz carrier range) does not acquire the cell "
                   f"({s['windows']}/{s['windows']} windows searched, none found)"))
    return lines


def write_report(directory: Path, run: dict, windows: list[dict], off_windows: list[dict] | None) -> dict:
    """Write kpi.json, summary.txt and the PNGs into `directory` (created); returns the summary."""
    directory.mkdir(parents=True, exist_ok=True)
    summary = summarise(windows)
    off_summary = summarise(off_windows) if off_windows else None
    lines = summary_lines(summary, off_summary, run)
    doc = {"run": run, "summary": summary, "summary_text": lines, "windows": windows,
           "precomp_off": None if off_windows is None else {"summary": off_summary, "windows": off_windows}}
    (directory / "kpi.json").write_text(json.dumps(doc, indent=1, default=float))
    (directory / "summary.txt").write_text("\n".join(lines) + "\n")
    _plots(directory, windows, off_windows or [], run)
    return {"summary": summary, "precomp_off": off_summary, "lines": lines}


def _plots(d: Path, windows: list[dict], off: list[dict], run: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t = np.array([w["t_from_max_s"] for w in windows])
    names = list(windows[0]["handsets"]) if windows else []
    xlabel = "time from the highest elevation (s)"
    title = f"pre-compensation {run['precomp']}, fading {run['fading']}"

    def save(fig, name):
        for a in fig.axes:
            if a.get_legend_handles_labels()[0]:
                a.legend(fontsize=6)
        fig.tight_layout()
        fig.savefig(d / name, dpi=80)
        plt.close(fig)

    def cfo_timing(ax_cfo, ax_t):
        for name in names:
            line, = ax_cfo.plot(t, _values(windows, name, "cfo_hz"), ".-", label=f"{name} measured")
            ax_cfo.plot(t, _values(windows, name, "expected_cfo_hz"), "--", color=line.get_color(),
                        label=f"{name} geometry")
            ax_t.plot(t, _values(windows, name, "delay_residual_ns") / 1e3, ".-", color=line.get_color(),
                      label=f"{name} measured")
            ax_t.plot(t, _values(windows, name, "expected_delay_residual_ns") / 1e3, "--", color=line.get_color(),
                      label=f"{name} geometry")
        ax_cfo.set_ylabel("residual CFO (Hz)")
        ax_t.set_ylabel("residual delay (us)")

    fig, ax = plt.subplots(3, 1, figsize=(8, 8), sharex=True)
    cfo_timing(ax[0], ax[1])
    for name in names:
        ax[2].plot(t, _values(windows, name, "drift_ns_s"), ".-", label=name)
    ax[2].set_ylabel("timing drift (ns/s)")
    ax[0].set_title(title)
    for a in ax:
        a.grid(True)
    ax[-1].set_xlabel(xlabel)
    save(fig, "cfo_timing.png")

    fig, ax = plt.subplots(figsize=(8, 4))
    for name in names:
        line, = ax.plot(t, _values(windows, name, "sinr_db"), ".-", label=f"{name} SINR (CRS)")
        ax.plot(t, _values(windows, name, "budget_snr_db"), "--", color=line.get_color(), label=f"{name} link budget")
    ax.set_ylabel("dB per RE")
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    ax.grid(True)
    save(fig, "sinr.png")

    fig, ax = plt.subplots(2, 1, figsize=(8, 6), sharex=True)
    for name in names:
        ax[0].plot(t, _values(windows, name, "bler"), ".-", label=name)
        ax[1].plot(t, _values(windows, name, "throughput_bps") / 1e6, ".-", label=name)
    ax[0].set_ylabel("PDSCH BLER")
    ax[1].set_ylabel("throughput (Mbit/s)")
    ax[1].set_xlabel(xlabel)
    ax[0].set_title(title)
    for a in ax:
        a.grid(True)
    save(fig, "bler_throughput.png")

    fig, ax = plt.subplots(figsize=(8, 3))
    ax.plot(t, [w["elevation_deg"] for w in windows], ".-")
    ax.set_ylabel("elevation at the beam centre (deg)")
    ax.set_xlabel(xlabel)
    ax.grid(True)
    save(fig, "elevation.png")

    fig, ax = plt.subplots(2, 1, figsize=(8, 6), sharex=True)
    if off:
        t_off = np.array([w["t_from_max_s"] for w in off])
        for name in off[0]["handsets"]:
            found = np.array([w["handsets"][name]["state"] == "sync" for w in off])
            line, = ax[0].plot(t_off, _values(off, name, "raw_doppler_hz") / 1e3, ".-", label=f"{name} raw Doppler")
            if found.any():
                ax[0].plot(t_off[found], _values(off, name, "raw_doppler_hz")[found] / 1e3, "o",
                           color=line.get_color(), mfc="none", label=f"{name} acquired")
            ax[1].plot(t_off, _values(off, name, "raw_drift_ns_s") / 1e3, ".-", label=name)
        ax[0].axhspan(-25, 25, color="0.85", label="Rel-8 cell search range")
    ax[0].set_ylabel("carrier offset at the phone (kHz)")
    ax[1].set_ylabel("delay drift (us/s)")
    ax[1].set_xlabel(xlabel)
    ax[0].set_title("without pre-compensation")
    for a in ax:
        a.grid(True)
    save(fig, "precomp_off.png")

    fig, ax = plt.subplots(4, 1, figsize=(7, 8), sharex=True)
    ax[0].plot(t, [w["elevation_deg"] for w in windows], ".-", color="k")
    ax[0].set_ylabel("elevation (deg)")
    ax[0].set_title(title)
    cfo_timing(ax[1], ax[2])
    for name in names:
        ax[3].plot(t, _values(windows, name, "sinr_db"), ".-", label=f"{name} SINR")
    ax[3].set_ylabel("SINR (dB)")
    ax[3].set_xlabel(xlabel)
    for a in ax:
        a.grid(True)
    save(fig, "overview.png")
