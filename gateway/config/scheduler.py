"""The `scheduler:` section: what the per-TTI downlink scheduler (mac/scheduler.py) sends besides SI.

C-RNTIs are written as integers (YAML reads `0x46` as 70) in 0x000B..0xFFF3: 1..10 are the FDD
RA-RNTIs and 0xFFF4..0xFFFF are reserved, P-RNTI and SI-RNTI (TS 36.321 Table 7.1-1, 5.1.4).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ._schema import ConfigError, option

__all__ = ["SchedulerConfig", "C_RNTI_MIN", "C_RNTI_MAX"]

C_RNTI_MIN, C_RNTI_MAX = 0x000B, 0xFFF3  # TS 36.321 Table 7.1-1 (FDD RA-RNTI = 1..10 below)


def _parse_rntis(value: Any, key: str) -> tuple[int, ...]:
    if value is None:
        return ()
    if not isinstance(value, (list, tuple)):
        raise ConfigError(f"{key}: expected a list of C-RNTIs such as [0x46], got {value!r}")
    out = []
    for i, v in enumerate(value):
        if isinstance(v, str):
            try:
                v = int(v, 0)
            except ValueError:
                raise ConfigError(f"{key}[{i}]: {v!r} is not an integer (write 0x46 or 70)") from None
        if not isinstance(v, int) or isinstance(v, bool) or not C_RNTI_MIN <= v <= C_RNTI_MAX:
            raise ConfigError(
                f"{key}[{i}]: {v!r} is not a C-RNTI; use {C_RNTI_MIN:#06x}..{C_RNTI_MAX:#06x} "
                f"(1..10 are RA-RNTIs, 0xFFF4.. are reserved/P-RNTI/SI-RNTI, TS 36.321 Table 7.1-1)"
            )
        out.append(v)
    if len(set(out)) != len(out):
        raise ConfigError(f"{key}: a C-RNTI is listed twice")
    return tuple(out)


def _parse_subframes(value: Any, key: str) -> tuple[int, ...]:
    if value is None:
        return ()
    if not isinstance(value, (list, tuple)) or not all(
        isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 9 for v in value
    ):
        raise ConfigError(f"{key}: expected a list of subframe numbers 0..9, got {value!r}")
    return tuple(sorted(set(value)))


@dataclass(frozen=True)
class SchedulerConfig:
    """Downlink scheduler settings: user traffic, PDCCH aggregation, SI code rate, reserved slots."""

    traffic: bool = option(True, doc="full-buffer downlink traffic to every C-RNTI in c_rntis")
    c_rntis: tuple[int, ...] = option((0x46,), parse=_parse_rntis,
                                      doc="C-RNTIs of the emulated handsets (0x000B..0xFFF3)")
    user_mcs: int = option(16, range=(0, 28), doc="I_MCS of user data (TS 36.213 Table 7.1.7.1-1)")
    user_dci_format: str = option("1", allowed=("1", "1A"),
                                  doc="1: resource allocation type 0 (RBG bitmap); 1A: contiguous type 2")
    user_aggregation: int = option(2, allowed=(1, 2, 4, 8), doc="PDCCH aggregation level of user DCIs")
    si_aggregation: int = option(4, allowed=(4, 8), doc="PDCCH aggregation level of SI-RNTI DCIs")
    si_max_code_rate: float = option(0.33, range=(0.05, 0.93),
                                     doc="SI PDSCH effective code rate cap (fewest PRBs that meet it)")
    paging_subframes: tuple[int, ...] = option((9,), parse=_parse_subframes,
                                               doc="subframes with a reserved paging slot (36.304 7.2, Ns=1)")
    rar_subframes: tuple[int, ...] = option((4,), parse=_parse_subframes,
                                            doc="subframes with a reserved random access response slot")
    reserved_prbs: int = option(3, range=(0, 100), doc="PRBs kept free per paging or RAR slot")
    seed: int = option(0, range=(0, 2**32 - 1), doc="seed of the traffic generator's payload bytes")

    def check(self, section: str = "scheduler") -> None:
        if self.traffic and not self.c_rntis:
            raise ConfigError(f"{section}.c_rntis: traffic is on but no C-RNTI is configured (e.g. [0x46])")
