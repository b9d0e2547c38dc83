"""The `orbit:` and `link:` sections: satellite, sites, carriers and pre-compensation."""

from __future__ import annotations

from dataclasses import dataclass

from ._schema import option


@dataclass(frozen=True)
class LinkConfig:
    """Feeder/service carriers and the pre-compensation mode."""

    precomp: str = option("both", allowed=("off", "doppler", "delay", "both"), doc="pre-compensation mode")
