"""Two-line element sets: parse with column and checksum checks, and judge the epoch's age.

The NORAD TLE layout (CelesTrak "NORAD Two-Line Element Set Format"): two lines of exactly 69
characters, fixed columns, a modulo-10 checksum in column 69 (digits count their value, '-' counts 1,
everything else 0). Errors name the line, the columns and what to fix.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

__all__ = ["Tle", "TleError", "TleEpochWarning", "parse_tle", "load_tle", "tle_checksum", "check_epoch_age"]


class TleError(ValueError):
    """A TLE is malformed (length, columns, checksum) or too old for the requested time."""


class TleEpochWarning(UserWarning):
    """The TLE epoch is far enough from the requested time that predictions degrade."""


# 1-based columns that must hold a blank, per line (NORAD format).
_BLANK_COLUMNS = {
    1: (2, 9, 18, 33, 44, 53, 62, 64),
    2: (2, 8, 17, 26, 34, 43, 52),
}
# 1-based inclusive column ranges that must parse as numbers: (first, last, field name).
_NUMERIC_FIELDS = {
    1: ((3, 7, "satellite number"), (19, 20, "epoch year"), (21, 32, "epoch day"),
        (34, 43, "mean motion derivative")),
    2: ((3, 7, "satellite number"), (9, 16, "inclination"), (18, 25, "right ascension"),
        (27, 33, "eccentricity"), (35, 42, "argument of perigee"), (44, 51, "mean anomaly"),
        (53, 63, "mean motion")),
}


@dataclass(frozen=True)
class Tle:
    """A checked TLE: the two lines, the optional name (line 0), NORAD number and epoch (UTC)."""

    line1: str
    line2: str
    name: str
    norad_id: int
    epoch_utc: datetime

    def __str__(self) -> str:
        head = f"{self.name}\n" if self.name else ""
        return f"{head}{self.line1}\n{self.line2}"


def tle_checksum(line: str) -> int:
    """Modulo-10 checksum of columns 1..68: digits add their value, '-' adds 1."""
    return sum(int(c) if c.isdigit() else (1 if c == "-" else 0) for c in line[:68]) % 10


def _check_line(line: str, number: int) -> None:
    if len(line) != 69:
        raise TleError(f"TLE line {number}: {len(line)} characters, a TLE line has exactly 69 ({line!r})")
    if line[0] != str(number):
        raise TleError(f"TLE line {number}: column 1 must be '{number}', found {line[0]!r}")
    for col in _BLANK_COLUMNS[number]:
        if line[col - 1] != " ":
            raise TleError(
                f"TLE line {number}: column {col} must be blank, found {line[col - 1]!r}; "
                "the fields are shifted (wrong columns)"
            )
    for first, last, what in _NUMERIC_FIELDS[number]:
        text = line[first - 1 : last].strip()
        try:
            float(text.replace(" ", ""))
        except ValueError:
            raise TleError(
                f"TLE line {number}: columns {first}-{last} ({what}) must be a number, found {text!r}"
            ) from None
    if not line[68].isdigit():
        raise TleError(f"TLE line {number}: column 69 must be the checksum digit, found {line[68]!r}")
    expected = tle_checksum(line)
    if int(line[68]) != expected:
        raise TleError(
            f"TLE line {number}: bad checksum, column 69 says {line[68]} but the line sums to {expected} "
            "(a corrupted or hand-edited element set)"
        )


def _epoch(line1: str) -> datetime:
    yy = int(line1[18:20])
    year = 2000 + yy if yy < 57 else 1900 + yy  # NORAD convention: 57..99 -> 19xx
    day = float(line1[20:32])
    return datetime(year, 1, 1, tzinfo=timezone.utc) + timedelta(days=day - 1.0)


def parse_tle(text: str | list[str] | tuple[str, ...]) -> Tle:
    """Parse 2 lines (or 3 with a name line first); raises TleError naming the problem."""
    lines = text.splitlines() if isinstance(text, str) else list(text)
    lines = [ln.rstrip() for ln in lines if ln.strip()]
    name = ""
    if len(lines) == 3:
        name = lines[0].strip()
        if name.startswith("0 "):
            name = name[2:].strip()
        lines = lines[1:]
    if len(lines) != 2:
        raise TleError(f"a TLE is 2 lines (or 3 with a name line), got {len(lines)} non-empty lines")
    line1, line2 = lines
    _check_line(line1, 1)
    _check_line(line2, 2)
    if line1[2:7] != line2[2:7]:
        raise TleError(f"TLE lines disagree on the satellite number: {line1[2:7]!r} vs {line2[2:7]!r}")
    norad_id = int(line1[2:7]) if line1[2:7].strip().isdigit() else -1
    return Tle(line1=line1, line2=line2, name=name, norad_id=norad_id, epoch_utc=_epoch(line1))


def load_tle(path: str | Path, norad_id: int | None = None) -> Tle:
    """Read a TLE file ('#' comment lines allowed); with several sets pick `norad_id` (default: the first)."""
    path = Path(path)
    if not path.exists():
        raise TleError(f"TLE file {path} does not exist")
    lines = [ln.rstrip() for ln in path.read_text().splitlines() if ln.strip() and not ln.startswith("#")]
    sets: list[list[str]] = []
    pending_name: str | None = None
    i = 0
    while i < len(lines):
        ln = lines[i]
        if ln.startswith("1 ") and i + 1 < len(lines) and lines[i + 1].startswith("2 "):
            sets.append(([pending_name] if pending_name else []) + [ln, lines[i + 1]])
            pending_name = None
            i += 2
        else:
            pending_name = ln
            i += 1
    if not sets:
        raise TleError(f"{path}: no TLE found (expected lines starting with '1 ' and '2 ')")
    tles = []
    for s in sets:
        try:
            tles.append(parse_tle(s))
        except TleError as exc:
            raise TleError(f"{path}: {exc}") from None
    if norad_id is None:
        return tles[0]
    for tle in tles:
        if tle.norad_id == norad_id:
            return tle
    raise TleError(f"{path}: no TLE for NORAD {norad_id}; the file has {[t.norad_id for t in tles]}")


def check_epoch_age(tle: Tle, when_utc: datetime, warn_days: float = 3.0, max_days: float = 30.0) -> float:
    """Age |when - epoch| in days; warns (TleEpochWarning) beyond warn_days, raises TleError beyond max_days."""
    age_days = abs((when_utc - tle.epoch_utc).total_seconds()) / 86400.0
    if age_days > max_days:
        raise TleError(
            f"TLE {tle.norad_id} epoch {tle.epoch_utc:%Y-%m-%d %H:%M:%S} UTC is {age_days:.1f} days from the "
            f"requested time {when_utc:%Y-%m-%d %H:%M:%S} UTC (limit {max_days:g} days): fetch a fresh TLE"
        )
    if age_days > warn_days:
        warnings.warn(
            f"TLE {tle.norad_id} epoch is {age_days:.1f} days from the requested time; SGP4 errors grow "
            "by about a kilometre per day",
            TleEpochWarning,
            stacklevel=2,
        )
    return age_days
