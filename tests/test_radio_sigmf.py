"""SigMF: write / record -> play back identical samples and metadata; meta files validate."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pytest
import sigmf.validate

from gateway.config import config_from_dict
from radio_drivers import (
    Annotation,
    EndOfStream,
    SigMFPlayback,
    SigMFRecorder,
    open_radio,
    read_sigmf,
    write_sigmf,
)

pytestmark = pytest.mark.timeout(60)
UTC = dt.timezone.utc


def _validate(meta_path):
    sigmf.validate.validate(json.loads(meta_path.read_text()))  # raises on a schema violation


def test_write_then_read_identical(tmp_path):
    rng = np.random.default_rng(3)
    x = rng.standard_normal(2 * 5000, dtype=np.float32).view(np.complex64)
    when = dt.datetime(2026, 11, 23, 12, 0, 1, 250000, tzinfo=UTC)
    notes = [Annotation(100, 200, "aos", "satellite rises"), (4000, None, "los", "")]
    data, meta = write_sigmf(tmp_path / "pass", x, 7.68e6, 770e6, "a pass", when, notes, hw="B210 + LNA")
    _validate(meta)
    m = json.loads(meta.read_text())
    assert m["global"]["core:datatype"] == "cf32_le" and m["global"]["core:sample_rate"] == 7.68e6
    assert m["captures"][0]["core:datetime"] == "2026-11-23T12:00:01.250000Z"
    assert data.stat().st_size == 8 * 5000
    rec = read_sigmf(tmp_path / "pass")
    assert np.array_equal(rec.samples.view(np.uint64), x.view(np.uint64))
    assert (rec.sample_rate_hz, rec.center_frequency_hz, rec.datetime_utc) == (7.68e6, 770e6, when)
    assert (rec.description, rec.hw) == ("a pass", "B210 + LNA")
    assert rec.annotations == (
        Annotation(100, 200, "aos", "satellite rises"),
        Annotation(4000, None, "los", ""),
    )


def test_recorder_then_playback_identical_with_segments(tmp_path):
    fs = 1.92e6
    epoch = dt.datetime(2026, 1, 1, tzinfo=UTC)
    rng = np.random.default_rng(4)
    x = rng.standard_normal(2 * 4000, dtype=np.float32).view(np.complex64)
    rec = SigMFRecorder(tmp_path / "rec", fs, 770e6, description="stream", hw="zmq", epoch_utc=epoch)
    rec.tx(x[:1000], timestamp=0)
    rec.tx(x[1000:2000])  # contiguous
    rec.annotate("handover", comment="beam switch")
    rec.tx(x[2000:], timestamp=19200)  # 10 ms later: a new capture segment
    rec.close()
    _validate(rec.meta_path)
    play = SigMFPlayback(tmp_path / "rec")
    assert play.sample_rate_hz == fs and play.center_frequency_hz == 770e6
    blocks = []
    with pytest.raises(EndOfStream):
        while True:
            blocks.append(play.rx(1500))
    assert [(b.timestamp, len(b.samples)) for b in blocks] == [
        (0, 1500),
        (1500, 500),
        (19200, 1500),
        (20700, 500),
    ]
    assert np.array_equal(np.concatenate([b.samples for b in blocks]), x)
    r = play.recording
    assert [c[:2] for c in r.captures] == [(0, 0), (2000, 19200)]
    assert r.captures[1][3] == epoch + dt.timedelta(milliseconds=10)  # datetime of the segment's first sample
    assert r.annotations == (Annotation(2000, None, "handover", "beam switch"),)


def test_open_radio_records_the_tx_stream(tmp_path):
    cfg = config_from_dict(
        {"radio": {"driver": "loopback", "record": {"enabled": True, "description": "bench", "hw": "none"}}}
    )
    radio = open_radio(
        cfg.radio, sample_rate_hz=1.92e6, center_frequency_hz=770e6, record_stem=tmp_path / "r"
    )
    x = np.arange(100, dtype=np.float32).astype(np.complex64)
    radio.tx(x)
    assert np.array_equal(radio.rx(100).samples, x)
    radio.close()
    rec = read_sigmf(tmp_path / "r")
    assert np.array_equal(rec.samples, x) and rec.description == "bench"


def test_playback_rate_mismatch_is_a_clear_error(tmp_path):
    write_sigmf(tmp_path / "a", np.zeros(10, np.complex64), 1.92e6, 770e6, "x")
    with pytest.raises(Exception, match="recorded at 1.92 Msps"):
        SigMFPlayback(tmp_path / "a", sample_rate_hz=7.68e6)
