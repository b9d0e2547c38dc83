"""Random access over the satellite round trip: the Rel-8 handset (mac/ue_ra.py) against the gateway's
speculative and causal strategies (mac/enb_ra.py), joined by mac/ra_loop.py (no PHY).

Round trips from the default pass (hw_configs/loopback.yaml): 2D = 2 x the target delay (the compensated
timeline), and the raw two-hop round trip at the highest and the lowest elevation (a gateway without delay
pre-compensation). The handset's windows and timers are the spec's (TS 36.321 5.1).
"""

import math
import random

import pytest
from scripted_rng import ScriptedRandom

from gateway.config import load_config
from gateway.prediction import PassPrediction
from mac.enb_ra import GatewayRandomAccess, SpeculativeRaConfig, speculative_ul_cost
from mac.pdu import LCID_CONTENTION_RESOLUTION, LCID_TIMING_ADVANCE, parse_dl_sch_pdu, parse_rar
from mac.ra_feasibility import causal_rar_fits
from mac.ra_loop import RaHandset, gateway_late_subframes, run_random_access
from mac.ue_ra import DlMessage, PreambleTx, RachConfig, UeRandomAccess, prach_occasions

SDU_A = bytes.fromhex("4d2a6b3c1e06")  # 48-bit RRCConnectionRequest-sized CCCH SDUs
SDU_B = bytes.fromhex("52f00d1e2a46")


@pytest.fixture(scope="module")
def round_trips():
    """{'2d': 2D, 'raw_max_el': raw RTT at the highest elevation, 'raw_min_el': at AOS} of the default pass."""
    pred = PassPrediction.from_config(load_config("hw_configs/loopback.yaml"))
    p = pred.select_pass()
    out = {"2d": 2 * pred.target_delay_s(p, 1.92e6)}
    for name, t in (("raw_max_el", p.max_time_s), ("raw_min_el", p.aos_s + 0.5)):
        dl = pred.dl(t)
        out[name] = float((dl.delay_s + pred.ul(t + dl.delay_s).delay_s)[0])
    return out


def _run(rtt_s, mode, handsets, n=600, **kw):
    enb = GatewayRandomAccess(SpeculativeRaConfig(mode=mode), late_sf=gateway_late_subframes(rtt_s))
    run_random_access(handsets, enb, 0, n, **kw)
    return enb


def test_rel8_handset_alone_windows_ramping_and_giving_up():
    """Nobody answers: a preamble on each allowed occasion after its window closes, +6 dB each, then a
    Random Access problem after preambleTransMax (TS 36.321 5.1.3, 5.1.4)."""
    ue = UeRandomAccess(RachConfig(preamble_trans_max=5), SDU_A, random.Random(3))
    txs = []
    for k in range(200):
        ue.downlink(k, [])
        txs += ue.uplink(k)
    assert ue.state == "failed" and ue.events("random_access_problem") == [(94, {})]
    assert [t.subframe for t in txs] == [1, 21, 41, 61, 81]  # PRACH config 3: subframe 1 of every frame
    assert [t.target_power_dbm for t in txs] == [-104, -98, -92, -86, -80]
    assert all(isinstance(t, PreambleTx) and t.ra_rnti == 2 and 0 <= t.preamble_index < 4 for t in txs)
    # window of the preamble in 1: subframes 4 .. 13; declared failed in 14; next occasion 21
    assert ue.events("no_rar_in_window")[0][0] == 14
    assert prach_occasions(3, 0, 30) == [1, 11, 21]


def test_rar_outside_window_or_for_another_preamble_is_ignored():
    ue = UeRandomAccess(RachConfig(), SDU_A, ScriptedRandom(0, [2, 2]))
    enb = GatewayRandomAccess(SpeculativeRaConfig(mode="causal"), late_sf=1)
    ue.uplink(1)  # preamble 2 in subframe 1, window 4..13
    enb._rar(14, 1, [2], {})  # a RAR for it, one subframe too late
    enb._rar(13, 1, [1], {})  # in the window, but for preamble 1
    ue.downlink(13, enb.downlink(13))
    assert ue.state == "rar_window"
    ue.downlink(14, enb.downlink(14))
    assert ue.state == "resource_selection" and ue.events("rar") == []


@pytest.mark.parametrize("where", ["2d", "raw_max_el", "raw_min_el"])
def test_speculative_succeeds_everywhere_causal_only_where_the_window_allows(round_trips, where):
    rtt = round_trips[where]
    late = gateway_late_subframes(rtt)
    for mode in ("speculative", "causal"):
        ue = UeRandomAccess(RachConfig(), SDU_A, random.Random(7))
        enb = _run(rtt, mode, [RaHandset(ue, ta_needed_s=52e-6)])
        expect_ok = mode == "speculative" or bool(causal_rar_fits(rtt, 10, 2e-3))
        assert (ue.state == "done") == expect_ok, (where, mode, rtt)
        if not expect_ok:
            # a Rel-8 phone: every window closes empty, it retries preambleTransMax times, then gives up
            assert ue.state == "failed" and len(ue.events("preamble")) == 10
            assert len(ue.events("no_rar_in_window")) == 10
            # the gateway did answer each preamble, late_sf after it: past the window's last subframe p + 12
            rars = [(k, info["occasion"]) for k, what, info in enb.log if what == "rar"]
            assert rars and all(k - p == late > 12 for k, p in rars)
            continue
        (p, pre), = ue.events("preamble")
        (k_rar, rar), = ue.events("rar")
        (k_msg3, _), = ue.events("msg3")
        (k_msg4, done), = ue.events("contention_resolved")
        # the timeline in the handset's subframe numbers (DESIGN.md 3; docs/random_access.md)
        assert k_rar == (p + 3 if mode == "speculative" else p + late)
        assert k_msg3 == k_rar + 6  # TS 36.213 6.1.1
        assert k_msg4 == k_msg3 + late  # Msg4 as soon as the gateway has heard Msg3
        assert k_msg4 - k_msg3 < 64  # inside mac-ContentionResolutionTimer
        assert done["c_rnti"] == rar["tc_rnti"]


def test_two_handsets_same_preamble_same_occasion(round_trips):
    """Both get the same speculative RAR and send Msg3 on one grant; the stronger is decoded (capture), Msg4
    carries its identity: exactly one resolves, the other loses, backs off (BI 20 ms) and gets in later."""
    a = UeRandomAccess(RachConfig(), SDU_A, ScriptedRandom(1, [3]), name="a")
    b = UeRandomAccess(RachConfig(), SDU_B, ScriptedRandom(2, [3]), name="b")
    enb = _run(round_trips["2d"], "speculative", [RaHandset(a, 52e-6, rx_power_db=6.0), RaHandset(b, 140e-6)])
    (pa, _), = a.events("preamble")
    pb = [k for k, _ in b.events("preamble")]
    assert pb[0] == pa  # the same occasion, the same preamble 3
    assert a.events("preamble")[0][1]["preamble"] == b.events("preamble")[0][1]["preamble"] == 3
    assert a.state == "done" and a.events("contention_lost") == []
    (k_lost, _), = b.events("contention_lost")
    assert k_lost == a.events("contention_resolved")[0][0]  # b read a's Msg4 on the shared TC-RNTI
    (_, backoff), = b.events("backoff")
    assert 0 <= backoff["backoff_sf"] <= 20
    assert b.state == "done" and len(pb) == 2 and pb[1] >= k_lost + backoff["backoff_sf"]
    assert a.c_rnti != b.c_rnti and set(enb.connected) == {a.c_rnti, b.c_rnti}
    assert enb.connected[a.c_rnti] == SDU_A and enb.connected[b.c_rnti] == SDU_B


def test_msg3_lost_then_adaptive_retransmission(round_trips):
    """The gateway ACKs on PHICH without knowing; when the Msg3 CRC fails 2D later, a DCI 0 with NDI not
    toggled brings a retransmission in k + 4, which restarts the contention resolution timer."""
    ue = UeRandomAccess(RachConfig(), SDU_A, random.Random(5))
    first = []
    _run(round_trips["2d"], "speculative", [RaHandset(ue, 52e-6)],
         pusch_lost=lambda tx: not first and not first.append(tx))
    msg3 = ue.events("msg3")
    assert [m["harq_tx"] for _, m in msg3] == [1, 2]
    (k_grant, g), = ue.events("msg3_retransmission_grant")
    late = gateway_late_subframes(round_trips["2d"])
    assert k_grant == msg3[0][0] + late and msg3[1][0] == k_grant + 4
    assert ue.state == "done" and ue.events("contention_resolved")[0][0] == msg3[1][0] + late


def test_pdus_on_the_air_are_standard(round_trips):
    """What the gateway sends parses as TS 36.321 RAR and DL-SCH PDUs: a BI and one MAC RAR per configured
    preamble with disjoint Msg3 PRBs; Msg4 with the 48-bit identity and a TA command toward the measured TA."""
    ue = UeRandomAccess(RachConfig(), SDU_A, random.Random(7))
    enb = GatewayRandomAccess(SpeculativeRaConfig(), late_sf=gateway_late_subframes(round_trips["2d"]))
    sent = {}
    orig = enb.downlink

    def spy(k):
        out = orig(k)
        sent[k] = out
        return out

    enb.downlink = spy
    run_random_access([RaHandset(ue, ta_needed_s=10e-6)], enb, 0, 100)
    rar = parse_rar(next(m.pdu for m in sent[4] if m.rnti == 2))
    assert rar.backoff_indicator == 2 and [r.rapid for r in rar.rars] == [0, 1, 2, 3]
    assert len({r.tc_rnti for r in rar.rars}) == 4 and len({r.ul_grant.rb_assignment for r in rar.rars}) == 4
    k4 = ue.events("contention_resolved")[0][0]
    msg4 = parse_dl_sch_pdu(next(m.pdu for m in sent[k4] if m.rnti == ue.c_rnti))
    assert msg4[0].lcid == LCID_CONTENTION_RESOLUTION and msg4[0].payload == SDU_A
    assert msg4[1].lcid == LCID_TIMING_ADVANCE and msg4[1].payload[0] == 31 + round(10e-6 * 30.72e6 / 16)
    assert ue.n_ta_s == pytest.approx(19 * 16 / 30.72e6)


def test_speculative_ul_cost_and_config_checks():
    # 4 grants x 2 PRBs per occasion, one occasion per 10 ms, 25 PRBs: 8 / 250 of the UL PRB-subframes
    assert speculative_ul_cost(SpeculativeRaConfig()) == pytest.approx(0.032)
    assert speculative_ul_cost(SpeculativeRaConfig(preambles=tuple(range(8)), n_rb_ul=50)) == pytest.approx(0.032)
    with pytest.raises(ValueError, match="need 34 PRBs"):
        SpeculativeRaConfig(preambles=tuple(range(16)))
    with pytest.raises(ValueError, match="sf8"):
        RachConfig(mac_contention_resolution_timer_sf=70)
    with pytest.raises(ValueError, match="48 bits"):
        UeRandomAccess(RachConfig(), b"\x01\x02")
    assert math.isclose(gateway_late_subframes(16.778e-3), 20) and gateway_late_subframes(6.92e-3) == 10
    assert DlMessage(1).kind == "dl_sch"


def test_collision_without_capture_times_out_then_both_get_in(round_trips):
    """Equal power: no Msg3 decodes; the gateway (it heard the preamble) asks for maxHARQ-Msg3Tx - 1 adaptive
    retransmissions, each restarting the timer; after the last one both timers expire (64 subframes), both back
    off and both get in with new TC-RNTIs."""
    a = UeRandomAccess(RachConfig(), SDU_A, ScriptedRandom(1, [3]), name="a")
    b = UeRandomAccess(RachConfig(), SDU_B, ScriptedRandom(2, [3]), name="b")
    enb = _run(round_trips["2d"], "speculative", [RaHandset(a, 52e-6), RaHandset(b, 140e-6)])
    for ue in (a, b):
        msg3 = ue.events("msg3")
        assert [m["harq_tx"] for _, m in msg3[:4]] == [1, 2, 3, 4]
        (k_exp, _), = ue.events("contention_resolution_timer_expired")
        assert k_exp == msg3[3][0] + 64
        assert ue.state == "done" and ue.c_rnti != msg3[0][1]["tc_rnti"]
    assert [w for _, w, _ in enb.log if w == "msg3_lost"] == ["msg3_lost"]
    assert a.c_rnti != b.c_rnti
