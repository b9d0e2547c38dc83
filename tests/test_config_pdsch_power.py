"""SIB2's P_B must describe the PDSCH power the transmitter really sends (TS 36.213 5.2, Table 5.2-1)."""

from __future__ import annotations

import pytest

from gateway.config import ConfigError, config_from_dict
from mac.sib import sib2_value


@pytest.mark.parametrize(("n_ports", "p_b"), [(1, 0), (2, 1)])
def test_unity_ratio_p_b_accepted(n_ports, p_b):
    cfg = config_from_dict({"cell": {"n_ports": n_ports}, "system_info": {"p_b": p_b}})
    assert sib2_value(cfg.cell, cfg.system_info)["radioResourceConfigCommon"]["pdsch-ConfigCommon"]["p-b"] == p_b


@pytest.mark.parametrize(("n_ports", "p_b", "ratio"), [(1, 1, "0.8"), (1, 3, "0.4"), (2, 0, "1.25"), (2, 3, "0.5")])
def test_non_unity_ratio_p_b_refused(n_ports, p_b, ratio):
    with pytest.raises(ConfigError, match=rf"system_info.p_b: {p_b} announces rho_B/rho_A = {ratio} .*use p_b"):
        config_from_dict({"cell": {"n_ports": n_ports}, "system_info": {"p_b": p_b}})
