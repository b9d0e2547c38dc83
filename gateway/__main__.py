"""Soragate gateway CLI: `python -m gateway --help`.

Each subcommand lives in its own module exposing `register(subparsers)`; the module list below is
the whole CLI. `main` is the one place that turns the project's user-facing errors into one line on
stderr and an exit status (a bug in the code still shows its traceback):

    2  config error (ConfigError) or unusable input (UserError; argparse's own errors too)
    3  radio error (RadioError: a driver, a peer, a recording)
    4  file system error on a path the user gave (OSError: missing, read-only, not a directory, full)
    130 / 143  stopped by SIGINT / SIGTERM (child processes are stopped and temporary files removed)
"""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import sys
import threading

from gateway.cli_args import PARENT_PID_ENV, UserError
from gateway.config import ConfigError

COMMAND_MODULES = (
    "gateway.cmd_run",
    "gateway.cmd_record",
    "gateway.cmd_plan",
    "gateway.cmd_radio",
    "gateway.cmd_handset",
    "gateway.cmd_transmit",
    "gateway.cmd_scan",
    "gateway.cmd_monitor",
    "gateway.cmd_feasibility",
    "gateway.cmd_relay",
)


class Terminated(BaseException):
    """SIGTERM arrived: unwinds like Ctrl+C so that `finally` blocks stop children and remove files."""


class OneLineParser(argparse.ArgumentParser):
    """argparse with its errors on one line (no usage block): `prog: error: argument --ms: ...`."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (--help lists the options)\n")


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The CLI parser; given the command line, only the named command's module is imported (start-up:
    every module would pull in scipy.signal, pycrate ... for ~1 s), else all (for --help and errors)."""
    parser = OneLineParser(
        prog="python -m gateway",
        description="Soragate: D2D satellite gateway / LTE eNodeB emulator.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    named = f"gateway.cmd_{argv[0]}" if argv else ""
    for name in (named,) if named in COMMAND_MODULES else COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def _die_with_parent() -> None:
    """In a child started by a Soragate process: get SIGTERM when the parent dies (prctl
    PR_SET_PDEATHSIG), and exit at once if it is already gone."""
    parent = os.environ.pop(PARENT_PID_ENV, "")
    if not parent.isdigit():
        return
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1
        try:
            ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, int(signal.SIGTERM), 0, 0, 0)
        except (OSError, AttributeError):
            pass  # without prctl the parent's own cleanup still stops this process
    if os.getppid() != int(parent):
        sys.exit("soragate: the parent process is gone; stopping")


def _on_sigterm(signum, frame) -> None:
    raise Terminated


def _file_error(exc: OSError) -> str:
    what = exc.strerror or str(exc)
    if isinstance(exc, FileExistsError):
        what = "exists and is not a directory"
    names = [str(n) for n in (exc.filename, exc.filename2) if n is not None]
    return f"error: {': '.join(names)}: {what}" if names else f"error: {what}"


def _radio_errors() -> tuple[type[BaseException], ...]:
    """(RadioError,) once the radio drivers are imported, else (): none can have been raised then. Not
    imported up front: the drivers cost every command ~0.1 s of start-up (transmit forks its eNodeB
    worker first)."""
    base = sys.modules.get("radio_drivers.base")
    return (base.RadioError,) if base is not None else ()


def main(argv: list[str] | None = None) -> int:
    _die_with_parent()
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser(argv).parse_args(argv)
    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _on_sigterm) if main_thread else None
    try:
        return int(args.func(args) or 0)
    except ConfigError as exc:
        print(f"config error: {exc}", file=sys.stderr)
        return 2
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except _radio_errors() as exc:
        print(f"radio error: {exc}", file=sys.stderr)
        return 3
    except OSError as exc:
        print(_file_error(exc), file=sys.stderr)
        return 4
    except KeyboardInterrupt:
        print("soragate: interrupted", file=sys.stderr)
        return 130
    except Terminated:
        print("soragate: terminated (SIGTERM)", file=sys.stderr)
        return 143
    finally:
        if main_thread:
            signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    sys.exit(main())
