"""Config robustness (issue 10): every generated profile either loads or fails with a ConfigError that
names a key; no NaN/inf gets through; duplicate YAML keys, non-ASCII PLMN digits and an extended PHICH
without room in the control region are load-time errors; a binary file or a directory is a ConfigError.

The property tests mutate the shipped profiles (hw_configs/*.yaml): a key set to a generated value
(non-finite numbers, wrong types, values at and beyond each range, allowed values), a key removed, an
unknown key added, a section replaced by a non-mapping, a key repeated in the YAML text.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import re
import types
import typing
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.config import SECTIONS, Config, ConfigError, config_from_dict, config_from_yaml, load_config
from gateway.config.cell import EXTENDED_PHICH_TRANSMITTED, N_RB_TO_BANDWIDTH_HZ
from phy.regs import control_regs_for

HW_CONFIGS = Path(__file__).resolve().parents[1] / "hw_configs"
PROFILES = {p.name: yaml.safe_load(p.read_text()) for p in sorted(HW_CONFIGS.glob("*.yaml"))}
PROFILE_TEXTS = {p.name: p.read_text() for p in sorted(HW_CONFIGS.glob("*.yaml"))}


def _leaf_fields(cls: type, prefix: str) -> list[tuple[str, dataclasses.Field, typing.Any]]:
    """(key path, field, annotated type) of every leaf option of a section dataclass (nested ones too)."""
    hints = typing.get_type_hints(cls)
    out = []
    for f in dataclasses.fields(cls):
        path = f"{prefix}.{f.name}"
        if dataclasses.is_dataclass(hints[f.name]):
            out += _leaf_fields(hints[f.name], path)
        else:
            out.append((path, f, hints[f.name]))
    return out


LEAVES = [leaf for name, cls in SECTIONS.items() for leaf in _leaf_fields(cls, name)]
KEY_PATHS = {path for path, _, _ in LEAVES} | set(SECTIONS) | {"name"}
FLOAT_KEYS = [path for path, _, tp in LEAVES if tp is float]
NON_FINITE = (math.nan, math.inf, -math.inf)


def _set(data: dict, path: str, value) -> None:
    *parents, leaf = path.split(".")
    node = data
    for p in parents:
        if not isinstance(node.get(p), dict):
            node[p] = {}
        node = node[p]
    node[leaf] = value


def _delete(data: dict, path: str) -> None:
    *parents, leaf = path.split(".")
    node = data
    for p in parents:
        node = node.get(p)
        if not isinstance(node, dict):
            return
    node.pop(leaf, None)


def named_key(message: str) -> str:
    """The key path a ConfigError message starts with ('<key>: <problem>'), list indices dropped."""
    m = re.match(r"([^:\s]+):", message)
    assert m, f"the error does not start with a key: {message!r}"
    return re.sub(r"\[\d+\]", "", m.group(1))


def assert_all_finite(obj, where: str = "config") -> None:
    """Every float reachable from a loaded Config is finite."""
    if dataclasses.is_dataclass(obj):
        for f in dataclasses.fields(obj):
            assert_all_finite(getattr(obj, f.name), f"{where}.{f.name}")
    elif isinstance(obj, (tuple, list)):
        for i, v in enumerate(obj):
            assert_all_finite(v, f"{where}[{i}]")
    elif isinstance(obj, float):
        assert math.isfinite(obj), f"{where} = {obj!r} got through validation"


# --- value strategies ------------------------------------------------------------------------------------


def _near_valid(f: dataclasses.Field, tp) -> st.SearchStrategy:
    """Values at and just beyond a field's declared limits, and its allowed values."""
    meta = f.metadata
    if meta.get("allowed") is not None:
        return st.sampled_from(tuple(meta["allowed"]))
    rng = meta.get("range")
    if rng is None:
        return st.just(f.default) if f.default is not dataclasses.MISSING else st.none()
    lo, hi = (v if v is not None else 0 for v in rng)
    edges = [lo, hi, lo - 1, hi + 1, (lo + hi) / 2, lo - 1e-9, hi + 1e-9]
    if tp is int or typing.get_origin(tp) in (typing.Union, types.UnionType):
        return st.one_of(st.sampled_from([int(e) for e in edges]), st.integers(int(lo) - 2, int(hi) + 2))
    return st.one_of(st.sampled_from(edges), st.floats(lo - abs(lo) - 1, hi + abs(hi) + 1, allow_nan=False))


WILD_VALUES = st.one_of(
    st.sampled_from(NON_FINITE),
    st.sampled_from(["nan", "NaN", "inf", "-inf", "1e999", ".nan", "", "auto", "0x46", "1e6", "440-10"]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-(2**70), 2**70),
    st.booleans(),
    st.none(),
    st.text(max_size=8),
    st.lists(st.one_of(st.integers(-5, 70000), st.floats(), st.text(max_size=6)), max_size=4),
    st.dictionaries(st.text(max_size=4), st.integers(), max_size=2),
)


DELETED = object()


@st.composite
def mutated_profile(draw):
    """(profile dict, [(key path, value put there; DELETED; None for a key or section made invalid)])."""
    data = copy.deepcopy(PROFILES[draw(st.sampled_from(sorted(PROFILES)))])
    mutated = []
    for _ in range(draw(st.integers(1, 3))):
        op = draw(st.sampled_from(("set", "set", "set", "near", "near", "delete", "unknown", "section")))
        path, f, tp = draw(st.sampled_from(LEAVES))
        if op == "set":
            value = draw(WILD_VALUES)
            _set(data, path, value)
            mutated.append((path, value))
        elif op == "near":
            value = draw(_near_valid(f, tp))
            _set(data, path, value)
            mutated.append((path, value))
        elif op == "delete":
            _delete(data, path)
            mutated.append((path, DELETED))
        elif op == "unknown":
            section = path.rsplit(".", 1)[0]
            bogus = f"{section}.{draw(st.sampled_from(['bogus', 'PCI', 'snr', '1']))}"
            _set(data, bogus, draw(WILD_VALUES))
            mutated.append((bogus, None))
        else:
            section = path.split(".")[0]
            data[section] = draw(st.one_of(st.integers(), st.text(max_size=5), st.lists(st.integers(), max_size=2)))
            mutated.append((section, None))
    return data, mutated


def _check_outcome(data: dict, mutated: list) -> None:
    try:
        cfg = config_from_dict(data)
    except ConfigError as exc:
        key = named_key(str(exc))
        known = KEY_PATHS | {k for k, _ in mutated}
        assert key in known, f"the error names {key!r}, not a key of the profile: {exc}"
        if len(mutated) == 1 and isinstance(mutated[0][1], float) and not math.isfinite(mutated[0][1]):
            assert key == mutated[0][0], f"a non-finite value at {mutated[0][0]} was reported as: {exc}"
    else:
        assert isinstance(cfg, Config)
        assert_all_finite(cfg)


@st.composite
def duplicated_yaml(draw):
    """A shipped profile's text with one key of one section repeated (same or another value)."""
    name = draw(st.sampled_from(sorted(PROFILE_TEXTS)))
    section = draw(st.sampled_from([s for s in SECTIONS if re.search(rf"^{s}:[ \t]*(#[^\n]*)?$", PROFILE_TEXTS[name],
                                                                      flags=re.M)]))
    path, _, _ = draw(st.sampled_from([leaf for leaf in LEAVES if leaf[0].startswith(section + ".")]))
    key = path.split(".")[1]
    value = draw(st.sampled_from(["1", "0", "true", ".nan", '"x"', "2.5e9", "[]"]))
    text = PROFILE_TEXTS[name]
    header = re.search(rf"^{section}:[ \t]*(#[^\n]*)?\n", text, flags=re.M)  # block-style sections only
    twice = f"  {key}: {value}\n  {key}: {value}\n"
    return text[: header.end()] + twice + text[header.end():], f"{section}.{key}"


def _check_duplicate(text: str, key: str) -> None:
    with pytest.raises(ConfigError) as err:
        config_from_yaml(text, source="dup.yaml")
    msg = str(err.value)
    assert "key given twice" in msg, msg
    assert named_key(msg.removeprefix("dup.yaml: ")) == key


PROPERTY = settings(max_examples=800, deadline=None, suppress_health_check=[HealthCheck.too_slow])
PROPERTY_SLOW = settings(max_examples=10_000, deadline=None, suppress_health_check=list(HealthCheck))


@PROPERTY
@given(mutated_profile())
def test_mutated_profiles_load_or_name_the_key(case):
    _check_outcome(*case)


@pytest.mark.slow
@PROPERTY_SLOW
@given(mutated_profile())
def test_mutated_profiles_load_or_name_the_key_10k(case):
    _check_outcome(*case)


@settings(max_examples=200, deadline=None)
@given(duplicated_yaml())
def test_duplicate_keys_in_generated_profiles_are_named(case):
    _check_duplicate(*case)


@pytest.mark.slow
@settings(max_examples=10_000, deadline=None, suppress_health_check=list(HealthCheck))
@given(duplicated_yaml())
def test_duplicate_keys_in_generated_profiles_are_named_10k(case):
    _check_duplicate(*case)


# --- defect 2: NaN / inf ----------------------------------------------------------------------------------


@pytest.mark.parametrize("key", FLOAT_KEYS)
@pytest.mark.parametrize("value", [".nan", ".inf", "-.inf", "1e999", '"nan"'])
def test_every_float_key_rejects_non_finite_yaml(key, value):
    section_path, leaf = key.rsplit(".", 1)
    indent = "  " * (section_path.count(".") + 1)
    text = "".join(f"{'  ' * i}{p}:\n" for i, p in enumerate(section_path.split("."))) + f"{indent}{leaf}: {value}\n"
    with pytest.raises(ConfigError) as err:
        config_from_yaml(text, source="p.yaml")
    msg = str(err.value)
    assert msg.startswith(f"p.yaml: {key}: ") and "finite" in msg, msg


@pytest.mark.parametrize("key", [path for path, f, tp in LEAVES if tp is not float and tp is not bool])
@pytest.mark.parametrize("value", NON_FINITE)
def test_every_other_key_rejects_non_finite_values(key, value):
    data: dict = {}
    _set(data, key, value)
    with pytest.raises(ConfigError) as err:
        config_from_dict(data)
    assert named_key(str(err.value)) == key


def test_the_reported_nan_cases_are_config_errors():
    # issue 10: lo_error_hz: .nan streamed NaN samples; gateway_lat_deg: .nan found "0 joint passes"
    for key, text in (("link.lo_error_hz", "link:\n  lo_error_hz: .nan\norbit:\n  enabled: true\n"),
                      ("orbit.gateway_lat_deg", "orbit:\n  gateway_lat_deg: .nan\n"),
                      ("link.target_delay_s", "link:\n  target_delay_s: .nan\n"),
                      ("scheduler.si_max_code_rate", "scheduler:\n  si_max_code_rate: .inf\n")):
        with pytest.raises(ConfigError, match=rf"^p.yaml: {re.escape(key)}: "):
            config_from_yaml(text, source="p.yaml")


# --- defect 9: duplicate keys, PLMN digits ------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, key",
    [
        ("cell:\n  pci: 1\n  n_rb_dl: 25\n  pci: 7\n", "cell.pci"),
        ("cell: {pci: 1}\nchannel: {}\ncell: {pci: 2}\n", "cell"),
        ("radio:\n  zmq:\n    tx_address: a\n    tx_address: b\n", "radio.zmq.tx_address"),
        ("name: a\nname: b\n", "name"),
        ("system_info:\n  partner_plmns: ['440-10', '440-10']\n  mode: normal\n  mode: disaster_roaming\n",
         "system_info.mode"),
    ],
)
def test_duplicate_yaml_keys_are_rejected(text, key):
    with pytest.raises(ConfigError) as err:
        config_from_yaml(text, source="p.yaml")
    msg = str(err.value)
    assert msg.startswith(f"p.yaml: {key}: key given twice (lines ") and "keep one" in msg, msg


def test_a_merge_key_may_be_overridden():
    # YAML merge keys are not duplicates: the explicit key wins, as YAML specifies
    text = "cell: &c\n  pci: 5\n  cfi: 3\nchannel: {}\n"
    assert config_from_yaml(text).cell.pci == 5
    text = "cell:\n  <<: {pci: 5, cfi: 3}\n  pci: 9\n"
    cfg = config_from_yaml(text)
    assert (cfg.cell.pci, cfg.cell.cfi) == (9, 3)


@pytest.mark.parametrize("plmn", ["٤٤٠-١٠", "４４０-１０", "440-१०", "44０-10", "440-10\n1", "440-10 x"])
def test_plmn_digits_must_be_ascii(plmn):
    with pytest.raises(ConfigError, match=r"system_info.plmn: .* is not a PLMN"):
        config_from_dict({"system_info": {"plmn": plmn}})
    with pytest.raises(ConfigError, match=r"system_info.partner_plmns\[0\]: .* is not a PLMN"):
        config_from_dict({"system_info": {"mode": "disaster_roaming", "partner_plmns": [plmn]}})


def test_ascii_plmns_still_load():
    cfg = config_from_dict({"system_info": {"plmn": " 310-410 ", "mode": "disaster_roaming",
                                            "partner_plmns": ["440-10", "001-001"]}})
    assert [str(p) for p in cfg.system_info.plmn_list] == ["310-410", "440-10", "001-001"]


# --- defect 5: extended PHICH needs a 3-symbol control region ---------------------------------------------


@pytest.mark.parametrize("n_rb", sorted(N_RB_TO_BANDWIDTH_HZ))
@pytest.mark.parametrize("cfi", [1, 2, 3])
def test_extended_phich_needs_three_control_symbols(n_rb, cfi):
    """TS 36.211 Table 6.9.3-1: extended PHICH spans 3 symbols; Table 6.7-1: the control region is CFI
    symbols for N_RB_DL > 10 and CFI + 1 for N_RB_DL <= 10. So 6 PRB needs CFI >= 2, the rest CFI 3."""
    n_ctrl = cfi + 1 if n_rb <= 10 else cfi
    expect_room = n_ctrl >= 3
    assert expect_room == ((n_rb <= 10 and cfi >= 2) or cfi == 3)  # the table, written out
    # the PHY's REG layout agrees with the rule the config applies
    try:
        control_regs_for(n_rb, 1, 1, n_ctrl, "extended", "one")
        phy_ok = True
    except ValueError:
        phy_ok = False
    assert phy_ok == expect_room
    earfcn = {6: 9330, 15: 9330, 25: 9330, 50: 9330, 75: 9400, 100: 9400}[n_rb]
    cell = {"n_rb_dl": n_rb, "cfi": cfi, "phich_duration": "extended", "earfcn_dl": earfcn, "band": 28}
    if not expect_room:
        with pytest.raises(ConfigError, match=rf"cell.cfi: {cfi} gives a {n_ctrl}-symbol control region.*"
                           r"Table 6\.9\.3-1.*use cfi >= "):
            config_from_dict({"cell": cell})
    elif EXTENDED_PHICH_TRANSMITTED:
        assert config_from_dict({"cell": cell}).cell.phich_duration == "extended"
    else:
        with pytest.raises(ConfigError, match="cell.phich_duration: extended is valid LTE but the transmitter"):
            config_from_dict({"cell": cell})
    # the normal duration fits every CFI
    assert config_from_dict({"cell": {**cell, "phich_duration": "normal"}}).cell.cfi == cfi


# --- defect 8: what --config may point at --------------------------------------------------------------------


def test_binary_file_directory_and_bad_bytes_are_config_errors(tmp_path):
    binary = tmp_path / "prog.yaml"
    binary.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(ConfigError, match="not a text file"):
        load_config(binary)
    with pytest.raises(ConfigError, match="is a directory"):
        load_config(tmp_path)
    nul = tmp_path / "nul.yaml"
    nul.write_text("cell:\n  pci: 1\x00\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(nul)
    deep = tmp_path / "deep.yaml"
    deep.write_text("[" * 5000)
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(deep)
    keys = tmp_path / "keys.yaml"
    keys.write_text("1: 2\n~: 3\ncell: {4: 5}\n")
    with pytest.raises(ConfigError, match=r"unknown (section|key)"):
        load_config(keys)


def test_shipped_profiles_still_load_through_the_strict_loader():
    for name, text in PROFILE_TEXTS.items():
        cfg = config_from_yaml(text, source=name)
        assert_all_finite(cfg)
