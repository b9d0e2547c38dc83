"""Soragate gateway CLI: `python -m gateway --help`.

Each subcommand lives in its own module exposing `register(subparsers)`; the module list below is
the whole CLI.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from gateway.config import ConfigError
from radio_drivers import RadioError

COMMAND_MODULES = (
    "gateway.cmd_run",
    "gateway.cmd_record",
    "gateway.cmd_plan",
    "gateway.cmd_radio",
    "gateway.cmd_handset",
    "gateway.cmd_transmit",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m gateway",
        description="Soragate: D2D satellite gateway / LTE eNodeB emulator.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except ConfigError as exc:
        print(f"config error: {exc}", file=sys.stderr)
        return 2
    except RadioError as exc:
        print(f"radio error: {exc}", file=sys.stderr)
        return 3


if __name__ == "__main__":
    sys.exit(main())
