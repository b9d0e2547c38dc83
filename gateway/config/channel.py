"""The `channel:` section: the in-process loopback channel between gateway and emulated handsets."""

from __future__ import annotations

from dataclasses import dataclass

from ._schema import option


@dataclass(frozen=True)
class ChannelConfig:
    """AWGN, carrier offset and delay applied by the simple loopback channel (no orbit)."""

    snr_db: float = option(20.0, range=(-20.0, 60.0), doc="SNR per received sample over the occupied band")
    cfo_hz: float = option(0.0, range=(-50e3, 50e3), doc="carrier frequency offset seen by the handset")
    delay_samples: int = option(0, range=(0, 10_000_000), doc="extra integer delay before the handset")
    seed: int = option(1, range=(0, 2**32 - 1), doc="random seed of the noise")
