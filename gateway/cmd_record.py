"""`python -m gateway record`: write the generated full downlink (no channel) as a SigMF recording.

    python -m gateway record --config hw_configs/loopback.yaml --seconds 0.2 --out dl
    -> dl.sigmf-data (cf32_le) + dl.sigmf-meta

The samples are what one receive antenna sees from all CRS ports through unit channels, at the
cell's standard sample rate, starting at the first sample of subframe 0 of frame `cell.sfn_start`.
They carry the whole downlink of the profile (gateway/enodeb.py): broadcast channels, PDCCH, SIB1,
SIB2 and the scheduler's user data, so any LTE receiver can decode SIB1/SIB2 from the file.
"""

from __future__ import annotations

import argparse

from gateway.cli_args import check_free_space, positive_seconds
from gateway.config import load_config
from gateway.enodeb import combine_ports, downlink_subframes
from phy.numerology import numerology
from radio_drivers.sigmf_io import SigMFRecorder, sigmf_paths

DEFAULT_CONFIG = "hw_configs/loopback.yaml"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("record", help="record the generated downlink (no channel) to a SigMF file")
    p.add_argument("--config", default=DEFAULT_CONFIG, help=f"YAML profile (default {DEFAULT_CONFIG})")
    p.add_argument("--seconds", type=positive_seconds, default=0.2, help="length of the recording (default 0.2 s)")
    p.add_argument("--out", default="dl", help="path stem: writes STEM.sigmf-data and STEM.sigmf-meta")
    p.set_defaults(func=record)


def cell_description(cfg) -> str:
    """One line naming the cell, for the SigMF description and the console."""
    c = cfg.cell
    si = cfg.system_info
    return (
        f"Soragate LTE FDD downlink: PCI {c.pci}, {c.n_rb_dl} PRB ({c.bandwidth_hz / 1e6:g} MHz), "
        f"{c.n_ports} CRS port(s) summed, band {c.band} EARFCN {c.earfcn_dl}, CFI {c.cfi}, "
        f"PHICH {c.phich_duration}/{c.phich_resource}, first frame SFN {c.sfn_start}, normal CP; "
        f"SIB1 PLMNs {', '.join(map(str, si.plmn_list))}, TAC {si.tac}, cell identity {si.cell_identity}"
    )


def record(args: argparse.Namespace) -> int:
    cfg = load_config(args.config)
    n_subframes = max(1, round(args.seconds * 1000))
    num = numerology(cfg.cell.n_rb_dl)
    fs = num.sample_rate_hz
    data_path, _ = sigmf_paths(args.out)
    n_bytes = n_subframes * num.samples_per_subframe * 8  # cf32_le: 8 bytes per sample
    check_free_space(data_path, n_bytes, f"a {n_subframes} ms recording at {fs / 1e6:.2f} Msps ({data_path})",
                     "shorten --seconds or give --out on a disk with more room")
    description = cell_description(cfg)
    with SigMFRecorder(
        args.out, sample_rate_hz=fs, center_frequency_hz=cfg.cell.dl_frequency_hz, description=description
    ) as rec:
        for sf in downlink_subframes(cfg, n_subframes):
            rec.write(combine_ports(sf.samples), sf.n)
    print(f"{description}\nwrote {n_subframes} ms at {fs / 1e6:.2f} Msps: {rec.data_path}, {rec.meta_path}")
    return 0
