"""SigMF recorder and reader robustness (issue 10, defects 4, 8 and 9).

A recording that ends early or empty keeps the error that ended it and is still a valid recording;
reading a damaged one raises RadioError saying what is wrong; a stem naming a directory is refused.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import radio_drivers.sigmf_io as sigmf_io
from radio_drivers import LoopbackRadio, RadioError, RecordingTap, SigMFPlayback, read_sigmf, write_sigmf
from radio_drivers.sigmf_io import SigMFRecorder, sigmf_paths

FS = 1.92e6
F_C = 770e6
EMPTY_SHA512 = hashlib.sha512(b"").hexdigest()


def _samples(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(n) + 1j * rng.standard_normal(n)).astype(np.complex64)


def test_an_empty_recording_is_valid(tmp_path):
    # issue 10: close() with no samples raised "cannot mmap an empty file" and left no meta
    rec = SigMFRecorder(tmp_path / "empty", FS, F_C, description="nothing arrived")
    rec.close()
    assert rec.data_path.stat().st_size == 0
    meta = json.loads(rec.meta_path.read_text())
    assert meta["global"]["core:sha512"] == EMPTY_SHA512
    got = read_sigmf(tmp_path / "empty")
    assert got.samples.shape == (0,) and got.samples.dtype == np.complex64
    assert got.description == "nothing arrived" and got.sample_rate_hz == FS
    with pytest.raises(RadioError, match="after 0 samples"):
        SigMFPlayback(tmp_path / "empty").rx(10)


class RadioTimeoutStandIn(Exception):
    pass


def test_an_error_while_recording_is_kept_and_the_recording_is_valid(tmp_path):
    x = _samples(1000)
    err = RadioTimeoutStandIn("no IQ for 2 s")
    with pytest.raises(RadioTimeoutStandIn) as caught:
        with SigMFRecorder(tmp_path / "cut", FS, F_C) as rec:
            rec.write(x, 0)
            raise err
    assert caught.value is err and not getattr(err, "__notes__", None)
    got = read_sigmf(tmp_path / "cut")
    np.testing.assert_array_equal(got.samples, x)
    (aborted,) = got.annotations
    assert (aborted.label, aborted.sample_start) == ("aborted", 1000)
    assert aborted.comment == "recording stopped by RadioTimeoutStandIn: no IQ for 2 s"


def test_an_error_before_the_first_sample_leaves_an_empty_valid_recording(tmp_path):
    with pytest.raises(ValueError, match="generation error"):
        with SigMFRecorder(tmp_path / "none", FS, F_C):
            raise ValueError("generation error")
    got = read_sigmf(tmp_path / "none")
    assert len(got.samples) == 0 and got.annotations[0].label == "aborted"


def test_a_failing_close_does_not_replace_the_original_error(tmp_path, monkeypatch):
    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(sigmf_io, "_write_meta", disk_full)
    with pytest.raises(KeyError) as caught:
        with SigMFRecorder(tmp_path / "full", FS, F_C) as rec:
            rec.write(_samples(10), 0)
            raise KeyError("the real error")
    assert caught.value.args == ("the real error",)
    assert "could not be finished either" in caught.value.__notes__[0]
    # without an error in flight, the close failure is the error
    rec = SigMFRecorder(tmp_path / "full2", FS, F_C)
    with pytest.raises(OSError, match="No space"):
        rec.close()
    rec.close()  # a second close does not try again


def test_a_partly_written_sample_is_cut_off(tmp_path):
    rec = SigMFRecorder(tmp_path / "partial", FS, F_C)
    rec.write(_samples(100), 0)
    rec._file.write(b"\x01\x02\x03")  # what a write interrupted mid-sample leaves
    rec.close()
    assert rec.data_path.stat().st_size == 100 * 8
    assert len(read_sigmf(tmp_path / "partial").samples) == 100


def test_recording_tap_closes_its_recorder_when_the_radio_fails_to_close(tmp_path):
    class BadClose(LoopbackRadio):
        def close(self):
            raise RadioError("device gone")

    rec = SigMFRecorder(tmp_path / "tap", FS, F_C)
    tap = RecordingTap(BadClose(FS, F_C), rec)
    tap.tx(_samples(50), 0)
    with pytest.raises(RadioError, match="device gone"):
        tap.close()
    assert rec.closed and len(read_sigmf(tmp_path / "tap").samples) == 50


def test_recording_tap_keeps_the_error_that_ended_it(tmp_path):
    rec = SigMFRecorder(tmp_path / "tap_err", FS, F_C)
    with pytest.raises(RadioError, match="peer gone"):
        with RecordingTap(LoopbackRadio(FS, F_C), rec) as tap:
            tap.tx(_samples(20), 0)
            raise RadioError("peer gone")
    got = read_sigmf(tmp_path / "tap_err")
    assert len(got.samples) == 20 and got.annotations[-1].label == "aborted"
    assert "peer gone" in got.annotations[-1].comment


@pytest.mark.parametrize("stem", ["out/", "out/.sigmf-meta", "./", ".", "..", ""])
def test_a_stem_naming_a_directory_is_refused(tmp_path, stem, monkeypatch):
    # issue 10: `--out dir/` wrote dir/.sigmf-data and dir/.sigmf-meta.sigmf-meta
    monkeypatch.chdir(tmp_path)
    with pytest.raises(RadioError, match="names a directory"):
        write_sigmf(stem, _samples(4), FS, F_C, "x")
    with pytest.raises(RadioError, match="names a directory"):
        SigMFRecorder(stem, FS, F_C)
    assert list(tmp_path.rglob("*sigmf*")) == []


def test_stems_that_name_files_keep_working(tmp_path):
    (tmp_path / "out").mkdir()  # a directory beside the stem does not matter
    for stem in ("out", "out.sigmf-meta", "out/dl.v2", "out/dl.sigmf-data"):
        data, meta = sigmf_paths(tmp_path / stem)
        assert data.name.endswith(".sigmf-data") and meta.name.endswith(".sigmf-meta")
        assert not meta.name.endswith(".sigmf-meta.sigmf-meta")
    write_sigmf(tmp_path / "out", _samples(4), FS, F_C, "x")
    assert len(read_sigmf(tmp_path / "out.sigmf-meta").samples) == 4


# --- reading damaged recordings ------------------------------------------------------------------------------


@pytest.fixture()
def good(tmp_path) -> Path:
    write_sigmf(tmp_path / "good", _samples(256), FS, F_C, "good", annotations=[(3, 4, "mark", "")])
    return tmp_path / "good"


def _meta(stem: Path) -> dict:
    return json.loads(stem.with_suffix(".sigmf-meta").read_text())


def _write_meta(stem: Path, meta: dict) -> None:
    stem.with_suffix(".sigmf-meta").write_text(json.dumps(meta))


def test_reader_names_each_kind_of_damage(good):
    data = good.with_suffix(".sigmf-data")
    raw = data.read_bytes()
    meta = _meta(good)
    data.write_bytes(raw[:-5])
    with pytest.raises(RadioError, match=r"5 bytes|not a whole number of cf32_le samples"):
        read_sigmf(good)
    data.write_bytes(raw)
    for _case, match, edit in [
        ("bad datatype", r"datatype 'cu8' not supported", lambda m: m["global"].update({"core:datatype": "cu8"})),
        ("unknown datatype", r"not valid SigMF metadata|not supported",
         lambda m: m["global"].update({"core:datatype": "xyz"})),
        ("sample rate text", r"not valid SigMF metadata", lambda m: m["global"].update({"core:sample_rate": "x"})),
        ("no global", r"no 'global' object", lambda m: m.pop("global")),
        ("capture past the end", r"unusable metadata field", lambda m: m["captures"][0].update(
            {"core:sample_start": 10**6})),
        ("bad datetime", r"unusable metadata field|not valid SigMF",
         lambda m: m["captures"][0].update({"core:datetime": "yesterday"})),
    ]:
        m = json.loads(json.dumps(meta))
        edit(m)
        _write_meta(good, m)
        with pytest.raises(RadioError, match=match):
            read_sigmf(good)
    good.with_suffix(".sigmf-meta").write_text('{"global": {')
    with pytest.raises(RadioError, match="invalid JSON"):
        read_sigmf(good)
    good.with_suffix(".sigmf-meta").write_bytes(b"\xff\xfe\x00binary")
    with pytest.raises(RadioError, match="invalid JSON"):
        read_sigmf(good)
    _write_meta(good, meta)
    data.unlink()
    with pytest.raises(RadioError, match="data file .* is missing"):
        read_sigmf(good)


@pytest.mark.parametrize("cut", [1, 3, 5, 7, 9, 255 * 8 + 4])
def test_truncated_data_is_a_radio_error(good, cut):
    data = good.with_suffix(".sigmf-data")
    data.write_bytes(data.read_bytes()[:cut])
    with pytest.raises(RadioError, match="truncated"):
        read_sigmf(good)


def test_changed_data_of_whole_samples_fails_the_checksum(good):
    data = good.with_suffix(".sigmf-data")
    data.write_bytes(data.read_bytes()[:-8])
    with pytest.raises(RadioError, match="SHA-512 differs"):
        read_sigmf(good)


with tempfile.TemporaryDirectory() as _d:
    write_sigmf(Path(_d) / "base", _samples(64, 1), FS, F_C, "base", annotations=[(0, 8, "a", "b")])
    _BASE_META = (Path(_d) / "base.sigmf-meta").read_text()
    _BASE_DATA = (Path(_d) / "base.sigmf-data").read_bytes()


@st.composite
def damaged_recording(draw):
    """(meta text, data bytes): the base recording with its JSON text, its values or its bytes damaged."""
    meta_text, data = _BASE_META, _BASE_DATA
    kind = draw(st.sampled_from(("cut_meta", "json_value", "cut_data", "flip_data", "drop_key")))
    if kind == "cut_meta":
        meta_text = meta_text[: draw(st.integers(0, len(meta_text)))]
    elif kind == "json_value":
        m = json.loads(meta_text)
        where = draw(st.sampled_from(("global", "capture", "annotation")))
        target = m["global"] if where == "global" else (m["captures"] if where == "capture" else m["annotations"])[0]
        key = draw(st.sampled_from(sorted(target)))
        target[key] = draw(st.one_of(st.none(), st.booleans(), st.integers(-(2**40), 2**40), st.floats(),
                                     st.text(max_size=6), st.lists(st.integers(), max_size=2)))
        meta_text = json.dumps(m)
    elif kind == "drop_key":
        m = json.loads(meta_text)
        m["global"].pop(draw(st.sampled_from(sorted(m["global"]))))
        meta_text = json.dumps(m)
    elif kind == "cut_data":
        data = data[: draw(st.integers(0, len(data)))]
    else:
        i = draw(st.integers(0, len(data) - 1))
        data = data[:i] + bytes([data[i] ^ 0xFF]) + data[i + 1:]
    return meta_text, data


@settings(max_examples=150, deadline=None)
@given(damaged_recording())
def test_damaged_recordings_read_or_raise_radio_error(case):
    _check_damaged(*case)


@pytest.mark.slow
@settings(max_examples=3000, deadline=None, suppress_health_check=list(HealthCheck))
@given(damaged_recording())
def test_damaged_recordings_read_or_raise_radio_error_3k(case):
    _check_damaged(*case)


def _check_damaged(meta_text: str, data: bytes) -> None:
    with tempfile.TemporaryDirectory() as d:
        stem = Path(d) / "r"
        stem.with_suffix(".sigmf-meta").write_text(meta_text)
        stem.with_suffix(".sigmf-data").write_bytes(data)
        try:
            rec = read_sigmf(stem)
        except RadioError as exc:
            assert str(exc)
            return
        # what reads is consistent: whole samples, a positive rate, captures inside the data
        assert rec.samples.dtype == np.complex64
        assert rec.sample_rate_hz > 0 and np.isfinite(rec.sample_rate_hz)
        assert all(0 <= c[0] <= len(rec.samples) for c in rec.captures)
