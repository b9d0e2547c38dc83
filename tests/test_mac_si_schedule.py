"""SIB1 / SI-message occasions and redundancy versions (TS 36.331 5.2.1.2, 5.2.3; TS 36.321 5.3.1)."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest

from gateway.config import config_from_dict
from mac.si_schedule import (
    SiSchedule,
    bcch_rv,
    si_occasion,
    si_schedule,
    si_schedule_from_sib1,
    si_window_start,
    sib1_occasion,
)
from mac.sib import decode_bcch_dl_sch, encode_sib1, sib1_info


def _rv_formula(k: int) -> int:
    return math.ceil(Fraction(3, 2) * k) % 4  # TS 36.321 5.3.1, exact rational ceiling


def test_bcch_rv_sequence():
    assert [bcch_rv(k) for k in range(4)] == [0, 2, 3, 1]
    assert all(bcch_rv(k) == _rv_formula(k) for k in range(4))


@pytest.mark.parametrize("first_sfn", [0, 100, 1020])  # 1020: wraps through SFN 1023 -> 0
def test_sib1_occasions_over_8_frames(first_sfn):
    seen = []
    for j in range(8):
        sfn = (first_sfn + j) % 1024
        for subframe in range(10):
            rv = sib1_occasion(sfn, subframe)
            if rv is not None:
                seen.append((sfn, subframe, rv))
    # every even frame, subframe 5, k = (SFN/2) mod 4
    frames = [(first_sfn + j) % 1024 for j in range(8)]
    expect = [(s, 5, _rv_formula((s // 2) % 4)) for s in frames if s % 2 == 0]
    assert seen == expect
    assert len(seen) == 4
    assert sorted(rv for _, _, rv in seen) == [0, 1, 2, 3]  # 80 ms = all four RVs once


def test_sib1_frame_0_and_6():
    assert sib1_occasion(0, 5) == 0
    assert sib1_occasion(6, 5) == 1  # k = 3: ceil(4.5) mod 4 = 1
    assert sib1_occasion(1, 5) is None
    assert sib1_occasion(0, 0) is None
    with pytest.raises(ValueError, match="subframe=10"):
        sib1_occasion(0, 10)


def test_si_window_start_examples():
    # w = 15, three SI messages: x = 0, 15, 30 -> (SFN mod T, subframe) = (0, 0), (1, 5), (3, 0)
    sched = SiSchedule(15, (8, 16, 32))
    assert [si_window_start(n, sched) for n in (1, 2, 3)] == [(0, 0), (1, 5), (3, 0)]
    # w = 40: the second window starts 40 subframes in: frame 4, subframe 0
    assert si_window_start(2, SiSchedule(40, (8, 8))) == (4, 0)


def test_si_occasions_receiver_view():
    sched = SiSchedule(15, (8, 16, 32))  # transmissions=None: any free subframe of a window
    # SI 1: frames with SFN mod 8 = 0, subframes 0..14; frame 0 is even, so its subframe 5 is SIB1's
    assert si_occasion(8, 0, sched) == (0, 0)
    assert si_occasion(8, 4, sched) == (0, bcch_rv(0))  # i = 4 -> k = 0
    assert si_occasion(8, 5, sched) is None  # SIB1
    assert si_occasion(9, 4, sched) == (0, bcch_rv(14 % 4))  # i = 14, last of the window
    # SI 2: T = 16, window from (SFN mod 16 = 1, subframe 5); frame 17 is odd, so subframe 5 is free
    assert si_occasion(17, 5, sched) == (1, 0)
    assert si_occasion(18, 5, sched) is None  # i = 10, but SIB1's subframe
    assert si_occasion(18, 6, sched) == (1, bcch_rv(11 % 4))
    assert si_occasion(18, 9, sched) == (1, bcch_rv(14 % 4))
    assert si_occasion(19, 0, sched) is None  # past the window
    # SI 3: T = 32, frame SFN mod 32 = 3, subframes 0..9 then frame 4 subframes 0..4
    assert si_occasion(35, 0, sched) == (2, 0)
    assert si_occasion(36, 4, sched) == (2, bcch_rv(14 % 4))
    assert si_occasion(3, 0, sched) == (2, 0)
    assert si_occasion(4, 5, sched) is None


def test_si_transmissions_skip_sib1_subframe():
    # w = 10 in an even frame, 6 transmissions: subframes 0 1 2 3 4 (5 is SIB1's) 6
    sched = SiSchedule(10, (8,), transmissions=6)
    got = {sf: si_occasion(16, sf, sched) for sf in range(10)}
    expect = {sf: (0, _rv_formula(sf % 4)) for sf in (0, 1, 2, 3, 4, 6)}
    expect.update({5: None, 7: None, 8: None, 9: None})
    assert got == expect
    assert all(si_occasion(17, sf, sched) is None for sf in range(10))  # not in the window


def test_schedule_from_config_and_from_sib1_agree():
    cfg = config_from_dict(
        {"system_info": {"si_periodicity_rf": 32, "si_window_ms": 5, "si_transmissions": 2}}
    )
    enb = si_schedule(cfg.system_info)
    ue = si_schedule_from_sib1(sib1_info(decode_bcch_dl_sch(encode_sib1(cfg.cell, cfg.system_info))))
    assert (enb.window_ms, enb.periodicities_rf) == (ue.window_ms, ue.periodicities_rf) == (5, (32,))
    sent = [(sfn, sf) for sfn in range(64) for sf in range(10) if si_occasion(sfn, sf, enb)]
    assert sent == [(0, 0), (0, 1), (32, 0), (32, 1)]
    # everything the eNodeB sends lies where the handset looks, with the same RV
    assert all(si_occasion(sfn, sf, ue) == si_occasion(sfn, sf, enb) for sfn, sf in sent)


def test_windows_that_do_not_fit_are_refused():
    SiSchedule(40, (8, 8))  # x = 40, 40 + 40 = 80 ms = the period: fits
    with pytest.raises(ValueError, match=r"SI message 3: its window \[80, 120\) ms does not fit"):
        SiSchedule(40, (8, 8, 8))
    with pytest.raises(ValueError, match="SI window 3 ms"):
        SiSchedule(3, (8,))
