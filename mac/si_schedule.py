"""When SIB1 and the SI messages go on the air, and with which redundancy version (FDD).

- SIB1: subframe 5 of every frame with SFN mod 2 = 0, new content every 80 ms (TS 36.331 5.2.1.2);
  RV_k = ceil(3/2 k) mod 4 with k = (SFN/2) mod 4 (TS 36.321 5.3.1), i.e. RV 0, 2, 3, 1.
- SI messages: for the n-th entry (n = 1, 2, ...) of SIB1's schedulingInfoList with window length w,
  x = (n - 1) w; the window starts in subframe x mod 10 of the frame with SFN mod T = floor(x / 10)
  and lasts w subframes (TS 36.331 5.2.3). The eNodeB sends the SI message in the first
  `transmissions` subframes of the window that are free: subframe 5 of even frames carries SIB1, and
  this FDD cell has no MBSFN subframes. RV_k = ceil(3/2 k) mod 4 with k = i mod 4, i = 0 .. w-1 the
  subframe's index inside the window (TS 36.321 5.3.1).

Pure functions of (SFN, subframe): the DL scheduler asks each TTI, the handset asks the same question.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gateway.config import SystemInfoConfig

    from .sib import Sib1Info

__all__ = [
    "SiSchedule",
    "bcch_rv",
    "si_occasion",
    "si_rnti_rv",
    "si_schedule",
    "si_schedule_from_sib1",
    "si_window_start",
    "sib1_occasion",
]

SI_PERIODICITIES_RF = (8, 16, 32, 64, 128, 256, 512)  # TS 36.331 si-Periodicity
SI_WINDOW_LENGTHS_MS = (1, 2, 5, 10, 15, 20, 40)  # TS 36.331 si-WindowLength


def bcch_rv(k: int) -> int:
    """RV_k = ceil(3/2 k) mod 4 (TS 36.321 5.3.1); integer form ceil(3k/2) = (3k + 1) // 2."""
    return ((3 * k + 1) // 2) % 4


def sib1_occasion(sfn: int, subframe: int) -> int | None:
    """RV of the SIB1 transmission in (sfn, subframe), or None when SIB1 is not sent there."""
    _check_time(sfn, subframe)
    if subframe != 5 or sfn % 2:
        return None
    return bcch_rv((sfn // 2) % 4)


@dataclass(frozen=True)
class SiSchedule:
    """SI-window layout from SIB1: window length w (ms = subframes) and each SI message's period T (frames).

    `transmissions`: subframes per window the eNodeB fills (None: every free subframe, which is what
    a handset must be ready to receive).
    """

    window_ms: int
    periodicities_rf: tuple[int, ...]
    transmissions: int | None = None

    def __post_init__(self) -> None:
        if self.window_ms not in SI_WINDOW_LENGTHS_MS:
            raise ValueError(f"SI window {self.window_ms} ms is not one of {SI_WINDOW_LENGTHS_MS}")
        if not self.periodicities_rf:
            raise ValueError("an SI schedule needs at least one SI message")
        for n, t_rf in enumerate(self.periodicities_rf, start=1):
            if t_rf not in SI_PERIODICITIES_RF:
                raise ValueError(f"SI message {n}: period {t_rf} frames is not one of {SI_PERIODICITIES_RF}")
            x = (n - 1) * self.window_ms
            if x + self.window_ms > 10 * t_rf:
                raise ValueError(
                    f"SI message {n}: its window [{x}, {x + self.window_ms}) ms does not fit in its "
                    f"{t_rf}-frame period; shorten si_window_ms or lengthen the period"
                )
        if self.transmissions is not None and not 1 <= self.transmissions <= self.window_ms:
            raise ValueError(f"transmissions={self.transmissions} must be in 1..{self.window_ms}")


def si_schedule(si: SystemInfoConfig) -> SiSchedule:
    """The eNodeB's schedule from the `system_info:` config (one SI message: SIB2)."""
    return SiSchedule(si.si_window_ms, (si.si_periodicity_rf,), si.si_transmissions)


def si_schedule_from_sib1(info: Sib1Info) -> SiSchedule:
    """The handset's view from a decoded SIB1: any free subframe of a window may carry the SI."""
    return SiSchedule(info.si_window_ms, tuple(s.si_periodicity_rf for s in info.scheduling_info), None)


def si_window_start(n: int, schedule: SiSchedule) -> tuple[int, int]:
    """(SFN mod T, subframe) where the window of the n-th SI message (n = 1, 2, ...) starts (36.331 5.2.3)."""
    if not 1 <= n <= len(schedule.periodicities_rf):
        n_si = len(schedule.periodicities_rf)
        raise ValueError(f"SI message n={n}: the schedule has {n_si} (n counts from 1)")
    x = (n - 1) * schedule.window_ms
    return x // 10, x % 10


def _is_free(sfn: int, subframe: int) -> bool:
    """A subframe an SI message may use: not SIB1's (subframe 5, even SFN); FDD here has no MBSFN."""
    return not (subframe == 5 and sfn % 2 == 0)


def si_occasion(sfn: int, subframe: int, schedule: SiSchedule) -> tuple[int, int] | None:
    """(si_index, rv) if an SI message is sent in (sfn, subframe), else None.

    si_index counts from 0 in schedulingInfoList order (SI message n = si_index + 1; index 0 carries SIB2).
    """
    _check_time(sfn, subframe)
    w = schedule.window_ms
    for si_index, t_rf in enumerate(schedule.periodicities_rf):
        x = si_index * w
        i = (sfn % t_rf) * 10 + subframe - x  # subframe index inside this SI's window
        if not 0 <= i < w:
            continue
        if not _is_free(sfn, subframe):
            return None
        if schedule.transmissions is not None:
            # count the free subframes of the window before this one (window start = absolute i = 0)
            start = sfn * 10 + subframe - i
            used = sum(_is_free(((start + j) // 10) % 1024, (start + j) % 10) for j in range(i))
            if used >= schedule.transmissions:
                return None
        return si_index, bcch_rv(i % 4)
    return None


def si_rnti_rv(sfn: int, subframe: int, schedule: SiSchedule | None = None) -> int | None:
    """RV of an SI-RNTI PDSCH in (sfn, subframe), as the handset's MAC derives it for a DCI without an
    RV field (format 1C, TS 36.321 5.3.1): SIB1's in its occasions; an SI message's from its window
    index when `schedule` (from SIB1: si_schedule_from_sib1) is known; None otherwise."""
    rv = sib1_occasion(sfn, subframe)
    if rv is not None or schedule is None:
        return rv
    occ = si_occasion(sfn, subframe, schedule)
    return None if occ is None else occ[1]


def _check_time(sfn: int, subframe: int) -> None:
    if not 0 <= sfn <= 1023:
        raise ValueError(f"sfn={sfn} is outside 0..1023")
    if not 0 <= subframe <= 9:
        raise ValueError(f"subframe={subframe} is outside 0..9")
