"""DCI format 1C for system information (TS 36.212 5.3.3.1.4, TS 36.213 7.1.6.3, Table 7.1.7.2.3-1):
grant known answers computed by hand, the `system_info.si_dci_format` option and its errors, the
scheduler's 1C SI allocations, and eNodeB -> AWGN -> handset round trips reading SIB1 and SIB2 at
5 and 20 MHz."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from gateway.config import CellConfig, ConfigError, SchedulerConfig, SystemInfoConfig, config_from_dict, load_config
from gateway.enodeb import combine_ports, downlink_subframes
from mac import decode_bcch_dl_sch, sib1_info
from mac.scheduler import DlScheduler
from mac.si_schedule import si_rnti_rv, si_schedule_from_sib1
from mac.sib import sib2_from_message
from mac.ue_downlink import read_downlink
from phy.awgn import add_awgn
from phy.channels.pdsch import grant_from_dci, pdsch_re_indices
from phy.dci import Dci1C
from phy.numerology import numerology
from phy.ofdm import ofdm_demodulate
from phy.ue import read_cell
from phy.ue.downlink_rx import receive_downlink
from phy.ue.pdsch_rx import decode_subframe
from radio_drivers.impairments import SimpleChannel

SI_RNTI = 0xFFFF


# --- grant_from_dci known answers ---------------------------------------------------------------------
# TS 36.213 7.1.6.3: RIV = N'_VRB (L' - 1) + RB'_start (L' - 1 <= floor(N'_VRB / 2)), VRBs
# RB_start .. RB_start + L - 1 with RB_start = RB'_start N_step, L = L' N_step; N'_VRB =
# floor(N_VRB,gap1 / N_step). TS 36.211 6.2.3.2 (distributed VRB -> PRB), with N~ the interleaver
# unit, N_row = ceil(N~ / 4P) P, N_null = 4 N_row - N~, n~ = n_VRB mod N~:
#   n~'  = 2 N_row (n~ mod 2) + floor(n~/2) + N~ floor(n_VRB/N~)
#   n~'' = N_row (n~ mod 4) + floor(n~/4) + N~ floor(n_VRB/N~)
#   even slot: n~' - N_row (N_null > 0, n~ >= N~ - N_null, odd n~); n~' - N_row + N_null/2 (same, even
#              n~); n~'' - N_null/2 (N_null > 0, n~ < N~ - N_null, n~ mod 4 >= 2); else n~''
#   odd slot: (even + N~/2) mod N~ + N~ floor(n_VRB/N~);  PRB = n~ if n~ < N~/2 else n~ + N_gap - N~/2
CASES_1C = [
    # 25 PRB: N_gap,1 = 12, N_VRB = 2 min(12, 13) = 24, N_step = 2, N'_VRB = 12. RIV 12 -> L' = 2,
    # RB'_start = 0 -> VRBs 0..3. N~ = 24, P = 2, N_row = 6, N_null = 0: n~'' = 6 (n mod 4) + n//4 =
    # 0, 6, 12, 18 (even slot); odd: +12 mod 24 = 12, 18, 0, 6; N_gap - N~/2 = 0 -> PRBs unchanged.
    # I_TBS 3 -> 120 bits (Table 7.1.7.2.3-1).
    (25, Dci1C(riv=12, tbs_index=3, gap=1), [[0, 6, 12, 18], [12, 18, 0, 6]], 120),
    # 100 PRB: N_gap,1 = 48, N_VRB = 2 min(48, 52) = 96, N_step = 4, N'_VRB = 24. RIV 25 -> L' = 2,
    # RB'_start = 1 -> VRBs 4..11. N~ = 96, P = 4, N_row = 24, N_null = 0: n~'' = 24 (n mod 4) + n//4 =
    # 1, 25, 49, 73, 2, 26, 50, 74; odd: +48 mod 96; N_gap - N~/2 = 0. I_TBS 8 -> 224 bits.
    (100, Dci1C(riv=25, tbs_index=8, gap=1),
     [[1, 25, 49, 73, 2, 26, 50, 74], [49, 73, 1, 25, 50, 74, 2, 26]], 224),
    # 50 PRB, gap 2: N_gap,2 = 9, N~ = 2 N_gap,2 = 18, N_VRB,gap2 = floor(50/18) 18 = 36; the RIV range
    # uses N_VRB,gap1 = 2 min(27, 23) = 46 -> N'_VRB = floor(46/4) = 11. RIV 4 -> L' = 1, RB'_start =
    # 4 -> VRBs 16..19. P = 3, N_row = ceil(18/12) 3 = 6, N_null = 6, N~ - N_null = 12.
    #   n=16 (n~ 16, even, >= 12): n~' = 0 + 8 = 8 -> 8 - 6 + 3 = 5;  n=17 (odd): n~' = 12 + 8 = 20 -> 14
    #   n=18 (n~ 0): n~'' = 0 + 0 + 18 = 18;  n=19 (n~ 1): n~'' = 6 + 0 + 18 = 24
    #   odd slot: (5 + 9) mod 18 = 14, (14 + 9) mod 18 = 5, (18 + 9) mod 18 + 18 = 27, (24 + 9) mod 18
    #   + 18 = 33; N_gap - N~/2 = 0. I_TBS 31 -> 1736 bits.
    (50, Dci1C(riv=4, tbs_index=31, gap=2), [[5, 14, 18, 24], [14, 5, 27, 33]], 1736),
]


@pytest.mark.parametrize("n_rb, dci, prbs, size", CASES_1C)
def test_grant_from_dci_1c_known_answers(n_rb, dci, prbs, size):
    for rv in (0, 2):
        g = grant_from_dci(dci, n_rb, SI_RNTI, common=True, rv=rv)
        assert g.prbs.tolist() == prbs
        assert (g.tbs, g.q_m, g.rv, g.rnti) == (size, 2, rv, SI_RNTI)  # QPSK (36.213 7.1.7)


def test_grant_from_dci_1c_needs_rv_and_a_common_rnti():
    dci = Dci1C(riv=12, tbs_index=3)
    with pytest.raises(ValueError, match="carries no redundancy version"):
        grant_from_dci(dci, 25, SI_RNTI, common=True)
    with pytest.raises(ValueError, match="SI-, P- or RA-RNTI"):
        grant_from_dci(dci, 25, 0x46, common=False, rv=0)


# --- configuration ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "si, message",
    [
        ({"si_dci_format": "1B"}, "system_info.si_dci_format: '1B' is not a DCI format for system information"),
        ({"si_dci_format": 1}, "system_info.si_dci_format: 1 is not a DCI format"),
        ({"si_1c_gap": 3}, "system_info.si_1c_gap: 3 is not allowed; choose one of 1, 2"),
        ({"si_1c_gap": 2}, "system_info.si_1c_gap: the gap applies to format 1C only"),
    ],
)
def test_si_dci_format_config_errors(si, message):
    with pytest.raises(ConfigError) as err:
        config_from_dict({"system_info": si})
    assert message in str(err.value)


def test_si_dci_format_default_and_bandwidth_check():
    assert config_from_dict({}).system_info.si_dci_format == "1A"
    cfg = config_from_dict({"cell": {"n_rb_dl": 50}, "system_info": {"si_dci_format": "1c", "si_1c_gap": 2}})
    assert (cfg.system_info.si_dci_format, cfg.system_info.si_1c_gap) == ("1C", 2)
    cfg.system_info.check_cell(50)  # N_gap,2 exists from 50 PRB on
    with pytest.raises(ConfigError, match=r"si_1c_gap: gap 2 \(N_gap,2\) exists only for n_rb_dl >= 50"):
        cfg.system_info.check_cell(25)
    with pytest.raises(ConfigError, match="si_1c_gap"):  # the eNodeB's scheduler refuses it too
        DlScheduler.create(CellConfig(n_rb_dl=25), cfg.system_info, SchedulerConfig())


# --- scheduler ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("n_rb, gap, dci_format", [(6, 1, "1"), (25, 1, "1"), (25, 1, "1A"), (100, 2, "1")])
def test_scheduler_1c_si_fits_and_never_collides(n_rb, gap, dci_format):
    cell = CellConfig(n_rb_dl=n_rb, pci=11)
    si = SystemInfoConfig(si_dci_format="1C", si_1c_gap=gap)
    s = DlScheduler.create(cell, si, SchedulerConfig(c_rntis=(0x46, 0x47), user_dci_format=dci_format))
    n_si = 0
    for sfn in (0, 1):
        for sf in range(10):
            plan = s.schedule(sfn, sf)
            taken = np.zeros(n_rb, int)
            for a in plan.assignments:
                rv = a.rv if isinstance(a.dci, Dci1C) else None
                g = grant_from_dci(a.dci, n_rb, a.rnti, common=a.rnti == SI_RNTI, rv=rv)
                taken[np.unique(g.prbs)] += 1
                if isinstance(a.dci, Dci1C):
                    n_si += 1
                    (tx,) = plan.si
                    assert a.rnti == SI_RNTI and a.dci.gap == gap and tx.dci_format == "1C"
                    msg = s.sib1 if tx.kind == "sib1" else s.si_messages[0]
                    # the smallest TBS of Table 7.1.7.2.3-1 holding the message, zero-padded up to it
                    assert g.tbs == a.tb_bits.size == tx.tbs == min(t for t in _TBS_1C if t >= 8 * len(msg))
                    assert not np.packbits(a.tb_bits)[len(msg):].any()
                    assert g.rv == tx.rv == a.rv
                    n_re = pdsch_re_indices(g.prbs, n_rb, cell.pci, 1, cell.n_ctrl_symbols, sf)[0].size
                    assert (g.tbs + 24) / (2 * n_re) <= 0.93
            for r in plan.reserved:
                taken[list(r.prbs)] += 1
            assert taken.max() <= 1  # no PRB in two allocations or in a reserved slot
    assert n_si == 5  # SIB1 in SFN 0 and the SI message in subframes 0..3 of SFN 0


# TS 36.213 Table 7.1.7.2.3-1, I_TBS 0..31
_TBS_1C = (40, 56, 72, 120, 136, 144, 176, 208, 224, 256, 280, 296, 328, 336, 392, 488,
           552, 600, 632, 696, 776, 840, 904, 1000, 1064, 1128, 1224, 1288, 1384, 1480, 1608, 1736)


# --- round trips --------------------------------------------------------------------------------------
def _cfg_1c(hw_configs_dir, **cell):
    cfg = load_config(hw_configs_dir / "loopback.yaml")
    return replace(cfg, cell=replace(cfg.cell, **cell),
                   system_info=replace(cfg.system_info, si_dci_format="1C"))


def test_sib1_sib2_with_1c_through_the_handset_at_5mhz(hw_configs_dir):
    """Loopback profile (5 MHz) with SI on 1C and user traffic on, 30 ms from SFN 0 at 5 dB per-RE SNR
    with CFO and delay: read_cell + receive_downlink decode SIB1 (SFN 0, 2) and the 4 SI messages of the
    SFN 0 window. The handset knows only SIB1's RV rule (no schedule), so the SI message RVs are tried."""
    cfg = _cfg_1c(hw_configs_dir)
    assert cfg.cell.n_rb_dl == 25
    parts, plans = [], []
    for sf in downlink_subframes(cfg, 30):
        parts.append(combine_ports(sf.samples))
        plans.append(sf.plan)
    sent = [(p.sfn, p.subframe, t) for p in plans for t in p.si]
    assert [(f, s, t.kind, t.rv, t.dci_format) for f, s, t in sent] == [
        (0, 0, "si", 0, "1C"), (0, 1, "si", 2, "1C"), (0, 2, "si", 3, "1C"), (0, 3, "si", 1, "1C"),
        (0, 5, "sib1", 0, "1C"), (2, 5, "sib1", 2, "1C"),
    ]
    fs = numerology(25).sample_rate_hz
    x = SimpleChannel(snr_db=5.0, cfo_hz=1500.0, delay=1234, n_rb=25, sample_rate_hz=fs, seed=7)(np.concatenate(parts))
    cell = read_cell(x, fs)
    rx = list(receive_downlink(x, fs, cell, si_rv=lambda sfn, sf: si_rnti_rv(sfn, sf)))
    got = {(r.sfn, r.subframe): tb for r in rx for tb in r.tbs if tb.found.rnti == SI_RNTI}
    assert sorted(got) == [(f, s) for f, s, _ in sent]
    for f, s, t in sent:
        tb = got[(f, s)]
        assert isinstance(tb.found.dci, Dci1C) and tb.result.crc_ok
        assert (tb.grant.rv, tb.grant.tbs) == (t.rv, t.tbs)
    dl = read_downlink(iter(rx))
    assert (dl.sib1_tx, dl.sib1_ok, dl.si_tx, dl.si_ok, dl.si_outside_window) == (2, 2, 4, 4, 0) and dl.sib2
    assert dl.plmns == ("001-01",)
    assert (dl.tac, dl.cell_identity) == (cfg.system_info.tac, cfg.system_info.cell_identity)


@pytest.mark.parametrize("gap", [1, 2])
def test_sib1_sib2_with_1c_at_20mhz_5db(hw_configs_dir, gap):
    """20 MHz, 2 ports, SI on 1C with N_gap,`gap`: subframes 0..5 of SFN 0 through OFDM + AWGN at 5 dB.
    The handset reads SIB1 (its RV from the SFN), then the four SI messages with the RVs its MAC
    derives from the SI schedule that SIB1 announces; the same blocks fail CRC under a wrong RV."""
    cfg = _cfg_1c(hw_configs_dir, n_rb_dl=100, earfcn_dl=9435, n_ports=2, pci=301)
    cfg = replace(cfg, system_info=replace(cfg.system_info, si_1c_gap=gap),
                  scheduler=replace(cfg.scheduler, traffic=False))
    rng = np.random.default_rng(20 + gap)
    rx = {}
    for sf in downlink_subframes(cfg, 6):
        if sf.plan.si:
            grid = ofdm_demodulate(add_awgn(combine_ports(sf.samples), 5.0, 100, rng), 100)
            rx[(sf.sfn, sf.subframe)] = (grid, sf.plan.si[0])
    assert [t.kind for _, t in rx.values()] == ["si", "si", "si", "si", "sib1"]

    def decode(sfn, subframe, rv):
        grid, t = rx[(sfn, subframe)]
        (tb,) = decode_subframe(grid, cfg.cell, subframe, si_rv=rv)
        assert isinstance(tb.found.dci, Dci1C) and tb.found.dci.gap == gap
        return tb, t

    tb, t = decode(0, 5, si_rnti_rv(0, 5))
    assert tb.result.crc_ok and (tb.grant.rv, tb.grant.tbs) == (t.rv, t.tbs) == (0, t.tbs)
    sched = si_schedule_from_sib1(sib1_info(decode_bcch_dl_sch(np.packbits(tb.result.bits).tobytes())))
    for subframe, rv in zip(range(4), (0, 2, 3, 1), strict=True):  # ceil(3i/2) mod 4, i = window index
        assert si_rnti_rv(0, subframe, sched) == rv
        tb, t = decode(0, subframe, rv)
        assert tb.result.crc_ok and (tb.grant.rv, tb.grant.tbs) == (t.rv, t.tbs)
        sib2_from_message(decode_bcch_dl_sch(np.packbits(tb.result.bits).tobytes()))  # raises if not SIB2
        wrong, _ = decode(0, subframe, (rv + 1) % 4)
        assert not wrong.result.crc_ok
