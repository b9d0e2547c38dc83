"""IQ capture files as SDRs write them, read in bounded-memory pieces: SigMF or raw interleaved I/Q.

Formats (1.0 = digital full scale, as radio_drivers.formats):

    cf32  little-endian float32 I, Q (SigMF cf32_le; srsRAN, GNU Radio, `python -m gateway record`)
    ci16  little-endian int16 I, Q, / 32767 (SigMF ci16_le; USRP, LimeSDR, bladeRF sc16)
    ci8   int8 I, Q, / 127 (SigMF ci8; HackRF `hackrf_transfer`)
    cu8   uint8 offset binary I, Q, (v - 127.5) / 127.5 (SigMF cu8; RTL-SDR `rtl_sdr`)

`open_capture(path, sample_format=None, sample_rate_hz=None)` takes a SigMF recording (its .sigmf-meta,
.sigmf-data or stem: rate, datatype and centre frequency come from the meta, checked as
radio_drivers.sigmf_io checks them) or a raw file with the format and rate given. The samples are a
read-only np.memmap: `read(start, count)` converts only that piece. `sniff_formats` guesses the format
from byte statistics, for the "wrong --format" hint. Problems with the file raise RadioError.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .base import RadioError
from .sigmf_io import _load_meta, _sha512, sigmf_paths

__all__ = ["CAPTURE_FORMATS", "CaptureFile", "open_capture", "memory_capture", "sniff_formats", "describe_format"]

# format -> (numpy dtype of one I or Q value, offset, scale): sample = (value - offset) * scale
CAPTURE_FORMATS = {
    "cf32": (np.dtype("<f4"), 0.0, 1.0),
    "ci16": (np.dtype("<i2"), 0.0, 1.0 / 32767.0),
    "ci8": (np.dtype("i1"), 0.0, 1.0 / 127.0),
    "cu8": (np.dtype("u1"), 127.5, 1.0 / 127.5),
}
_SIGMF_TYPES = {"cf32_le": "cf32", "ci16_le": "ci16", "ci8": "ci8", "cu8": "cu8", "ci8_le": "ci8", "cu8_le": "cu8"}
_DESCRIPTIONS = {
    "cf32": "float32 I/Q (cf32_le)",
    "ci16": "int16 I/Q (ci16_le, USRP/LimeSDR/bladeRF)",
    "ci8": "int8 I/Q (HackRF)",
    "cu8": "uint8 offset-binary I/Q (RTL-SDR)",
}


def describe_format(sample_format: str) -> str:
    return _DESCRIPTIONS[sample_format]


def check_capture_format(sample_format: str) -> str:
    """'cf32', 'ci16', 'ci8', 'cu8' (SigMF spellings cf32_le, ci16_le accepted); RadioError otherwise."""
    fmt = _SIGMF_TYPES.get(sample_format, sample_format)
    if fmt not in CAPTURE_FORMATS:
        raise RadioError(f"unknown sample format {sample_format!r}: use one of {', '.join(CAPTURE_FORMATS)}")
    return fmt


@dataclass
class CaptureFile:
    """A capture on disk. raw: (2 n_samples,) read-only memmap of I/Q values; notes: warnings to show."""

    path: Path
    sample_format: str
    sample_rate_hz: float
    center_frequency_hz: float | None
    raw: np.ndarray = field(repr=False)
    is_sigmf: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def n_samples(self) -> int:
        return self.raw.size // 2

    @property
    def duration_s(self) -> float:
        return self.n_samples / self.sample_rate_hz

    def read(self, start: int, count: int) -> np.ndarray:
        """Samples start .. start+count-1 (clipped to the file) as (n,) complex64, 1.0 = full scale."""
        start = max(0, int(start))
        stop = min(self.n_samples, start + max(0, int(count)))
        if stop <= start:
            return np.zeros(0, np.complex64)
        dtype, offset, scale = CAPTURE_FORMATS[self.sample_format]
        iq = np.asarray(self.raw[2 * start : 2 * stop], dtype=np.float32)
        if offset:
            iq -= np.float32(offset)
        if scale != 1.0:
            iq *= np.float32(scale)
        return iq.view(np.complex64)

    def head_bytes(self, n_bytes: int = 1 << 20) -> np.ndarray:
        """The first n_bytes of the sample data as uint8 (for sniff_formats)."""
        return np.asarray(self.raw.view(np.uint8)[:n_bytes])


def memory_capture(samples: np.ndarray, sample_rate_hz: float, center_frequency_hz: float | None, name: str
                   ) -> CaptureFile:
    """A CaptureFile over (N,) complex samples already in memory (a live radio read, a test signal)."""
    x = np.ascontiguousarray(samples, dtype=np.complex64)
    return CaptureFile(Path(name), "cf32", float(sample_rate_hz), center_frequency_hz, x.view(np.float32), False)


def _memmap(path: Path, dtype: np.dtype, n_values: int) -> np.ndarray:
    if n_values == 0:
        return np.zeros(0, dtype)
    return np.memmap(path, dtype=dtype, mode="r", shape=(n_values,))


def _open_raw(path: Path, fmt: str, rate: float, notes: list[str]) -> np.ndarray:
    dtype = CAPTURE_FORMATS[fmt][0]
    size = path.stat().st_size
    sample_bytes = 2 * dtype.itemsize
    if size == 0:
        raise RadioError(f"{path}: the file is empty (0 bytes): nothing was recorded")
    if size % sample_bytes:
        notes.append(
            f"{path.name}: {size} bytes is not a whole number of {fmt} samples ({sample_bytes} bytes each): "
            f"the file is truncated or not {fmt}; the last {size % sample_bytes} byte(s) are ignored"
        )
    return _memmap(path, dtype, 2 * (size // sample_bytes))


def open_capture(
    path: str | Path,
    sample_format: str | None = None,
    sample_rate_hz: float | None = None,
    center_frequency_hz: float | None = None,
    verify_checksum: bool = True,
    segment: int | None = None,
) -> CaptureFile:
    """Open a SigMF recording (path ends in .sigmf-meta / .sigmf-data, or is the stem of one) or a raw
    I/Q file (sample_format and sample_rate_hz required). Arguments given override a SigMF meta's
    rate/frequency; a different format from the meta's datatype is an error. RadioError on a missing,
    empty or inconsistent file.

    A SigMF recording of bursts (captures whose core:global_index jumps: time missing between them, e.g.
    a handset's DRX windows from `run --record-handset`) is not one stream: only one contiguous segment
    is read, `segment` (default the first, with a note saying so)."""
    p = Path(path)
    is_sigmf = p.suffix in (".sigmf-meta", ".sigmf-data") or (
        not p.exists() and Path(str(p) + ".sigmf-meta").is_file()
    )
    notes: list[str] = []
    if not is_sigmf:
        if not p.exists():
            raise RadioError(f"{p}: no such file")
        if p.is_dir():
            raise RadioError(f"{p} is a directory, not a capture file")
        if sample_format is None or sample_rate_hz is None:
            raise RadioError(
                f"{p} is a raw I/Q file (no .sigmf-meta beside it): give its --format "
                f"({', '.join(CAPTURE_FORMATS)}) and --rate (samples per second)"
            )
        fmt = check_capture_format(sample_format)
        raw = _open_raw(p, fmt, sample_rate_hz, notes)
        return CaptureFile(p, fmt, float(sample_rate_hz), center_frequency_hz, raw, False, notes)

    data_path, meta_path = sigmf_paths(p)
    if not meta_path.is_file():
        raise RadioError(
            f"SigMF metadata {meta_path} not found: restore it, or read {data_path.name} as a raw file "
            "with --format and --rate"
        )
    meta = _load_meta(meta_path)
    datatype = meta.get_global_field("core:datatype")
    if datatype not in _SIGMF_TYPES:
        raise RadioError(f"{meta_path}: datatype {datatype!r} not supported ({', '.join(_SIGMF_TYPES)})")
    fmt = _SIGMF_TYPES[datatype]
    if sample_format is not None and check_capture_format(sample_format) != fmt:
        raise RadioError(f"{meta_path} says the data is {datatype}, but --format {sample_format} was given")
    if meta.get_global_field("core:num_channels", 1) != 1:
        raise RadioError(f"{meta_path}: {meta.get_global_field('core:num_channels')} channels; one is supported")
    if not data_path.is_file():
        raise RadioError(f"{meta_path}: its data file {data_path} is missing")
    size = data_path.stat().st_size
    sample_bytes = 2 * CAPTURE_FORMATS[fmt][0].itemsize
    if size % sample_bytes:
        raise RadioError(
            f"{data_path}: {size} bytes is not a whole number of {datatype} samples ({sample_bytes} bytes "
            "each): the recording is truncated or not of this datatype"
        )
    expected = meta.get_global_field("core:sha512")
    if verify_checksum and expected is not None and size and _sha512(data_path) != expected:
        raise RadioError(f"{data_path}: SHA-512 differs from the meta's core:sha512 (truncated or changed data)")
    if size == 0:
        raise RadioError(f"{data_path}: the recording is empty (0 samples)")
    try:
        rate = float(meta.get_global_field("core:sample_rate"))
    except (TypeError, ValueError):
        rate = float("nan")
    if sample_rate_hz is not None:
        rate = float(sample_rate_hz)
    if not np.isfinite(rate) or rate <= 0:
        raise RadioError(f"{meta_path}: core:sample_rate is missing or not positive; give --rate")
    freq = center_frequency_hz
    if freq is None:
        caps = meta.get_captures()
        if caps and caps[0].get("core:frequency") is not None:
            freq = float(caps[0]["core:frequency"])
    raw = _memmap(data_path, CAPTURE_FORMATS[fmt][0], size // CAPTURE_FORMATS[fmt][0].itemsize)
    segments = contiguous_segments(meta.get_captures(), raw.size // 2)
    if segment is not None and not 0 <= segment < len(segments):
        raise RadioError(f"{meta_path}: segment {segment} asked for, the recording has {len(segments)} contiguous "
                         f"segment(s) (0 .. {len(segments) - 1})")
    if len(segments) > 1:
        k = segment or 0
        a, b = segments[k]
        if segment is None:
            notes.append(f"{len(segments)} discontinuous capture segments (core:global_index jumps between "
                         f"them): reading segment 0, {(b - a) / rate * 1e3:.1f} ms from sample {a}")
        raw = raw[2 * a:2 * b]
    return CaptureFile(data_path, fmt, rate, freq, raw, True, notes)


def contiguous_segments(captures: list[dict], n_samples: int) -> list[tuple[int, int]]:
    """[(first, end)] dataset sample ranges of a SigMF recording that are contiguous in time: captures
    merge when the next one's core:global_index continues the previous one's (or either lacks one)."""
    starts = sorted((int(c.get("core:sample_start", 0)), c.get("core:global_index")) for c in captures)
    starts = [(s, g) for s, g in starts if s < n_samples] or [(0, None)]
    out = [[starts[0][0], n_samples]]
    for (s0, g0), (s1, g1) in zip(starts, starts[1:], strict=False):
        if g0 is not None and g1 is not None and g1 - g0 != s1 - s0:
            out[-1][1] = s1
            out.append([s1, n_samples])
    return [(a, b) for a, b in out if b > a]


def sniff_formats(head: np.ndarray) -> list[str]:
    """Formats whose byte signature fits `head` (uint8 bytes from the start of the data), likeliest first.

    cf32: as float32 nearly every value is finite and of modest size (1e-9 .. 1e4, or exactly 0), which
      integer data almost never is. cu8: bytes centred on 127.5, spread well inside 0..255.
    ci8: bytes as int8 centred on 0, spread well inside -128..127, I and Q alike.
    ci16: as int16 centred on 0; the low bytes are near-uniform (int8 spread ~74) while the high bytes are
      small signed numbers (spread much below it).
    """
    b = np.asarray(head, dtype=np.uint8)
    out: list[tuple[float, str]] = []
    n4 = b.size // 8 * 8
    if n4 >= 8:
        with np.errstate(invalid="ignore", over="ignore"):
            f = b[:n4].view("<f4").astype(np.float64)
            a = np.abs(f)
            ok = np.isfinite(f) & ((a == 0) | ((a > 1e-9) & (a < 1e4)))
        if ok.mean() > 0.999 and np.any(a > 0):
            out.append((0.0, "cf32"))
    if b.size >= 64:
        u = b.astype(np.float64)
        s8 = b.view(np.int8).astype(np.float64)
        if abs(u.mean() - 127.5) < 12 and u.std() < 55:
            out.append((1.0, "cu8"))
        even, odd = s8[0::2], s8[1::2]
        if abs(s8.mean()) < 12 and s8.std() < 55 and 0.6 < (even.std() + 1e-9) / (odd.std() + 1e-9) < 1.6:
            out.append((2.0, "ci8"))
        n2 = b.size // 4 * 4
        if n2 >= 64:
            i16 = b[:n2].view("<i2").astype(np.float64)
            lo, hi = s8[0:n2:2], s8[1:n2:2]
            if abs(i16.mean()) < 0.5 * (i16.std() + 1) and lo.std() > 1.5 * hi.std() and lo.std() > 50:
                out.append((3.0, "ci16"))
    return [name for _, name in sorted(out)]
