"""The channel simulator's home (DESIGN.md 4): propagation models applied to sample streams.

ntn_tdl: 3GPP TR 38.811 NTN-TDL-A/B/C/D small-scale fading with Doppler and fractional tap delays.
relay: the BlueBird bent-pipe relay emulator (the truth: two hops per handset, both directions), built on
hop (receive-time light time per hop from the TLE) and link_budget (per-RE SNR per handset and instant).
"""

from .hop import HopTruth, light_time_rx
from .link_budget import LinkBudget
from .ntn_tdl import NTN_TDL_PROFILES, NtnTdlChannel, tap_profile
from .relay import Handset, RelayConfig, RelayEmulator

__all__ = [
    "NTN_TDL_PROFILES", "Handset", "HopTruth", "LinkBudget", "NtnTdlChannel", "RelayConfig", "RelayEmulator",
    "light_time_rx", "tap_profile",
]
