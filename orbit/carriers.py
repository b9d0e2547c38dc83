"""Carriers of the bent-pipe relay: feeder up/down, service DL/UL, on-board LO translation and its error.

DL: feeder uplink f_fu -> on-board down-conversion by f_lo_dl -> service DL f_sd = f_fu - f_lo_dl.
UL: service UL f_su -> on-board up-conversion by f_lo_ul -> feeder downlink f_fd = f_su + f_lo_ul.
An LO error of e Hz (actual LO = nominal + e) multiplies the relayed DL baseband by exp(-j 2 pi e t)
and the UL baseband by exp(+j 2 pi e t) (t = time on board). The gateway builds these from its profile
(gateway.prediction.carriers_from_config: the LTE carriers of TS 36.101 Table 5.7.3-1 via CellConfig).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Carriers"]


@dataclass(frozen=True)
class Carriers:
    feeder_uplink_hz: float
    feeder_downlink_hz: float
    service_dl_hz: float
    service_ul_hz: float
    lo_error_dl_hz: float = 0.0
    lo_error_ul_hz: float = 0.0

    @property
    def lo_dl_hz(self) -> float:
        return self.feeder_uplink_hz - self.service_dl_hz

    @property
    def lo_ul_hz(self) -> float:
        return self.feeder_downlink_hz - self.service_ul_hz
