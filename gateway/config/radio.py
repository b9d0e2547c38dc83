"""The `radio:` section: which radio driver streams the gateway's IQ, and its settings."""

from __future__ import annotations

from dataclasses import dataclass

from ._schema import option


@dataclass(frozen=True)
class RadioConfig:
    """Radio driver choice; driver-specific keys are validated by the driver (radio_drivers/)."""

    driver: str = option("loopback", allowed=("loopback",), doc="radio driver name")
