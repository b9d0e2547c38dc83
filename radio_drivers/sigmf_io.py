"""SigMF recordings (https://sigmf.org, through the `sigmf` package): write, record a stream, play back.

A recording is `<stem>.sigmf-data` (raw cf32_le samples) + `<stem>.sigmf-meta` (JSON: core:datatype,
core:sample_rate, core:description, core:hw, core:recorder, one capture per continuous segment with
core:frequency, core:datetime of its first sample and core:global_index = the stream's sample counter,
annotations for events). Every meta file is written through sigmf's validator.

Failures keep their cause and leave a valid recording: a recorder closed with no samples writes an
empty recording (0-byte data, meta with its checksum), one left by an exception keeps what was
written (cut to whole samples), notes the error in an `aborted` annotation and lets the error
propagate. Reading checks the meta (JSON, SigMF schema, datatype), the data file's presence, its
length (whole samples) and its checksum, and raises RadioError saying which.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .base import EndOfStream, Radio, RadioError, RxBlock, register_driver
from .formats import from_wire
from .iqframe import FrameFlags

if TYPE_CHECKING:
    from sigmf import SigMFFile

# the `sigmf` package (and its jsonschema validator, ~70 ms) is imported where a recording is written or
# read, not with the radio drivers: `transmit` and every other command start without it

__all__ = [
    "Annotation",
    "write_sigmf",
    "read_sigmf",
    "SigMFRecorder",
    "SigMFPlayback",
    "RecordingTap",
    "format_datetime",
    "parse_datetime",
    "sigmf_paths",
]

RECORDER = "soragate"
_DTYPE = np.dtype("<c8")


@dataclass(frozen=True)
class Annotation:
    """An event in a recording: dataset sample index, length (None = to the end), short label, comment."""

    sample_start: int
    sample_count: int | None = None
    label: str = ""
    comment: str = ""


def format_datetime(t: dt.datetime) -> str:
    """UTC datetime -> SigMF core:datetime 'YYYY-MM-DDTHH:MM:SS.ffffffZ' (naive = UTC)."""
    if t.tzinfo is not None:
        t = t.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_datetime(s: str) -> dt.datetime:
    """SigMF core:datetime -> timezone-aware UTC datetime."""
    s = s.rstrip("Z")
    fmt = "%Y-%m-%dT%H:%M:%S.%f" if "." in s else "%Y-%m-%dT%H:%M:%S"
    return dt.datetime.strptime(s, fmt).replace(tzinfo=dt.timezone.utc)


def _as_annotation(a) -> Annotation:
    if isinstance(a, Annotation):
        return a
    if isinstance(a, dict):
        return Annotation(**a)
    return Annotation(*a)


def sigmf_paths(path_stem: str | Path) -> tuple[Path, Path]:
    """(data path, meta path) of a recording given as its stem, its .sigmf-meta or its .sigmf-data.

    A stem must name a file: 'dir/' would give a hidden 'dir/.sigmf-meta', which sigmf extends to
    '.sigmf-meta.sigmf-meta'."""
    stem = str(path_stem)
    for ext in (".sigmf-meta", ".sigmf-data"):
        stem = stem.removesuffix(ext)
    if not stem or stem.endswith(("/", os.sep)) or Path(stem).name in ("", ".", ".."):
        raise RadioError(
            f"{path_stem!r} names a directory, not a recording; give a path stem such as "
            f"{str(Path(stem or '.') / 'dl')!r} (writes dl.sigmf-data and dl.sigmf-meta)"
        )
    return Path(stem + ".sigmf-data"), Path(stem + ".sigmf-meta")


def _sha512(path: Path) -> str:
    """SHA-512 of a file read in 1 MiB pieces (sigmf memory-maps, which fails on an empty file)."""
    h = hashlib.sha512()
    with open(path, "rb") as f:
        for piece in iter(lambda: f.read(1 << 20), b""):
            h.update(piece)
    return h.hexdigest()


def _write_meta(
    data_path: Path,
    meta_path: Path,
    sample_rate_hz: float,
    description: str,
    hw: str,
    captures: list[tuple[int, int, float, dt.datetime | None]],
    annotations: Iterable,
) -> None:
    """captures: (sample_start, global_index, center_frequency_hz, datetime of sample_start or None)."""
    import sigmf
    from sigmf import SigMFFile

    meta = SigMFFile(
        global_info={
            "core:datatype": "cf32_le",
            "core:sample_rate": float(sample_rate_hz),
            "core:description": description,
            "core:hw": hw,
            "core:recorder": RECORDER,
            "core:version": sigmf.__specification__,
            "core:sha512": _sha512(data_path),  # what sigmf would compute, without its memory map
        },
    )
    for start, global_index, freq, when in captures:
        info = {"core:frequency": float(freq), "core:global_index": int(global_index)}
        if when is not None:
            info["core:datetime"] = format_datetime(when)
        meta.add_capture(int(start), metadata=info)
    for a in sorted((_as_annotation(a) for a in annotations), key=lambda a: a.sample_start):
        info = {"core:label": a.label}
        if a.comment:
            info["core:comment"] = a.comment
        meta.add_annotation(int(a.sample_start), a.sample_count, metadata=info)
    meta.tofile(str(meta_path), overwrite=True)  # validates against the SigMF schema


def write_sigmf(
    path_stem: str | Path,
    samples: np.ndarray,
    sample_rate_hz: float,
    center_frequency_hz: float,
    description: str,
    datetime_utc: dt.datetime | None = None,
    annotations: Iterable = (),
    hw: str = "",
) -> tuple[Path, Path]:
    """Write (N,) complex samples as a SigMF recording; returns (data_path, meta_path).

    datetime_utc: UTC time of samples[0] (None: now). annotations: Annotation, dict or tuple
    (sample_start, sample_count, label, comment).
    """
    data_path, meta_path = sigmf_paths(path_stem)
    data_path.parent.mkdir(parents=True, exist_ok=True)
    np.ascontiguousarray(samples, dtype=_DTYPE).tofile(data_path)
    when = datetime_utc or dt.datetime.now(dt.timezone.utc)
    _write_meta(
        data_path,
        meta_path,
        sample_rate_hz,
        description,
        hw,
        [(0, 0, center_frequency_hz, when)],
        annotations,
    )
    return data_path, meta_path


@dataclass(frozen=True)
class SigMFRecording:
    """What read_sigmf returns: samples (N,) complex64 and the metadata fields Soragate writes."""

    samples: np.ndarray
    sample_rate_hz: float
    center_frequency_hz: float
    datetime_utc: dt.datetime | None
    description: str
    hw: str
    captures: tuple[tuple[int, int, float, dt.datetime | None], ...]
    annotations: tuple[Annotation, ...]


def _load_meta(meta_path: Path) -> SigMFFile:
    """The metadata of a recording, checked against the SigMF schema; RadioError says what is wrong."""
    try:
        obj = json.loads(meta_path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RadioError(f"{meta_path}: not a SigMF metadata file (invalid JSON: {exc})") from None
    except OSError as exc:
        raise RadioError(f"{meta_path}: cannot read the metadata: {exc.strerror or exc}") from None
    if not isinstance(obj, dict) or not isinstance(obj.get("global"), dict):
        raise RadioError(f"{meta_path}: not a SigMF metadata file (no 'global' object)")
    from sigmf import SigMFFile

    try:
        meta = SigMFFile(metadata=obj)
        meta.validate()
    except Exception as exc:  # sigmf/jsonschema raise several types for a non-conforming file
        raise RadioError(f"{meta_path}: not valid SigMF metadata: {str(exc).splitlines()[0]}") from None
    return meta


def read_sigmf(path_stem: str | Path) -> SigMFRecording:
    """Read a recording (schema validated by sigmf, length and checksum checked) into memory.

    Raises RadioError for a missing or invalid meta, a datatype other than cf32_le/ci16_le, several
    channels, a missing data file, a data file that is not a whole number of samples (truncated) or
    whose SHA-512 differs from core:sha512.
    """
    data_path, meta_path = sigmf_paths(path_stem)
    if not meta_path.is_file():
        raise RadioError(f"SigMF metadata {meta_path} not found")
    meta = _load_meta(meta_path)
    datatype = meta.get_global_field("core:datatype")
    if datatype not in ("cf32_le", "ci16_le"):
        raise RadioError(f"{meta_path}: datatype {datatype!r} not supported (cf32_le or ci16_le)")
    if meta.get_global_field("core:num_channels", 1) != 1:
        raise RadioError(f"{meta_path}: {meta.get_global_field('core:num_channels')} channels; one is supported")
    if not data_path.is_file():
        raise RadioError(f"{meta_path}: its data file {data_path} is missing")
    sample_bytes = 8 if datatype == "cf32_le" else 4
    size = data_path.stat().st_size
    if size % sample_bytes:
        raise RadioError(
            f"{data_path}: {size} bytes is not a whole number of {datatype} samples ({sample_bytes} bytes "
            "each): the recording is truncated or not of this datatype"
        )
    expected = meta.get_global_field("core:sha512")
    if expected is not None and _sha512(data_path) != expected:
        raise RadioError(f"{data_path}: SHA-512 differs from the meta's core:sha512 (the data file was changed)")
    raw = np.fromfile(data_path, dtype=np.uint8)
    samples = from_wire(raw, datatype).copy()
    try:
        return _recording(meta, samples)
    except (KeyError, TypeError, ValueError) as exc:
        raise RadioError(f"{meta_path}: unusable metadata field ({type(exc).__name__}: {exc})") from None


def _recording(meta: SigMFFile, samples: np.ndarray) -> SigMFRecording:
    """The SigMFRecording of validated metadata and its samples; KeyError/TypeError/ValueError on odd fields."""
    sample_rate_hz = float(meta.get_global_field("core:sample_rate"))
    if not np.isfinite(sample_rate_hz) or sample_rate_hz <= 0:
        raise ValueError(f"core:sample_rate {sample_rate_hz} must be a positive number")
    captures = []
    for c in meta.get_captures():
        when = c.get("core:datetime")
        start = int(c["core:sample_start"])
        if not 0 <= start <= len(samples) or (captures and start < captures[-1][0]):
            raise ValueError(f"capture core:sample_start {start} outside 0..{len(samples)} or out of order")
        captures.append(
            (
                start,
                int(c.get("core:global_index", start)),
                float(c.get("core:frequency", 0.0)),
                parse_datetime(when) if when else None,
            )
        )
    annotations = tuple(
        Annotation(
            int(a["core:sample_start"]),
            a.get("core:sample_count"),
            a.get("core:label", ""),
            a.get("core:comment", ""),
        )
        for a in meta.get_annotations()
    )
    first = captures[0] if captures else (0, 0, 0.0, None)
    return SigMFRecording(
        samples=samples,
        sample_rate_hz=sample_rate_hz,
        center_frequency_hz=first[2],
        datetime_utc=first[3],
        description=meta.get_global_field("core:description", ""),
        hw=meta.get_global_field("core:hw", ""),
        captures=tuple(captures),
        annotations=annotations,
    )


class SigMFRecorder(Radio):
    """A radio that records what it is given: tx() appends to <stem>.sigmf-data; close() writes the meta.

    epoch_utc: UTC instant of stream sample n = 0 (DESIGN.md 2), used for each capture's core:datetime.
    A timestamp discontinuity or a retune starts a new capture segment (core:global_index = n).
    """

    name = "sigmf_recorder"

    def __init__(
        self,
        path_stem: str | Path,
        sample_rate_hz: float,
        center_frequency_hz: float,
        *,
        description: str = "",
        hw: str = "",
        epoch_utc: dt.datetime | None = None,
    ):
        super().__init__(sample_rate_hz, center_frequency_hz)
        self.data_path, self.meta_path = sigmf_paths(path_stem)
        self.data_path.parent.mkdir(parents=True, exist_ok=True)
        self.description, self.hw = description, hw
        self.epoch_utc = epoch_utc or dt.datetime.now(dt.timezone.utc)
        self._file = open(self.data_path, "wb")  # noqa: SIM115 - closed in close()
        self._written = 0  # whole samples in the data file
        self._next_ts: int | None = None
        self._freq: float | None = None
        self.captures: list[tuple[int, int, float, dt.datetime | None]] = []
        self.annotations: list[Annotation] = []

    def _time_of(self, n: int) -> dt.datetime:
        # integer microseconds from the sample counter (no float-second accumulation)
        return self.epoch_utc + dt.timedelta(microseconds=round(n * 1e6 / self.sample_rate_hz))

    def tx(
        self, samples: np.ndarray, timestamp: int | None = None, flags: FrameFlags = FrameFlags.NONE
    ) -> int:
        """Append samples; timestamp = stream sample counter of samples[0] (None: contiguous)."""
        if self.closed:
            raise RadioError(f"recorder {self.data_path} is closed")
        x = np.ascontiguousarray(samples, dtype=_DTYPE)
        ts = (self._next_ts or 0) if timestamp is None else int(timestamp)
        if ts != self._next_ts or self.center_frequency_hz != self._freq:
            self.captures.append((self._written, ts, self.center_frequency_hz, self._time_of(ts)))
            self._freq = self.center_frequency_hz
        if flags & FrameFlags.UNDERFLOW:
            self.annotate("underflow", comment=f"underflow reported before n={ts}")
        x.tofile(self._file)
        self._written += len(x)
        self._next_ts = ts + len(x)
        self.counters.samples_tx += len(x)
        return len(x)

    write = tx  # recorder.write(samples, n): the same as tx(), reads better in recording code

    def annotate(
        self, label: str, sample_start: int | None = None, sample_count: int | None = None, comment: str = ""
    ) -> None:
        """Add an event at dataset index sample_start (None: the next sample to be written)."""
        start = self._written if sample_start is None else int(sample_start)
        self.annotations.append(Annotation(start, sample_count, label, comment))

    def rx(self, n: int, timeout_s: float | None = None) -> RxBlock:
        raise RadioError("a SigMF recorder only records (tx); play a recording back with SigMFPlayback")

    def close(self) -> None:
        """Finish the recording: data cut to the whole samples written, then the meta (valid even if empty)."""
        if self.closed:
            return
        self.closed = True  # a failure below must not be retried by a second close()
        try:
            self._file.truncate(self._written * _DTYPE.itemsize)  # drop a partly written sample
        finally:
            self._file.close()
        captures = self.captures or [(0, 0, self.center_frequency_hz, self.epoch_utc)]
        _write_meta(
            self.data_path,
            self.meta_path,
            self.sample_rate_hz,
            self.description,
            self.hw,
            captures,
            self.annotations,
        )
        super().close()

    def __exit__(self, exc_type, exc, tb) -> None:
        """On an exception: note it in the recording and close; the exception goes on unchanged (a
        failure to close is attached to it as a note, never raised in its place)."""
        _close_after(self, self, exc)


def _close_after(radio: Radio, recorder: SigMFRecorder, exc: BaseException | None) -> None:
    """Close `radio` (which closes `recorder`) at the end of a `with` block; when `exc` ended it, mark the
    recording aborted and keep `exc` as the error to report."""
    if exc is None:
        radio.close()
        return
    if not recorder.closed:
        recorder.annotate("aborted", comment=f"recording stopped by {type(exc).__name__}: {exc}")
    try:
        radio.close()
    except Exception as close_exc:  # noqa: BLE001 - the original error is the one to report
        exc.add_note(f"(the recording {recorder.meta_path} could not be finished either: {close_exc})")


class SigMFPlayback(Radio):
    """Plays a recording as a radio: rx() returns its samples with their stream sample counters.

    A capture boundary is a discontinuity (rx returns short there). At the end: EndOfStream, or with
    loop=True the recording starts again with the sample counter running on.
    """

    name = "sigmf"

    def __init__(self, path_stem: str | Path, *, loop: bool = False, sample_rate_hz: float | None = None):
        rec = read_sigmf(path_stem)
        if sample_rate_hz and abs(sample_rate_hz - rec.sample_rate_hz) > 1e-6 * rec.sample_rate_hz:
            raise RadioError(
                f"{path_stem}: recorded at {rec.sample_rate_hz / 1e6:g} Msps but the cell needs "
                f"{sample_rate_hz / 1e6:g} Msps"
            )
        super().__init__(rec.sample_rate_hz, rec.center_frequency_hz)
        self.recording = rec
        self.loop = loop
        self._pos = 0
        self._lap_offset = 0
        starts = [c[0] for c in rec.captures] or [0]
        self._bounds = [*starts[1:], len(rec.samples)]

    def _capture_index(self, pos: int) -> int:
        return int(np.searchsorted(self._bounds, pos, side="right"))

    def rx(self, n: int, timeout_s: float | None = None) -> RxBlock:
        total = len(self.recording.samples)
        if self._pos >= total:
            if not self.loop or total == 0:
                raise EndOfStream(f"end of recording {self.recording.description!r} after {total} samples")
            self._pos = 0
            self._lap_offset += (self.recording.captures[-1][1] - self.recording.captures[-1][0]) + total
        i = self._capture_index(self._pos)
        start, global_index, freq, _ = (
            self.recording.captures[i] if self.recording.captures else (0, 0, 0, None)
        )
        end = min(self._pos + int(n), self._bounds[i])
        out = self.recording.samples[self._pos : end].copy()
        ts = self._lap_offset + global_index + (self._pos - start)
        self.center_frequency_hz = freq
        self._pos = end
        self.counters.samples_rx += len(out)
        return RxBlock(out, ts)

    def tx(
        self, samples: np.ndarray, timestamp: int | None = None, flags: FrameFlags = FrameFlags.NONE
    ) -> int:
        raise RadioError("a SigMF playback radio only plays (rx); record with SigMFRecorder")


class RecordingTap(Radio):
    """Wraps a radio and records one direction of it ('tx' or 'rx') into a SigMFRecorder."""

    def __init__(self, inner: Radio, recorder: SigMFRecorder, direction: str = "tx"):
        if direction not in ("tx", "rx"):
            raise RadioError(f"record direction must be 'tx' or 'rx', got {direction!r}")
        super().__init__(inner.sample_rate_hz, inner.center_frequency_hz)
        self.inner, self.recorder, self.direction = inner, recorder, direction
        self.name = f"{inner.name}+sigmf"
        self.counters = inner.counters

    def tx(
        self, samples: np.ndarray, timestamp: int | None = None, flags: FrameFlags = FrameFlags.NONE
    ) -> int:
        n = self.inner.tx(samples, timestamp, flags)
        if self.direction == "tx":
            self.recorder.tx(samples, timestamp, flags)
        return n

    def rx(self, n: int, timeout_s: float | None = None) -> RxBlock:
        block = self.inner.rx(n, timeout_s)
        if self.direction == "rx":
            self.recorder.tx(block.samples, block.timestamp)
        return block

    def set_gain(self, gain_db: float, direction: str = "tx") -> None:
        self.inner.set_gain(gain_db, direction)

    def close(self) -> None:
        try:
            self.inner.close()
        finally:
            self.recorder.close()
            super().close()

    def __exit__(self, exc_type, exc, tb) -> None:
        _close_after(self, self.recorder, exc)


@register_driver("sigmf")
def _open_sigmf(radio_config, sample_rate_hz: float, center_frequency_hz: float) -> SigMFPlayback:
    c = radio_config.sigmf
    if not c.path:
        raise RadioError("radio.sigmf.path: set the recording to play (path of the .sigmf-meta, or its stem)")
    return SigMFPlayback(c.path, loop=c.loop, sample_rate_hz=sample_rate_hz)
