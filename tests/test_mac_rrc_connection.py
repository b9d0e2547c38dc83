"""RRC connection establishment over the satellite round trip (mac/connection.py): preamble -> speculative RAR
-> Msg3 (RRCConnectionRequest) -> Msg4 (contention resolution + RRCConnectionSetup) -> RRCConnectionSetupComplete
on SRB1 -> RLC STATUS, for Rel-8 handsets at the default pass's 2D, no PHY.

Timing advances and round trips come from the default pass (hw_configs/loopback.yaml, `pass_feasibility`):
the beam-centre and beam-edge handsets at the highest elevation and at AOS (the lowest).
"""

import random

import pytest
from scripted_rng import ScriptedRandom

from gateway.cmd_feasibility import pass_feasibility
from gateway.config import load_config
from mac.connection import (
    RRC_SETUP_PROCEDURE_DELAY_SF,
    ConnectionConfig,
    GatewayConnection,
    Handset,
    connection_report,
    run_connection,
)
from mac.enb_ra import SpeculativeRaConfig
from mac.pdcp import parse_pdcp_srb_pdu
from mac.pdu import (
    LCID_CCCH,
    LCID_CONTENTION_RESOLUTION,
    LCID_TIMING_ADVANCE,
    parse_dl_sch_pdu,
    parse_ul_sch_pdu,
)
from mac.ra_loop import deliver_uplink, gateway_late_subframes
from mac.rar import TA_STEP_S
from mac.rlc import parse_amd_pdu
from mac.rrc import parse_rrc_connection_request, parse_rrc_connection_setup, parse_rrc_connection_setup_complete
from mac.ue_ra import RachConfig, UlschTx

NAS = bytes.fromhex("0741720bf600f110000201020304")


@pytest.fixture(scope="module")
def the_pass():
    """{'2d': 2D, 'max_el'/'min_el': {'ta_centre_s', 'ta_edge_s', 'raw_s', 'el'}} of the default pass."""
    f = pass_feasibility(load_config("hw_configs/loopback.yaml"), step_s=5.0)
    rows = f["rows"]
    out = {"2d": f["summary"]["round_trip_2d_s"]}
    for name, row in (("max_el", max(rows, key=lambda r: r["elevation_deg"])), ("min_el", rows[0])):
        out[name] = {"ta_centre_s": row["ta_centre_s"], "ta_edge_s": row["ta_edge_s"],
                     "raw_s": row["round_trip_raw_s"], "el": row["elevation_deg"]}
    return out


def _gateway(round_trip_s, mode="speculative"):
    cfg = ConnectionConfig(ra=SpeculativeRaConfig(mode=mode, msg4_tbs_bytes=40))
    return GatewayConnection(cfg, late_sf=gateway_late_subframes(round_trip_s))


@pytest.mark.parametrize("where", ["max_el", "min_el"])
def test_beam_centre_and_edge_complete(the_pass, where):
    """Both handsets reach RRC connected on the first preamble; every step falls where the spec and 2D put
    it: Msg3 = RAR + 6, Msg4 = Msg3 + late, SetupComplete = Msg4 + 15 (RRC procedure delay) heard late later,
    the RLC STATUS in the same subframe; Msg4's TA command moves N_TA toward the preamble's measurement."""
    p = the_pass[where]
    gw = _gateway(the_pass["2d"])
    late = gw.late_sf
    assert late == 20
    hs = [Handset(random.Random(1), NAS, ta_needed_s=p["ta_centre_s"], name="centre"),
          Handset(random.Random(2), NAS, ta_needed_s=p["ta_edge_s"], name="edge", start_subframe=10)]
    run_connection(hs, gw, 0, 400)
    report = {r["name"]: r for r in connection_report(hs, gw)}
    for h in hs:
        r = report[h.name]
        assert r["state"] == "connected", r
        assert len(r["preambles"]) == 1 and r["contention_lost"] == []
        assert r["msg3"] == [r["rar"] + 6]
        assert r["msg4"] == r["msg3"][0] + late
        assert r["setup_complete_sent"] == r["msg4"] + RRC_SETUP_PROCEDURE_DELAY_SF
        assert r["setup_complete_heard"] == r["setup_complete_sent"] + late == r["connected"]
        conn = gw.connections[h.c_rnti]
        assert conn.complete.dedicated_info_nas == NAS and conn.request.random_value == h.random_value
        n_ta_msg4 = h.ue.events("contention_resolved")[0][1]["n_ta_s"]  # RAR T_A 0 + Msg4's command
        assert abs(n_ta_msg4 - min(h.ta_needed_s, 32 * TA_STEP_S)) <= TA_STEP_S / 2  # <= 32 x 16 T_s per command
    assert report["centre"]["c_rnti"] != report["edge"]["c_rnti"]


def test_two_handsets_same_preamble_same_occasion(the_pass):
    """Same preamble, same occasion, same RAR, same grant: the stronger Msg3 is decoded, its identity goes
    back in Msg4, that handset connects; the other sees a foreign identity, backs off, retries and connects
    later with another C-RNTI."""
    gw = _gateway(the_pass["2d"])
    a = Handset(ScriptedRandom(1, [2]), NAS, ta_needed_s=50e-6, rx_power_db=6.0, name="a")
    b = Handset(ScriptedRandom(2, [2]), NAS, ta_needed_s=120e-6, rx_power_db=0.0, name="b")
    run_connection([a, b], gw, 0, 1500)
    ra, rb = connection_report([a, b], gw)
    assert ra["preambles"][0] == rb["preambles"][0] and ra["rars"][0] == rb["rars"][0]
    assert ra["state"] == rb["state"] == "connected"
    assert ra["contention_lost"] == [] and len(rb["contention_lost"]) >= 1
    assert rb["contention_lost"][0] == ra["msg4"]  # the loser read the winner's Msg4 on the shared TC-RNTI
    assert rb["contention_lost"][0] <= rb["preambles"][1] <= rb["contention_lost"][0] + 20 + 10  # backoff <= 20 ms
    assert ra["connected"] < rb["connected"]
    assert rb["setup_complete_sent"] > rb["contention_lost"][-1]
    assert ra["c_rnti"] != rb["c_rnti"]
    heard = sorted((c.complete_heard_subframe, c.request.random_value) for c in gw.connections.values())
    assert [v for _, v in heard] == [a.random_value, b.random_value]



def test_eight_handsets_connect_sharing_the_ul_prb_slots(the_pass):
    """Eight handsets start within 12 subframes (4 preambles: several collide and retry): every one connects,
    and the gateway's connected-mode grants never put two PUSCHs on one PRB slot, nor two grants to one handset,
    in a UL subframe (2 slots of 6 PRBs at 5 MHz: the rest wait a subframe, retransmissions a HARQ period)."""
    gw = _gateway(the_pass["2d"])
    assert gw.config.n_ul_slots == 2
    hs = [Handset(random.Random(10 + i), NAS, ta_needed_s=20e-6 * i, rx_power_db=-0.5 * i, name=f"h{i}",
                  start_subframe=(3 * i) % 12) for i in range(8)]
    run_connection(hs, gw, 0, 3000)
    report = connection_report(hs, gw)
    assert [r["state"] for r in report] == ["connected"] * 8, [(r["name"], r["state"]) for r in report]
    assert len({r["c_rnti"] for r in report}) == 8
    grants = [(info["pusch_subframe"], info["c_rnti"]) for _, what, info in gw.log if what == "ul_grant"]
    per_sf: dict[int, list[int]] = {}
    for sf, rnti in grants:
        per_sf.setdefault(sf, []).append(rnti)
    assert max(len(v) for v in per_sf.values()) == 2  # both slots used at once somewhere
    assert all(len(set(v)) == len(v) for v in per_sf.values())  # one grant per handset and subframe
    nas = {c.complete.dedicated_info_nas for c in gw.connections.values()}
    assert nas == {NAS}


@pytest.mark.parametrize("where, connects", [("2d", False), ("raw_max_el", True), ("raw_min_el", False)])
def test_causal_rar_only_where_the_window_allows(the_pass, where, connects):
    """Speculative RAR off: at 2D (and at the raw round trip at AOS) every RAR comes after the window closes,
    the Rel-8 handset ramps its power, retries after the backoff and gives up after preambleTransMax; at the
    raw round trip of the highest elevation (a gateway without delay pre-compensation) the causal RAR fits."""
    rtt = {"2d": the_pass["2d"], "raw_max_el": the_pass["max_el"]["raw_s"],
           "raw_min_el": the_pass["min_el"]["raw_s"]}[where]
    gw = _gateway(rtt, mode="causal")
    h = Handset(random.Random(5), NAS, ta_needed_s=40e-6, rach=RachConfig(preamble_trans_max=10))
    run_connection([h], gw, 0, 2000)
    (r,) = connection_report([h], gw)
    if connects:
        assert r["state"] == "connected" and len(r["preambles"]) == 1
        return
    assert r["state"] == "failed" and len(r["preambles"]) == 10 and r["setup_complete_sent"] is None
    powers = [info["power_dbm"] for _, info in h.ue.events("preamble")]
    assert powers[:3] == [-104, -98, -92]
    assert len(h.ue.events("no_rar_in_window")) == 10 and h.ue.events("random_access_problem")
    for k, _, info in gw.ra.log:  # each causal RAR left after its window's last subframe (occasion + 2 + W)
        if info.get("rapids"):
            assert k > info["occasion"] + 2 + 10
    assert not gw.connections


def test_lost_setup_complete_recovered_by_adaptive_retransmission(the_pass):
    """The PUSCH carrying RRCConnectionSetupComplete fails its CRC: PHICH said ACK on time, the gateway hears
    the failure late and sends a DCI 0 with NDI not toggled on the same synchronous HARQ process; the handset
    resends the same transport block on the process's first occurrence after the decode: 8 ceil((late + 4) / 8)
    subframes after the first (24 here; the feasibility model's 32 counts 3 ms of decoding instead of 2)."""
    gw = _gateway(the_pass["2d"])
    h = Handset(random.Random(1), NAS, ta_needed_s=60e-6)
    lost = []

    def pusch_lost(tx: UlschTx) -> bool:
        carries_srb1 = any(sp.lcid == 1 for sp in parse_ul_sch_pdu(tx.pdu))
        if carries_srb1 and tx.harq_tx == 1 and not lost:
            lost.append(tx)
            return True
        return False

    run_connection([h], gw, 0, 600, pusch_lost=pusch_lost)
    (r,) = connection_report([h], gw)
    assert r["state"] == "connected" and len(lost) == 1
    retx = [(k, i) for k, w, i in gw.log if w == "ul_grant" and not i["new_data"]]
    assert len(retx) == 1 and retx[0][1]["pusch_subframe"] % 8 == lost[0].subframe % 8
    assert retx[0][1]["pusch_subframe"] - lost[0].subframe == 8 * -(-(gw.late_sf + 4) // 8) == 24
    assert r["setup_complete_heard"] == retx[0][1]["pusch_subframe"] + gw.late_sf


def test_pdus_on_the_air_are_standard(the_pass):
    """Msg3 carries the UPER RRCConnectionRequest (the handset's 40-bit random value, mo-Data); Msg4 echoes its
    first 48 bits in the Contention Resolution Identity CE next to a TA command and RRCConnectionSetup; the
    SRB1 PDU is MAC LCID 1 / RLC AMD (poll) / PDCP (MAC-I 0) / RRCConnectionSetupComplete with the NAS PDU."""
    gw = _gateway(the_pass["2d"])
    h = Handset(random.Random(7), NAS, ta_needed_s=100e-6)
    dl_to_ue, ul = [], []
    for k in range(200):
        dl = gw.downlink(k)
        dl_to_ue += [m for m in dl if h.ue.tc_rnti is not None and m.rnti == h.ue.tc_rnti and m.kind == "dl_sch"]
        h.downlink(k, dl)
        sent = [(h, tx) for tx in h.uplink(k)]
        ul += [tx for _, tx in sent if isinstance(tx, UlschTx)]
        deliver_uplink(k, sent, gw)
        if h.state == "connected":
            break
    assert h.state == "connected"
    msg3 = parse_ul_sch_pdu(ul[0].pdu)
    ccch = next(sp.payload for sp in msg3 if sp.lcid == LCID_CCCH)
    assert parse_rrc_connection_request(ccch) == (h.random_value, None, "mo-Data")
    msg4 = {sp.lcid: sp.payload for sp in parse_dl_sch_pdu(dl_to_ue[0].pdu)}
    assert msg4[LCID_CONTENTION_RESOLUTION] == ccch[:6]
    assert LCID_TIMING_ADVANCE in msg4
    assert parse_rrc_connection_setup(msg4[LCID_CCCH]).srb_ids == (1,)
    srb1 = [sp.payload for tx in ul[1:] for sp in parse_ul_sch_pdu(tx.pdu) if sp.lcid == 1]
    assert len(srb1) == 1
    amd = parse_amd_pdu(srb1[0])
    assert amd.poll and amd.sn == 0
    complete = parse_rrc_connection_setup_complete(parse_pdcp_srb_pdu(amd.sdus[0]).data)
    assert complete.dedicated_info_nas == NAS and complete.selected_plmn_identity == 1
    status = [sp.payload for m in dl_to_ue[1:] for sp in parse_dl_sch_pdu(m.pdu) if sp.lcid == 1]
    assert status and status[0][0] >> 4 == 0  # D/C 0, CPT 000: an RLC STATUS PDU


def test_sib2_of_the_profile_is_what_the_speculative_strategy_answers():
    """The default profile broadcasts numberOfRA-Preambles n4 (hw_configs/loopback.yaml): the handset that
    decodes SIB2 picks only preambles the gateway's speculative RAR answers; 52 (the config default) could not
    be answered (52 Msg3 grants of 2 PRBs do not fit 25 PRBs)."""
    from gateway.config import config_from_dict
    from mac.sib import decode_bcch_dl_sch, encode_si_sib2, sib2_from_message

    cfg = load_config("hw_configs/loopback.yaml")
    sib2 = sib2_from_message(decode_bcch_dl_sch(encode_si_sib2(cfg.cell, cfg.system_info)))
    rach = RachConfig.from_sib2(sib2, cfg.cell.n_rb_dl)
    assert rach == RachConfig(number_of_ra_preambles=4, preamble_trans_max=10, ra_response_window_sf=10,
                              mac_contention_resolution_timer_sf=64, max_harq_msg3_tx=4, power_ramping_step_db=6,
                              preamble_initial_received_target_power_dbm=-104, prach_config_index=3,
                              n_rb_ul=cfg.cell.n_rb_dl)
    spec = SpeculativeRaConfig.from_system_info(cfg.system_info, cfg.cell.n_rb_dl)
    assert spec.preambles == (0, 1, 2, 3) and spec.prach_config_index == rach.prach_config_index
    default = config_from_dict({})
    assert default.system_info.number_of_ra_preambles == 52
    with pytest.raises(ValueError, match="52 Msg3 grants"):
        SpeculativeRaConfig.from_system_info(default.system_info, default.cell.n_rb_dl)


@pytest.mark.parametrize("policy, fraction, residual", [("keep_sending", 0.9, 0.1), ("stop_and_wait", 0.3, 0.0)])
def test_full_buffer_ul_data_over_the_round_trip(the_pass, policy, fraction, residual):
    """Full-buffer UL data on real UL-SCH PDUs (DTCH, LCID 3) once connected, each PUSCH lost with 10 %: keep
    sending delivers 1 - BLER of the subframes and leaves every failed TB to RLC; stop-and-wait grants a
    process again only once its PUSCH is decoded (20 subframes late: UL HARQ RTT 8 ceil((20 + 4) / 8) = 24),
    1/3 (1 - BLER), and recovers failures with adaptive retransmissions (residual 0.1^4)."""
    gw = GatewayConnection(ConnectionConfig(ra=SpeculativeRaConfig(msg4_tbs_bytes=40), ul_data_policy=policy),
                           late_sf=gateway_late_subframes(the_pass["2d"]))
    h = Handset(random.Random(1), NAS, ta_needed_s=30e-6, name="a", ul_full_buffer=True)
    rng = random.Random(7)

    def lost(tx):
        return h.state == "connected" and rng.random() < 0.1

    last = run_connection([h], gw, 0, 6000, pusch_lost=lost, stop_when_done=False)
    (c,) = gw.connections.values()
    span = last - gw.late_sf - c.data_first_subframe + 1  # UL subframes decoded by the last DL subframe
    assert c.data_delivered / span == pytest.approx(fraction, abs=0.02)
    assert c.data_lost / (c.data_delivered + c.data_lost) == pytest.approx(residual, abs=0.02)
    assert len(c.data_seq) == c.data_delivered  # each delivered TB carried a distinct DTCH SDU
    assert c.data_bits == c.data_delivered * 8 * (gw.config.ul_grant(h.c_rnti).tbs // 8 - 3)


@pytest.mark.parametrize("policy, fraction, residual", [("keep_sending", 0.9, 1e-4), ("stop_and_wait", 0.3, 0.0)])
def test_full_buffer_dl_data_with_late_harq_feedback(the_pass, policy, fraction, residual):
    """Full-buffer DL data (DTCH) once connected; the handset fails 10 % of the PDSCHs and answers NACK on PUCCH,
    ACK otherwise, heard 20 subframes late. Keep sending uses every subframe and re-sends a NACKed TB as new
    data: 1 - BLER delivered, BLER^4 lost. Stop-and-wait holds each of the 8 processes for its feedback
    (HARQ RTT 4 + 20 = 24): 1/3 (1 - BLER), retransmissions with NDI kept. The handset delivers each TB once."""
    gw = GatewayConnection(ConnectionConfig(ra=SpeculativeRaConfig(msg4_tbs_bytes=40), dl_data_policy=policy),
                           late_sf=gateway_late_subframes(the_pass["2d"]))
    h = Handset(random.Random(1), NAS, ta_needed_s=30e-6, name="a")
    rng = random.Random(7)
    last = run_connection([h], gw, 0, 6000, stop_when_done=False,
                          pdsch_lost=lambda m: m.harq_process is not None and rng.random() < 0.1)
    (c,) = gw.connections.values()
    span = last - gw.late_sf - 4 - c.dl_first_subframe + 1  # DL subframes whose feedback was acted on
    assert c.dl_delivered / span == pytest.approx(fraction, abs=0.02)
    assert c.dl_lost / (c.dl_delivered + c.dl_lost) == pytest.approx(residual, abs=0.002)
    assert c.dl_nack / c.dl_tx == pytest.approx(0.1, abs=0.02) and c.dl_dtx == 0
    assert len(h.dl_dtch_seq) == len(set(h.dl_dtch_seq)) >= c.dl_delivered


def test_connection_config_refuses_what_it_cannot_grant():
    with pytest.raises(ValueError, match="ul_data_i_mcs must be a new-data I_MCS"):
        ConnectionConfig(ul_data_i_mcs=29)
    with pytest.raises(ValueError, match="dl_data_policy must be"):
        ConnectionConfig(dl_data_policy="greedy")
    with pytest.raises(ValueError, match="no room for a 30-PRB grant"):
        ConnectionConfig(ul_n_prb=30)



def test_a_nack_read_on_phich_makes_a_non_adaptive_retransmission(the_pass):
    """TS 36.321 5.4.2.2: the gateway always sends ACK, but a handset that reads NACK for its PUSCH of n sends the
    same TB again in n + 8 on the same grant (a DCI 0 for that subframe would take precedence); ACK changes
    nothing."""
    gw = _gateway(the_pass["2d"])
    h = Handset(random.Random(1), NAS, ta_needed_s=30e-6, name="a")
    sent: dict[int, UlschTx] = {}
    uplink = h.uplink

    def recording(k):
        out = uplink(k)
        for tx in out:
            if isinstance(tx, UlschTx):
                sent[k] = tx
        return out

    h.uplink = recording
    k = 0
    while h.complete_sent_subframe is None:
        run_connection([h], gw, k, 1, stop_when_done=False)
        k += 1
        assert k < 400
    n = h.complete_sent_subframe
    run_connection([h], gw, k, n + 5 - k, stop_when_done=False)  # up to DL n + 4, where PHICH of n is read
    h.phich(n + 4, False)
    h.phich(n + 5, True)
    run_connection([h], gw, n + 5, 8, stop_when_done=False)
    assert h.non_adaptive_retx == [n + 8]
    assert sent[n + 8].pdu == sent[n].pdu and sent[n + 8].grant == sent[n].grant and sent[n + 8].harq_tx == 2
    assert n + 9 not in sent  # the ACKed PUSCH of n + 1 is not sent again
