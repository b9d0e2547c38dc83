"""What every CLI command shares: checked numeric argument types and the user-facing error type.

The type functions are given to argparse (`type=positive_seconds`): a bad value ends in one line,
`argument --seconds: ...`, and exit status 2 before any work starts. Every number must be finite
(`nan` and `inf` parse as floats, and a NaN passes every `<`/`>` check).

`UserError` is what a command raises for input it cannot use (a path, a size, a disk too small);
`python -m gateway` prints its message on one line and exits non-zero, as for a ConfigError.
"""

from __future__ import annotations

import argparse
import math
import shutil
from pathlib import Path

__all__ = [
    "PARENT_PID_ENV",
    "UserError",
    "positive_seconds",
    "frequency_hz",
    "positive_hz",
    "decibels",
    "timeout_seconds",
    "positive_int",
    "non_negative_int",
    "existing_ancestor",
    "check_free_space",
    "format_bytes",
]


TIMEOUT_RANGE_S = (0.01, 3600.0)
# A Soragate parent (gateway.cmd_run) sets this in a child's environment: the child dies with it (Linux)
PARENT_PID_ENV = "SORAGATE_PARENT_PID"


class UserError(Exception):
    """The user's input cannot be used; the message says what to change."""


def _number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
    return value


def positive_seconds(text: str) -> float:
    """A duration in seconds: a finite number > 0."""
    value = _number(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r}: give a duration in seconds > 0")
    return value


def timeout_seconds(text: str) -> float:
    """A timeout in seconds: finite, 0.01 .. 3600 (the radio timeouts' range; sockets take milliseconds
    as a C long, which a huge value overflows)."""
    value = _number(text)
    lo, hi = TIMEOUT_RANGE_S
    if not lo <= value <= hi:
        raise argparse.ArgumentTypeError(f"{text!r}: give a timeout of {lo:g} .. {hi:g} s")
    return value


_SUFFIX = {"k": 1e3, "K": 1e3, "M": 1e6, "G": 1e9}


def frequency_hz(text: str) -> float:
    """'19.2e6', '19.2M', '2.6G', '50k' -> Hz (finite)."""
    t = text.strip()
    scale = _SUFFIX.get(t[-1:], 1.0)
    if t[-1:] in _SUFFIX:
        t = t[:-1]
    try:
        value = float(t) * scale
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a frequency (e.g. 19.2e6 or 19.2M)") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
    return value


def positive_hz(text: str) -> float:
    """A frequency or rate in Hz (suffixes k, M, G allowed): finite and > 0."""
    value = frequency_hz(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r}: give a value > 0 Hz")
    return value


def decibels(text: str) -> float:
    """A level in dB: finite, -100 .. 100."""
    value = _number(text)
    if not -100 <= value <= 100:
        raise argparse.ArgumentTypeError(f"{text!r}: give -100 .. 100 dB")
    return value


def _integer(text: str) -> int:
    try:
        return int(text, 10)  # int() allows the same surrounding blanks the test expects
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None


def positive_int(text: str) -> int:
    """A count >= 1 (milliseconds, subframes)."""
    value = _integer(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: give a whole number >= 1")
    return value


def non_negative_int(text: str) -> int:
    """A count >= 0."""
    value = _integer(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r}: give a whole number >= 0")
    return value


def existing_ancestor(path: Path) -> Path:
    """The nearest directory at or above `path` that exists (where a new file's bytes would land)."""
    p = Path(path).absolute()
    while not p.is_dir() and p != p.parent:
        p = p.parent
    return p


def format_bytes(n_bytes: float) -> str:
    """1234567 -> '1.2 MB' (decimal units, as disk sizes are quoted)."""
    for unit, scale in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if abs(n_bytes) >= scale:
            return f"{n_bytes / scale:.1f} {unit}"
    return f"{n_bytes:.0f} B"


def check_free_space(path: Path, n_bytes: int, what: str, fix: str) -> None:
    """Raise UserError when the file system holding `path` has less than `n_bytes` free (+ 1 MiB margin)."""
    folder = existing_ancestor(path)
    free = shutil.disk_usage(folder).free
    if n_bytes + (1 << 20) > free:
        raise UserError(f"{what} needs {format_bytes(n_bytes)} but {folder} has {format_bytes(free)} free; {fix}")
