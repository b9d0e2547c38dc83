"""Random access at the PHY over the loopback world (gateway/ra_world.py, issue 15): PRACH -> speculative RAR on
PDSCH -> Msg3 on PUSCH -> Msg4, through the relay both ways with pre- and post-compensation, at the highest
and the lowest elevation of the default pass, for a beam-centre and a beam-edge handset."""

import pytest

from gateway.config import load_config
from gateway.prediction import PassPrediction
from gateway.ra_world import run_ra_world
from mac.rrc import parse_rrc_connection_setup
from phy.enb.prach_rx import LAG_S

CFG = load_config("hw_configs/loopback.yaml")


@pytest.fixture(scope="module", params=["highest", "lowest"])
def world(request):
    p = PassPrediction.from_config(CFG).select_pass()
    t = p.max_time_s if request.param == "highest" else p.aos_s + 1.0  # the pass starts at its lowest, 20 deg
    return request.param, run_ra_world(CFG, t)


def test_elevations_are_the_pass_extremes(world):
    which, res = world
    if which == "highest":
        assert res.elevation_deg > 69.0
    else:
        assert res.elevation_deg < 21.0


def test_centre_and_edge_complete_random_access(world):
    """Both handsets: preamble -> RAR in the window's first subframe -> Msg3 six subframes later (decoded at
    the first transmission) -> Msg4 with their own contention resolution identity, 2D + processing later."""
    _, res = world
    assert set(res.handsets) == {"centre", "edge"}
    for h in res.handsets.values():
        assert h.state == "done", (h.name, h.log)
        events = [what for _, what, _ in h.log]
        assert events == ["preamble", "rar", "msg3", "contention_resolved"], events
        assert h.rar_subframe == h.preamble_subframe + 3
        assert h.msg3_subframe == h.rar_subframe + 6
        assert h.msg3_crc_ok == [True]
        assert h.done_subframe == h.msg3_subframe + 20  # gateway_late_subframes(2D) = 20
        assert parse_rrc_connection_setup(h.ccch_dl).srb_ids == (1,)
    assert res.handsets["centre"].preamble_index != res.handsets["edge"].preamble_index


def test_prach_timing_matches_the_geometry(world):
    """The gateway's measured preamble delay is the TA the geometry predicts for that handset (gateway
    prediction, UL reference = earliest arrival over the beam) plus the handset's own DL timing error, within
    the detector's resolution; the handsets' DL timing (cell search) is within 0.1 us of the truth."""
    _, res = world
    for h in res.handsets.values():
        assert abs(h.dl_timing_error_s) < 0.1e-6
        assert abs(h.prach_delay_s - (h.predicted_ta_s + h.dl_timing_error_s)) < 0.05e-6, h.name
        assert abs(h.prach_delay_s - h.predicted_ta_s) < 0.15e-6
        assert 0.0 <= h.predicted_ta_s < 667e-6
    # the delay the Msg3 arrived with agrees with the preamble's (PUSCH receiver's residual timing)
    for h in res.handsets.values():
        assert abs(h.msg3_timing_s) < 1.0e-6, h.name


def test_edge_doppler_image_resolved_at_the_highest_elevation(world):
    """At the highest elevation the beam-edge handset's UL arrives ~1.2 kHz off (its DL residual Doppler,
    doubled by an LO locked to the DL): about one PRACH subcarrier, which moves its Zadoff-Chu peak by d_u
    lags. The gateway's Msg3 candidates resolve it; the low-elevation case has no image."""
    which, res = world
    edge = res.handsets["edge"]
    if which == "highest":
        assert abs(edge.msg3_cfo_hz) > 800.0
        assert abs(edge.prach_delay_raw_s - edge.prach_delay_s) > 50 * LAG_S
    else:
        assert abs(edge.prach_delay_raw_s - edge.prach_delay_s) < 0.1e-6


def test_rar_carrying_the_beam_centres_ta_at_the_lowest_elevation():
    """The speculative RAR may carry the beam centre's predicted TA instead of 0 (its Msg3 then goes out
    advanced, a fractional advance on the handset's sample grid): the gateway still finds each Msg3 where its
    preamble put it, and after Msg4's TA command the centre handset's N_TA is its geometric TA within one
    16 T_s step; the edge handset is 16.7 us (one command's limit) closer to its own."""
    p = PassPrediction.from_config(CFG).select_pass()
    res = run_ra_world(CFG, p.aos_s + 1.0, rar_ta_s="centre")
    step = 16 / 30.72e6
    for h in res.handsets.values():
        assert h.state == "done" and h.msg3_crc_ok == [True], (h.name, h.log)
        assert abs(h.msg3_timing_s) < 1e-6
    centre, edge = res.handsets["centre"], res.handsets["edge"]
    assert abs(centre.n_ta_s - centre.predicted_ta_s) <= step
    assert edge.n_ta_s == pytest.approx(-res.e_min_s + 32 * step, abs=step)


def test_two_handsets_on_one_preamble_at_the_phy():
    """Seeds 1 and 2 make both handsets pick preamble 0 on the same occasion at the highest elevation: both
    get the same RAR and send Msg3 on the same grant. The gateway decodes the stronger (beam centre, ~6 dB
    after the collision) and Msg4 carries its identity; the edge handset sees a foreign identity on the shared
    TC-RNTI, backs off, retries on the next occasion with preamble 2 and gets in. Its preamble 2, ~1.2 kHz
    off, peaks d_u lags early and wraps into preamble 3's zone: the gateway finds its Msg3 at that image's
    candidate, drops the ghost preamble 3 (no retransmission grant wasted) and measures the TA right."""
    p = PassPrediction.from_config(CFG).select_pass()
    res = run_ra_world(CFG, p.max_time_s, seeds={"centre": 1, "edge": 2}, n_subframes=120)
    centre, edge = res.handsets["centre"], res.handsets["edge"]
    assert [w for _, w, _ in centre.log] == ["preamble", "rar", "msg3", "contention_resolved"]
    assert [w for _, w, _ in edge.log] == ["preamble", "rar", "msg3", "contention_lost", "backoff", "preamble", "rar",
                                           "msg3", "contention_resolved"]
    assert edge.log[0][2]["preamble"] == centre.log[0][2]["preamble"] == 0
    kinds = [w for _, w, _ in res.gateway_log if w not in ("rar", "msg3_lost")]
    assert kinds == ["msg4", "msg4"]
    assert edge.preamble_index == 2 and edge.prach_delay_raw_s is None  # its own zone held nothing
    assert abs(edge.prach_delay_s - (edge.predicted_ta_s + edge.dl_timing_error_s)) < 0.1e-6



@pytest.fixture(scope="module", params=["highest", "lowest"])
def connected(request):
    p = PassPrediction.from_config(CFG).select_pass()
    t = p.max_time_s if request.param == "highest" else p.aos_s + 1.0
    return request.param, run_ra_world(CFG, t, connect=True, n_subframes=160)


def test_centre_and_edge_reach_rrc_connected_at_the_phy(connected):
    """mac/connection.py on both ends over real signals: after Msg4 the gateway grants 4 PUSCHs (DCI 0, C-RNTI)
    from Msg4 + 11, the handset answers RRCConnectionSetupComplete on SRB1 in the first of them, the gateway
    decodes it 2D later (gateway_late_subframes = 20) with the handset's NAS PDU and answers the RLC poll with a
    STATUS PDU (with a TA command) on PDSCH; the handset then has every SRB1 PDU acknowledged: connected."""
    _, res = connected
    for h in res.handsets.values():
        assert h.state == "connected", (h.name, h.log)
        assert [w for _, w, _ in h.log] == ["preamble", "rar", "msg3", "contention_resolved"]
        assert h.setup_complete_sent_subframe == h.msg4_subframe + 15  # TS 36.331 11.2 procedure delay
        assert h.setup_complete_heard_subframe == h.setup_complete_sent_subframe + 20
        assert h.nas_pdu_heard == bytes.fromhex("0741720bf600f1100001020304050607")
        assert h.connected_subframe == h.setup_complete_heard_subframe  # its DL k is the gateway's DL k
        assert h.pusch_subframes == [h.setup_complete_sent_subframe + i for i in range(4)]
        assert [ok for _, ok in h.pusch_crc_ok] == [True] * 4
        assert len(h.ta_commands) == 1 and h.ta_commands[0][0] == h.setup_complete_heard_subframe


def test_phich_ack_on_the_air_for_every_pusch(connected):
    """The gateway sends HI = ACK in n + 4 for every PUSCH it listens on, before hearing it (2D later); each
    handset reads an ACK for its Msg3 and for each connected-mode PUSCH, with a clear margin."""
    _, res = connected
    for h in res.handsets.values():
        expected = [h.msg3_subframe + 4] + [k + 4 for k in h.pusch_subframes]
        assert [k for k, _, _ in h.phich] == expected, h.name
        assert all(hi == 1 and llr < -200.0 for _, hi, llr in h.phich), h.phich


def test_connected_pusch_timing_is_the_ta_still_missing(connected):
    """The RAR carried TA 0 and Msg4's command adds at most 32 steps (16.7 us), so the first PUSCHs arrive late
    by the rest of the TA each handset needs: the gateway, which knows what it told each handset, finds them
    there and measures it (a delay applied is the delay measured)."""
    _, res = connected
    step = 16 / 30.72e6
    for h in res.handsets.values():
        missing = h.prach_delay_s - 32 * step
        for _, error_s in h.ul_timing_errors_s:
            assert abs(error_s - missing) < 0.5e-6, (h.name, error_s, missing)


def test_ta_loop_converges_at_the_phy():
    """Tracking grants every 5 subframes after connection: the beam-edge handset (RAR TA = the beam centre's,
    52 us; it needs 18 us) gets Msg4's -16.1 us, then commands 6 + 2D subframes apart, until its PUSCH arrives
    within half a TA step (0.26 us) plus the measurement's spread; its N_TA ends within a step of the geometry."""
    p = PassPrediction.from_config(CFG).select_pass()
    res = run_ra_world(CFG, p.max_time_s, connect=True, rar_ta_s="centre", tracking_grant_period_sf=5,
                       after_connected_sf=90, n_subframes=260)
    step = 16 / 30.72e6
    edge, centre = res.handsets["edge"], res.handsets["centre"]
    assert edge.state == centre.state == "connected"
    assert edge.ul_timing_errors_s[0][1] < -18e-6  # 52 - 16.1 us told, 18.2 us needed
    assert [t for _, t in edge.ta_commands][:2] == [0, 26]  # -31 steps, then -5
    late = [e for k, e in edge.ul_timing_errors_s if k > edge.ta_commands[1][0] + 6]
    assert len(late) >= 8 and max(abs(e) for e in late) < 0.7e-6
    assert abs(edge.n_ta_s - edge.predicted_ta_s) < step
    assert abs(centre.n_ta_s - centre.predicted_ta_s) < step and all(
        abs(e) < 0.3e-6 for _, e in centre.ul_timing_errors_s)



def test_four_handsets_connect_at_the_phy():
    """Centre, edge and two handsets 12 km out start together at the highest elevation on the 4 preambles: all
    four reach RRC connected. Three get in at the first preamble; r1-1's first Msg3 fails its CRC (its preamble
    3 shares a root with the edge handset's 1.2 kHz-off preamble, whose image lands in its zone) and it gets in
    after its contention resolution timer and a backoff, as a Rel-8 phone does. The two UL PRB slots are shared:
    r1-0's SetupComplete goes 4 subframes after the others'."""
    from gateway.pass_demo import demo_handsets

    pred = PassPrediction.from_config(CFG)
    hs = demo_handsets(pred, CFG.relay, 4)
    res = run_ra_world(CFG, pred.select_pass().max_time_s, handsets=hs, connect=True, n_subframes=220)
    assert [h.state for h in res.handsets.values()] == ["connected"] * 4
    first_try = [h.name for h in res.handsets.values() if len(h.msg3_crc_ok) == 1]
    assert len(first_try) >= 3, {h.name: h.msg3_crc_ok for h in res.handsets.values()}
    for h in res.handsets.values():
        assert h.nas_pdu_heard == bytes.fromhex("0741720bf600f1100001020304050607")
        assert all(ok for _, ok in h.pusch_crc_ok) and all(hi == 1 for _, hi, _ in h.phich)
    assert len({h.c_rnti for h in res.handsets.values()}) == 4



@pytest.fixture(scope="module", params=["keep_sending", "stop_and_wait"])
def ul_data(request):
    """Full-buffer UL data at the PHY once connected: I_MCS 14 (16QAM, TBS 1544 on 6 PRBs), highest elevation,
    RAR TA = the beam centre's (so both handsets' PUSCHs arrive within a few us after Msg4), 160 subframes."""
    p = PassPrediction.from_config(CFG).select_pass()
    return request.param, run_ra_world(CFG, p.max_time_s, connect=True, rar_ta_s="centre", n_subframes=400,
                                       after_connected_sf=180, ul_data_policy=request.param, ul_data_i_mcs=14)


def test_full_buffer_ul_data_at_the_phy(ul_data):
    """The centre handset's 16QAM PUSCHs all decode; the edge handset's (about 6 dB per RE on 6 PRBs) fail about
    a third of the time. Keep sending: delivered = 1 - BLER of the subframes, every failure left to RLC.
    Stop-and-wait: each process waits for its decode (UL HARQ RTT 24 subframes), so 1/3 of the subframes carry
    data, delivered (1/3)(1 - BLER), failures recovered by adaptive retransmissions (no soft combining)."""
    policy, res = ul_data
    centre, edge = res.handsets["centre"].ul_data, res.handsets["edge"].ul_data
    assert centre["subframes"] >= 150 and centre["failed"] == 0 and centre["tbs_bits"] == 1544
    bler = edge["failed"] / edge["transmissions"]
    assert 0.15 < bler < 0.55, edge
    if policy == "keep_sending":
        for d in (centre, edge):
            assert d["transmissions"] == d["subframes"] and d["lost"] == d["failed"]
        assert edge["delivered"] / edge["subframes"] == pytest.approx(1 - bler, abs=1e-9)
    else:
        assert centre["delivered"] / centre["subframes"] == pytest.approx(1 / 3, abs=0.03)
        assert edge["delivered"] / edge["subframes"] == pytest.approx((1 - bler) / 3, abs=0.05)
        assert edge["lost"] <= 2  # given up after 4 transmissions: BLER^4 ~ 1 %
    assert centre["bits"] == centre["delivered"] * 8 * (1544 // 8 - 3)



@pytest.fixture(scope="module", params=["keep_sending", "stop_and_wait"])
def dl_data(request):
    """Full-buffer DL data at the PHY once connected: I_MCS 23 (64QAM, TBS 2984 on 6 PRBs), HARQ-ACK on PUCCH
    format 1a (n_CCE + N1_PUCCH), highest elevation, RAR TA = the centre's, 160 subframes."""
    p = PassPrediction.from_config(CFG).select_pass()
    return request.param, run_ra_world(CFG, p.max_time_s, connect=True, rar_ta_s="centre", n_subframes=400,
                                       after_connected_sf=180, dl_data_policy=request.param, dl_data_i_mcs=23)


def test_full_buffer_dl_data_at_the_phy(dl_data):
    """Every HARQ-ACK the gateway heard on PUCCH (2D after it was sent) is the one the handset sent; the centre
    decodes every 64QAM PDSCH, the edge (DL SINR ~14 dB) about two thirds. Keep sending: 1 - BLER of the
    subframes delivered; stop-and-wait: (1 - BLER) / 3 (DL HARQ RTT 24). The handset delivers each TB once."""
    policy, res = dl_data
    for h in res.handsets.values():
        sent = dict(h.harq_acks_sent)
        assert h.harq_acks_heard and all(sent[k] == ack for k, ack in h.harq_acks_heard), h.name
        d = h.dl_data
        assert d["tbs_bits"] == 2984 and d["subframes"] >= 150 and d["dtx"] == 0 and d["acks_dropped"] == 0
        assert d["handset_unique"] == d["handset_delivered"] >= d["delivered"]
    centre, edge = res.handsets["centre"].dl_data, res.handsets["edge"].dl_data
    assert centre["nack"] == 0
    bler = edge["nack"] / edge["transmissions"]
    assert 0.15 < bler < 0.5, edge
    if policy == "keep_sending":
        assert centre["delivered"] == centre["transmissions"] == centre["subframes"]
        assert edge["delivered"] / edge["subframes"] == pytest.approx(1 - bler, abs=1e-9)
    else:
        assert centre["delivered"] / centre["subframes"] == pytest.approx(1 / 3, abs=0.03)
        assert edge["delivered"] / edge["subframes"] == pytest.approx((1 - bler) / 3, abs=0.05)



@pytest.mark.parametrize("which", ["highest", "lowest"])
def test_prach_format_1_holds_the_beams_ta_spread(which):
    """prach-ConfigIndex 19: format 1 (CP 684 us, 2 subframes) in subframe 1 of every frame. Its CP holds the
    beam's whole TA spread (up to 243 us here), so no preamble needs the re-measurement on a moved window that
    format 0 needs; the RAR window starts 3 subframes after the preamble's second subframe (TS 36.321 5.1.4),
    where the speculative RAR now goes. Both handsets connect, with the delays the geometry predicts."""
    import dataclasses

    cfg = dataclasses.replace(CFG, system_info=dataclasses.replace(CFG.system_info, prach_config_index=19))
    p = PassPrediction.from_config(cfg).select_pass()
    res = run_ra_world(cfg, p.max_time_s if which == "highest" else p.aos_s + 1.0, connect=True, n_subframes=160)
    for h in res.handsets.values():
        assert h.state == "connected", (h.name, h.log)
        assert h.rar_subframe == h.preamble_subframe + 4 and h.msg3_subframe == h.rar_subframe + 6
        assert abs(h.prach_delay_s - (h.predicted_ta_s + h.dl_timing_error_s)) < 0.05e-6, h.name


@pytest.mark.slow
@pytest.mark.parametrize("from_max_s", [-100.0, -20.0, 10.0, 20.0, 40.0, 100.0])
def test_random_access_across_the_pass(from_max_s):
    """Across the pass (31 .. 68 deg), including instants where the beam-edge handset is the UL reference
    itself (TA 0, arriving a few tens of ns early) and where its UL is ~1.1 kHz off: both handsets get in at
    the first preamble, and the measured delays follow the geometry (clipped at 0: TA cannot be negative)."""
    p = PassPrediction.from_config(CFG).select_pass()
    res = run_ra_world(CFG, p.max_time_s + from_max_s)
    for h in res.handsets.values():
        assert h.state == "done" and h.msg3_crc_ok == [True], (h.name, h.log)
        expected = max(h.predicted_ta_s + h.dl_timing_error_s, 0.0)
        assert abs(h.prach_delay_s - expected) < 0.05e-6, h.name


@pytest.mark.slow
@pytest.mark.parametrize("direction", ["ul", "dl"])
@pytest.mark.parametrize("policy", ["keep_sending", "stop_and_wait"])
def test_full_buffer_data_long_runs(direction, policy):
    """The figures of docs/random_access.md (about 310 data subframes per run, highest elevation): UL I_MCS 14,
    DL I_MCS 23; delivered per subframe against the policy's prediction from the edge handset's measured BLER."""
    p = PassPrediction.from_config(CFG).select_pass()
    kw = {"ul_data_policy": policy, "ul_data_i_mcs": 14} if direction == "ul" else {
        "dl_data_policy": policy, "dl_data_i_mcs": 23}
    res = run_ra_world(CFG, p.max_time_s, connect=True, rar_ta_s="centre", n_subframes=600, after_connected_sf=330,
                       **kw)
    share = 1.0 if policy == "keep_sending" else 1 / 3
    for h in res.handsets.values():
        d = h.ul_data if direction == "ul" else h.dl_data
        failed = d["failed"] if direction == "ul" else d["nack"] + d["dtx"]
        bler = failed / d["transmissions"]
        rate = d["delivered"] / d["subframes"]
        print(f"{direction} {policy} {h.name}: {d['transmissions']} tx, BLER {bler:.3f}, delivered {rate:.3f} "
              f"per subframe (predicted {share * (1 - bler):.3f}), lost {d['lost']}, {d['subframes']} subframes")
        assert d["subframes"] >= 300
        assert rate == pytest.approx(share * (1 - bler), abs=0.03)
