"""The `link:` section: feeder carriers, on-board LO error and the pre-compensation settings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ._schema import ConfigError, option


def _parse_delay(value: Any, key: str) -> float | str:
    if value == "auto":
        return "auto"
    if isinstance(value, (int, float)) and not isinstance(value, bool) and 0.0 < float(value) < 0.1:
        return float(value)
    raise ConfigError(f"{key}: expected 'auto' or a delay in seconds in (0, 0.1), got {value!r}")


@dataclass(frozen=True)
class LinkConfig:
    """Feeder carriers, LO translation error and the pre/post-compensation of the bent-pipe relay.

    The on-board LOs follow from the carriers: lo_dl = feeder_uplink_hz - cell DL carrier (down-
    conversion), lo_ul = feeder_downlink_hz - cell UL carrier (up-conversion).
    """

    precomp: str = option("both", allowed=("off", "doppler", "delay", "both"), doc="pre-compensation mode")
    feeder_uplink_hz: float = option(46e9, range=(1e9, 100e9), doc="gateway -> satellite carrier (Q/V band)")
    feeder_downlink_hz: float = option(40e9, range=(1e9, 100e9), doc="satellite -> gateway carrier")
    lo_error_ppm: float = option(0.0, range=(-100.0, 100.0), doc="on-board LO error, fraction of each LO (ppm)")
    lo_error_hz: float = option(0.0, range=(-1e6, 1e6), doc="on-board LO error added to both LOs (Hz)")
    compensate_lo_error: bool = option(True, doc="include the configured LO error in the pre-compensation")
    target_delay_s: Any = option("auto", parse=_parse_delay, doc="constant delay D: 'auto' (from the pass) or s")
    delay_margin_s: float = option(2e-4, range=(0.0, 0.01), doc="auto D = largest pass delay + this margin")
    grid_step_s: float = option(0.01, range=(1e-4, 1.0), doc="geometry grid step of the compensation track")
