"""Soragate LTE physical layer: pure NumPy functions laid out like TS 36.211 / 36.212 / 36.213.

    from phy import build_subframe, ofdm_demodulate, numerology
    sf = build_subframe(cell, sfn=0, subframe=0)    # grid (n_ports, 14, 12 N_RB), samples (n_ports, N)

Module map: docs/phy.md. The handset's receiver lives in phy.ue (`read_cell`).
"""

import importlib

# Lazy (PEP 562): importing one phy module (phy.bands, phy.numerology from gateway.config) must not
# load the whole downlink chain and numba (~0.3 s of start-up, issue 13).
_SUBMODULE = {"DownlinkSubframe": "downlink", "build_subframe": "downlink", "Numerology": "numerology",
              "numerology": "numerology", "ofdm_demodulate": "ofdm", "ofdm_modulate": "ofdm"}


def __getattr__(name: str):
    if name in _SUBMODULE:
        value = getattr(importlib.import_module(f".{_SUBMODULE[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'phy' has no attribute {name!r}")

__all__ = ["DownlinkSubframe", "build_subframe", "Numerology", "numerology", "ofdm_demodulate", "ofdm_modulate"]
