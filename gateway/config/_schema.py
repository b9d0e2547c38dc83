"""Declarative validation of YAML config sections into frozen dataclasses.

Each section is a frozen dataclass whose fields are declared with `option(...)`: a default, the
allowed values or an inclusive range, and a one-line doc. `parse_section` checks every key (unknown
keys, types, allowed values, ranges) and raises `ConfigError` naming the key path and what is
allowed; cross-field rules live in the dataclass's `check()` method, called last. Every number a
section takes must be finite: NaN and infinity are rejected for every field, whatever its parser
(a NaN passes every range check, since `nan < lo` and `nan > hi` are both false).
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["ConfigError", "option", "parse_section", "describe_section", "check_finite"]


class ConfigError(ValueError):
    """A config value is missing, unknown or out of range; the message names the key and the fix."""


def option(
    default: Any = dataclasses.MISSING,
    *,
    allowed: tuple | None = None,
    range: tuple[float | None, float | None] | None = None,  # noqa: A002 - reads as the spec
    doc: str = "",
    parse: Callable[[Any, str], Any] | None = None,
) -> Any:
    """A config field: `allowed` values, inclusive `range` (lo, hi; None = open), custom `parse(value, key)`."""
    meta = {"allowed": allowed, "range": range, "doc": doc, "parse": parse}
    if isinstance(default, (list, dict, set)):
        raise TypeError("use a tuple or a default_factory-free immutable default")
    return dataclasses.field(default=default, metadata=meta)


def _key_text(key: Any) -> str:
    """A YAML key as it appears in a key path (YAML keys may be numbers, booleans or null)."""
    return key if isinstance(key, str) else repr(key)


def check_finite(value: Any, key: str) -> None:
    """Raise ConfigError naming `key` when `value` (or any element of a tuple/list) is NaN or infinite."""
    if isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(f"{key}: {value!r} is not a finite number; use a finite value")
    if isinstance(value, (tuple, list)):
        for i, v in enumerate(value):
            check_finite(v, f"{key}[{i}]")


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", str(tp))


def _coerce(value: Any, tp: Any, key: str) -> Any:
    """Check `value` against the annotated type `tp` (int, float, str, bool, X | None, tuple[X, ...])."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(value, arg, key)
            except ConfigError as exc:
                errors.append(str(exc))
        raise ConfigError(errors[0] if errors else f"{key}: invalid value {value!r}")
    if origin is tuple:
        args = typing.get_args(tp)
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{key}: expected a list, got {value!r}")
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_coerce(v, args[0], f"{key}[{i}]") for i, v in enumerate(value))
        if len(args) != len(value):
            raise ConfigError(f"{key}: expected a list of {len(args)} values, got {len(value)}")
        return tuple(_coerce(v, a, f"{key}[{i}]") for i, (v, a) in enumerate(zip(args, value, strict=False)))
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise ConfigError(f"{key}: expected true or false, got {value!r}")
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise ConfigError(f"{key}: expected an integer, got {value!r}")
    if tp is float:
        number = None
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            try:
                number = float(value)
            except OverflowError:  # an int beyond the float range
                number = math.inf
        elif isinstance(value, str):
            try:
                number = float(value)  # YAML 1.1 reads "1e6" as a string
            except ValueError:
                pass
        if number is None:
            raise ConfigError(f"{key}: expected a number, got {value!r}")
        check_finite(number, key)
        return number
    if tp is str:
        if isinstance(value, str):
            return value
        raise ConfigError(f"{key}: expected a string, got {value!r}")
    if tp is Any:
        return value
    if dataclasses.is_dataclass(tp):
        return parse_section(tp, value, key)
    raise ConfigError(f"{key}: unsupported type {_type_name(tp)}")


def parse_section(cls: type, data: Mapping[str, Any] | None, section: str) -> Any:
    """Build the frozen dataclass `cls` from the YAML mapping `data` found at key path `section`."""
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise ConfigError(f"{section}: expected a mapping of keys, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(map(_key_text, set(data) - set(fields)))
    if unknown:
        raise ConfigError(
            f"{section}.{unknown[0]}: unknown key; allowed keys in '{section}' are: {', '.join(fields)}"
        )
    kwargs = {}
    for name, f in fields.items():
        key = f"{section}.{name}"
        if name not in data:
            if f.default is dataclasses.MISSING:
                raise ConfigError(f"{key}: required key is missing ({f.metadata.get('doc', '')})")
            continue
        meta = f.metadata
        value = data[name]
        if meta.get("parse"):
            value = meta["parse"](value, key)
        else:
            value = _coerce(value, hints[name], key)
        check_finite(value, key)  # whatever parsed it: no NaN/inf reaches a range check or the physics
        allowed = meta.get("allowed")
        if allowed is not None and value not in allowed:
            raise ConfigError(f"{key}: {value!r} is not allowed; choose one of {', '.join(map(str, allowed))}")
        rng = meta.get("range")
        if rng is not None and value is not None:
            lo, hi = rng
            if (lo is not None and value < lo) or (hi is not None and value > hi):
                raise ConfigError(f"{key}: {value!r} is out of range [{lo}, {hi}]")
        kwargs[name] = value
    obj = cls(**kwargs)
    check = getattr(obj, "check", None)
    if callable(check):
        check(section)
    return obj


def describe_section(cls: type) -> list[str]:
    """One line per field: name, default, allowed values or range, doc (for --help and the README)."""
    lines = []
    for f in dataclasses.fields(cls):
        m = f.metadata
        limits = ""
        if m.get("allowed") is not None:
            limits = f" one of {list(m['allowed'])}"
        elif m.get("range") is not None:
            limits = f" in {list(m['range'])}"
        default = "required" if f.default is dataclasses.MISSING else f"default {f.default!r}"
        lines.append(f"{f.name}: {default};{limits} {m.get('doc', '')}".rstrip())
    return lines
