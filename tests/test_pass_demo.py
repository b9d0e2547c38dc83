"""The pass demo in process: gateway eNodeB -> pre-compensation -> relay emulator -> two handsets running
the phone's receiver (cell search, MIB, PCFICH, SIB1, PDSCH), one window near the pass's highest point."""

from __future__ import annotations

import pytest

from gateway.config import load_config
from gateway.pass_demo import pass_demo


@pytest.fixture(scope="module")
def cfg(hw_configs_dir):
    return load_config(hw_configs_dir / "loopback.yaml")


def test_precompensated_pass_handsets_sync_and_decode(cfg):
    rows = {r["handset"]: r for r in pass_demo(cfg, seconds=0.5, step_s=1.0, precomp="both")}
    fs = 7.68e6  # the profile's 25 PRB cell
    for name, r in rows.items():
        print(f"{name}: CFO {r['cfo_hz']:.2f} Hz (expected {r['expected_cfo_hz']:.2f}), timing "
              f"{r['timing_error_samples'] / fs * 1e9:.0f} ns off x(t - D - residual "
              f"{r['expected_delay_residual_ns']:.0f} ns), "
              f"SINR {r['sinr_db']:.2f} dB (budget {r['budget_snr_db']:.2f}), SIB1 {r['sib1_ok']}/{r['sib1_tx']}, "
              f"raw Doppler {r['raw_doppler_hz'] / 1e3:.1f} kHz, raw drift {r['raw_drift_ns_s']:.0f} ns/s")
        assert r["found"] and r["pci"] == cfg.cell.pci
        assert abs(r["cfo_hz"] - r["expected_cfo_hz"]) < 5.0
        assert abs(r["timing_error_samples"]) < 0.8  # read_cell's timing is whole samples (130 ns)
        assert abs(r["sinr_db"] - r["budget_snr_db"]) < 1.0
        assert r["sib1_tx"] > 0 and r["sib1_ok"] == r["sib1_tx"]
    assert abs(rows["centre"]["cfo_hz"]) < 5.0
    assert abs(rows["edge"]["expected_delay_residual_ns"]) > 1000.0  # the edge really is off the centre


def test_without_precompensation_a_rel8_phone_cannot_acquire(cfg):
    """The raw two-hop Doppler (46 GHz feeder + 770 MHz service) is far outside a phone's +-25 kHz search."""
    for r in pass_demo(cfg, seconds=0.5, step_s=1.0, precomp="off", decode_pdsch=False):
        print(f"{r['handset']}: raw Doppler {r['raw_doppler_hz'] / 1e3:.1f} kHz -> found {r['found']}")
        assert abs(r["raw_doppler_hz"]) > 25e3
        assert not r["found"]
