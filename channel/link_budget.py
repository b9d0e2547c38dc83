"""Service-link budget per handset and instant -> per-resource-element SNR (the project's SNR convention).

DL (satellite -> handset), per 15 kHz resource element of a fully loaded carrier:
    SNR_RE = EIRP_RE + G_beam(theta) - FSPL(d, f) - L_atm - L_scint - L_pol + G_ue - 10 log10(k T0 B_RE) - NF
    EIRP_RE = EIRP density (dBW/MHz) - 10 log10(1 MHz / 15 kHz)
UL (handset -> satellite), the handset's power spread over the 12 N_RB subcarriers of a full load:
    SNR_RE = P_ue - 10 log10(12 N_RB) + G_ue + G_beam(theta) - FSPL - L_atm - L_scint - L_pol + G/T
             - 10 log10(k B_RE)
FSPL = 20 log10(4 pi d f / c); G_beam = -min(12 (theta / theta_3dB)^2, floor) dB relative to the beam peak
(the parabolic main lobe of ITU-R S.672 / S.1528), theta the angle at the satellite between the beam
centre and the handset. The receiver noise is k T0 F B (antenna at T0 = 290 K). The feeder link's own
noise is neglected (a Q/V gateway dish; its C/N is far above the service link's).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from orbit import C_M_S

__all__ = ["LinkBudget", "free_space_loss_db", "beam_gain_db"]

BOLTZMANN_DBW_K_HZ = -228.5991672  # 10 log10(1.380649e-23 J/K)
T0_K = 290.0
RE_BANDWIDTH_HZ = 15e3  # one LTE subcarrier (TS 36.211 6.2.3, delta f = 15 kHz)


def free_space_loss_db(range_m, carrier_hz: float) -> np.ndarray:
    """20 log10(4 pi d f / c) (ITU-R P.525), dB."""
    return 20.0 * np.log10(4.0 * np.pi * np.asarray(range_m, dtype=np.float64) * carrier_hz / C_M_S)


def beam_gain_db(off_axis_deg, beamwidth_3db_deg: float, floor_db: float) -> np.ndarray:
    """Gain relative to the beam peak: -12 (theta/theta_3dB)^2 dB, no lower than -floor_db."""
    theta = np.asarray(off_axis_deg, dtype=np.float64)
    return -np.minimum(12.0 * (theta / beamwidth_3db_deg) ** 2, floor_db)


@dataclass(frozen=True)
class LinkBudget:
    """Service-link figures. Defaults: a BlueBird-like direct-to-device LEO, from public figures.

    - eirp_density_dbw_mhz 34: 3GPP TR 38.821 Table 6.1.1.1-1, LEO-600 S-band satellite EIRP density
      (the NTN study's reference for a handheld direct link); AST SpaceMobile does not publish its own.
    - beamwidth_3db_deg 3.4: a BlueBird Block 1 array is ~64 m^2 (693 ft^2, AST SpaceMobile, Sept. 2024),
      i.e. ~8 m across; at 770 MHz (lambda 0.39 m) the half-power width ~70 lambda / D = 3.4 deg, a beam
      ~30 km wide on the ground from ~520 km.
    - sat_g_over_t_db_k 1.1: TR 38.821 Table 6.1.1.1-1 (LEO-600 S-band G/T).
    - handset: 23 dBm (power class 3, TS 36.101 6.2.2), 0 dBi antenna, 7 dB noise figure (TR 38.821
      Table 6.1.1.1-3 handheld).
    - polarization_loss_db 3 (linear handset vs circular satellite, TR 38.821 Table 6.1.1.1-3),
      scintillation_loss_db 2.2 (TR 38.821 Table 6.1.3.3-1, S-band, used here at 770 MHz),
      atmospheric_loss_db 0.1 (TR 38.811 6.6.4: gaseous absorption below 1 GHz is < 0.1 dB).
    """

    eirp_density_dbw_mhz: float = 34.0
    beamwidth_3db_deg: float = 3.4
    beam_floor_db: float = 30.0
    sat_g_over_t_db_k: float = 1.1
    handset_tx_power_dbm: float = 23.0
    handset_antenna_gain_dbi: float = 0.0
    handset_noise_figure_db: float = 7.0
    polarization_loss_db: float = 3.0
    scintillation_loss_db: float = 2.2
    atmospheric_loss_db: float = 0.1

    def __post_init__(self) -> None:
        if not 0.1 <= self.beamwidth_3db_deg <= 60.0:
            raise ValueError(f"beamwidth_3db_deg must be 0.1 .. 60 deg, got {self.beamwidth_3db_deg}")
        for name in ("beam_floor_db", "handset_noise_figure_db", "polarization_loss_db", "scintillation_loss_db",
                     "atmospheric_loss_db"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} is a loss in dB and must be >= 0, got {getattr(self, name)}")

    @property
    def losses_db(self) -> float:
        return self.atmospheric_loss_db + self.scintillation_loss_db + self.polarization_loss_db

    def dl_snr_db(self, range_m, off_axis_deg, carrier_hz: float) -> np.ndarray:
        """Per-RE DL SNR (dB) at a handset `range_m` from the satellite, `off_axis_deg` from the beam centre."""
        eirp_re = self.eirp_density_dbw_mhz - 10.0 * np.log10(1e6 / RE_BANDWIDTH_HZ)
        noise_re = BOLTZMANN_DBW_K_HZ + 10.0 * np.log10(T0_K * RE_BANDWIDTH_HZ) + self.handset_noise_figure_db
        rx = (eirp_re + beam_gain_db(off_axis_deg, self.beamwidth_3db_deg, self.beam_floor_db)
              - free_space_loss_db(range_m, carrier_hz) - self.losses_db + self.handset_antenna_gain_dbi)
        return rx - noise_re

    def ul_snr_db(self, range_m, off_axis_deg, carrier_hz: float, n_rb: int) -> np.ndarray:
        """Per-RE UL SNR (dB) at the satellite of a handset transmitting a full load of 12 n_rb subcarriers."""
        p_re_dbw = self.handset_tx_power_dbm - 30.0 - 10.0 * np.log10(12 * n_rb)
        rx = (p_re_dbw + self.handset_antenna_gain_dbi
              + beam_gain_db(off_axis_deg, self.beamwidth_3db_deg, self.beam_floor_db)
              - free_space_loss_db(range_m, carrier_hz) - self.losses_db)
        return rx + self.sat_g_over_t_db_k - BOLTZMANN_DBW_K_HZ - 10.0 * np.log10(RE_BANDWIDTH_HZ)
