"""HARQ policies over the satellite round trip (mac/harq.py), simulated with a seeded RNG at the default pass's
2D and BLER 0.1, against the predicted fractions of mac/ra_feasibility.harq_fractions (DL stop-and-wait 0.288,
UL 0.225, keep sending 0.900) within statistical tolerance."""

import math

import pytest

from mac.harq import simulate_harq
from mac.ra_feasibility import harq_fractions

RTT_2D = 16.778e-3  # default pass: 2 x D, D = 8.389 ms
BLER = 0.1
N_SF = 40_000


@pytest.fixture(scope="module")
def predicted():
    return harq_fractions(RTT_2D, BLER)


@pytest.mark.parametrize("direction, policy, attr, residual_attr", [
    ("dl", "stop_and_wait", "dl_stop_and_wait", "residual_stop_and_wait"),
    ("dl", "keep_sending", "dl_keep_sending", "residual_dl_keep_sending"),
    ("ul", "stop_and_wait", "ul_stop_and_wait", "residual_stop_and_wait"),
    ("ul", "keep_sending", "ul_keep_sending", "residual_ul_keep_sending"),
])
def test_measured_throughput_and_loss_match_the_prediction(predicted, direction, policy, attr, residual_attr):
    r = simulate_harq(direction, policy, RTT_2D, BLER, N_SF, seed=11)
    want = getattr(predicted, attr)
    # delivered TBs are Bernoulli(1 - BLER) over the used subframes: 4 sigma
    sigma = math.sqrt(r.used_fraction * BLER * (1 - BLER) / N_SF)
    assert abs(r.throughput_fraction - want) <= 4 * sigma + 1e-12, (r, want)
    want_loss = getattr(predicted, residual_attr)
    n_finished = r.n_delivered + r.n_lost
    loss_sigma = math.sqrt(want_loss * (1 - want_loss) / n_finished)
    assert abs(r.residual_loss - want_loss) <= 4 * loss_sigma + 2 / n_finished, (r, want_loss)


def test_used_fractions_and_delays_follow_the_harq_rtt(predicted):
    """Stop-and-wait uses 8 / RTT of the subframes (RTT 25 DL, 32 UL); a retransmission costs one RTT."""
    dl = simulate_harq("dl", "stop_and_wait", RTT_2D, BLER, N_SF, seed=2)
    ul = simulate_harq("ul", "stop_and_wait", RTT_2D, BLER, N_SF, seed=2)
    assert predicted.dl_harq_rtt_sf == 25 and predicted.ul_harq_rtt_sf == 32
    assert dl.used_fraction == pytest.approx(8 / 25, abs=1e-3) and ul.used_fraction == pytest.approx(8 / 32, abs=1e-3)
    # E[delay] = RTT x E[retransmissions before success] ~ RTT x BLER / (1 - BLER)
    assert dl.mean_delay_sf == pytest.approx(25 * BLER / (1 - BLER), rel=0.15)
    assert ul.mean_delay_sf == pytest.approx(32 * BLER / (1 - BLER), rel=0.15)
    keep = simulate_harq("dl", "keep_sending", RTT_2D, BLER, N_SF, seed=2)
    assert keep.used_fraction == 1.0 and keep.mean_delay_sf == pytest.approx(25 * BLER / (1 - BLER), rel=0.15)


def test_error_free_and_terrestrial_limits():
    """No errors: stop-and-wait is exactly 8 / (8 + k) (DL) and 8 / 32 (UL); with no round trip it is 1."""
    dl = simulate_harq("dl", "stop_and_wait", RTT_2D, 0.0, 10_000)
    ul = simulate_harq("ul", "stop_and_wait", RTT_2D, 0.0, 10_000)
    assert dl.throughput_fraction == pytest.approx(8 / 25, abs=1e-3)  # up to one round of 8 at the end
    assert ul.throughput_fraction == pytest.approx(0.25, abs=1e-3)
    assert simulate_harq("dl", "stop_and_wait", 0.0, 0.0, 10_000).throughput_fraction == 1.0
    assert simulate_harq("dl", "keep_sending", RTT_2D, 0.0, 10_000).throughput_fraction == 1.0


def test_reproducible_and_checked():
    a = simulate_harq("dl", "keep_sending", RTT_2D, BLER, 5000, seed=4)
    assert a == simulate_harq("dl", "keep_sending", RTT_2D, BLER, 5000, seed=4)
    with pytest.raises(ValueError, match="policy"):
        simulate_harq("dl", "greedy", RTT_2D, BLER, 10)
    with pytest.raises(ValueError, match="direction"):
        simulate_harq("sl", "keep_sending", RTT_2D, BLER, 10)
    with pytest.raises(ValueError, match="BLER"):
        simulate_harq("ul", "keep_sending", RTT_2D, 1.0, 10)
