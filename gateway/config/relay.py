"""The `relay:` section: the loopback world's BlueBird relay emulator (channel.relay), used with an orbit.

Link-budget defaults are public BlueBird / J-LEO-like figures; each is cited in
channel/link_budget.py (LinkBudget) and repeated in hw_configs/loopback.yaml. The carriers and the
on-board LO error come from `link:`, the sites from `orbit:` (beam centre and beam-edge point).
"""

from __future__ import annotations

from dataclasses import dataclass

from ._schema import option

FADING_PROFILES = ("none", "NTN-TDL-A", "NTN-TDL-B", "NTN-TDL-C", "NTN-TDL-D")  # TR 38.811 6.9.2


@dataclass(frozen=True)
class RelayProfileConfig:
    """Service-link budget, fading, LO drift and the handsets' crystals of the relay emulator."""

    eirp_density_dbw_mhz: float = option(34.0, range=(-20.0, 80.0), doc="satellite DL EIRP density at the beam peak")
    beamwidth_3db_deg: float = option(3.4, range=(0.1, 60.0), doc="beam half-power width at the satellite")
    beam_floor_db: float = option(30.0, range=(0.0, 80.0), doc="largest beam roll-off below the peak (dB)")
    sat_g_over_t_db_k: float = option(1.1, range=(-40.0, 40.0), doc="satellite UL G/T at the beam peak")
    handset_tx_power_dbm: float = option(23.0, range=(-40.0, 33.0), doc="handset UL power (power class 3)")
    handset_antenna_gain_dbi: float = option(0.0, range=(-20.0, 10.0), doc="handset antenna gain")
    handset_noise_figure_db: float = option(7.0, range=(0.0, 20.0), doc="handset receiver noise figure")
    polarization_loss_db: float = option(3.0, range=(0.0, 20.0), doc="linear handset vs circular satellite")
    scintillation_loss_db: float = option(2.2, range=(0.0, 20.0), doc="ionospheric scintillation margin")
    atmospheric_loss_db: float = option(0.1, range=(0.0, 20.0), doc="gaseous absorption")
    fading: str = option("none", allowed=FADING_PROFILES, doc="NTN-TDL small-scale fading profile (TR 38.811)")
    delay_spread_s: float = option(100e-9, range=(0.0, 10e-6), doc="RMS delay spread the NTN-TDL delays scale by")
    handset_speed_m_s: float = option(0.0, range=(0.0, 350.0), doc="handset speed: the fading's Doppler v f / c")
    centre_clock_ppm: float = option(0.0, range=(-50.0, 50.0), doc="beam-centre handset crystal offset (ppm)")
    edge_clock_ppm: float = option(0.1, range=(-50.0, 50.0), doc="beam-edge handset crystal offset (ppm)")
    lo_drift_dl_hz_s: float = option(0.0, range=(-1e3, 1e3), doc="on-board DL LO drift (Hz/s)")
    lo_drift_ul_hz_s: float = option(0.0, range=(-1e3, 1e3), doc="on-board UL LO drift (Hz/s)")
    awgn: bool = option(True, doc="add the receivers' thermal noise at the link budget's SNR")
    seed: int = option(0, range=(0, 2**32 - 1), doc="seed of the noise and the fading")
