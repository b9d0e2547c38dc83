"""Soragate configuration: YAML profiles (hw_configs/*.yaml) validated into frozen dataclasses.

    from gateway.config import load_config
    cfg = load_config("hw_configs/loopback.yaml")
    cfg.cell.n_rb_dl, cfg.cell.pci, cfg.radio.driver
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._schema import ConfigError, describe_section, option, parse_section
from ._yaml import load_yaml
from .cell import CellConfig
from .channel import ChannelConfig
from .link import LinkConfig
from .orbit import OrbitConfig
from .radio import RadioConfig
from .relay import RelayProfileConfig
from .scheduler import SchedulerConfig
from .system_info import SystemInfoConfig

__all__ = [
    "Config",
    "ConfigError",
    "CellConfig",
    "ChannelConfig",
    "LinkConfig",
    "OrbitConfig",
    "SystemInfoConfig",
    "SchedulerConfig",
    "RadioConfig",
    "RelayProfileConfig",
    "load_config",
    "config_from_dict",
    "config_from_yaml",
    "describe_section",
    "option",
    "parse_section",
]

# section name -> dataclass; one module per section owns its keys and rules
SECTIONS: dict[str, type] = {
    "cell": CellConfig,
    "channel": ChannelConfig,
    "link": LinkConfig,
    "orbit": OrbitConfig,
    "radio": RadioConfig,
    "relay": RelayProfileConfig,
    "system_info": SystemInfoConfig,
    "scheduler": SchedulerConfig,
}


@dataclass(frozen=True)
class Config:
    """A whole validated profile; `source` is the file it came from (or '<dict>')."""

    cell: CellConfig = field(default_factory=CellConfig)
    channel: ChannelConfig = field(default_factory=ChannelConfig)
    link: LinkConfig = field(default_factory=LinkConfig)
    orbit: OrbitConfig = field(default_factory=OrbitConfig)
    radio: RadioConfig = field(default_factory=RadioConfig)
    relay: RelayProfileConfig = field(default_factory=RelayProfileConfig)
    system_info: SystemInfoConfig = field(default_factory=SystemInfoConfig)
    scheduler: SchedulerConfig = field(default_factory=SchedulerConfig)
    name: str = "unnamed"
    source: str = "<dict>"


# TS 36.213 Table 5.2-1: rho_B / rho_A for P_B = 0..3, one antenna port and two or four ports
RHO_B_OVER_RHO_A = {1: (1.0, 4 / 5, 3 / 5, 2 / 5), 2: (5 / 4, 1.0, 3 / 4, 1 / 2)}


def _check_pdsch_power_ratio(cell: CellConfig, si: SystemInfoConfig) -> None:
    """SIB2 announces P_B; the transmitter sends PDSCH at one EPRE in every OFDM symbol, so only the
    P_B whose rho_B/rho_A is 1 (TS 36.213 5.2) describes what is sent."""
    if si.p_b is None:
        return
    ratios = RHO_B_OVER_RHO_A[cell.n_ports]
    if ratios[si.p_b] != 1.0:
        unity = ratios.index(1.0)
        raise ConfigError(
            f"system_info.p_b: {si.p_b} announces rho_B/rho_A = {ratios[si.p_b]:g} for {cell.n_ports} port(s) "
            f"(TS 36.213 Table 5.2-1), but PDSCH is sent at one power in every symbol; use p_b: {unity} "
            "or leave it unset")


def config_from_dict(data: dict[str, Any] | None, source: str = "<dict>") -> Config:
    """Validate a parsed profile; raises ConfigError naming the offending key."""
    data = dict(data or {})
    name = data.pop("name", Path(source).stem if source != "<dict>" else "unnamed")
    if not isinstance(name, str):
        raise ConfigError(f"name: expected a string, got {name!r}")
    unknown = sorted(k if isinstance(k, str) else repr(k) for k in set(data) - set(SECTIONS))
    if unknown:
        raise ConfigError(f"{unknown[0]}: unknown section; allowed sections are: name, {', '.join(SECTIONS)}")
    sections = {key: parse_section(cls, data.get(key), key) for key, cls in SECTIONS.items()}
    # rules spanning two sections
    sections["system_info"].prach_offset_prb(sections["cell"].n_rb_dl)
    sections["system_info"].check_cell(sections["cell"].n_rb_dl)
    _check_pdsch_power_ratio(sections["cell"], sections["system_info"])
    return Config(**sections, name=name, source=source)


def config_from_yaml(text: str, source: str = "<yaml>") -> Config:
    """Validate a profile given as YAML text (duplicate keys rejected); errors name `source` and the key."""
    data = load_yaml(text, source)
    if data is not None and not isinstance(data, dict):
        raise ConfigError(f"{source}: the top level must be a mapping of sections (cell:, radio:, ...)")
    try:
        return config_from_dict(data, source=source)
    except ConfigError as exc:
        raise ConfigError(f"{source}: {exc}") from None


def load_config(path: str | Path) -> Config:
    """Read and validate a YAML profile; errors name the file and the key."""
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"config file {path} does not exist (profiles live in hw_configs/)")
    if path.is_dir():
        raise ConfigError(f"{path} is a directory; give a YAML profile such as hw_configs/loopback.yaml")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the profile: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(
            f"{path}: not a text file (a YAML profile is UTF-8 text, like hw_configs/loopback.yaml)"
        ) from None
    return config_from_yaml(text, source=str(path))
