"""Soragate LTE physical layer: pure NumPy functions laid out like TS 36.211 / 36.212 / 36.213.

    from phy import build_subframe, ofdm_demodulate, numerology
    sf = build_subframe(cell, sfn=0, subframe=0)    # grid (n_ports, 14, 12 N_RB), samples (n_ports, N)

Module map: docs/phy.md. The handset's receiver lives in phy.ue (`read_cell`).
"""

from .downlink import DownlinkSubframe, build_subframe
from .numerology import Numerology, numerology
from .ofdm import ofdm_demodulate, ofdm_modulate

__all__ = ["DownlinkSubframe", "build_subframe", "Numerology", "numerology", "ofdm_demodulate", "ofdm_modulate"]
