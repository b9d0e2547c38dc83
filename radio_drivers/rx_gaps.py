"""The receive side of a stream, assembled into one capture with its gaps marked (DESIGN.md 2).

`Radio.rx` returns contiguous blocks and stops at a discontinuity; this module is the one place that
decides what a discontinuity becomes in a capture, for every reader (`gateway handset`, `gateway radio
capture`):

- a hole (the next block starts after the expected sample counter: lost frames, a rejected frame, a
  dropped srsRAN reply) is filled with zeros of the missing length and marked (a `Gap` of kind
  'hole', the radio's `rx_holes` / `hole_samples` counters, a SigMF annotation), when it is at most
  `max_fill_samples` long; a longer one ends the capture with `GapError`;
- an overlap (the next block starts before it: a duplicated frame, a timestamp that went back) has
  the samples already captured dropped and marked (kind 'overlap', `overlap_samples`); going back
  more than `max_fill_samples` is a stream restart and ends the capture with `GapError`;
- with on_gap='error' any discontinuity ends the capture with `GapError`.

Samples are never spliced: sample i of the capture is always stream sample first_timestamp + i.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .base import Radio, RadioError
from .sigmf_io import Annotation

__all__ = ["Gap", "Capture", "GapError", "read_contiguous", "ON_GAP"]

ON_GAP = ("fill", "error")


class GapError(RadioError):
    """A discontinuity the capture cannot mark and go on with (too long, a restart, or on_gap='error')."""


@dataclass(frozen=True)
class Gap:
    """A discontinuity in a capture: `index` into the capture, `timestamp` = stream sample counter there,
    `n_samples` zeros inserted (kind 'hole') or received samples dropped (kind 'overlap')."""

    index: int
    timestamp: int
    n_samples: int
    kind: str

    def annotation(self) -> Annotation:
        """The SigMF annotation marking it (a hole covers its zeros; an overlap marks a point)."""
        if self.kind == "hole":
            comment = f"{self.n_samples} samples lost at n={self.timestamp}, zero-filled"
            return Annotation(self.index, self.n_samples, "gap", comment)
        comment = f"{self.n_samples} samples received twice before n={self.timestamp}, dropped"
        return Annotation(self.index, None, "overlap", comment)


@dataclass
class Capture:
    """samples (N,) complex64; first_timestamp: stream counter of samples[0]; gaps in capture order."""

    samples: np.ndarray
    first_timestamp: int
    gaps: list[Gap] = field(default_factory=list)

    @property
    def filled_samples(self) -> int:
        return sum(g.n_samples for g in self.gaps if g.kind == "hole")

    @property
    def dropped_samples(self) -> int:
        return sum(g.n_samples for g in self.gaps if g.kind == "overlap")

    def annotations(self) -> list[Annotation]:
        return [g.annotation() for g in self.gaps]

    def summary(self) -> dict:
        return {
            "gaps": len(self.gaps),
            "zero_filled_samples": self.filled_samples,
            "dropped_overlap_samples": self.dropped_samples,
            "gap_list": [(g.index, g.timestamp, g.n_samples, g.kind) for g in self.gaps],
        }


def read_contiguous(
    radio: Radio,
    n_samples: int,
    *,
    timeout_s: float | None = None,
    max_fill_samples: int | None = None,
    on_gap: str = "fill",
    block_samples: int = 1 << 20,
) -> Capture:
    """Read `n_samples` from `radio` into one capture on the stream's own clock (see the module doc).

    max_fill_samples: longest hole zero-filled, and longest step back tolerated (default: 1 s of the
    radio's rate). Raises RadioTimeout (from the radio) when nothing arrives, GapError as above.
    """
    if on_gap not in ON_GAP:
        raise ValueError(f"on_gap must be one of {ON_GAP}, got {on_gap!r}")
    n_samples = int(n_samples)
    if n_samples < 1:
        raise ValueError(f"n_samples must be >= 1, got {n_samples}")
    max_fill = int(round(radio.sample_rate_hz)) if max_fill_samples is None else int(max_fill_samples)
    out = np.zeros(n_samples, np.complex64)
    gaps: list[Gap] = []
    got = 0
    first: int | None = None
    while got < n_samples:
        block = radio.rx(min(n_samples - got, block_samples), timeout_s=timeout_s)
        x, ts = block.samples, int(block.timestamp)
        if first is None:
            first = ts
        expected = first + got
        if ts != expected:
            if on_gap == "error":
                raise GapError(
                    f"{radio.name}: discontinuity at n={expected}: the next block starts at n={ts} "
                    f"({ts - expected:+d} samples); capture stopped (on_gap='error')"
                )
            if ts > expected:
                hole = ts - expected
                if hole > max_fill:
                    raise GapError(
                        f"{radio.name}: {hole} samples missing at n={expected} (more than the {max_fill} "
                        "a capture zero-fills): the stream jumped or the peer restarted"
                    )
                fill = min(hole, n_samples - got)
                radio.count("rx_holes", f"{hole} samples missing at n={expected}: zero-filled and marked")
                radio.count("hole_samples", f"{fill} zero samples inserted at n={expected}", by=fill)
                gaps.append(Gap(got, expected, fill, "hole"))
                got += fill  # out[] is already zero there
                if got >= n_samples:
                    break
            else:
                back = expected - ts
                if back > max_fill:
                    raise GapError(
                        f"{radio.name}: the stream went back {back} samples (n={ts}, expected n={expected}): "
                        "peer restarted; capture stopped"
                    )
                drop = min(back, len(x))
                radio.count("overlap_samples", f"{drop} samples before n={expected} received again: dropped",
                            by=drop)
                if not gaps or gaps[-1].index != got or gaps[-1].kind != "overlap":
                    gaps.append(Gap(got, expected, drop, "overlap"))
                else:
                    g = gaps[-1]
                    gaps[-1] = Gap(g.index, g.timestamp, g.n_samples + drop, "overlap")
                x = x[drop:]
        take = min(len(x), n_samples - got)
        out[got : got + take] = x[:take]
        got += take
    return Capture(out, int(first), gaps)
