"""The downlink cell as the physical layer sees it (like srsRAN's srsran_cell_t): a frozen value.

The gateway builds it from its profile (gateway.config.CellConfig.dl_cell()), the handset from what it
decoded (PSS/SSS -> pci, PBCH -> n_rb_dl, n_ports, PHICH config; PCFICH -> cfi). phy functions read
only these attributes (any object that has them is accepted), and phy imports nothing from gateway.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DlCell", "N_RB_DL_ALLOWED"]

N_RB_DL_ALLOWED = (6, 15, 25, 50, 75, 100)  # TS 36.101 Table 5.6-1 transmission bandwidths
_PHICH_DURATIONS = ("normal", "extended")  # TS 36.331 PHICH-Config phich-Duration
_PHICH_RESOURCES = ("one_sixth", "half", "one", "two")  # TS 36.331 PHICH-Config phich-Resource (Ng)


@dataclass(frozen=True)
class DlCell:
    """n_rb_dl (N_RB^DL), pci (N_ID^cell, TS 36.211 6.11), n_ports (CRS ports 1 or 2), cfi (1..3, TS
    36.211 6.7), phich_duration and phich_resource (TS 36.211 6.9, signalled in the MIB)."""

    n_rb_dl: int
    pci: int
    n_ports: int = 1
    cfi: int = 2
    phich_duration: str = "normal"
    phich_resource: str = "one"

    def __post_init__(self) -> None:
        if self.n_rb_dl not in N_RB_DL_ALLOWED:
            raise ValueError(f"n_rb_dl must be one of {N_RB_DL_ALLOWED}, got {self.n_rb_dl}")
        if not 0 <= self.pci <= 503:
            raise ValueError(f"pci must be 0..503 (TS 36.211 6.11), got {self.pci}")
        if self.n_ports not in (1, 2):
            raise ValueError(f"n_ports must be 1 or 2, got {self.n_ports}")
        if not 1 <= self.cfi <= 3:
            raise ValueError(f"cfi must be 1..3 (TS 36.211 Table 6.7-1), got {self.cfi}")
        if self.phich_duration not in _PHICH_DURATIONS:
            raise ValueError(f"phich_duration must be one of {_PHICH_DURATIONS}, got {self.phich_duration!r}")
        if self.phich_resource not in _PHICH_RESOURCES:
            raise ValueError(f"phich_resource must be one of {_PHICH_RESOURCES}, got {self.phich_resource!r}")

    @property
    def n_id_1(self) -> int:
        return self.pci // 3

    @property
    def n_id_2(self) -> int:
        return self.pci % 3

    @property
    def n_ctrl_symbols(self) -> int:
        """OFDM symbols of the control region: CFI, or CFI + 1 when N_RB_DL <= 10 (TS 36.211 Table 6.7-1)."""
        return self.cfi + 1 if self.n_rb_dl <= 10 else self.cfi
