"""CLI robustness (issue 10): bad numbers, paths and recordings end in one line on stderr and a
non-zero exit status, never a traceback; `run` leaves no handset process and no temporary file
behind when it is stopped or fails; its check compares only what the run sent.

Exit statuses (gateway/__main__.py): 2 argparse / config / unusable input, 3 radio, 4 file system,
143 SIGTERM.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import gateway.cmd_run as cmd_run
from gateway.__main__ import build_parser, main
from gateway.config import load_config
from radio_drivers import write_sigmf

REPO = Path(__file__).resolve().parents[1]

# (argv before the option, option, kind): every numeric option of every command
NUMERIC_OPTIONS = [
    (["record"], "--seconds", "seconds"),
    (["transmit"], "--seconds", "seconds"),
    (["radio", "capture", "--out", "x"], "--seconds", "seconds"),
    (["handset", "--connect", "tcp://127.0.0.1:1", "--report", "r.json"], "--ms", "count"),
    (["handset", "--connect", "tcp://127.0.0.1:1", "--report", "r.json"], "--timeout", "timeout"),
    (["run"], "--ms", "count"),
    (["plan"], "--passes", "count0"),
]
PARSER = build_parser()


def _valid(kind: str, value) -> bool:
    if kind == "seconds":
        return isinstance(value, float) and math.isfinite(value) and value > 0
    if kind == "timeout":
        return isinstance(value, float) and 0.01 <= value <= 3600
    if kind == "count":
        return isinstance(value, int) and value >= 1
    return isinstance(value, int) and value >= 0


def _check_numeric_argument(prefix: list[str], option: str, kind: str, text: str, joined: bool) -> None:
    argv = [*prefix, f"{option}={text}"] if joined else [*prefix, option, text]
    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err):
            args = PARSER.parse_args(argv)
    except SystemExit as exc:
        assert exc.code == 2
        lines = err.getvalue().splitlines()
        assert len(lines) == 1 and "error: argument " + option in lines[0], lines
        return
    value = getattr(args, option.lstrip("-"))
    assert _valid(kind, value), f"{argv} accepted {value!r}"
    # what was accepted is what was written
    assert value == (float(text) if kind in ("seconds", "timeout") else int(text))


NUMBER_TEXT = st.one_of(
    st.sampled_from(["nan", "NaN", "-nan", "inf", "-inf", "Infinity", "1e309", "-1e309", "0", "-0", "0.0",
                     "-1", "1", "5", "1e3", "1.5", "", " ", "1_000", "0x10", "١٢", "5e-324", "2e-9", "1e300"]),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(-(2**64), 2**64).map(str),
    st.text(max_size=6),
)


@settings(max_examples=1000, deadline=None)
@given(st.sampled_from(NUMERIC_OPTIONS), NUMBER_TEXT, st.booleans())
@example((["plan"], "--passes", "count0"), "0\x1f", False)  # str.strip() took \x1f for a blank: "0" was accepted
def test_numeric_arguments_parse_or_fail_in_one_line(case, text, joined):
    _check_numeric_argument(*case, text, joined)


@pytest.mark.slow
@settings(max_examples=10_000, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.sampled_from(NUMERIC_OPTIONS), NUMBER_TEXT, st.booleans())
def test_numeric_arguments_parse_or_fail_in_one_line_10k(case, text, joined):
    _check_numeric_argument(*case, text, joined)


def _one_line_error(capsys, prefix: str) -> str:
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(prefix), err
    assert "Traceback" not in err
    return lines[0]


# --- defects 2, 8, 9: numbers -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv, option",
    [
        (["record", "--seconds", "nan"], "--seconds"),
        (["record", "--seconds", "inf"], "--seconds"),
        (["record", "--seconds=-inf"], "--seconds"),
        (["record", "--seconds", "0"], "--seconds"),
        (["transmit", "--seconds", "nan"], "--seconds"),
        (["transmit", "--seconds", "-1"], "--seconds"),
        (["radio", "capture", "--out", "c", "--seconds", "inf"], "--seconds"),
        (["run", "--ms", "0"], "--ms"),
        (["run", "--ms", "-5"], "--ms"),
        (["run", "--ms", "nan"], "--ms"),
        (["plan", "--passes", "-1"], "--passes"),
        (["handset", "--connect", "x", "--report", "r", "--timeout", "nan"], "--timeout"),
        (["handset", "--connect", "x", "--report", "r", "--timeout", "1e300"], "--timeout"),
    ],
)
def test_bad_numbers_end_in_one_line(argv, option, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    assert f"error: argument {option}: " in _one_line_error(capsys, "python -m gateway")


def test_run_refuses_a_capture_larger_than_memory(capsys):
    if not Path("/proc/meminfo").exists():
        pytest.skip("the memory check reads /proc/meminfo (Linux)")
    assert main(["run", "--static", "--in-process", "--ms", str(10**9)]) == 2
    assert "use a shorter --ms" in _one_line_error(capsys, "error: --ms 1000000000")


# --- defect 8: paths ----------------------------------------------------------------------------------------


def test_config_that_is_binary_or_a_directory(tmp_path, capsys):
    binary = tmp_path / "b.yaml"
    binary.write_bytes(bytes(range(256)))
    assert main(["record", "--config", str(binary), "--out", str(tmp_path / "x")]) == 2
    assert "not a text file" in _one_line_error(capsys, "config error: ")
    assert main(["plan", "--config", str(tmp_path), "--out", ""]) == 2
    assert "is a directory" in _one_line_error(capsys, "config error: ")


def test_record_out_where_no_file_can_go(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    assert main(["record", "--seconds", "0.001", "--out", str(blocker / "sub" / "dl")]) == 4
    _one_line_error(capsys, f"error: {blocker}")
    assert main(["record", "--seconds", "0.001", "--out", str(blocker / "dl")]) == 4
    _one_line_error(capsys, "error: ")


def test_plan_and_run_outputs_are_checked_before_the_work(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    t0 = time.monotonic()
    assert main(["plan", "--out", str(blocker / "plan.png")]) == 4
    assert main(["run", "--static", "--in-process", "--ms", "5", "--report", str(blocker / "r.json")]) == 4
    assert time.monotonic() - t0 < 10  # no pass search, no run first
    assert capsys.readouterr().err.count(f"error: {blocker}: exists and is not a directory") == 2


def test_record_out_in_a_read_only_directory(tmp_path, capsys, monkeypatch):
    if os.geteuid() == 0:  # root writes anywhere: let the file system refuse as it would a user
        import radio_drivers.sigmf_io

        def refuse(path, mode="r", *args, **kwargs):
            raise PermissionError(13, "Permission denied", str(path))

        monkeypatch.setattr(radio_drivers.sigmf_io, "open", refuse, raising=False)
        assert main(["record", "--seconds", "0.001", "--out", str(tmp_path / "dl")]) == 4
        assert _one_line_error(capsys, "error: ") == f"error: {tmp_path / 'dl.sigmf-data'}: Permission denied"
        return
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        assert main(["record", "--seconds", "0.001", "--out", str(ro / "dl")]) == 4
        assert "Permission denied" in _one_line_error(capsys, "error: ")
    finally:
        ro.chmod(0o755)


def test_record_out_naming_a_directory(tmp_path, capsys):
    # issue 10: `--out dir/` wrote dir/.sigmf-data and dir/.sigmf-meta.sigmf-meta
    assert main(["record", "--seconds", "0.001", "--out", f"{tmp_path}/"]) == 3
    assert "names a directory" in _one_line_error(capsys, "radio error: ")
    assert list(tmp_path.iterdir()) == []


def test_record_checks_free_space_before_generating(tmp_path, capsys, monkeypatch):
    import gateway.cli_args
    import gateway.cmd_record

    free = 5_000_000
    monkeypatch.setattr(gateway.cli_args.shutil, "disk_usage", lambda p: type("U", (), {"free": free})())

    def no_generation(*a, **k):
        raise AssertionError("generation started before the disk check")

    monkeypatch.setattr(gateway.cmd_record, "downlink_subframes", no_generation)
    # 1 s at 7.68 Msps cf32 = 61.44 MB > 5 MB free
    assert main(["record", "--seconds", "1", "--out", str(tmp_path / "new" / "dl")]) == 2
    line = _one_line_error(capsys, "error: a 1000 ms recording at 7.68 Msps")
    assert "needs 61.4 MB" in line and "5.0 MB free" in line
    assert not (tmp_path / "new").exists()


@pytest.fixture(scope="module")
def recordings(tmp_path_factory):
    """A good recording and the four broken ones of issue 10."""
    d = tmp_path_factory.mktemp("rec")
    write_sigmf(d / "good", np.ones(7680, np.complex64), 7.68e6, 770e6, "ones")
    out = {}
    for name in ("truncated", "bad_json", "datatype", "no_data"):
        (d / f"{name}.sigmf-data").write_bytes((d / "good.sigmf-data").read_bytes())
        (d / f"{name}.sigmf-meta").write_text((d / "good.sigmf-meta").read_text())
        out[name] = d / name
    with open(d / "truncated.sigmf-data", "r+b") as f:
        f.truncate(7680 * 8 - 3)
    (d / "bad_json.sigmf-meta").write_text('{"global": {"core:datatype": ')
    meta = json.loads((d / "datatype.sigmf-meta").read_text())
    meta["global"]["core:datatype"] = "cf64_be"
    (d / "datatype.sigmf-meta").write_text(json.dumps(meta))
    (d / "no_data.sigmf-data").unlink()
    out["missing_meta"] = d / "nothing_here"
    return out


@pytest.mark.parametrize(
    "name, says",
    [
        ("truncated", "not a whole number of cf32_le samples"),
        ("bad_json", "invalid JSON"),
        ("datatype", "datatype 'cf64_be' not supported"),
        ("no_data", "data file"),
        ("missing_meta", "not found"),
    ],
)
def test_replay_of_a_broken_recording(recordings, name, says, capsys):
    assert main(["radio", "replay", str(recordings[name])]) == 3
    assert says in _one_line_error(capsys, "radio error: ")


def test_a_bug_still_shows_its_traceback(monkeypatch):
    import gateway.cmd_plan

    def buggy(args):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(gateway.cmd_plan, "run_plan", buggy)
    with pytest.raises(ZeroDivisionError):
        main(["plan"])


# --- defect 9: `run --ms 5` and what was sent ---------------------------------------------------------------


def test_compare_only_checks_what_was_sent(hw_configs_dir):
    cfg = load_config(hw_configs_dir / "loopback.yaml")
    cell = {k: getattr(cfg.cell, k) for k in ("pci", "n_rb_dl", "n_ports", "phich_duration", "phich_resource", "cfi")}
    nothing = {"plmns": [], "tac": None, "cell_identity": None, "sib2": False, "si_tx": 0}
    assert cmd_run.compare(cfg, cell, nothing, {"sib1_tx": 0, "si_tx": 0}) == {}
    assert set(cmd_run.compare(cfg, cell, nothing, {"sib1_tx": 1, "si_tx": 0})) == {"plmns", "tac", "cell_identity"}
    assert set(cmd_run.compare(cfg, cell, nothing, {"sib1_tx": 0, "si_tx": 4})) == {"sib2"}
    wrong = {**cell, "pci": cell["pci"] + 1}
    assert set(cmd_run.compare(cfg, wrong, nothing, {"sib1_tx": 0, "si_tx": 0})) == {"pci"}


def test_run_5_ms_does_not_blame_sib1_it_never_sent(tmp_path, capsys):
    report = tmp_path / "r.json"
    assert main(["run", "--static", "--in-process", "--ms", "5", "--report", str(report)]) == 0
    out = capsys.readouterr().out
    assert "SIB1 not sent in these 5 ms" in out
    rep = json.loads(report.read_text())
    # SIB1 goes out in subframe 5 of even frames (TS 36.331 5.2.1.2): none in subframes 0..4
    assert rep["gateway_sent"]["sib1_tx"] == 0 and rep["mismatches"] == {}


# --- defect 7: the handset child dies with `run` --------------------------------------------------------------


def _profile_6prb(tmp_path: Path) -> Path:
    data = yaml.safe_load((REPO / "hw_configs" / "loopback.yaml").read_text())
    data["cell"]["n_rb_dl"] = 6  # 1.92 Msps keeps a long run's memory small
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def _children(pid: int) -> list[int]:
    out = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            out += [int(c) for c in (task / "children").read_text().split()]
    return out


def _gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state in ("Z", "X")  # a zombie waits for a reaper; it runs no more


def _wait_for(predicate, timeout_s: float) -> bool:
    t_end = time.monotonic() + timeout_s
    while time.monotonic() < t_end:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def _start_run(tmp_path: Path) -> tuple[subprocess.Popen, int, Path]:
    """`python -m gateway run` (2 processes) in the background; returns it, its handset's pid, its TMPDIR."""
    if not Path("/proc/self/task").exists():
        pytest.skip("needs Linux /proc")
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    env = {**os.environ, "TMPDIR": str(tmp)}
    parent = subprocess.Popen(
        [sys.executable, "-m", "gateway", "run", "--static", "--config", str(_profile_6prb(tmp_path)), "--ms", "60000",
         "--report", str(tmp_path / "r.json")],
        cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    assert _wait_for(lambda: _children(parent.pid) and any(tmp.iterdir()), 60), "the handset never started"
    time.sleep(0.5)  # let the handset get into its receive loop
    return parent, _children(parent.pid)[0], tmp


@pytest.mark.parametrize(
    "sig, status",
    [(signal.SIGTERM, 143), pytest.param(signal.SIGINT, 130, marks=pytest.mark.slow)],  # same unwinding path
)
def test_run_stopped_by_a_signal_stops_its_handset(tmp_path, sig, status):
    parent, child, tmp = _start_run(tmp_path)
    t0 = time.monotonic()
    parent.send_signal(sig)
    assert parent.wait(timeout=10) == status
    assert _wait_for(lambda: _gone(child), 10.0), f"handset {child} still running"
    assert time.monotonic() - t0 < 12  # the defect: about 20 s
    assert list(tmp.iterdir()) == [], "temporary report directory left behind"
    assert "Traceback" not in parent.stderr.read().decode()


def test_run_killed_outright_still_stops_its_handset(tmp_path, monkeypatch):
    parent, child, tmp = _start_run(tmp_path)
    parent.kill()  # SIGKILL: no cleanup in the parent is possible
    parent.wait(timeout=10)
    assert _wait_for(lambda: _gone(child), 10.0), f"handset {child} outlived its parent (no PR_SET_PDEATHSIG?)"
    # the next run removes the dead run's temporary directory
    assert len(list(tmp.iterdir())) == 1
    monkeypatch.setattr(cmd_run.tempfile, "tempdir", str(tmp))
    cmd_run.remove_stale_run_dirs()
    assert list(tmp.iterdir()) == []


def test_gateway_crash_mid_stream_stops_the_handset(tmp_path, monkeypatch):
    """A gateway-side exception while streaming: the child is stopped and the temporary directory goes.
    (A stand-in child that would sleep a minute keeps this test fast; the real handset's exit on
    SIGTERM is what the signal tests above show.)"""
    profile = _profile_6prb(tmp_path)
    cfg = load_config(profile)
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    monkeypatch.setattr(cmd_run.tempfile, "tempdir", str(tmp))

    def crashing(cfg, n):
        raise RuntimeError("generation failed")
        yield  # a generator, like the real one

    children = []

    def start(cmd):
        assert cmd[1:4] == ["-m", "gateway", "handset"]
        children.append(cmd_run_start([sys.executable, "-c", "import time; time.sleep(60)"]))
        return children[-1]

    cmd_run_start = cmd_run._start_child
    monkeypatch.setattr(cmd_run, "downlink_subframes", crashing)
    monkeypatch.setattr(cmd_run, "_start_child", start)
    t0 = time.monotonic()
    with pytest.raises(RuntimeError, match="generation failed"):
        cmd_run.stream_to_handset(cfg, 1000, str(profile))
    assert children and children[0].poll() is not None, "the handset outlived the gateway's crash"
    assert children[0].returncode == -signal.SIGTERM and time.monotonic() - t0 < 5
    assert list(tmp.iterdir()) == []


def test_a_child_whose_parent_is_already_gone_stops_at_once():
    """The race prctl(PR_SET_PDEATHSIG) leaves open: the parent died before the child set it up."""
    env = {**os.environ, "SORAGATE_PARENT_PID": str(os.getpid() + 10**7)}  # not our parent's pid
    done = subprocess.run([sys.executable, "-m", "gateway", "plan", "--out", ""], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and done.stderr.strip() == "soragate: the parent process is gone; stopping"
